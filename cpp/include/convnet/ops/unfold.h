// Sliding blocks as columns (PyTorch's F.unfold) and their sum back into an image (F.fold).
#pragma once
#include <array>

#include "convnet/tensor.h"

namespace convnet {

struct UnfoldOptions {
  std::array<int64_t, 2> kernel_size{1, 1};
  std::array<int64_t, 2> dilation{1, 1};
  std::array<int64_t, 2> padding{0, 0};
  std::array<int64_t, 2> stride{1, 1};
};

// x (N,C,H,W) or (C,H,W) → (N, C*kH*kW, L) or (C*kH*kW, L), L = P*Q blocks; row (c, i, j)
// holds the input pixel that kernel tap (i, j) of channel c sees in each block.
Tensor unfold(const Tensor& x, const UnfoldOptions& opt);
// cols (N, C*kH*kW, L) or (C*kH*kW, L) → (N,C,H,W) or (C,H,W) with (H, W) = output_size:
// every column entry added to the pixel it came from (unfold's adjoint).
Tensor fold(const Tensor& cols, std::array<int64_t, 2> output_size, const UnfoldOptions& opt);

}  // namespace convnet
