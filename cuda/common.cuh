// What every CUDA source includes: the runtime and cuBLAS (or their host emulation,
// emulation.h), error checks, launch geometry and the grid-stride loop.
#pragma once
#ifdef CONVNET_CUDA_EMULATE
#include "emulation.h"
#else
#include <cublas_v2.h>
#include <cuda_runtime.h>
#endif

#include <algorithm>
#include <cstdint>

#include "convnet/check.h"
#include "convnet/cuda.h"
#include "convnet/half.h"
#include "runtime.h"

namespace convnet::cuda {

// Threads per block of the elementwise kernels.
constexpr int kBlock = 256;
// Most blocks a launch uses; grid-stride loops cover the rest.
constexpr int64_t kMaxBlocks = 65536;

#define CEIL_DIV(a, b) (((a) + (b) - 1) / (b))

[[noreturn]] void throw_cuda_error(const char* what, const char* expr, const char* file, int line);

#define CUDA_CHECK(expr)                                                                           \
  do {                                                                                             \
    cudaError_t convnet_err_ = (expr);                                                             \
    if (convnet_err_ != cudaSuccess)                                                               \
      ::convnet::cuda::throw_cuda_error(cudaGetErrorString(convnet_err_), #expr, __FILE__, __LINE__); \
  } while (0)

#define CUBLAS_CHECK(expr)                                                                         \
  do {                                                                                             \
    cublasStatus_t convnet_st_ = (expr);                                                           \
    if (convnet_st_ != CUBLAS_STATUS_SUCCESS)                                                      \
      ::convnet::cuda::throw_cuda_error(cublasGetStatusString(convnet_st_), #expr, __FILE__, __LINE__); \
  } while (0)

// The current device's stream, on which all of convnet's work for it runs.
cudaStream_t stream();
// The current device's cuBLAS handle, bound to stream().
cublasHandle_t cublas();

// Blocks for n threads of kBlock each, at most kMaxBlocks.
inline unsigned grid_for(int64_t n) {
  return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(CEIL_DIV(n, kBlock), kMaxBlocks)));
}

// Launches `kernel` (a __global__ function or a pointer to one) with enough kBlock-thread
// blocks for n grid-stride iterations on the current stream, and checks the launch.
#ifdef CONVNET_CUDA_EMULATE
#define CONVNET_LAUNCH(kernel, n, ...)                                                          \
  ::convnet::cuda::emu::launch(dim3(::convnet::cuda::grid_for(n)), dim3(::convnet::cuda::kBlock), \
                               [&] { kernel(__VA_ARGS__); })
#else
#define CONVNET_LAUNCH(kernel, n, ...)                                                                  \
  do {                                                                                                  \
    kernel<<<::convnet::cuda::grid_for(n), ::convnet::cuda::kBlock, 0, ::convnet::cuda::stream()>>>(__VA_ARGS__); \
    CUDA_CHECK(cudaGetLastError());                                                                     \
  } while (0)
#endif

// for (i in [0, n)) spread over the grid's threads.
#define CUDA_KERNEL_LOOP(i, n)                                                           \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)

// Device memory for the duration of a kernel launcher (null when nbytes is 0), from the
// current device's caching allocator and returned there at scope exit: work queued later on the
// stream may reuse the block, and runs after the kernels that use this one.
class Workspace {
 public:
  explicit Workspace(size_t nbytes)
      : nbytes_(nbytes), device_(current_device()), p_(nbytes ? device_alloc(nbytes, device_) : nullptr) {}
  ~Workspace() {
    if (p_) device_free(p_, nbytes_, device_);
  }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  template <typename T>
  T* as() const {
    return static_cast<T*>(p_);
  }

 private:
  size_t nbytes_;
  int device_;
  void* p_;
};

// A Workspace of n elements of T.
template <typename T>
class DeviceBuffer : public Workspace {
 public:
  explicit DeviceBuffer(int64_t n) : Workspace(static_cast<size_t>(n) * sizeof(T)) {}
  T* get() const { return as<T>(); }
};

}  // namespace convnet::cuda
