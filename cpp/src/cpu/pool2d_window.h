// Window rules of 2-D pooling along one axis, shared by the CPU kernels (cpu/pool2d.cpp)
// and the CUDA kernels (cuda/pool2d.cu): in input size, out output size, k window taps,
// tap t of output o reading input o*stride - pad + t*dil. Plain integer arithmetic, so
// that both devices pick the same windows, maxima and divisors.
#pragma once
#include <cstdint>
#include <limits>

#include "convnet/half.h"

namespace convnet::cpu {

// Output o's window: input index of tap 0, the taps [lo, hi) that land inside the
// input, and the taps inside the padded input (the caller's ceil_mode may let the last
// window run past it).
struct PoolWindow {
  int64_t start, lo, hi, padded;
};

// Taps t < k with start + t*dil < end.
CONVNET_HD inline int64_t pool_taps_below(int64_t start, int64_t end, int64_t k, int64_t dil) {
  if (end <= start) return 0;
  const int64_t n = (end - start + dil - 1) / dil;
  return n < k ? n : k;
}

CONVNET_HD inline PoolWindow pool_window(int64_t o, int64_t in, int64_t k, int64_t stride, int64_t pad,
                                         int64_t dil) {
  PoolWindow w;
  w.start = o * stride - pad;
  const int64_t skip = (-w.start + dil - 1) / dil;  // taps before the input, when start < 0
  w.lo = w.start >= 0 ? 0 : (skip < k ? skip : k);
  const int64_t below = pool_taps_below(w.start, in, k, dil);
  w.hi = below > w.lo ? below : w.lo;
  w.padded = pool_taps_below(w.start, in + pad, k, dil);
  return w;
}

// The outputs [*o0, *o1) whose windows hold input i as a tap (of out outputs);
// input i is tap (i + pad - o*stride) / dil of output o when that divides evenly.
CONVNET_HD inline void pool_outputs_of(int64_t i, int64_t out, int64_t k, int64_t stride, int64_t pad,
                                       int64_t dil, int64_t* o0, int64_t* o1) {
  const int64_t first = i + pad - dil * (k - 1);  // o*stride >= first
  *o0 = first <= 0 ? 0 : (first + stride - 1) / stride;
  const int64_t last = (i + pad) / stride + 1;
  *o1 = last < out ? last : out;
}

// Divisor of an average-pool output with windows a (rows) and b (columns), as
// PyTorch: with count_include_pad the window clipped to the padded input, without it
// the window clipped to the input. 0 for a window wholly in the padding.
CONVNET_HD inline int64_t avg_pool_divisor(const PoolWindow& a, const PoolWindow& b, bool count_include_pad) {
  return count_include_pad ? a.padded * b.padded : (a.hi - a.lo) * (b.hi - b.lo);
}

// Adaptive pooling: output o covers inputs [floor(o*in/out), ceil((o+1)*in/out)), a
// window of consecutive taps that all land inside the input.
CONVNET_HD inline PoolWindow adaptive_window(int64_t o, int64_t in, int64_t out) {
  const int64_t begin = o * in / out, end = ((o + 1) * in + out - 1) / out;
  return PoolWindow{begin, 0, end - begin, end - begin};
}
// The outputs [*o0, *o1) whose adaptive windows hold input i.
CONVNET_HD inline void adaptive_outputs_of(int64_t i, int64_t in, int64_t out, int64_t* o0, int64_t* o1) {
  *o0 = i * out / in;
  *o1 = ((i + 1) * out + in - 1) / in;
}

// The maximum of plane xp (rows of W) over windows a (rows) and b (columns) and, in
// *idx where idx is not null, its flat index in the plane. PyTorch's rule: start at -inf
// with the first tap inside the input, take a strictly larger value or a NaN; a window
// with no tap inside the input gives -inf and index -1.
template <typename T>
CONVNET_HD inline T max_pool_cell(const T* xp, int64_t W, const PoolWindow& a, const PoolWindow& b,
                                  int64_t dil_h, int64_t dil_w, int64_t* idx) {
  T best = -std::numeric_limits<T>::infinity();
  int64_t at = a.lo < a.hi && b.lo < b.hi ? (a.start + a.lo * dil_h) * W + b.start + b.lo * dil_w : -1;
  for (int64_t r = a.lo; r < a.hi; ++r) {
    const int64_t row = (a.start + r * dil_h) * W + b.start;
    for (int64_t t = b.lo; t < b.hi; ++t) {
      const int64_t j = row + t * dil_w;
      const T v = xp[j];
      if (v > best || v != v) {
        best = v;
        at = j;
      }
    }
  }
  if (idx) *idx = at;
  return best;
}

// The sum of plane xp (rows of W) over the taps of windows a and b inside the input.
template <typename T>
CONVNET_HD inline T avg_pool_sum(const T* xp, int64_t W, const PoolWindow& a, const PoolWindow& b,
                                 int64_t dil_h, int64_t dil_w) {
  T sum = 0;
  for (int64_t r = a.lo; r < a.hi; ++r) {
    const T* row = xp + (a.start + r * dil_h) * W + b.start;
    for (int64_t t = b.lo; t < b.hi; ++t) sum += row[t * dil_w];
  }
  return sum;
}

}  // namespace convnet::cpu
