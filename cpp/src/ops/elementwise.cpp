// Elementwise arithmetic with broadcasting, unary math, comparisons, on the
// operands' device (functors of pointwise.h). Shapes: a, b broadcast to out.
// Backward returns gradients (summed over broadcast dimensions); autograd
// accumulates them (+=) into .grad. Backward computes with these differentiable ops on the
// inputs themselves (not detached copies), so that create_graph records it; exp, sqrt and rsqrt
// save their output, which their backward reads as the running node's (saved_output).
#include "convnet/ops/elementwise.h"

#include <cmath>
#include <limits>
#include <type_traits>

#include "convnet/autograd.h"
#include "convnet/ops/index.h"
#include "convnet/ops/reduce.h"
#include "cpu/elementwise.h"
#include "dispatch.h"
#include "pointwise.h"

namespace convnet {

DType promote(DType a, DType b) {
  auto rank = [](DType t) {
    switch (t) {
      case DType::Bool: return 0;
      case DType::UInt8: return 1;
      case DType::Int32: return 2;
      case DType::Int64: return 3;
      case DType::BFloat16:
      case DType::Float16: return 4;
      case DType::Float32: return 5;
      case DType::Float64: return 6;
    }
    return 0;
  };
  if (a != b && rank(a) == 4 && rank(b) == 4) return DType::Float32;  // bfloat16 with float16, as PyTorch
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

// The Broadcast (cpu/kernels.h) of operands a and b read over `out` through their strides (0 on
// broadcast dimensions), dimensions of size 1 dropped, neighbours contiguous for both merged.
cpu::Broadcast make_broadcast(const Tensor& ta, const Tensor& tb, const Shape& out, const char* op) {
  const Shape &a = ta.shape(), &b = tb.shape();
  const size_t nd = out.size();
  auto strides = [&](const Tensor& t) {
    std::vector<int64_t> st(nd, 0);
    for (size_t i = t.shape().size(); i-- > 0;) st[nd - t.shape().size() + i] = t.shape()[i] == 1 ? 0 : t.strides()[i];
    return st;
  };
  const std::vector<int64_t> sa = strides(ta), sb = strides(tb);
  std::vector<int64_t> shape, ka, kb;
  for (size_t d = 0; d < nd; ++d) {
    if (out[d] == 1) continue;
    if (!shape.empty() && ka.back() == sa[d] * out[d] && kb.back() == sb[d] * out[d]) {
      shape.back() *= out[d];
      ka.back() = sa[d];
      kb.back() = sb[d];
    } else {
      shape.push_back(out[d]);
      ka.push_back(sa[d]);
      kb.push_back(sb[d]);
    }
  }
  CONVNET_CHECK(shape.size() <= static_cast<size_t>(cpu::kMaxDims), op, ": shapes ", shape_str(a), " and ",
                shape_str(b), " broadcast over ", shape.size(), " separate dimensions, expected at most ",
                cpu::kMaxDims);
  cpu::Broadcast s{};
  s.nd = static_cast<int>(shape.size());
  s.n = numel_of(out);
  for (int d = 0; d < s.nd; ++d) {
    s.shape[d] = shape[d];
    s.sa[d] = ka[d];
    s.sb[d] = kb[d];
  }
  return s;
}

// Calls run(T*) for the dtypes functor F is defined for (pointwise.h's kFloating).
template <typename F, typename Run>
void dispatch_for(DType dtype, const char* op, const Run& run) {
  if constexpr (pw::floating_only<F>::value)
    dispatch_floating(dtype, op, run);
  else
    dispatch_all(dtype, run);
}

// f(a, b) with broadcasting in the promoted dtype; the result has that dtype, or bool when f
// compares. The operands are read through their strides (views need no copy).
template <typename F>
Tensor binary_values(const Tensor& a, const Tensor& b, const char* op, F f = F()) {
  const Device dev = common_device(op, {&a, &b});
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  const DType common = promote(a.dtype(), b.dtype());
  const Tensor ca = a.to(common), cb = b.to(common);
  const cpu::Broadcast s = make_broadcast(ca, cb, shape, op);
  Tensor out;
  dispatch_for<F>(common, op, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    using U = decltype(f(T(), T()));
    out = Tensor::empty(shape, std::is_same_v<U, bool> ? DType::Bool : common, dev);
    CONVNET_KERNEL(dev, binary, <T, U, F>)(s, static_cast<const T*>(ca.element_ptr()),
                                           static_cast<const T*>(cb.element_ptr()), out.data<U>(), f);
  });
  return out;
}

// f(a) in `dtype` (a converted to it); the result has that dtype, or bool when f is a predicate.
template <typename F>
Tensor unary_values(const Tensor& a, DType dtype, const char* op, F f = F()) {
  const Device dev = common_device(op, {&a});
  const Tensor ca = a.contiguous().to(dtype);
  Tensor out;
  dispatch_for<F>(dtype, op, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    using U = decltype(f(T()));
    out = Tensor::empty(a.shape(), std::is_same_v<U, bool> ? DType::Bool : dtype, dev);
    CONVNET_KERNEL(dev, unary, <T, U, F>)(a.numel(), ca.data<T>(), out.data<U>(), f);
  });
  return out;
}

