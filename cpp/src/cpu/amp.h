// Arithmetic shared by the CPU and CUDA kernels of mixed-precision training (amp.cpp, amp.cu).
#pragma once
#include "convnet/half.h"

namespace convnet {

// v is neither an infinity nor a NaN (v - v is NaN for both, 0 otherwise).
template <typename T>
CONVNET_HD inline bool is_finite_value(T v) {
  return v - v == T(0);
}

}  // namespace convnet
