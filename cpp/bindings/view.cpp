// Views, indexing and in-place writes: permute, transpose, squeeze, expand, narrow, ... as Tensor
// methods and convnet functions; t[key] and t[key] = value with ints, slices, Ellipsis and None;
// copy_, fill_, zero_, add_, mul_, ..., +=, -=, *=, /= (ops/inplace.h: with autograd). An
// in-place method returns the very Python object it was called on, as PyTorch's.
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

// t[key]: the view that basic indexing selects (ints select, slices narrow with a step,
// None inserts a dimension, Ellipsis stands for the dimensions not named).
Tensor index_view(const Tensor& t, const py::object& key) {
  py::tuple items = py::isinstance<py::tuple>(key) ? key.cast<py::tuple>() : py::make_tuple(key);
  int64_t named = 0;
  bool ellipsis = false;
  for (auto k : items) {
    if (k.is_none()) continue;
    if (k.is(py::ellipsis())) {
      if (ellipsis) throw py::index_error("an index can only have a single ellipsis ('...')");
      ellipsis = true;
      continue;
    }
    if (py::isinstance<py::bool_>(k) || !(py::isinstance<py::int_>(k) || py::isinstance<py::slice>(k) ||
                                          py::hasattr(k, "__index__")))
      throw py::index_error(cat_str("only integers, slices (`:`), ellipsis (`...`) and None are valid indices, got ",
                                    std::string(py::str(py::repr(k)))));
    ++named;
  }
  if (named > t.dim())
    throw py::index_error(cat_str("too many indices for tensor of dimension ", t.dim(), " (got ", named, ")"));
  Tensor r = t;
  int64_t dim = 0;
  for (auto k : items) {
    if (k.is_none()) {
      r = unsqueeze(r, dim++);
    } else if (k.is(py::ellipsis())) {
      dim += t.dim() - named;
    } else if (py::isinstance<py::slice>(k)) {
      py::ssize_t start, stop, step, len;
      if (!k.cast<py::slice>().compute(r.size(dim), &start, &stop, &step, &len)) throw py::error_already_set();
      if (step <= 0) throw py::value_error("step must be greater than zero");
      r = slice(r, dim++, start, start + len * step, step);
    } else {
      const int64_t i = py::reinterpret_borrow<py::object>(k).attr("__index__")().cast<int64_t>(), n = r.size(dim);
      if (i < -n || i >= n)
        throw py::index_error(cat_str("index ", i, " is out of bounds for dimension ", dim, " with size ", n));
      r = select(r, dim, i);
    }
  }
  return r;
}

using TensorOp = Tensor (*)(const Tensor&, const Tensor&);
using ScalarOp = Tensor (*)(const Tensor&, double);

// self = op(self, other) in place, other a tensor or a Python number; returns self's object.
py::object binary_inplace(const py::object& self, const py::object& other, TensorOp tt, ScalarOp ts, const char* name) {
  const Tensor x = self.cast<Tensor>();
  if (py::isinstance<Tensor>(other)) {
    const Tensor o = other.cast<Tensor>();
    py::gil_scoped_release nogil;
    assign_result_(x, tt(inplace_input(x, o), o), name);
  } else {
    const double s = other.cast<double>();
    py::gil_scoped_release nogil;
    assign_result_(x, ts(inplace_input(x), s), name);
  }
  return self;
}

template <typename F>
py::object unary_inplace(const py::object& self, F f, const char* name) {
  const Tensor x = self.cast<Tensor>();
  py::gil_scoped_release nogil;
  assign_result_(x, f(inplace_input(x)), name);
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
  py::gil_scoped_release nogil;
  if (autograd::grad_enabled() && (x.requires_grad() || (base && base->requires_grad)))
    copy_(x, scalar_tensor(v, x.dtype(), x.device()));
  else
    fill_(x, v);
  return self;
}

#define CONVNET_BINARY_INPLACE(fn, name)                                                                          \
  [](const py::object& self, const py::object& other) {                                                          \
    return binary_inplace(self, other, static_cast<TensorOp>(&fn), static_cast<ScalarOp>(&fn), name);             \
  }

}  // namespace

void bind_views(py::module_& m) {
  py::class_<Tensor> t = py::reinterpret_borrow<py::class_<Tensor>>(m.attr("Tensor"));
  t.def("__getitem__", &index_view)
      .def("__setitem__", [](const Tensor& x, const py::object& key, const py::object& value) {
        Tensor v = index_view(x, key);
        Tensor src = py::isinstance<Tensor>(value) ? value.cast<Tensor>()
                                                   : tensor_from_object(value, py::cast(x.dtype()));
        py::gil_scoped_release nogil;
        copy_(v, src);
      })
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
