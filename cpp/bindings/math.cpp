// Math on tensors as methods and convnet.* functions, with PyTorch's names and arguments:
// unary math, powers, rounding, clamping, comparisons, logical and bitwise ops. Every op runs
// with the GIL released.
#include "bindings.h"

namespace convnet::bindings {

using namespace pybind11::literals;
using nogil = py::call_guard<py::gil_scoped_release>;

namespace {

// A Python number next to tensor a as a 0-d tensor: bools become bool, ints a's dtype (int64
// next to bool), floats a's floating dtype or float32; a Tensor as it is.
Tensor operand(const Tensor& a, const py::handle& v, const char* op) {
  if (py::isinstance<Tensor>(v)) return v.cast<Tensor>();
  if (py::isinstance<py::bool_>(v)) return scalar_tensor(v.cast<bool>(), DType::Bool, a.device());
  if (py::isinstance<py::int_>(v)) {
    const DType dt = a.dtype() == DType::Bool ? DType::Int64 : a.dtype();
    return scalar_tensor(v.cast<double>(), dt, a.device());
  }
  if (py::isinstance<py::float_>(v)) return scalar_like(a, v.cast<double>());
  throw py::type_error(cat_str(op, ": expected a Tensor or a number, got ",
                               std::string(py::str(py::type::of(v).attr("__name__")))));
}

// An optional bound of clamp: None, a number or a Tensor.
Tensor bound(const Tensor& x, const py::object& v) { return v.is_none() ? Tensor() : operand(x, v, "clamp"); }

Tensor clamp_impl(const Tensor& x, const py::object& lo, const py::object& hi) {
  auto number = [](const py::object& v) {
    return (py::isinstance<py::int_>(v) || py::isinstance<py::float_>(v)) && !py::isinstance<py::bool_>(v);
  };
  if ((lo.is_none() || number(lo)) && (hi.is_none() || number(hi)) && !(lo.is_none() && hi.is_none())) {
    std::optional<double> l, h;
    if (!lo.is_none()) l = lo.cast<double>();
    if (!hi.is_none()) h = hi.cast<double>();
    py::gil_scoped_release r;
    return clamp(x, l, h);
  }
  Tensor l = bound(x, lo), h = bound(x, hi);
  py::gil_scoped_release r;
  return clamp(x, l, h);
}

template <typename F>
auto with_operand(const char* op, F f) {
  return [op, f](const Tensor& a, const py::object& b) {
    Tensor bt = operand(a, b, op);
    py::gil_scoped_release r;
    return f(a, bt);
  };
}

// A reflected operator (number OP tensor): the number as a tensor first.
template <typename F>
auto reflected(const char* op, F f) {
  return [op, f](const Tensor& a, const py::object& b) {
    Tensor bt = operand(a, b, op);
    py::gil_scoped_release r;
    return f(bt, a);
  };
}

py::object pow_fn(const py::object& base, const py::object& e) {
  if (!py::isinstance<Tensor>(base)) {
    if (!py::isinstance<Tensor>(e))
      throw py::type_error("pow: expected a Tensor as input or exponent");
    Tensor et = e.cast<Tensor>();
    Tensor bt = operand(et, base, "pow");
    py::gil_scoped_release r;
    Tensor out = pow(bt, et);
    py::gil_scoped_acquire g;
    return py::cast(out);
  }
  Tensor a = base.cast<Tensor>();
  if (py::isinstance<Tensor>(e)) {
    Tensor et = e.cast<Tensor>();
    py::gil_scoped_release r;
    Tensor out = pow(a, et);
    py::gil_scoped_acquire g;
    return py::cast(out);
  }
  if (!py::isinstance<py::int_>(e) && !py::isinstance<py::float_>(e))
    throw py::type_error("pow: expected a Tensor or a number as exponent");
  const double d = e.cast<double>();
  py::gil_scoped_release r;
  Tensor out = pow(a, d);
  py::gil_scoped_acquire g;
  return py::cast(out);
}

// dim: None (all), an int or a sequence of ints.
std::vector<int64_t> dim_list(const py::object& dim) {
  if (dim.is_none()) return {};
  if (py::isinstance<py::int_>(dim)) return {dim.cast<int64_t>()};
  return dim.cast<std::vector<int64_t>>();
}

// (values, indices) as torch.return_types: a named tuple per op.
py::object values_indices(const char* op, std::pair<Tensor, Tensor> r) {
  static py::dict* types = new py::dict();  // never freed: outlives the interpreter's teardown
  if (!types->contains(op))
    (*types)[op] = py::module_::import("collections").attr("namedtuple")(op, "values indices");
  return (*types)[op](r.first, r.second);
}

template <typename F>
py::object released(F f) {
  std::pair<Tensor, Tensor> r;
  {
    py::gil_scoped_release g;
    r = f();
  }
  return py::make_tuple(r.first, r.second);
}

// max / min: over all elements, along dim with indices, or elementwise against another tensor.
py::object extremum_impl(const Tensor& x, const py::object& dim, bool keepdim, bool smallest) {
  const char* op = smallest ? "min" : "max";
  if (dim.is_none()) {
    py::gil_scoped_release r;
    Tensor v = smallest ? min(x) : max(x);
    py::gil_scoped_acquire a;
    return py::cast(v);
  }
  if (py::isinstance<Tensor>(dim)) {
    Tensor o = dim.cast<Tensor>();
    py::gil_scoped_release r;
    Tensor v = smallest ? minimum(x, o) : maximum(x, o);
    py::gil_scoped_acquire a;
    return py::cast(v);
  }
  const int64_t d = dim.cast<int64_t>();
  py::tuple r = released([&] { return smallest ? min(x, d, keepdim) : max(x, d, keepdim); });
  return values_indices(op, {r[0].cast<Tensor>(), r[1].cast<Tensor>()});
}

Tensor arg_impl(const Tensor& x, const py::object& dim, bool keepdim, bool smallest) {
  Tensor in = dim.is_none() ? x.reshape({-1}) : x;
  const int64_t d = dim.is_none() ? 0 : dim.cast<int64_t>();
  py::gil_scoped_release r;
  return smallest ? argmin(in, d, dim.is_none() ? false : keepdim) : argmax(in, d, dim.is_none() ? false : keepdim);
}

// std / var: torch's (dim, unbiased, keepdim, *, correction) and its (unbiased) overload.
Tensor spread_impl(const Tensor& x, py::object dim, py::object unbiased, bool keepdim, py::object correction,
                   bool is_std) {
  const char* op = is_std ? "std" : "var";
  if (py::isinstance<py::bool_>(dim)) {  // x.std(False)
    if (!unbiased.is_none()) throw py::type_error(cat_str(op, ": unbiased given twice"));
    unbiased = dim;
    dim = py::none();
  }
  if (!unbiased.is_none() && !correction.is_none())
    throw py::value_error(cat_str(op, ": cannot specify both unbiased and correction"));
  const double c = !correction.is_none() ? correction.cast<double>()
                   : !unbiased.is_none() ? (unbiased.cast<bool>() ? 1.0 : 0.0)
                                         : 1.0;
  std::vector<int64_t> dims = dim_list(dim);
  py::gil_scoped_release r;
  return is_std ? std(x, dims, c, keepdim) : var(x, dims, c, keepdim);
}

// p of norm: a number, inf, or "fro".
double norm_order(const py::object& p) {
  if (py::isinstance<py::str>(p)) {
    const std::string s = p.cast<std::string>();
    if (s == "fro") return 2;
    throw py::value_error("norm: p must be a number or 'fro', got '" + s + "'");
  }
  return p.cast<double>();
}

}  // namespace

void bind_math(py::module_& m) {
  py::class_<Tensor> t = py::reinterpret_borrow<py::class_<Tensor>>(m.attr("Tensor"));

  // unary math: method and function
  struct Unary {
    const char* name;
    Tensor (*f)(const Tensor&);
  };
  for (const Unary& u : {Unary{"abs", &abs}, Unary{"sqrt", &sqrt}, Unary{"rsqrt", &rsqrt}, Unary{"sign", &sign},
                         Unary{"floor", &floor}, Unary{"ceil", &ceil}, Unary{"trunc", &trunc},
                         Unary{"logical_not", &logical_not}, Unary{"bitwise_not", &bitwise_not}}) {
    auto f = u.f;
    t.def(u.name, [f](const Tensor& a) { return f(a); }, nogil());
    m.def(u.name, [f](const Tensor& a) { return f(a); }, "input"_a, nogil());
  }
  t.def("absolute", [](const Tensor& a) { return abs(a); }, nogil());
  t.def("__abs__", [](const Tensor& a) { return abs(a); }, nogil());
  t.def("__invert__", [](const Tensor& a) { return bitwise_not(a); }, nogil());
  t.def("fix", [](const Tensor& a) { return trunc(a); }, nogil());
  t.def("round", [](const Tensor& a, int64_t d) { return round(a, d); }, py::kw_only(), "decimals"_a = 0, nogil());
  m.def("round", [](const Tensor& a, int64_t d) { return round(a, d); }, "input"_a, py::kw_only(),
        "decimals"_a = 0, nogil());

  // powers
  t.def("pow", [](const Tensor& a, const py::object& e) { return pow_fn(py::cast(a), e); }, "exponent"_a);
  t.def("__pow__", [](const Tensor& a, const py::object& e) { return pow_fn(py::cast(a), e); });
  t.def("__rpow__", [](const Tensor& a, const py::object& b) { return pow_fn(b, py::cast(a)); });
  m.def("pow", &pow_fn, "input"_a, "exponent"_a);

  // clamp / clip: min and max each None, a number or a Tensor
  for (const char* name : {"clamp", "clip"}) {
    t.def(name, &clamp_impl, "min"_a = py::none(), "max"_a = py::none());
    m.def(name, &clamp_impl, "input"_a, "min"_a = py::none(), "max"_a = py::none());
  }

  // binary: maximum, minimum, comparisons, logical, bitwise
  struct Binary {
    const char* name;
    std::function<Tensor(const Tensor&, const Tensor&)> f;
  };
  const Binary binaries[] = {
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }},
      {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }},
      {"eq", [](const Tensor& a, const Tensor& b) { return compare(a, b, CompareOp::Eq); }},
      {"ne", [](const Tensor& a, const Tensor& b) { return compare(a, b, CompareOp::Ne); }},
      {"lt", [](const Tensor& a, const Tensor& b) { return compare(a, b, CompareOp::Lt); }},
      {"le", [](const Tensor& a, const Tensor& b) { return compare(a, b, CompareOp::Le); }},
      {"gt", [](const Tensor& a, const Tensor& b) { return compare(a, b, CompareOp::Gt); }},
      {"ge", [](const Tensor& a, const Tensor& b) { return compare(a, b, CompareOp::Ge); }},
      {"logical_and", [](const Tensor& a, const Tensor& b) { return logical(a, b, LogicalOp::And); }},
      {"logical_or", [](const Tensor& a, const Tensor& b) { return logical(a, b, LogicalOp::Or); }},
      {"logical_xor", [](const Tensor& a, const Tensor& b) { return logical(a, b, LogicalOp::Xor); }},
      {"bitwise_and", [](const Tensor& a, const Tensor& b) { return bitwise(a, b, LogicalOp::And); }},
      {"bitwise_or", [](const Tensor& a, const Tensor& b) { return bitwise(a, b, LogicalOp::Or); }},
      {"bitwise_xor", [](const Tensor& a, const Tensor& b) { return bitwise(a, b, LogicalOp::Xor); }},
  };
  for (const Binary& b : binaries) {
    t.def(b.name, with_operand(b.name, b.f), "other"_a);
    m.def(b.name, [f = b.f, name = b.name](const Tensor& a, const py::object& o) {
      return with_operand(name, f)(a, o);
    }, "input"_a, "other"_a);
  }
  const Binary operators[] = {
      {"and", [](const Tensor& a, const Tensor& b) { return bitwise(a, b, LogicalOp::And); }},
      {"or", [](const Tensor& a, const Tensor& b) { return bitwise(a, b, LogicalOp::Or); }},
      {"xor", [](const Tensor& a, const Tensor& b) { return bitwise(a, b, LogicalOp::Xor); }},
  };
  for (const Binary& b : operators) {
    t.def(("__" + std::string(b.name) + "__").c_str(), with_operand(b.name, b.f));
    t.def(("__r" + std::string(b.name) + "__").c_str(), reflected(b.name, b.f));
  }

  // lerp(input, end, weight): weight a number or a Tensor
  auto lerp_impl = [](const Tensor& a, const Tensor& b, const py::object& w) {
    if (py::isinstance<Tensor>(w)) {
      Tensor wt = w.cast<Tensor>();
      py::gil_scoped_release r;
      return lerp(a, b, wt);
    }
    const double wd = w.cast<double>();
    py::gil_scoped_release r;
    return lerp(a, b, wd);
  };
  t.def("lerp", lerp_impl, "end"_a, "weight"_a);
  m.def("lerp", lerp_impl, "input"_a, "end"_a, "weight"_a);

  // ---- reductions ---------------------------------------------------------------------
  for (bool smallest : {false, true}) {
    const char* name = smallest ? "min" : "max";
    auto ext = [smallest](const Tensor& x, const py::object& dim, bool keepdim) {
      return extremum_impl(x, dim, keepdim, smallest);
    };
    t.def(name, ext, "dim"_a = py::none(), "keepdim"_a = false);
    m.def(name, ext, "input"_a, "dim"_a = py::none(), "keepdim"_a = false);
    auto arg = [smallest](const Tensor& x, const py::object& dim, bool keepdim) {
      return arg_impl(x, dim, keepdim, smallest);
    };
    t.def(smallest ? "argmin" : "argmax", arg, "dim"_a = py::none(), "keepdim"_a = false);
    m.def(smallest ? "argmin" : "argmax", arg, "input"_a, "dim"_a = py::none(), "keepdim"_a = false);
    auto am = [smallest](const Tensor& x, const py::object& dim, bool keepdim) {
      std::vector<int64_t> dims = dim_list(dim);
      py::gil_scoped_release r;
      return smallest ? amin(x, dims, keepdim) : amax(x, dims, keepdim);
    };
    t.def(smallest ? "amin" : "amax", am, "dim"_a = py::tuple(), "keepdim"_a = false);
    m.def(smallest ? "amin" : "amax", am, "input"_a, "dim"_a = py::tuple(), "keepdim"_a = false);
  }
  for (bool is_std : {false, true}) {
    auto f = [is_std](const Tensor& x, py::object dim, py::object unbiased, bool keepdim, py::object correction) {
      return spread_impl(x, std::move(dim), std::move(unbiased), keepdim, std::move(correction), is_std);
    };
    t.def(is_std ? "std" : "var", f, "dim"_a = py::none(), "unbiased"_a = py::none(), "keepdim"_a = false,
          py::kw_only(), "correction"_a = py::none());
    m.def(is_std ? "std" : "var", f, "input"_a, "dim"_a = py::none(), "unbiased"_a = py::none(),
          "keepdim"_a = false, py::kw_only(), "correction"_a = py::none());
  }
  auto prod_impl = [](const Tensor& x, const py::object& dim, bool keepdim) {
    if (dim.is_none()) {
      py::gil_scoped_release r;
      return prod(x);
    }
    const int64_t d = dim.cast<int64_t>();
    py::gil_scoped_release r;
    return prod(x, d, keepdim);
  };
  t.def("prod", prod_impl, "dim"_a = py::none(), "keepdim"_a = false);
  m.def("prod", prod_impl, "input"_a, "dim"_a = py::none(), "keepdim"_a = false);
  auto norm_impl = [](const Tensor& x, const py::object& p, const py::object& dim, bool keepdim) {
    const double order = norm_order(p);
    std::vector<int64_t> dims = dim_list(dim);
    py::gil_scoped_release r;
    return norm(x, order, dims, keepdim);
  };
  t.def("norm", norm_impl, "p"_a = "fro", "dim"_a = py::none(), "keepdim"_a = false);
  m.def("norm", norm_impl, "input"_a, "p"_a = "fro", "dim"_a = py::none(), "keepdim"_a = false);
  t.def("cumsum", [](const Tensor& x, int64_t dim) { return cumsum(x, dim); }, "dim"_a, nogil());
  m.def("cumsum", [](const Tensor& x, int64_t dim) { return cumsum(x, dim); }, "input"_a, "dim"_a, nogil());
  for (bool is_all : {false, true}) {
    auto f = [is_all](const Tensor& x, const py::object& dim, bool keepdim) {
      std::vector<int64_t> dims = dim_list(dim);
      py::gil_scoped_release r;
      return is_all ? all(x, dims, keepdim) : any(x, dims, keepdim);
    };
    t.def(is_all ? "all" : "any", f, "dim"_a = py::none(), "keepdim"_a = false);
    m.def(is_all ? "all" : "any", f, "input"_a, "dim"_a = py::none(), "keepdim"_a = false);
  }

  // ---- sorting ------------------------------------------------------------------------
  // stable is accepted for torch's signature: the sort is always stable
  auto sort_impl = [](const Tensor& x, int64_t dim, bool descending, bool) {
    py::tuple r = released([&] { return sort(x, dim, descending); });
    return values_indices("sort", {r[0].cast<Tensor>(), r[1].cast<Tensor>()});
  };
  t.def("sort", sort_impl, "dim"_a = -1, "descending"_a = false, py::kw_only(), "stable"_a = false);
  m.def("sort", sort_impl, "input"_a, "dim"_a = -1, "descending"_a = false, py::kw_only(), "stable"_a = false);
  auto argsort_impl = [](const Tensor& x, int64_t dim, bool descending, bool) { return argsort(x, dim, descending); };
  t.def("argsort", argsort_impl, "dim"_a = -1, "descending"_a = false, py::kw_only(), "stable"_a = false, nogil());
  m.def("argsort", argsort_impl, "input"_a, "dim"_a = -1, "descending"_a = false, py::kw_only(),
        "stable"_a = false, nogil());
  // sorted=False is accepted: the k values always come in order
  auto topk_impl = [](const Tensor& x, int64_t k, int64_t dim, bool largest, bool) {
    py::tuple r = released([&] { return topk(x, k, dim, largest); });
    return values_indices("topk", {r[0].cast<Tensor>(), r[1].cast<Tensor>()});
  };
  t.def("topk", topk_impl, "k"_a, "dim"_a = -1, "largest"_a = true, "sorted"_a = true);
  m.def("topk", topk_impl, "input"_a, "k"_a, "dim"_a = -1, "largest"_a = true, "sorted"_a = true);

  // ---- products -------------------------------------------------------------------------
  // einsum(equation, *operands) or einsum(equation, [operands])
  m.def("einsum", [](const std::string& equation, const py::args& args) {
    std::vector<Tensor> ops;
    if (args.size() == 1 && !py::isinstance<Tensor>(args[0]))
      ops = args[0].cast<std::vector<Tensor>>();
    else
      for (const py::handle& a : args) ops.push_back(a.cast<Tensor>());
    py::gil_scoped_release r;
    return einsum(equation, ops);
  }, "equation"_a);
  t.def("bmm", [](const Tensor& a, const Tensor& b) { return bmm(a, b); }, "mat2"_a, nogil());
  m.def("bmm", [](const Tensor& a, const Tensor& b) { return bmm(a, b); }, "input"_a, "mat2"_a, nogil());
}

}  // namespace convnet::bindings
