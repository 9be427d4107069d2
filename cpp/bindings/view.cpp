// Views, indexing and in-place writes: permute, transpose, squeeze, expand, narrow, ... as Tensor
// methods and convnet functions; t[key] and t[key] = value with ints, slices, Ellipsis and None;
// copy_, fill_, zero_, add_, mul_, ..., +=, -=, *=, /= (ops/inplace.h: with autograd). An
// in-place method returns the very Python object it was called on, as PyTorch's.
#include <pybind11/numpy.h>

#include "bindings.h"

namespace convnet::bindings {

using namespace pybind11::literals;

namespace {

// Dims given as f(0, 2, 1) or f((0, 2, 1)).
std::vector<int64_t> dims_from_args(const py::args& args, const char* op) {
  if (args.size() == 1 && (py::isinstance<py::tuple>(args[0]) || py::isinstance<py::list>(args[0])))
    return args[0].cast<std::vector<int64_t>>();
  std::vector<int64_t> d;
  for (auto a : args) {
    if (!py::isinstance<py::int_>(a))
      throw py::type_error(cat_str(op, ": dims must be ints, got ", std::string(py::str(py::repr(a)))));
    d.push_back(a.cast<int64_t>());
  }
  return d;
}

// squeeze(), squeeze(d), squeeze((d0, d1)); an empty tuple squeezes nothing.
Tensor squeeze_impl(const Tensor& x, const py::object& dim) {
  if (dim.is_none()) return squeeze(x);
  if (py::isinstance<py::int_>(dim)) return squeeze(x, {dim.cast<int64_t>()});
  const std::vector<int64_t> d = dim.cast<std::vector<int64_t>>();
  return d.empty() ? x.view(x.shape()) : squeeze(x, d);
}

py::list as_list(const std::vector<Tensor>& ts) {
  py::list l;
  for (const Tensor& t : ts) l.append(t);
  return l;
}

py::tuple as_tuple(const std::vector<Tensor>& ts) { return py::tuple(as_list(ts)); }

std::vector<Tensor> split_impl(const Tensor& x, const py::object& size, int64_t dim) {
  if (py::isinstance<py::int_>(size)) return split(x, size.cast<int64_t>(), dim);
  return split_with_sizes(x, size.cast<std::vector<int64_t>>(), dim);
}

// t[key], PyTorch's way: ints select, slices narrow with a step, None inserts a dimension,
// Ellipsis stands for the dimensions not named (all views); then the advanced indices (int64
// tensors, lists and arrays of ints, bool masks) index the view (ops/index.h). `adv` gets one
// entry per dimension of the view up to the last advanced index (undefined: the whole
// dimension; a mask covers as many dimensions as it has); empty when there is none.
struct Indexed {
  Tensor view;
  std::vector<Tensor> adv;
};

bool is_advanced(const py::handle& k) {
  return py::isinstance<Tensor>(k) || py::isinstance<py::list>(k) || py::isinstance<py::array>(k);
}

Indexed parse_index(const Tensor& t, const py::object& key) {
  py::tuple items = py::isinstance<py::tuple>(key) ? key.cast<py::tuple>() : py::make_tuple(key);
  std::vector<Tensor> given;  // the advanced indices as tensors, in order
  int64_t named = 0;
  bool ellipsis = false;
  for (auto k : items) {
    if (k.is_none()) continue;
    if (k.is(py::ellipsis())) {
      if (ellipsis) throw py::index_error("an index can only have a single ellipsis ('...')");
      ellipsis = true;
      continue;
    }
    if (is_advanced(k)) {
      Tensor a = py::isinstance<Tensor>(k) ? k.cast<Tensor>() : tensor_from_object(k, py::none());
      if (a.dtype() != DType::Bool && a.dtype() != DType::Int64 && a.dtype() != DType::Int32)
        throw py::index_error(
            cat_str("tensors used as indices must be int64, int32 or bool tensors, got ", dtype_name(a.dtype())));
      named += a.dtype() == DType::Bool ? a.dim() : 1;
      given.push_back(a);
      continue;
    }
    if (py::isinstance<py::bool_>(k) || !(py::isinstance<py::int_>(k) || py::isinstance<py::slice>(k) ||
                                          py::hasattr(k, "__index__")))
      throw py::index_error(cat_str("only integers, slices (`:`), ellipsis (`...`), None and int64 or bool tensors are "
                                    "valid indices, got ", std::string(py::str(py::repr(k)))));
    ++named;
  }
  if (named > t.dim())
    throw py::index_error(cat_str("too many indices for tensor of dimension ", t.dim(), " (got ", named, ")"));
  Indexed r{t, {}};
  std::vector<Tensor> slots;
  size_t next = 0;
  int64_t dim = 0;
  for (auto k : items) {
    if (k.is_none()) {
      r.view = unsqueeze(r.view, dim++);
      slots.emplace_back();
    } else if (k.is(py::ellipsis())) {
      for (int64_t e = 0; e < t.dim() - named; ++e, ++dim) slots.emplace_back();
    } else if (is_advanced(k)) {
      const Tensor& a = given[next++];
      slots.push_back(a);
      dim += a.dtype() == DType::Bool ? a.dim() : 1;
    } else if (py::isinstance<py::slice>(k)) {
      py::ssize_t start, stop, step, len;
      if (!k.cast<py::slice>().compute(r.view.size(dim), &start, &stop, &step, &len)) throw py::error_already_set();
      if (step <= 0) throw py::value_error("step must be greater than zero");
      r.view = slice(r.view, dim++, start, start + len * step, step);
      slots.emplace_back();
    } else {
      const int64_t i = py::reinterpret_borrow<py::object>(k).attr("__index__")().cast<int64_t>(), n = r.view.size(dim);
      if (i < -n || i >= n)
        throw py::index_error(cat_str("index ", i, " is out of bounds for dimension ", dim, " with size ", n));
      r.view = select(r.view, dim, i);
    }
  }
  if (!given.empty()) r.adv = std::move(slots);
  return r;
}

Tensor getitem(const Tensor& t, const py::object& key) {
  Indexed r = parse_index(t, key);
  if (r.adv.empty()) return r.view;
  py::gil_scoped_release nogil;
  return index(r.view, r.adv);
}

// value as a tensor of t's dtype (a tensor stays as it is).
Tensor value_tensor(const py::object& value, const Tensor& t) {
  return py::isinstance<Tensor>(value) ? value.cast<Tensor>() : tensor_from_object(value, py::cast(t.dtype()));
}

void setitem(const Tensor& t, const py::object& key, const py::object& value) {
  Indexed r = parse_index(t, key);
  const Tensor src = value_tensor(value, t);
  py::gil_scoped_release nogil;
  if (r.adv.empty())
    copy_(r.view, src);
  else
    copy_(r.view, index_put(r.view, r.adv, src));
}

// A scatter source: a tensor, or a number filling index's shape.
Tensor scatter_source(const py::object& src, const Tensor& x, const Tensor& index) {
  if (py::isinstance<Tensor>(src)) return src.cast<Tensor>();
  return full(index.shape(), src.cast<double>(), x.dtype(), x.device());
}

std::vector<Tensor> index_list(const py::object& indices) {
  std::vector<Tensor> r;
  for (auto i : indices) r.push_back(i.is_none() ? Tensor() : i.cast<Tensor>());
  return r;
}

py::object nonzero_impl(const Tensor& x, bool as_tuple) {
  Tensor nz = nonzero(x);
  if (!as_tuple) return py::cast(nz);
  py::tuple r(x.dim());
  for (int64_t d = 0; d < x.dim(); ++d) r[d] = select(nz, 1, d).contiguous();
  return r;
}

using TensorOp = Tensor (*)(const Tensor&, const Tensor&);
using ScalarOp = Tensor (*)(const Tensor&, double);

// self = op(self, other) in place, other a tensor or a Python number; returns self's object.
py::object binary_inplace(const py::object& self, const py::object& other, TensorOp tt, ScalarOp ts, const char* name) {
  const Tensor x = self.cast<Tensor>();
  const bool is_tensor = py::isinstance<Tensor>(other);
  const Tensor o = is_tensor ? other.cast<Tensor>() : Tensor();
  const double s = is_tensor ? 0 : other.cast<double>();
  {
    py::gil_scoped_release nogil;
    assign_result_(x, is_tensor ? tt(inplace_input(x, o), o) : ts(inplace_input(x), s), name);
  }
  return self;
}

template <typename F>
py::object unary_inplace(const py::object& self, F f, const char* name) {
  const Tensor x = self.cast<Tensor>();
  {
    py::gil_scoped_release nogil;
    assign_result_(x, f(inplace_input(x)), name);
  }
  return self;
}

// alpha * other (a tensor or a number), other itself when alpha is 1.
py::object scaled(const py::object& other, double alpha) {
  if (alpha == 1) return other;
  if (py::isinstance<Tensor>(other)) return py::cast(mul(other.cast<Tensor>(), alpha));
  return py::float_(other.cast<double>() * alpha);
}

// fill_ with autograd only where a history is involved (else a plain fill).
py::object fill_inplace(const py::object& self, double v) {
  const Tensor x = self.cast<Tensor>();
  const auto& base = x.impl()->base;
  {
    py::gil_scoped_release nogil;
    if (autograd::grad_enabled() && (x.requires_grad() || (base && base->requires_grad)))
      copy_(x, scalar_tensor(v, x.dtype(), x.device()));
    else
      fill_(x, v);
  }
  return self;
}

#define CONVNET_BINARY_INPLACE(fn, name)                                                                          \
  [](const py::object& self, const py::object& other) {                                                          \
    return binary_inplace(self, other, static_cast<TensorOp>(&fn), static_cast<ScalarOp>(&fn), name);             \
  }

}  // namespace

void bind_views(py::module_& m) {
  py::class_<Tensor> t = py::reinterpret_borrow<py::class_<Tensor>>(m.attr("Tensor"));
  t.def("__getitem__", &getitem)
      .def("__setitem__", &setitem)
      .def("index_select", [](const Tensor& x, int64_t d, const Tensor& i) { return index_select(x, d, i); }, "dim"_a,
           "index"_a)
      .def("gather", [](const Tensor& x, int64_t d, const Tensor& i) { return gather(x, d, i); }, "dim"_a, "index"_a)
      .def("scatter", [](const Tensor& x, int64_t d, const Tensor& i, const py::object& src) {
        return scatter(x, d, i, scatter_source(src, x, i));
      }, "dim"_a, "index"_a, "src"_a)
      .def("scatter_add", [](const Tensor& x, int64_t d, const Tensor& i, const Tensor& src) {
        return scatter_add(x, d, i, src);
      }, "dim"_a, "index"_a, "src"_a)
      .def("scatter_", [](const py::object& self, int64_t d, const Tensor& i, const py::object& src) {
        const Tensor x = self.cast<Tensor>();
        assign_result_(x, scatter(inplace_input(x), d, i, scatter_source(src, x, i)), "scatter_");
        return self;
      }, "dim"_a, "index"_a, "src"_a)
      .def("scatter_add_", [](const py::object& self, int64_t d, const Tensor& i, const Tensor& src) {
        const Tensor x = self.cast<Tensor>();
        assign_result_(x, scatter_add(inplace_input(x, src), d, i, src), "scatter_add_");
        return self;
      }, "dim"_a, "index"_a, "src"_a)
      .def("masked_fill", [](const Tensor& x, const Tensor& m, double v) { return masked_fill(x, m, v); }, "mask"_a,
           "value"_a)
      .def("masked_fill_", [](const py::object& self, const Tensor& m, double v) {
        const Tensor x = self.cast<Tensor>();
        assign_result_(x, masked_fill(inplace_input(x), m, v), "masked_fill_");
        return self;
      }, "mask"_a, "value"_a)
      .def("index_put", [](const Tensor& x, const py::tuple& i, const Tensor& v, bool acc) {
        return index_put(x, index_list(i), v, acc);
      }, "indices"_a, "values"_a, "accumulate"_a = false)
      .def("index_put_", [](const py::object& self, const py::tuple& i, const Tensor& v, bool acc) {
        const Tensor x = self.cast<Tensor>();
        copy_(x, index_put(inplace_input(x, v), index_list(i), v, acc));
        return self;
      }, "indices"_a, "values"_a, "accumulate"_a = false)
      .def("where", [](const Tensor& x, const Tensor& c, const py::object& y) {
        return where(c, x, value_tensor(y, x));
      }, "condition"_a, "other"_a)
      .def("nonzero", &nonzero_impl, py::kw_only(), "as_tuple"_a = false)
      .def("copy_", [](const py::object& self, const Tensor& src, bool) {
        const Tensor x = self.cast<Tensor>();
        {
          py::gil_scoped_release nogil;
          copy_(x, src);
        }
        return self;
      }, "src"_a, "non_blocking"_a = false)
      .def("fill_", &fill_inplace, "value"_a)
      .def("zero_", [](const py::object& self) { return fill_inplace(self, 0); })
      .def("add_", [](const py::object& self, const py::object& other, double alpha) {
        return binary_inplace(self, scaled(other, alpha), static_cast<TensorOp>(&add), static_cast<ScalarOp>(&add), "add_");
      }, "other"_a, py::kw_only(), "alpha"_a = 1.0)
      .def("sub_", [](const py::object& self, const py::object& other, double alpha) {
        return binary_inplace(self, scaled(other, alpha), static_cast<TensorOp>(&sub), static_cast<ScalarOp>(&sub), "sub_");
      }, "other"_a, py::kw_only(), "alpha"_a = 1.0)
      .def("mul_", CONVNET_BINARY_INPLACE(mul, "mul_"), "other"_a)
      .def("div_", CONVNET_BINARY_INPLACE(div, "div_"), "other"_a)
      .def("__iadd__", CONVNET_BINARY_INPLACE(add, "add_"))
      .def("__isub__", CONVNET_BINARY_INPLACE(sub, "sub_"))
      .def("__imul__", CONVNET_BINARY_INPLACE(mul, "mul_"))
      .def("__itruediv__", CONVNET_BINARY_INPLACE(div, "div_"))
      .def("neg_", [](const py::object& self) { return unary_inplace(self, [](const Tensor& t) { return neg(t); }, "neg_"); })
      .def("exp_", [](const py::object& self) { return unary_inplace(self, [](const Tensor& t) { return exp(t); }, "exp_"); })
      .def("log_", [](const py::object& self) { return unary_inplace(self, [](const Tensor& t) { return log(t); }, "log_"); })
      .def("sqrt_", [](const py::object& self) { return unary_inplace(self, [](const Tensor& t) { return sqrt(t); }, "sqrt_"); })
      .def("abs_", [](const py::object& self) { return unary_inplace(self, [](const Tensor& t) { return abs(t); }, "abs_"); })
      .def("relu_", [](const py::object& self) { return unary_inplace(self, [](const Tensor& t) { return relu(t); }, "relu_"); })
      .def("sigmoid_", [](const py::object& self) { return unary_inplace(self, [](const Tensor& t) { return sigmoid(t); }, "sigmoid_"); })
      .def("tanh_", [](const py::object& self) { return unary_inplace(self, [](const Tensor& t) { return tanh(t); }, "tanh_"); })
      .def("contiguous", &Tensor::contiguous)
      .def("is_contiguous", &Tensor::is_contiguous)
      .def("stride", [](const Tensor& x, py::object dim) -> py::object {
        if (dim.is_none()) return py::tuple(py::cast(x.strides()));
        return py::int_(x.stride(dim.cast<int64_t>()));
      }, "dim"_a = py::none())
      .def("storage_offset", &Tensor::storage_offset)
      .def("data_ptr", [](const Tensor& x) { return reinterpret_cast<uintptr_t>(x.element_ptr()); })
      .def("view", [](const Tensor& x, py::args a) { return x.view(dims_from_args(a, "view")); })
      .def("view_as", [](const Tensor& x, const Tensor& o) { return x.view(o.shape()); }, "other"_a)
      .def("reshape_as", [](const Tensor& x, const Tensor& o) { return x.reshape(o.shape()); }, "other"_a)
      .def("permute", [](const Tensor& x, py::args a) { return permute(x, dims_from_args(a, "permute")); })
      .def("transpose", [](const Tensor& x, int64_t a, int64_t b) { return transpose(x, a, b); }, "dim0"_a, "dim1"_a)
      .def("swapaxes", [](const Tensor& x, int64_t a, int64_t b) { return transpose(x, a, b); }, "axis0"_a, "axis1"_a)
      .def("t", [](const Tensor& x) {
        CONVNET_CHECK(x.dim() <= 2, "t: expects a tensor with <= 2 dimensions, but self is ", x.dim(), "D");
        return x.dim() < 2 ? x : transpose(x, 0, 1);
      })
      .def_property_readonly("T", [](const Tensor& x) {
        std::vector<int64_t> d(x.dim());
        for (int64_t i = 0; i < x.dim(); ++i) d[i] = x.dim() - 1 - i;
        return permute(x, d);
      })
      .def_property_readonly("mT", [](const Tensor& x) {
        CONVNET_CHECK(x.dim() >= 2, "mT: tensor of shape ", shape_str(x.shape()), " must have at least 2 dimensions");
        return transpose(x, -2, -1);
      })
      .def("squeeze", &squeeze_impl, "dim"_a = py::none())
      .def("unsqueeze", [](const Tensor& x, int64_t d) { return unsqueeze(x, d); }, "dim"_a)
      .def("expand", [](const Tensor& x, py::args a) { return expand(x, dims_from_args(a, "expand")); })
      .def("expand_as", [](const Tensor& x, const Tensor& o) { return expand(x, o.shape()); }, "other"_a)
      .def("narrow", [](const Tensor& x, int64_t d, int64_t s, int64_t l) { return narrow(x, d, s, l); },
           "dim"_a, "start"_a, "length"_a)
      .def("select", [](const Tensor& x, int64_t d, int64_t i) { return select(x, d, i); }, "dim"_a, "index"_a)
      .def("unbind", [](const Tensor& x, int64_t d) { return as_tuple(unbind(x, d)); }, "dim"_a = 0)
      .def("chunk", [](const Tensor& x, int64_t c, int64_t d) { return as_tuple(chunk(x, c, d)); }, "chunks"_a,
           "dim"_a = 0)
      .def("split", [](const Tensor& x, py::object s, int64_t d) { return as_tuple(split_impl(x, s, d)); },
           "split_size"_a, "dim"_a = 0)
      .def("unfold", [](const Tensor& x, int64_t d, int64_t s, int64_t st) { return unfold(x, d, s, st); },
           "dimension"_a, "size"_a, "step"_a);

  m.def("index_select", [](const Tensor& x, int64_t d, const Tensor& i) { return index_select(x, d, i); }, "input"_a,
        "dim"_a, "index"_a);
  m.def("gather", [](const Tensor& x, int64_t d, const Tensor& i) { return gather(x, d, i); }, "input"_a, "dim"_a,
        "index"_a);
  m.def("scatter", [](const Tensor& x, int64_t d, const Tensor& i, const py::object& src) {
    return scatter(x, d, i, scatter_source(src, x, i));
  }, "input"_a, "dim"_a, "index"_a, "src"_a);
  m.def("scatter_add", [](const Tensor& x, int64_t d, const Tensor& i, const Tensor& src) { return scatter_add(x, d, i, src); },
        "input"_a, "dim"_a, "index"_a, "src"_a);
  m.def("masked_fill", [](const Tensor& x, const Tensor& m, double v) { return masked_fill(x, m, v); }, "input"_a,
        "mask"_a, "value"_a);
  m.def("where", [](const Tensor& c, const py::object& x, const py::object& y) -> py::object {
    if (x.is_none() && y.is_none()) return nonzero_impl(c, true);
    if (x.is_none() || y.is_none()) throw py::type_error("where: expected both input and other, or neither");
    const Tensor a = py::isinstance<Tensor>(x) ? x.cast<Tensor>() : tensor_from_object(x, py::none());
    const Tensor b = py::isinstance<Tensor>(y) ? y.cast<Tensor>() : tensor_from_object(y, py::none());
    Tensor out;
    {
      py::gil_scoped_release nogil;
      out = where(c, a, b);
    }
    return py::cast(out);
  }, "condition"_a, "input"_a = py::none(), "other"_a = py::none());
  m.def("nonzero", &nonzero_impl, "input"_a, py::kw_only(), "as_tuple"_a = false);
  m.def("permute", [](const Tensor& x, std::vector<int64_t> d) { return permute(x, std::move(d)); }, "input"_a, "dims"_a);
  m.def("transpose", [](const Tensor& x, int64_t a, int64_t b) { return transpose(x, a, b); }, "input"_a, "dim0"_a,
        "dim1"_a);
  m.def("squeeze", &squeeze_impl, "input"_a, "dim"_a = py::none());
  m.def("unsqueeze", [](const Tensor& x, int64_t d) { return unsqueeze(x, d); }, "input"_a, "dim"_a);
  m.def("narrow", [](const Tensor& x, int64_t d, int64_t s, int64_t l) { return narrow(x, d, s, l); }, "input"_a,
        "dim"_a, "start"_a, "length"_a);
  m.def("select", [](const Tensor& x, int64_t d, int64_t i) { return select(x, d, i); }, "input"_a, "dim"_a, "index"_a);
  m.def("unbind", [](const Tensor& x, int64_t d) { return as_tuple(unbind(x, d)); }, "input"_a, "dim"_a = 0);
  m.def("chunk", [](const Tensor& x, int64_t c, int64_t d) { return as_tuple(chunk(x, c, d)); }, "input"_a, "chunks"_a,
        "dim"_a = 0);
  m.def("split", [](const Tensor& x, py::object s, int64_t d) { return as_tuple(split_impl(x, s, d)); }, "tensor"_a,
        "split_size_or_sections"_a, "dim"_a = 0);
}

}  // namespace convnet::bindings
