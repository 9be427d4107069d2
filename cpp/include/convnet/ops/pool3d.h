// Pooling over NCDHW volumes.
#pragma once
#include <array>
#include <utility>

#include "convnet/tensor.h"

namespace convnet {

struct Pool3dOptions {
  std::array<int64_t, 3> kernel_size{2, 2, 2};
  std::array<int64_t, 3> stride{2, 2, 2};  // PyTorch's default stride is the kernel size
  std::array<int64_t, 3> padding{0, 0, 0};
  std::array<int64_t, 3> dilation{1, 1, 1};  // max pooling only
  bool ceil_mode = false;
  bool count_include_pad = true;  // average pooling only
};

// x (N,C,D,H,W) or (C,D,H,W).
Tensor max_pool3d(const Tensor& x, const Pool3dOptions& opt);
// max_pool3d and the int64 flat d*H*W + h*W + w index of each maximum within its volume.
std::pair<Tensor, Tensor> max_pool3d_with_indices(const Tensor& x, const Pool3dOptions& opt);
Tensor avg_pool3d(const Tensor& x, const Pool3dOptions& opt);

}  // namespace convnet
