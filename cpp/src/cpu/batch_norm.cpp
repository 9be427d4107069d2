// CPU batch normalization kernels. N batch, C channels, L positions per
// channel and sample (H*W for images, the length for (N,C,L), 1 for (N,C)).
// x is viewed as (N,C,L); every channel is independent, so the statistics and the
// backward run parallel over channels. A channel's sums are taken in double, in
// kLanes interleaved partial sums per run of L (so they vectorize), the runs and
// then the lanes added in a fixed order: results do not depend on the thread count.
// Backward kernels overwrite their outputs; autograd accumulates (+=) the
// returned gradients into .grad.
#include <algorithm>
#include <cmath>

#include "isa.h"
#include "kernels.h"
#include "parallel.h"

namespace convnet::cpu {

namespace {

constexpr int64_t kLanes = 16;

// Grain (in channels) of the parallel loops over channels.
int64_t channel_grain(int64_t N, int64_t L) {
  return std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, N * L));
}

// The terms a channel's sums add up, at position l of a run (x, dy) of L values.
enum Term { kX, kSqDev, kDy, kDyDev };  // x, (x - m)^2, dy, dy * (x - m)

template <Term K, typename T>
__attribute__((always_inline)) inline double term(const T* x, const T* dy, int64_t l, double m) {
  if constexpr (K == kX) return static_cast<double>(x[l]);
  if constexpr (K == kSqDev) return (static_cast<double>(x[l]) - m) * (static_cast<double>(x[l]) - m);
  if constexpr (K == kDy) return static_cast<double>(dy[l]);
  return static_cast<double>(dy[l]) * (static_cast<double>(x[l]) - m);
}

// x (L), dy (L) or null; part (kLanes) += term K at l into lane l % kLanes, in order of l
template <Term K, typename T>
CONVNET_CPU_CLONES void add_lanes(const T* __restrict x, const T* __restrict dy, int64_t L, double m,
                                  double* part) {
  double acc[kLanes] = {};
  int64_t l = 0;
  for (; l + kLanes <= L; l += kLanes)
    for (int64_t j = 0; j < kLanes; ++j) acc[j] += term<K>(x, dy, l + j, m);
  for (int64_t j = 0; l < L; ++l, ++j) acc[j] += term<K>(x, dy, l, m);
  for (int64_t j = 0; j < kLanes; ++j) part[j] += acc[j];
}

double lanes_total(const double* part) {
  double t = 0;
  for (int64_t j = 0; j < kLanes; ++j) t += part[j];
  return t;
}

// x (L); y (L) = x * scale + shift
template <typename T>
CONVNET_CPU_CLONES void affine_run(const T* __restrict x, int64_t L, T scale, T shift, T* __restrict y) {
  for (int64_t l = 0; l < L; ++l) y[l] = x[l] * scale + shift;
}

// x (L), dy (L); dx (L) = g * (dy - a - (x - m) * k), in double
template <typename T>
CONVNET_CPU_CLONES void dx_run(const T* __restrict x, const T* __restrict dy, int64_t L, double g,
                               double a, double m, double k, T* __restrict dx) {
  for (int64_t l = 0; l < L; ++l)
    dx[l] = static_cast<T>(g * (static_cast<double>(dy[l]) - a - (static_cast<double>(x[l]) - m) * k));
}

}  // namespace

// x (N,C,L); mean (C) and var (C) overwritten: the biased variance, two passes.
template <typename T>
void batch_norm_stats_cpu(int64_t N, int64_t C, int64_t L, const T* x, T* mean, T* var) {
  const double M = static_cast<double>(N * L);
  parallel_for(C, channel_grain(N, L), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      double part[kLanes] = {}, sq[kLanes] = {};
      for (int64_t n = 0; n < N; ++n) add_lanes<kX, T>(x + (n * C + c) * L, nullptr, L, 0, part);
      const double m = lanes_total(part) / M;
      for (int64_t n = 0; n < N; ++n) add_lanes<kSqDev, T>(x + (n * C + c) * L, nullptr, L, m, sq);
      mean[c] = static_cast<T>(m);
      var[c] = static_cast<T>(lanes_total(sq) / M);
    }
  });
}

