// The input gradient of a normalization written with differentiable ops, shared by batch_norm and
// the row normalizations (layer_norm, group_norm, instance_norm) for double backward (create_graph):
// x̂ = (x - mean) / sqrt(var + eps) over some dimensions of x (biased variance), recomputed from x so
// that it differentiates through the statistics, and the gradient of x given g = dy · weight.
#pragma once

#include <utility>
#include <vector>

#include "convnet/ops/elementwise.h"
#include "convnet/ops/reduce.h"

namespace convnet {

// (x̂, 1/sqrt(var + eps)) over `dims` of x, the second with those dimensions kept as size 1.
inline std::pair<Tensor, Tensor> standardize(const Tensor& x, const std::vector<int64_t>& dims, double eps) {
  const Tensor centered = sub(x, mean(x, dims, true));
  const Tensor istd = rsqrt(add(mean(mul(centered, centered), dims, true), eps));
  return {mul(centered, istd), istd};
}

// dx = (g - mean(g) - x̂ mean(g x̂)) / sqrt(var + eps), the means over `dims`.
inline Tensor standardized_input_grad(const Tensor& g, const Tensor& xhat, const Tensor& istd,
                                      const std::vector<int64_t>& dims) {
  return mul(sub(sub(g, mean(g, dims, true)), mul(xhat, mean(mul(g, xhat), dims, true))), istd);
}

}  // namespace convnet
