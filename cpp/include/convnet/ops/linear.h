// Matrix products: matmul and the fully connected layer.
#pragma once
#include "convnet/tensor.h"

namespace convnet {

// (n,k)@(k,m); (b,n,k)@(b,k,m); (b,n,k)@(k,m); (k)@(k,m); (n,k)@(k).
Tensor matmul(const Tensor& a, const Tensor& b);
// Batched product of two 3-D tensors: a (B,n,k) @ b (B,k,m) -> (B,n,m).
Tensor bmm(const Tensor& a, const Tensor& b);
// x (*, in), w (out, in), b (out) or undefined → y (*, out) = x wᵀ + b.
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b = Tensor());

}  // namespace convnet
