// Device memory and copies for the tensor layer (plain C++: included by
// cpp/src). Implemented by runtime.cu, or by stubs.cpp in a build without CUDA,
// where every function throws "convnet was built without CUDA".
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "convnet/device.h"

namespace convnet::cuda {

// Makes `index` the calling thread's current device (kernels launch there).
void ensure_device(int index);
// From the device's caching allocator; throws convnet::Error when out of memory.
void* device_alloc(size_t nbytes, int index);
void device_free(void* p, size_t nbytes, int index);
// Page-locked host memory (for asynchronous host-to-device copies).
void* pinned_alloc(size_t nbytes);
void pinned_free(void* p, size_t nbytes);
// Copies nbytes between host and device memory, or within or between devices, in
// order on the device's stream. A copy that involves the host returns when it is
// done, unless non_blocking asks a host-to-device copy to return at once: then
// `keep_alive` (the source's owner) is held until the copy has finished.
void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes,
          bool non_blocking = false, std::shared_ptr<void> keep_alive = nullptr);
void memset_zero(void* p, size_t nbytes, int index);

// Whole-tensor kernels of the tensor layer (tensor.cu), on the current device:
// p (n) of dtype set to value;
void fill_cuda(DType dtype, int64_t n, double value, void* p);
// y (n) of dtype dst = x (n) of dtype src converted (as static_cast);
void cast_cuda(DType src, DType dst, int64_t n, const void* x, void* y);
// dst (n) += src (n), floating dtype.
void add_inplace_cuda(DType dtype, int64_t n, void* dst, const void* src);

}  // namespace convnet::cuda
