// Elementwise kernels (declared in kernels.h): a functor of pointwise.h applied over
// contiguous buffers, with broadcasting described by a Broadcast. Templates, instantiated
// by the ops that use them. The loops run in the span functions, CONVNET_CPU_CLONES-marked
// (cpu/isa.h), called from each thread's chunk.
#pragma once
#include <algorithm>
#include <cstdint>

#include "isa.h"
#include "kernels.h"
#include "parallel.h"

namespace convnet::cpu {

// x, y (n): y[i] = f(x[i])
template <typename T, typename U, typename F>
CONVNET_CPU_CLONES void unary_span(int64_t n, const T* x, U* y, F f) {
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

// a, b with strides ia, ib (1, or 0 for a broadcast scalar), out (n): out[j] = f(a[j ia], b[j ib])
template <typename T, typename U, typename F>
CONVNET_CPU_CLONES void binary_span(int64_t n, const T* a, int64_t ia, const T* b, int64_t ib, U* out, F f) {
  for (int64_t j = 0; j < n; ++j) out[j] = f(a[j * ia], b[j * ib]);
}

template <typename T, typename U, typename F>
void unary_cpu(int64_t n, const T* x, U* y, F f) {
  parallel_for(n, kGrainSize, [&](int64_t b, int64_t e) { unary_span(e - b, x + b, y + b, f); });
}

// One dimension (plain, or one operand a scalar) takes a flat loop; more go by rows of
// the last dimension, the outer index decoded once per row.
template <typename T, typename U, typename F>
void binary_cpu(const Broadcast& s, const T* a, const T* b, U* out, F f) {
  const int64_t n = s.n;
  if (n == 0) return;
  if (s.nd <= 1) {
    const int64_t ia = s.nd ? s.sa[0] : 0, ib = s.nd ? s.sb[0] : 0;
    parallel_for(n, kGrainSize, [&](int64_t lo, int64_t hi) {
      binary_span(hi - lo, a + lo * ia, ia, b + lo * ib, ib, out + lo, f);
    });
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
      binary_span(inner, a + oa, ia, b + ob, ib, out + r * inner, f);
    }
  });
}

}  // namespace convnet::cpu
