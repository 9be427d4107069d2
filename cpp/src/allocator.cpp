#include "convnet/allocator.h"

#include <cstdlib>
#include <iterator>

#include "convnet/check.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

namespace convnet {

namespace {

constexpr size_t kAlign = 64;

// Size classes: multiples of 64 bytes up to 4 KiB, then 8 steps per power of two.
size_t size_class(size_t n) {
  if (n == 0) n = 1;
  if (n <= 4096) return (n + kAlign - 1) / kAlign * kAlign;
  size_t p = 4096;
  while (p * 2 < n) p *= 2;
  size_t step = p / 8;
  return (n + step - 1) / step * step;
}

// AddressSanitizer builds: bytes [p, p + n) of a host block made unreadable (poisoned) or
// readable again; a no-op otherwise.
void set_poisoned(bool host, void* p, size_t n, bool poisoned) {
#if defined(__SANITIZE_ADDRESS__)
  if (host && n && poisoned) ASAN_POISON_MEMORY_REGION(p, n);
  if (host && n && !poisoned) ASAN_UNPOISON_MEMORY_REGION(p, n);
#else
  (void)host, (void)p, (void)n, (void)poisoned;
#endif
}

// A block of `size` bytes handed out for `nbytes`: the bytes beyond them poisoned.
void* hand_out(bool host, void* p, size_t nbytes, size_t size) {
  set_poisoned(host, p, nbytes, false);
  set_poisoned(host, static_cast<char*>(p) + nbytes, size - nbytes, true);
  return p;
}

}  // namespace

void CachingAllocator::mark_allocated(size_t nbytes) {
  allocated_ += nbytes;
  if (allocated_ > peak_) peak_ = allocated_;
}

void* CachingAllocator::alloc(size_t nbytes) {
  size_t cls = size_class(nbytes);
  if (cls > kLargeBlock) return alloc_large(cls, nbytes);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = free_lists_.find(cls);
    if (it != free_lists_.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      cached_ -= cls;
      mark_allocated(cls);
      return hand_out(host_, p, nbytes, cls);
    }
  }
  void* p = raw_alloc_or_throw(cls, nbytes);
  std::lock_guard<std::mutex> lock(mu_);
  mark_allocated(cls);
  return hand_out(host_, p, nbytes, cls);
}

// raw_alloc_(bytes), or after a failure the cache emptied and one retry; then
// OutOfMemoryError naming `requested` (the caller's size), the bytes in use and cached.
void* CachingAllocator::raw_alloc_or_throw(size_t bytes, size_t requested) {
  void* p = raw_alloc_(bytes);
  if (p) return p;
  const size_t cached = stats().cached_bytes;
  empty_cache();
  p = raw_alloc_(bytes);
  if (p) return p;
  const size_t in_use = stats().allocated_bytes;
  auto mib = [](size_t b) { return cat_str(b, " bytes (", b >> 20, " MiB)"); };
  throw OutOfMemoryError(cat_str("out of memory: tried to allocate ", mib(requested), "; ", mib(in_use),
                                 " in use by tensors, ", mib(cached),
                                 " were cached and have been returned to the system before a retry"));
}

// The smallest free block of at least `cls` bytes, split when the rest is itself a large
// block; else a new segment of max(cls, kSegment) bytes, whose rest stays free.
void* CachingAllocator::alloc_large(size_t cls, size_t nbytes) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = free_large_.lower_bound({cls, nullptr});
    if (it != free_large_.end()) {
      char* p = it->second;
      free_large_.erase(it);
      Block& b = blocks_.at(p);
      if (b.size - cls > kLargeBlock) {
        blocks_[p + cls] = {b.size - cls, b.segment, true};
        free_large_.insert({b.size - cls, p + cls});
        b.size = cls;
      }
      b.free = false;
      cached_ -= b.size;
      mark_allocated(b.size);
      return hand_out(host_, p, nbytes, b.size);
    }
  }
  size_t bytes = cls > kSegment ? cls : kSegment;
  void* raw = bytes > cls ? raw_alloc_(bytes) : nullptr;
  if (!raw) raw = raw_alloc_or_throw(bytes = cls, cls);  // no room for a whole segment: just the block
  char* p = static_cast<char*>(raw);
  std::lock_guard<std::mutex> lock(mu_);
  segments_[p] = bytes;
  blocks_[p] = {cls, p, false};
  if (bytes > cls) {
    blocks_[p + cls] = {bytes - cls, p, true};
    free_large_.insert({bytes - cls, p + cls});
    cached_ += bytes - cls;
    set_poisoned(host_, p + cls, bytes - cls, true);
  }
  mark_allocated(cls);
  return hand_out(host_, p, nbytes, cls);
}

void CachingAllocator::free(void* p, size_t nbytes) {
  if (!p) return;
  size_t cls = size_class(nbytes);
  if (cls > kLargeBlock) return free_large(p);
  set_poisoned(host_, p, cls, true);
  std::lock_guard<std::mutex> lock(mu_);
  allocated_ -= cls;
  cached_ += cls;
  free_lists_[cls].push_back(p);
}

// Merges the block with its free neighbours in the same segment.
void CachingAllocator::free_large(void* ptr) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = blocks_.find(static_cast<char*>(ptr));
  Block& b = it->second;
  set_poisoned(host_, ptr, b.size, true);
  allocated_ -= b.size;
  cached_ += b.size;
  b.free = true;
  auto next = std::next(it);
  if (next != blocks_.end() && next->second.free && next->second.segment == b.segment) {
    free_large_.erase({next->second.size, next->first});
    b.size += next->second.size;
    blocks_.erase(next);
  }
  if (it != blocks_.begin()) {
    auto prev = std::prev(it);
    if (prev->second.free && prev->second.segment == b.segment) {
      free_large_.erase({prev->second.size, prev->first});
      prev->second.size += b.size;
      blocks_.erase(it);
      it = prev;
    }
  }
  free_large_.insert({it->second.size, it->first});
}

AllocatorStats CachingAllocator::stats() {
  std::lock_guard<std::mutex> lock(mu_);
  return {allocated_, peak_, cached_};
}

void CachingAllocator::reset_peak_stats() {
  std::lock_guard<std::mutex> lock(mu_);
  peak_ = allocated_;
}

// Returns the small free blocks and the wholly free segments.
void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [cls, list] : free_lists_)
    for (void* p : list) {
      set_poisoned(host_, p, cls, false);
      raw_free_(p);
      cached_ -= cls;
    }
  free_lists_.clear();
  for (auto it = segments_.begin(); it != segments_.end();) {
    auto b = blocks_.find(it->first);
    if (b->second.free && b->second.size == it->second) {
      free_large_.erase({b->second.size, b->first});
      cached_ -= b->second.size;
      blocks_.erase(b);
      set_poisoned(host_, it->first, it->second, false);
      raw_free_(it->first);
      it = segments_.erase(it);
    } else {
      ++it;
    }
  }
}

CachingAllocator& cpu_allocator() {
  // never destroyed: tensors may outlive static destruction
  static CachingAllocator* a = new CachingAllocator([](size_t n) { return std::aligned_alloc(kAlign, n); },
                                                    [](void* p) { std::free(p); }, /*host=*/true);
  return *a;
}

}  // namespace convnet
