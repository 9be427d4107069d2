// CUDA matrix-product kernels: linear layers and (batched) matmul on cuBLAS, in the thread's
// MathMode (blas.cuh). linear: M rows of x, in_f in features, out_f out features; bmm:
// B batch, a (B,n,k) @ b (B,k,m) -> c (B,n,m). Under autocast the operands are cast to the
// 16-bit type and the results are float32. Kernels overwrite their outputs; autograd
// accumulates (+=) the returned gradients into .grad.
#include "blas.cuh"
#include "kernels.h"

namespace convnet::cuda {

namespace {

// y (M,N) rows = b (N)
template <typename T>
__global__ void broadcast_rows_kernel(int64_t total, int64_t N, const T* b, T* y) {
  CUDA_KERNEL_LOOP(i, total) y[i] = b[i % N];
}

template <typename T, typename P>
void linear_forward(int64_t M, int64_t in_f, int64_t out_f, const T* x, const T* w, const T* b, T* y) {
  if (M == 0 || out_f == 0) return;
  std::unique_ptr<Workspace> x16, w16;
  const P* xp = as_product<P>(x, M * in_f, x16);
  const P* wp = as_product<P>(w, out_f * in_f, w16);
  if (b) {  // the bias is the GEMM's initial C
    auto k = broadcast_rows_kernel<T>;
    CONVNET_LAUNCH(k, M * out_f, M * out_f, out_f, b, y);
  }
  if (in_f == 0 && !b) CUDA_CHECK(cudaMemsetAsync(y, 0, M * out_f * sizeof(T), stream()));
  // y (M,out_f) = x (M,in_f) w^T (in_f,out_f) + y
  gemm<P, T>(false, true, M, out_f, in_f, xp, in_f, 0, wp, in_f, 0, T(b ? 1 : 0), y, out_f, 0, 1, tf32_now());
}

template <typename T, typename P>
void linear_backward(int64_t M, int64_t in_f, int64_t out_f, const T* x, const T* w, const T* dy, T* dx, T* dw,
                     T* db) {
  const bool tf32 = tf32_now();
  std::unique_ptr<Workspace> dy16, x16, w16;
  const P* dyp = dx || dw ? as_product<P>(dy, M * out_f, dy16) : nullptr;
  if (dx) {  // dx (M,in_f) = dy (M,out_f) w (out_f,in_f)
    if (out_f == 0) CUDA_CHECK(cudaMemsetAsync(dx, 0, M * in_f * sizeof(T), stream()));
    const P* wp = as_product<P>(w, out_f * in_f, w16);
    gemm<P, T>(false, false, M, in_f, out_f, dyp, out_f, 0, wp, in_f, 0, T(0), dx, in_f, 0, 1, tf32);
  }
  if (dw) {  // dw (out_f,in_f) = dy^T (out_f,M) x (M,in_f)
    if (M == 0) CUDA_CHECK(cudaMemsetAsync(dw, 0, out_f * in_f * sizeof(T), stream()));
    const P* xp = as_product<P>(x, M * in_f, x16);
    gemm<P, T>(true, false, out_f, in_f, M, dyp, out_f, 0, xp, in_f, 0, T(0), dw, in_f, 0, 1, tf32);
  }
  if (db) channel_sum(M, out_f, int64_t(1), dy, db);
}

template <typename T, typename P>
void bmm(int64_t B, int64_t n, int64_t k, int64_t m, const T* a, bool ta, bool a_batch, const T* b, bool tb,
         bool b_batch, T* c) {
  if (k == 0) CUDA_CHECK(cudaMemsetAsync(c, 0, B * n * m * sizeof(T), stream()));
  std::unique_ptr<Workspace> a16, b16;
  const P* ap = as_product<P>(a, (a_batch ? B : 1) * n * k, a16);
  const P* bp = as_product<P>(b, (b_batch ? B : 1) * k * m, b16);
  gemm<P, T>(ta, tb, n, m, k, ap, ta ? n : k, a_batch ? n * k : 0, bp, tb ? k : m, b_batch ? k * m : 0, T(0), c, m,
             n * m, B, tf32_now());
}

}  // namespace

// x (M,in_f), w (out_f,in_f), b (out_f) or null, y (M,out_f)
template <typename T>
void linear_forward_cuda(int64_t M, int64_t in_f, int64_t out_f, const T* x, const T* w, const T* b, T* y) {
  with_product_type<T>(
      [&](auto* tag) { linear_forward<T, std::remove_pointer_t<decltype(tag)>>(M, in_f, out_f, x, w, b, y); });
}

// x (M,in_f), w (out_f,in_f), dy (M,out_f); dx (M,in_f), dw (out_f,in_f), db (out_f), each
// null when not needed: dx = dy w, dw = dy^T x, db = sum of dy over the rows.
template <typename T>
void linear_backward_cuda(int64_t M, int64_t in_f, int64_t out_f, const T* x, const T* w, const T* dy, T* dx,
                          T* dw, T* db) {
  with_product_type<T>([&](auto* tag) {
    linear_backward<T, std::remove_pointer_t<decltype(tag)>>(M, in_f, out_f, x, w, dy, dx, dw, db);
  });
}

// a (B,n,k) or (B,k,n) when ta; b (B,k,m) or (B,m,k) when tb; a 2-D operand (a_batch or
// b_batch false) is shared by the batch. c (B,n,m).
template <typename T>
void bmm_cuda(int64_t B, int64_t n, int64_t k, int64_t m, const T* a, bool ta, bool a_batch, const T* b, bool tb,
              bool b_batch, T* c) {
  with_product_type<T>([&](auto* tag) {
    bmm<T, std::remove_pointer_t<decltype(tag)>>(B, n, k, m, a, ta, a_batch, b, tb, b_batch, c);
  });
}

#define CONVNET_INSTANTIATE(T)                                                                                \
  template void linear_forward_cuda<T>(int64_t, int64_t, int64_t, const T*, const T*, const T*, T*);          \
  template void linear_backward_cuda<T>(int64_t, int64_t, int64_t, const T*, const T*, const T*, T*, T*, T*); \
  template void bmm_cuda<T>(int64_t, int64_t, int64_t, int64_t, const T*, bool, bool, const T*, bool, bool, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cuda
