// Local response normalization across channels (PyTorch's definition).
#pragma once
#include "convnet/tensor.h"

namespace convnet {

// x (N,C,*) with at least 3 dimensions → y (N,C,*):
// y = x / (k + alpha/size * sum of x^2 over the channels [c - size/2, c + (size-1)/2])^beta,
// channels outside [0, C) counting as 0.
Tensor local_response_norm(const Tensor& x, int64_t size, double alpha = 1e-4, double beta = 0.75,
                           double k = 1.0);

}  // namespace convnet
