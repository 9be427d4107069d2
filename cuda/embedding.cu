// CUDA embedding kernels (as cpu/embedding.cpp): weight (V,D), idx (n), y (n,D).
// Forward: one thread per output element. Backward: one thread per column of dweight, each
// walking the indices in order (no atomics: deterministic sums). Backward overwrites
// dweight; autograd accumulates (+=) the returned gradient into .grad.
#include "common.cuh"
#include "kernels.h"

namespace convnet::cuda {

namespace {

// weight (V,D), idx (n), y (n,D)
template <typename T>
__global__ void embedding_forward_kernel(int64_t D, int64_t n, const T* weight, const int64_t* idx, T* y) {
  CUDA_KERNEL_LOOP(i, n * D) y[i] = weight[idx[i / D] * D + i % D];
}

// dweight (V,D) zeroed
template <typename T>
__global__ void embedding_zero_kernel(int64_t count, T* dweight) {
  CUDA_KERNEL_LOOP(i, count) dweight[i] = T(0);
}

// dy (n,D), idx (n), dweight (V,D) zeroed: column j adds dy[i, j] into row idx[i], i in order
template <typename T>
__global__ void embedding_backward_kernel(int64_t D, int64_t n, int64_t padding_idx, const T* dy,
                                          const int64_t* idx, T* dweight) {
  CUDA_KERNEL_LOOP(j, D) {
    for (int64_t i = 0; i < n; ++i)
      if (idx[i] != padding_idx) dweight[idx[i] * D + j] += dy[i * D + j];
  }
}

}  // namespace

template <typename T>
void embedding_forward_cuda(int64_t V, int64_t D, int64_t n, const T* weight, const int64_t* idx, T* y) {
  (void)V;
  auto k = embedding_forward_kernel<T>;
  CONVNET_LAUNCH(k, n * D, D, n, weight, idx, y);
}

template <typename T>
void embedding_backward_cuda(int64_t V, int64_t D, int64_t n, int64_t padding_idx, const T* dy, const int64_t* idx,
                             T* dweight) {
  auto z = embedding_zero_kernel<T>;
  CONVNET_LAUNCH(z, V * D, V * D, dweight);
  auto k = embedding_backward_kernel<T>;
  CONVNET_LAUNCH(k, D, D, n, padding_idx, dy, idx, dweight);
}

#define CONVNET_INSTANTIATE(T)                                                                           \
  template void embedding_forward_cuda<T>(int64_t, int64_t, int64_t, const T*, const int64_t*, T*);      \
  template void embedding_backward_cuda<T>(int64_t, int64_t, int64_t, int64_t, const T*, const int64_t*, \
                                           T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cuda