// Records a zero gradient for a's consumers (rounding, sign: piecewise constant, as PyTorch).
Tensor with_zero_grad(Tensor out, const char* op, const Tensor& a) {
  if (autograd::needs_record({a}))
    autograd::record(out, op, {a}, [](const Tensor& dy, const std::vector<bool>&) {
      return std::vector<Tensor>{zeros_like(dy)};
    });
  return out;
}

// A rounding op: f over floating tensors, a copy of integer ones.
template <typename F>
Tensor rounding(const Tensor& a, const char* op, F f = F()) {
  if (!is_floating(a.dtype())) return a.clone();
  return with_zero_grad(unary_values(a, a.dtype(), op, f), op, a);
}

// The share of the gradient of maximum (less: minimum) that goes to a, against b: 0 where a
// loses, 1/2 at ties, else 1 (also where either is NaN, as PyTorch).
Tensor extremum_weight(const Tensor& a, const Tensor& b, bool less, DType dt) {
  Tensor loses = compare(a, b, less ? CompareOp::Gt : CompareOp::Lt).to(dt);
  return rsub(add(loses, mul(compare(a, b, CompareOp::Eq).to(dt), 0.5)), 1.0);
}

template <typename F>
Tensor extremum(const Tensor& a, const Tensor& b, const char* op, bool less) {
  Tensor out = binary_values<F>(a, b, op);
  if (autograd::needs_record({a, b})) {
    autograd::record(out, op, {a, b}, [a = a.detach(), b = b.detach(), less](
                                          const Tensor& dy, const std::vector<bool>& n) {
      return std::vector<Tensor>{
          n[0] ? sum_to(mul(dy, extremum_weight(a, b, less, dy.dtype())), a.shape()) : Tensor(),
          n[1] ? sum_to(mul(dy, extremum_weight(b, a, less, dy.dtype())), b.shape()) : Tensor()};
    });
  }
  return out;
}

DType floating_of(DType t) { return is_floating(t) ? t : DType::Float32; }

// An op's output y that its backward saved (detached, to avoid a cycle), as the backward reads it:
// when backward records (create_graph), as the output of the running node, so that a derivative
// written in y differentiates through it.
Tensor saved_output(const Tensor& y) { return autograd::grad_enabled() ? autograd::running_output(y) : y; }

}  // namespace

