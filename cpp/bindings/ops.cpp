// Tensor arithmetic and the functional ops (convnet.functional). Every op
// runs with the GIL released.
#include "bindings.h"

namespace convnet::bindings {

using namespace pybind11::literals;
using nogil = py::call_guard<py::gil_scoped_release>;

Conv2dOptions conv_options(const py::object& stride, const py::object& padding,
                           const py::object& dilation, int64_t groups) {
  Conv2dOptions o;
  o.stride = to_pair(stride, "conv2d: stride");
  o.dilation = to_pair(dilation, "conv2d: dilation");
  o.groups = groups;
  if (py::isinstance<py::str>(padding)) {
    std::string p = padding.cast<std::string>();
    if (p == "same")
      o.same = true;
    else if (p != "valid")
      throw py::value_error("conv2d: padding must be an int, a pair, 'same' or 'valid', got '" + p + "'");
  } else {
    o.padding = to_pair(padding, "conv2d: padding");
  }
  return o;
}

namespace {

// Operand of an arithmetic operator: a Tensor or a Python number.
using Operand = std::variant<Tensor, double>;

template <typename TT, typename TS>
Tensor binary(const Tensor& a, const Operand& b, TT tt, TS ts) {
  py::gil_scoped_release nogil;
  if (auto* t = std::get_if<Tensor>(&b)) return tt(a, *t);
  return ts(a, std::get<double>(b));
}


std::vector<int64_t> dims_of(const py::object& dim) {
  if (dim.is_none()) return {};
  if (py::isinstance<py::int_>(dim)) return {dim.cast<int64_t>()};
  return dim.cast<std::vector<int64_t>>();
}

// torch's _Reduction.legacy_get_string: the deprecated size_average / reduce flags win when given.
std::string legacy_reduction(const py::object& size_average, const py::object& reduce,
                             const std::string& reduction) {
  if (size_average.is_none() && reduce.is_none()) return reduction;
  bool avg = size_average.is_none() || size_average.cast<bool>();
  bool red = reduce.is_none() || reduce.cast<bool>();
  return !red ? "none" : avg ? "mean" : "sum";
}

}  // namespace

Pool2dOptions pool_options(const char* who, const py::object& kernel_size, const py::object& stride,
                           const py::object& padding, const py::object& dilation, bool ceil_mode,
                           bool count_include_pad) {
  Pool2dOptions o;
  o.kernel_size = to_pair(kernel_size, cat_str(who, ": kernel_size").c_str());
  o.stride = stride.is_none() || (py::isinstance<py::sequence>(stride) && py::len(stride) == 0)
                 ? o.kernel_size
                 : to_pair(stride, cat_str(who, ": stride").c_str());
  o.padding = to_pair(padding, cat_str(who, ": padding").c_str());
  o.dilation = to_pair(dilation, cat_str(who, ": dilation").c_str());
  o.ceil_mode = ceil_mode;
  o.count_include_pad = count_include_pad;
  return o;
}

AdaptiveSize adaptive_size(const py::handle& v, const char* what, bool* scalar) {
  auto entry = [&](const py::handle& e) -> std::optional<int64_t> {
    if (e.is_none()) return std::nullopt;
    if (py::isinstance<py::int_>(e) && !py::isinstance<py::bool_>(e)) return e.cast<int64_t>();
    throw py::type_error(cat_str(what, " must be an int, None or a pair of them, got ",
                                 std::string(py::str(py::repr(v)))));
  };
  const bool one = !(py::isinstance<py::tuple>(v) || py::isinstance<py::list>(v));
  if (scalar) *scalar = one;
  if (one) {
    auto e = entry(v);
    return {e, e};
  }
  py::sequence s = py::reinterpret_borrow<py::sequence>(v);
  if (s.size() != 2)
    throw py::type_error(cat_str(what, " must be an int, None or a pair of them, got ",
                                 std::string(py::str(py::repr(v)))));
  return {entry(s[0]), entry(s[1])};
}

InterpolateOptions interpolate_options(const py::object& size, const py::object& scale_factor,
                                       const std::string& mode, const py::object& align_corners,
                                       const py::object& recompute_scale_factor, bool* scalar) {
  InterpolateOptions o;
  o.mode = mode;
  if (!align_corners.is_none()) o.align_corners = align_corners.cast<bool>();
  o.recompute_scale_factor = !recompute_scale_factor.is_none() && recompute_scale_factor.cast<bool>();
  const bool one_size = !size.is_none() && !py::isinstance<py::sequence>(size);
  const bool one_scale = !scale_factor.is_none() && !py::isinstance<py::sequence>(scale_factor);
  if (scalar) *scalar = one_size || one_scale;
  if (!size.is_none()) o.size = to_pair(size, "interpolate: size");
  if (!scale_factor.is_none()) {
    if (one_scale) {
      const double f = scale_factor.cast<double>();
      o.scale_factor = std::array<double, 2>{f, f};
    } else {
      auto v = scale_factor.cast<std::vector<double>>();
      if (v.size() != 2)
        throw py::type_error(cat_str("interpolate: scale_factor must be a number or a pair, got ",
                                     std::string(py::str(py::repr(scale_factor)))));
      o.scale_factor = std::array<double, 2>{v[0], v[1]};
    }
  }
  return o;
}

void bind_ops(py::module_& m) {
  py::class_<Tensor> t = py::reinterpret_borrow<py::class_<Tensor>>(m.attr("Tensor"));
  auto cmp = [](CompareOp op) {
    return [op](const Tensor& a, const py::object& b) -> py::object {
      if (py::isinstance<Tensor>(b)) {
        Tensor bt = b.cast<Tensor>();
        py::gil_scoped_release r;
        Tensor out = compare(a, bt, op);
        py::gil_scoped_acquire g;
        return py::cast(out);
      }
      if (py::isinstance<py::float_>(b) || py::isinstance<py::int_>(b)) {
        double s = b.cast<double>();
        return py::cast(compare(a, s, op));
      }
      return py::reinterpret_borrow<py::object>(Py_NotImplemented);
    };
  };
  t.def("__add__", [](const Tensor& a, const Operand& b) {
     return binary(a, b, [](auto& x, auto& y) { return add(x, y); }, [](auto& x, double s) { return add(x, s); });
   })
      .def("__radd__", [](const Tensor& a, double s) { return add(a, s); }, nogil())
      .def("__sub__", [](const Tensor& a, const Operand& b) {
        return binary(a, b, [](auto& x, auto& y) { return sub(x, y); }, [](auto& x, double s) { return sub(x, s); });
      })
      .def("__rsub__", [](const Tensor& a, double s) { return rsub(a, s); }, nogil())
      .def("__mul__", [](const Tensor& a, const Operand& b) {
        return binary(a, b, [](auto& x, auto& y) { return mul(x, y); }, [](auto& x, double s) { return mul(x, s); });
      })
      .def("__rmul__", [](const Tensor& a, double s) { return mul(a, s); }, nogil())
      .def("__truediv__", [](const Tensor& a, const Operand& b) {
        return binary(a, b, [](auto& x, auto& y) { return div(x, y); }, [](auto& x, double s) { return div(x, s); });
      })
      .def("__rtruediv__", [](const Tensor& a, double s) { return rdiv(a, s); }, nogil())
      .def("__neg__", [](const Tensor& a) { return neg(a); }, nogil())
      .def("__matmul__", [](const Tensor& a, const Tensor& b) { return matmul(a, b); }, nogil())
      .def("__eq__", cmp(CompareOp::Eq))
      .def("__ne__", cmp(CompareOp::Ne))
      .def("__lt__", cmp(CompareOp::Lt))
      .def("__le__", cmp(CompareOp::Le))
      .def("__gt__", cmp(CompareOp::Gt))
      .def("__ge__", cmp(CompareOp::Ge))
      .def("sum", [](const Tensor& x, py::object dim, bool keepdim) { return sum(x, dims_of(dim), keepdim); },
           "dim"_a = py::none(), "keepdim"_a = false)
      .def("mean", [](const Tensor& x, py::object dim, bool keepdim) { return mean(x, dims_of(dim), keepdim); },
           "dim"_a = py::none(), "keepdim"_a = false)
      .def("matmul", [](const Tensor& a, const Tensor& b) { return matmul(a, b); }, nogil())
      .def("exp", [](const Tensor& a) { return exp(a); }, nogil())
      .def("log", [](const Tensor& a) { return log(a); }, nogil())
      .def("relu", [](const Tensor& a) { return relu(a); }, nogil())
      .def("sigmoid", [](const Tensor& a) { return sigmoid(a); }, nogil())
      .def("tanh", [](const Tensor& a) { return tanh(a); }, nogil())
      .def("softmax", [](const Tensor& a, int64_t d) { return softmax(a, d); }, "dim"_a, nogil())
      .def("log_softmax", [](const Tensor& a, int64_t d) { return log_softmax(a, d); }, "dim"_a, nogil());

  m.def("add", [](const Tensor& a, const Operand& b) {
    return binary(a, b, [](auto& x, auto& y) { return add(x, y); }, [](auto& x, double s) { return add(x, s); });
  }, "input"_a, "other"_a);
  m.def("mul", [](const Tensor& a, const Operand& b) {
    return binary(a, b, [](auto& x, auto& y) { return mul(x, y); }, [](auto& x, double s) { return mul(x, s); });
  }, "input"_a, "other"_a);
  m.def("matmul", [](const Tensor& a, const Tensor& b) { return matmul(a, b); }, "input"_a, "other"_a, nogil());
  m.def("exp", [](const Tensor& a) { return exp(a); }, "input"_a, nogil());
  m.def("log", [](const Tensor& a) { return log(a); }, "input"_a, nogil());
  m.def("sum", [](const Tensor& x, py::object dim, bool keepdim) { return sum(x, dims_of(dim), keepdim); },
        "input"_a, "dim"_a = py::none(), "keepdim"_a = false);
  m.def("mean", [](const Tensor& x, py::object dim, bool keepdim) { return mean(x, dims_of(dim), keepdim); },
        "input"_a, "dim"_a = py::none(), "keepdim"_a = false);
  m.def("flatten", [](const Tensor& x, int64_t s, int64_t e) { return nn::flatten(x, s, e); }, "input"_a,
        "start_dim"_a = 0, "end_dim"_a = -1);

  m.def("cat", [](const std::vector<Tensor>& ts, int64_t dim) { return cat(ts, dim); }, "tensors"_a,
        "dim"_a = 0, nogil());
  m.def("concat", [](const std::vector<Tensor>& ts, int64_t dim) { return cat(ts, dim); }, "tensors"_a,
        "dim"_a = 0, nogil());
  m.def("concatenate", [](const std::vector<Tensor>& ts, int64_t dim) { return cat(ts, dim); },
        "tensors"_a, "dim"_a = 0, nogil());
  m.def("stack", [](const std::vector<Tensor>& ts, int64_t dim) { return stack(ts, dim); }, "tensors"_a,
        "dim"_a = 0, nogil());

  // ---- convnet.functional --------------------------------------------------------------
  py::module_ f = m.def_submodule("functional", "Functional forms of the layers");
  f.def("conv2d", [](const Tensor& x, const Tensor& w, std::optional<Tensor> b, py::object stride,
                     py::object padding, py::object dilation, int64_t groups) {
    Conv2dOptions o = conv_options(stride, padding, dilation, groups);
    py::gil_scoped_release r;
    return conv2d(x, w, b ? *b : Tensor(), o);
  }, "input"_a, "weight"_a, "bias"_a = py::none(), "stride"_a = 1, "padding"_a = 0, "dilation"_a = 1,
        "groups"_a = 1);
  f.def("conv_transpose2d", [](const Tensor& x, const Tensor& w, std::optional<Tensor> b, py::object stride,
                               py::object padding, py::object output_padding, int64_t groups, py::object dilation) {
    ConvTranspose2dOptions o;
    o.stride = to_pair(stride, "conv_transpose2d: stride");
    o.padding = to_pair(padding, "conv_transpose2d: padding");
    o.output_padding = to_pair(output_padding, "conv_transpose2d: output_padding");
    o.dilation = to_pair(dilation, "conv_transpose2d: dilation");
    o.groups = groups;
    py::gil_scoped_release r;
    return conv_transpose2d(x, w, b ? *b : Tensor(), o);
  }, "input"_a, "weight"_a, "bias"_a = py::none(), "stride"_a = 1, "padding"_a = 0, "output_padding"_a = 0,
        "groups"_a = 1, "dilation"_a = 1);
  f.def("max_pool2d", [](const Tensor& x, py::object k, py::object stride, py::object padding,
                         py::object dilation, bool ceil_mode, bool return_indices) {
    Pool2dOptions o = pool_options("max_pool2d", k, stride, padding, dilation, ceil_mode, true);
    std::pair<Tensor, Tensor> r;
    {
      py::gil_scoped_release nogil;
      r = return_indices ? max_pool2d_with_indices(x, o) : std::pair<Tensor, Tensor>{max_pool2d(x, o), Tensor()};
    }
    return return_indices ? py::object(py::make_tuple(r.first, r.second)) : py::cast(r.first);
  }, "input"_a, "kernel_size"_a, "stride"_a = py::none(), "padding"_a = 0, "dilation"_a = 1,
        "ceil_mode"_a = false, "return_indices"_a = false);
  f.def("avg_pool2d", [](const Tensor& x, py::object k, py::object stride, py::object padding,
                         bool ceil_mode, bool count_include_pad, py::object divisor_override) {
    if (!divisor_override.is_none()) throw py::value_error("avg_pool2d: divisor_override is not supported");
    Pool2dOptions o = pool_options("avg_pool2d", k, stride, padding, py::int_(1), ceil_mode, count_include_pad);
    py::gil_scoped_release r;
    return avg_pool2d(x, o);
  }, "input"_a, "kernel_size"_a, "stride"_a = py::none(), "padding"_a = 0, "ceil_mode"_a = false,
        "count_include_pad"_a = true, "divisor_override"_a = py::none());
  f.def("adaptive_avg_pool2d", [](const Tensor& x, py::object size) {
    AdaptiveSize s = adaptive_size(size, "adaptive_avg_pool2d: output_size");
    py::gil_scoped_release r;
    return adaptive_avg_pool2d(x, s);
  }, "input"_a, "output_size"_a);
  f.def("adaptive_max_pool2d", [](const Tensor& x, py::object size, bool return_indices) {
    if (return_indices) throw py::value_error("adaptive_max_pool2d: return_indices=True is not supported");
    AdaptiveSize s = adaptive_size(size, "adaptive_max_pool2d: output_size");
    py::gil_scoped_release r;
    return adaptive_max_pool2d(x, s);
  }, "input"_a, "output_size"_a, "return_indices"_a = false);
  f.def("lp_pool2d", [](const Tensor& x, double norm_type, py::object k, py::object stride, bool ceil_mode) {
    Pool2dOptions o = pool_options("lp_pool2d", k, stride, py::int_(0), py::int_(1), ceil_mode, true);
    py::gil_scoped_release r;
    return lp_pool2d(x, norm_type, o);
  }, "input"_a, "norm_type"_a, "kernel_size"_a, "stride"_a = py::none(), "ceil_mode"_a = false);
  f.def("pad", [](const Tensor& x, std::vector<int64_t> pads, const std::string& mode, std::optional<double> value) {
    if (mode != "constant") throw py::value_error("pad: only mode='constant' is supported, got '" + mode + "'");
    py::gil_scoped_release r;
    return pad(x, pads, value.value_or(0.0));
  }, "input"_a, "pad"_a, "mode"_a = "constant", "value"_a = py::none());
  f.def("interpolate", [](const Tensor& x, py::object size, py::object scale_factor, const std::string& mode,
                          py::object align_corners, py::object recompute_scale_factor, bool antialias) {
    if (antialias) throw py::value_error("interpolate: antialias=True is not supported");
    InterpolateOptions o = interpolate_options(size, scale_factor, mode, align_corners, recompute_scale_factor);
    py::gil_scoped_release r;
    return interpolate(x, o);
  }, "input"_a, "size"_a = py::none(), "scale_factor"_a = py::none(), "mode"_a = "nearest",
        "align_corners"_a = py::none(), "recompute_scale_factor"_a = py::none(), "antialias"_a = false);
  f.def("batch_norm", [](const Tensor& x, std::optional<Tensor> rm, std::optional<Tensor> rv,
                         std::optional<Tensor> w, std::optional<Tensor> b, bool training, double momentum,
                         double eps) {
    py::gil_scoped_release r;
    return batch_norm(x, rm ? *rm : Tensor(), rv ? *rv : Tensor(), w ? *w : Tensor(), b ? *b : Tensor(),
                      training, momentum, eps);
  }, "input"_a, "running_mean"_a, "running_var"_a, "weight"_a = py::none(), "bias"_a = py::none(),
        "training"_a = false, "momentum"_a = 0.1, "eps"_a = 1e-5);
  f.def("local_response_norm", [](const Tensor& x, int64_t size, double alpha, double beta, double k) {
    return local_response_norm(x, size, alpha, beta, k);
  }, "input"_a, "size"_a, "alpha"_a = 1e-4, "beta"_a = 0.75, "k"_a = 1.0, nogil());
  f.def("linear", [](const Tensor& x, const Tensor& w, std::optional<Tensor> b) {
    return linear(x, w, b ? *b : Tensor());
  }, "input"_a, "weight"_a, "bias"_a = py::none(), nogil());
  f.def("relu", [](const Tensor& x, bool) { return relu(x); }, "input"_a, "inplace"_a = false, nogil());
  f.def("leaky_relu", [](const Tensor& x, double s, bool) { return leaky_relu(x, s); }, "input"_a,
        "negative_slope"_a = 0.01, "inplace"_a = false, nogil());
  f.def("sigmoid", [](const Tensor& x) { return sigmoid(x); }, "input"_a, nogil());
  f.def("tanh", [](const Tensor& x) { return tanh(x); }, "input"_a, nogil());
  f.def("hardtanh", [](const Tensor& x, double lo, double hi, bool) { return hardtanh(x, lo, hi); },
        "input"_a, "min_val"_a = -1.0, "max_val"_a = 1.0, "inplace"_a = false, nogil());
  f.def("relu6", [](const Tensor& x, bool) { return relu6(x); }, "input"_a, "inplace"_a = false, nogil());
  f.def("elu", [](const Tensor& x, double alpha, bool) { return elu(x, alpha); }, "input"_a,
        "alpha"_a = 1.0, "inplace"_a = false, nogil());
  f.def("gelu", [](const Tensor& x, const std::string& a) { return gelu(x, a); }, "input"_a,
        "approximate"_a = "none", nogil());
  f.def("silu", [](const Tensor& x, bool) { return silu(x); }, "input"_a, "inplace"_a = false, nogil());
  f.def("softplus", [](const Tensor& x, double beta, double threshold) { return softplus(x, beta, threshold); },
        "input"_a, "beta"_a = 1.0, "threshold"_a = 20.0, nogil());
  f.def("prelu", [](const Tensor& x, const Tensor& w) { return prelu(x, w); }, "input"_a, "weight"_a, nogil());
  f.def("softmax", [](const Tensor& x, int64_t d) { return softmax(x, d); }, "input"_a, "dim"_a, nogil());
  f.def("log_softmax", [](const Tensor& x, int64_t d) { return log_softmax(x, d); }, "input"_a, "dim"_a, nogil());
  f.def("dropout", [](const Tensor& x, double p, bool training, bool) { return dropout(x, p, training); },
        "input"_a, "p"_a = 0.5, "training"_a = true, "inplace"_a = false, nogil());
  f.def("flatten", [](const Tensor& x, int64_t s, int64_t e) { return nn::flatten(x, s, e); }, "input"_a,
        "start_dim"_a = 0, "end_dim"_a = -1, nogil());
  // Losses: arguments in torch's order, with its deprecated size_average / reduce.
  f.def("cross_entropy", [](const Tensor& x, const Tensor& y, std::optional<Tensor> weight,
                            py::object size_average, int64_t ignore_index, py::object reduce,
                            const std::string& reduction, double label_smoothing) {
    Reduction r = parse_reduction(legacy_reduction(size_average, reduce, reduction), "cross_entropy");
    py::gil_scoped_release g;
    return cross_entropy(x, y, r, ignore_index, weight ? *weight : Tensor(), label_smoothing);
  }, "input"_a, "target"_a, "weight"_a = py::none(), "size_average"_a = py::none(), "ignore_index"_a = -100,
        "reduce"_a = py::none(), "reduction"_a = "mean", "label_smoothing"_a = 0.0);
  f.def("nll_loss", [](const Tensor& x, const Tensor& y, std::optional<Tensor> weight, py::object size_average,
                       int64_t ignore_index, py::object reduce, const std::string& reduction) {
    Reduction r = parse_reduction(legacy_reduction(size_average, reduce, reduction), "nll_loss");
    py::gil_scoped_release g;
    return nll_loss(x, y, r, ignore_index, weight ? *weight : Tensor());
  }, "input"_a, "target"_a, "weight"_a = py::none(), "size_average"_a = py::none(), "ignore_index"_a = -100,
        "reduce"_a = py::none(), "reduction"_a = "mean");
  f.def("mse_loss", [](const Tensor& x, const Tensor& y, py::object size_average, py::object reduce,
                       const std::string& reduction, py::object weight) {
    if (!weight.is_none()) throw py::value_error("mse_loss: weight is not supported");
    Reduction r = parse_reduction(legacy_reduction(size_average, reduce, reduction), "mse_loss");
    py::gil_scoped_release g;
    return mse_loss(x, y, r);
  }, "input"_a, "target"_a, "size_average"_a = py::none(), "reduce"_a = py::none(), "reduction"_a = "mean",
        "weight"_a = py::none());
  f.def("l1_loss", [](const Tensor& x, const Tensor& y, py::object size_average, py::object reduce,
                      const std::string& reduction, std::optional<Tensor> weight) {
    Reduction r = parse_reduction(legacy_reduction(size_average, reduce, reduction), "l1_loss");
    py::gil_scoped_release g;
    return l1_loss(x, y, r, weight ? *weight : Tensor());
  }, "input"_a, "target"_a, "size_average"_a = py::none(), "reduce"_a = py::none(), "reduction"_a = "mean",
        "weight"_a = py::none());
  f.def("smooth_l1_loss", [](const Tensor& x, const Tensor& y, py::object size_average, py::object reduce,
                             const std::string& reduction, double beta) {
    Reduction r = parse_reduction(legacy_reduction(size_average, reduce, reduction), "smooth_l1_loss");
    py::gil_scoped_release g;
    return smooth_l1_loss(x, y, r, beta);
  }, "input"_a, "target"_a, "size_average"_a = py::none(), "reduce"_a = py::none(), "reduction"_a = "mean",
        "beta"_a = 1.0);
  f.def("binary_cross_entropy", [](const Tensor& x, const Tensor& y, std::optional<Tensor> weight,
                                   py::object size_average, py::object reduce, const std::string& reduction) {
    Reduction r = parse_reduction(legacy_reduction(size_average, reduce, reduction), "binary_cross_entropy");
    py::gil_scoped_release g;
    return binary_cross_entropy(x, y, weight ? *weight : Tensor(), r);
  }, "input"_a, "target"_a, "weight"_a = py::none(), "size_average"_a = py::none(), "reduce"_a = py::none(),
        "reduction"_a = "mean");
  f.def("binary_cross_entropy_with_logits", [](const Tensor& x, const Tensor& y, std::optional<Tensor> weight,
                                               py::object size_average, py::object reduce,
                                               const std::string& reduction, std::optional<Tensor> pos_weight) {
    Reduction r = parse_reduction(legacy_reduction(size_average, reduce, reduction),
                                  "binary_cross_entropy_with_logits");
    py::gil_scoped_release g;
    return binary_cross_entropy_with_logits(x, y, weight ? *weight : Tensor(), r,
                                            pos_weight ? *pos_weight : Tensor());
  }, "input"_a, "target"_a, "weight"_a = py::none(), "size_average"_a = py::none(), "reduce"_a = py::none(),
        "reduction"_a = "mean", "pos_weight"_a = py::none());
  f.def("kl_div", [](const Tensor& x, const Tensor& y, py::object size_average, py::object reduce,
                     const std::string& reduction, bool log_target) {
    std::string r = legacy_reduction(size_average, reduce, reduction);
    py::gil_scoped_release g;
    return kl_div(x, y, r, log_target);
  }, "input"_a, "target"_a, "size_average"_a = py::none(), "reduce"_a = py::none(), "reduction"_a = "mean",
        "log_target"_a = false);
  f.def("multi_margin_loss", [](const Tensor& x, const Tensor& y, int64_t p, double margin,
                                std::optional<Tensor> weight, py::object size_average, py::object reduce,
                                const std::string& reduction) {
    Reduction r = parse_reduction(legacy_reduction(size_average, reduce, reduction), "multi_margin_loss");
    py::gil_scoped_release g;
    return multi_margin_loss(x, y, p, margin, weight ? *weight : Tensor(), r);
  }, "input"_a, "target"_a, "p"_a = 1, "margin"_a = 1.0, "weight"_a = py::none(), "size_average"_a = py::none(),
        "reduce"_a = py::none(), "reduction"_a = "mean");
}

}  // namespace convnet::bindings
