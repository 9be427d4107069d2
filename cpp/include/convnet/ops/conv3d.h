// 3-D convolution (cross-correlation, as PyTorch), NCDHW.
#pragma once
#include <array>

#include "convnet/tensor.h"

namespace convnet {

struct Conv3dOptions {
  std::array<int64_t, 3> stride{1, 1, 1};
  std::array<int64_t, 3> padding{0, 0, 0};
  std::array<int64_t, 3> dilation{1, 1, 1};
  int64_t groups = 1;
  // padding="same": PyTorch's rule (stride 1 only); the extra cell of an even total padding
  // goes to the back/bottom/right.
  bool same = false;
};

// x (N,C,D,H,W) or (C,D,H,W), w (K,C/groups,kD,kH,kW), b (K) or undefined
// → y (N,K,OD,P,Q) or (K,OD,P,Q).
Tensor conv3d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv3dOptions& opt);

}  // namespace convnet
