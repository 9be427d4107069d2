// Pointwise activations.
#pragma once
#include "convnet/tensor.h"

namespace convnet {

Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);

}  // namespace convnet
