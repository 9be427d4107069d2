// copy: element-by-element copy (or accumulation) between two strided layouts of the same
// sizes (cpu/copy.cpp describes them); one thread per element of dst.
#include "common.cuh"
#include "kernels.h"

namespace convnet::cuda {

namespace {

template <bool Add, typename T>
__global__ void copy_strided_kernel(StridedCopy s, T* dst, const T* src) {
  CUDA_KERNEL_LOOP(i, s.n) {
    int64_t od = 0, os = 0, rem = i;
    for (int d = s.nd - 1; d >= 0; --d) {
      const int64_t k = rem % s.shape[d];
      rem /= s.shape[d];
      od += k * s.sd[d];
      os += k * s.ss[d];
    }
    if constexpr (Add)
      dst[od] += src[os];
    else
      dst[od] = src[os];
  }
}

}  // namespace

template <typename T>
void copy_strided_cuda(const StridedCopy& s, T* dst, const T* src) {
  if (s.n == 0) return;
  auto k = copy_strided_kernel<false, T>;
  CONVNET_LAUNCH(k, s.n, s, dst, src);
}

template <typename T>
void accumulate_strided_cuda(const StridedCopy& s, T* dst, const T* src) {
  if (s.n == 0) return;
  auto k = copy_strided_kernel<true, T>;
  CONVNET_LAUNCH(k, s.n, s, dst, src);
}

template void copy_strided_cuda<uint8_t>(const StridedCopy&, uint8_t*, const uint8_t*);
template void copy_strided_cuda<uint16_t>(const StridedCopy&, uint16_t*, const uint16_t*);
template void copy_strided_cuda<uint32_t>(const StridedCopy&, uint32_t*, const uint32_t*);
template void copy_strided_cuda<uint64_t>(const StridedCopy&, uint64_t*, const uint64_t*);
template void accumulate_strided_cuda<float>(const StridedCopy&, float*, const float*);
template void accumulate_strided_cuda<double>(const StridedCopy&, double*, const double*);

}  // namespace convnet::cuda
