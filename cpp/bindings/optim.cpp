// convnet.optim: optimizers; the update runs in C++ with the GIL released.
#include <algorithm>

#include "bindings.h"

namespace convnet::bindings {

using namespace pybind11::literals;
using optim::Optimizer;
using optim::ParamGroup;

namespace {

// Options are numbers in C++; Python sees PyTorch's types: flags as bools and
// Adam's "beta1"/"beta2" as the pair "betas".
bool is_flag(const std::string& key) {
  return key == "nesterov" || key == "maximize" || key == "amsgrad" || key == "centered" ||
         key == "decoupled_weight_decay" || key == "layer_adaptation";
}

py::object option_value(const std::map<std::string, double>& o, const std::string& key) {
  if (key == "betas" && o.count("beta1") && o.count("beta2"))
    return py::make_tuple(o.at("beta1"), o.at("beta2"));
  auto it = o.find(key);
  if (it == o.end() || key == "beta1" || key == "beta2") throw py::key_error(key);
  if (is_flag(key)) return py::bool_(it->second != 0);
  return py::float_(it->second);
}

std::vector<std::string> option_keys(const std::map<std::string, double>& o) {
  std::vector<std::string> keys;
  for (auto& [k, v] : o) {
    if (k == "beta2") continue;
    keys.push_back(k == "beta1" ? "betas" : k);
  }
  return keys;
}

py::dict options_dict(const std::map<std::string, double>& o) {
  py::dict d;
  for (auto& k : option_keys(o)) d[py::str(k)] = option_value(o, k);
  return d;
}

void set_option(std::map<std::string, double>& o, const std::string& key, py::handle v,
                const std::string& who) {
  try {
    if (key == "betas") {
      auto b = v.cast<std::pair<double, double>>();
      o["beta1"] = b.first;
      o["beta2"] = b.second;
    } else {
      o[key] = v.cast<double>();
    }
  } catch (const py::cast_error&) {
    throw py::type_error(cat_str(who, ": option '", key, "' must be ",
                                 key == "betas" ? "a pair of numbers" : "a number", ", got ",
                                 std::string(py::str(py::repr(v)))));
  }
}

// params: an iterable of tensors, or of dicts {"params": [...], "lr": ...} (parameter groups).
std::vector<ParamGroup> groups_of(const py::iterable& params, const std::string& name) {
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
        if (key != "params") set_option(g.options, key, v, name);
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

// {"state": {index: {name: tensor}}, "param_groups": [{option: value, ..., "params": [indices]}]}
py::dict state_to_python(const optim::OptimizerState& s) {
  py::dict state;
  for (auto& [index, entries] : s.state) {
    py::dict d;
    for (auto& [k, v] : entries) d[py::str(k)] = v;
    state[py::int_(index)] = d;
  }
  py::list groups;
  for (auto& g : s.param_groups) {
    py::dict d = options_dict(g.options);
    d["params"] = g.params;
    groups.append(d);
  }
  py::dict out;
  out["state"] = state;
  out["param_groups"] = groups;
  return out;
}

optim::OptimizerState state_from_python(const py::handle& obj, const std::string& who) {
  if (!py::isinstance<py::dict>(obj))
    throw py::type_error(cat_str(who, ": expected a dict with 'state' and 'param_groups', got ",
                                 std::string(py::str(py::type::of(obj).attr("__name__")))));
  py::dict d = py::reinterpret_borrow<py::dict>(obj);
  for (const char* key : {"state", "param_groups"})
    if (!d.contains(key)) throw py::value_error(cat_str(who, ": the state dict has no '", key, "' entry"));
  optim::OptimizerState s;
  for (auto [index, entries] : py::dict(d["state"])) {
    optim::ParamState& st = s.state[index.cast<int64_t>()];
    for (auto [k, v] : py::dict(py::reinterpret_borrow<py::object>(entries)))
      st[py::str(k)] = py::isinstance<Tensor>(v) ? v.cast<Tensor>() : tensor_from_object(v, py::none());
  }
  for (py::handle item : py::list(d["param_groups"])) {
    py::dict g = py::dict(py::reinterpret_borrow<py::object>(item));
    if (!g.contains("params")) throw py::value_error(cat_str(who, ": a parameter group has no 'params' entry"));
    optim::OptimizerState::Group sg;
    for (auto [k, v] : g) {
      std::string key = py::str(k);
      if (key == "params")
        sg.params = v.cast<std::vector<int64_t>>();
      else
        set_option(sg.options, key, v, who);
    }
    s.param_groups.push_back(std::move(sg));
  }
  return s;
}

}  // namespace

void bind_optim(py::module_& m) {
  py::module_ o = m.def_submodule("optim", "Optimizers");

  py::class_<ParamGroup>(o, "ParamGroup")
      .def("__getitem__", [](const ParamGroup& g, const std::string& key) -> py::object {
        if (key == "params") return py::cast(g.params);
        return option_value(g.options, key);
      })
      .def("__setitem__", [](ParamGroup& g, const std::string& key, py::handle v) {
        if (key == "params") throw py::value_error("param group: assign tensors through add_param_group");
        set_option(g.options, key, v, "param group");
      })
      .def("__contains__", [](const ParamGroup& g, const std::string& key) {
        auto keys = option_keys(g.options);
        return key == "params" || std::find(keys.begin(), keys.end(), key) != keys.end();
      })
      .def("keys", [](const ParamGroup& g) {
        std::vector<std::string> k{"params"};
        for (auto& n : option_keys(g.options)) k.push_back(n);
        return k;
      })
      .def("__repr__", [](const ParamGroup& g) {
        std::string s = cat_str("{'params': [", g.params.size(), " tensors]");
        for (auto& k : option_keys(g.options))
          s += cat_str(", '", k, "': ", std::string(py::str(py::repr(option_value(g.options, k)))));
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
      .def_property_readonly("defaults", [](const Optimizer& opt) { return options_dict(opt.defaults()); })
      .def("state_dict", [](const Optimizer& opt) {
        optim::OptimizerState s;
        {
          py::gil_scoped_release nogil;
          s = opt.state_dict();
        }
        return state_to_python(s);
      }, "The optimizer's state as PyTorch lays it out; a copy that later steps leave unchanged.")
      .def("load_state_dict", [](Optimizer& opt, py::handle state) {
        optim::OptimizerState s = state_from_python(state, opt.name() + ".load_state_dict");
        py::gil_scoped_release nogil;
        opt.load_state_dict(s);
      }, "state_dict"_a);

  py::classh<optim::SGD, Optimizer>(o, "SGD")
      .def(py::init([](py::iterable params, double lr, double momentum, double dampening,
                       double weight_decay, bool nesterov, bool maximize) {
             return std::make_shared<optim::SGD>(groups_of(params, "SGD"), lr, momentum, dampening,
                                                 weight_decay, nesterov, maximize);
           }),
           "params"_a, "lr"_a = 1e-3, "momentum"_a = 0.0, "dampening"_a = 0.0, "weight_decay"_a = 0.0,
           "nesterov"_a = false, py::kw_only(), "maximize"_a = false);

  py::classh<optim::Adam, Optimizer>(o, "Adam")
      .def(py::init([](py::iterable params, double lr, std::pair<double, double> betas, double eps,
                       double weight_decay, bool amsgrad, bool maximize, bool decoupled_weight_decay) {
             return std::make_shared<optim::Adam>(groups_of(params, "Adam"), lr, betas.first,
                                                  betas.second, eps, weight_decay, amsgrad, maximize,
                                                  decoupled_weight_decay);
           }),
           "params"_a, "lr"_a = 1e-3, "betas"_a = std::make_pair(0.9, 0.999), "eps"_a = 1e-8,
           "weight_decay"_a = 0.0, "amsgrad"_a = false, py::kw_only(), "maximize"_a = false,
           "decoupled_weight_decay"_a = false);

  py::classh<optim::AdamW, optim::Adam>(o, "AdamW")
      .def(py::init([](py::iterable params, double lr, std::pair<double, double> betas, double eps,
                       double weight_decay, bool amsgrad, bool maximize) {
             return std::make_shared<optim::AdamW>(groups_of(params, "AdamW"), lr, betas.first,
                                                   betas.second, eps, weight_decay, amsgrad, maximize);
           }),
           "params"_a, "lr"_a = 1e-3, "betas"_a = std::make_pair(0.9, 0.999), "eps"_a = 1e-8,
           "weight_decay"_a = 1e-2, "amsgrad"_a = false, py::kw_only(), "maximize"_a = false);

  py::classh<optim::RMSprop, Optimizer>(o, "RMSprop")
      .def(py::init([](py::iterable params, double lr, double alpha, double eps, double weight_decay,
                       double momentum, bool centered, bool maximize) {
             return std::make_shared<optim::RMSprop>(groups_of(params, "RMSprop"), lr, alpha, eps,
                                                     weight_decay, momentum, centered, maximize);
           }),
           "params"_a, "lr"_a = 1e-2, "alpha"_a = 0.99, "eps"_a = 1e-8, "weight_decay"_a = 0.0,
           "momentum"_a = 0.0, "centered"_a = false, py::kw_only(), "maximize"_a = false);

  py::classh<optim::Adagrad, Optimizer>(o, "Adagrad")
      .def(py::init([](py::iterable params, double lr, double lr_decay, double weight_decay,
                       double initial_accumulator_value, double eps, bool maximize) {
             return std::make_shared<optim::Adagrad>(groups_of(params, "Adagrad"), lr, lr_decay,
                                                     weight_decay, initial_accumulator_value, eps,
                                                     maximize);
           }),
           "params"_a, "lr"_a = 1e-2, "lr_decay"_a = 0.0, "weight_decay"_a = 0.0,
           "initial_accumulator_value"_a = 0.0, "eps"_a = 1e-10, py::kw_only(), "maximize"_a = false);

  py::classh<optim::NAdam, Optimizer>(o, "NAdam")
      .def(py::init([](py::iterable params, double lr, std::pair<double, double> betas, double eps,
                       double weight_decay, double momentum_decay, bool decoupled_weight_decay, bool maximize) {
             return std::make_shared<optim::NAdam>(groups_of(params, "NAdam"), lr, betas.first, betas.second,
                                                   eps, weight_decay, momentum_decay, decoupled_weight_decay,
                                                   maximize);
           }),
           "params"_a, "lr"_a = 2e-3, "betas"_a = std::make_pair(0.9, 0.999), "eps"_a = 1e-8,
           "weight_decay"_a = 0.0, "momentum_decay"_a = 4e-3, "decoupled_weight_decay"_a = false,
           py::kw_only(), "maximize"_a = false);

  py::classh<optim::RAdam, Optimizer>(o, "RAdam")
      .def(py::init([](py::iterable params, double lr, std::pair<double, double> betas, double eps,
                       double weight_decay, bool decoupled_weight_decay, bool maximize) {
             return std::make_shared<optim::RAdam>(groups_of(params, "RAdam"), lr, betas.first, betas.second,
                                                   eps, weight_decay, decoupled_weight_decay, maximize);
           }),
           "params"_a, "lr"_a = 1e-3, "betas"_a = std::make_pair(0.9, 0.999), "eps"_a = 1e-8,
           "weight_decay"_a = 0.0, "decoupled_weight_decay"_a = false, py::kw_only(), "maximize"_a = false);

  py::classh<optim::Adadelta, Optimizer>(o, "Adadelta")
      .def(py::init([](py::iterable params, double lr, double rho, double eps, double weight_decay,
                       bool maximize) {
             return std::make_shared<optim::Adadelta>(groups_of(params, "Adadelta"), lr, rho, eps,
                                                      weight_decay, maximize);
           }),
           "params"_a, "lr"_a = 1.0, "rho"_a = 0.9, "eps"_a = 1e-6, "weight_decay"_a = 0.0, py::kw_only(),
           "maximize"_a = false);

  py::classh<optim::LARS, Optimizer>(o, "LARS")
      .def(py::init([](py::iterable params, double lr, double momentum, double weight_decay,
                       double trust_coefficient, double eps, bool layer_adaptation) {
             return std::make_shared<optim::LARS>(groups_of(params, "LARS"), lr, momentum, weight_decay,
                                                  trust_coefficient, eps, layer_adaptation);
           }),
           "params"_a, "lr"_a = 1e-3, "momentum"_a = 0.9, "weight_decay"_a = 0.0,
           "trust_coefficient"_a = 1e-3, "eps"_a = 1e-8, "layer_adaptation"_a = true);

  py::classh<optim::LAMB, Optimizer>(o, "LAMB")
      .def(py::init([](py::iterable params, double lr, std::pair<double, double> betas, double eps,
                       double weight_decay, bool layer_adaptation) {
             return std::make_shared<optim::LAMB>(groups_of(params, "LAMB"), lr, betas.first, betas.second,
                                                  eps, weight_decay, layer_adaptation);
           }),
           "params"_a, "lr"_a = 1e-3, "betas"_a = std::make_pair(0.9, 0.999), "eps"_a = 1e-6,
           "weight_decay"_a = 0.0, "layer_adaptation"_a = true);
}

void bind_io(py::module_& m) {
  m.def("_save_safetensors", [](const std::vector<std::pair<std::string, Tensor>>& tensors,
                                const std::string& path, const std::map<std::string, std::string>& meta) {
    io::save_safetensors(tensors, path, meta);
  }, "tensors"_a, "path"_a, "metadata"_a = std::map<std::string, std::string>(),
        py::call_guard<py::gil_scoped_release>());
  m.def("_write_file_atomic", [](const std::string& path, const py::bytes& data, const std::string& who) {
    const std::string_view bytes = data;
    py::gil_scoped_release nogil;
    io::write_file_atomic(path, {{bytes.data(), bytes.size()}}, who.c_str());
  }, "path"_a, "data"_a, "who"_a);
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
