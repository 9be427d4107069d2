// 2-D convolution (cross-correlation, as PyTorch), NCHW.
#pragma once
#include <array>
#include <string>

#include "convnet/tensor.h"

namespace convnet {

struct Conv2dOptions {
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> padding{0, 0};
  std::array<int64_t, 2> dilation{1, 1};
  int64_t groups = 1;
  // padding="same": PyTorch's rule (stride 1 only); the extra cell of an even
  // total padding goes to the bottom/right.
  bool same = false;
};

// x (N,C,H,W) or (C,H,W), w (K,C/groups,R,S), b (K) or undefined → y (N,K,P,Q).
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dOptions& opt);

// 1-D convolution as conv2d over (N,C,1,L): x (N,C,L) or (C,L), w (K,C/groups,kL),
// b (K) or undefined → (N,K,Lout) or (K,Lout).
struct Conv1dOptions {
  int64_t stride = 1, padding = 0, dilation = 1, groups = 1;
  bool same = false;  // padding="same" (stride 1 only)
};
Tensor conv1d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv1dOptions& opt);

// The algorithm conv2d runs on the CPU for these arguments (the same checks as conv2d):
// "gemm" (im2col + GEMM), "winograd" (F(4x4,3x3): forward and dx) or "depthwise".
std::string conv2d_cpu_algorithm(const Tensor& x, const Tensor& w, const Conv2dOptions& opt);

// floor((in + 2*pad - dilation*(k-1) - 1)/stride) + 1; with ceil_mode, ceil and the last
// window must start inside the input or its left padding.
int64_t conv_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad,
                         int64_t dilation, bool ceil_mode);

}  // namespace convnet
