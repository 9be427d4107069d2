// Tensor, dtype, device, NumPy interop, autograd switches, seeds, threads, factories.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/operators.h>

#include <set>

#include "bindings.h"

namespace convnet::bindings {

using namespace pybind11::literals;

namespace {

// What Tensor.register_hook and register_post_accumulate_grad_hook return: remove() takes the
// hook off its tensor.
struct GradHookHandle {
  std::function<void()> take_off;
  void remove() {
    if (take_off) take_off();
    take_off = nullptr;
  }
};

DType dtype_of_numpy(const py::dtype& dt, bool& ok) {
  ok = true;
  switch (dt.kind()) {
    case 'f':
      if (dt.itemsize() == 2) return DType::Float16;
      if (dt.itemsize() == 4) return DType::Float32;
      if (dt.itemsize() == 8) return DType::Float64;
      break;
    case 'i':
      if (dt.itemsize() == 8) return DType::Int64;
      if (dt.itemsize() == 4) return DType::Int32;
      break;
    case 'u':
      if (dt.itemsize() == 1) return DType::UInt8;
      break;
    case 'b':
      return DType::Bool;
  }
  ok = false;
  return DType::Float32;
}

// NumPy has no bfloat16: a TypeError that says what to do instead.
py::dtype numpy_dtype(DType t) {
  switch (t) {
    case DType::Float32: return py::dtype::of<float>();
    case DType::Float64: return py::dtype::of<double>();
    case DType::Int64: return py::dtype::of<int64_t>();
    case DType::Int32: return py::dtype::of<int32_t>();
    case DType::UInt8: return py::dtype::of<uint8_t>();
    case DType::Bool: return py::dtype::of<bool>();
    case DType::Float16: return py::dtype("float16");
    case DType::BFloat16:
      throw py::type_error("numpy: NumPy has no bfloat16 dtype; convert first, e.g. tensor.float().numpy()");
  }
  return py::dtype::of<float>();
}

// Keeps a Python object alive from C++; released with the GIL held.
std::shared_ptr<void> keep_alive(py::object o) {
  auto* p = new py::object(std::move(o));
  return std::shared_ptr<void>(p, [](void* q) {
    py::gil_scoped_acquire gil;
    delete static_cast<py::object*>(q);
  });
}

// Zero-copy view of a C-contiguous array of a supported dtype; a read-only array is accepted
// only by callers that never write to the view (`read_only_ok`).
Tensor numpy_view(py::array arr, bool read_only_ok) {
  bool ok;
  DType dt = dtype_of_numpy(arr.dtype(), ok);
  if (!ok)
    throw py::type_error(cat_str("from_numpy: unsupported NumPy dtype ", std::string(py::str(arr.dtype())),
                                 "; supported: float32, float64, int64, int32, uint8, bool, float16"));
  if (!(arr.flags() & py::array::c_style))
    throw py::value_error(
        "from_numpy: the array is not C-contiguous (a transposed or strided view); pass "
        "numpy.ascontiguousarray(a), or use convnet.tensor(a), which copies");
  if (!arr.dtype().attr("isnative").cast<bool>())
    throw py::value_error("from_numpy: the array is not in native byte order; use a.astype(a.dtype.newbyteorder('='))");
  if (!read_only_ok && !arr.writeable())
    throw py::value_error(
        "from_numpy: the array is read-only (the tensor would share and could write its memory); pass "
        "a.copy(), or use convnet.tensor(a), which copies");
  Shape shape(arr.shape(), arr.shape() + arr.ndim());
  void* data = const_cast<void*>(arr.data());
  return Tensor::from_blob(data, shape, dt, keep_alive(arr));
}

Tensor from_numpy(py::array arr) { return numpy_view(arr, false); }

// The strides of t in bytes (checked: ValueError naming `op` and the shape when they overflow).
std::vector<py::ssize_t> byte_strides(const Tensor& t, const char* op) {
  std::vector<py::ssize_t> strides(t.shape().size());
  const int64_t e = static_cast<int64_t>(dtype_size(t.dtype()));
  for (size_t i = 0; i < strides.size(); ++i) {
    int64_t s;
    if (__builtin_mul_overflow(t.strides()[i], e, &s))
      throw ValueError(cat_str(op, ": the byte strides of shape ", shape_str(t.shape()), " overflow a 64-bit integer"));
    strides[i] = s;
  }
  return strides;
}

py::array to_numpy(const Tensor& t) {
  if (!t.device().is_cpu())
    throw py::type_error(cat_str("numpy: can't convert a ", t.device().str(),
                                 " tensor to NumPy; use tensor.cpu() to copy it to host memory first"));
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end());
  std::vector<py::ssize_t> strides = byte_strides(t, "numpy");
  // the capsule owns a handle to the storage, so the array outlives the tensor safely
  auto* owner = new Tensor(t.detach());
  py::capsule base(owner, [](void* p) { delete static_cast<Tensor*>(p); });
  return py::array(numpy_dtype(t.dtype()), shape, strides, t.element_ptr(), base);
}

DType parse_dtype(const py::object& o, DType fallback) {
  if (o.is_none()) return fallback;
  if (py::isinstance<DType>(o)) return o.cast<DType>();
  if (py::isinstance<py::str>(o)) {
    std::string s = o.cast<std::string>();
    for (DType t : {DType::Float32, DType::Float64, DType::Int64, DType::Int32, DType::UInt8, DType::Bool,
                    DType::BFloat16, DType::Float16})
      if (s == dtype_name(t)) return t;
    if (s == "float") return DType::Float32;
    if (s == "double") return DType::Float64;
    if (s == "half") return DType::Float16;
    if (s == "long") return DType::Int64;
    if (s == "int") return DType::Int32;
  }
  throw py::type_error(cat_str("dtype: expected a convnet dtype such as convnet.float32, got ",
                               std::string(py::str(py::repr(o)))));
}

}  // namespace

