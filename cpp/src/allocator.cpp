#include "convnet/allocator.h"

#include <cstdlib>

#include "convnet/check.h"

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

}  // namespace

void* CachingAllocator::alloc(size_t nbytes) {
  size_t cls = size_class(nbytes);
  {
    std::lock_guard<std::mutex> lock(mu_);
    allocated_ += cls;
    if (allocated_ > peak_) peak_ = allocated_;
    auto it = free_lists_.find(cls);
    if (it != free_lists_.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      cached_ -= cls;
      return p;
    }
  }
  void* p = raw_alloc_(cls);
  if (p) return p;
  const size_t cached = stats().cached_bytes;
  empty_cache();
  p = raw_alloc_(cls);
  if (p) return p;
  size_t in_use;
  {
    std::lock_guard<std::mutex> lock(mu_);
    allocated_ -= cls;
    in_use = allocated_;
  }
  auto mib = [](size_t b) { return cat_str(b, " bytes (", b >> 20, " MiB)"); };
  throw OutOfMemoryError(cat_str("out of memory: tried to allocate ", mib(nbytes), "; ", mib(in_use),
                                 " in use by tensors, ", mib(cached),
                                 " were cached and have been returned to the system before a retry"));
}

void CachingAllocator::free(void* p, size_t nbytes) {
  if (!p) return;
  size_t cls = size_class(nbytes);
  std::lock_guard<std::mutex> lock(mu_);
  allocated_ -= cls;
  cached_ += cls;
  free_lists_[cls].push_back(p);
}

AllocatorStats CachingAllocator::stats() {
  std::lock_guard<std::mutex> lock(mu_);
  return {allocated_, peak_, cached_};
}

void CachingAllocator::reset_peak_stats() {
  std::lock_guard<std::mutex> lock(mu_);
  peak_ = allocated_;
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [cls, list] : free_lists_)
    for (void* p : list) raw_free_(p);
  free_lists_.clear();
  cached_ = 0;
}

CachingAllocator& cpu_allocator() {
  // never destroyed: tensors may outlive static destruction
  static CachingAllocator* a = new CachingAllocator([](size_t n) { return std::aligned_alloc(kAlign, n); },
                                                    [](void* p) { std::free(p); });
  return *a;
}

}  // namespace convnet
