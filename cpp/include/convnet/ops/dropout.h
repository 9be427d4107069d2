// Dropout with inverted scaling: kept elements are multiplied by 1/(1-p).
#pragma once
#include "convnet/tensor.h"

namespace convnet {

// Identity when training is false or p == 0.
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true);

}  // namespace convnet
