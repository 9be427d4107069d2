// CPU transposed convolution, through the conv2d kernels: a transposed
// convolution is the data gradient of the convolution with the same weight.
// Shapes are given as that convolution's (Conv2dShape): C channels and H W size
// of the transposed convolution's output, K channels and P Q size of its input,
// R S kernel, G groups. So x (N,K,P,Q), w (K,C/G,R,S), b (C), y (N,C,H,W):
//   forward:  y  = conv2d's dx for dy = x          (col = w^T x, col2im)
//   backward: dx = conv2d forward of dy            (im2col, w x col)
//             dw = conv2d's dw for input dy and output gradient x
//             db = sum of dy over N, H, W
// Kernels overwrite their outputs; autograd accumulates (+=) the returned
// gradients into .grad. Bias sums are per channel in a fixed order.
#include <algorithm>

#include "kernels.h"
#include "parallel.h"

namespace convnet::cpu {

// x (N,K,P,Q), w (K,C/G,R,S), b (C) or null, y (N,C,H,W) overwritten
template <typename T>
void conv_transpose2d_forward_cpu(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y) {
  conv2d_backward_cpu<T>(s, nullptr, w, x, y, nullptr, nullptr);
  if (!b) return;
  const int64_t HW = s.H * s.W;
  parallel_for(s.N * s.C, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, HW)),
               [&](int64_t i0, int64_t i1) {
                 for (int64_t i = i0; i < i1; ++i) {
                   const T bc = b[i % s.C];
                   T* yi = y + i * HW;
                   for (int64_t j = 0; j < HW; ++j) yi[j] += bc;
                 }
               });
}

// x (N,K,P,Q), w (K,C/G,R,S), dy (N,C,H,W); dx (N,K,P,Q), dw (K,C/G,R,S), db (C), each
// overwritten, each may be null
template <typename T>
void conv_transpose2d_backward_cpu(const Conv2dShape& s, const T* x, const T* w, const T* dy, T* dx,
                                   T* dw, T* db) {
  if (dx) conv2d_forward_cpu<T>(s, dy, w, nullptr, dx);
  if (dw) conv2d_backward_cpu<T>(s, dy, w, x, nullptr, dw, nullptr);
  if (!db) return;
  const int64_t HW = s.H * s.W;
  parallel_for(s.C, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, s.N * HW)),
               [&](int64_t c0, int64_t c1) {
                 for (int64_t c = c0; c < c1; ++c) {
                   T acc = 0;
                   for (int64_t n = 0; n < s.N; ++n) {
                     const T* g = dy + (n * s.C + c) * HW;
                     for (int64_t j = 0; j < HW; ++j) acc += g[j];
                   }
                   db[c] = acc;
                 }
               });
}

#define CONVNET_INSTANTIATE(T)                                                                        \
  template void conv_transpose2d_forward_cpu<T>(const Conv2dShape&, const T*, const T*, const T*, T*); \
  template void conv_transpose2d_backward_cpu<T>(const Conv2dShape&, const T*, const T*, const T*, T*, \
                                                 T*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cpu
