// What the ops along one dimension share (ops/reduce.cpp, ops/sort.cpp): dimension
// wrapping, the (outer, D, inner) view of a tensor, and the gradient of values taken at
// indices along a dimension.
#pragma once
#include "convnet/tensor.h"

namespace convnet {

// d wrapped into [0, ndim) (a 0-d tensor has one dimension to name); IndexError naming op and
// the shape when out of range.
int64_t wrap_dim(int64_t d, int64_t ndim, const char* op, const Shape& shape);
// The shape viewed as (outer, D, inner) around dimension dim.
void split(const Shape& s, int64_t dim, int64_t& outer, int64_t& D, int64_t& inner);
// dx of in_shape (outer, D, inner): zeros with dy (outer, K, inner) written at the
// indices (outer, K, inner) along D.
Tensor take_backward(const Tensor& dy, const Tensor& indices, const Shape& in_shape, int64_t outer,
                     int64_t D, int64_t K, int64_t inner, const char* op);

}  // namespace convnet
