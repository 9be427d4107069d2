// The elementwise kernels of kernels.h (unary_cuda, binary_cuda) as templates over a
// functor of pointwise.h; elementwise.cu and activation.cu instantiate them for their
// functors. One thread per output element, consecutive threads on consecutive elements.
#pragma once
#include "common.cuh"
#include "kernels.h"

namespace convnet::cuda {

namespace elementwise_detail {

template <typename T, typename U, typename F>
__global__ void unary_kernel(int64_t n, const T* x, U* y, F f) {
  CUDA_KERNEL_LOOP(i, n) y[i] = f(x[i]);
}

// One dimension: a and b with strides ia, ib (1 plain, 0 a scalar).
template <typename T, typename U, typename F>
__global__ void binary_linear_kernel(int64_t n, const T* a, int64_t ia, const T* b, int64_t ib, U* out, F f) {
  CUDA_KERNEL_LOOP(i, n) out[i] = f(a[i * ia], b[i * ib]);
}

// Any number of dimensions: the output index decoded through s.
template <typename T, typename U, typename F>
__global__ void binary_strided_kernel(Broadcast s, const T* a, const T* b, U* out, F f) {
  CUDA_KERNEL_LOOP(i, s.n) {
    int64_t oa = 0, ob = 0, rem = i;
    for (int d = s.nd - 1; d >= 0; --d) {
      const int64_t c = rem % s.shape[d];
      rem /= s.shape[d];
      oa += c * s.sa[d];
      ob += c * s.sb[d];
    }
    out[i] = f(a[oa], b[ob]);
  }
}

}  // namespace elementwise_detail

template <typename T, typename U, typename F>
void unary_cuda(int64_t n, const T* x, U* y, F f) {
  if (n == 0) return;
  auto k = elementwise_detail::unary_kernel<T, U, F>;
  CONVNET_LAUNCH(k, n, n, x, y, f);
}

template <typename T, typename U, typename F>
void binary_cuda(const Broadcast& s, const T* a, const T* b, U* out, F f) {
  if (s.n == 0) return;
  if (s.nd <= 1) {
    auto k = elementwise_detail::binary_linear_kernel<T, U, F>;
    CONVNET_LAUNCH(k, s.n, s.n, a, s.nd ? s.sa[0] : 0, b, s.nd ? s.sb[0] : 0, out, f);
  } else {
    auto k = elementwise_detail::binary_strided_kernel<T, U, F>;
    CONVNET_LAUNCH(k, s.n, s, a, b, out, f);
  }
}

}  // namespace convnet::cuda
