// One output of 3-D pooling, shared by the CPU kernels (cpu/pool3d.cpp) and the CUDA kernels
// (cuda/pool3d.cu): the window rules of 2-D pooling (cpu/pool2d_window.h) along each of the
// three axes, so that both devices pick the same windows, maxima and divisors.
#pragma once
#include <cstdint>
#include <limits>

#include "kernels.h"
#include "pool2d_window.h"

namespace convnet::cpu {

struct PoolWindows3 {
  PoolWindow d, h, w;
};

// The windows of output (od, p, q).
CONVNET_HD inline PoolWindows3 pool3d_windows(const Pool3dShape& s, int64_t od, int64_t p, int64_t q) {
  return {pool_window(od, s.D, s.KD, s.stride[0], s.pad[0], s.dil[0]),
          pool_window(p, s.H, s.KH, s.stride[1], s.pad[1], s.dil[1]),
          pool_window(q, s.W, s.KW, s.stride[2], s.pad[2], s.dil[2])};
}

// Average pooling's divisor, as PyTorch: with count_include_pad the window clipped to the
// padded input, without it the window clipped to the input; 0 for a window wholly in the padding.
CONVNET_HD inline int64_t avg_pool3d_divisor(const PoolWindows3& w, bool count_include_pad) {
  return count_include_pad ? w.d.padded * w.h.padded * w.w.padded
                           : (w.d.hi - w.d.lo) * (w.h.hi - w.h.lo) * (w.w.hi - w.w.lo);
}

// The maximum of volume xv (D,H,W) over windows w and, in *idx, its flat d*H*W + h*W + w index:
// max_pool_cell's rule (the first strictly larger value or a NaN) over the depth slices in order.
template <typename T>
CONVNET_HD inline T max_pool3d_cell(const T* xv, const Pool3dShape& s, const PoolWindows3& w, int64_t* idx) {
  const int64_t HW = s.H * s.W;
  T best = -std::numeric_limits<T>::infinity();
  const bool any = w.d.lo < w.d.hi && w.h.lo < w.h.hi && w.w.lo < w.w.hi;
  int64_t at = any ? (w.d.start + w.d.lo * s.dil[0]) * HW + (w.h.start + w.h.lo * s.dil[1]) * s.W + w.w.start +
                         w.w.lo * s.dil[2]
                   : -1;
  for (int64_t r = w.d.lo; r < w.d.hi; ++r) {
    const int64_t slice = (w.d.start + r * s.dil[0]) * HW;
    int64_t j;
    const T m = max_pool_cell(xv + slice, s.W, w.h, w.w, s.dil[1], s.dil[2], &j);
    if (m > best || m != m) {
      best = m;
      at = slice + j;
    }
  }
  *idx = at;
  return best;
}

// The average of volume xv (D,H,W) over windows w (no dilation).
template <typename T>
CONVNET_HD inline T avg_pool3d_cell(const T* xv, const Pool3dShape& s, const PoolWindows3& w) {
  T sum = 0;
  for (int64_t r = w.d.lo; r < w.d.hi; ++r) sum += avg_pool_sum(xv + (w.d.start + r) * s.H * s.W, s.W, w.h, w.w, 1, 1);
  const int64_t div = avg_pool3d_divisor(w, s.count_include_pad);
  return div ? sum / static_cast<T>(div) : T(0);
}

}  // namespace convnet::cpu
