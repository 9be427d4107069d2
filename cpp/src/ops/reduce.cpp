// Reductions and scans. A reduction over one dimension views x as (outer, D, inner);
// several dimensions reduce one after another. Backward broadcasts dy back (sum, mean),
// routes it to the saved indices (max and min along a dimension), spreads it over ties
// (amax, amin, full max and min), or is composed of differentiable ops (var, std, norm);
// autograd accumulates (+=). When backward records (create_graph), every backward is written with
// differentiable ops (take_backward and reversed cumsum as ops of dy, prod as a product over each
// lane without one element, std and norm recomputed from their input), for double backward.
#include "convnet/ops/reduce.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "convnet/autograd.h"
#include "convnet/ops/elementwise.h"
#include "convnet/ops/index.h"
#include "convnet/ops/view.h"
#include "dispatch.h"
#include "ops/dims.h"

namespace convnet {

int64_t wrap_dim(int64_t d, int64_t ndim, const char* op, const Shape& shape) {
  int64_t n = std::max<int64_t>(ndim, 1);
  if (d < -n || d >= n)
    throw IndexError(cat_str(op, ": dimension ", d, " out of range for a tensor of shape ",
                                    shape_str(shape), " (expected in [", -n, ", ", n - 1, "])"));
  return d < 0 ? d + n : d;
}

void split(const Shape& s, int64_t dim, int64_t& outer, int64_t& D, int64_t& inner) {
  outer = size_product(s, 0, static_cast<size_t>(dim), "reduce");
  D = s.empty() ? 1 : s[dim];
  inner = s.empty() ? 1 : size_product(s, static_cast<size_t>(dim) + 1, s.size(), "reduce");
}

namespace {

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

namespace {

// The maximum (minimum when smallest) along dim with its indices.
std::pair<Tensor, Tensor> extremum_dim(const Tensor& x, int64_t dim_in, bool keepdim, bool smallest) {
  if (!x.is_contiguous()) return extremum_dim(x.contiguous(), dim_in, keepdim, smallest);
  const char* op = smallest ? "min" : "max";
  int64_t dim = wrap_dim(dim_in, x.dim(), op, x.shape());
  CONVNET_CHECK(x.numel() > 0, op, ": cannot reduce an empty tensor of shape ", shape_str(x.shape()));
  int64_t outer, D, inner;
  split(x.shape(), dim, outer, D, inner);
  Shape kept = x.shape();
  if (!kept.empty()) kept[dim] = 1;
  const Device dev = common_device(op, {&x});
  Tensor values = Tensor::empty(kept, x.dtype(), dev), indices = Tensor::empty(kept, DType::Int64, dev);
  dispatch_all(x.dtype(), [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    CONVNET_KERNEL(dev, max_forward, <T>)(outer, D, inner, smallest, x.data<T>(), values.data<T>(),
                                          indices.data<int64_t>());
  });
  Shape out_shape = reduced_shape(x.shape(), {dim}, keepdim);
  Tensor v = values.reshape(out_shape), idx = indices.reshape(out_shape);
  if (autograd::needs_record({x})) {
    // indices saved: dy goes to the position of each extremum
    autograd::record(v, op, {x}, [in_shape = x.shape(), indices, outer, D, inner, op](
                                     const Tensor& dy, const std::vector<bool>&) {
      return std::vector<Tensor>{take_backward(dy, indices, in_shape, outer, D, 1, inner, op)};
    });
  }
  return {v, idx};
}

// The maximum (minimum) over dims; the gradient spread evenly over the elements equal to it.
Tensor extremum(const Tensor& x, std::vector<int64_t> dims_in, bool keepdim, bool smallest, const char* op) {
  if (!x.is_contiguous()) return extremum(x.contiguous(), std::move(dims_in), keepdim, smallest, op);
  std::vector<int64_t> dims = norm_dims(std::move(dims_in), x, op);
  CONVNET_CHECK(x.numel() > 0, op, ": cannot reduce an empty tensor of shape ", shape_str(x.shape()));
  Tensor cur = x;
  {
    NoGradGuard g;
    for (auto it = dims.rbegin(); it != dims.rend(); ++it) cur = extremum_dim(cur, *it, true, smallest).first;
    if (dims.empty()) cur = cur.clone();
  }
  Tensor out = cur.reshape(reduced_shape(x.shape(), dims, keepdim));
  if (autograd::needs_record({x})) {
    // x and the result saved: dy / (number of ties) at each element equal to the result
    autograd::record(out, op, {x}, [x = x.detach(), y = cur, dims](const Tensor& dy, const std::vector<bool>&) {
      Tensor mask = compare(x, y, CompareOp::Eq).to(dy.dtype());
      Tensor count = sum(mask, dims, true);
      return std::vector<Tensor>{mul(mask, div(dy.reshape(y.shape()), count))};
    });
  }
  return out;
}

// The reduction of one floating dimension's size product over dims (the N of mean and var).
int64_t count_of(const Tensor& x, const std::vector<int64_t>& dims, const char* op) {
  Shape reduced;
  for (int64_t d : dims) reduced.push_back(x.shape()[d]);
  return size_product(reduced, 0, reduced.size(), op);
}

void check_floating(const Tensor& x, const char* op) {
  CONVNET_CHECK(is_floating(x.dtype()), op, ": expected a floating point tensor, got ", dtype_name(x.dtype()),
                " of shape ", shape_str(x.shape()), "; convert with .float() first");
}

// a / b, 0 where b is 0 (the std and norm of a constant lane); differentiable in a and b when
// backward records (the zeros get no gradient), else the fused kernel.
Tensor div_or_zero_graph(const Tensor& a, const Tensor& b) {
  if (!autograd::grad_enabled()) return div_or_zero(a, b);
  const Tensor zero = compare(b, 0.0, CompareOp::Eq);
  return where(zero, scalar_tensor(0, a.dtype(), a.device()),
               div(a, where(zero, scalar_tensor(1, b.dtype(), b.device()), b)));
}

// Along dim with a kernel over (outer, D, inner) writing a tensor of x's shape (scans).
template <typename Run>
Tensor scan(const Tensor& x, int64_t dim, DType out_dtype, const char* op, const Run& run) {
  if (!x.is_contiguous()) return scan(x.contiguous(), dim, out_dtype, op, run);
  const Device dev = common_device(op, {&x});
  int64_t outer, D, inner;
  split(x.shape(), dim, outer, D, inner);
  Tensor out = Tensor::empty(x.shape(), out_dtype, dev);
  run(dev, outer, D, inner, out);
  return out;
}

}  // namespace

Tensor take_backward(const Tensor& dy, const Tensor& indices, const Shape& in_shape, int64_t outer, int64_t D,
                     int64_t K, int64_t inner, const char* op) {
  const Device dev = common_device(op, {&indices, &dy});
  Tensor dx = zeros(in_shape, dy.dtype(), dev);
  dispatch_floating(dy.dtype(), op, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    CONVNET_KERNEL(dev, take_backward, <T>)(outer, D, K, inner, dy.data<T>(), indices.data<int64_t>(),
                                            dx.data<T>());
  });
  // its adjoint reads the values at the indices back
  return autograd::record_linear(dx, dy, "take_backward", [indices, dy_shape = dy.shape(), outer, D, K, inner](
                                                             const Tensor& ddx) {
    return gather(ddx.reshape({outer, D, inner}), 1, indices.reshape({outer, K, inner})).reshape(dy_shape);
  });
}

std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) {
  return extremum_dim(x, dim, keepdim, false);
}
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) {
  return extremum_dim(x, dim, keepdim, true);
}

