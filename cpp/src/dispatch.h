// Device dispatch for the ops: the kernel for a tensor's device, the common device
// of an op's inputs.
#pragma once
#include <initializer_list>

#include "convnet/tensor.h"
#include "cpu/kernels.h"
#ifdef CONVNET_WITH_CUDA
#include "cuda/kernels.h"
#endif
#include "cuda/runtime.h"

namespace convnet {

// The kernel `name` for `device`: CONVNET_KERNEL(x.device(), conv2d_forward, <T>) is
// &cpu::conv2d_forward_cpu<T> on the CPU and &cuda::conv2d_forward_cuda<T> on a GPU.
#ifdef CONVNET_WITH_CUDA
#define CONVNET_KERNEL(device, name, ...) \
  ((device).is_cpu() ? &::convnet::cpu::name##_cpu __VA_ARGS__ : &::convnet::cuda::name##_cuda __VA_ARGS__)
#else
#define CONVNET_KERNEL(device, name, ...) (&::convnet::cpu::name##_cpu __VA_ARGS__)
#endif

// The device of the op's defined tensors, which must all be on one device (else a
// ValueError naming the op and both devices); a CUDA device becomes the current one.
Device common_device(const char* op, std::initializer_list<const Tensor*> tensors);

// True when one of the tensors is a non-contiguous view: an op whose kernels read contiguous
// memory then re-enters with contiguous() copies.
inline bool any_strided(std::initializer_list<const Tensor*> tensors) {
  for (const Tensor* t : tensors)
    if (!t->is_contiguous()) return true;
  return false;
}


}  // namespace convnet
