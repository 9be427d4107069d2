// CUDA row normalization kernels with the affine transform (as cpu/layer_norm.cpp), shared by
// layer_norm, group_norm and instance_norm: x viewed as (M,K) rows, rows in G groups, a row's
// elements in blocks of S sharing parameter p = (m % G) * (K / S) + k / S;
// y = (x - mean) * rstd * w[p] + b[p] with rstd = 1/sqrt(var + eps). Forward and dx: one thread
// per row; dw and db: one thread per parameter. Every sum in a fixed order, accumulated in
// double (deterministic). Backward overwrites its outputs; autograd accumulates (+=) the
// returned gradients into .grad.
#include <cmath>

#include "common.cuh"
#include "kernels.h"

namespace convnet::cuda {

namespace {

// x (M,K), w, b (P) or null; y (M,K), mean (M), rstd (M)
template <typename T>
__global__ void layer_norm_forward_kernel(int64_t M, int64_t K, int64_t G, int64_t S, double eps, const T* x,
                                          const T* w, const T* b, T* y, T* mean, T* rstd) {
  CUDA_KERNEL_LOOP(m, M) {
    const T* xr = x + m * K;
    double s = 0, v = 0;
    for (int64_t k = 0; k < K; ++k) s += xr[k];
    const double mu = s / K;
    for (int64_t k = 0; k < K; ++k) v += (xr[k] - mu) * (xr[k] - mu);
    const T mm = static_cast<T>(mu), r = static_cast<T>(1 / sqrt(v / K + eps));
    const int64_t p0 = (m % G) * (K / S);
    for (int64_t k = 0; k < K; ++k) {
      const int64_t p = p0 + k / S;
      y[m * K + k] = (xr[k] - mm) * r * (w ? w[p] : T(1)) + (b ? b[p] : T(0));
    }
    mean[m] = mm;
    rstd[m] = r;
  }
}

// dx (M,K) = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * w
template <typename T>
__global__ void layer_norm_dx_kernel(int64_t M, int64_t K, int64_t G, int64_t S, const T* x, const T* mean,
                                     const T* rstd, const T* w, const T* dy, T* dx) {
  CUDA_KERNEL_LOOP(m, M) {
    const int64_t p0 = (m % G) * (K / S);
    const T mu = mean[m], r = rstd[m];
    double a = 0, c = 0;
    for (int64_t k = 0; k < K; ++k) {
      const T g = dy[m * K + k] * (w ? w[p0 + k / S] : T(1));
      a += g;
      c += static_cast<double>(g) * ((x[m * K + k] - mu) * r);
    }
    const T ma = static_cast<T>(a / K), mc = static_cast<T>(c / K);
    for (int64_t k = 0; k < K; ++k) {
      const T g = dy[m * K + k] * (w ? w[p0 + k / S] : T(1));
      dx[m * K + k] = r * (g - ma - (x[m * K + k] - mu) * r * mc);
    }
  }
}

// dw, db (P) or null: sums of dy * xhat and dy over parameter p's elements, rows in order
template <typename T>
__global__ void layer_norm_param_kernel(int64_t M, int64_t K, int64_t G, int64_t S, const T* x, const T* mean,
                                        const T* rstd, const T* dy, T* dw, T* db) {
  const int64_t per_row = K / S;
  CUDA_KERNEL_LOOP(p, G * per_row) {
    const int64_t g = p / per_row, j = p % per_row;
    double sw = 0, sb = 0;
    for (int64_t m = g; m < M; m += G)
      for (int64_t k = j * S; k < (j + 1) * S; ++k) {
        sw += static_cast<double>(dy[m * K + k]) * ((x[m * K + k] - mean[m]) * rstd[m]);
        sb += dy[m * K + k];
      }
    if (dw) dw[p] = static_cast<T>(sw);
    if (db) db[p] = static_cast<T>(sb);
  }
}

}  // namespace

template <typename T>
void layer_norm_forward_cuda(int64_t M, int64_t K, int64_t G, int64_t S, double eps, const T* x, const T* w,
                             const T* b, T* y, T* mean, T* rstd) {
  auto k = layer_norm_forward_kernel<T>;
  CONVNET_LAUNCH(k, M, M, K, G, S, eps, x, w, b, y, mean, rstd);
}

template <typename T>
void layer_norm_backward_cuda(int64_t M, int64_t K, int64_t G, int64_t S, const T* x, const T* mean,
                              const T* rstd, const T* w, const T* dy, T* dx, T* dw, T* db) {
  if (dx) {
    auto k = layer_norm_dx_kernel<T>;
    CONVNET_LAUNCH(k, M, M, K, G, S, x, mean, rstd, w, dy, dx);
  }
  if (dw || db) {
    auto k = layer_norm_param_kernel<T>;
    CONVNET_LAUNCH(k, G * (K / S), M, K, G, S, x, mean, rstd, dy, dw, db);
  }
}

#define CONVNET_INSTANTIATE(T)                                                                                 \
  template void layer_norm_forward_cuda<T>(int64_t, int64_t, int64_t, int64_t, double, const T*, const T*,    \
                                           const T*, T*, T*, T*);                                              \
  template void layer_norm_backward_cuda<T>(int64_t, int64_t, int64_t, int64_t, const T*, const T*, const T*, \
                                            const T*, const T*, T*, T*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cuda
