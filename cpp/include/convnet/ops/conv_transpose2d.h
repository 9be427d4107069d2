// 2-D transposed convolution (the gradient of conv2d with respect to its input), NCHW.
#pragma once
#include <array>

#include "convnet/tensor.h"

namespace convnet {

struct ConvTranspose2dOptions {
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> padding{0, 0};
  std::array<int64_t, 2> output_padding{0, 0};  // extra rows/columns at the bottom/right
  std::array<int64_t, 2> dilation{1, 1};
  int64_t groups = 1;
};

// x (N,C,H,W) or (C,H,W), w (C,K/groups,R,S), b (K) or undefined → y (N,K,P,Q) with
// P = (H-1)*stride - 2*padding + dilation*(R-1) + output_padding + 1 (Q likewise).
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, const ConvTranspose2dOptions& opt);

}  // namespace convnet
