// CUDA 2-D interpolation (nearest and bilinear), with the taps of the CPU rules
// (interpolate_taps_cpu, computed on the host and copied to the device).
// B planes (N*C), H W input size, P Q output size. Forward: one thread per output
// element. Backward: one thread per input element, which gathers from the outputs whose
// taps read it (no atomics, so the sums are deterministic): the taps of an axis are
// ordered (i0 never decreases along the output) and i1 is i0 or i0 + 1, so the outputs
// reading input i are the run with i0 in [i - 1, i], found by binary search. Backward
// kernels overwrite dx; autograd accumulates (+=) the returned gradients into .grad.
#include "common.cuh"
#include "kernels.h"

namespace convnet::cuda {

namespace {

// The first output o in [0, out) with taps[o].i0 >= v, out when there is none.
template <typename T>
__device__ int64_t first_tap_from(const InterpTap<T>* taps, int64_t out, int64_t v) {
  int64_t lo = 0, hi = out;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (taps[mid].i0 < v)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

// The weight with which tap t reads input i.
template <typename T>
__device__ T tap_weight(const InterpTap<T>& t, int64_t i) {
  return (t.i0 == i ? t.w0 : T(0)) + (t.i1 == i ? t.w1 : T(0));
}

// x (B,H,W), taps_h (P), taps_w (Q), y (B,P,Q)
template <typename T>
__global__ void interpolate2d_forward_kernel(int64_t B, int64_t H, int64_t W, int64_t P, int64_t Q, bool linear,
                                             const InterpTap<T>* th, const InterpTap<T>* tw, const T* x, T* y) {
  CUDA_KERNEL_LOOP(o, B * P * Q) {
    const int64_t q = o % Q, p = o / Q % P, b = o / (P * Q);
    const T* r0 = x + (b * H + th[p].i0) * W;
    const InterpTap<T>& c = tw[q];
    if (!linear) {
      y[o] = r0[c.i0];
      continue;
    }
    const T* r1 = x + (b * H + th[p].i1) * W;
    y[o] = th[p].w0 * (c.w0 * r0[c.i0] + c.w1 * r0[c.i1]) + th[p].w1 * (c.w0 * r1[c.i0] + c.w1 * r1[c.i1]);
  }
}

// dy (B,P,Q), taps_h (P), taps_w (Q), dx (B,H,W)
template <typename T>
__global__ void interpolate2d_backward_kernel(int64_t B, int64_t H, int64_t W, int64_t P, int64_t Q,
                                              const InterpTap<T>* th, const InterpTap<T>* tw, const T* dy,
                                              T* dx) {
  CUDA_KERNEL_LOOP(i, B * H * W) {
    const int64_t w = i % W, h = i / W % H, b = i / (H * W);
    const int64_t p0 = first_tap_from(th, P, h - 1), p1 = first_tap_from(th, P, h + 1);
    const int64_t q0 = first_tap_from(tw, Q, w - 1), q1 = first_tap_from(tw, Q, w + 1);
    const T* g = dy + b * P * Q;
    T sum = 0;
    for (int64_t p = p0; p < p1; ++p) {
      const T wh = tap_weight(th[p], h);
      for (int64_t q = q0; q < q1; ++q) sum += wh * tap_weight(tw[q], w) * g[p * Q + q];
    }
    dx[i] = sum;
  }
}

}  // namespace

template <typename T>
void interpolate2d_forward_cuda(int64_t B, int64_t H, int64_t W, int64_t P, int64_t Q, bool linear,
                                const InterpTap<T>* taps_h, const InterpTap<T>* taps_w, const T* x, T* y) {
  auto k = interpolate2d_forward_kernel<T>;
  CONVNET_LAUNCH(k, B * P * Q, B, H, W, P, Q, linear, taps_h, taps_w, x, y);
}

// Nearest taps have i1 = i0 and w1 = 0, so one gather serves both modes.
template <typename T>
void interpolate2d_backward_cuda(int64_t B, int64_t H, int64_t W, int64_t P, int64_t Q, bool,
                                 const InterpTap<T>* taps_h, const InterpTap<T>* taps_w, const T* dy, T* dx) {
  auto k = interpolate2d_backward_kernel<T>;
  CONVNET_LAUNCH(k, B * H * W, B, H, W, P, Q, taps_h, taps_w, dy, dx);
}

#define CONVNET_INSTANTIATE(T)                                                                                \
  template void interpolate2d_forward_cuda<T>(int64_t, int64_t, int64_t, int64_t, int64_t, bool,              \
                                              const InterpTap<T>*, const InterpTap<T>*, const T*, T*);         \
  template void interpolate2d_backward_cuda<T>(int64_t, int64_t, int64_t, int64_t, int64_t, bool,             \
                                               const InterpTap<T>*, const InterpTap<T>*, const T*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cuda
