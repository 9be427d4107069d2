// Dropout with inverted scaling: kept elements are multiplied by 1/(1-p).
#pragma once
#include "convnet/tensor.h"

namespace convnet {

// Identity when training is false or p == 0.
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true);

// Dropout of whole channels: x (N,C,*), each (n, c) kept (times 1/(1-p)) or zeroed as one
// (PyTorch's dropout1d/2d/3d on batched input).
Tensor feature_dropout(const Tensor& x, double p = 0.5, bool training = true);
// feature_dropout of x (N,C,H,W), or of (C,H,W) as one unbatched image (as PyTorch's dropout2d).
Tensor dropout2d(const Tensor& x, double p = 0.5, bool training = true);

}  // namespace convnet
