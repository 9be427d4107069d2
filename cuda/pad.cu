// CUDA constant padding of the last two dimensions. B planes, H W input size,
// H2 = H + top + bottom and W2 = W + left + right output size; a negative
// top/left/bottom/right crops. One thread per output element: output pixel (i, j)
// reads input (i - top, j - left) when that lies inside the input, else holds `value`.
// Backward kernels overwrite dx; autograd accumulates (+=) the returned gradients into .grad.
#include "common.cuh"
#include "kernels.h"

namespace convnet::cuda {

namespace {

// x (B,H,W), y (B,H2,W2)
template <typename T>
__global__ void pad2d_forward_kernel(int64_t B, int64_t H, int64_t W, int64_t H2, int64_t W2, int64_t top,
                                     int64_t left, T value, const T* x, T* y) {
  CUDA_KERNEL_LOOP(o, B * H2 * W2) {
    const int64_t j = o % W2 - left, i = o / W2 % H2 - top, b = o / (H2 * W2);
    y[o] = i >= 0 && i < H && j >= 0 && j < W ? x[(b * H + i) * W + j] : value;
  }
}

// dy (B,H2,W2), dx (B,H,W): the part of dy that read the input, 0 for cropped pixels
template <typename T>
__global__ void pad2d_backward_kernel(int64_t B, int64_t H, int64_t W, int64_t H2, int64_t W2, int64_t top,
                                      int64_t left, const T* dy, T* dx) {
  CUDA_KERNEL_LOOP(o, B * H * W) {
    const int64_t j = o % W + left, i = o / W % H + top, b = o / (H * W);
    dx[o] = i >= 0 && i < H2 && j >= 0 && j < W2 ? dy[(b * H2 + i) * W2 + j] : T(0);
  }
}

}  // namespace

template <typename T>
void pad2d_forward_cuda(int64_t B, int64_t H, int64_t W, int64_t H2, int64_t W2, int64_t top, int64_t left,
                        T value, const T* x, T* y) {
  auto k = pad2d_forward_kernel<T>;
  CONVNET_LAUNCH(k, B * H2 * W2, B, H, W, H2, W2, top, left, value, x, y);
}

template <typename T>
void pad2d_backward_cuda(int64_t B, int64_t H, int64_t W, int64_t H2, int64_t W2, int64_t top, int64_t left,
                         const T* dy, T* dx) {
  auto k = pad2d_backward_kernel<T>;
  CONVNET_LAUNCH(k, B * H * W, B, H, W, H2, W2, top, left, dy, dx);
}

#define CONVNET_INSTANTIATE(T)                                                                          \
  template void pad2d_forward_cuda<T>(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, T,  \
                                      const T*, T*);                                                     \
  template void pad2d_backward_cuda<T>(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,    \
                                       const T*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cuda
