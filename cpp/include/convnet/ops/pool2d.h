// Pooling over NCHW images.
#pragma once
#include <array>
#include <optional>
#include <string>

#include "convnet/tensor.h"

namespace convnet {

struct Pool2dOptions {
  std::array<int64_t, 2> kernel_size{2, 2};
  std::array<int64_t, 2> stride{2, 2};  // PyTorch's default stride is the kernel size
  std::array<int64_t, 2> padding{0, 0};
  std::array<int64_t, 2> dilation{1, 1};  // max pooling only
  bool ceil_mode = false;
  bool count_include_pad = true;  // average pooling only
};

// x (N,C,H,W) or (C,H,W).
Tensor max_pool2d(const Tensor& x, const Pool2dOptions& opt);
Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& opt);

// Output size of adaptive pooling; an empty entry keeps the input's size on that axis
// (PyTorch's None).
using AdaptiveSize = std::array<std::optional<int64_t>, 2>;
// Output cell (p,q) pools rows [floor(p*H/P), ceil((p+1)*H/P)) and the columns likewise.
// x (N,C,H,W) or (C,H,W) → (N,C,P,Q) or (C,P,Q).
Tensor adaptive_avg_pool2d(const Tensor& x, const AdaptiveSize& output_size);
Tensor adaptive_max_pool2d(const Tensor& x, const AdaptiveSize& output_size);

// Power-average pooling, PyTorch's definition through average pooling (no padding):
// (kH*kW * avg_pool2d(x^p))^(1/p), the pooled value passed through sign(v)*relu(|v|) first.
// opt.padding must be 0 and opt.dilation 1.
Tensor lp_pool2d(const Tensor& x, double norm_type, const Pool2dOptions& opt);

}  // namespace convnet
