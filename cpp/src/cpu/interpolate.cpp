// CPU 2-D interpolation (PyTorch's nearest and bilinear upsampling, CPU rules).
// B planes (N*C), H W input size, P Q output size. Every output row p reads
// input rows taps_h[p].i0 and .i1 with weights .w0 and .w1 (columns
// likewise): one separable pair of taps per output row and column covers both
// modes (nearest reads only i0). Planes run in parallel; backward scatters
// inside a plane in a fixed order. Backward kernels overwrite dx; autograd
// accumulates (+=) the returned gradients into .grad.
#include <algorithm>
#include <cmath>

#include "kernels.h"
#include "parallel.h"

namespace convnet::cpu {

namespace {
int64_t plane_grain(int64_t work) { return std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, work)); }
}  // namespace

// taps (out) overwritten. scale: the caller's scale factor (in → out), or <= 0 when the output
// size was given. Nearest follows PyTorch's nearest_idx (float arithmetic, exact for out = in
// and out = 2*in); linear its area_pixel_compute_source_index with weights in T.
template <typename T>
void interpolate_taps_cpu(int64_t in, int64_t out, bool linear, bool align_corners, double scale,
                          InterpTap<T>* taps) {
  for (int64_t o = 0; o < out; ++o) {
    InterpTap<T>& t = taps[o];
    if (!linear) {
      int64_t i;
      if (out == in) {
        i = o;
      } else if (out == 2 * in) {
        i = o >> 1;
      } else {
        const float s = scale > 0 ? static_cast<float>(1.0 / scale) : static_cast<float>(in) / out;
        i = std::min(static_cast<int64_t>(std::floor(static_cast<float>(o) * s)), in - 1);
      }
      t = {i, i, T(1), T(0)};
      continue;
    }
    const T s = align_corners ? (out > 1 ? static_cast<T>(in - 1) / static_cast<T>(out - 1) : T(0))
                              : (scale > 0 ? static_cast<T>(1.0 / scale) : static_cast<T>(in) / static_cast<T>(out));
    T src = align_corners ? s * static_cast<T>(o) : s * (static_cast<T>(o) + T(0.5)) - T(0.5);
    if (src < 0) src = 0;
    const int64_t i0 = std::min(static_cast<int64_t>(std::floor(src)), in - 1);
    const T l = std::min(std::max(src - static_cast<T>(i0), T(0)), T(1));
    t = {i0, i0 + (i0 < in - 1 ? 1 : 0), T(1) - l, l};
  }
}

// x (B,H,W), y (B,P,Q) overwritten
template <typename T>
void interpolate2d_forward_cpu(int64_t B, int64_t H, int64_t W, int64_t P, int64_t Q, bool linear,
                               const InterpTap<T>* th, const InterpTap<T>* tw, const T* x, T* y) {
  parallel_for(B, plane_grain(P * Q), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const T* xb = x + b * H * W;
      T* yb = y + b * P * Q;
      for (int64_t p = 0; p < P; ++p) {
        const T* r0 = xb + th[p].i0 * W;
        const T* r1 = xb + th[p].i1 * W;
        T* yr = yb + p * Q;
        if (!linear) {
          for (int64_t q = 0; q < Q; ++q) yr[q] = r0[tw[q].i0];
          continue;
        }
        const T h0 = th[p].w0, h1 = th[p].w1;
        for (int64_t q = 0; q < Q; ++q) {
          const InterpTap<T>& c = tw[q];
          yr[q] = h0 * (c.w0 * r0[c.i0] + c.w1 * r0[c.i1]) + h1 * (c.w0 * r1[c.i0] + c.w1 * r1[c.i1]);
        }
      }
    }
  });
}

// dy (B,P,Q), dx (B,H,W) overwritten
template <typename T>
void interpolate2d_backward_cpu(int64_t B, int64_t H, int64_t W, int64_t P, int64_t Q, bool linear,
                                const InterpTap<T>* th, const InterpTap<T>* tw, const T* dy, T* dx) {
  parallel_for(B, plane_grain(H * W + P * Q), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      T* db = dx + b * H * W;
      const T* gb = dy + b * P * Q;
      std::fill(db, db + H * W, T(0));
      for (int64_t p = 0; p < P; ++p) {
        T* r0 = db + th[p].i0 * W;
        T* r1 = db + th[p].i1 * W;
        const T* gr = gb + p * Q;
        if (!linear) {
          for (int64_t q = 0; q < Q; ++q) r0[tw[q].i0] += gr[q];
          continue;
        }
        const T h0 = th[p].w0, h1 = th[p].w1;
        for (int64_t q = 0; q < Q; ++q) {
          const InterpTap<T>& c = tw[q];
          r0[c.i0] += h0 * c.w0 * gr[q];
          r0[c.i1] += h0 * c.w1 * gr[q];
          r1[c.i0] += h1 * c.w0 * gr[q];
          r1[c.i1] += h1 * c.w1 * gr[q];
        }
      }
    }
  });
}

#define CONVNET_INSTANTIATE(T)                                                                              \
  template void interpolate_taps_cpu<T>(int64_t, int64_t, bool, bool, double, InterpTap<T>*);               \
  template void interpolate2d_forward_cpu<T>(int64_t, int64_t, int64_t, int64_t, int64_t, bool,              \
                                             const InterpTap<T>*, const InterpTap<T>*, const T*, T*);         \
  template void interpolate2d_backward_cpu<T>(int64_t, int64_t, int64_t, int64_t, int64_t, bool,             \
                                              const InterpTap<T>*, const InterpTap<T>*, const T*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cpu
