// Elementwise arithmetic with NumPy/PyTorch broadcasting, and comparisons.
#pragma once
#include <optional>

#include "convnet/tensor.h"

namespace convnet {

// Result dtype of a binary op: the wider of the two (float64 > float32 > int64 > uint8 > bool).
DType promote(DType a, DType b);
// Broadcast shape of a and b, or invalid_argument naming `op` and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Sums g over broadcast dimensions so that it has `shape` (gradient of broadcasting).
Tensor sum_to(const Tensor& g, const Shape& shape);

// The scalar s as a 0-d tensor on a's device, in a's dtype unless s needs a float (what a
// Python number becomes next to a tensor).
Tensor scalar_like(const Tensor& a, double s);

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

// a ** e with a tensor exponent (broadcast), and base ** e (Python's s ** tensor). Integer
// operands stay integers.
Tensor pow(const Tensor& a, const Tensor& e);
Tensor pow(double base, const Tensor& e);
Tensor rsqrt(const Tensor& a);
// -1, 0, 1 in a's dtype; zero gradient.
Tensor sign(const Tensor& a);
// Rounding; zero gradient; integer tensors are copied. round: half to even at `decimals` digits.
Tensor floor(const Tensor& a);
Tensor ceil(const Tensor& a);
Tensor trunc(const Tensor& a);
Tensor round(const Tensor& a, int64_t decimals = 0);
// Elementwise maximum/minimum with broadcasting; NaN propagates; ties split the gradient in half.
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
// min(max(x, lo), hi) with broadcasting; an undefined bound is absent (not both). The gradient
// goes to x where lo <= x <= hi, to lo where x < lo (and lo < hi), to hi where x > hi (or hi < lo).
Tensor clamp(const Tensor& x, const Tensor& lo, const Tensor& hi);
Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi);
// a + w (b - a).
Tensor lerp(const Tensor& a, const Tensor& b, const Tensor& w);
Tensor lerp(const Tensor& a, const Tensor& b, double w);

// a / b with broadcasting, 0 where b = 0 (gradients of norms at 0); not differentiable.
Tensor div_or_zero(const Tensor& a, const Tensor& b);

// Bool results, not differentiable; nonzero is true.
enum class LogicalOp { And, Or, Xor };
Tensor logical(const Tensor& a, const Tensor& b, LogicalOp op);
Tensor logical_not(const Tensor& a);
// Bitwise ops of integer or bool tensors (the & | ^ ~ operators), in the promoted dtype.
Tensor bitwise(const Tensor& a, const Tensor& b, LogicalOp op);
Tensor bitwise_not(const Tensor& a);

enum class CompareOp { Eq, Ne, Lt, Le, Gt, Ge };
// Bool tensors; not differentiable.
Tensor compare(const Tensor& a, const Tensor& b, CompareOp op);
Tensor compare(const Tensor& a, double s, CompareOp op);

}  // namespace convnet
