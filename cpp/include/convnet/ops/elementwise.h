// Elementwise arithmetic with NumPy/PyTorch broadcasting, and comparisons.
#pragma once
#include "convnet/tensor.h"

namespace convnet {

// Result dtype of a binary op: the wider of the two (float64 > float32 > int64 > uint8 > bool).
DType promote(DType a, DType b);
// Broadcast shape of a and b, or invalid_argument naming `op` and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Sums g over broadcast dimensions so that it has `shape` (gradient of broadcasting).
Tensor sum_to(const Tensor& g, const Shape& shape);

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
// Tensor-scalar forms; the scalar takes the tensor's dtype (int tensors become float32 with a
// non-integral scalar).
Tensor add(const Tensor& a, double s);
Tensor sub(const Tensor& a, double s);
Tensor rsub(const Tensor& a, double s);  // s - a
Tensor mul(const Tensor& a, double s);
Tensor div(const Tensor& a, double s);
Tensor rdiv(const Tensor& a, double s);  // s / a
Tensor pow(const Tensor& a, double exponent);
Tensor neg(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor sqrt(const Tensor& a);
Tensor abs(const Tensor& a);

enum class CompareOp { Eq, Ne, Lt, Le, Gt, Ge };
// Bool tensors; not differentiable.
Tensor compare(const Tensor& a, const Tensor& b, CompareOp op);
Tensor compare(const Tensor& a, double s, CompareOp op);

}  // namespace convnet
