// Reductions over dimensions.
#pragma once
#include <utility>
#include <vector>

#include "convnet/tensor.h"

namespace convnet {

// dims empty: over all dimensions. Negative dims count from the end.
// Integer and bool inputs sum to int64.
Tensor sum(const Tensor& x, std::vector<int64_t> dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, std::vector<int64_t> dims = {}, bool keepdim = false);
// (values, int64 indices) of the maximum along dim; the first maximum wins.
std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim = false);
// Maximum over all elements (a 0-d tensor).
Tensor max(const Tensor& x);
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);

}  // namespace convnet
