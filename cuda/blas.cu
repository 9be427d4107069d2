// cuBLAS products in the current MathMode and the per-channel bias and sums of
// the matrix-product kernels (declared in blas.cuh).
#include "blas.cuh"

#include "convnet/cuda.h"

namespace convnet::cuda {

namespace {

template <typename P>
constexpr cudaDataType_t cuda_type() {
  if constexpr (std::is_same_v<P, bfloat16>) return CUDA_R_16BF;
  else if constexpr (std::is_same_v<P, float16>) return CUDA_R_16F;
  else return CUDA_R_32F;
}

cublasOperation_t op(bool trans) { return trans ? CUBLAS_OP_T : CUBLAS_OP_N; }

// y (N,C,L): one thread per element
template <typename T>
__global__ void add_channel_bias_kernel(int64_t total, int64_t C, int64_t L, const T* b, T* y) {
  CUDA_KERNEL_LOOP(i, total) y[i] += b[(i / L) % C];
}

}  // namespace

// Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: cuBLAS multiplies B's and
// A's memory with the same transpose flags, giving an (N,M) column-major result with ld ldc.
template <typename P, typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const P* A, int64_t lda, int64_t sA,
          const P* B, int64_t ldb, int64_t sB, T beta, T* C, int64_t ldc, int64_t sC, int64_t batch, bool tf32) {
  if (M == 0 || N == 0 || K == 0 || batch == 0) return;
  const int m = static_cast<int>(N), n = static_cast<int>(M), k = static_cast<int>(K);
  const int ia = static_cast<int>(lda), ib = static_cast<int>(ldb), ic = static_cast<int>(ldc);
  const int count = static_cast<int>(batch);
  if constexpr (std::is_same_v<T, double>) {
    const double one = 1;
    CUBLAS_CHECK(cublasDgemmStridedBatched(cublas(), op(trans_b), op(trans_a), m, n, k, &one, B, ib, sB, A, ia, sA,
                                           &beta, C, ic, sC, count));
  } else {
    const float one = 1;
    const cublasComputeType_t compute =
        std::is_same_v<P, float> && tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    CUBLAS_CHECK(cublasGemmStridedBatchedEx(cublas(), op(trans_b), op(trans_a), m, n, k, &one, B, cuda_type<P>(),
                                            ib, sB, A, cuda_type<P>(), ia, sA, &beta, C, CUDA_R_32F, ic, sC, count,
                                            compute, CUBLAS_GEMM_DEFAULT));
  }
}

template <typename T>
void add_channel_bias(int64_t N, int64_t C, int64_t L, const T* b, T* y) {
  const int64_t total = N * C * L;
  if (total == 0) return;
  auto k = add_channel_bias_kernel<T>;
  CONVNET_LAUNCH(k, total, total, C, L, b, y);
}

// part (N*C) = dy (N*C, L) x ones (L); db (C) = part^T (C, N) x ones (N)
template <typename T>
void channel_sum(int64_t N, int64_t C, int64_t L, const T* dy, T* db) {
  if (C == 0) return;
  if (N == 0 || L == 0) {
    CUDA_CHECK(cudaMemsetAsync(db, 0, C * sizeof(T), stream()));
    return;
  }
  const int64_t n_ones = L > 1 ? std::max(N, L) : N;
  Workspace ones(n_ones * sizeof(T)), part(L > 1 ? N * C * sizeof(T) : 0);
  fill_cuda(dtype_of<T>(), n_ones, 1.0, ones.as<T>());
  const T* rows = dy;  // (N, C)
  if (L > 1) {
    gemm<T, T>(false, false, N * C, 1, L, dy, L, 0, ones.as<T>(), 1, 0, T(0), part.as<T>(), 1, 0, 1, false);
    rows = part.as<T>();
  }
  gemm<T, T>(true, false, C, 1, N, rows, C, 0, ones.as<T>(), 1, 0, T(0), db, 1, 0, 1, false);
}

#define CONVNET_INSTANTIATE_GEMM(P, T)                                                                       \
  template void gemm<P, T>(bool, bool, int64_t, int64_t, int64_t, const P*, int64_t, int64_t, const P*, int64_t, \
                           int64_t, T, T*, int64_t, int64_t, int64_t, bool);
CONVNET_INSTANTIATE_GEMM(float, float)
CONVNET_INSTANTIATE_GEMM(double, double)
CONVNET_INSTANTIATE_GEMM(bfloat16, float)
CONVNET_INSTANTIATE_GEMM(float16, float)
#undef CONVNET_INSTANTIATE_GEMM
template void add_channel_bias<float>(int64_t, int64_t, int64_t, const float*, float*);
template void add_channel_bias<double>(int64_t, int64_t, int64_t, const double*, double*);
template void channel_sum<float>(int64_t, int64_t, int64_t, const float*, float*);
template void channel_sum<double>(int64_t, int64_t, int64_t, const double*, double*);

}  // namespace convnet::cuda
