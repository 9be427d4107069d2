// Element-wise pieces shared by the optimizers' update loops.
#pragma once

namespace convnet::optim {

// a + w * (b - a), computed from the nearer end as PyTorch's lerp does.
template <typename T>
inline T lerp(T a, T b, T w) {
  return w < T(0.5) ? a + w * (b - a) : b - (b - a) * (T(1) - w);
}

}  // namespace convnet::optim
