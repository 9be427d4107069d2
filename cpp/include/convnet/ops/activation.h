// Pointwise activations.
#pragma once
#include <string>

#include "convnet/tensor.h"

namespace convnet {

Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
// clamp(x, min_val, max_val); gradient 0 at and beyond the bounds.
Tensor hardtanh(const Tensor& x, double min_val = -1, double max_val = 1);
Tensor relu6(const Tensor& x);  // hardtanh(x, 0, 6)
Tensor elu(const Tensor& x, double alpha = 1);
// approximate: "none" (x Φ(x), with erf) or "tanh".
Tensor gelu(const Tensor& x, const std::string& approximate = "none");
Tensor silu(const Tensor& x);
// log(1 + exp(beta x)) / beta, x itself where beta x > threshold.
Tensor softplus(const Tensor& x, double beta = 1, double threshold = 20);
// x (N, C, ...) or any shape when weight has one element; weight (C) or (1), the slope of x < 0.
Tensor prelu(const Tensor& x, const Tensor& weight);

}  // namespace convnet
