// CUDA pixel shuffle kernels (as cpu/pixel_shuffle.cpp): x (N,C*r*r,H,W) ↔ y (N,C,H*r,W*r) with
// y[n,c,h*r+i,w*r+j] = x[n,(c*r+i)*r+j,h,w]. One thread per element of y, in either direction.
// Backward overwrites dx; autograd accumulates (+=) the returned gradients into .grad.
#include "common.cuh"
#include "kernels.h"

namespace convnet::cuda {

namespace {

// The x index of element e of y.
CONVNET_HD inline int64_t shuffle_source(int64_t e, int64_t C, int64_t H, int64_t W, int64_t r) {
  const int64_t Wr = W * r, Hr = H * r;
  const int64_t ww = e % Wr, hh = e / Wr % Hr, nc = e / (Wr * Hr);
  const int64_t w = ww / r, j = ww % r, h = hh / r, i = hh % r;
  (void)C;
  return ((nc * r + i) * r + j) * H * W + h * W + w;
}

// to_y: y[e] = x[source(e)], else x[source(e)] = y[e]
template <typename T>
__global__ void pixel_shuffle_kernel(int64_t N, int64_t C, int64_t H, int64_t W, int64_t r, const T* src, T* dst,
                                     bool to_y) {
  CUDA_KERNEL_LOOP(e, N * C * H * r * W * r) {
    const int64_t s = shuffle_source(e, C, H, W, r);
    if (to_y)
      dst[e] = src[s];
    else
      dst[s] = src[e];
  }
}

}  // namespace

template <typename T>
void pixel_shuffle_forward_cuda(int64_t N, int64_t C, int64_t H, int64_t W, int64_t r, const T* x, T* y) {
  auto k = pixel_shuffle_kernel<T>;
  CONVNET_LAUNCH(k, N * C * H * r * W * r, N, C, H, W, r, x, y, true);
}

template <typename T>
void pixel_shuffle_backward_cuda(int64_t N, int64_t C, int64_t H, int64_t W, int64_t r, const T* y, T* x) {
  auto k = pixel_shuffle_kernel<T>;
  CONVNET_LAUNCH(k, N * C * H * r * W * r, N, C, H, W, r, y, x, false);
}

#define CONVNET_INSTANTIATE(T)                                                                                \
  template void pixel_shuffle_forward_cuda<T>(int64_t, int64_t, int64_t, int64_t, int64_t, const T*, T*);  \
  template void pixel_shuffle_backward_cuda<T>(int64_t, int64_t, int64_t, int64_t, int64_t, const T*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cuda
