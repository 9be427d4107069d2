// Batch normalization over the channel dimension (dimension 1) of (N,C,*) inputs.
#pragma once
#include "convnet/tensor.h"

namespace convnet {

// x (N,C,*), running_mean (C) and running_var (C) or undefined, weight (C) and bias (C) or
// undefined → y (N,C,*). training: normalize with the batch's mean and biased variance and,
// when defined, move the running statistics toward the batch's mean and unbiased variance by
// `momentum` (in place); otherwise normalize with the running statistics.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum,
                  double eps);

// Adds one to a BatchNorm layer's num_batches_tracked (an int64 scalar) in place, on its
// device: counting a batch never reads GPU memory on the host.
void batch_norm_count(const Tensor& num_batches_tracked);

}  // namespace convnet
