// Views: new sizes and strides over the input's storage, no copy. Writes through a
// view are seen in its base. All differentiable. Negative dims count from the end.
#pragma once
#include <vector>

#include "convnet/tensor.h"

namespace convnet {

// Dimensions reordered: out.size(i) = x.size(dims[i]).
Tensor permute(const Tensor& x, std::vector<int64_t> dims);
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
// dims empty: every dimension of size 1 removed; else those of dims that have size 1.
Tensor squeeze(const Tensor& x, std::vector<int64_t> dims = {});
// A dimension of size 1 inserted at dim (in [-x.dim()-1, x.dim()]).
Tensor unsqueeze(const Tensor& x, int64_t dim);
// Dimensions of size 1 repeated to `sizes` (stride 0), new ones prepended; -1 keeps a size.
Tensor expand(const Tensor& x, Shape sizes);
// Elements [start, start + length) of dim; start may be negative.
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
// Index `index` of dim, that dimension removed.
Tensor select(const Tensor& x, int64_t dim, int64_t index);
// Elements start, start + step, ... below end of dim (step > 0; start and end clamped as Python's).
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
// Every index of dim, as x.size(dim) views.
std::vector<Tensor> unbind(const Tensor& x, int64_t dim = 0);
// Pieces of split_size along dim (the last may be smaller).
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);
// Pieces of the given sizes along dim (they must sum to x.size(dim)).
std::vector<Tensor> split_with_sizes(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim = 0);
// At most `chunks` pieces of equal size along dim (the last may be smaller).
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);
// Windows of `size` every `step` along dim: that dimension becomes the window count and a
// last dimension of `size` is added (windows may overlap).
Tensor unfold(const Tensor& x, int64_t dim, int64_t size, int64_t step);

}  // namespace convnet
