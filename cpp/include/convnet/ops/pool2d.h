// Pooling over NCHW images.
#pragma once
#include <array>
#include <optional>
#include <string>
#include <utility>

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
// max_pool2d and the int64 flat h*W+w index of each maximum within its (n, c) plane.
std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, const Pool2dOptions& opt);

// x (N,C,P,Q) or (C,P,Q) and indices from max_pool2d_with_indices → (N,C,H,W) or (C,H,W):
// zeros with each value at its index. (H, W) is output_size, by default
// ((P-1)*stride - 2*padding + kernel_size) per axis; opt's dilation and ceil_mode are unused.
Tensor max_unpool2d(const Tensor& x, const Tensor& indices, const Pool2dOptions& opt,
                    std::optional<std::array<int64_t, 2>> output_size = std::nullopt);

// 1-D pooling over x (N,C,L) or (C,L), through the 2-D pooling of (N,C,1,L).
struct Pool1dOptions {
  int64_t kernel_size = 2;
  int64_t stride = 2;  // PyTorch's default stride is the kernel size
  int64_t padding = 0;
  int64_t dilation = 1;  // max pooling only
  bool ceil_mode = false;
  bool count_include_pad = true;  // average pooling only
};
Tensor max_pool1d(const Tensor& x, const Pool1dOptions& opt);
// max_pool1d and the int64 index of each maximum along L.
std::pair<Tensor, Tensor> max_pool1d_with_indices(const Tensor& x, const Pool1dOptions& opt);
Tensor avg_pool1d(const Tensor& x, const Pool1dOptions& opt);
// Output cell p averages [floor(p*L/P), ceil((p+1)*L/P)).
Tensor adaptive_avg_pool1d(const Tensor& x, int64_t output_size);

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
