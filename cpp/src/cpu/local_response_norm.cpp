// CPU local response normalization kernels (PyTorch's definition).
// N batch, C channels, L positions per channel (the product of the spatial
// dimensions); x viewed as (N,C,L). With n = size, channel c's window is
// [c - n/2, c + (n-1)/2] clipped to [0, C) (zero padding at the edges):
//   scale[c] = k + alpha/n * sum over the window of x^2,  y[c] = x[c] * scale[c]^-beta.
// Every (n,c) plane of the output depends only on its own window: the kernels
// run parallel over the N*C planes, each sum in window order. Backward kernels
// overwrite dx; autograd accumulates (+=) the returned gradients into .grad.
#include <algorithm>
#include <cmath>

#include "kernels.h"
#include "parallel.h"
#include "workspace.h"

namespace convnet::cpu {

namespace {

int64_t plane_grain(int64_t work) { return std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, work)); }

// img (C,L) of one image, out (L) overwritten: out[l] = sum over channels c in [lo, hi) of
// term(plane c, l), in channel order.
template <typename T, typename F>
void window_sum(const T* img, int64_t L, int64_t lo, int64_t hi, T* out, const F& term) {
  std::fill(out, out + L, T(0));
  for (int64_t c = lo; c < hi; ++c) {
    const T* p = img + c * L;
    for (int64_t l = 0; l < L; ++l) out[l] += term(p, l);
  }
}

}  // namespace

// x (N,C,L); y (N,C,L) and scale (N,C,L) overwritten; scale is saved for backward.
template <typename T>
void local_response_norm_forward_cpu(int64_t N, int64_t C, int64_t L, int64_t size, double alpha,
                                     double beta, double k, const T* x, T* y, T* scale) {
  const T a = static_cast<T>(alpha / size), kk = static_cast<T>(k), b = static_cast<T>(beta);
  parallel_for(N * C, plane_grain(size * L), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / C, c = i % C;
      const int64_t lo = std::max<int64_t>(0, c - size / 2), hi = std::min(C, c + (size - 1) / 2 + 1);
      T* s = scale + i * L;
      window_sum(x + n * C * L, L, lo, hi, s, [](const T* p, int64_t l) { return p[l] * p[l]; });
      const T* xi = x + i * L;
      T* yi = y + i * L;
      for (int64_t l = 0; l < L; ++l) {
        s[l] = kk + a * s[l];
        yi[l] = xi[l] * std::pow(s[l], -b);
      }
    }
  });
}

// x (N,C,L), scale (N,C,L) from forward, dy (N,C,L), dx (N,C,L) overwritten:
// dx[j] = dy[j] scale[j]^-beta - 2 alpha beta / n * x[j] * sum over the channels c whose
// window holds j (c in [j - (n-1)/2, j + n/2]) of dy[c] x[c] scale[c]^(-beta-1).
template <typename T>
void local_response_norm_backward_cpu(int64_t N, int64_t C, int64_t L, int64_t size, double alpha,
                                      double beta, const T* x, const T* scale, const T* dy, T* dx) {
  const T b = static_cast<T>(beta), coef = static_cast<T>(2 * alpha * beta / size);
  Workspace<T> ws(N * C * L);  // dy * x * scale^(-beta-1)
  T* t = ws.data();
  parallel_for(N * C, plane_grain(L), [&](int64_t i0, int64_t i1) {
    for (int64_t j = i0 * L; j < i1 * L; ++j) t[j] = dy[j] * x[j] * std::pow(scale[j], -b - 1);
  });
  parallel_for(N * C, plane_grain(size * L), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / C, j = i % C;
      const int64_t lo = std::max<int64_t>(0, j - (size - 1) / 2), hi = std::min(C, j + size / 2 + 1);
      T* d = dx + i * L;
      window_sum(t + n * C * L, L, lo, hi, d, [](const T* p, int64_t l) { return p[l]; });
      const T* xi = x + i * L;
      const T* si = scale + i * L;
      const T* gi = dy + i * L;
      for (int64_t l = 0; l < L; ++l) d[l] = gi[l] * std::pow(si[l], -b) - coef * xi[l] * d[l];
    }
  });
}

#define CONVNET_INSTANTIATE(T)                                                                        \
  template void local_response_norm_forward_cpu<T>(int64_t, int64_t, int64_t, int64_t, double, double, \
                                                   double, const T*, T*, T*);                         \
  template void local_response_norm_backward_cpu<T>(int64_t, int64_t, int64_t, int64_t, double,       \
                                                    double, const T*, const T*, const T*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cpu
