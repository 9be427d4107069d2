// Indexing: gathers and scatters along a dimension, advanced indexing (x[idx], x[mask]) and
// its assignment, where, masked_fill, nonzero. Index tensors are int64. Differentiable in
// the floating operands.
#pragma once
#include <vector>

#include "convnet/tensor.h"

namespace convnet {

// x's entries index[0], index[1], ... along dim (index 1-D or 0-D).
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// out[..., j, ...] = x[..., index[..., j, ...], ...] along dim; index has x's number of
// dimensions, with sizes at most x's away from dim.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// A copy of x with src's elements written (scatter) or added (scatter_add) at the positions of
// index along dim (index as for gather, src at least index's size).
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
// x[indices] with NumPy/PyTorch advanced indexing: indices[d] indexes dimension d (an
// undefined tensor keeps the dimension whole); int64 tensors broadcast together, negative
// entries count from the end; a bool mask stands for the indices of its true elements over as
// many dimensions as it has. The indexed dimensions are replaced by the broadcast shape, in
// place when they are adjacent, else first.
Tensor index(const Tensor& x, std::vector<Tensor> indices);
// A copy of x with values (broadcast to x[indices]'s shape) written, or added with
// accumulate, at the elements x[indices] selects.
Tensor index_put(const Tensor& x, const std::vector<Tensor>& indices, const Tensor& values, bool accumulate = false);
// cond ? a : b elementwise, the three broadcast together (cond bool).
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
// x with value where mask (bool, broadcast to x) is true.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);
// The indices of x's nonzero elements, (count, x.dim()) int64, in row-major order.
Tensor nonzero(const Tensor& x);

}  // namespace convnet