Device parse_device(const py::object& o) {
  if (py::isinstance<Device>(o)) return o.cast<Device>();
  if (py::isinstance<py::str>(o)) return Device::parse(o.cast<std::string>());
  if (py::isinstance<py::int_>(o)) return Device(DeviceType::CUDA, o.cast<int>());
  throw py::type_error(cat_str("device: expected \"cpu\", \"cuda\", \"cuda:N\" or a convnet.device, got ",
                               std::string(py::str(py::repr(o)))));
}

namespace {

Shape shape_from_args(const py::args& args, const char* op) {
  if (args.size() == 1 && (py::isinstance<py::tuple>(args[0]) || py::isinstance<py::list>(args[0])))
    return args[0].cast<Shape>();
  Shape s;
  for (auto a : args) {
    if (!py::isinstance<py::int_>(a))
      throw py::type_error(cat_str(op, ": sizes must be ints, got ", std::string(py::str(py::repr(a)))));
    s.push_back(a.cast<int64_t>());
  }
  return s;
}

Tensor finish(Tensor t, bool requires_grad) {
  if (requires_grad) t.set_requires_grad(true);
  return t;
}

// A host copy that NumPy can hold: bfloat16 values widen (exactly) to float32.
py::array host_array(const Tensor& t) {
  Tensor h = t.detach().to(Device());
  return to_numpy(h.dtype() == DType::BFloat16 ? h.to(DType::Float32) : h);
}

std::string tensor_repr(const Tensor& t) {
  py::object np = py::module_::import("numpy");
  py::object arr = host_array(t);
  std::string body = py::str(np.attr("array2string")(arr, "separator"_a = ", ", "prefix"_a = "tensor("));
  std::string r = "tensor(" + body;
  if (!t.device().is_cpu()) r += cat_str(", device='", t.device().str(), "'");
  if (t.dtype() != DType::Float32 && t.dtype() != DType::Int64 && t.dtype() != DType::Bool)
    r += cat_str(", dtype=convnet.", dtype_name(t.dtype()));
  if (t.grad_fn())
    r += cat_str(", grad_fn=<", t.grad_fn()->name, "_backward>");
  else if (t.requires_grad())
    r += ", requires_grad=True";
  return r + ")";
}

}  // namespace

