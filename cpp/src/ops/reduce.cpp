// Reductions. A reduction over one dimension views x as (outer, D, inner);
// several dimensions reduce one after another. Backward broadcasts dy back
// (sum, mean) or routes it to the saved argmax (max); autograd accumulates (+=).
#include "convnet/ops/reduce.h"

#include <algorithm>
#include <type_traits>

#include "convnet/autograd.h"
#include "convnet/ops/elementwise.h"
#include "dispatch.h"

namespace convnet {

namespace {

int64_t wrap_dim(int64_t d, int64_t ndim, const char* op, const Shape& shape) {
  int64_t n = std::max<int64_t>(ndim, 1);
  if (d < -n || d >= n)
    throw IndexError(cat_str(op, ": dimension ", d, " out of range for a tensor of shape ",
                                    shape_str(shape), " (expected in [", -n, ", ", n - 1, "])"));
  return d < 0 ? d + n : d;
}

// Sorted, unique, wrapped dims; empty input means all dims.
std::vector<int64_t> norm_dims(std::vector<int64_t> dims, const Tensor& x, const char* op) {
  if (dims.empty()) {
    for (int64_t i = 0; i < x.dim(); ++i) dims.push_back(i);
    return dims;
  }
  for (auto& d : dims) d = wrap_dim(d, x.dim(), op, x.shape());
  std::sort(dims.begin(), dims.end());
  CONVNET_CHECK(std::adjacent_find(dims.begin(), dims.end()) == dims.end(), op,
                ": a dimension appears twice in the list of dimensions");
  return dims;
}

Shape reduced_shape(const Shape& s, const std::vector<int64_t>& dims, bool keepdim) {
  Shape out;
  for (int64_t i = 0; i < static_cast<int64_t>(s.size()); ++i) {
    bool r = std::find(dims.begin(), dims.end(), i) != dims.end();
    if (!r)
      out.push_back(s[i]);
    else if (keepdim)
      out.push_back(1);
  }
  return out;
}

void split(const Shape& s, int64_t dim, int64_t& outer, int64_t& D, int64_t& inner) {
  outer = size_product(s, 0, static_cast<size_t>(dim), "reduce");
  D = s.empty() ? 1 : s[dim];
  inner = s.empty() ? 1 : size_product(s, static_cast<size_t>(dim) + 1, s.size(), "reduce");
}

Tensor sum_values(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  if (!x.is_contiguous()) return sum_values(x.contiguous(), dims, keepdim);
  DType out_dtype = is_floating(x.dtype()) ? x.dtype() : DType::Int64;
  const Device dev = common_device("sum", {&x});
  Tensor cur = x;
  Shape cur_shape = x.shape();
  // reduce the highest dims first so lower indices stay valid
  for (auto it = dims.rbegin(); it != dims.rend(); ++it) {
    int64_t outer, D, inner;
    split(cur_shape, *it, outer, D, inner);
    Shape next_shape = cur_shape;
    if (!next_shape.empty()) next_shape[*it] = 1;
    Tensor next = Tensor::empty(next_shape, out_dtype, dev);
    dispatch_all(cur.dtype(), [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      using A = std::conditional_t<std::is_floating_point_v<T>, T, int64_t>;  // out_dtype
      CONVNET_KERNEL(dev, sum_dim, <T, A>)(outer, D, inner, cur.data<T>(), next.data<A>());
    });
    cur = next;
    cur_shape = next_shape;
  }
  if (dims.empty()) cur = cur.to(out_dtype).clone();  // 0-d or no reduced dims: a copy
  return cur.reshape(reduced_shape(x.shape(), dims, keepdim));
}

}  // namespace

Tensor sum(const Tensor& x, std::vector<int64_t> dims_in, bool keepdim) {
  std::vector<int64_t> dims = norm_dims(std::move(dims_in), x, "sum");
  Tensor out;
  {
    NoGradGuard g;
    out = sum_values(x, dims, keepdim);
  }
  if (autograd::needs_record({x})) {
    Shape in_shape = x.shape(), kept = reduced_shape(x.shape(), dims, true);
    autograd::record(out, "sum", {x}, [in_shape, kept](const Tensor& dy, const std::vector<bool>&) {
      // broadcast dy (kept shape) over the reduced dims
      return std::vector<Tensor>{add(zeros(in_shape, dy.dtype(), dy.device()), dy.reshape(kept))};
    });
  }
  return out;
}

Tensor mean(const Tensor& x, std::vector<int64_t> dims_in, bool keepdim) {
  CONVNET_CHECK(is_floating(x.dtype()), "mean: expected a floating point tensor, got ",
                dtype_name(x.dtype()), "; convert with .float() first");
  std::vector<int64_t> dims = norm_dims(std::move(dims_in), x, "mean");
  Shape reduced;
  for (int64_t d : dims) reduced.push_back(x.shape()[d]);
  const int64_t count = size_product(reduced, 0, reduced.size(), "mean");
  return div(sum(x, dims, keepdim), static_cast<double>(count));
}

std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim_in, bool keepdim) {
  if (!x.is_contiguous()) return max(x.contiguous(), dim_in, keepdim);
  int64_t dim = wrap_dim(dim_in, x.dim(), "max", x.shape());
  CONVNET_CHECK(x.numel() > 0, "max: cannot reduce an empty tensor of shape ", shape_str(x.shape()));
  int64_t outer, D, inner;
  split(x.shape(), dim, outer, D, inner);
  Shape kept = x.shape();
  if (!kept.empty()) kept[dim] = 1;
  const Device dev = common_device("max", {&x});
  Tensor values = Tensor::empty(kept, x.dtype(), dev), indices = Tensor::empty(kept, DType::Int64, dev);
  dispatch_all(x.dtype(), [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    CONVNET_KERNEL(dev, max_forward, <T>)(outer, D, inner, x.data<T>(), values.data<T>(),
                                          indices.data<int64_t>());
  });
  Shape out_shape = reduced_shape(x.shape(), {dim}, keepdim);
  Tensor v = values.reshape(out_shape), idx = indices.reshape(out_shape);
  if (autograd::needs_record({x})) {
    Shape in_shape = x.shape();
    // indices saved: dy goes to the position of each maximum
    autograd::record(v, "max", {x}, [in_shape, indices, outer, D, inner](
                                        const Tensor& dy, const std::vector<bool>&) {
      const Device dev = common_device("max", {&indices, &dy});
      Tensor dx = Tensor::empty(in_shape, dy.dtype(), dev);
      dispatch_floating(dy.dtype(), "max", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        CONVNET_KERNEL(dev, max_backward, <T>)(outer, D, inner, dy.data<T>(), indices.data<int64_t>(),
                                               dx.data<T>());
      });
      return std::vector<Tensor>{dx};
    });
  }
  return {v, idx};
}

Tensor max(const Tensor& x) { return max(x.reshape({-1}), 0, false).first; }

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  NoGradGuard g;
  return max(x, dim, keepdim).second;
}

}  // namespace convnet
