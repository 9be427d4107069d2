// Einstein summation over one or more operands.
#pragma once
#include <string>
#include <vector>

#include "convnet/tensor.h"

namespace convnet {

// torch.einsum: "ij,jk->ik", "bij,bjk->bik", "ij->ji", "i,j->ij", "ij->", ... (an implicit
// output is the labels that appear once, in alphabetical order). Labels a letter each; no
// ellipsis, no label repeated within one operand. Two operands contract through one batched
// matrix product (matmul) after their labels are summed or permuted into (batch, kept, contracted)
// order; more operands contract left to right. Floating operands; differentiable.
Tensor einsum(const std::string& equation, const std::vector<Tensor>& operands);

}  // namespace convnet