Tensor scalar_like(const Tensor& a, double s) {
  bool integral = std::floor(s) == s;
  DType dt = is_floating(a.dtype()) || (integral && a.dtype() != DType::Bool) ? a.dtype()
                                                                             : DType::Float32;
  return scalar_tensor(s, dt, a.device());
}

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const size_t lead = g.shape().size() - shape.size();
  std::vector<int64_t> dims;
  for (size_t i = 0; i < g.shape().size(); ++i)
    if (i < lead || (shape[i - lead] == 1 && g.shape()[i] != 1)) dims.push_back(i);
  return sum(g, dims, true).reshape(shape);
}

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_values<pw::Add>(a, b, "add");
  if (autograd::needs_record({a, b})) {
    Shape sa = a.shape(), sb = b.shape();
    autograd::record(out, "add", {a, b}, [sa, sb](const Tensor& dy, const std::vector<bool>& n) {
      return std::vector<Tensor>{n[0] ? sum_to(dy, sa) : Tensor(), n[1] ? sum_to(dy, sb) : Tensor()};
    });
  }
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_values<pw::Sub>(a, b, "sub");
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
  Tensor out = binary_values<pw::Mul>(a, b, "mul");
  if (autograd::needs_record({a, b})) {
    // a and b saved: each one's gradient is dy times the other
    autograd::record(out, "mul", {a, b}, [a, b](
                                             const Tensor& dy, const std::vector<bool>& n) {
      return std::vector<Tensor>{n[0] ? sum_to(mul(dy, b), a.shape()) : Tensor(),
                                 n[1] ? sum_to(mul(dy, a), b.shape()) : Tensor()};
    });
    autograd::save_versions(out, {b.requires_grad() ? a : Tensor(), a.requires_grad() ? b : Tensor()});
  }
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  bool integral = !is_floating(promote(a.dtype(), b.dtype()));
  // true division, as PyTorch: integer operands give float32
  Tensor fa = integral ? a.to(DType::Float32) : a, fb = integral ? b.to(DType::Float32) : b;
  Tensor out = binary_values<pw::Div>(fa, fb, "div");
  if (autograd::needs_record({a, b})) {
    // a and b saved: da = dy / b, db = -dy a / b²
    autograd::record(out, "div", {a, b}, [a = fa, b = fb](
                                             const Tensor& dy, const std::vector<bool>& n) {
      return std::vector<Tensor>{
          n[0] ? sum_to(div(dy, b), a.shape()) : Tensor(),
          n[1] ? sum_to(neg(div(mul(dy, a), mul(b, b))), b.shape()) : Tensor()};
    });
    autograd::save_versions(out, {b.requires_grad() ? a : Tensor(), b});
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
  Tensor out = unary_values<pw::Neg>(a, a.dtype(), "neg");
  if (autograd::needs_record({a}))
    autograd::record(out, "neg", {a}, [](const Tensor& dy, const std::vector<bool>&) {
      return std::vector<Tensor>{neg(dy)};
    });
  return out;
}

Tensor exp(const Tensor& a) {
  Tensor out = unary_values<pw::Exp>(a, floating_of(a.dtype()), "exp");
  if (autograd::needs_record({a})) {
    // the output is saved: d exp(a) = exp(a)
    autograd::record(out, "exp", {a}, [y = out.detach()](const Tensor& dy, const std::vector<bool>&) {
      return std::vector<Tensor>{mul(dy, saved_output(y))};
    });
    autograd::save_versions(out, {out});
  }
  return out;
}

Tensor log(const Tensor& a) {
  Tensor out = unary_values<pw::Log>(a, floating_of(a.dtype()), "log");
  if (autograd::needs_record({a})) {
    autograd::record(out, "log", {a}, [x = a](const Tensor& dy, const std::vector<bool>&) {
      return std::vector<Tensor>{div(dy, x)};
    });
    autograd::save_versions(out, {a});
  }
  return out;
}

Tensor sqrt(const Tensor& a) {
  Tensor out = unary_values<pw::Sqrt>(a, floating_of(a.dtype()), "sqrt");
  if (autograd::needs_record({a})) {
    autograd::record(out, "sqrt", {a}, [y = out.detach()](const Tensor& dy, const std::vector<bool>&) {
      return std::vector<Tensor>{div(mul(dy, 0.5), saved_output(y))};
    });
    autograd::save_versions(out, {out});
  }
  return out;
}

Tensor abs(const Tensor& a) {
  CONVNET_CHECK(a.dtype() != DType::Bool, "abs: not supported for bool tensors");
  Tensor out = unary_values<pw::Abs>(a, a.dtype(), "abs");
  if (autograd::needs_record({a})) {
    autograd::record(out, "abs", {a}, [x = a](const Tensor& dy, const std::vector<bool>&) {
      return std::vector<Tensor>{mul(dy, unary_values<pw::Sign>(x, x.dtype(), "abs"))};
    });
    autograd::save_versions(out, {a});
  }
  return out;
}

Tensor pow(const Tensor& a, double e) {
  if (!is_floating(a.dtype()) && a.dtype() != DType::Bool && std::floor(e) == e)
    return pow(a, scalar_like(a, e));  // integer ** integer keeps the tensor's dtype
  Tensor out = unary_values(a, floating_of(a.dtype()), "pow", pw::Pow{e});
  if (autograd::needs_record({a})) {
    autograd::record(out, "pow", {a}, [x = a, e](const Tensor& dy, const std::vector<bool>&) {
      return std::vector<Tensor>{e == 0 ? zeros_like(dy) : mul(dy, mul(pow(x, e - 1), e))};
    });
    autograd::save_versions(out, {a});
  }
  return out;
}

