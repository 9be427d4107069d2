// Resizing NCHW images by interpolation (PyTorch's F.interpolate, nearest and bilinear).
#pragma once
#include <array>
#include <optional>
#include <string>

#include "convnet/tensor.h"

namespace convnet {

struct InterpolateOptions {
  std::optional<std::array<int64_t, 2>> size;        // exactly one of size and scale_factor
  std::optional<std::array<double, 2>> scale_factor;  // output size floor(in * scale_factor)
  std::string mode = "nearest";                       // "nearest" or "bilinear"
  std::optional<bool> align_corners;                  // bilinear only; unset means false
  bool recompute_scale_factor = false;  // index from the output size rather than scale_factor
};

// x (N,C,H,W) → (N,C,P,Q).
Tensor interpolate(const Tensor& x, const InterpolateOptions& opt);

}  // namespace convnet
