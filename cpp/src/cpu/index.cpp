// index: gathers and scatters along one dimension, and the elementwise select of `where`.
// A tensor is viewed as (N, M, K): N the product of the dimensions before the indexed one,
// M its size, K the product of the ones after. Positions (N, n, K) take their index along M
// from index[o is0 + j is1 + i is2] (index_select: strides (0, 1, 0) over n indices; gather
// and scatter: (n K, K, 1) over an index tensor of the positions' shape). The op checked every
// index against M. Scatters run one (o, i) column per task with j in order, so they are
// deterministic and duplicates accumulate in index order (assignment: the last one wins).
#include "isa.h"
#include "kernels.h"
#include "parallel.h"

namespace convnet::cpu {

template <typename T>
void index_gather_cpu(const IndexShape& s, const int64_t* index, const T* x, T* y) {
  const int64_t rows = s.N * s.n;
  parallel_for(rows, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(s.K, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t o = r / s.n, j = r % s.n;
      const int64_t* ix = index + o * s.is0 + j * s.is1;
      const T* xo = x + o * s.M * s.K;
      T* yr = y + r * s.K;
      for (int64_t i = 0; i < s.K; ++i) yr[i] = xo[ix[i * s.is2] * s.K + i];
    }
  });
}

template <typename T>
void index_scatter_cpu(const IndexShape& s, const int64_t* index, const T* src, T* y, bool accumulate) {
  parallel_for(s.N * s.K, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(s.n, 1)), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t o = c / s.K, i = c % s.K;
      T* yo = y + o * s.M * s.K + i;
      const int64_t* ix = index + o * s.is0 + i * s.is2;
      const T* so = src + o * s.n * s.K + i;
      for (int64_t j = 0; j < s.n; ++j) {
        T& dst = yo[ix[j * s.is1] * s.K];
        if (accumulate)
          dst += so[j * s.K];
        else
          dst = so[j * s.K];
      }
    }
  });
}

template <typename T>
void where_cpu(int64_t n, const bool* cond, const T* a, const T* b, T* y) {
  parallel_for(n, kGrainSize, [&](int64_t lo, int64_t hi) {
    for (int64_t k = lo; k < hi; ++k) y[k] = cond[k] ? a[k] : b[k];
  });
}

#define CONVNET_INDEX_TYPES(T)                                                                 \
  template void index_gather_cpu<T>(const IndexShape&, const int64_t*, const T*, T*);         \
  template void index_scatter_cpu<T>(const IndexShape&, const int64_t*, const T*, T*, bool); \
  template void where_cpu<T>(int64_t, const bool*, const T*, const T*, T*);
CONVNET_INDEX_TYPES(uint8_t)
CONVNET_INDEX_TYPES(uint16_t)
CONVNET_INDEX_TYPES(uint32_t)
CONVNET_INDEX_TYPES(uint64_t)
CONVNET_INDEX_TYPES(float)
CONVNET_INDEX_TYPES(double)
#undef CONVNET_INDEX_TYPES

}  // namespace convnet::cpu
