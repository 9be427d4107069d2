// CUDA row normalization kernels (as cpu/layer_norm.cpp), shared by layer_norm, group_norm and
// instance_norm: x viewed as (M,K) rows, each normalized by its own mean and variance,
// y = (x - mean) * rstd with rstd = 1/sqrt(var + eps). One thread per row, each sum in
// element order, accumulated in double (deterministic). Backward overwrites dx; autograd
// accumulates (+=) the returned gradients into .grad.
#include <cmath>

#include "common.cuh"
#include "kernels.h"

namespace convnet::cuda {

namespace {

// x (M,K); y (M,K), mean (M), rstd (M)
template <typename T>
__global__ void layer_norm_forward_kernel(int64_t M, int64_t K, double eps, const T* x, T* y, T* mean, T* rstd) {
  CUDA_KERNEL_LOOP(m, M) {
    const T* xr = x + m * K;
    double s = 0, v = 0;
    for (int64_t k = 0; k < K; ++k) s += xr[k];
    const double mu = s / K;
    for (int64_t k = 0; k < K; ++k) v += (xr[k] - mu) * (xr[k] - mu);
    const T mm = static_cast<T>(mu), r = static_cast<T>(1 / sqrt(v / K + eps));
    for (int64_t k = 0; k < K; ++k) y[m * K + k] = (xr[k] - mm) * r;
    mean[m] = mm;
    rstd[m] = r;
  }
}

// y (M,K), rstd (M), dy (M,K), dx (M,K): dx = rstd * (dy - mean(dy) - y * mean(dy * y))
template <typename T>
__global__ void layer_norm_backward_kernel(int64_t M, int64_t K, const T* y, const T* rstd, const T* dy, T* dx) {
  CUDA_KERNEL_LOOP(m, M) {
    const T* yr = y + m * K;
    const T* g = dy + m * K;
    double a = 0, b = 0;
    for (int64_t k = 0; k < K; ++k) {
      a += g[k];
      b += static_cast<double>(g[k]) * yr[k];
    }
    const T ma = static_cast<T>(a / K), mb = static_cast<T>(b / K);
    for (int64_t k = 0; k < K; ++k) dx[m * K + k] = rstd[m] * (g[k] - ma - yr[k] * mb);
  }
}

}  // namespace

template <typename T>
void layer_norm_forward_cuda(int64_t M, int64_t K, double eps, const T* x, T* y, T* mean, T* rstd) {
  auto k = layer_norm_forward_kernel<T>;
  CONVNET_LAUNCH(k, M, M, K, eps, x, y, mean, rstd);
}

template <typename T>
void layer_norm_backward_cuda(int64_t M, int64_t K, const T* y, const T* rstd, const T* dy, T* dx) {
  auto k = layer_norm_backward_kernel<T>;
  CONVNET_LAUNCH(k, M, M, K, y, rstd, dy, dx);
}

#define CONVNET_INSTANTIATE(T)                                                                      \
  template void layer_norm_forward_cuda<T>(int64_t, int64_t, double, const T*, T*, T*, T*);         \
  template void layer_norm_backward_cuda<T>(int64_t, int64_t, const T*, const T*, const T*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cuda
