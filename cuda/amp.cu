// CUDA kernel of mixed-precision training: gradient unscaling with an inf/NaN check.
#include "common.cuh"
#include "cpu/amp.h"
#include "kernels.h"

namespace convnet::cuda {

namespace {

// Every thread that meets a non-finite value stores the same 1 into *found.
template <typename T>
__global__ void amp_unscale_kernel(int64_t n, T* g, T inv_scale, float* found) {
  CUDA_KERNEL_LOOP(i, n) {
    const T v = g[i];
    if (!is_finite_value(v)) *found = 1.0f;
    g[i] = v * inv_scale;
  }
}

}  // namespace

// g (n) *= inv_scale in place; *found = 1 when any g was not finite
template <typename T>
void amp_unscale_cuda(int64_t n, T* g, T inv_scale, float* found) {
  if (n == 0) return;
  auto k = amp_unscale_kernel<T>;
  CONVNET_LAUNCH(k, n, n, g, inv_scale, found);
}

template void amp_unscale_cuda<float>(int64_t, float*, float, float*);
template void amp_unscale_cuda<double>(int64_t, double*, double, float*);

}  // namespace convnet::cuda