Tensor pow(const Tensor& a, const Tensor& e) {
  Tensor out = binary_values<pw::PowTensor>(a, e, "pow");
  if (autograd::needs_record({a, e})) {
    // both saved: da = dy e a^(e-1), de = dy a^e log(a) (0 where a = 0 and e >= 0)
    autograd::record(out, "pow", {a, e}, [a, e](
                                             const Tensor& dy, const std::vector<bool>& n) {
      Tensor de;
      if (n[1] && autograd::grad_enabled()) {  // backward records: a^e log(a) in ops, 0 where a = 0 and e >= 0
        const Tensor at_zero = logical(compare(a, 0.0, CompareOp::Eq), compare(e, 0.0, CompareOp::Ge), LogicalOp::And);
        const Tensor base = where(at_zero, scalar_tensor(1, a.dtype(), a.device()), a);  // 1^e log(1) = 0 there
        de = mul(pow(base, e), log(base));
      } else if (n[1]) {
        de = binary_values<pw::PowExponentGrad>(a, e, "pow");
      }
      return std::vector<Tensor>{n[0] ? sum_to(mul(dy, mul(e, pow(a, sub(e, 1.0)))), a.shape()) : Tensor(),
                                 n[1] ? sum_to(mul(dy, de), e.shape()) : Tensor()};
    });
  }
  return out;
}

Tensor pow(double base, const Tensor& e) { return pow(scalar_like(e, base), e); }

Tensor rsqrt(const Tensor& a) {
  Tensor out = unary_values<pw::Rsqrt>(a, floating_of(a.dtype()), "rsqrt");
  if (autograd::needs_record({a}))
    // the output is saved: d a^(-1/2) = -y³ / 2
    autograd::record(out, "rsqrt", {a}, [y = out.detach()](const Tensor& dy, const std::vector<bool>&) {
      const Tensor yg = saved_output(y);
      return std::vector<Tensor>{mul(dy, mul(mul(yg, mul(yg, yg)), -0.5))};
    });
  return out;
}

Tensor sign(const Tensor& a) { return with_zero_grad(unary_values<pw::Sign>(a, a.dtype(), "sign"), "sign", a); }
Tensor floor(const Tensor& a) { return rounding<pw::Floor>(a, "floor"); }
Tensor ceil(const Tensor& a) { return rounding<pw::Ceil>(a, "ceil"); }
Tensor trunc(const Tensor& a) { return rounding<pw::Trunc>(a, "trunc"); }
Tensor round(const Tensor& a, int64_t decimals) { return rounding(a, "round", pw::Round{decimals}); }

Tensor maximum(const Tensor& a, const Tensor& b) { return extremum<pw::Maximum>(a, b, "maximum", false); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum<pw::Minimum>(a, b, "minimum", true); }

Tensor clamp(const Tensor& x, const Tensor& lo, const Tensor& hi) {
  CONVNET_CHECK(lo.defined() || hi.defined(), "clamp: at least one of 'min' or 'max' must not be None");
  Tensor out;
  {
    NoGradGuard g;
    out = x;
    if (lo.defined()) out = binary_values<pw::Maximum>(out, lo, "clamp");
    if (hi.defined()) out = binary_values<pw::Minimum>(out, hi, "clamp");
  }
  if (autograd::needs_record({x, lo, hi})) {
    autograd::record(out, "clamp", {x, lo, hi}, [x = x.detach(), lo = lo.defined() ? lo.detach() : lo,
                                                 hi = hi.defined() ? hi.detach() : hi](
                                                    const Tensor& dy, const std::vector<bool>& n) {
      const DType dt = dy.dtype();
      auto masked = [&](const Tensor& mask, const Shape& shape) { return sum_to(mul(dy, mask.to(dt)), shape); };
      Tensor inside;  // lo <= x <= hi
      if (lo.defined()) inside = compare(x, lo, CompareOp::Ge);
      if (hi.defined()) {
        Tensor le = compare(x, hi, CompareOp::Le);
        inside = inside.defined() ? logical(inside, le, LogicalOp::And) : le;
      }
      std::vector<Tensor> g(3);
      if (n[0]) g[0] = masked(inside, x.shape());
      if (lo.defined() && n[1]) {
        Tensor below = compare(x, lo, CompareOp::Lt);
        if (hi.defined()) below = logical(below, compare(lo, hi, CompareOp::Lt), LogicalOp::And);
        g[1] = masked(below, lo.shape());
      }
      if (hi.defined() && n[2]) {
        Tensor above = compare(x, hi, CompareOp::Gt);
        if (lo.defined()) above = logical(above, compare(hi, lo, CompareOp::Lt), LogicalOp::Or);
        g[2] = masked(above, hi.shape());
      }
      return g;
    });
  }
  return out;
}

Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi) {
  if (!is_floating(x.dtype()) || !(lo || hi))
    return clamp(x, lo ? scalar_like(x, *lo) : Tensor(), hi ? scalar_like(x, *hi) : Tensor());
  // floating x and number bounds: one pass; the gradient is dy where lo <= x <= hi
  const double inf = std::numeric_limits<double>::infinity();
  const double l = lo.value_or(-inf), h = hi.value_or(inf);
  Tensor out = unary_values(x, x.dtype(), "clamp", pw::Clamp{l, h});
  if (autograd::needs_record({x}))
    autograd::record(out, "clamp", {x}, [x = x.detach(), l, h](const Tensor& dy, const std::vector<bool>&) {
      Tensor inside = logical(compare(x, l, CompareOp::Ge), compare(x, h, CompareOp::Le), LogicalOp::And);
      return std::vector<Tensor>{mul(dy, inside.to(dy.dtype()))};
    });
  return out;
}

