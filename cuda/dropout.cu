// CUDA dropout kernel, n elements. The op draws the n uniform numbers on the host from
// the global generator (the CPU's draws, so a seed gives the same mask on both devices)
// and copies them here; the kernel turns them into the mask, 0 or 1/(1-p) per element,
// with the CPU kernel's rule. Forward and backward multiply by the mask (dx = dy * mask)
// with the elementwise kernels.
#include "common.cuh"
#include "kernels.h"

namespace convnet::cuda {

namespace {

// mask (n): draws on entry, the mask on return
template <typename T>
__global__ void dropout_mask_kernel(int64_t n, T p, T keep, T* mask) {
  CUDA_KERNEL_LOOP(i, n) mask[i] = mask[i] < p ? T(0) : keep;
}

}  // namespace

template <typename T>
void dropout_mask_cuda(int64_t n, double p, T* mask) {
  const T keep = p == 1 ? T(0) : static_cast<T>(1 / (1 - p));
  auto k = dropout_mask_kernel<T>;
  CONVNET_LAUNCH(k, n, n, static_cast<T>(p), keep, mask);
}

template void dropout_mask_cuda<float>(int64_t, double, float*);
template void dropout_mask_cuda<double>(int64_t, double, double*);

}  // namespace convnet::cuda
