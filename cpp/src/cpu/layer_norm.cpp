// CPU row normalization kernels, shared by layer_norm, group_norm and instance_norm.
// M rows, K elements per row: x viewed as (M,K), where a row is what one mean and one
// variance cover (layer_norm: the trailing normalized_shape; group_norm: one (n, group)
// of C/G channels times the spatial positions; instance_norm: one (n, c) plane).
//   mean[m] = sum_k x[m,k] / K,  rstd[m] = 1 / sqrt(sum_k (x[m,k] - mean)^2 / K + eps),
//   y[m,k] = (x[m,k] - mean[m]) * rstd[m].
// The affine transform is not here: the ops apply it with broadcasting elementwise ops.
// Rows are independent: parallel over rows, each sum in a fixed order (accumulated in
// double), so results do not depend on the thread count. Backward kernels overwrite dx;
// autograd accumulates (+=) the returned gradients into .grad.
#include <algorithm>
#include <cmath>

#include "isa.h"
#include "kernels.h"
#include "parallel.h"

namespace convnet::cpu {

namespace {

int64_t row_grain(int64_t K) { return std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, K)); }

// x (K), y (K) overwritten with the normalized row; returns {mean, rstd}.
template <typename T>
CONVNET_CPU_CLONES void normalize_row(int64_t K, double eps, const T* x, T* y, T* mean, T* rstd) {
  double s = 0;
  for (int64_t k = 0; k < K; ++k) s += x[k];
  const double mu = s / K;
  double v = 0;
  for (int64_t k = 0; k < K; ++k) {
    const double d = x[k] - mu;
    v += d * d;
  }
  const double r = 1 / std::sqrt(v / K + eps);
  const T m = static_cast<T>(mu), rs = static_cast<T>(r);
  for (int64_t k = 0; k < K; ++k) y[k] = (x[k] - m) * rs;
  *mean = m;
  *rstd = rs;
}

// y (K) the normalized row, dy (K), dx (K) overwritten:
// dx = rstd * (dy - mean(dy) - y * mean(dy * y)).
template <typename T>
CONVNET_CPU_CLONES void normalize_row_backward(int64_t K, T rstd, const T* y, const T* dy, T* dx) {
  double a = 0, b = 0;
  for (int64_t k = 0; k < K; ++k) {
    a += dy[k];
    b += static_cast<double>(dy[k]) * y[k];
  }
  const T ma = static_cast<T>(a / K), mb = static_cast<T>(b / K);
  for (int64_t k = 0; k < K; ++k) dx[k] = rstd * (dy[k] - ma - y[k] * mb);
}

}  // namespace

// x (M,K); y (M,K), mean (M), rstd (M) overwritten; y and rstd are saved for backward.
template <typename T>
void layer_norm_forward_cpu(int64_t M, int64_t K, double eps, const T* x, T* y, T* mean, T* rstd) {
  parallel_for(M, row_grain(3 * K), [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; ++m) normalize_row(K, eps, x + m * K, y + m * K, mean + m, rstd + m);
  });
}

// y (M,K) and rstd (M) from forward, dy (M,K), dx (M,K) overwritten.
template <typename T>
void layer_norm_backward_cpu(int64_t M, int64_t K, const T* y, const T* rstd, const T* dy, T* dx) {
  parallel_for(M, row_grain(3 * K), [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; ++m) normalize_row_backward(K, rstd[m], y + m * K, dy + m * K, dx + m * K);
  });
}

#define CONVNET_INSTANTIATE(T)                                                                      \
  template void layer_norm_forward_cpu<T>(int64_t, int64_t, double, const T*, T*, T*, T*);          \
  template void layer_norm_backward_cpu<T>(int64_t, int64_t, const T*, const T*, const T*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cpu
