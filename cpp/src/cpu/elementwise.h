// Elementwise kernels (declared in kernels.h): a functor of pointwise.h applied over
// contiguous buffers, with broadcasting described by a Broadcast. Templates, instantiated
// by the ops that use them.
#pragma once
#include <algorithm>
#include <cstdint>

#include "kernels.h"
#include "parallel.h"

namespace convnet::cpu {

template <typename T, typename U, typename F>
void unary_cpu(int64_t n, const T* x, U* y, F f) {
  parallel_for(n, kGrainSize, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = f(x[i]);
  });
}

// One dimension (plain, or one operand a scalar) takes a flat loop; more go by rows of
// the last dimension, the outer index decoded once per row.
template <typename T, typename U, typename F>
void binary_cpu(const Broadcast& s, const T* a, const T* b, U* out, F f) {
  const int64_t n = s.n;
  if (n == 0) return;
  if (s.nd <= 1) {
    const int64_t ia = s.nd ? s.sa[0] : 0, ib = s.nd ? s.sb[0] : 0;
    if (ia == 1 && ib == 1) {
      parallel_for(n, kGrainSize, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) out[i] = f(a[i], b[i]);
      });
    } else if (ia == 1) {
      const T bv = *b;
      parallel_for(n, kGrainSize, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) out[i] = f(a[i], bv);
      });
    } else if (ib == 1) {
      const T av = *a;
      parallel_for(n, kGrainSize, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) out[i] = f(av, b[i]);
      });
    } else {
      out[0] = f(*a, *b);
    }
    return;
  }
  const int nd = s.nd;
  const int64_t inner = s.shape[nd - 1], ia = s.sa[nd - 1], ib = s.sb[nd - 1];
  const int64_t rows = n / inner;
  parallel_for(rows, std::max<int64_t>(1, kGrainSize / inner), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t oa = 0, ob = 0, rem = r;
      for (int d = nd - 2; d >= 0; --d) {
        const int64_t i = rem % s.shape[d];
        rem /= s.shape[d];
        oa += i * s.sa[d];
        ob += i * s.sb[d];
      }
      const T* pa = a + oa;
      const T* pb = b + ob;
      U* po = out + r * inner;
      for (int64_t j = 0; j < inner; ++j) po[j] = f(pa[j * ia], pb[j * ib]);
    }
  });
}

}  // namespace convnet::cpu
