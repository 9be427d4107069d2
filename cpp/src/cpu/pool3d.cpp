// CPU 3-D pooling kernels: max and average over (kD, kH, kW) windows, on the window rules of
// 2-D pooling along each axis (cpu/pool2d_window.h). N batch, C channels, D H W input size,
// OD P Q output size; each (n, c) volume is pooled on its own, parallel over the volumes.
// Max pooling saves the flat d*H*W + h*W + w index of each maximum (PyTorch's rule: the
// first strictly larger value or a NaN wins), and its backward is max_pool2d's routing over
// flattened volumes. Backward kernels overwrite dx; autograd accumulates (+=) the returned
// gradients into .grad.
#include <algorithm>
#include <limits>

#include "kernels.h"
#include "parallel.h"
#include "pool2d_window.h"

namespace convnet::cpu {

namespace {

int64_t volume_grain(int64_t work) { return std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, work)); }

struct Windows3 {
  PoolWindow d, h, w;
};

Windows3 windows_of(const Pool3dShape& s, int64_t od, int64_t p, int64_t q) {
  return {pool_window(od, s.D, s.KD, s.stride[0], s.pad[0], s.dil[0]),
          pool_window(p, s.H, s.KH, s.stride[1], s.pad[1], s.dil[1]),
          pool_window(q, s.W, s.KW, s.stride[2], s.pad[2], s.dil[2])};
}

// Calls f(od, p, q, flat output index) for every output of a volume.
template <typename F>
void for_outputs(const Pool3dShape& s, F f) {
  for (int64_t od = 0, i = 0; od < s.OD; ++od)
    for (int64_t p = 0; p < s.P; ++p)
      for (int64_t q = 0; q < s.Q; ++q, ++i) f(od, p, q, i);
}

}  // namespace

// x (N,C,D,H,W), y (N,C,OD,P,Q), argmax (N,C,OD,P,Q)
template <typename T>
void max_pool3d_forward_cpu(const Pool3dShape& s, const T* x, T* y, int64_t* argmax) {
  const int64_t V = s.D * s.H * s.W, O = s.OD * s.P * s.Q, HW = s.H * s.W;
  parallel_for(s.N * s.C, volume_grain(O * s.KD * s.KH * s.KW), [&](int64_t i0, int64_t i1) {
    for (int64_t v = i0; v < i1; ++v) {
      const T* xv = x + v * V;
      for_outputs(s, [&](int64_t od, int64_t p, int64_t q, int64_t i) {
        const Windows3 w = windows_of(s, od, p, q);
        T best = -std::numeric_limits<T>::infinity();
        const bool any = w.d.lo < w.d.hi && w.h.lo < w.h.hi && w.w.lo < w.w.hi;
        int64_t at = any ? (w.d.start + w.d.lo * s.dil[0]) * HW + (w.h.start + w.h.lo * s.dil[1]) * s.W +
                               w.w.start + w.w.lo * s.dil[2]
                         : -1;
        for (int64_t r = w.d.lo; r < w.d.hi; ++r) {
          const int64_t slice = (w.d.start + r * s.dil[0]) * HW;
          int64_t idx;
          const T m = max_pool_cell(xv + slice, s.W, w.h, w.w, s.dil[1], s.dil[2], &idx);
          if (m > best || m != m) {
            best = m;
            at = slice + idx;
          }
        }
        y[v * O + i] = best;
        argmax[v * O + i] = at;
      });
    }
  });
}

// dy (N,C,OD,P,Q), argmax (N,C,OD,P,Q), dx (N,C,D,H,W) overwritten: max_pool2d's routing with
// each volume as one plane
template <typename T>
void max_pool3d_backward_cpu(const Pool3dShape& s, const T* dy, const int64_t* argmax, T* dx) {
  const Pool2dShape flat{s.N, s.C, s.D * s.H * s.W, 1, s.OD * s.P * s.Q, 1, 1, 1, 1, 1, 0, 0, 1, 1, true};
  max_pool2d_backward_cpu<T>(flat, dy, argmax, dx);
}

namespace {

// Average pooling's divisor, as PyTorch: with count_include_pad the window clipped to the
// padded input, without it the window clipped to the input.
int64_t divisor3(const Windows3& w, bool count_include_pad) {
  return count_include_pad ? w.d.padded * w.h.padded * w.w.padded
                           : (w.d.hi - w.d.lo) * (w.h.hi - w.h.lo) * (w.w.hi - w.w.lo);
}

}  // namespace

// x (N,C,D,H,W), y (N,C,OD,P,Q); a window wholly in the padding gives 0
template <typename T>
void avg_pool3d_forward_cpu(const Pool3dShape& s, const T* x, T* y) {
  const int64_t V = s.D * s.H * s.W, O = s.OD * s.P * s.Q, HW = s.H * s.W;
  parallel_for(s.N * s.C, volume_grain(O * s.KD * s.KH * s.KW), [&](int64_t i0, int64_t i1) {
    for (int64_t v = i0; v < i1; ++v) {
      const T* xv = x + v * V;
      for_outputs(s, [&](int64_t od, int64_t p, int64_t q, int64_t i) {
        const Windows3 w = windows_of(s, od, p, q);
        T sum = 0;
        for (int64_t r = w.d.lo; r < w.d.hi; ++r)
          sum += avg_pool_sum(xv + (w.d.start + r) * HW, s.W, w.h, w.w, 1, 1);
        const int64_t div = divisor3(w, s.count_include_pad);
        y[v * O + i] = div ? sum / T(div) : T(0);
      });
    }
  });
}

// dy (N,C,OD,P,Q), dx (N,C,D,H,W) overwritten: each output's dy / divisor added to its taps
// inside the input, outputs in order
template <typename T>
void avg_pool3d_backward_cpu(const Pool3dShape& s, const T* dy, T* dx) {
  const int64_t V = s.D * s.H * s.W, O = s.OD * s.P * s.Q, HW = s.H * s.W;
  parallel_for(s.N * s.C, volume_grain(O * s.KD * s.KH * s.KW), [&](int64_t i0, int64_t i1) {
    for (int64_t v = i0; v < i1; ++v) {
      T* dv = dx + v * V;
      std::fill(dv, dv + V, T(0));
      for_outputs(s, [&](int64_t od, int64_t p, int64_t q, int64_t i) {
        const Windows3 w = windows_of(s, od, p, q);
        const int64_t div = divisor3(w, s.count_include_pad);
        if (!div) return;
        const T g = dy[v * O + i] / T(div);
        for (int64_t r = w.d.lo; r < w.d.hi; ++r)
          for (int64_t a = w.h.lo; a < w.h.hi; ++a) {
            T* row = dv + (w.d.start + r) * HW + (w.h.start + a) * s.W + w.w.start;
            for (int64_t b = w.w.lo; b < w.w.hi; ++b) row[b] += g;
          }
      });
    }
  });
}

#define CONVNET_INSTANTIATE(T)                                                                  \
  template void max_pool3d_forward_cpu<T>(const Pool3dShape&, const T*, T*, int64_t*);          \
  template void max_pool3d_backward_cpu<T>(const Pool3dShape&, const T*, const int64_t*, T*);   \
  template void avg_pool3d_forward_cpu<T>(const Pool3dShape&, const T*, T*);                    \
  template void avg_pool3d_backward_cpu<T>(const Pool3dShape&, const T*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cpu
