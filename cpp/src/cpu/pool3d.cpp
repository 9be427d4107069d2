// CPU 3-D pooling kernels: max and average over (kD, kH, kW) windows, one output at a time by
// the rules of cpu/pool3d_window.h (shared with cuda/pool3d.cu). N batch, C channels, D H W
// input size, OD P Q output size; each (n, c) volume is pooled on its own, parallel over the
// volumes. Max pooling saves the flat d*H*W + h*W + w index of each maximum, and its backward
// is max_pool2d's routing over flattened volumes. Backward kernels overwrite dx; autograd
// accumulates (+=) the returned gradients into .grad.
#include <algorithm>

#include "kernels.h"
#include "parallel.h"
#include "pool3d_window.h"

namespace convnet::cpu {

namespace {

int64_t volume_grain(int64_t work) { return std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, work)); }

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
  const int64_t V = s.D * s.H * s.W, O = s.OD * s.P * s.Q;
  parallel_for(s.N * s.C, volume_grain(O * s.KD * s.KH * s.KW), [&](int64_t i0, int64_t i1) {
    for (int64_t v = i0; v < i1; ++v)
      for_outputs(s, [&](int64_t od, int64_t p, int64_t q, int64_t i) {
        y[v * O + i] = max_pool3d_cell(x + v * V, s, pool3d_windows(s, od, p, q), argmax + v * O + i);
      });
  });
}

// dy (N,C,OD,P,Q), argmax (N,C,OD,P,Q), dx (N,C,D,H,W) overwritten: max_pool2d's routing with
// each volume as one plane
template <typename T>
void max_pool3d_backward_cpu(const Pool3dShape& s, const T* dy, const int64_t* argmax, T* dx) {
  const Pool2dShape flat{s.N, s.C, s.D * s.H * s.W, 1, s.OD * s.P * s.Q, 1, 1, 1, 1, 1, 0, 0, 1, 1, true};
  max_pool2d_backward_cpu<T>(flat, dy, argmax, dx);
}

// x (N,C,D,H,W), y (N,C,OD,P,Q); a window wholly in the padding gives 0
template <typename T>
void avg_pool3d_forward_cpu(const Pool3dShape& s, const T* x, T* y) {
  const int64_t V = s.D * s.H * s.W, O = s.OD * s.P * s.Q;
  parallel_for(s.N * s.C, volume_grain(O * s.KD * s.KH * s.KW), [&](int64_t i0, int64_t i1) {
    for (int64_t v = i0; v < i1; ++v)
      for_outputs(s, [&](int64_t od, int64_t p, int64_t q, int64_t i) {
        y[v * O + i] = avg_pool3d_cell(x + v * V, s, pool3d_windows(s, od, p, q));
      });
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
        const PoolWindows3 w = pool3d_windows(s, od, p, q);
        const int64_t div = avg_pool3d_divisor(w, s.count_include_pad);
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
