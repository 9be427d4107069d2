// Shared pieces of the CUDA matrix-product kernels (conv2d.cu, conv_transpose2d.cu,
// linear.cu): row-major GEMM on cuBLAS in the thread's MathMode (convnet/backends.h),
// operands cast to the product type (in Workspaces, common.cuh), per-channel
// bias and per-channel sums.
//
// Types: T is the tensors' element type (float or double); P the type the products read
// (T, or bfloat16 / float16 under autocast for T = float). Products always write T and
// accumulate in T's precision (float32 for the 16-bit types).
#pragma once
#include <memory>
#include <type_traits>

#include "common.cuh"
#include "convnet/backends.h"
#include "runtime.h"

namespace convnet::cuda {

// C (M,N) = op(A) (M,K) x op(B) (K,N) + beta C for each of `batch` triples, all row-major
// with row strides lda, ldb, ldc (as cpu::gemm) and the next triple sA, sB, sC elements on
// (0: one matrix shared by the batch). A and B of type P, C of type T. tf32 lets float
// inputs round to TF32. With an M, N, K or batch of 0 it does nothing (a K of 0 leaves C
// to the caller to zero).
template <typename P, typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const P* A, int64_t lda, int64_t sA,
          const P* B, int64_t ldb, int64_t sB, T beta, T* C, int64_t ldc, int64_t sC, int64_t batch, bool tf32);

// The DType of element type T.
template <typename T>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, double>) return DType::Float64;
  else if constexpr (std::is_same_v<T, bfloat16>) return DType::BFloat16;
  else if constexpr (std::is_same_v<T, float16>) return DType::Float16;
  else return DType::Float32;
}

// x itself when P is T, else x (n) cast to P (cast_cuda) into `ws`, allocated here.
template <typename P, typename T>
const P* as_product(const T* x, int64_t n, std::unique_ptr<Workspace>& ws) {
  if constexpr (std::is_same_v<P, T>) {
    return x;
  } else {
    ws = std::make_unique<Workspace>(n * sizeof(P));
    cast_cuda(dtype_of<T>(), dtype_of<P>(), n, x, ws->as<P>());
    return ws->as<P>();
  }
}

// y (N,C,L) += b (C) broadcast over N and L.
template <typename T>
void add_channel_bias(int64_t N, int64_t C, int64_t L, const T* b, T* y);

// db (C) = sum of dy (N,C,L) over N and L, in T's precision (two products with a ones vector).
template <typename T>
void channel_sum(int64_t N, int64_t C, int64_t L, const T* dy, T* db);

// Runs f(P*) with a typed null pointer for the product type of T in the current MathMode:
// T itself, or bfloat16 / float16 for float under autocast.
template <typename T, typename F>
void with_product_type(const F& f) {
  if constexpr (std::is_same_v<T, float>) {
    switch (current_math_mode()) {
      case MathMode::BFloat16: return f(static_cast<bfloat16*>(nullptr));
      case MathMode::Float16: return f(static_cast<float16*>(nullptr));
      default: return f(static_cast<float*>(nullptr));
    }
  } else {
    f(static_cast<T*>(nullptr));
  }
}

// Whether float products may round their inputs to TF32 in the current MathMode.
inline bool tf32_now() { return current_math_mode() == MathMode::TF32; }

}  // namespace convnet::cuda
