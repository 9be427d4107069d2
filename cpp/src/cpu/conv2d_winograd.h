// Winograd F(4x4, 3x3) convolution for conv2d.cpp: 3x3, stride 1, dilation 1,
// float32, per group (not depthwise). Legend as in conv2d.cpp.
#pragma once
#include "kernels.h"

namespace convnet::cpu {

// Whether the 3x3 convolution s (and the one its dx is) goes through Winograd
// on the CPU in float32: the shapes it handles where it is faster than im2col + GEMM.
bool winograd_selected(const Conv2dShape& s);

// x (N,C,H,W), w (K,C/G,3,3), b (K) or null, y (N,K,P,Q) overwritten.
void winograd_forward(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y);

// w (K,C/G,3,3), dy (N,K,P,Q); dx (N,C,H,W) overwritten: the stride-1 3x3
// convolution of dy, padded by 2 - pad, with the flipped, transposed filter.
void winograd_backward_data(const Conv2dShape& s, const float* w, const float* dy, float* dx);

// Whether dw of a convolution that winograd_selected picks goes through Winograd too.
bool winograd_weight_grad_selected(const Conv2dShape& s);

// x (N,C,H,W), dy (N,K,P,Q); dw (K,C/G,3,3) overwritten.
void winograd_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw);

}  // namespace convnet::cpu
