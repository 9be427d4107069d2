// Elementwise arithmetic with broadcasting, unary math, comparisons.
// Shapes: a, b broadcast to out. Backward returns gradients (summed over
// broadcast dimensions); autograd accumulates them (+=) into .grad.
#include "convnet/ops/elementwise.h"

#include <cmath>

#include "convnet/autograd.h"
#include "convnet/ops/reduce.h"
#include "cpu/elementwise.h"

namespace convnet {

DType promote(DType a, DType b) {
  auto rank = [](DType t) {
    switch (t) {
      case DType::Bool: return 0;
      case DType::UInt8: return 1;
      case DType::Int64: return 2;
      case DType::Float32: return 3;
      case DType::Float64: return 4;
    }
    return 0;
  };
  return rank(a) >= rank(b) ? a : b;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    CONVNET_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", shape_str(a), " and ",
                  shape_str(b), " cannot be broadcast together (dimension ", i, ": ", da, " vs ",
                  db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

namespace {

// Strides of `in` read through the broadcast `out` shape (0 on broadcast dims).
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> st(out.size(), 0);
  int64_t s = 1;
  for (int64_t i = static_cast<int64_t>(in.size()) - 1; i >= 0; --i) {
    size_t o = out.size() - in.size() + i;
    st[o] = in[i] == 1 ? 0 : s;
    s *= in[i];
  }
  return st;
}

template <typename F>
Tensor binary_values(const Tensor& a, const Tensor& b, const char* op, DType out_dtype, F f) {
  Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  DType common = promote(a.dtype(), b.dtype());
  Tensor ca = a.to(common), cb = b.to(common);
  Tensor out = Tensor::empty(shape, out_dtype == DType::Bool ? DType::Bool : common);
  auto sa = broadcast_strides(a.shape(), shape), sb = broadcast_strides(b.shape(), shape);
  dispatch_all(common, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    if (out_dtype == DType::Bool)
      cpu::binary_kernel(shape, ca.data<T>(), sa, cb.data<T>(), sb, out.data<bool>(),
                         [&](T x, T y) { return f(x, y); });
    else
      cpu::binary_kernel(shape, ca.data<T>(), sa, cb.data<T>(), sb, out.data<T>(),
                         [&](T x, T y) { return static_cast<T>(f(x, y)); });
  });
  return out;
}

template <typename F>
Tensor unary_values(const Tensor& a, DType dtype, F f) {
  Tensor ca = a.to(dtype);
  Tensor out = Tensor::empty(a.shape(), dtype);
  dispatch_all(dtype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    cpu::unary_kernel(a.numel(), ca.data<T>(), out.data<T>(),
                      [&](T x) { return static_cast<T>(f(x)); });
  });
  return out;
}

DType floating_of(DType t) { return is_floating(t) ? t : DType::Float32; }

Tensor scalar_like(const Tensor& a, double s) {
  bool integral = std::floor(s) == s;
  DType dt = is_floating(a.dtype()) || (integral && a.dtype() != DType::Bool) ? a.dtype()
                                                                             : DType::Float32;
  return scalar_tensor(s, dt);
}

}  // namespace

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const size_t lead = g.shape().size() - shape.size();
  std::vector<int64_t> dims;
  for (size_t i = 0; i < g.shape().size(); ++i)
    if (i < lead || (shape[i - lead] == 1 && g.shape()[i] != 1)) dims.push_back(i);
  return sum(g, dims, true).reshape(shape);
}

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_values(a, b, "add", DType::Float32, [](auto x, auto y) { return x + y; });
  if (autograd::needs_record({a, b})) {
    Shape sa = a.shape(), sb = b.shape();
    autograd::record(out, "add", {a, b}, [sa, sb](const Tensor& dy, const std::vector<bool>& n) {
      return std::vector<Tensor>{n[0] ? sum_to(dy, sa) : Tensor(), n[1] ? sum_to(dy, sb) : Tensor()};
    });
  }
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_values(a, b, "sub", DType::Float32, [](auto x, auto y) { return x - y; });
  if (autograd::needs_record({a, b})) {
    Shape sa = a.shape(), sb = b.shape();
    autograd::record(out, "sub", {a, b}, [sa, sb](const Tensor& dy, const std::vector<bool>& n) {
      return std::vector<Tensor>{n[0] ? sum_to(dy, sa) : Tensor(),
                                 n[1] ? sum_to(neg(dy), sb) : Tensor()};
    });
  }
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_values(a, b, "mul", DType::Float32, [](auto x, auto y) { return x * y; });
  if (autograd::needs_record({a, b})) {
    // a and b saved: each one's gradient is dy times the other
    autograd::record(out, "mul", {a, b}, [a = a.detach(), b = b.detach()](
                                             const Tensor& dy, const std::vector<bool>& n) {
      return std::vector<Tensor>{n[0] ? sum_to(mul(dy, b), a.shape()) : Tensor(),
                                 n[1] ? sum_to(mul(dy, a), b.shape()) : Tensor()};
    });
  }
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  bool integral = !is_floating(promote(a.dtype(), b.dtype()));
  // true division, as PyTorch: integer operands give float32
  Tensor fa = integral ? a.to(DType::Float32) : a, fb = integral ? b.to(DType::Float32) : b;
  Tensor out = binary_values(fa, fb, "div", DType::Float32, [](auto x, auto y) { return x / y; });
  if (autograd::needs_record({a, b})) {
    // a and b saved: da = dy / b, db = -dy a / b²
    autograd::record(out, "div", {a, b}, [a = fa.detach(), b = fb.detach()](
                                             const Tensor& dy, const std::vector<bool>& n) {
      return std::vector<Tensor>{
          n[0] ? sum_to(div(dy, b), a.shape()) : Tensor(),
          n[1] ? sum_to(neg(div(mul(dy, a), mul(b, b))), b.shape()) : Tensor()};
    });
  }
  return out;
}

