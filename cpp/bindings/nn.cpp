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
  std::string repr() const override {
    py::gil_scoped_acquire gil;
    py::function f = py::get_override(static_cast<const Module*>(this), "__repr__");
    if (f) return f().cast<std::string>();
    return Module::repr();
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
    if (base.is(py::type::of<Module>())) break;  // Module's own forward is the C++ one
    if (base.attr("__dict__").contains("forward")) {
      found = true;
      break;
    }
  }
  type.inc_ref();  // classes are kept for the cache's lifetime
  cache[type.ptr()] = found;
  return found;
}

// Whether Module.__init__() has run for `self`: a Python subclass's __init__ may use `self` before
// calling super().__init__(), when pybind11 would hand over a null pointer.
bool module_ready(const py::handle& self) {
  auto v_h = reinterpret_cast<py::detail::instance*>(self.ptr())->get_value_and_holder();
  return v_h && v_h.holder_constructed();
}

// The C++ module (as M) behind `self`, or AttributeError (as torch) before Module.__init__().
template <typename M = Module>
M& module_of(const py::handle& self, const std::string& what) {
  if (!module_ready(self))
    throw py::attribute_error(cat_str("cannot ", what, " before Module.__init__() call (",
                                      std::string(py::str(py::type::of(self).attr("__name__"))),
                                      ".__init__ must call super().__init__() first)"));
  return self.cast<M&>();
}

