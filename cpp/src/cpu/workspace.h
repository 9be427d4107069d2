// Scratch buffers of the CPU kernels, from the caching host allocator: emptying
// the cache frees them, and a steady-state training step takes nothing from the OS.
#pragma once
#include <algorithm>
#include <cstdint>

#include "convnet/allocator.h"

namespace convnet::cpu {

// n elements of T (uninitialised), returned to the cache when it goes out of scope.
template <typename T>
class Workspace {
 public:
  explicit Workspace(int64_t n)
      : n_(n), p_(n > 0 ? static_cast<T*>(cpu_alloc(static_cast<size_t>(n) * sizeof(T))) : nullptr) {}
  // n elements, each `value`.
  Workspace(int64_t n, T value) : Workspace(n) { std::fill_n(p_, n > 0 ? n : 0, value); }
  ~Workspace() {
    if (p_) cpu_free(p_, static_cast<size_t>(n_) * sizeof(T));
  }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  T* data() const { return p_; }

 private:
  int64_t n_;
  T* p_;
};

}  // namespace convnet::cpu
