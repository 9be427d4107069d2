// Joining tensors along a dimension.
#pragma once
#include <vector>

#include "convnet/tensor.h"

namespace convnet {

// Concatenates along `dim` (negative counts from the end). Every tensor has the
// same number of dimensions and the same sizes except along `dim`; 1-D empty
// tensors are skipped (as PyTorch). Mixed dtypes are promoted. Differentiable.
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
// Joins tensors of one shape along a new dimension `dim` (in [-(d+1), d]).
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);

}  // namespace convnet
