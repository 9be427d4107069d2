// Scratch memory for a launcher: n elements of T on the current device, from its caching
// allocator (null for n = 0), returned when the buffer goes out of scope. Returning it right after the
// launches that use it is safe: all work on a device runs in order on its one stream,
// so a later user of the block runs after them.
#pragma once
#include <cstddef>
#include <cstdint>

#include "common.cuh"
#include "runtime.h"

namespace convnet::cuda {

template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(int64_t n) : bytes_(static_cast<size_t>(n) * sizeof(T)) {
    if (bytes_ == 0) return;
    CUDA_CHECK(cudaGetDevice(&device_));
    data_ = static_cast<T*>(device_alloc(bytes_, device_));
  }
  ~DeviceBuffer() {
    if (data_) device_free(data_, bytes_, device_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* get() const { return data_; }

 private:
  size_t bytes_;
  int device_ = 0;
  T* data_ = nullptr;
};

}  // namespace convnet::cuda
