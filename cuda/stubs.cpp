// A build without CUDA (CONVNET_CUDA=OFF, or AUTO without nvcc and cuBLAS): no
// device is available and every CUDA entry point says so.
#include "convnet/check.h"
#include "convnet/cuda.h"
#include "runtime.h"

namespace convnet::cuda {

namespace {
[[noreturn]] void no_cuda(const char* what) {
  throw Error(cat_str(what, ": convnet was built without CUDA (rebuild with nvcc and cuBLAS present, "
                            "or -DCONVNET_CUDA=ON to require them)"));
}
}  // namespace

bool is_available() { return false; }
int device_count() { return 0; }
int current_device() { no_cuda("cuda.current_device"); }
void set_device(int) { no_cuda("cuda.set_device"); }
std::string get_device_name(int) { no_cuda("cuda.get_device_name"); }
void synchronize(int) { no_cuda("cuda.synchronize"); }
AllocatorStats memory_stats(int) { no_cuda("cuda.memory_allocated"); }
void reset_peak_memory_stats(int) { no_cuda("cuda.reset_peak_memory_stats"); }
void empty_cache() {}

void ensure_device(int) { no_cuda("cuda"); }
void* device_alloc(size_t, int) { no_cuda("tensor: device cuda"); }
void device_free(void*, size_t, int) {}
void* pinned_alloc(size_t) { no_cuda("pin_memory"); }
void pinned_free(void*, size_t) {}
void copy(void*, Device, const void*, Device, size_t, bool, std::shared_ptr<void>) { no_cuda("to"); }
void memset_zero(void*, size_t, int) { no_cuda("cuda"); }
void fill_cuda(DType, int64_t, double, void*) { no_cuda("fill_"); }
void cast_cuda(DType, DType, int64_t, const void*, void*) { no_cuda("to"); }
void add_inplace_cuda(DType, int64_t, void*, const void*) { no_cuda("add_"); }

}  // namespace convnet::cuda
