// CPU softmax and log_softmax kernels along one dimension.
// x viewed as (outer, D, inner): D the size of the softmax dimension, outer and
// inner the products of the dimensions before and after it. Each of the
// outer*inner rows of D values is independent. The rows go in tiles of up to kTile
// neighbours along inner (contiguous in memory), split over the threads; a tile's loops
// run over its rows, so they vectorize (in the CONVNET_CPU_CLONES tile functions), and
// each row sums its D terms in order of d. Backward overwrites dx (softmax
// dx = y (dy - Σ dy y); log_softmax dx = dy - exp(y) Σ dy); autograd accumulates (+=) it
// into .grad.
#include <algorithm>

#include "isa.h"
#include "kernels.h"
#include "parallel.h"
#include "pointwise.h"

namespace convnet::cpu {

namespace {

constexpr int64_t kTile = 128;

// x, y: W rows (W <= kTile) of D values inner apart, row j starting at j.
template <typename T>
CONVNET_CPU_CLONES void softmax_tile(int64_t D, int64_t inner, int64_t W, bool log, const T* x, T* y) {
  T m[kTile], s[kTile];
  for (int64_t j = 0; j < W; ++j) m[j] = x[j];
  for (int64_t d = 1; d < D; ++d)
    for (int64_t j = 0; j < W; ++j) m[j] = pw::max(m[j], x[d * inner + j]);
  for (int64_t j = 0; j < W; ++j) s[j] = 0;
  for (int64_t d = 0; d < D; ++d)
    for (int64_t j = 0; j < W; ++j) s[j] += pw::exp(x[d * inner + j] - m[j]);
  // log: (x - m) - log s, exact where x is near the maximum; else exp(x - m) / s
  for (int64_t j = 0; j < W; ++j) s[j] = log ? pw::log(s[j]) : T(1) / s[j];
  for (int64_t d = 0; d < D; ++d)
    for (int64_t j = 0; j < W; ++j) {
      const T z = x[d * inner + j] - m[j];
      y[d * inner + j] = log ? z - s[j] : pw::exp(z) * s[j];
    }
}

// y, dy, dx: W rows (W <= kTile) of D values inner apart, row j starting at j.
template <typename T>
CONVNET_CPU_CLONES void softmax_backward_tile(int64_t D, int64_t inner, int64_t W, bool log, const T* y,
                                              const T* dy, T* dx) {
  T s[kTile];
  for (int64_t j = 0; j < W; ++j) s[j] = 0;
  for (int64_t d = 0; d < D; ++d)
    for (int64_t j = 0; j < W; ++j) {
      const int64_t k = d * inner + j;
      s[j] += log ? dy[k] : dy[k] * y[k];
    }
  for (int64_t d = 0; d < D; ++d)
    for (int64_t j = 0; j < W; ++j) {
      const int64_t k = d * inner + j;
      dx[k] = log ? dy[k] - pw::exp(y[k]) * s[j] : y[k] * (dy[k] - s[j]);
    }
}

// f(offset, W) for every tile of (outer, D, inner), split over the threads
template <typename F>
void for_each_tile(int64_t outer, int64_t D, int64_t inner, F f) {
  const int64_t per_outer = (inner + kTile - 1) / kTile;
  const int64_t work = std::max<int64_t>(D * std::min(inner, kTile), 1);
  parallel_for(outer * per_outer, std::max<int64_t>(1, kGrainSize / work), [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const int64_t o = t / per_outer, j0 = (t % per_outer) * kTile;
      f(o * D * inner + j0, std::min(kTile, inner - j0));
    }
  });
}

}  // namespace

// x (outer,D,inner), y (outer,D,inner); log selects log_softmax.
template <typename T>
void softmax_forward_cpu(int64_t outer, int64_t D, int64_t inner, bool log, const T* x, T* y) {
  for_each_tile(outer, D, inner, [&](int64_t off, int64_t W) { softmax_tile(D, inner, W, log, x + off, y + off); });
}

// y, dy, dx (outer,D,inner)
template <typename T>
void softmax_backward_cpu(int64_t outer, int64_t D, int64_t inner, bool log, const T* y,
                          const T* dy, T* dx) {
  for_each_tile(outer, D, inner, [&](int64_t off, int64_t W) {
    softmax_backward_tile(D, inner, W, log, y + off, dy + off, dx + off);
  });
}

#define CONVNET_INSTANTIATE(T)                                                                  \
  template void softmax_forward_cpu<T>(int64_t, int64_t, int64_t, bool, const T*, T*);           \
  template void softmax_backward_cpu<T>(int64_t, int64_t, int64_t, bool, const T*, const T*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cpu
