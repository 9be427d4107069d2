#include "blas.h"

#include <algorithm>

#include "parallel.h"

#include <cblas.h>
#ifdef CONVNET_SCIPY_OPENBLAS
#define CONVNET_CBLAS(name) scipy_cblas_##name
#else
#define CONVNET_CBLAS(name) cblas_##name
#endif

namespace convnet::cpu {

namespace {
CBLAS_TRANSPOSE tr(bool t) { return t ? CblasTrans : CblasNoTrans; }

void gemm_call(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
               int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  CONVNET_CBLAS(sgemm)(CblasRowMajor, tr(ta), tr(tb), (int)M, (int)N, (int)K, alpha, A, (int)lda,
                       B, (int)ldb, beta, C, (int)ldc);
}
void gemm_call(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A,
               int64_t lda, const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  CONVNET_CBLAS(dgemm)(CblasRowMajor, tr(ta), tr(tb), (int)M, (int)N, (int)K, alpha, A, (int)lda,
                       B, (int)ldb, beta, C, (int)ldc);
}
}  // namespace

void blas_init() {
#if defined(CONVNET_SCIPY_OPENBLAS)
  scipy_openblas_set_num_threads(1);
#elif defined(CONVNET_OPENBLAS_THREADS)
  openblas_set_num_threads(1);
#endif
}

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == T(0) ? T(0) : beta * C[i * ldc + j];
    return;
  }
  gemm_call(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

template <typename T>
void gemm_parallel(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha,
                   const T* A, int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  // Below about a million multiply-adds one thread is faster than waking a team.
  constexpr int64_t kMinWork = 1 << 20;
  const int64_t grain_rows = std::max<int64_t>(1, kMinWork / std::max<int64_t>(1, N * K));
  const int64_t grain_cols = std::max<int64_t>(1, kMinWork / std::max<int64_t>(1, M * K));
  if (M >= N) {
    // rows of C ↔ rows of op(A)
    parallel_for(M, grain_rows, [&](int64_t i0, int64_t i1) {
      const T* a = trans_a ? A + i0 : A + i0 * lda;
      gemm(trans_a, trans_b, i1 - i0, N, K, alpha, a, lda, B, ldb, beta, C + i0 * ldc, ldc);
    });
  } else {
    // columns of C ↔ columns of op(B)
    parallel_for(N, grain_cols, [&](int64_t j0, int64_t j1) {
      const T* b = trans_b ? B + j0 * ldb : B + j0;
      gemm(trans_a, trans_b, M, j1 - j0, K, alpha, A, lda, b, ldb, beta, C + j0, ldc);
    });
  }
}

#define CONVNET_INSTANTIATE(T)                                                              \
  template void gemm<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*, \
                        int64_t, T, T*, int64_t);                                            \
  template void gemm_parallel<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t,  \
                                 const T*, int64_t, T, T*, int64_t);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cpu
