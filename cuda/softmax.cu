// softmax and log_softmax along one dimension on the GPU: x viewed as (outer, D, inner).
// One thread per (outer, inner) row runs the row functions of rowwise.h over its D values,
// consecutive threads on consecutive inner positions. Backward overwrites dx; autograd
// accumulates (+=) it into .grad.
#include "common.cuh"
#include "kernels.h"
#include "rowwise.h"

namespace convnet::cuda {

namespace {

// x, y (outer,D,inner)
template <typename T>
__global__ void softmax_forward_kernel(int64_t outer, int64_t D, int64_t inner, bool log, const T* x, T* y) {
  CUDA_KERNEL_LOOP(i, outer * inner) {
    const int64_t base = i / inner * D * inner + i % inner;
    pw::softmax_row(D, inner, log, x + base, y + base);
  }
}

// y, dy, dx (outer,D,inner)
template <typename T>
__global__ void softmax_backward_kernel(int64_t outer, int64_t D, int64_t inner, bool log, const T* y,
                                        const T* dy, T* dx) {
  CUDA_KERNEL_LOOP(i, outer * inner) {
    const int64_t base = i / inner * D * inner + i % inner;
    pw::softmax_backward_row(D, inner, log, y + base, dy + base, dx + base);
  }
}

}  // namespace

template <typename T>
void softmax_forward_cuda(int64_t outer, int64_t D, int64_t inner, bool log, const T* x, T* y) {
  if (outer * inner * D == 0) return;
  auto k = softmax_forward_kernel<T>;
  CONVNET_LAUNCH(k, outer * inner, outer, D, inner, log, x, y);
}

template <typename T>
void softmax_backward_cuda(int64_t outer, int64_t D, int64_t inner, bool log, const T* y, const T* dy, T* dx) {
  if (outer * inner * D == 0) return;
  auto k = softmax_backward_kernel<T>;
  CONVNET_LAUNCH(k, outer * inner, outer, D, inner, log, y, dy, dx);
}

#define CONVNET_INSTANTIATE(T)                                                                   \
  template void softmax_forward_cuda<T>(int64_t, int64_t, int64_t, bool, const T*, T*);          \
  template void softmax_backward_cuda<T>(int64_t, int64_t, int64_t, bool, const T*, const T*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cuda
