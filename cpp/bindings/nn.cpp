// convnet.nn: Module (subclassable from Python), the layers, init.
#include <unordered_map>

#include "bindings.h"

namespace convnet::bindings {

using namespace pybind11::literals;
using nn::Module;

namespace {

// Lets Python subclasses override forward; their class name is their type_name.
class PyModule : public Module, public py::trampoline_self_life_support {
 public:
  Tensor forward(const Tensor& x) override { PYBIND11_OVERRIDE(Tensor, Module, forward, x); }
  std::string type_name() const override {
    py::gil_scoped_acquire gil;
    py::object self = py::cast(static_cast<const Module*>(this), py::return_value_policy::reference);
    return py::str(py::type::of(self).attr("__name__"));
  }
  std::string extra_repr() const override {
    py::gil_scoped_acquire gil;
    py::function f = py::get_override(static_cast<const Module*>(this), "extra_repr");
    if (f) return f().cast<std::string>();
    return Module::extra_repr();
  }
};

// Whether a Python class between type(self) and the compiled classes defines forward.
bool python_forward(const py::handle& self) {
  static std::unordered_map<PyObject*, bool> cache;  // guarded by the GIL
  py::handle type = py::type::of(self);
  auto it = cache.find(type.ptr());
  if (it != cache.end()) return it->second;
  bool found = false;
  for (py::handle base : type.attr("__mro__")) {
    if (py::str(base.attr("__module__")).cast<std::string>() == "convnet._core") break;
    if (base.attr("__dict__").contains("forward")) {
      found = true;
      break;
    }
  }
  type.inc_ref();  // classes are kept for the cache's lifetime
  cache[type.ptr()] = found;
  return found;
}

py::object lookup(Module& m, const std::string& name) {
  if (Tensor* p = m.find_parameter(name)) return py::cast(*p);
  if (Tensor* b = m.find_buffer(name)) return py::cast(*b);
  if (auto c = m.find_child(name)) return py::cast(c);
  return py::object();
}

// A Python callable owned from C++, released with the GIL held.
std::shared_ptr<py::object> hold(py::object o) {
  return std::shared_ptr<py::object>(new py::object(std::move(o)), [](py::object* p) {
    py::gil_scoped_acquire gil;
    delete p;
  });
}

// Holds its module weakly: through the module's shared_ptr owner, or for a module subclassed in
// Python (owned by its Python object, with no shared_ptr owner of its own) through that object.
class HookHandle {
 public:
  HookHandle(const py::object& self, int64_t id) : id_(id) {
    Module& m = self.cast<Module&>();
    if (dynamic_cast<PyModule*>(&m))
      py_module_ = py::weakref(self);
    else
      module_ = m.weak_from_this();
  }
  void remove() {
    if (py_module_) {
      py::object self = py_module_();
      if (!self.is_none()) self.cast<Module&>().remove_forward_hook(id_);
    } else if (auto m = module_.lock()) {
      m->remove_forward_hook(id_);
    }
  }

