// Caching allocators: freed blocks are kept in per-size free lists (sizes rounded
// to size classes) and reused, so that a steady-state training step takes no
// memory from the OS or the GPU driver. One instance serves host memory, one
// pinned (page-locked) host memory, and one each CUDA device (cuda/runtime.cu).
#pragma once
#include <cstddef>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace convnet {

struct AllocatorStats {
  size_t allocated_bytes;       // in live tensors
  size_t peak_allocated_bytes;  // high-water mark of allocated_bytes
  size_t cached_bytes;          // held in free lists
};

class CachingAllocator {
 public:
  // raw_alloc returns null when out of memory; then the cache is emptied and the
  // allocation retried once before alloc throws convnet::OutOfMemoryError naming the
  // bytes requested, in use and cached.
  using RawAlloc = void* (*)(size_t nbytes);
  using RawFree = void (*)(void* p);
  CachingAllocator(RawAlloc raw_alloc, RawFree raw_free) : raw_alloc_(raw_alloc), raw_free_(raw_free) {}

  void* alloc(size_t nbytes);
  void free(void* p, size_t nbytes);
  AllocatorStats stats();
  void reset_peak_stats();
  // Returns every cached block to the OS (or the driver).
  void empty_cache();

 private:
  RawAlloc raw_alloc_;
  RawFree raw_free_;
  std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_lists_;
  size_t allocated_ = 0, peak_ = 0, cached_ = 0;
};

// The host allocator (64-byte aligned blocks).
CachingAllocator& cpu_allocator();
inline void* cpu_alloc(size_t nbytes) { return cpu_allocator().alloc(nbytes); }
inline void cpu_free(void* p, size_t nbytes) { cpu_allocator().free(p, nbytes); }
inline AllocatorStats cpu_allocator_stats() { return cpu_allocator().stats(); }
inline void cpu_reset_peak_stats() { cpu_allocator().reset_peak_stats(); }
inline void cpu_empty_cache() { cpu_allocator().empty_cache(); }

}  // namespace convnet
