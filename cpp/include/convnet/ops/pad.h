// Constant padding of the last two dimensions (PyTorch's F.pad, mode="constant").
#pragma once
#include <vector>

#include "convnet/tensor.h"

namespace convnet {

// x (..., H, W) → (..., H + top + bottom, W + left + right) with pad = {left, right} (the last
// dimension only) or {left, right, top, bottom}; new cells hold `value`, negative pads crop.
Tensor pad(const Tensor& x, const std::vector<int64_t>& pad, double value = 0.0);

}  // namespace convnet