// x (N,C,L), mean (C), invstd (C), w (C) or null, b (C) or null, y (N,C,L) overwritten:
// y = (x - mean) * invstd * w + b
template <typename T>
void batch_norm_forward_cpu(int64_t N, int64_t C, int64_t L, const T* x, const T* mean,
                            const T* invstd, const T* w, const T* b, T* y) {
  parallel_for(N * C, channel_grain(1, L), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t c = i % C;
      const T scale = invstd[c] * (w ? w[c] : T(1));
      const T shift = (b ? b[c] : T(0)) - mean[c] * scale;
      affine_run(x + i * L, L, scale, shift, y + i * L);
    }
  });
}

// x (N,C,L), dy (N,C,L), mean (C), invstd (C) as used by forward, w (C) or null;
// dx (N,C,L), dw (C), db (C) overwritten, each may be null. With batch_stats the
// mean and invstd were computed from x, so dx has the terms through them.
template <typename T>
void batch_norm_backward_cpu(int64_t N, int64_t C, int64_t L, bool batch_stats, const T* x,
                             const T* dy, const T* mean, const T* invstd, const T* w, T* dx, T* dw,
                             T* db) {
  const double M = static_cast<double>(N * L);
  parallel_for(C, channel_grain(N, L), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const double m = mean[c], is = invstd[c];
      double pdy[kLanes] = {}, pdyx[kLanes] = {};  // sum of dy, sum of dy * (x - mean)
      for (int64_t n = 0; n < N; ++n) {
        const int64_t off = (n * C + c) * L;
        add_lanes<kDy, T>(x + off, dy + off, L, m, pdy);
        add_lanes<kDyDev, T>(x + off, dy + off, L, m, pdyx);
      }
      const double sdy = lanes_total(pdy), sdyx = lanes_total(pdyx);
      if (dw) dw[c] = static_cast<T>(sdyx * is);
      if (db) db[c] = static_cast<T>(sdy);
      if (!dx) continue;
      const double g = is * (w ? w[c] : T(1));
      // dx = g * (dy - mean(dy) - xhat * mean(dy * xhat)), xhat = (x - mean) * invstd
      const double a = batch_stats ? sdy / M : 0, k = batch_stats ? sdyx * is * is / M : 0;
      for (int64_t n = 0; n < N; ++n) {
        const int64_t off = (n * C + c) * L;
        dx_run(x + off, dy + off, L, g, a, m, k, dx + off);
      }
    }
  });
}

// mean (C), var (C) the batch's biased variance over M values; running_mean (C) and
// running_var (C) updated in place: r = (1 - momentum) * r + momentum * stat, with the
// unbiased variance var * M / (M - 1), as PyTorch.
template <typename T>
void batch_norm_update_stats_cpu(int64_t C, int64_t M, double momentum, const T* mean, const T* var,
                                 T* running_mean, T* running_var) {
  const double unbias = static_cast<double>(M) / static_cast<double>(M - 1);
  for (int64_t c = 0; c < C; ++c) {
    if (running_mean) running_mean[c] = static_cast<T>((1 - momentum) * running_mean[c] + momentum * mean[c]);
    if (running_var)
      running_var[c] = static_cast<T>((1 - momentum) * running_var[c] + momentum * unbias * var[c]);
  }
}

// var (C); invstd (C) overwritten: 1 / sqrt(var + eps)
template <typename T>
void batch_norm_invstd_cpu(int64_t C, double eps, const T* var, T* invstd) {
  for (int64_t c = 0; c < C; ++c) invstd[c] = T(1) / std::sqrt(var[c] + static_cast<T>(eps));
}

void batch_norm_count_cpu(int64_t* count) { *count += 1; }

#define CONVNET_INSTANTIATE(T)                                                                    \
  template void batch_norm_stats_cpu<T>(int64_t, int64_t, int64_t, const T*, T*, T*);             \
  template void batch_norm_forward_cpu<T>(int64_t, int64_t, int64_t, const T*, const T*,          \
                                          const T*, const T*, const T*, T*);                      \
  template void batch_norm_backward_cpu<T>(int64_t, int64_t, int64_t, bool, const T*, const T*,   \
                                           const T*, const T*, const T*, T*, T*, T*);      \
  template void batch_norm_update_stats_cpu<T>(int64_t, int64_t, double, const T*, const T*, T*, \
                                               T*);                                               \
  template void batch_norm_invstd_cpu<T>(int64_t, double, const T*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cpu
