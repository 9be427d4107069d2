// Devices, streams, cuBLAS handles, the caching device and pinned-host allocators,
// and copies between host and device.
#include <memory>
#include <mutex>
#include <new>
#include <vector>

#include "common.cuh"
#include "convnet/cuda.h"
#include "runtime.h"

namespace convnet::cuda {

void throw_cuda_error(const char* what, const char* expr, const char* file, int line) {
  throw Error(cat_str("CUDA error: ", what, " (", expr, " at ", file, ":", line, ")"));
}

namespace {

// A copy from pinned host memory still in flight, and the owner of its source.
struct PendingCopy {
  cudaEvent_t done;
  std::shared_ptr<void> source;
};

struct DeviceState {
  std::once_flag once;
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
  std::unique_ptr<CachingAllocator> alloc;
  std::mutex pending_mu;
  std::vector<PendingCopy> pending;
};

int count_devices() {
  static const int n = [] {
    int c = 0;
    if (cudaGetDeviceCount(&c) != cudaSuccess) {
      cudaGetLastError();  // no driver or no device: CUDA is not available
      c = 0;
    }
    return c;
  }();
  return n;
}

thread_local int t_current = 0;

void* raw_device_alloc(size_t n) {
  void* p = nullptr;
  if (cudaMalloc(&p, n) != cudaSuccess) {
    cudaGetLastError();
    return nullptr;
  }
  return p;
}

void raw_device_free(void* p) { cudaFree(p); }

void check_index(int index) {
  int n = count_devices();
  if (n == 0) throw Error("cuda: no CUDA device is available (convnet.cuda.is_available() is False)");
  if (index < 0 || index >= n)
    throw ValueError(cat_str("cuda: device index ", index, " is out of range (", n, " device(s))"));
}

DeviceState& state(int index) {
  check_index(index);
  static std::vector<DeviceState>* states = new std::vector<DeviceState>(count_devices());
  DeviceState& s = (*states)[index];
  std::call_once(s.once, [&] {
    CUDA_CHECK(cudaSetDevice(index));
    CUDA_CHECK(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking));
    CUBLAS_CHECK(cublasCreate(&s.blas));
    CUBLAS_CHECK(cublasSetStream(s.blas, s.stream));
    s.alloc = std::make_unique<CachingAllocator>(&raw_device_alloc, &raw_device_free);
    CUDA_CHECK(cudaSetDevice(t_current));
  });
  return s;
}

CachingAllocator& pinned_allocator() {
  static CachingAllocator* a = new CachingAllocator(
      [](size_t n) -> void* {
        void* p = nullptr;
        if (cudaHostAlloc(&p, n, cudaHostAllocDefault) != cudaSuccess) {
          cudaGetLastError();
          return nullptr;
        }
        return p;
      },
      [](void* p) { cudaFreeHost(p); }, /*host=*/true);
  return *a;
}

// Drops the sources of finished asynchronous copies.
void reap_pending(DeviceState& s, bool wait) {
  std::lock_guard<std::mutex> lock(s.pending_mu);
  auto it = s.pending.begin();
  while (it != s.pending.end()) {
    cudaError_t q = wait ? cudaSuccess : cudaEventQuery(it->done);
    if (q == cudaSuccess) {
      cudaEventDestroy(it->done);
      it = s.pending.erase(it);
    } else {
      cudaGetLastError();  // cudaErrorNotReady
      ++it;
    }
  }
}

[[noreturn]] void out_of_memory(size_t nbytes, int index) {
  AllocatorStats st = memory_stats(index);
  throw OutOfMemoryError(cat_str("CUDA out of memory: tried to allocate ", nbytes / 1048576.0, " MiB on cuda:", index,
                      " (", st.allocated_bytes / 1048576.0, " MiB allocated by convnet, ",
                      st.cached_bytes / 1048576.0, " MiB cached)"));
}

}  // namespace

cudaStream_t stream() { return state(t_current).stream; }
cublasHandle_t cublas() { return state(t_current).blas; }

// ---- public API (convnet/cuda.h) ---------------------------------------------------

bool is_available() { return count_devices() > 0; }
int device_count() { return count_devices(); }
int current_device() {
  check_index(t_current);
  return t_current;
}

void set_device(int index) {
  check_index(index);
  ensure_device(index);
}

std::string get_device_name(int index) {
  check_index(index);
  cudaDeviceProp p;
  CUDA_CHECK(cudaGetDeviceProperties(&p, index));
  return p.name;
}

void synchronize(int index) {
  if (index < 0) index = t_current;
  DeviceState& s = state(index);
  CUDA_CHECK(cudaStreamSynchronize(s.stream));
  reap_pending(s, true);
}

AllocatorStats memory_stats(int index) { return state(index).alloc->stats(); }
void reset_peak_memory_stats(int index) { state(index).alloc->reset_peak_stats(); }

void empty_cache() {
  for (int i = 0; i < count_devices(); ++i) {
    synchronize(i);
    state(i).alloc->empty_cache();
  }
  pinned_allocator().empty_cache();
}

// ---- runtime.h ------------------------------------------------------------------

void ensure_device(int index) {
  if (index != t_current) {
    check_index(index);
    CUDA_CHECK(cudaSetDevice(index));
    t_current = index;
  }
}

void* device_alloc(size_t nbytes, int index) {
  DeviceState& s = state(index);
  try {
    return s.alloc->alloc(nbytes);
  } catch (const OutOfMemoryError&) {
    out_of_memory(nbytes, index);
  }
}

// A freed block may be reused at once: all work on the device runs in order on its
// one stream, so later kernels run after the ones that used the block.
void device_free(void* p, size_t nbytes, int index) { state(index).alloc->free(p, nbytes); }

void* pinned_alloc(size_t nbytes) {
  check_index(0);
  try {
    return pinned_allocator().alloc(nbytes);
  } catch (const OutOfMemoryError&) {
    throw OutOfMemoryError(cat_str("pin_memory: could not allocate ", nbytes / 1048576.0, " MiB of page-locked host memory"));
  }
}

void pinned_free(void* p, size_t nbytes) { pinned_allocator().free(p, nbytes); }

void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes, bool non_blocking,
          std::shared_ptr<void> keep_alive) {
  if (nbytes == 0) return;
  const Device& dev = dst_device.is_cpu() ? src_device : dst_device;
  ensure_device(dev.index);
  DeviceState& s = state(dev.index);
  reap_pending(s, false);
  CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDefault, s.stream));
  if (dst_device.is_cpu() || (src_device.is_cpu() && !non_blocking)) {
    CUDA_CHECK(cudaStreamSynchronize(s.stream));
  } else if (src_device.is_cpu()) {
    PendingCopy p{nullptr, std::move(keep_alive)};
    CUDA_CHECK(cudaEventCreateWithFlags(&p.done, cudaEventDisableTiming));
    CUDA_CHECK(cudaEventRecord(p.done, s.stream));
    std::lock_guard<std::mutex> lock(s.pending_mu);
    s.pending.push_back(std::move(p));
  }
}

void memset_zero(void* p, size_t nbytes, int index) {
  ensure_device(index);
  CUDA_CHECK(cudaMemsetAsync(p, 0, nbytes, state(index).stream));
}

}  // namespace convnet::cuda