Tensor add(const Tensor& a, double s) { return add(a, scalar_like(a, s)); }
Tensor sub(const Tensor& a, double s) { return sub(a, scalar_like(a, s)); }
Tensor rsub(const Tensor& a, double s) { return sub(scalar_like(a, s), a); }
Tensor mul(const Tensor& a, double s) { return mul(a, scalar_like(a, s)); }
Tensor div(const Tensor& a, double s) { return div(a, scalar_like(a, s)); }
Tensor rdiv(const Tensor& a, double s) { return div(scalar_like(a, s), a); }

Tensor neg(const Tensor& a) {
  CONVNET_CHECK(a.dtype() != DType::Bool, "neg: negation of a bool tensor is not supported");
  Tensor out = unary_values(a, a.dtype(), [](auto x) { return -x; });
  if (autograd::needs_record({a}))
    autograd::record(out, "neg", {a}, [](const Tensor& dy, const std::vector<bool>&) {
      return std::vector<Tensor>{neg(dy)};
    });
  return out;
}

Tensor exp(const Tensor& a) {
  Tensor out = unary_values(a, floating_of(a.dtype()), [](auto x) { return std::exp(x); });
  if (autograd::needs_record({a}))
    // the output is saved: d exp(a) = exp(a)
    autograd::record(out, "exp", {a}, [y = out.detach()](const Tensor& dy, const std::vector<bool>&) {
      return std::vector<Tensor>{mul(dy, y)};
    });
  return out;
}

Tensor log(const Tensor& a) {
  Tensor out = unary_values(a, floating_of(a.dtype()), [](auto x) { return std::log(x); });
  if (autograd::needs_record({a}))
    autograd::record(out, "log", {a}, [x = a.detach()](const Tensor& dy, const std::vector<bool>&) {
      return std::vector<Tensor>{div(dy, x)};
    });
  return out;
}

Tensor sqrt(const Tensor& a) {
  Tensor out = unary_values(a, floating_of(a.dtype()), [](auto x) { return std::sqrt(x); });
  if (autograd::needs_record({a}))
    autograd::record(out, "sqrt", {a}, [y = out.detach()](const Tensor& dy, const std::vector<bool>&) {
      return std::vector<Tensor>{div(mul(dy, 0.5), y)};
    });
  return out;
}

Tensor abs(const Tensor& a) {
  CONVNET_CHECK(a.dtype() != DType::Bool, "abs: not supported for bool tensors");
  Tensor out = unary_values(a, a.dtype(), [](auto x) {
    if constexpr (std::is_same_v<decltype(x), bool>)
      return x;
    else
      return x < 0 ? -x : x;
  });
  if (autograd::needs_record({a}))
    autograd::record(out, "abs", {a}, [x = a.detach()](const Tensor& dy, const std::vector<bool>&) {
      Tensor sign = unary_values(x, x.dtype(), [](auto v) {
        if constexpr (std::is_same_v<decltype(v), bool>)
          return v;
        else
          return (v > 0) - (v < 0);
      });
      return std::vector<Tensor>{mul(dy, sign)};
    });
  return out;
}

Tensor pow(const Tensor& a, double e) {
  Tensor out = unary_values(a, floating_of(a.dtype()), [e](auto x) { return std::pow(x, e); });
  if (autograd::needs_record({a}))
    autograd::record(out, "pow", {a}, [x = a.detach(), e](const Tensor& dy, const std::vector<bool>&) {
      return std::vector<Tensor>{mul(dy, mul(pow(x, e - 1), e))};
    });
  return out;
}

Tensor compare(const Tensor& a, const Tensor& b, CompareOp op) {
  switch (op) {
    case CompareOp::Eq: return binary_values(a, b, "eq", DType::Bool, [](auto x, auto y) { return x == y; });
    case CompareOp::Ne: return binary_values(a, b, "ne", DType::Bool, [](auto x, auto y) { return x != y; });
    case CompareOp::Lt: return binary_values(a, b, "lt", DType::Bool, [](auto x, auto y) { return x < y; });
    case CompareOp::Le: return binary_values(a, b, "le", DType::Bool, [](auto x, auto y) { return x <= y; });
    case CompareOp::Gt: return binary_values(a, b, "gt", DType::Bool, [](auto x, auto y) { return x > y; });
    case CompareOp::Ge: return binary_values(a, b, "ge", DType::Bool, [](auto x, auto y) { return x >= y; });
  }
  return Tensor();
}

Tensor compare(const Tensor& a, double s, CompareOp op) {
  DType dt = is_floating(a.dtype()) ? a.dtype()
              : std::floor(s) == s ? DType::Int64
                                   : DType::Float64;
  return compare(a, scalar_tensor(s, dt), op);
}

}  // namespace convnet
