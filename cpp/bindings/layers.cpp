// The 1-D layers, 3-D convolution, normalization over samples, embedding, pixel shuffle, unfold/fold and max
// unpooling: their functional forms (convnet.functional) and modules (convnet.nn); and
// nn.init.trunc_normal_.
#include "bindings.h"

namespace convnet::bindings {

using namespace pybind11::literals;
using nn::Module;

namespace {

// An int or a 1-tuple of one (PyTorch's `_single`).
int64_t to_single(const py::handle& v, const char* what) {
  if (py::isinstance<py::int_>(v) && !py::isinstance<py::bool_>(v)) return v.cast<int64_t>();
  if ((py::isinstance<py::tuple>(v) || py::isinstance<py::list>(v)) && py::len(v) == 1) {
    py::handle e = v.cast<py::sequence>()[0];
    if (py::isinstance<py::int_>(e) && !py::isinstance<py::bool_>(e)) return e.cast<int64_t>();
  }
  throw py::type_error(cat_str(what, " must be an int or a 1-tuple of an int, got ", std::string(py::str(py::repr(v)))));
}

Pool1dOptions pool1d_options(const char* who, const py::object& k, const py::object& stride, const py::object& padding,
                             const py::object& dilation, bool ceil_mode, bool count_include_pad) {
  Pool1dOptions o;
  o.kernel_size = to_single(k, cat_str(who, ": kernel_size").c_str());
  o.stride = stride.is_none() || (py::isinstance<py::sequence>(stride) && py::len(stride) == 0)
                 ? o.kernel_size
                 : to_single(stride, cat_str(who, ": stride").c_str());
  o.padding = to_single(padding, cat_str(who, ": padding").c_str());
  o.dilation = to_single(dilation, cat_str(who, ": dilation").c_str());
  o.ceil_mode = ceil_mode;
  o.count_include_pad = count_include_pad;
  return o;
}

// conv1d's padding: an int, a 1-tuple, "same" or "valid".
Conv1dOptions conv1d_options(const char* who, const py::object& stride, const py::object& padding,
                             const py::object& dilation, int64_t groups, std::string* padding_str = nullptr) {
  Conv1dOptions o;
  o.stride = to_single(stride, cat_str(who, ": stride").c_str());
  o.dilation = to_single(dilation, cat_str(who, ": dilation").c_str());
  o.groups = groups;
  if (py::isinstance<py::str>(padding)) {
    std::string p = padding.cast<std::string>();
    if (padding_str) *padding_str = p;
    if (p == "same")
      o.same = true;
    else if (p != "valid")
      throw py::value_error(cat_str(who, ": padding must be an int, 'same' or 'valid', got '", p, "'"));
  } else {
    o.padding = to_single(padding, cat_str(who, ": padding").c_str());
  }
  return o;
}

UnfoldOptions unfold_options(const char* who, const py::object& k, const py::object& dilation,
                             const py::object& padding, const py::object& stride) {
  UnfoldOptions o;
  o.kernel_size = to_pair(k, cat_str(who, ": kernel_size").c_str());
  o.dilation = to_pair(dilation, cat_str(who, ": dilation").c_str());
  o.padding = to_pair(padding, cat_str(who, ": padding").c_str());
  o.stride = to_pair(stride, cat_str(who, ": stride").c_str());
  return o;
}

std::string repr_of(const py::handle& v) { return py::str(py::repr(v)); }

// An int or a triple of ints (PyTorch's `_triple`).
std::array<int64_t, 3> to_triple(const py::handle& v, const std::string& what) {
  if (py::isinstance<py::int_>(v) && !py::isinstance<py::bool_>(v)) {
    const int64_t a = v.cast<int64_t>();
    return {a, a, a};
  }
  if ((py::isinstance<py::tuple>(v) || py::isinstance<py::list>(v)) && py::len(v) == 3) {
    try {
      return v.cast<std::array<int64_t, 3>>();
    } catch (const py::cast_error&) {
    }
  }
  throw py::type_error(cat_str(what, " must be an int or a triple of ints, got ", repr_of(v)));
}

py::tuple triple_tuple(const std::array<int64_t, 3>& t) { return py::make_tuple(t[0], t[1], t[2]); }

// conv3d's options: int or triple arguments, padding also "same" or "valid".
Conv3dOptions conv3d_options(const char* who, const py::object& stride, const py::object& padding,
                             const py::object& dilation, int64_t groups, std::string* padding_str = nullptr) {
  Conv3dOptions o;
  o.stride = to_triple(stride, cat_str(who, ": stride"));
  o.dilation = to_triple(dilation, cat_str(who, ": dilation"));
  o.groups = groups;
  if (py::isinstance<py::str>(padding)) {
    std::string p = padding.cast<std::string>();
    if (padding_str) *padding_str = p;
    if (p == "same")
      o.same = true;
    else if (p != "valid")
      throw py::value_error(cat_str(who, ": padding must be an int, a triple, 'same' or 'valid', got '", p, "'"));
  } else {
    o.padding = to_triple(padding, cat_str(who, ": padding"));
  }
  return o;
}

// 3-D pooling options from Python arguments (stride None or empty: the kernel size).
Pool3dOptions pool3d_options(const char* who, const py::object& k, const py::object& stride,
                             const py::object& padding, const py::object& dilation, bool ceil_mode,
                             bool count_include_pad) {
  Pool3dOptions o;
  o.kernel_size = to_triple(k, cat_str(who, ": kernel_size"));
  o.stride = stride.is_none() || (py::isinstance<py::sequence>(stride) && py::len(stride) == 0)
                 ? o.kernel_size
                 : to_triple(stride, cat_str(who, ": stride"));
  o.padding = to_triple(padding, cat_str(who, ": padding"));
  o.dilation = to_triple(dilation, cat_str(who, ": dilation"));
  o.ceil_mode = ceil_mode;
  o.count_include_pad = count_include_pad;
  return o;
}

// The pair of max_pool2d_with_indices as a tuple, or only the pooled values.
py::object values_or_pair(const std::pair<Tensor, Tensor>& r, bool return_indices) {
  if (return_indices) return py::make_tuple(r.first, r.second);
  return py::cast(r.first);
}

std::optional<std::array<int64_t, 2>> unpool_size(const py::object& output_size) {
  if (output_size.is_none()) return std::nullopt;
  py::sequence s = output_size.cast<py::sequence>();
  const size_t n = py::len(s);
  if (n < 2) throw py::value_error("max_unpool2d: output_size must have at least 2 elements (H, W)");
  return std::array<int64_t, 2>{s[n - 2].cast<int64_t>(), s[n - 1].cast<int64_t>()};
}

}  // namespace

void bind_layers(py::module_& m) {
  py::module_ f = m.attr("functional");
  f.def("conv1d", [](const Tensor& x, const Tensor& w, std::optional<Tensor> b, py::object stride,
                     py::object padding, py::object dilation, int64_t groups) {
    Conv1dOptions o = conv1d_options("conv1d", stride, padding, dilation, groups);
    py::gil_scoped_release r;
    return conv1d(x, w, b ? *b : Tensor(), o);
  }, "input"_a, "weight"_a, "bias"_a = py::none(), "stride"_a = 1, "padding"_a = 0, "dilation"_a = 1,
        "groups"_a = 1);
  f.def("max_pool1d", [](const Tensor& x, py::object k, py::object stride, py::object padding,
                         py::object dilation, bool ceil_mode, bool return_indices) {
    Pool1dOptions o = pool1d_options("max_pool1d", k, stride, padding, dilation, ceil_mode, true);
    std::pair<Tensor, Tensor> r;
    {
      py::gil_scoped_release nogil;
      r = return_indices ? max_pool1d_with_indices(x, o) : std::pair<Tensor, Tensor>{max_pool1d(x, o), Tensor()};
    }
    return values_or_pair(r, return_indices);
  }, "input"_a, "kernel_size"_a, "stride"_a = py::none(), "padding"_a = 0, "dilation"_a = 1,
        "ceil_mode"_a = false, "return_indices"_a = false);
  f.def("avg_pool1d", [](const Tensor& x, py::object k, py::object stride, py::object padding, bool ceil_mode,
                         bool count_include_pad) {
    Pool1dOptions o = pool1d_options("avg_pool1d", k, stride, padding, py::int_(1), ceil_mode, count_include_pad);
    py::gil_scoped_release r;
    return avg_pool1d(x, o);
  }, "input"_a, "kernel_size"_a, "stride"_a = py::none(), "padding"_a = 0, "ceil_mode"_a = false,
        "count_include_pad"_a = true);
  f.def("adaptive_avg_pool1d", [](const Tensor& x, py::object size) {
    const int64_t s = to_single(size, "adaptive_avg_pool1d: output_size");
    py::gil_scoped_release r;
    return adaptive_avg_pool1d(x, s);
  }, "input"_a, "output_size"_a);
  f.def("conv3d", [](const Tensor& x, const Tensor& w, std::optional<Tensor> b, py::object stride,
                     py::object padding, py::object dilation, int64_t groups) {
    Conv3dOptions o = conv3d_options("conv3d", stride, padding, dilation, groups);
    py::gil_scoped_release r;
    return conv3d(x, w, b ? *b : Tensor(), o);
  }, "input"_a, "weight"_a, "bias"_a = py::none(), "stride"_a = 1, "padding"_a = 0, "dilation"_a = 1,
        "groups"_a = 1);
  f.def("max_pool3d", [](const Tensor& x, py::object k, py::object stride, py::object padding,
                         py::object dilation, bool ceil_mode, bool return_indices) {
    Pool3dOptions o = pool3d_options("max_pool3d", k, stride, padding, dilation, ceil_mode, true);
    std::pair<Tensor, Tensor> r;
    {
      py::gil_scoped_release nogil;
      r = max_pool3d_with_indices(x, o);
    }
    return values_or_pair(r, return_indices);
  }, "input"_a, "kernel_size"_a, "stride"_a = py::none(), "padding"_a = 0, "dilation"_a = 1,
        "ceil_mode"_a = false, "return_indices"_a = false);
  f.def("avg_pool3d", [](const Tensor& x, py::object k, py::object stride, py::object padding, bool ceil_mode,
                         bool count_include_pad, py::object divisor_override) {
    if (!divisor_override.is_none()) throw py::value_error("avg_pool3d: divisor_override is not supported");
    Pool3dOptions o = pool3d_options("avg_pool3d", k, stride, padding, py::int_(1), ceil_mode, count_include_pad);
    py::gil_scoped_release r;
    return avg_pool3d(x, o);
  }, "input"_a, "kernel_size"_a, "stride"_a = py::none(), "padding"_a = 0, "ceil_mode"_a = false,
        "count_include_pad"_a = true, "divisor_override"_a = py::none());
  f.def("max_unpool2d", [](const Tensor& x, const Tensor& indices, py::object k, py::object stride,
                           py::object padding, py::object output_size) {
    Pool2dOptions o = pool_options("max_unpool2d", k, stride, padding, py::int_(1), false, true);
    auto size = unpool_size(output_size);
    py::gil_scoped_release r;
    return max_unpool2d(x, indices, o, size);
  }, "input"_a, "indices"_a, "kernel_size"_a, "stride"_a = py::none(), "padding"_a = 0,
        "output_size"_a = py::none());
  f.def("dropout2d", [](const Tensor& x, double p, bool training, bool) {
    py::gil_scoped_release r;
    return dropout2d(x, p, training);
  }, "input"_a, "p"_a = 0.5, "training"_a = true, "inplace"_a = false);
  f.def("embedding", [](const Tensor& x, const Tensor& w, std::optional<int64_t> padding_idx,
                        py::object max_norm, double, bool scale_grad_by_freq, bool sparse) {
    if (!max_norm.is_none() || scale_grad_by_freq || sparse)
      throw py::value_error("embedding: max_norm, scale_grad_by_freq and sparse are not supported");
    py::gil_scoped_release r;
    return embedding(x, w, padding_idx);
  }, "input"_a, "weight"_a, "padding_idx"_a = py::none(), "max_norm"_a = py::none(), "norm_type"_a = 2.0,
        "scale_grad_by_freq"_a = false, "sparse"_a = false);
  f.def("pixel_shuffle", [](const Tensor& x, int64_t r) {
    py::gil_scoped_release nogil;
    return pixel_shuffle(x, r);
  }, "input"_a, "upscale_factor"_a);
  f.def("pixel_unshuffle", [](const Tensor& x, int64_t r) {
    py::gil_scoped_release nogil;
    return pixel_unshuffle(x, r);
  }, "input"_a, "downscale_factor"_a);
  f.def("unfold", [](const Tensor& x, py::object k, py::object dilation, py::object padding, py::object stride) {
    UnfoldOptions o = unfold_options("unfold", k, dilation, padding, stride);
    py::gil_scoped_release r;
    return unfold(x, o);
  }, "input"_a, "kernel_size"_a, "dilation"_a = 1, "padding"_a = 0, "stride"_a = 1);
  f.def("fold", [](const Tensor& x, py::object output_size, py::object k, py::object dilation, py::object padding,
                   py::object stride) {
    UnfoldOptions o = unfold_options("fold", k, dilation, padding, stride);
    const auto size = to_pair(output_size, "fold: output_size");
    py::gil_scoped_release r;
    return fold(x, size, o);
  }, "input"_a, "output_size"_a, "kernel_size"_a, "dilation"_a = 1, "padding"_a = 0, "stride"_a = 1);
  f.def("layer_norm", [](const Tensor& x, py::object shape, std::optional<Tensor> w, std::optional<Tensor> b,
                         double eps) {
    Shape s = py::isinstance<py::int_>(shape) ? Shape{shape.cast<int64_t>()} : shape.cast<Shape>();
    py::gil_scoped_release r;
    return layer_norm(x, s, w ? *w : Tensor(), b ? *b : Tensor(), eps);
  }, "input"_a, "normalized_shape"_a, "weight"_a = py::none(), "bias"_a = py::none(), "eps"_a = 1e-5);
  f.def("group_norm", [](const Tensor& x, int64_t groups, std::optional<Tensor> w, std::optional<Tensor> b,
                         double eps) {
    py::gil_scoped_release r;
    return group_norm(x, groups, w ? *w : Tensor(), b ? *b : Tensor(), eps);
  }, "input"_a, "num_groups"_a, "weight"_a = py::none(), "bias"_a = py::none(), "eps"_a = 1e-5);
  f.def("instance_norm", [](const Tensor& x, std::optional<Tensor> running_mean, std::optional<Tensor> running_var,
                            std::optional<Tensor> w, std::optional<Tensor> b, bool use_input_stats, double,
                            double eps) {
    if (running_mean || running_var || !use_input_stats)
      throw py::value_error("instance_norm: running statistics are not supported (use_input_stats=True only)");
    py::gil_scoped_release r;
    return instance_norm(x, w ? *w : Tensor(), b ? *b : Tensor(), eps);
  }, "input"_a, "running_mean"_a = py::none(), "running_var"_a = py::none(), "weight"_a = py::none(),
        "bias"_a = py::none(), "use_input_stats"_a = true, "momentum"_a = 0.1, "eps"_a = 1e-5);

  py::module_ nn = m.attr("nn");
  py::module_ init = nn.attr("init");
  init.def("trunc_normal_", [](py::object t, double mean, double std, double a, double b, py::object generator) {
    if (!generator.is_none()) throw py::value_error("trunc_normal_: generator is not supported");
    nn::init::trunc_normal_(t.cast<Tensor>(), mean, std, a, b);
    return t;  // the argument itself, as torch
  }, "tensor"_a, "mean"_a = 0.0, "std"_a = 1.0, "a"_a = -2.0, "b"_a = 2.0, "generator"_a = py::none());
  py::classh<nn::Conv1d, Module>(nn, "Conv1d")
      .def(py::init([](int64_t in, int64_t out, py::object k, py::object stride, py::object padding,
                       py::object dilation, int64_t groups, bool bias, const std::string& padding_mode) {
             if (padding_mode != "zeros")
               throw py::value_error("Conv1d: only padding_mode='zeros' is supported, got '" + padding_mode + "'");
             std::string pstr;
             Conv1dOptions o = conv1d_options("Conv1d", stride, padding, dilation, groups, &pstr);
             return std::make_shared<nn::Conv1d>(in, out, to_single(k, "Conv1d: kernel_size"), o.stride, o.padding,
                                                 o.dilation, groups, bias, pstr);
           }),
           "in_channels"_a, "out_channels"_a, "kernel_size"_a, "stride"_a = 1, "padding"_a = 0, "dilation"_a = 1,
           "groups"_a = 1, "bias"_a = true, "padding_mode"_a = "zeros")
      .def_readonly("in_channels", &nn::Conv1d::in_channels)
      .def_readonly("out_channels", &nn::Conv1d::out_channels)
      .def_property_readonly("kernel_size", [](const nn::Conv1d& c) { return py::make_tuple(c.kernel_size); })
      .def_property_readonly("stride", [](const nn::Conv1d& c) { return py::make_tuple(c.options.stride); })
      .def_property_readonly("padding", [](const nn::Conv1d& c) -> py::object {
        if (c.options.same) return py::str("same");
        return py::make_tuple(c.options.padding);
      })
      .def_property_readonly("dilation", [](const nn::Conv1d& c) { return py::make_tuple(c.options.dilation); })
      .def_property_readonly("groups", [](const nn::Conv1d& c) { return c.options.groups; })
      .def("reset_parameters", &nn::Conv1d::reset_parameters);

  py::classh<nn::MaxPool1d, Module>(nn, "MaxPool1d")
      .def(py::init([](py::object k, py::object stride, py::object padding, py::object dilation, bool return_indices,
                       bool ceil_mode) {
             auto p = std::make_shared<nn::MaxPool1d>(
                 pool1d_options("MaxPool1d", k, stride, padding, dilation, ceil_mode, true));
             p->return_indices = return_indices;
             return p;
           }),
           "kernel_size"_a, "stride"_a = py::none(), "padding"_a = 0, "dilation"_a = 1, "return_indices"_a = false,
           "ceil_mode"_a = false)
      .def("forward", [](nn::MaxPool1d& p, const Tensor& x) {
        return pool_forward(p, x, [](const Tensor& t, const Pool1dOptions& o) { return max_pool1d_with_indices(t, o); });
      }, "input"_a)
      .def_readonly("return_indices", &nn::MaxPool1d::return_indices)
      .def_property_readonly("kernel_size", [](const nn::MaxPool1d& p) { return p.options.kernel_size; })
      .def_property_readonly("stride", [](const nn::MaxPool1d& p) { return p.options.stride; })
      .def_property_readonly("padding", [](const nn::MaxPool1d& p) { return p.options.padding; })
      .def_property_readonly("dilation", [](const nn::MaxPool1d& p) { return p.options.dilation; })
      .def_property_readonly("ceil_mode", [](const nn::MaxPool1d& p) { return p.options.ceil_mode; });
  py::classh<nn::AvgPool1d, Module>(nn, "AvgPool1d")
      .def(py::init([](py::object k, py::object stride, py::object padding, bool ceil_mode, bool count_include_pad) {
             return std::make_shared<nn::AvgPool1d>(
                 pool1d_options("AvgPool1d", k, stride, padding, py::int_(1), ceil_mode, count_include_pad));
           }),
           "kernel_size"_a, "stride"_a = py::none(), "padding"_a = 0, "ceil_mode"_a = false,
           "count_include_pad"_a = true)
      .def_property_readonly("kernel_size", [](const nn::AvgPool1d& p) { return py::make_tuple(p.options.kernel_size); })
      .def_property_readonly("stride", [](const nn::AvgPool1d& p) { return py::make_tuple(p.options.stride); })
      .def_property_readonly("padding", [](const nn::AvgPool1d& p) { return py::make_tuple(p.options.padding); })
      .def_property_readonly("ceil_mode", [](const nn::AvgPool1d& p) { return p.options.ceil_mode; })
      .def_property_readonly("count_include_pad", [](const nn::AvgPool1d& p) { return p.options.count_include_pad; });
  py::classh<nn::AdaptiveAvgPool1d, Module>(nn, "AdaptiveAvgPool1d")
      .def(py::init([](py::object size) {
             return std::make_shared<nn::AdaptiveAvgPool1d>(to_single(size, "AdaptiveAvgPool1d: output_size"));
           }),
           "output_size"_a)
      .def_readonly("output_size", &nn::AdaptiveAvgPool1d::output_size);

  py::classh<nn::MaxPool3d, Module>(nn, "MaxPool3d")
      .def(py::init([](py::object k, py::object stride, py::object padding, py::object dilation, bool return_indices,
                       bool ceil_mode) {
             if (return_indices) throw py::value_error("MaxPool3d: return_indices=True is not supported (use F.max_pool3d)");
             return std::make_shared<nn::MaxPool3d>(
                 pool3d_options("MaxPool3d", k, stride, padding, dilation, ceil_mode, true),
                 cat_str("kernel_size=", repr_of(k), ", stride=", repr_of(stride.is_none() ? k : stride),
                         ", padding=", repr_of(padding), ", dilation=", repr_of(dilation),
                         ", ceil_mode=", ceil_mode ? "True" : "False"));
           }),
           "kernel_size"_a, "stride"_a = py::none(), "padding"_a = 0, "dilation"_a = 1, "return_indices"_a = false,
           "ceil_mode"_a = false);
  py::classh<nn::AvgPool3d, Module>(nn, "AvgPool3d")
      .def(py::init([](py::object k, py::object stride, py::object padding, bool ceil_mode, bool count_include_pad,
                       py::object divisor_override) {
             if (!divisor_override.is_none()) throw py::value_error("AvgPool3d: divisor_override is not supported");
             return std::make_shared<nn::AvgPool3d>(
                 pool3d_options("AvgPool3d", k, stride, padding, py::int_(1), ceil_mode, count_include_pad),
                 cat_str("kernel_size=", repr_of(k), ", stride=", repr_of(stride.is_none() ? k : stride),
                         ", padding=", repr_of(padding)));
           }),
           "kernel_size"_a, "stride"_a = py::none(), "padding"_a = 0, "ceil_mode"_a = false,
           "count_include_pad"_a = true, "divisor_override"_a = py::none());

  py::classh<nn::Conv3d, Module>(nn, "Conv3d")
      .def(py::init([](int64_t in, int64_t out, py::object k, py::object stride, py::object padding,
                       py::object dilation, int64_t groups, bool bias, const std::string& padding_mode) {
             if (padding_mode != "zeros")
               throw py::value_error("Conv3d: only padding_mode='zeros' is supported, got '" + padding_mode + "'");
             std::string pstr;
             Conv3dOptions o = conv3d_options("Conv3d", stride, padding, dilation, groups, &pstr);
             return std::make_shared<nn::Conv3d>(in, out, to_triple(k, "Conv3d: kernel_size"), o.stride, o.padding,
                                                 o.dilation, groups, bias, pstr);
           }),
           "in_channels"_a, "out_channels"_a, "kernel_size"_a, "stride"_a = 1, "padding"_a = 0, "dilation"_a = 1,
           "groups"_a = 1, "bias"_a = true, "padding_mode"_a = "zeros")
      .def_readonly("in_channels", &nn::Conv3d::in_channels)
      .def_readonly("out_channels", &nn::Conv3d::out_channels)
      .def_property_readonly("kernel_size", [](const nn::Conv3d& c) { return triple_tuple(c.kernel_size); })
      .def_property_readonly("stride", [](const nn::Conv3d& c) { return triple_tuple(c.options.stride); })
      .def_property_readonly("padding", [](const nn::Conv3d& c) -> py::object {
        if (!c.padding_str.empty()) return py::str(c.padding_str);
        return triple_tuple(c.options.padding);
      })
      .def_property_readonly("dilation", [](const nn::Conv3d& c) { return triple_tuple(c.options.dilation); })
      .def_property_readonly("groups", [](const nn::Conv3d& c) { return c.options.groups; })
      .def("reset_parameters", &nn::Conv3d::reset_parameters);

  py::classh<nn::MaxUnpool2d, Module>(nn, "MaxUnpool2d")
      .def(py::init([](py::object k, py::object stride, py::object padding) {
             return std::make_shared<nn::MaxUnpool2d>(
                 pool_options("MaxUnpool2d", k, stride, padding, py::int_(1), false, true));
           }),
           "kernel_size"_a, "stride"_a = py::none(), "padding"_a = 0)
      .def("forward", [](const nn::MaxUnpool2d& u, const Tensor& x, const Tensor& indices, py::object output_size) {
        auto size = unpool_size(output_size);
        py::gil_scoped_release r;
        return u.unpool(x, indices, size);
      }, "input"_a, "indices"_a, "output_size"_a = py::none())
      .def_property_readonly("kernel_size", [](const nn::MaxUnpool2d& p) { return py::make_tuple(p.options.kernel_size[0], p.options.kernel_size[1]); })
      .def_property_readonly("stride", [](const nn::MaxUnpool2d& p) { return py::make_tuple(p.options.stride[0], p.options.stride[1]); })
      .def_property_readonly("padding", [](const nn::MaxUnpool2d& p) { return py::make_tuple(p.options.padding[0], p.options.padding[1]); });

  py::classh<nn::Unfold, Module>(nn, "Unfold")
      .def(py::init([](py::object k, py::object dilation, py::object padding, py::object stride) {
             return std::make_shared<nn::Unfold>(unfold_options("Unfold", k, dilation, padding, stride),
                                                 cat_str("kernel_size=", repr_of(k), ", dilation=", repr_of(dilation),
                                                         ", padding=", repr_of(padding), ", stride=", repr_of(stride)));
           }),
           "kernel_size"_a, "dilation"_a = 1, "padding"_a = 0, "stride"_a = 1);
  py::classh<nn::Fold, Module>(nn, "Fold")
      .def(py::init([](py::object size, py::object k, py::object dilation, py::object padding, py::object stride) {
             return std::make_shared<nn::Fold>(
                 to_pair(size, "Fold: output_size"), unfold_options("Fold", k, dilation, padding, stride),
                 cat_str("output_size=", repr_of(size), ", kernel_size=", repr_of(k), ", dilation=", repr_of(dilation),
                         ", padding=", repr_of(padding), ", stride=", repr_of(stride)));
           }),
           "output_size"_a, "kernel_size"_a, "dilation"_a = 1, "padding"_a = 0, "stride"_a = 1);

  py::classh<nn::PixelShuffle, Module>(nn, "PixelShuffle")
      .def(py::init<int64_t>(), "upscale_factor"_a)
      .def_readonly("upscale_factor", &nn::PixelShuffle::upscale_factor);
  py::classh<nn::PixelUnshuffle, Module>(nn, "PixelUnshuffle")
      .def(py::init<int64_t>(), "downscale_factor"_a)
      .def_readonly("downscale_factor", &nn::PixelUnshuffle::downscale_factor);
  py::classh<nn::Dropout2d, Module>(nn, "Dropout2d")
      .def(py::init<double, bool>(), "p"_a = 0.5, "inplace"_a = false)
      .def_readonly("p", &nn::Dropout2d::p)
      .def_readonly("inplace", &nn::Dropout2d::inplace);
  py::classh<nn::Embedding, Module>(nn, "Embedding")
      .def(py::init([](int64_t num, int64_t dim, std::optional<int64_t> padding_idx, py::object max_norm, double,
                       bool scale_grad_by_freq, bool sparse) {
             if (!max_norm.is_none() || scale_grad_by_freq || sparse)
               throw py::value_error("Embedding: max_norm, scale_grad_by_freq and sparse are not supported");
             return std::make_shared<nn::Embedding>(num, dim, padding_idx);
           }),
           "num_embeddings"_a, "embedding_dim"_a, "padding_idx"_a = py::none(), "max_norm"_a = py::none(),
           "norm_type"_a = 2.0, "scale_grad_by_freq"_a = false, "sparse"_a = false)
      .def_readonly("num_embeddings", &nn::Embedding::num_embeddings)
      .def_readonly("embedding_dim", &nn::Embedding::embedding_dim)
      .def_readonly("padding_idx", &nn::Embedding::padding_idx)
      .def("reset_parameters", &nn::Embedding::reset_parameters);

  py::classh<nn::GroupNorm, Module>(nn, "GroupNorm")
      .def(py::init<int64_t, int64_t, double, bool, bool>(), "num_groups"_a, "num_channels"_a, "eps"_a = 1e-5,
           "affine"_a = true, py::kw_only(), "bias"_a = true)
      .def_readonly("num_groups", &nn::GroupNorm::num_groups)
      .def_readonly("num_channels", &nn::GroupNorm::num_channels)
      .def_readwrite("eps", &nn::GroupNorm::eps)
      .def_readonly("affine", &nn::GroupNorm::affine)
      .def("reset_parameters", &nn::GroupNorm::reset_parameters);
  py::classh<nn::LayerNorm, Module>(nn, "LayerNorm")
      .def(py::init([](py::object shape, double eps, bool elementwise_affine, bool bias) {
             Shape s = py::isinstance<py::int_>(shape) ? Shape{shape.cast<int64_t>()} : shape.cast<Shape>();
             return std::make_shared<nn::LayerNorm>(s, eps, elementwise_affine, bias);
           }),
           "normalized_shape"_a, "eps"_a = 1e-5, "elementwise_affine"_a = true, "bias"_a = true)
      .def_property_readonly("normalized_shape", [](const nn::LayerNorm& l) {
        py::tuple t(l.normalized_shape.size());
        for (size_t i = 0; i < l.normalized_shape.size(); ++i) t[i] = l.normalized_shape[i];
        return t;
      })
      .def_readwrite("eps", &nn::LayerNorm::eps)
      .def_readonly("elementwise_affine", &nn::LayerNorm::elementwise_affine)
      .def("reset_parameters", &nn::LayerNorm::reset_parameters);
  py::classh<nn::InstanceNorm2d, Module>(nn, "InstanceNorm2d")
      .def(py::init<int64_t, double, double, bool, bool, bool>(), "num_features"_a, "eps"_a = 1e-5,
           "momentum"_a = 0.1, "affine"_a = false, "track_running_stats"_a = false, py::kw_only(), "bias"_a = true)
      .def_readonly("num_features", &nn::InstanceNorm2d::num_features)
      .def_readwrite("eps", &nn::InstanceNorm2d::eps)
      .def_readwrite("momentum", &nn::InstanceNorm2d::momentum)
      .def_readonly("affine", &nn::InstanceNorm2d::affine)
      .def_readonly("track_running_stats", &nn::InstanceNorm2d::track_running_stats)
      .def("reset_parameters", &nn::InstanceNorm2d::reset_parameters);
}

}  // namespace convnet::bindings
