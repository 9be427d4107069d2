// The CPU caching allocator: freed blocks are kept in per-size free lists
// (64-byte aligned, sizes rounded to size classes) and reused, so that a
// steady-state training step takes no memory from the OS.
#pragma once
#include <cstddef>

namespace convnet {

struct AllocatorStats {
  size_t allocated_bytes;       // in live tensors
  size_t peak_allocated_bytes;  // high-water mark of allocated_bytes
  size_t cached_bytes;          // held in free lists
};

void* cpu_alloc(size_t nbytes);
void cpu_free(void* p, size_t nbytes);
AllocatorStats cpu_allocator_stats();
void cpu_reset_peak_stats();
// Returns every cached block to the OS.
void cpu_empty_cache();

}  // namespace convnet
