// Declarations of the CPU kernels. Kernels see raw pointers and sizes only: no
// Tensor, no autograd. Inputs were validated by the op's check function, so a
// kernel never throws (it may run inside an OpenMP region).
// Every kernel is instantiated for float and double.
#pragma once
#include <cstdint>

namespace convnet::cpu {

// ---- conv2d (conv2d.cpp) -------------------------------------------------
// N batch, C in channels, H W input size, K out channels, R S kernel,
// P Q output size, G groups.
struct Conv2dShape {
  int64_t N, C, H, W;
  int64_t K, R, S;
  int64_t P, Q;
  int64_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
  int64_t groups;
};

// x (N,C,H,W), w (K,C/G,R,S), b (K) or null, y (N,K,P,Q) overwritten.
template <typename T>
void conv2d_forward_cpu(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y);

// dy (N,K,P,Q); outputs are overwritten, and each may be null when not needed:
// dx (N,C,H,W), dw (K,C/G,R,S), db (K).
template <typename T>
void conv2d_backward_cpu(const Conv2dShape& s, const T* x, const T* w, const T* dy,
                         T* dx, T* dw, T* db);

// ---- pooling (pool2d.cpp) -------------------------------------------------
// N batch, C channels, H W input size, P Q output size, R S window.
struct Pool2dShape {
  int64_t N, C, H, W;
  int64_t P, Q;
  int64_t R, S;
  int64_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
  bool count_include_pad;  // avg pool only
};

// x (N,C,H,W), y (N,C,P,Q), argmax (N,C,P,Q): flat h*W+w index of each maximum
// inside its (n,c) plane, saved so that backward routes dy without a search.
template <typename T>
void max_pool2d_forward_cpu(const Pool2dShape& s, const T* x, T* y, int64_t* argmax);
// dy (N,C,P,Q), argmax (N,C,P,Q), dx (N,C,H,W) overwritten.
template <typename T>
void max_pool2d_backward_cpu(const Pool2dShape& s, const T* dy, const int64_t* argmax, T* dx);

// x (N,C,H,W), y (N,C,P,Q); the divisor follows PyTorch: with count_include_pad
// the window clipped to the padded input, without it the window clipped to the input.
template <typename T>
void avg_pool2d_forward_cpu(const Pool2dShape& s, const T* x, T* y);
// dy (N,C,P,Q), dx (N,C,H,W) overwritten.
template <typename T>
void avg_pool2d_backward_cpu(const Pool2dShape& s, const T* dy, T* dx);

// Adaptive average pooling: output cell (p,q) averages rows
// [floor(p*H/P), ceil((p+1)*H/P)) and the columns likewise.
// x (N,C,H,W), y (N,C,P,Q).
template <typename T>
void adaptive_avg_pool2d_forward_cpu(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P,
                                     int64_t Q, const T* x, T* y);
// dy (N,C,P,Q), dx (N,C,H,W) overwritten.
template <typename T>
void adaptive_avg_pool2d_backward_cpu(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P,
                                      int64_t Q, const T* dy, T* dx);

}  // namespace convnet::cpu