Tensor max(const Tensor& x) { return extremum(x, {}, false, false, "max"); }
Tensor min(const Tensor& x) { return extremum(x, {}, false, true, "min"); }
Tensor amax(const Tensor& x, std::vector<int64_t> dims, bool keepdim) {
  return extremum(x, std::move(dims), keepdim, false, "amax");
}
Tensor amin(const Tensor& x, std::vector<int64_t> dims, bool keepdim) {
  return extremum(x, std::move(dims), keepdim, true, "amin");
}

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  NoGradGuard g;
  return extremum_dim(x, dim, keepdim, false).second;
}
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim) {
  NoGradGuard g;
  return extremum_dim(x, dim, keepdim, true).second;
}

Tensor prod(const Tensor& x, int64_t dim_in, bool keepdim) {
  if (!x.is_contiguous()) return prod(x.contiguous(), dim_in, keepdim);
  const int64_t dim = wrap_dim(dim_in, x.dim(), "prod", x.shape());
  const DType out_dtype = is_floating(x.dtype()) ? x.dtype() : DType::Int64;
  const Device dev = common_device("prod", {&x});
  int64_t outer, D, inner;
  split(x.shape(), dim, outer, D, inner);
  Shape kept = x.shape();
  if (!kept.empty()) kept[dim] = 1;
  Tensor y = Tensor::empty(kept, out_dtype, dev);
  dispatch_all(x.dtype(), [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    using A = std::conditional_t<std::is_floating_point_v<T>, T, int64_t>;  // out_dtype
    CONVNET_KERNEL(dev, prod_dim, <T, A>)(outer, D, inner, x.data<T>(), y.data<A>());
  });
  Tensor out = y.reshape(reduced_shape(x.shape(), {dim}, keepdim));
  if (autograd::needs_record({x})) {
    // x saved: dy times the product of the other values of each lane; when backward records, that
    // product is prod over a (outer, D, D, inner) expansion of the lane with 1 on the diagonal
    autograd::record(out, "prod", {x}, [x, outer, D, inner](const Tensor& dy, const std::vector<bool>&) {
      const Device dev = common_device("prod", {&x, &dy});
      if (autograd::grad_enabled()) {
        const Tensor i = arange(0, static_cast<double>(D), 1, DType::Int64, dev);
        const Tensor diagonal = compare(i.reshape({1, D, 1, 1}), i.reshape({1, 1, D, 1}), CompareOp::Eq);
        const Tensor lanes = expand(x.reshape({outer, 1, D, inner}), {outer, D, D, inner});
        const Tensor others = prod(where(diagonal, scalar_tensor(1, x.dtype(), dev), lanes), 2, false);
        return std::vector<Tensor>{mul(others, dy.reshape({outer, 1, inner})).reshape(x.shape())};
      }
      Tensor dx = Tensor::empty(x.shape(), x.dtype(), dev);
      dispatch_floating(x.dtype(), "prod", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        CONVNET_KERNEL(dev, prod_backward, <T>)(outer, D, inner, x.data<T>(), dy.data<T>(), dx.data<T>());
      });
      return std::vector<Tensor>{dx};
    });
  }
  return out;
}

