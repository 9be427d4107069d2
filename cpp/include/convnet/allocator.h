// Caching allocators: freed blocks are kept and reused, so that a steady-state
// training step takes no memory from the OS or the GPU driver. Sizes are rounded
// to size classes. Small blocks (up to kLargeBlock) live in per-class free lists;
// large ones are carved best-fit out of segments of at least kSegment bytes, and a
// freed large block merges with its free neighbours in the segment, so that the
// activations freed early in backward can hold the larger gradients that come later
// (per-class lists alone would keep both sets of blocks). One instance serves host
// memory, one pinned (page-locked) host memory, and one each CUDA device
// (cuda/runtime.cu).
#pragma once
#include <cstddef>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

namespace convnet {

struct AllocatorStats {
  size_t allocated_bytes;       // in live tensors
  size_t peak_allocated_bytes;  // high-water mark of allocated_bytes
  size_t cached_bytes;          // held in free lists and free parts of segments
};

class CachingAllocator {
 public:
  // raw_alloc returns null when out of memory; then the cache is emptied and the
  // allocation retried once before alloc throws convnet::OutOfMemoryError naming the
  // bytes requested, in use and cached.
  using RawAlloc = void* (*)(size_t nbytes);
  using RawFree = void (*)(void* p);
  // `host`: the blocks are host memory, which an AddressSanitizer build poisons while they are
  // cached and beyond the bytes requested, so that a read or write there is reported as it would
  // be without the cache.
  CachingAllocator(RawAlloc raw_alloc, RawFree raw_free, bool host = false)
      : raw_alloc_(raw_alloc), raw_free_(raw_free), host_(host) {}

  void* alloc(size_t nbytes);
  void free(void* p, size_t nbytes);
  AllocatorStats stats();
  void reset_peak_stats();
  // Returns every cached block to the OS (or the driver).
  void empty_cache();

  static constexpr size_t kLargeBlock = size_t(1) << 20;  // larger blocks come from segments
  static constexpr size_t kSegment = size_t(64) << 20;    // the least a segment takes from raw_alloc

 private:
  struct Block {
    size_t size;
    char* segment;  // the start of the segment the block was carved from
    bool free;
  };
  void* alloc_large(size_t cls, size_t nbytes);
  void* raw_alloc_or_throw(size_t bytes, size_t requested);
  void free_large(void* p);
  void mark_allocated(size_t nbytes);

  RawAlloc raw_alloc_;
  RawFree raw_free_;
  bool host_;
  std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_lists_;  // small blocks by size class
  std::map<char*, Block> blocks_;                  // every large block (free or not), by address
  std::set<std::pair<size_t, char*>> free_large_;  // the free large blocks by (size, address)
  std::map<char*, size_t> segments_;               // segment start -> bytes
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
