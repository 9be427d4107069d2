// Reductions over dimensions, scans and sorting along one dimension.
#pragma once
#include <utility>
#include <vector>

#include "convnet/tensor.h"

namespace convnet {

// dims empty: over all dimensions. Negative dims count from the end.
// Integer and bool inputs sum to int64.
Tensor sum(const Tensor& x, std::vector<int64_t> dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, std::vector<int64_t> dims = {}, bool keepdim = false);
// (values, int64 indices) of the maximum (minimum) along dim; the first one wins; the gradient
// goes to the index returned.
std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim = false);
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim = false);
// Maximum (minimum) over all elements (a 0-d tensor); the gradient is spread evenly over ties.
Tensor max(const Tensor& x);
Tensor min(const Tensor& x);
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim = false);
// Maximum (minimum) over dims (empty: all); the gradient is spread evenly over ties.
Tensor amax(const Tensor& x, std::vector<int64_t> dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, std::vector<int64_t> dims = {}, bool keepdim = false);
// Product along dim (integer and bool inputs give int64); prod(x) over all elements.
Tensor prod(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor prod(const Tensor& x);
// Variance and standard deviation over dims (empty: all), divided by max(0, N - correction).
// std's gradient is 0 where it is 0.
Tensor var(const Tensor& x, std::vector<int64_t> dims = {}, double correction = 1, bool keepdim = false);
Tensor std(const Tensor& x, std::vector<int64_t> dims = {}, double correction = 1, bool keepdim = false);
// The vector p-norm over dims (empty: all): p = 2 (Frobenius), 1, ±inf, 0 (nonzero count) or any
// other p. The 2-norm's gradient is 0 where the norm is 0.
Tensor norm(const Tensor& x, double p = 2, std::vector<int64_t> dims = {}, bool keepdim = false);
// Running sums along dim (integer and bool inputs give int64).
Tensor cumsum(const Tensor& x, int64_t dim);
// Whether any (all) element over dims (empty: all) is nonzero: bool (uint8 for uint8 inputs).
Tensor any(const Tensor& x, std::vector<int64_t> dims = {}, bool keepdim = false);
Tensor all(const Tensor& x, std::vector<int64_t> dims = {}, bool keepdim = false);

// (values, int64 indices) sorted along dim, stable (ties keep their order; NaN above every
// number); the gradient goes back to the indices.
std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim = -1, bool descending = false);
Tensor argsort(const Tensor& x, int64_t dim = -1, bool descending = false);
// The k largest (smallest) along dim, in order.
std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true);

}  // namespace convnet
