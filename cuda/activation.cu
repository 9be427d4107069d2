// Activations on the GPU: the pointwise ones are the kernels of elementwise.cuh
// instantiated for the functors of pointwise.h (forward unary, backward binary over
// (saved, dy)); prelu has its own kernels. x viewed as (N, R, inner) for prelu: R weight
// rows (the channels, or 1 for one shared weight). Backward overwrites dx and dw; autograd
// accumulates (+=) them into .grad.
#include "elementwise.cuh"
#include "pointwise.h"

namespace convnet::cuda {

namespace {

// x (N,R,inner), w (R), y (N,R,inner)
template <typename T>
__global__ void prelu_forward_kernel(int64_t n, int64_t R, int64_t inner, const T* x, const T* w, T* y) {
  CUDA_KERNEL_LOOP(i, n) y[i] = pw::prelu(x[i], w[(i / inner) % R]);
}

// x, dy (N,R,inner); dx (N,R,inner) unless null, and prod (N,R,inner) unless null: the terms
// of the weight gradient, summed afterwards.
template <typename T>
__global__ void prelu_backward_kernel(int64_t n, int64_t R, int64_t inner, const T* x, const T* w,
                                      const T* dy, T* dx, T* prod) {
  CUDA_KERNEL_LOOP(i, n) {
    if (dx) dx[i] = pw::prelu_grad(x[i], w[(i / inner) % R], dy[i]);
    if (prod) prod[i] = pw::prelu_weight_grad(x[i], dy[i]);
  }
}

}  // namespace

template <typename T>
void prelu_forward_cuda(int64_t N, int64_t R, int64_t inner, const T* x, const T* w, T* y) {
  const int64_t n = N * R * inner;
  if (n == 0) return;
  auto k = prelu_forward_kernel<T>;
  CONVNET_LAUNCH(k, n, n, R, inner, x, w, y);
}

// dw (R) sums the terms over inner, then over N (sum_dim_cuda, deterministic).
template <typename T>
void prelu_backward_cuda(int64_t N, int64_t R, int64_t inner, const T* x, const T* w, const T* dy,
                         T* dx, T* dw) {
  const int64_t n = N * R * inner;
  if (n == 0) {
    if (dw) CUDA_CHECK(cudaMemsetAsync(dw, 0, R * sizeof(T), stream()));
    return;
  }
  DeviceBuffer<T> prod(dw ? n : 0), rows(dw && inner > 1 ? N * R : 0);
  auto k = prelu_backward_kernel<T>;
  CONVNET_LAUNCH(k, n, n, R, inner, x, w, dy, dx, dw ? prod.get() : nullptr);
  if (!dw) return;
  // prod (N*R, inner) -> rows (N*R), then rows (N, R) -> dw (R)
  const T* per_row = prod.get();
  if (inner > 1) {
    sum_dim_cuda<T, T>(N * R, inner, 1, prod.get(), rows.get());
    per_row = rows.get();
  }
  sum_dim_cuda<T, T>(1, N, R, per_row, dw);
}

#define CONVNET_ACTIVATION(T, F, G)                                 \
  template void unary_cuda<T, T, F>(int64_t, const T*, T*, F);      \
  template void binary_cuda<T, T, G>(const Broadcast&, const T*, const T*, T*, G);
#define CONVNET_INSTANTIATE(T)                                                                   \
  CONVNET_ACTIVATION(T, pw::Relu, pw::ReluGrad)                                                  \
  CONVNET_ACTIVATION(T, pw::LeakyRelu, pw::LeakyReluGrad)                                        \
  CONVNET_ACTIVATION(T, pw::Sigmoid, pw::SigmoidGrad)                                            \
  CONVNET_ACTIVATION(T, pw::Tanh, pw::TanhGrad)                                                  \
  CONVNET_ACTIVATION(T, pw::Hardtanh, pw::HardtanhGrad)                                          \
  CONVNET_ACTIVATION(T, pw::Elu, pw::EluGrad)                                                    \
  CONVNET_ACTIVATION(T, pw::Gelu, pw::GeluGrad)                                                  \
  CONVNET_ACTIVATION(T, pw::GeluTanh, pw::GeluTanhGrad)                                          \
  CONVNET_ACTIVATION(T, pw::Silu, pw::SiluGrad)                                                  \
  CONVNET_ACTIVATION(T, pw::Softplus, pw::SoftplusGrad)                                          \
  CONVNET_ACTIVATION(T, pw::AtOne<pw::SigmoidGrad>, pw::SigmoidGrad2)                            \
  CONVNET_ACTIVATION(T, pw::AtOne<pw::TanhGrad>, pw::TanhGrad2)                                  \
  CONVNET_ACTIVATION(T, pw::AtOne<pw::EluGrad>, pw::EluGrad2)                                    \
  CONVNET_ACTIVATION(T, pw::AtOne<pw::GeluGrad>, pw::GeluGrad2)                                  \
  CONVNET_ACTIVATION(T, pw::AtOne<pw::GeluTanhGrad>, pw::GeluTanhGrad2)                          \
  CONVNET_ACTIVATION(T, pw::AtOne<pw::SiluGrad>, pw::SiluGrad2)                                  \
  CONVNET_ACTIVATION(T, pw::AtOne<pw::SoftplusGrad>, pw::SoftplusGrad2)                          \
  template void prelu_forward_cuda<T>(int64_t, int64_t, int64_t, const T*, const T*, T*);        \
  template void prelu_backward_cuda<T>(int64_t, int64_t, int64_t, const T*, const T*, const T*, \
                                       T*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE
#undef CONVNET_ACTIVATION

}  // namespace convnet::cuda