Tensor lerp(const Tensor& a, const Tensor& b, const Tensor& w) { return add(a, mul(w, sub(b, a))); }
Tensor lerp(const Tensor& a, const Tensor& b, double w) { return add(a, mul(sub(b, a), w)); }

Tensor div_or_zero(const Tensor& a, const Tensor& b) { return binary_values<pw::DivOrZero>(a, b, "div"); }

Tensor logical(const Tensor& a, const Tensor& b, LogicalOp op) {
  switch (op) {
    case LogicalOp::And: return binary_values<pw::LogicalAnd>(a, b, "logical_and");
    case LogicalOp::Or: return binary_values<pw::LogicalOr>(a, b, "logical_or");
    case LogicalOp::Xor: return binary_values<pw::LogicalXor>(a, b, "logical_xor");
  }
  return Tensor();
}

Tensor logical_not(const Tensor& a) { return unary_values<pw::LogicalNot>(a, a.dtype(), "logical_not"); }

Tensor bitwise(const Tensor& a, const Tensor& b, LogicalOp op) {
  const char* name = op == LogicalOp::And ? "bitwise_and" : op == LogicalOp::Or ? "bitwise_or" : "bitwise_xor";
  CONVNET_CHECK(!is_floating(a.dtype()) && !is_floating(b.dtype()), name,
                ": expected integer or bool tensors, got ", dtype_name(a.dtype()), " and ", dtype_name(b.dtype()),
                "; shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()));
  switch (op) {
    case LogicalOp::And: return binary_values<pw::BitwiseAnd>(a, b, name);
    case LogicalOp::Or: return binary_values<pw::BitwiseOr>(a, b, name);
    case LogicalOp::Xor: return binary_values<pw::BitwiseXor>(a, b, name);
  }
  return Tensor();
}

Tensor bitwise_not(const Tensor& a) {
  CONVNET_CHECK(!is_floating(a.dtype()), "bitwise_not: expected an integer or bool tensor, got ",
                dtype_name(a.dtype()), "; shape ", shape_str(a.shape()));
  return unary_values<pw::BitwiseNot>(a, a.dtype(), "bitwise_not");
}

Tensor compare(const Tensor& a, const Tensor& b, CompareOp op) {
  switch (op) {
    case CompareOp::Eq: return binary_values<pw::Eq>(a, b, "eq");
    case CompareOp::Ne: return binary_values<pw::Ne>(a, b, "ne");
    case CompareOp::Lt: return binary_values<pw::Lt>(a, b, "lt");
    case CompareOp::Le: return binary_values<pw::Le>(a, b, "le");
    case CompareOp::Gt: return binary_values<pw::Gt>(a, b, "gt");
    case CompareOp::Ge: return binary_values<pw::Ge>(a, b, "ge");
  }
  return Tensor();
}

Tensor compare(const Tensor& a, double s, CompareOp op) {
  DType dt = is_floating(a.dtype()) ? a.dtype()
              : std::floor(s) == s ? DType::Int64
                                   : DType::Float64;
  return compare(a, scalar_tensor(s, dt, a.device()), op);
}

}  // namespace convnet
