// CUDA transposed convolution, through the conv2d kernels as on the CPU: a transposed
// convolution is the data gradient of the convolution with the same weight. Shapes are
// given as that convolution's (Conv2dShape): C channels and H W size of the transposed
// convolution's output, K channels and P Q size of its input, R S kernel, G groups. So
// x (N,K,P,Q), w (K,C/G,R,S), b (C), y (N,C,H,W):
//   forward:  y  = conv2d's dx for dy = x          (dcol = w^T x, col2im)
//   backward: dx = conv2d forward of dy            (im2col, w x col)
//             dw = conv2d's dw for input dy and output gradient x
//             db = sum of dy over N, H, W
// Kernels overwrite their outputs; autograd accumulates (+=) the returned gradients into .grad.
#include "blas.cuh"
#include "kernels.h"

namespace convnet::cuda {

// x (N,K,P,Q), w (K,C/G,R,S), b (C) or null, y (N,C,H,W) overwritten
template <typename T>
void conv_transpose2d_forward_cuda(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y) {
  conv2d_backward_cuda<T>(s, nullptr, w, x, y, nullptr, nullptr);
  if (b) add_channel_bias(s.N, s.C, s.H * s.W, b, y);
}

// x (N,K,P,Q), w (K,C/G,R,S), dy (N,C,H,W); dx (N,K,P,Q), dw (K,C/G,R,S), db (C), each
// overwritten, each may be null
template <typename T>
void conv_transpose2d_backward_cuda(const Conv2dShape& s, const T* x, const T* w, const T* dy, T* dx, T* dw,
                                    T* db) {
  if (dx) conv2d_forward_cuda<T>(s, dy, w, nullptr, dx);
  if (dw) conv2d_backward_cuda<T>(s, dy, w, x, nullptr, dw, nullptr);
  if (db) channel_sum(s.N, s.C, s.H * s.W, dy, db);
}

#define CONVNET_INSTANTIATE(T)                                                                          \
  template void conv_transpose2d_forward_cuda<T>(const Conv2dShape&, const T*, const T*, const T*, T*); \
  template void conv_transpose2d_backward_cuda<T>(const Conv2dShape&, const T*, const T*, const T*, T*, T*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cuda
