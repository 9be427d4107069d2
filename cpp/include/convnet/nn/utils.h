// Gradient clipping and weight regularizers (as torch.nn.utils): they work on
// lists of parameters and change gradients or weights in place, outside autograd,
// except l1_penalty, which is a differentiable loss term.
#pragma once
#include <vector>

#include "convnet/tensor.h"

namespace convnet::nn::utils {

// The norm of order norm_type of the gradients of `params` (those without one are
// skipped), taken as PyTorch does: the norm of the per-gradient norms (inf: the
// largest |g|, -inf: the smallest, 0: how many gradients are nonzero). Every
// gradient is then scaled by min(1, max_norm / (total + 1e-6)). Returns the total
// as a scalar tensor, float64 if a gradient is float64, else float32 (0 without
// gradients). A NaN or infinite total throws convnet::Error with
// error_if_nonfinite, before any gradient changes.
Tensor clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2,
                       bool error_if_nonfinite = false);

// Clamps every gradient of `params` to [-clip_value, clip_value].
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

// The sum of |w| over all `params` (one dtype), differentiable: add
// lambda * l1_penalty(params) to a loss. 0 (float32) for an empty list.
Tensor l1_penalty(const std::vector<Tensor>& params);

// torch.renorm(weight, 2, dim, max_norm) in place: each slice along `dim` (a row of
// a Linear weight for dim 0, an output filter of a Conv2d weight) whose L2 norm
// exceeds max_norm is scaled by max_norm / (norm + 1e-7).
void max_norm_(const Tensor& weight, double max_norm, int64_t dim = 0);

}  // namespace convnet::nn::utils
