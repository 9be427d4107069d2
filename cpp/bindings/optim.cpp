// convnet.optim: optimizers; the update runs in C++ with the GIL released.
#include "bindings.h"

namespace convnet::bindings {

using namespace pybind11::literals;
using optim::Optimizer;
using optim::ParamGroup;

namespace {

// params: an iterable of tensors, or of dicts {"params": [...], "lr": ...} (parameter groups).
std::vector<ParamGroup> groups_of(const py::iterable& params, const char* name) {
  std::vector<ParamGroup> groups;
  ParamGroup plain;
  bool any_plain = false;
  for (py::handle item : params) {
    if (py::isinstance<py::dict>(item)) {
      py::dict d = py::reinterpret_borrow<py::dict>(item);
      if (!d.contains("params")) throw py::value_error(cat_str(name, ": a parameter group needs a 'params' entry"));
      ParamGroup g;
      py::object ps = d["params"];
      if (py::isinstance<Tensor>(ps))
        g.params.push_back(ps.cast<Tensor>());
      else
        for (py::handle p : ps) g.params.push_back(p.cast<Tensor>());
      for (auto [k, v] : d) {
        std::string key = py::str(k);
        if (key != "params") g.options[key] = v.cast<double>();
      }
      groups.push_back(std::move(g));
    } else if (py::isinstance<Tensor>(item)) {
      plain.params.push_back(item.cast<Tensor>());
      any_plain = true;
    } else {
      throw py::type_error(cat_str(name, ": params must be tensors or dicts, got ",
                                   std::string(py::str(py::type::of(item).attr("__name__")))));
    }
  }
  if (any_plain) groups.insert(groups.begin(), std::move(plain));
  return groups;
}

}  // namespace

void bind_optim(py::module_& m) {
  py::module_ o = m.def_submodule("optim", "Optimizers");

  py::class_<ParamGroup>(o, "ParamGroup")
      .def("__getitem__", [](const ParamGroup& g, const std::string& key) -> py::object {
        if (key == "params") return py::cast(g.params);
        auto it = g.options.find(key);
        if (it == g.options.end()) throw py::key_error(key);
        if (key == "nesterov") return py::bool_(it->second != 0);
        return py::float_(it->second);
      })
      .def("__setitem__", [](ParamGroup& g, const std::string& key, double v) {
        if (key == "params") throw py::value_error("param group: assign tensors through add_param_group");
        g.options[key] = v;
      })
      .def("__contains__", [](const ParamGroup& g, const std::string& key) {
        return key == "params" || g.options.count(key) > 0;
      })
      .def("keys", [](const ParamGroup& g) {
        std::vector<std::string> k{"params"};
        for (auto& [n, v] : g.options) k.push_back(n);
        return k;
      })
      .def("__repr__", [](const ParamGroup& g) {
        std::string s = cat_str("{'params': [", g.params.size(), " tensors]");
        for (auto& [k, v] : g.options) s += cat_str(", '", k, "': ", v);
        return s + "}";
      });

  py::classh<Optimizer>(o, "Optimizer")
      .def("step", [](Optimizer& opt, py::object closure) -> py::object {
        py::object loss = py::none();
        if (!closure.is_none()) loss = closure();
        py::gil_scoped_release nogil;
        opt.step();
        return loss;
      }, "closure"_a = py::none())
      .def("zero_grad", &Optimizer::zero_grad, "set_to_none"_a = true)
      .def_property_readonly("param_groups", [](Optimizer& opt) {
        py::list l;
        py::object owner = py::cast(&opt, py::return_value_policy::reference);
        for (auto& g : opt.param_groups())
          l.append(py::cast(&g, py::return_value_policy::reference_internal, owner));
        return l;
      })
      .def("add_param_group", [](Optimizer& opt, py::dict group) {
        auto gs = groups_of(py::make_tuple(group), "add_param_group");
        opt.add_param_group(std::move(gs.at(0)));
      }, "param_group"_a)
      .def_property_readonly("defaults", [](const Optimizer& opt) { return opt.defaults(); });

  py::classh<optim::SGD, Optimizer>(o, "SGD")
      .def(py::init([](py::iterable params, double lr, double momentum, double dampening,
                       double weight_decay, bool nesterov) {
             return std::make_shared<optim::SGD>(groups_of(params, "SGD"), lr, momentum, dampening,
                                                 weight_decay, nesterov);
           }),
           "params"_a, "lr"_a = 1e-3, "momentum"_a = 0.0, "dampening"_a = 0.0, "weight_decay"_a = 0.0,
           "nesterov"_a = false);
}

void bind_io(py::module_& m) {
  m.def("_save_safetensors", [](const std::vector<std::pair<std::string, Tensor>>& tensors,
                                const std::string& path, const std::map<std::string, std::string>& meta) {
    io::save_safetensors(tensors, path, meta);
  }, "tensors"_a, "path"_a, "metadata"_a = std::map<std::string, std::string>(),
        py::call_guard<py::gil_scoped_release>());
  m.def("_load_safetensors", [](const std::string& path) {
    io::SafetensorsFile f;
    {
      py::gil_scoped_release nogil;
      f = io::load_safetensors(path);
    }
    return py::make_tuple(f.tensors, f.metadata);
  }, "path"_a);
}

}  // namespace convnet::bindings
