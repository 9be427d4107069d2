// Elementwise kernels: a functor applied over contiguous buffers, with
// broadcasting of the second operand described by strides (0 on broadcast
// dimensions). Templates, instantiated by the ops that use them.
#pragma once
#include <cstdint>
#include <vector>

#include "parallel.h"

namespace convnet::cpu {

// y[i] = f(x[i]) for i in [0, n)
template <typename T, typename U, typename F>
void unary_kernel(int64_t n, const T* x, U* y, F f) {
  parallel_for(n, kGrainSize, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = f(x[i]);
  });
}

// out (shape) = f(a, b); a and b are read through per-dimension strides over
// out's shape (0 where broadcast). Contiguous and scalar cases take flat loops.
template <typename T, typename U, typename F>
void binary_kernel(const std::vector<int64_t>& shape, const T* a, const std::vector<int64_t>& sa,
                   const T* b, const std::vector<int64_t>& sb, U* out, F f) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  if (n == 0) return;
  bool a_flat = true, b_flat = true, a_scalar = true, b_scalar = true;
  for (int64_t d = nd - 1, st = 1; d >= 0; st *= shape[d], --d) {
    if (shape[d] == 1) continue;
    a_flat &= sa[d] == st;
    b_flat &= sb[d] == st;
    a_scalar &= sa[d] == 0;
    b_scalar &= sb[d] == 0;
  }
  if (a_flat && b_flat) {
    parallel_for(n, kGrainSize, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) out[i] = f(a[i], b[i]);
    });
  } else if (a_flat && b_scalar) {
    const T bv = *b;
    parallel_for(n, kGrainSize, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) out[i] = f(a[i], bv);
    });
  } else if (a_scalar && b_flat) {
    const T av = *a;
    parallel_for(n, kGrainSize, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) out[i] = f(av, b[i]);
    });
  } else {
    // Rows of the last dimension; the outer index is decoded once per row.
    const int64_t inner = nd ? shape[nd - 1] : 1;
    const int64_t ia = nd ? sa[nd - 1] : 0, ib = nd ? sb[nd - 1] : 0;
    const int64_t rows = n / inner;
    parallel_for(rows, std::max<int64_t>(1, kGrainSize / inner), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        int64_t oa = 0, ob = 0, rem = r;
        for (int64_t d = nd - 2; d >= 0; --d) {
          int64_t i = rem % shape[d];
          rem /= shape[d];
          oa += i * sa[d];
          ob += i * sb[d];
        }
        const T* pa = a + oa;
        const T* pb = b + ob;
        U* po = out + r * inner;
        for (int64_t j = 0; j < inner; ++j) po[j] = f(pa[j * ia], pb[j * ib]);
      }
    });
  }
}

}  // namespace convnet::cpu
