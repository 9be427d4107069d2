// CUDA local response normalization kernels (PyTorch's definition, as the CPU kernels).
// N batch, C channels, L positions per channel; x viewed as (N,C,L). With n = size,
// channel c's window is [c - n/2, c + (n-1)/2] clipped to [0, C):
//   scale[c] = k + alpha/n * sum over the window of x^2,  y[c] = x[c] * scale[c]^-beta.
// One thread per element, each window sum in channel order. Backward kernels overwrite
// dx; autograd accumulates (+=) the returned gradients into .grad.
#include <cmath>

#include "common.cuh"
#include "kernels.h"

namespace convnet::cuda {

namespace {

CONVNET_HD inline float power(float a, float b) { return powf(a, b); }
CONVNET_HD inline double power(double a, double b) { return pow(a, b); }

// x (N,C,L); y (N,C,L) and scale (N,C,L)
template <typename T>
__global__ void local_response_norm_forward_kernel(int64_t N, int64_t C, int64_t L, int64_t size, T a, T kk, T b,
                                                   const T* x, T* y, T* scale) {
  CUDA_KERNEL_LOOP(i, N * C * L) {
    const int64_t l = i % L, c = i / L % C, n = i / (C * L);
    const int64_t lo = c - size / 2 > 0 ? c - size / 2 : 0, end = c + (size - 1) / 2 + 1;
    const int64_t hi = end < C ? end : C;
    const T* xl = x + n * C * L + l;
    T sum = 0;
    for (int64_t j = lo; j < hi; ++j) sum += xl[j * L] * xl[j * L];
    const T s = kk + a * sum;
    scale[i] = s;
    y[i] = x[i] * power(s, -b);
  }
}

// x, scale, dy (N,C,L); t (N,C,L) = dy * x * scale^(-beta-1)
template <typename T>
__global__ void local_response_norm_term_kernel(int64_t n, T b, const T* x, const T* scale, const T* dy, T* t) {
  CUDA_KERNEL_LOOP(i, n) t[i] = dy[i] * x[i] * power(scale[i], -b - 1);
}

// dx[j] = dy[j] scale[j]^-beta - 2 alpha beta / n * x[j] * sum of t over the channels c whose
// window holds j (c in [j - (n-1)/2, j + n/2]).
template <typename T>
__global__ void local_response_norm_backward_kernel(int64_t N, int64_t C, int64_t L, int64_t size, T b, T coef,
                                                    const T* x, const T* scale, const T* dy, const T* t, T* dx) {
  CUDA_KERNEL_LOOP(i, N * C * L) {
    const int64_t l = i % L, c = i / L % C, n = i / (C * L);
    const int64_t lo = c - (size - 1) / 2 > 0 ? c - (size - 1) / 2 : 0, end = c + size / 2 + 1;
    const int64_t hi = end < C ? end : C;
    const T* tl = t + n * C * L + l;
    T sum = 0;
    for (int64_t j = lo; j < hi; ++j) sum += tl[j * L];
    dx[i] = dy[i] * power(scale[i], -b) - coef * x[i] * sum;
  }
}

}  // namespace

template <typename T>
void local_response_norm_forward_cuda(int64_t N, int64_t C, int64_t L, int64_t size, double alpha, double beta,
                                      double k, const T* x, T* y, T* scale) {
  auto kern = local_response_norm_forward_kernel<T>;
  CONVNET_LAUNCH(kern, N * C * L, N, C, L, size, static_cast<T>(alpha / size), static_cast<T>(k),
                 static_cast<T>(beta), x, y, scale);
}

template <typename T>
void local_response_norm_backward_cuda(int64_t N, int64_t C, int64_t L, int64_t size, double alpha, double beta,
                                       const T* x, const T* scale, const T* dy, T* dx) {
  const int64_t n = N * C * L;
  if (n == 0) return;
  DeviceBuffer<T> t(n);  // dy * x * scale^(-beta-1)
  const T b = static_cast<T>(beta);
  auto term = local_response_norm_term_kernel<T>;
  CONVNET_LAUNCH(term, n, n, b, x, scale, dy, t.get());
  auto back = local_response_norm_backward_kernel<T>;
  CONVNET_LAUNCH(back, n, N, C, L, size, b, static_cast<T>(2 * alpha * beta / size), x, scale, dy, t.get(), dx);
}

#define CONVNET_INSTANTIATE(T)                                                                          \
  template void local_response_norm_forward_cuda<T>(int64_t, int64_t, int64_t, int64_t, double, double,  \
                                                    double, const T*, T*, T*);                           \
  template void local_response_norm_backward_cuda<T>(int64_t, int64_t, int64_t, int64_t, double, double, \
                                                     const T*, const T*, const T*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cuda