Tensor tensor_from_object(const py::handle& obj, const py::object& dtype) {
  py::module_ np = py::module_::import("numpy");
  if (py::isinstance<Tensor>(obj)) {
    Tensor t = obj.cast<Tensor>().detach().clone();
    return dtype.is_none() ? t : t.to(parse_dtype(dtype, t.dtype()));
  }
  // Python numbers and lists take torch's default dtypes (float32, int64) unless a dtype is given;
  // NumPy arrays and scalars keep theirs
  bool from_python = !py::isinstance<py::array>(obj) && !py::isinstance(obj, np.attr("generic"));
  py::array arr = np.attr("asarray")(obj);
  if (dtype.is_none() && from_python && arr.dtype().kind() == 'f') arr = np.attr("asarray")(arr, "float32");
  if (dtype.is_none() && from_python && arr.dtype().kind() == 'i') arr = np.attr("asarray")(arr, "int64");
  if (!dtype.is_none() && parse_dtype(dtype, DType::Float32) == DType::BFloat16)  // through float32
    return tensor_from_object(obj, py::cast(DType::Float32)).to(DType::BFloat16);
  if (!dtype.is_none()) arr = np.attr("asarray")(arr, numpy_dtype(parse_dtype(dtype, DType::Float32)));
  bool ok;
  DType dt = dtype_of_numpy(arr.dtype(), ok);
  if (!ok) {
    // other integer widths widen to int64, other floating widths to float32
    if (arr.dtype().kind() == 'i' || arr.dtype().kind() == 'u')
      arr = np.attr("asarray")(arr, "int64");
    else if (arr.dtype().kind() == 'f')
      arr = np.attr("asarray")(arr, "float32");
    else
      throw py::type_error(cat_str("tensor: unsupported data of dtype ", std::string(py::str(arr.dtype()))));
    dt = dtype_of_numpy(arr.dtype(), ok);
  }
  // C-contiguous in native byte order, copied only where needed (ascontiguousarray would make
  // 0-d arrays 1-d); the view is only read, so a read-only array is fine
  arr = np.attr("asarray")(arr, numpy_dtype(dt), "order"_a = "C");
  Tensor view = numpy_view(arr, true);
  return view.clone();
}

