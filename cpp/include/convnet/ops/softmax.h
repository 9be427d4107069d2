// softmax and log_softmax along a dimension (the maximum is subtracted first).
#pragma once
#include "convnet/tensor.h"

namespace convnet {

Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

}  // namespace convnet
