// Pixel shuffle (sub-pixel convolution's rearrangement) and its inverse, as PyTorch.
#pragma once
#include "convnet/tensor.h"

namespace convnet {

// x (*, C*r*r, H, W) → (*, C, H*r, W*r): y[..., c, h*r+i, w*r+j] = x[..., (c*r+i)*r+j, h, w].
Tensor pixel_shuffle(const Tensor& x, int64_t upscale_factor);
// x (*, C, H*r, W*r) → (*, C*r*r, H, W), the inverse of pixel_shuffle.
Tensor pixel_unshuffle(const Tensor& x, int64_t downscale_factor);

}  // namespace convnet
