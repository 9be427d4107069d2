// Fill, dtype conversion (any two dtypes, 16-bit ones included) and in-place addition of
// whole tensors.
#include <type_traits>

#include "common.cuh"
#include "convnet/tensor.h"
#include "runtime.h"

namespace convnet::cuda {

namespace {

template <typename T>
__global__ void fill_kernel(int64_t n, T value, T* p) {
  CUDA_KERNEL_LOOP(i, n) p[i] = value;
}

template <typename S, typename D>
__global__ void cast_kernel(int64_t n, const S* x, D* y) {
  CUDA_KERNEL_LOOP(i, n) y[i] = convert<D>(x[i]);
}

template <typename T>
__global__ void add_inplace_kernel(int64_t n, T* dst, const T* src) {
  CUDA_KERNEL_LOOP(i, n) dst[i] += src[i];
}

}  // namespace

void fill_cuda(DType dtype, int64_t n, double value, void* p) {
  if (n == 0) return;
  dispatch_storage(dtype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    auto k = fill_kernel<T>;
    CONVNET_LAUNCH(k, n, n, convert<T>(value), static_cast<T*>(p));
  });
}

void cast_cuda(DType src, DType dst, int64_t n, const void* x, void* y) {
  if (n == 0) return;
  dispatch_storage(src, [&](auto* src_tag) {
    using S = std::remove_pointer_t<decltype(src_tag)>;
    dispatch_storage(dst, [&](auto* dst_tag) {
      using D = std::remove_pointer_t<decltype(dst_tag)>;
      auto k = cast_kernel<S, D>;
      CONVNET_LAUNCH(k, n, n, static_cast<const S*>(x), static_cast<D*>(y));
    });
  });
}

void add_inplace_cuda(DType dtype, int64_t n, void* dst, const void* src) {
  if (n == 0) return;
  dispatch_floating(dtype, "add_", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    auto k = add_inplace_kernel<T>;
    CONVNET_LAUNCH(k, n, n, static_cast<T*>(dst), static_cast<const T*>(src));
  });
}

}  // namespace convnet::cuda