// A member function of Module bound as a method that first checks `self` with module_of.
template <typename R, typename... A>
auto checked(const char* name, R (Module::*f)(A...)) {
  return [name, f](py::handle self, A... a) -> R {
    return (module_of(self, cat_str("call ", name, "()")).*f)(std::forward<A>(a)...);
  };
}
template <typename R, typename... A>
auto checked(const char* name, R (Module::*f)(A...) const) {
  return [name, f](py::handle self, A... a) -> R {
    return (module_of(self, cat_str("call ", name, "()")).*f)(std::forward<A>(a)...);
  };
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
      if (!self.is_none()) self.cast<Module&>().remove_hook(id_);
    } else if (auto m = module_.lock()) {
      m->remove_hook(id_);
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
      .def("forward", [](py::handle self, const Tensor& x) {
        Module& mod = module_of(self, "call forward()");
        py::gil_scoped_release nogil;
        return mod.call_forward(x);
      }, "input"_a)
      .def("__call__", [](py::object self, py::args args, py::kwargs kwargs) -> py::object {
        Module& mod = module_of(self, "call the module");
        if (python_forward(self) || args.size() != 1 || kwargs.size() || !py::isinstance<Tensor>(args[0])) {
          const bool one_tensor = args.size() >= 1 && py::isinstance<Tensor>(args[0]);
          Tensor x;
          py::tuple call_args = args;
          if (one_tensor) {
            x = mod.before_forward(args[0].cast<Tensor>());
            py::list rest(args);
            rest[0] = py::cast(x);
            call_args = py::tuple(rest);
          }
          py::object out = self.attr("forward")(*call_args, **kwargs);
          if (one_tensor && py::isinstance<Tensor>(out)) return py::cast(mod.after_forward(x, out.cast<Tensor>()));
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
        py::object generic = py::module_::import("builtins").attr("object").attr("__setattr__");
        bool is_param = py::isinstance(value, py::module_::import("convnet.nn").attr("Parameter"));
        if (!module_ready(self)) {  // plain attributes may be set before Module.__init__(), as torch
          if (py::isinstance<Module>(value)) module_of(self, "assign module");
          if (is_param) module_of(self, "assign parameters");
          generic(self, name, value);
          return;
        }
        Module& mod = self.cast<Module&>();
        if (py::isinstance<Module>(value)) {
          if (!mod.find_child(name)) mod.unregister(name);  // a replaced child keeps its place
          mod.register_module(name, value.cast<std::shared_ptr<Module>>());
          if (py::hasattr(self, "__dict__") && self.attr("__dict__").contains(name))
            self.attr("__dict__").attr("pop")(name);
          return;
        }
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
      .def("__getattr__", [](py::handle self, const std::string& name) {
        Module& mod = module_of(self, "access attribute '" + name + "'");
        py::object o = lookup(mod, name);
        if (!o && mod.is_none_slot(name)) return py::object(py::none());
        if (!o) throw py::attribute_error(cat_str("'", mod.type_name(), "' object has no attribute '", name, "'"));
        return o;
      })
      .def("__delattr__", [](py::object self, const std::string& name) {
        if (!module_of(self, "delete attributes").unregister(name))
          py::module_::import("builtins").attr("object").attr("__delattr__")(self, name);
      })
      .def("register_parameter", [](py::handle self, const std::string& name, std::optional<Tensor> t) {
        Module& mod = module_of(self, "call register_parameter()");
        if (t) mod.register_parameter(name, *t); else mod.register_none(name);
      }, "name"_a, "param"_a)
      .def("register_buffer", [](py::handle self, const std::string& name, const Tensor& t) {
        Module& mod = module_of(self, "call register_buffer()");
        mod.register_buffer(name, t);
      }, "name"_a, "tensor"_a)
      .def("add_module", checked("add_module", &Module::register_module), "name"_a, "module"_a)
      .def("register_module", checked("register_module", &Module::register_module), "name"_a, "module"_a)
      .def("parameters", checked("parameters", &Module::parameters), "recurse"_a = true)
      .def("named_parameters", [](py::handle self, const std::string& prefix, bool recurse) {
        Module& mod = module_of(self, "call named_parameters()");
        py::list out;
        for (auto& [n, t] : mod.named_parameters(recurse))
          out.append(py::make_tuple(prefix.empty() ? n : prefix + "." + n, t));
        return out;
      }, "prefix"_a = "", "recurse"_a = true)
      .def("buffers", [](py::handle self, bool recurse) {
        Module& mod = module_of(self, "call buffers()");
        std::vector<Tensor> out;
        for (auto& p : mod.named_buffers(recurse)) out.push_back(p.second);
        return out;
      }, "recurse"_a = true)
      .def("named_buffers", [](py::handle self, bool recurse) {
        return module_of(self, "call named_buffers()").named_buffers(recurse);
      }, "recurse"_a = true)
      .def("children", [](py::handle self) {
        Module& mod = module_of(self, "call children()");
        std::vector<std::shared_ptr<Module>> out;
        for (auto& p : mod.named_children()) out.push_back(p.second);
        return out;
      })
      .def("named_children", [](py::handle self) {
        return module_of(self, "call named_children()").named_children();
      })
      .def("modules", [](py::handle self) {
        Module& mod = module_of(self, "call modules()");
        std::vector<std::shared_ptr<Module>> out;
        for (auto& p : mod.named_modules()) out.push_back(p.second);
        return out;
      })
      .def("named_modules", [](py::handle self) {
        return module_of(self, "call named_modules()").named_modules();
      })
      .def("train", [](py::object self, bool mode) {
        module_of(self, "call train()").train(mode);
        return self;
      }, "mode"_a = true)
      .def("eval", [](py::object self) {
        module_of(self, "call eval()").eval();
        return self;
      })
      .def_property_readonly("training", checked("training", &Module::is_training))
      .def("zero_grad", checked("zero_grad", &Module::zero_grad), "set_to_none"_a = true)
      .def("requires_grad_", [](py::object self, bool on) {
        module_of(self, "call requires_grad_()").requires_grad_(on);
        return self;
      }, "requires_grad"_a = true)
      .def("state_dict", [](py::handle self) {
        Module& mod = module_of(self, "call state_dict()");
        py::object od = py::module_::import("collections").attr("OrderedDict")();
        for (auto& [n, t] : mod.state_dict()) od[py::str(n)] = t.detach();
        return od;
      })
      .def("load_state_dict", [](py::handle self, py::dict state, bool strict) {
        Module& mod = module_of(self, "call load_state_dict()");
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
        Module& mod = module_of(self, "call register_forward_hook()");
        auto h = hold(hook);
        int64_t id = mod.register_forward_hook([h](Module& self, const Tensor& in, const Tensor& out) {
          py::gil_scoped_acquire gil;
          py::object r = (*h)(py::cast(&self, py::return_value_policy::reference), py::make_tuple(in), out);
          return r.is_none() ? Tensor() : r.cast<Tensor>();
        });
        return HookHandle(self, id);
      }, "hook"_a)
      .def("register_forward_pre_hook", [](py::object self, py::function hook) {
        Module& mod = module_of(self, "call register_forward_pre_hook()");
        auto h = hold(hook);
        int64_t id = mod.register_forward_pre_hook([h](Module& self, const Tensor& in) {
          py::gil_scoped_acquire gil;
          py::object r = (*h)(py::cast(&self, py::return_value_policy::reference), py::make_tuple(in));
          if (py::isinstance<py::tuple>(r) && py::len(r) == 1) r = r[py::int_(0)];
          return r.is_none() ? Tensor() : r.cast<Tensor>();
        });
        return HookHandle(self, id);
      }, "hook"_a)
      .def("register_full_backward_hook", [](py::object self, py::function hook) {
        Module& mod = module_of(self, "call register_full_backward_hook()");
        auto h = hold(hook);
        int64_t id = mod.register_full_backward_hook([h](Module& self, const Tensor& gi, const Tensor& go) {
          py::gil_scoped_acquire gil;
          py::object r = (*h)(py::cast(&self, py::return_value_policy::reference),
                              py::make_tuple(gi.defined() ? py::cast(gi) : py::none()), py::make_tuple(go));
          if ((py::isinstance<py::tuple>(r) || py::isinstance<py::list>(r)) && py::len(r) == 1) r = r[py::int_(0)];
          return r.is_none() ? Tensor() : r.cast<Tensor>();
        });
        return HookHandle(self, id);
      }, "hook"_a)
      // to(device), to(dtype), to(device, dtype), to(tensor): in place, as PyTorch
      .def("to", [](py::object self, py::object target, py::object dtype, bool non_blocking) {
        Module& mod = module_of(self, "call to()");
        if (py::isinstance<Tensor>(target)) {
          const Tensor& t = target.cast<const Tensor&>();
          mod.to(t.device(), non_blocking);
          if (is_floating(t.dtype())) mod.to(t.dtype());
          return self;
        }
        if (py::isinstance<DType>(target))
          dtype = target;
        else if (!target.is_none())
          mod.to(parse_device(target), non_blocking);
        if (!dtype.is_none()) mod.to(dtype.cast<DType>());
        return self;
      }, "device"_a = py::none(), "dtype"_a = py::none(), py::kw_only(), "non_blocking"_a = false)
      .def("cpu", [](py::object self) {
        module_of(self, "call cpu()").to(Device());
        return self;
      })
      .def("cuda", [](py::object self, py::object device) {
        module_of(self, "call cuda()").to(device.is_none() ? Device(DeviceType::CUDA, 0) : parse_device(device));
        return self;
      }, "device"_a = py::none())
      .def("extra_repr", checked("extra_repr", &Module::extra_repr))
      .def("__repr__", checked("__repr__", &Module::repr));

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

  py::classh<nn::ConvTranspose2d, Module>(nn, "ConvTranspose2d")
      .def(py::init([](int64_t in, int64_t out, py::object k, py::object stride, py::object padding,
                       py::object output_padding, int64_t groups, bool bias, py::object dilation,
                       const std::string& padding_mode) {
             if (padding_mode != "zeros")
               throw py::value_error("ConvTranspose2d: only padding_mode='zeros' is supported, got '" + padding_mode + "'");
             return std::make_shared<nn::ConvTranspose2d>(
                 in, out, to_pair(k, "ConvTranspose2d: kernel_size"), to_pair(stride, "ConvTranspose2d: stride"),
                 to_pair(padding, "ConvTranspose2d: padding"), to_pair(output_padding, "ConvTranspose2d: output_padding"),
                 groups, bias, to_pair(dilation, "ConvTranspose2d: dilation"));
           }),
           "in_channels"_a, "out_channels"_a, "kernel_size"_a, "stride"_a = 1, "padding"_a = 0,
           "output_padding"_a = 0, "groups"_a = 1, "bias"_a = true, "dilation"_a = 1, "padding_mode"_a = "zeros")
      .def_readonly("in_channels", &nn::ConvTranspose2d::in_channels)
      .def_readonly("out_channels", &nn::ConvTranspose2d::out_channels)
      .def_property_readonly("kernel_size", [](const nn::ConvTranspose2d& c) { return py::make_tuple(c.kernel_size[0], c.kernel_size[1]); })
      .def_property_readonly("stride", [](const nn::ConvTranspose2d& c) { return py::make_tuple(c.options.stride[0], c.options.stride[1]); })
      .def_property_readonly("padding", [](const nn::ConvTranspose2d& c) { return py::make_tuple(c.options.padding[0], c.options.padding[1]); })
      .def_property_readonly("output_padding", [](const nn::ConvTranspose2d& c) { return py::make_tuple(c.options.output_padding[0], c.options.output_padding[1]); })
      .def_property_readonly("dilation", [](const nn::ConvTranspose2d& c) { return py::make_tuple(c.options.dilation[0], c.options.dilation[1]); })
      .def_property_readonly("groups", [](const nn::ConvTranspose2d& c) { return c.options.groups; })
      .def("reset_parameters", &nn::ConvTranspose2d::reset_parameters);

  py::classh<nn::Linear, Module>(nn, "Linear")
      .def(py::init<int64_t, int64_t, bool>(), "in_features"_a, "out_features"_a, "bias"_a = true)
      .def_readonly("in_features", &nn::Linear::in_features)
      .def_readonly("out_features", &nn::Linear::out_features)
      .def("reset_parameters", &nn::Linear::reset_parameters);

  py::classh<nn::MaxPool2d, Module>(nn, "MaxPool2d")
      .def(py::init([](py::object k, py::object stride, py::object padding, py::object dilation,
                       bool return_indices, bool ceil_mode) {
             auto p = std::make_shared<nn::MaxPool2d>(pool_of("MaxPool2d", k, stride, padding, dilation, ceil_mode, true));
             p->return_indices = return_indices;
             return p;
           }),
           "kernel_size"_a, "stride"_a = py::none(), "padding"_a = 0, "dilation"_a = 1,
           "return_indices"_a = false, "ceil_mode"_a = false)
      .def("forward", [](nn::MaxPool2d& p, const Tensor& x) {
        return pool_forward(p, x, [](const Tensor& t, const Pool2dOptions& o) { return max_pool2d_with_indices(t, o); });
      }, "input"_a)
      .def_readonly("return_indices", &nn::MaxPool2d::return_indices)
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

  auto adaptive_tuple = [](const AdaptiveSize& s) -> py::object {
    return py::make_tuple(s[0] ? py::object(py::int_(*s[0])) : py::object(py::none()),
                          s[1] ? py::object(py::int_(*s[1])) : py::object(py::none()));
  };
  py::classh<nn::AdaptiveAvgPool2d, Module>(nn, "AdaptiveAvgPool2d")
      .def(py::init([](py::object size) {
             bool scalar = false;
             AdaptiveSize s = adaptive_size(size, "AdaptiveAvgPool2d: output_size", &scalar);
             return std::make_shared<nn::AdaptiveAvgPool2d>(s, scalar);
           }),
           "output_size"_a)
      .def_property_readonly("output_size", [adaptive_tuple](const nn::AdaptiveAvgPool2d& p) { return adaptive_tuple(p.output_size); });
  py::classh<nn::AdaptiveMaxPool2d, Module>(nn, "AdaptiveMaxPool2d")
      .def(py::init([](py::object size, bool return_indices) {
             if (return_indices) throw py::value_error("AdaptiveMaxPool2d: return_indices=True is not supported");
             bool scalar = false;
             AdaptiveSize s = adaptive_size(size, "AdaptiveMaxPool2d: output_size", &scalar);
             return std::make_shared<nn::AdaptiveMaxPool2d>(s, scalar);
           }),
           "output_size"_a, "return_indices"_a = false)
      .def_property_readonly("output_size", [adaptive_tuple](const nn::AdaptiveMaxPool2d& p) { return adaptive_tuple(p.output_size); });
  py::classh<nn::LPPool2d, Module>(nn, "LPPool2d")
      .def(py::init([](double norm_type, py::object k, py::object stride, bool ceil_mode) {
             Pool2dOptions o = pool_of("LPPool2d", k, stride, py::int_(0), py::int_(1), ceil_mode, true);
             return std::make_shared<nn::LPPool2d>(norm_type, o, !stride.is_none());
           }),
           "norm_type"_a, "kernel_size"_a, "stride"_a = py::none(), "ceil_mode"_a = false)
      .def_readonly("norm_type", &nn::LPPool2d::norm_type)
      .def_property_readonly("kernel_size", [](const nn::LPPool2d& p) { return py::make_tuple(p.options.kernel_size[0], p.options.kernel_size[1]); })
      .def_property_readonly("stride", [](const nn::LPPool2d& p) { return py::make_tuple(p.options.stride[0], p.options.stride[1]); })
      .def_property_readonly("ceil_mode", [](const nn::LPPool2d& p) { return p.options.ceil_mode; });

  py::classh<nn::BatchNorm, Module>(nn, "_BatchNorm")
      .def_readonly("num_features", &nn::BatchNorm::num_features)
      .def_readwrite("eps", &nn::BatchNorm::eps)
      .def_readwrite("momentum", &nn::BatchNorm::momentum)
      .def_readonly("affine", &nn::BatchNorm::affine)
      .def_readonly("track_running_stats", &nn::BatchNorm::track_running_stats)
      .def("reset_running_stats", &nn::BatchNorm::reset_running_stats)
      .def("reset_parameters", &nn::BatchNorm::reset_parameters);
  py::classh<nn::BatchNorm1d, nn::BatchNorm>(nn, "BatchNorm1d")
      .def(py::init<int64_t, double, std::optional<double>, bool, bool, bool>(), "num_features"_a, "eps"_a = 1e-5,
           "momentum"_a = 0.1, "affine"_a = true, "track_running_stats"_a = true, py::kw_only(), "bias"_a = true);
  py::classh<nn::BatchNorm2d, nn::BatchNorm>(nn, "BatchNorm2d")
      .def(py::init<int64_t, double, std::optional<double>, bool, bool, bool>(), "num_features"_a, "eps"_a = 1e-5,
           "momentum"_a = 0.1, "affine"_a = true, "track_running_stats"_a = true, py::kw_only(), "bias"_a = true);

  py::classh<nn::LocalResponseNorm, Module>(nn, "LocalResponseNorm")
      .def(py::init<int64_t, double, double, double>(), "size"_a, "alpha"_a = 1e-4, "beta"_a = 0.75, "k"_a = 1.0)
      .def_readonly("size", &nn::LocalResponseNorm::size)
      .def_readonly("alpha", &nn::LocalResponseNorm::alpha)
      .def_readonly("beta", &nn::LocalResponseNorm::beta)
      .def_readonly("k", &nn::LocalResponseNorm::k);

  py::classh<nn::ZeroPad2d, Module>(nn, "ZeroPad2d")
      .def(py::init([](py::object padding) {
             if (py::isinstance<py::int_>(padding) && !py::isinstance<py::bool_>(padding)) {
               int64_t v = padding.cast<int64_t>();
               return std::make_shared<nn::ZeroPad2d>(std::array<int64_t, 4>{v, v, v, v});
             }
             if ((py::isinstance<py::tuple>(padding) || py::isinstance<py::list>(padding)) && py::len(padding) == 4) {
               try {
                 return std::make_shared<nn::ZeroPad2d>(padding.cast<std::array<int64_t, 4>>());
               } catch (const py::cast_error&) {
               }
             }
             throw py::type_error("ZeroPad2d: padding must be an int or 4 ints (left, right, top, bottom), got " +
                                  std::string(py::str(py::repr(padding))));
           }),
           "padding"_a)
      .def_property_readonly("padding", [](const nn::ZeroPad2d& p) {
        return py::make_tuple(p.padding[0], p.padding[1], p.padding[2], p.padding[3]);
      });

  py::classh<nn::Upsample, Module>(nn, "Upsample")
      .def(py::init([](py::object size, py::object scale_factor, const std::string& mode, py::object align_corners,
                       py::object recompute_scale_factor) {
             bool scalar = false;
             InterpolateOptions o =
                 interpolate_options(size, scale_factor, mode, align_corners, recompute_scale_factor, &scalar);
             return std::make_shared<nn::Upsample>(o, scalar);
           }),
           "size"_a = py::none(), "scale_factor"_a = py::none(), "mode"_a = "nearest", "align_corners"_a = py::none(),
           "recompute_scale_factor"_a = py::none())
      .def_property_readonly("mode", [](const nn::Upsample& u) { return u.options.mode; })
      .def_property_readonly("align_corners", [](const nn::Upsample& u) { return u.options.align_corners; })
      .def_property_readonly("size", [](const nn::Upsample& u) -> py::object {
        if (!u.options.size) return py::none();
        if (u.scalar) return py::int_((*u.options.size)[0]);
        return py::make_tuple((*u.options.size)[0], (*u.options.size)[1]);
      })
      .def_property_readonly("scale_factor", [](const nn::Upsample& u) -> py::object {
        if (!u.options.scale_factor) return py::none();
        if (u.scalar) return py::float_((*u.options.scale_factor)[0]);
        return py::make_tuple((*u.options.scale_factor)[0], (*u.options.scale_factor)[1]);
      });

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

  // ---- pass-through and more activations (inplace accepted, the result is a new tensor) ----
  py::classh<nn::Identity, Module>(nn, "Identity")
      .def(py::init([](py::args, py::kwargs) { return std::make_shared<nn::Identity>(); }));
  py::classh<nn::Hardtanh, Module>(nn, "Hardtanh")
      .def(py::init<double, double, bool>(), "min_val"_a = -1.0, "max_val"_a = 1.0, "inplace"_a = false)
      .def_readonly("min_val", &nn::Hardtanh::min_val)
      .def_readonly("max_val", &nn::Hardtanh::max_val)
      .def_readonly("inplace", &nn::Hardtanh::inplace);
  py::classh<nn::ReLU6, nn::Hardtanh>(nn, "ReLU6").def(py::init<bool>(), "inplace"_a = false);
  py::classh<nn::ELU, Module>(nn, "ELU")
      .def(py::init<double, bool>(), "alpha"_a = 1.0, "inplace"_a = false)
      .def_readonly("alpha", &nn::ELU::alpha)
      .def_readonly("inplace", &nn::ELU::inplace);
  py::classh<nn::GELU, Module>(nn, "GELU")
      .def(py::init<std::string>(), "approximate"_a = "none")
      .def_readonly("approximate", &nn::GELU::approximate);
  py::classh<nn::SiLU, Module>(nn, "SiLU")
      .def(py::init<bool>(), "inplace"_a = false)
      .def_readonly("inplace", &nn::SiLU::inplace);
  py::classh<nn::Softplus, Module>(nn, "Softplus")
      .def(py::init<double, double>(), "beta"_a = 1.0, "threshold"_a = 20.0)
      .def_readonly("beta", &nn::Softplus::beta)
      .def_readonly("threshold", &nn::Softplus::threshold);
  py::classh<nn::PReLU, Module>(nn, "PReLU")
      .def(py::init<int64_t, double>(), "num_parameters"_a = 1, "init"_a = 0.25)
      .def_readonly("num_parameters", &nn::PReLU::num_parameters)
      .def("reset_parameters", &nn::PReLU::reset_parameters);

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
        module_of<nn::Sequential>(self, "call append()").append(std::move(mod));
        return self;
      }, "module"_a)
      .def("__len__", [](py::handle self) { return module_of<nn::Sequential>(self, "call __len__()").size(); })
      .def("__getitem__", [](py::handle self, int64_t i) {
        return module_of<nn::Sequential>(self, "call __getitem__()").at(i);
      }, "index"_a)
      .def("__iter__", [](py::handle self) {
        py::list l;
        for (auto& p : module_of<nn::Sequential>(self, "call __iter__()").named_children())
          l.append(py::cast(p.second));
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