Tensor prod(const Tensor& x) { return prod(x.reshape({-1}), 0, false); }

Tensor var(const Tensor& x, std::vector<int64_t> dims_in, double correction, bool keepdim) {
  check_floating(x, "var");
  std::vector<int64_t> dims = norm_dims(std::move(dims_in), x, "var");
  const double n = static_cast<double>(count_of(x, dims, "var"));
  Tensor d = sub(x, mean(x, dims, true));
  return div(sum(mul(d, d), dims, keepdim), std::max(0.0, n - correction));
}

Tensor std(const Tensor& x, std::vector<int64_t> dims_in, double correction, bool keepdim) {
  check_floating(x, "std");
  std::vector<int64_t> dims = norm_dims(std::move(dims_in), x, "std");
  Tensor out;
  {
    NoGradGuard g;
    out = sqrt(var(x, dims, correction, keepdim));
  }
  if (autograd::needs_record({x})) {
    // x and the result saved: dx = dy (x - mean) / (std (N - correction)), 0 where std is 0
    const double n = static_cast<double>(count_of(x, dims, "std"));
    const Shape kept = reduced_shape(x.shape(), dims, true);
    autograd::record(out, "std", {x}, [x, s = out.detach(), dims, kept, n, correction](
                                          const Tensor& dy, const std::vector<bool>&) {
      // when backward records, the std recomputed from x (differentiable), else the saved one
      const Tensor sd = autograd::grad_enabled() ? sqrt(var(x, dims, correction, true)) : s;
      Tensor g = div_or_zero_graph(dy.reshape(kept), sd.reshape(kept));
      return std::vector<Tensor>{div(mul(g, sub(x, mean(x, dims, true))), std::max(0.0, n - correction))};
    });
  }
  return out;
}

