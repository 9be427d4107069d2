// Elementwise arithmetic with broadcasting, unary math, comparisons, on the
// operands' device (functors of pointwise.h). Shapes: a, b broadcast to out.
// Backward returns gradients (summed over broadcast dimensions); autograd
// accumulates them (+=) into .grad. Backward computes with these differentiable ops on the
// inputs themselves (not detached copies), so that create_graph records it.
#include "convnet/ops/elementwise.h"

#include <cmath>
#include <type_traits>

#include "convnet/autograd.h"
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
      case DType::Int64: return 2;
      case DType::BFloat16:
      case DType::Float16: return 3;
      case DType::Float32: return 4;
      case DType::Float64: return 5;
    }
    return 0;
  };
  if (a != b && rank(a) == 3 && rank(b) == 3) return DType::Float32;  // bfloat16 with float16, as PyTorch
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

// f(a) in `dtype` (a converted to it).
template <typename F>
Tensor unary_values(const Tensor& a, DType dtype, const char* op, F f = F()) {
  const Device dev = common_device(op, {&a});
  const Tensor ca = a.contiguous().to(dtype);
  Tensor out = Tensor::empty(a.shape(), dtype, dev);
  dispatch_for<F>(dtype, op, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    CONVNET_KERNEL(dev, unary, <T, T, F>)(a.numel(), ca.data<T>(), out.data<T>(), f);
  });
  return out;
}

DType floating_of(DType t) { return is_floating(t) ? t : DType::Float32; }

// The scalar s as a 0-d tensor on a's device, in a's dtype unless s needs a float.
Tensor scalar_like(const Tensor& a, double s) {
  bool integral = std::floor(s) == s;
  DType dt = is_floating(a.dtype()) || (integral && a.dtype() != DType::Bool) ? a.dtype()
                                                                             : DType::Float32;
  return scalar_tensor(s, dt, a.device());
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
      return std::vector<Tensor>{mul(dy, y)};
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
      return std::vector<Tensor>{div(mul(dy, 0.5), y)};
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
  Tensor out = unary_values(a, floating_of(a.dtype()), "pow", pw::Pow{e});
  if (autograd::needs_record({a})) {
    autograd::record(out, "pow", {a}, [x = a, e](const Tensor& dy, const std::vector<bool>&) {
      return std::vector<Tensor>{mul(dy, mul(pow(x, e - 1), e))};
    });
    autograd::save_versions(out, {a});
  }
  return out;
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