 private:
  std::weak_ptr<Module> module_;
  py::weakref py_module_;
  int64_t id_;
};

Conv2dOptions padding_of(const py::object& padding, std::string& padding_str) {
  Conv2dOptions o;
  if (py::isinstance<py::str>(padding))
    padding_str = padding.cast<std::string>();
  else
    o.padding = to_pair(padding, "Conv2d: padding");
  return o;
}

// `layer` names the module in error messages.
Pool2dOptions pool_of(const char* layer, const py::object& k, const py::object& stride,
                      const py::object& padding, const py::object& dilation, bool ceil_mode,
                      bool count_include_pad) {
  Pool2dOptions o = pool_options(layer, k, stride, padding, dilation, ceil_mode, count_include_pad);
  CONVNET_CHECK(o.kernel_size[0] > 0 && o.kernel_size[1] > 0, layer, ": kernel_size must be positive, got (",
                o.kernel_size[0], ", ", o.kernel_size[1], ")");
  CONVNET_CHECK(o.stride[0] > 0 && o.stride[1] > 0, layer, ": stride must be positive, got (", o.stride[0],
                ", ", o.stride[1], ")");
  return o;
}

}  // namespace

void bind_nn(py::module_& m) {
  py::module_ nn = m.def_submodule("nn", "Modules");

  py::class_<HookHandle>(nn, "RemovableHandle").def("remove", &HookHandle::remove);

  py::classh<Module, PyModule>(nn, "Module", py::dynamic_attr())
      .def(py::init<>())
      .def("forward", &Module::forward, "input"_a, py::call_guard<py::gil_scoped_release>())
      .def("__call__", [](py::object self, py::args args, py::kwargs kwargs) -> py::object {
        Module& mod = self.cast<Module&>();
        if (python_forward(self) || args.size() != 1 || kwargs.size() || !py::isinstance<Tensor>(args[0])) {
          py::object out = self.attr("forward")(*args, **kwargs);
          if (args.size() >= 1 && py::isinstance<Tensor>(args[0]) && py::isinstance<Tensor>(out)) {
            Tensor x = args[0].cast<Tensor>(), y = out.cast<Tensor>();
            Tensor r = mod.run_hooks(x, y);
            return py::cast(r);
          }
          return out;
        }
        Tensor x = args[0].cast<Tensor>(), y;
        {
          py::gil_scoped_release nogil;
          y = mod(x);
        }
        return py::cast(y);
      })
      .def("__setattr__", [](py::object self, const std::string& name, py::object value) {
        Module& mod = self.cast<Module&>();
        py::object generic = py::module_::import("builtins").attr("object").attr("__setattr__");
        if (py::isinstance<Module>(value)) {
          if (!mod.find_child(name)) mod.unregister(name);  // a replaced child keeps its place
          mod.register_module(name, value.cast<std::shared_ptr<Module>>());
          if (py::hasattr(self, "__dict__") && self.attr("__dict__").contains(name))
            self.attr("__dict__").attr("pop")(name);
          return;
        }
        bool is_param = py::isinstance(value, py::module_::import("convnet.nn").attr("Parameter"));
        if (py::isinstance<Tensor>(value) && (is_param || mod.find_parameter(name) || mod.find_buffer(name))) {
          Tensor t = value.cast<Tensor>();
          if (mod.find_buffer(name) && !is_param) {
            mod.register_buffer(name, t);
          } else {
            if (!mod.find_parameter(name)) mod.unregister(name);
            mod.register_parameter(name, t);
          }
          return;
        }
        if (value.is_none() && (mod.find_parameter(name) || mod.find_child(name))) {
          mod.unregister(name);
        }
        generic(self, name, value);
      })
      .def("__getattr__", [](Module& mod, const std::string& name) {
        py::object o = lookup(mod, name);
        if (!o) throw py::attribute_error(cat_str("'", mod.type_name(), "' object has no attribute '", name, "'"));
        return o;
      })
      .def("__delattr__", [](py::object self, const std::string& name) {
        if (!self.cast<Module&>().unregister(name))
          py::module_::import("builtins").attr("object").attr("__delattr__")(self, name);
      })
      .def("register_parameter", [](Module& mod, const std::string& name, std::optional<Tensor> t) {
        if (t) mod.register_parameter(name, *t); else mod.unregister(name);
      }, "name"_a, "param"_a)
      .def("register_buffer", [](Module& mod, const std::string& name, const Tensor& t) {
        mod.register_buffer(name, t);
      }, "name"_a, "tensor"_a)
      .def("add_module", &Module::register_module, "name"_a, "module"_a)
      .def("register_module", &Module::register_module, "name"_a, "module"_a)
      .def("parameters", &Module::parameters, "recurse"_a = true)
      .def("named_parameters", [](const Module& mod, const std::string& prefix, bool recurse) {
        py::list out;
        for (auto& [n, t] : mod.named_parameters(recurse))
          out.append(py::make_tuple(prefix.empty() ? n : prefix + "." + n, t));
        return out;
      }, "prefix"_a = "", "recurse"_a = true)
      .def("buffers", [](const Module& mod, bool recurse) {
        std::vector<Tensor> out;
        for (auto& p : mod.named_buffers(recurse)) out.push_back(p.second);
        return out;
      }, "recurse"_a = true)
      .def("named_buffers", [](const Module& mod, bool recurse) { return mod.named_buffers(recurse); },
           "recurse"_a = true)
      .def("children", [](const Module& mod) {
        std::vector<std::shared_ptr<Module>> out;
        for (auto& p : mod.named_children()) out.push_back(p.second);
        return out;
      })
      .def("named_children", [](const Module& mod) { return mod.named_children(); })
      .def("modules", [](Module& mod) {
        std::vector<std::shared_ptr<Module>> out;
        for (auto& p : mod.named_modules()) out.push_back(p.second);
        return out;
      })
      .def("named_modules", [](Module& mod) { return mod.named_modules(); })
      .def("train", [](py::object self, bool mode) {
        self.cast<Module&>().train(mode);
        return self;
      }, "mode"_a = true)
      .def("eval", [](py::object self) {
        self.cast<Module&>().eval();
        return self;
      })
      .def_property_readonly("training", &Module::is_training)
      .def("zero_grad", &Module::zero_grad, "set_to_none"_a = true)
      .def("requires_grad_", [](py::object self, bool on) {
        self.cast<Module&>().requires_grad_(on);
        return self;
      }, "requires_grad"_a = true)
      .def("state_dict", [](const Module& mod) {
        py::object od = py::module_::import("collections").attr("OrderedDict")();
        for (auto& [n, t] : mod.state_dict()) od[py::str(n)] = t.detach();
        return od;
      })
      .def("load_state_dict", [](Module& mod, py::dict state, bool strict) {
        std::map<std::string, Tensor> s;
        for (auto [k, v] : state) {
          std::string key = py::str(k);
          if (py::isinstance<Tensor>(v))
            s[key] = v.cast<Tensor>();
          else
            s[key] = tensor_from_object(v, py::none());
        }
        nn::LoadResult r;
        {
          py::gil_scoped_release nogil;
          r = mod.load_state_dict(s, strict);
        }
        py::object nt = py::module_::import("collections").attr("namedtuple")(
            "IncompatibleKeys", "missing_keys unexpected_keys");
        return nt(r.missing_keys, r.unexpected_keys);
      }, "state_dict"_a, "strict"_a = true)
      .def("register_forward_hook", [](py::object self, py::function hook) {
        Module& mod = self.cast<Module&>();
        auto h = hold(hook);
        int64_t id = mod.register_forward_hook([h](Module& self, const Tensor& in, const Tensor& out) {
          py::gil_scoped_acquire gil;
          py::object r = (*h)(py::cast(&self, py::return_value_policy::reference), py::make_tuple(in), out);
          return r.is_none() ? Tensor() : r.cast<Tensor>();
        });
        return HookHandle(self, id);
      }, "hook"_a)
      .def("to", [](py::object self, py::object target) {
        if (py::isinstance<DType>(target)) {
          DType dt = target.cast<DType>();
          Module& mod = self.cast<Module&>();
          for (auto& sub : mod.named_modules()) {
            for (auto& [n, p] : sub.second->named_parameters(false)) {
              Tensor c = p.to(dt).detach();
              if (p.requires_grad()) c.set_requires_grad(true);
              sub.second->register_parameter(n, c);
            }
            for (auto& [n, b] : sub.second->named_buffers(false))  // floating buffers only, as torch
              if (is_floating(b.dtype())) sub.second->register_buffer(n, b.to(dt));
          }
          return self;
        }
        std::string d = py::str(target);
        if (d != "cpu") throw std::runtime_error("Module.to: device " + d + " is not available in this build");
        return self;
      }, "target"_a)
      .def("cpu", [](py::object self) { return self; })
      .def("extra_repr", &Module::extra_repr)
      .def("__repr__", &Module::repr);

  py::classh<nn::Conv2d, Module>(nn, "Conv2d")
      .def(py::init([](int64_t in, int64_t out, py::object k, py::object stride, py::object padding,
                       py::object dilation, int64_t groups, bool bias, const std::string& padding_mode) {
             if (padding_mode != "zeros")
               throw py::value_error("Conv2d: only padding_mode='zeros' is supported, got '" + padding_mode + "'");
             std::string pstr;
             Conv2dOptions o = padding_of(padding, pstr);
             return std::make_shared<nn::Conv2d>(in, out, to_pair(k, "Conv2d: kernel_size"),
                                                 to_pair(stride, "Conv2d: stride"), o.padding,
                                                 to_pair(dilation, "Conv2d: dilation"), groups, bias, pstr);
           }),
           "in_channels"_a, "out_channels"_a, "kernel_size"_a, "stride"_a = 1, "padding"_a = 0,
           "dilation"_a = 1, "groups"_a = 1, "bias"_a = true, "padding_mode"_a = "zeros")
      .def_readonly("in_channels", &nn::Conv2d::in_channels)
      .def_readonly("out_channels", &nn::Conv2d::out_channels)
      .def_property_readonly("kernel_size", [](const nn::Conv2d& c) { return py::make_tuple(c.kernel_size[0], c.kernel_size[1]); })
      .def_property_readonly("stride", [](const nn::Conv2d& c) { return py::make_tuple(c.options.stride[0], c.options.stride[1]); })
      .def_property_readonly("padding", [](const nn::Conv2d& c) -> py::object {
        if (c.options.same) return py::str("same");
        return py::make_tuple(c.options.padding[0], c.options.padding[1]);
      })
      .def_property_readonly("dilation", [](const nn::Conv2d& c) { return py::make_tuple(c.options.dilation[0], c.options.dilation[1]); })
      .def_property_readonly("groups", [](const nn::Conv2d& c) { return c.options.groups; })
      .def("reset_parameters", &nn::Conv2d::reset_parameters);

  py::classh<nn::Linear, Module>(nn, "Linear")
      .def(py::init<int64_t, int64_t, bool>(), "in_features"_a, "out_features"_a, "bias"_a = true)
      .def_readonly("in_features", &nn::Linear::in_features)
      .def_readonly("out_features", &nn::Linear::out_features)
      .def("reset_parameters", &nn::Linear::reset_parameters);

  py::classh<nn::MaxPool2d, Module>(nn, "MaxPool2d")
      .def(py::init([](py::object k, py::object stride, py::object padding, py::object dilation,
                       bool return_indices, bool ceil_mode) {
             if (return_indices) throw py::value_error("MaxPool2d: return_indices=True is not supported");
             return std::make_shared<nn::MaxPool2d>(pool_of("MaxPool2d", k, stride, padding, dilation, ceil_mode, true));
           }),
           "kernel_size"_a, "stride"_a = py::none(), "padding"_a = 0, "dilation"_a = 1,
           "return_indices"_a = false, "ceil_mode"_a = false)
      .def_property_readonly("kernel_size", [](const nn::MaxPool2d& p) { return py::make_tuple(p.options.kernel_size[0], p.options.kernel_size[1]); })
      .def_property_readonly("stride", [](const nn::MaxPool2d& p) { return py::make_tuple(p.options.stride[0], p.options.stride[1]); })
      .def_property_readonly("padding", [](const nn::MaxPool2d& p) { return py::make_tuple(p.options.padding[0], p.options.padding[1]); })
      .def_property_readonly("ceil_mode", [](const nn::MaxPool2d& p) { return p.options.ceil_mode; })
      .def_property_readonly("dilation", [](const nn::MaxPool2d& p) { return py::make_tuple(p.options.dilation[0], p.options.dilation[1]); });

  py::classh<nn::AvgPool2d, Module>(nn, "AvgPool2d")
      .def(py::init([](py::object k, py::object stride, py::object padding, bool ceil_mode,
                       bool count_include_pad, py::object divisor_override) {
             if (!divisor_override.is_none()) throw py::value_error("AvgPool2d: divisor_override is not supported");
             return std::make_shared<nn::AvgPool2d>(pool_of("AvgPool2d", k, stride, padding, py::int_(1), ceil_mode, count_include_pad));
           }),
           "kernel_size"_a, "stride"_a = py::none(), "padding"_a = 0, "ceil_mode"_a = false,
           "count_include_pad"_a = true, "divisor_override"_a = py::none())
      .def_property_readonly("kernel_size", [](const nn::AvgPool2d& p) { return py::make_tuple(p.options.kernel_size[0], p.options.kernel_size[1]); })
      .def_property_readonly("stride", [](const nn::AvgPool2d& p) { return py::make_tuple(p.options.stride[0], p.options.stride[1]); })
      .def_property_readonly("padding", [](const nn::AvgPool2d& p) { return py::make_tuple(p.options.padding[0], p.options.padding[1]); })
      .def_property_readonly("ceil_mode", [](const nn::AvgPool2d& p) { return p.options.ceil_mode; })
      .def_property_readonly("count_include_pad", [](const nn::AvgPool2d& p) { return p.options.count_include_pad; });

  py::classh<nn::AdaptiveAvgPool2d, Module>(nn, "AdaptiveAvgPool2d")
      .def(py::init([](py::object size) {
             auto s = to_pair(size, "AdaptiveAvgPool2d: output_size");
             CONVNET_CHECK(s[0] > 0 && s[1] > 0, "AdaptiveAvgPool2d: output_size must be positive, got (", s[0],
                           ", ", s[1], ")");
             return std::make_shared<nn::AdaptiveAvgPool2d>(s);
           }),
           "output_size"_a)
      .def_property_readonly("output_size", [](const nn::AdaptiveAvgPool2d& p) { return py::make_tuple(p.output_size[0], p.output_size[1]); });

  py::classh<nn::Flatten, Module>(nn, "Flatten")
      .def(py::init<int64_t, int64_t>(), "start_dim"_a = 1, "end_dim"_a = -1)
      .def_readonly("start_dim", &nn::Flatten::start_dim)
      .def_readonly("end_dim", &nn::Flatten::end_dim);
  py::classh<nn::ReLU, Module>(nn, "ReLU").def(py::init([](bool) { return std::make_shared<nn::ReLU>(); }),
                                             "inplace"_a = false);
  py::classh<nn::LeakyReLU, Module>(nn, "LeakyReLU")
      .def(py::init([](double s, bool) { return std::make_shared<nn::LeakyReLU>(s); }),
           "negative_slope"_a = 0.01, "inplace"_a = false)
      .def_readonly("negative_slope", &nn::LeakyReLU::negative_slope);
  py::classh<nn::Sigmoid, Module>(nn, "Sigmoid").def(py::init<>());
  py::classh<nn::Tanh, Module>(nn, "Tanh").def(py::init<>());
  py::classh<nn::Softmax, Module>(nn, "Softmax").def(py::init<int64_t>(), "dim"_a)
      .def_readonly("dim", &nn::Softmax::dim);
  py::classh<nn::LogSoftmax, Module>(nn, "LogSoftmax").def(py::init<int64_t>(), "dim"_a)
      .def_readonly("dim", &nn::LogSoftmax::dim);
  py::classh<nn::Dropout, Module>(nn, "Dropout")
      .def(py::init([](double p, bool) { return std::make_shared<nn::Dropout>(p); }), "p"_a = 0.5,
           "inplace"_a = false)
      .def_readonly("p", &nn::Dropout::p);

  py::classh<nn::Sequential, Module>(nn, "Sequential")
      .def(py::init([](py::args mods) {
        auto s = std::make_shared<nn::Sequential>();
        if (mods.size() == 1 && py::isinstance<py::dict>(mods[0])) {
          for (auto [k, v] : mods[0].cast<py::dict>())
            s->register_module(py::str(k), v.cast<std::shared_ptr<Module>>());
          return s;
        }
        for (auto m : mods) {
          if (!py::isinstance<Module>(m))
            throw py::type_error(cat_str("Sequential: expected Module arguments, got ",
                                         std::string(py::str(py::type::of(m).attr("__name__")))));
          s->append(m.cast<std::shared_ptr<Module>>());
        }
        return s;
      }))
      .def("append", [](py::object self, std::shared_ptr<Module> mod) {
        self.cast<nn::Sequential&>().append(std::move(mod));
        return self;
      }, "module"_a)
      .def("__len__", &nn::Sequential::size)
      .def("__getitem__", &nn::Sequential::at, "index"_a)
      .def("__iter__", [](const nn::Sequential& s) {
        py::list l;
        for (auto& p : s.named_children()) l.append(py::cast(p.second));
        return py::iter(l);
      });

  py::module_ init = nn.def_submodule("init", "Parameter initialization (in place, no autograd)");
  init.def("calculate_gain", &nn::init::calculate_gain, "nonlinearity"_a, "param"_a = 0.01);
  init.def("_calculate_fan_in_and_fan_out", &nn::init::calculate_fan_in_and_fan_out, "tensor"_a);
  init.def("normal_", [](Tensor t, double mean, double std) { nn::init::normal_(t, mean, std); return t; },
           "tensor"_a, "mean"_a = 0.0, "std"_a = 1.0);
  init.def("uniform_", [](Tensor t, double a, double b) { nn::init::uniform_(t, a, b); return t; },
           "tensor"_a, "a"_a = 0.0, "b"_a = 1.0);
  init.def("zeros_", [](Tensor t) { nn::init::zeros_(t); return t; }, "tensor"_a);
  init.def("ones_", [](Tensor t) { nn::init::ones_(t); return t; }, "tensor"_a);
  init.def("constant_", [](Tensor t, double v) { nn::init::constant_(t, v); return t; }, "tensor"_a, "val"_a);
  init.def("xavier_uniform_", [](Tensor t, double g) { nn::init::xavier_uniform_(t, g); return t; },
           "tensor"_a, "gain"_a = 1.0);
  init.def("xavier_normal_", [](Tensor t, double g) { nn::init::xavier_normal_(t, g); return t; },
           "tensor"_a, "gain"_a = 1.0);
  init.def("kaiming_uniform_", [](Tensor t, double a, const std::string& mode, const std::string& nl) {
    nn::init::kaiming_uniform_(t, a, mode, nl);
    return t;
  }, "tensor"_a, "a"_a = 0.0, "mode"_a = "fan_in", "nonlinearity"_a = "leaky_relu");
  init.def("kaiming_normal_", [](Tensor t, double a, const std::string& mode, const std::string& nl) {
    nn::init::kaiming_normal_(t, a, mode, nl);
    return t;
  }, "tensor"_a, "a"_a = 0.0, "mode"_a = "fan_in", "nonlinearity"_a = "leaky_relu");
}

}  // namespace convnet::bindings