Tensor norm(const Tensor& x, double p, std::vector<int64_t> dims_in, bool keepdim) {
  check_floating(x, "norm");
  std::vector<int64_t> dims = norm_dims(std::move(dims_in), x, "norm");
  if (p == 1) return sum(abs(x), dims, keepdim);
  if (std::isinf(p)) return p > 0 ? amax(abs(x), dims, keepdim) : amin(abs(x), dims, keepdim);
  if (p == 0) {
    NoGradGuard g;
    return sum(compare(x, 0.0, CompareOp::Ne), dims, keepdim).to(x.dtype());
  }
  if (p != 2) return pow(sum(pow(abs(x), p), dims, keepdim), 1.0 / p);
  Tensor out;
  {
    NoGradGuard g;
    out = sqrt(sum(mul(x, x), dims, keepdim));
  }
  if (autograd::needs_record({x})) {
    // x and the norm saved: dx = dy x / norm, 0 where the norm is 0
    const Shape kept = reduced_shape(x.shape(), dims, true);
    autograd::record(out, "norm", {x}, [x, y = out.detach(), dims, kept](const Tensor& dy,
                                                                         const std::vector<bool>&) {
      // when backward records, the norm recomputed from x (differentiable), else the saved one
      const Tensor nrm = autograd::grad_enabled() ? sqrt(sum(mul(x, x), dims, true)) : y;
      return std::vector<Tensor>{mul(x, div_or_zero_graph(dy.reshape(kept), nrm.reshape(kept)))};
    });
  }
  return out;
}

namespace {

// Running sums along dim, from the end with reverse; the backward of each direction is the other.
Tensor cumsum_impl(const Tensor& x, int64_t dim_in, bool reverse) {
  if (!x.is_contiguous()) return cumsum_impl(x.contiguous(), dim_in, reverse);
  const int64_t dim = wrap_dim(dim_in, x.dim(), "cumsum", x.shape());
  const DType out_dtype = is_floating(x.dtype()) ? x.dtype() : DType::Int64;
  Tensor out = scan(x, dim, out_dtype, "cumsum", [&](Device dev, int64_t outer, int64_t D, int64_t inner, Tensor& y) {
    dispatch_all(x.dtype(), [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      using A = std::conditional_t<std::is_floating_point_v<T>, T, int64_t>;  // out_dtype
      CONVNET_KERNEL(dev, cumsum, <T, A>)(outer, D, inner, reverse, x.data<T>(), y.data<A>());
    });
  });
  if (autograd::needs_record({x})) {
    // dx = running sums of dy in the other direction
    autograd::record(out, "cumsum", {x}, [dim, reverse](const Tensor& dy, const std::vector<bool>&) {
      return std::vector<Tensor>{cumsum_impl(dy, dim, !reverse)};
    });
  }
  return out;
}

}  // namespace

Tensor cumsum(const Tensor& x, int64_t dim_in) { return cumsum_impl(x, dim_in, false); }

Tensor any(const Tensor& x, std::vector<int64_t> dims, bool keepdim) {
  NoGradGuard g;
  Tensor r = compare(sum(compare(x, 0.0, CompareOp::Ne), std::move(dims), keepdim), 0.0, CompareOp::Gt);
  return x.dtype() == DType::UInt8 ? r.to(DType::UInt8) : r;
}

Tensor all(const Tensor& x, std::vector<int64_t> dims, bool keepdim) {
  NoGradGuard g;
  Tensor r = compare(sum(compare(x, 0.0, CompareOp::Eq), std::move(dims), keepdim), 0.0, CompareOp::Eq);
  return x.dtype() == DType::UInt8 ? r.to(DType::UInt8) : r;
}

}  // namespace convnet
