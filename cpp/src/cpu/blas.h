// Matrix products for the CPU kernels: row-major GEMM on top of a CBLAS.
// BLAS itself always runs single-threaded; parallelism comes from convnet's
// OpenMP threads (see parallel.h), so the two never oversubscribe the cores.
#pragma once
#include <cstdint>

namespace convnet::cpu {

// C (M,N) = alpha * op(A) (M,K) * op(B) (K,N) + beta * C; all row-major.
// lda, ldb, ldc are the row strides of A, B, C as stored.
template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha,
          const T* A, int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

// The same product split over the calling OpenMP team's threads by rows of C
// (or columns when M is small); for a lone large product outside a parallel region.
template <typename T>
void gemm_parallel(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha,
                   const T* A, int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

// Pins BLAS to one thread; called once when the library loads.
void blas_init();

}  // namespace convnet::cpu
