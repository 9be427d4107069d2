// Batch normalization over the channel dimension (dimension 1) of (N,C,*) inputs.
#pragma once
#include <string>

#include "convnet/tensor.h"

namespace convnet {

// x (N,C,*), running_mean (C) and running_var (C) or undefined, weight (C) and bias (C) or
// undefined → y (N,C,*). training: normalize with the batch's mean and biased variance and,
// when defined, move the running statistics toward the batch's mean and unbiased variance by
// `momentum` (in place); otherwise normalize with the running statistics. `layer` names the
// module in error messages ("BatchNorm2d(16)"; empty for the functional form).
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum,
                  double eps, const std::string& layer = "");

}  // namespace convnet
