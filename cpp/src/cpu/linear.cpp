// CPU matrix-product kernels: linear layers and (batched) matmul on the GEMM
// of blas.h. linear: M rows of x, in_f in features, out_f out features;
// bmm: B batch, a (B,n,k) @ b (B,k,m) -> c (B,n,m). Kernels overwrite their
// outputs; autograd accumulates (+=) the returned gradients into .grad.
#include "blas.h"
#include "kernels.h"
#include "parallel.h"

namespace convnet::cpu {

// x (M,in_f), w (out_f,in_f), b (out_f) or null, y (M,out_f)
template <typename T>
void linear_forward_cpu(int64_t M, int64_t in_f, int64_t out_f, const T* x, const T* w,
                        const T* b, T* y) {
  T beta = T(0);
  if (b) {
    // the bias is the GEMM's initial C
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < out_f; ++j) y[i * out_f + j] = b[j];
    beta = T(1);
  }
  gemm_parallel<T>(false, true, M, out_f, in_f, T(1), x, in_f, w, in_f, beta, y, out_f);
}

// x (M,in_f), w (out_f,in_f), dy (M,out_f); dx (M,in_f), dw (out_f,in_f),
// db (out_f), each null when not needed: dx = dy w, dw = dyᵀ x, db = Σ dy.
template <typename T>
void linear_backward_cpu(int64_t M, int64_t in_f, int64_t out_f, const T* x, const T* w,
                         const T* dy, T* dx, T* dw, T* db) {
  if (dx) gemm_parallel<T>(false, false, M, in_f, out_f, T(1), dy, out_f, w, in_f, T(0), dx, in_f);
  if (dw) gemm_parallel<T>(true, false, out_f, in_f, M, T(1), dy, out_f, x, in_f, T(0), dw, in_f);
  if (db) sum_dim_cpu<T, T>(1, M, out_f, dy, db);
}

// a (B,n,k) or (B,k,n) when ta; b (B,k,m) or (B,m,k) when tb; a 2-D operand
// (a_batch or b_batch false) is shared by the batch. c (B,n,m).
template <typename T>
void bmm_cpu(int64_t B, int64_t n, int64_t k, int64_t m, const T* a, bool ta, bool a_batch,
             const T* b, bool tb, bool b_batch, T* c) {
  const int64_t lda = ta ? n : k, ldb = tb ? k : m;
  if (B == 1) {
    gemm_parallel<T>(ta, tb, n, m, k, T(1), a, lda, b, ldb, T(0), c, m);
    return;
  }
  parallel_for(B, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i)
      gemm<T>(ta, tb, n, m, k, T(1), a + (a_batch ? i * n * k : 0), lda,
              b + (b_batch ? i * k * m : 0), ldb, T(0), c + i * n * m, m);
  });
}

#define CONVNET_INSTANTIATE(T)                                                                   \
  template void linear_forward_cpu<T>(int64_t, int64_t, int64_t, const T*, const T*, const T*,    \
                                      T*);                                                       \
  template void linear_backward_cpu<T>(int64_t, int64_t, int64_t, const T*, const T*, const T*,   \
                                       T*, T*, T*);                                              \
  template void bmm_cpu<T>(int64_t, int64_t, int64_t, int64_t, const T*, bool, bool, const T*,   \
                           bool, bool, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cpu
