// CUDA kernels of index (cpu/index.cpp describes the layouts): one thread per gathered element;
// one thread per (o, i) column for scatters, j in order (deterministic, as on the CPU).
#include "common.cuh"
#include "kernels.h"

namespace convnet::cuda {

namespace {

template <typename T>
__global__ void index_gather_kernel(IndexShape s, const int64_t* index, const T* x, T* y) {
  CUDA_KERNEL_LOOP(e, s.N * s.n * s.K) {
    const int64_t i = e % s.K, r = e / s.K, o = r / s.n, j = r % s.n;
    y[e] = x[(o * s.M + index[o * s.is0 + j * s.is1 + i * s.is2]) * s.K + i];
  }
}

template <typename T>
__global__ void index_scatter_kernel(IndexShape s, const int64_t* index, const T* src, T* y, bool accumulate) {
  CUDA_KERNEL_LOOP(c, s.N * s.K) {
    const int64_t o = c / s.K, i = c % s.K;
    for (int64_t j = 0; j < s.n; ++j) {
      T& dst = y[(o * s.M + index[o * s.is0 + j * s.is1 + i * s.is2]) * s.K + i];
      const T v = src[(o * s.n + j) * s.K + i];
      if (accumulate)
        dst += v;
      else
        dst = v;
    }
  }
}

template <typename T>
__global__ void where_kernel(int64_t n, const bool* cond, const T* a, const T* b, T* y) {
  CUDA_KERNEL_LOOP(k, n) y[k] = cond[k] ? a[k] : b[k];
}

}  // namespace

template <typename T>
void index_gather_cuda(const IndexShape& s, const int64_t* index, const T* x, T* y) {
  const int64_t n = s.N * s.n * s.K;
  if (n == 0) return;
  auto k = index_gather_kernel<T>;
  CONVNET_LAUNCH(k, n, s, index, x, y);
}

template <typename T>
void index_scatter_cuda(const IndexShape& s, const int64_t* index, const T* src, T* y, bool accumulate) {
  const int64_t n = s.N * s.K;
  if (n == 0 || s.n == 0) return;
  auto k = index_scatter_kernel<T>;
  CONVNET_LAUNCH(k, n, s, index, src, y, accumulate);
}

template <typename T>
void where_cuda(int64_t n, const bool* cond, const T* a, const T* b, T* y) {
  if (n == 0) return;
  auto k = where_kernel<T>;
  CONVNET_LAUNCH(k, n, n, cond, a, b, y);
}

#define CONVNET_INDEX_TYPES(T)                                                                  \
  template void index_gather_cuda<T>(const IndexShape&, const int64_t*, const T*, T*);         \
  template void index_scatter_cuda<T>(const IndexShape&, const int64_t*, const T*, T*, bool); \
  template void where_cuda<T>(int64_t, const bool*, const T*, const T*, T*);
CONVNET_INDEX_TYPES(uint8_t)
CONVNET_INDEX_TYPES(uint16_t)
CONVNET_INDEX_TYPES(uint32_t)
CONVNET_INDEX_TYPES(uint64_t)
CONVNET_INDEX_TYPES(float)
CONVNET_INDEX_TYPES(double)
#undef CONVNET_INDEX_TYPES

}  // namespace convnet::cuda
