// copy: element-by-element copy (or accumulation) between two strided layouts of the
// same sizes: contiguous() of a view, writes through a view, the backward of views.
// s.shape (s.nd), dst and src read through s.sd and s.ss (elements, 0 where src
// broadcasts); make_strided_copy (tensor.cpp) merged the dimensions that are
// contiguous for both and dropped those of size 1.
#include <algorithm>

#include "isa.h"
#include "kernels.h"
#include "parallel.h"

namespace convnet::cpu {

namespace {

// dst[j sd] = src[j ss] (Add: +=) for j in [0, n)
template <bool Add, typename T>
CONVNET_CPU_CLONES void strided_span(int64_t n, T* dst, int64_t sd, const T* src, int64_t ss) {
  if constexpr (Add) {
    for (int64_t j = 0; j < n; ++j) dst[j * sd] += src[j * ss];
  } else {
    for (int64_t j = 0; j < n; ++j) dst[j * sd] = src[j * ss];
  }
}

// The offsets of dst and src at outer index r over the dimensions before `upto`.
inline void outer_offsets(const StridedCopy& s, int upto, int64_t r, int64_t& od, int64_t& os) {
  od = os = 0;
  for (int d = upto - 1; d >= 0; --d) {
    const int64_t i = r % s.shape[d];
    r /= s.shape[d];
    od += i * s.sd[d];
    os += i * s.ss[d];
  }
}

// A transposition in the last two dimensions (dst's last and src's second to last contiguous):
// 32 x 32 tiles, so that both sides read and write whole cache lines.
template <bool Add, typename T>
void transposed_tiles(const StridedCopy& s, T* dst, const T* src) {
  constexpr int64_t B = 32;
  const int nd = s.nd;
  const int64_t R = s.shape[nd - 2], C = s.shape[nd - 1], dR = s.sd[nd - 2], sC = s.ss[nd - 1];
  const int64_t tr = (R + B - 1) / B, tc = (C + B - 1) / B, tiles = tr * tc;
  parallel_for(s.n / (R * C) * tiles, std::max<int64_t>(1, kGrainSize / (B * B)), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      int64_t od, os;
      outer_offsets(s, nd - 2, t / tiles, od, os);
      const int64_t i0 = (t % tiles) / tc * B, j0 = (t % tiles) % tc * B;
      for (int64_t i = i0; i < std::min(R, i0 + B); ++i)
        strided_span<Add>(std::min(C, j0 + B) - j0, dst + od + i * dR + j0, 1, src + os + i + j0 * sC, sC);
    }
  });
}

// Rows of the last dimension, the outer index decoded once per row. dst's elements are
// distinct (no two indices reach one element), so the rows run in parallel.
template <bool Add, typename T>
void strided_rows(const StridedCopy& s, T* dst, const T* src) {
  if (s.n == 0) return;
  const int nd = s.nd;
  if (nd >= 2 && s.sd[nd - 1] == 1 && s.ss[nd - 2] == 1 && s.ss[nd - 1] != 1) return transposed_tiles<Add>(s, dst, src);
  const int64_t inner = nd ? s.shape[nd - 1] : 1, sd = nd ? s.sd[nd - 1] : 0, ss = nd ? s.ss[nd - 1] : 0;
  parallel_for(s.n / inner, std::max<int64_t>(1, kGrainSize / inner), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t od, os;
      outer_offsets(s, nd - 1, r, od, os);
      strided_span<Add>(inner, dst + od, sd, src + os, ss);
    }
  });
}

}  // namespace

template <typename T>
void copy_strided_cpu(const StridedCopy& s, T* dst, const T* src) {
  strided_rows<false>(s, dst, src);
}

template <typename T>
void accumulate_strided_cpu(const StridedCopy& s, T* dst, const T* src) {
  strided_rows<true>(s, dst, src);
}

template void copy_strided_cpu<uint8_t>(const StridedCopy&, uint8_t*, const uint8_t*);
template void copy_strided_cpu<uint16_t>(const StridedCopy&, uint16_t*, const uint16_t*);
template void copy_strided_cpu<uint32_t>(const StridedCopy&, uint32_t*, const uint32_t*);
template void copy_strided_cpu<uint64_t>(const StridedCopy&, uint64_t*, const uint64_t*);
template void accumulate_strided_cpu<float>(const StridedCopy&, float*, const float*);
template void accumulate_strided_cpu<double>(const StridedCopy&, double*, const double*);

}  // namespace convnet::cpu