void bind_tensor(py::module_& m) {
  py::enum_<DType>(m, "dtype")
      .value("float32", DType::Float32)
      .value("float64", DType::Float64)
      .value("int64", DType::Int64)
      .value("int32", DType::Int32)
      .value("uint8", DType::UInt8)
      .value("bool", DType::Bool)
      .value("bfloat16", DType::BFloat16)
      .value("float16", DType::Float16)
      .def_property_readonly("is_floating_point", [](DType t) { return is_floating(t); })
      .def_property_readonly("itemsize", [](DType t) { return dtype_size(t); })
      .def("__repr__", [](DType t) { return cat_str("convnet.", dtype_name(t)); })
      .def("__str__", [](DType t) { return cat_str("convnet.", dtype_name(t)); });

  py::class_<Device>(m, "device")
      .def(py::init([](const std::string& s) { return Device::parse(s); }), "type"_a)
      .def_property_readonly("type", [](const Device& d) { return d.is_cpu() ? "cpu" : "cuda"; })
      .def_property_readonly("index", [](const Device& d) -> py::object {
        return d.is_cpu() ? py::object(py::none()) : py::object(py::int_(d.index));
      })
      .def("__repr__", [](const Device& d) {
        return d.is_cpu() ? std::string("device(type='cpu')") : cat_str("device(type='cuda', index=", d.index, ")");
      })
      .def("__str__", &Device::str)
      .def("__eq__", [](const Device& a, const py::object& b) {
        if (py::isinstance<Device>(b)) return a == b.cast<Device>();
        if (py::isinstance<py::str>(b)) return a.str() == b.cast<std::string>() || (a.is_cpu() && b.cast<std::string>() == "cpu");
        return false;
      })
      .def("__hash__", [](const Device& d) { return std::hash<std::string>()(d.str()); });

  py::class_<Node, std::shared_ptr<Node>>(m, "Node")
      .def("name", [](const Node& n) { return std::string(n.name) + "_backward"; })
      .def("__repr__", [](const Node& n) { return cat_str("<", n.name, "_backward>"); });

  py::class_<GradHookHandle>(m, "RemovableHandle").def("remove", &GradHookHandle::remove);

  py::class_<Tensor> t(m, "Tensor", py::buffer_protocol(), py::dynamic_attr());
  t.def(py::init([](const Tensor& other) { return other.detach(); }), "data"_a)
      .def_buffer([](Tensor& self) -> py::buffer_info {
        std::vector<py::ssize_t> shape(self.shape().begin(), self.shape().end());
        std::vector<py::ssize_t> strides = byte_strides(self, "buffer");
        return py::buffer_info(self.element_ptr(), dtype_size(self.dtype()),
                               std::string(py::str(numpy_dtype(self.dtype()).attr("char"))),
                               static_cast<py::ssize_t>(shape.size()), shape, strides);
      })
      .def_property_readonly("shape", [](const Tensor& x) { return py::tuple(py::cast(x.shape())); })
      .def("size", [](const Tensor& x, py::object dim) -> py::object {
        if (dim.is_none()) return py::tuple(py::cast(x.shape()));
        return py::int_(x.size(dim.cast<int64_t>()));
      }, "dim"_a = py::none())
      .def_property_readonly("dtype", &Tensor::dtype)
      .def_property_readonly("device", &Tensor::device)
      .def_property_readonly("ndim", &Tensor::dim)
      .def("dim", &Tensor::dim)
      .def("numel", &Tensor::numel)
      .def("__len__", [](const Tensor& x) {
        if (x.dim() == 0) throw py::type_error("len() of a 0-d tensor");
        return x.size(0);
      })
      .def("item", [](const Tensor& x) -> py::object {
        double v = x.item();
        if (is_floating(x.dtype())) return py::float_(v);
        if (x.dtype() == DType::Bool) return py::bool_(v != 0);
        return py::int_(static_cast<int64_t>(v));
      })
      .def("numpy", [](const Tensor& x) {
        if (x.requires_grad())
          throw py::value_error("numpy: can't call numpy() on a tensor that requires grad; use tensor.detach().numpy()");
        return to_numpy(x);
      })
      .def("tolist", [](const Tensor& x) { return host_array(x).attr("tolist")(); })
      .def("__array__", [](const Tensor& x, py::object dtype, py::object) {
        py::object a = to_numpy(x.detach());
        return dtype.is_none() ? a : a.attr("astype")(dtype);
      }, "dtype"_a = py::none(), "copy"_a = py::none())
      .def("reshape", [](const Tensor& x, py::args a) { return x.reshape(shape_from_args(a, "reshape")); })
      .def("flatten", [](const Tensor& x, int64_t s, int64_t e) { return nn::flatten(x, s, e); },
           "start_dim"_a = 0, "end_dim"_a = -1)
      .def("clone", &Tensor::clone)
      .def("detach", &Tensor::detach)
      .def_property("data", &Tensor::detach, [](Tensor& x, const Tensor& src) { x.set_data(src); })
      // to(dtype), to(device), to(device, dtype), to(other); device as "cuda", "cuda:1" or a convnet.device
      .def("to", [](const Tensor& x, py::object target, py::object dtype, bool non_blocking) {
        Tensor r = x;
        if (py::isinstance<Tensor>(target)) {
          const Tensor& o = target.cast<const Tensor&>();
          return r.to(o.device(), non_blocking).to(o.dtype());
        }
        if (py::isinstance<DType>(target)) {
          dtype = target;
        } else if (!target.is_none()) {
          r = r.to(parse_device(target), non_blocking);
        }
        return dtype.is_none() ? r : r.to(parse_dtype(dtype, r.dtype()));
      }, "device"_a = py::none(), "dtype"_a = py::none(), py::kw_only(), "non_blocking"_a = false)
      .def("cpu", [](const Tensor& x) { return x.to(Device()); })
      .def("cuda", [](const Tensor& x, py::object device, bool non_blocking) {
        Device d = device.is_none() ? Device(DeviceType::CUDA, 0) : parse_device(device);
        if (d.is_cpu()) throw py::value_error("cuda: expected a CUDA device, got cpu");
        return x.to(d, non_blocking);
      }, "device"_a = py::none(), "non_blocking"_a = false)
      .def_property_readonly("is_cuda", [](const Tensor& x) { return !x.device().is_cpu(); })
      .def("pin_memory", &Tensor::pin_memory)
      .def("is_pinned", &Tensor::is_pinned)
      .def("float", [](const Tensor& x) { return x.to(DType::Float32); })
      .def("double", [](const Tensor& x) { return x.to(DType::Float64); })
      .def("long", [](const Tensor& x) { return x.to(DType::Int64); })
      .def("int", [](const Tensor& x) { return x.to(DType::Int32); })
      .def("byte", [](const Tensor& x) { return x.to(DType::UInt8); })
      .def("bool", [](const Tensor& x) { return x.to(DType::Bool); })
      .def("half", [](const Tensor& x) { return x.to(DType::Float16); })
      .def("bfloat16", [](const Tensor& x) { return x.to(DType::BFloat16); })
      .def("is_floating_point", [](const Tensor& x) { return is_floating(x.dtype()); })
      // autograd
      .def_property("requires_grad", &Tensor::requires_grad,
                    [](Tensor& x, bool on) { x.set_requires_grad(on); })
      .def("requires_grad_", [](Tensor& x, bool on) { return x.set_requires_grad(on); }, "requires_grad"_a = true)
      .def_property("grad", [](const Tensor& x) -> py::object {
        Tensor g = x.grad();
        return g.defined() ? py::cast(g) : py::none();
      }, [](Tensor& x, py::object g) { x.set_grad(g.is_none() ? Tensor() : g.cast<Tensor>()); })
      .def_property_readonly("grad_fn", [](const Tensor& x) -> py::object {
        return x.grad_fn() ? py::cast(x.grad_fn()) : py::none();
      })
      .def_property_readonly("is_leaf", &Tensor::is_leaf)
      .def("register_post_accumulate_grad_hook", [](const Tensor& x, PostAccumulateGradHook hook) {
        auto h = autograd::add_post_accumulate_grad_hook(x, std::move(hook));
        return GradHookHandle{[leaf = std::weak_ptr<TensorImpl>(x.impl()), h] {
          if (auto impl = leaf.lock()) autograd::remove_post_accumulate_grad_hook(Tensor(impl), h);
        }};
      }, "hook"_a)
      .def("register_hook", [](const Tensor& x, std::function<py::object(const Tensor&)> fn) {
        auto h = autograd::register_hook(x, [fn](const Tensor& g) -> Tensor {
          py::gil_scoped_acquire gil;
          py::object r = fn(g);
          return r.is_none() ? Tensor() : r.cast<Tensor>();
        });
        return GradHookHandle{[t = std::weak_ptr<TensorImpl>(x.impl()), h] {
          if (auto impl = t.lock()) autograd::remove_hook(Tensor(impl), h);
        }};
      }, "hook"_a)
      .def("retain_grad", [](const Tensor& x) { autograd::retain_grad(x); })
      .def_property_readonly("retains_grad", [](const Tensor& x) {
        return x.grad_fn() && x.grad_fn()->retained.lock() == x.impl();
      })
      .def("backward", [](const Tensor& x, py::object gradient, py::object retain_graph, bool create_graph,
                          py::object grad) {
        if (gradient.is_none()) gradient = grad;
        Tensor g = gradient.is_none() ? Tensor() : gradient.cast<Tensor>();
        const bool retain = retain_graph.is_none() ? create_graph : retain_graph.cast<bool>();
        py::gil_scoped_release nogil;
        x.backward(g, retain, create_graph);
      }, "gradient"_a = py::none(), "retain_graph"_a = py::none(), "create_graph"_a = false, py::kw_only(),
         "grad"_a = py::none())
      .def("__repr__", &tensor_repr)
      .def("__hash__", [](const Tensor& x) { return reinterpret_cast<intptr_t>(x.impl().get()); })
      .def("__bool__", [](const Tensor& x) {
        CONVNET_CHECK(x.numel() == 1, "bool: the truth value of a tensor with ", x.numel(),
                      " elements is ambiguous; shape ", shape_str(x.shape()));
        return x.item() != 0;
      })
      .def("__float__", [](const Tensor& x) { return x.item(); })
      .def("__int__", [](const Tensor& x) { return static_cast<int64_t>(x.item()); })
      .def("__index__", [](const Tensor& x) {
        CONVNET_CHECK(!is_floating(x.dtype()) && x.numel() == 1, "only integer tensors of a single element can be converted to an index");
        return static_cast<int64_t>(x.item());
      });

  m.def("from_numpy", &from_numpy, "array"_a);
  m.def("tensor", [](const py::handle& data, const py::object& dtype, const py::object& device) {
    Tensor t = tensor_from_object(data, dtype);
    return device.is_none() ? t : t.to(parse_device(device));
  }, "data"_a, "dtype"_a = py::none(), "device"_a = py::none());
  m.def("is_grad_enabled", &autograd::grad_enabled);
  m.def("set_grad_enabled", &autograd::set_grad_enabled, "mode"_a);
  // `value` (detached) recorded as a function of `input` whose gradient is `backward(dy)`, a Python
  // callable: the differentiable collectives of convnet.distributed (all_reduce of batch statistics).
  // A node whose backward is a Python function (autograd.Function): out = value, its gradient
  // flows to inputs through backward(dy) -> a gradient (or None) per input.
  m.def("_function_node", [](const Tensor& value, const std::vector<Tensor>& inputs, const char* name,
                             std::function<py::object(const Tensor&)> backward) {
    Tensor out = value.detach();
    if (!autograd::needs_record(inputs)) return out;
    static std::set<std::string> names;  // the node keeps a const char*: each name is kept once
    const char* kept = names.insert(name).first->c_str();
    const size_t n = inputs.size();
    autograd::record(out, kept, inputs, [backward, n, kept](const Tensor& dy, const std::vector<bool>&) {
      py::gil_scoped_acquire gil;
      py::object r = backward(dy);
      py::tuple gs = py::isinstance<py::tuple>(r) || py::isinstance<py::list>(r) ? py::tuple(r) : py::make_tuple(r);
      if (gs.size() != n)
        throw ValueError(cat_str(kept, ": backward returned ", gs.size(), " gradients, expected ", n, " (one per input)"));
      std::vector<Tensor> dxs;
      for (auto g : gs) dxs.push_back(g.is_none() ? Tensor() : g.cast<Tensor>());
      return dxs;
    });
    return out;
  }, "value"_a, "inputs"_a, "name"_a, "backward"_a);
  m.def("_grad", [](const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                    const std::vector<Tensor>& grad_outputs, bool retain_graph, bool create_graph, bool allow_unused) {
    std::vector<Tensor> gs;
    {
      py::gil_scoped_release nogil;
      gs = autograd::grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused);
    }
    py::list r;
    for (const Tensor& g : gs) r.append(g.defined() ? py::cast(g) : py::none());
    return r;
  }, "outputs"_a, "inputs"_a, "grad_outputs"_a, "retain_graph"_a, "create_graph"_a, "allow_unused"_a);
  m.def("_set_anomaly_enabled", &autograd::set_anomaly_enabled, "mode"_a);
  m.def("_is_anomaly_enabled", &autograd::anomaly_enabled);
  m.def("manual_seed", [](int64_t s) { manual_seed(static_cast<uint64_t>(s)); }, "seed"_a);
  m.def("initial_seed", &initial_seed);
  m.def("get_rng_state", &get_rng_state);
  m.def("set_rng_state", &set_rng_state, "new_state"_a);
  m.def("_draw_seed", [] { return random_u64() >> 1; });
  m.def("set_num_threads", &set_num_threads, "n"_a);
  m.def("get_num_threads", &get_num_threads);
  m.def("memory_stats", [] {
    AllocatorStats s = cpu_allocator_stats();
    py::dict d;
    d["allocated_bytes"] = s.allocated_bytes;
    d["peak_allocated_bytes"] = s.peak_allocated_bytes;
    d["cached_bytes"] = s.cached_bytes;
    return d;
  });
  m.def("reset_peak_memory_stats", &cpu_reset_peak_stats);
  m.def("empty_cache", &cpu_empty_cache);

  auto factory = [&](const char* name, auto make) {
    m.def(name, [make, name](py::args a, py::object dtype, py::object device, bool requires_grad) {
      Device d = device.is_none() ? Device() : parse_device(device);
      return finish(make(shape_from_args(a, name), parse_dtype(dtype, DType::Float32), d), requires_grad);
    }, py::kw_only(), "dtype"_a = py::none(), "device"_a = py::none(), "requires_grad"_a = false);
  };
  factory("zeros", [](const Shape& s, DType d, Device dev) { return zeros(s, d, dev); });
  factory("ones", [](const Shape& s, DType d, Device dev) { return ones(s, d, dev); });
  factory("empty", [](const Shape& s, DType d, Device dev) { return Tensor::empty(s, d, dev); });
  // random draws come from the one global generator, so a seed gives the same values on every device
  factory("rand", [](const Shape& s, DType d, Device dev) { return rand(s, d).to(dev); });
  factory("randn", [](const Shape& s, DType d, Device dev) { return randn(s, d).to(dev); });
  m.def("full", [](const Shape& s, double v, py::object dtype, py::object device, bool rg) {
    Device d = device.is_none() ? Device() : parse_device(device);
    return finish(full(s, v, parse_dtype(dtype, DType::Float32), d), rg);
  }, "size"_a, "fill_value"_a, py::kw_only(), "dtype"_a = py::none(), "device"_a = py::none(),
        "requires_grad"_a = false);
  m.def("arange", [](double a, py::object b, double step, py::object dtype, py::object device, bool rg) {
    double start = b.is_none() ? 0 : a, end = b.is_none() ? a : b.cast<double>();
    bool all_int = std::floor(start) == start && std::floor(end) == end && std::floor(step) == step;
    Device d = device.is_none() ? Device() : parse_device(device);
    return finish(arange(start, end, step, parse_dtype(dtype, all_int ? DType::Int64 : DType::Float32), d), rg);
  }, "start"_a, "end"_a = py::none(), "step"_a = 1, py::kw_only(), "dtype"_a = py::none(),
        "device"_a = py::none(), "requires_grad"_a = false);
  m.def("randperm", &randperm, "n"_a);
  m.def("zeros_like", [](const Tensor& x) { return zeros_like(x); });
  m.def("ones_like", [](const Tensor& x) { return ones(x.shape(), x.dtype(), x.device()); });
}

}  // namespace convnet::bindings
