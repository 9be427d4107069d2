// CPU embedding kernels. V rows of the table (num_embeddings), D columns (embedding_dim),
// n looked-up indices: weight (V,D), idx (n), y (n,D).
// Forward copies rows; backward adds each dy row into its index's row of dweight. Backward
// runs parallel over column blocks, every thread walking the indices in order, so each
// sum has one order whatever the thread count. Backward overwrites dweight; autograd
// accumulates (+=) the returned gradient into .grad.
#include <algorithm>
#include <cstring>

#include "isa.h"
#include "kernels.h"
#include "parallel.h"

namespace convnet::cpu {

namespace {

// dst (d) += src (d)
template <typename T>
CONVNET_CPU_CLONES void add_row(int64_t d, const T* src, T* dst) {
  for (int64_t j = 0; j < d; ++j) dst[j] += src[j];
}

}  // namespace

// weight (V,D), idx (n) with entries in [0, V), y (n,D) overwritten
template <typename T>
void embedding_forward_cpu(int64_t V, int64_t D, int64_t n, const T* weight, const int64_t* idx, T* y) {
  (void)V;
  parallel_for(n, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, D)), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) std::memcpy(y + i * D, weight + idx[i] * D, D * sizeof(T));
  });
}

// dy (n,D), idx (n), dweight (V,D) overwritten; the row padding_idx (or none when negative)
// gets no gradient.
template <typename T>
void embedding_backward_cpu(int64_t V, int64_t D, int64_t n, int64_t padding_idx, const T* dy,
                            const int64_t* idx, T* dweight) {
  constexpr int64_t kBlock = 64;  // columns per task
  const int64_t blocks = (D + kBlock - 1) / kBlock;
  std::fill(dweight, dweight + V * D, T(0));
  parallel_for(blocks, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, n * kBlock)),
               [&](int64_t b0, int64_t b1) {
                 const int64_t j0 = b0 * kBlock, j1 = std::min(D, b1 * kBlock);
                 for (int64_t i = 0; i < n; ++i)
                   if (idx[i] != padding_idx) add_row(j1 - j0, dy + i * D + j0, dweight + idx[i] * D + j0);
               });
}

#define CONVNET_INSTANTIATE(T)                                                                          \
  template void embedding_forward_cpu<T>(int64_t, int64_t, int64_t, const T*, const int64_t*, T*);      \
  template void embedding_backward_cpu<T>(int64_t, int64_t, int64_t, int64_t, const T*, const int64_t*, \
                                          T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cpu
