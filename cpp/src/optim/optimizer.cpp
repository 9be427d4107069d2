#include "convnet/optim/optimizer.h"

#include <algorithm>
#include <set>

namespace convnet::optim {

double ParamGroup::get(const std::string& key) const {
  auto it = options.find(key);
  if (it == options.end()) throw IndexError("param group has no option \"" + key + "\"");
  return it->second;
}

Optimizer::Optimizer(std::string name, std::map<std::string, double> defaults,
                     std::vector<std::string> state_names)
    : defaults_(std::move(defaults)), name_(std::move(name)), state_names_(std::move(state_names)) {}

void Optimizer::zero_grad(bool set_to_none) {
  for (auto& g : groups_)
    for (auto& p : g.params) {
      if (!p.grad().defined()) continue;
      if (set_to_none)
        p.set_grad(Tensor());
      else
        fill_(p.grad(), 0);
    }
}

void Optimizer::add_param_groups(std::vector<ParamGroup> groups) {
  CONVNET_CHECK(!groups.empty(), name_, ": optimizer got an empty parameter list");
  for (auto& g : groups) add_param_group(std::move(g));
}

void Optimizer::add_param_group(ParamGroup group) {
  std::set<TensorImpl*> seen;
  for (auto& g : groups_)
    for (auto& p : g.params) seen.insert(p.impl().get());
  for (auto& p : group.params) {
    CONVNET_CHECK(p.defined() && is_floating(p.dtype()),
                  name_, ": parameters must be floating point tensors");
    CONVNET_CHECK(p.is_leaf(), name_, ": can't optimize a non-leaf tensor of shape ",
                  shape_str(p.shape()));
    CONVNET_CHECK(seen.insert(p.impl().get()).second,
                  name_, ": some parameters appear in more than one parameter group");
  }
  for (auto& [k, v] : defaults_) group.options.emplace(k, v);
  groups_.push_back(std::move(group));
}

Tensor Optimizer::grad_of(const Tensor& p) const {
  Tensor g = p.grad();
  if (!g.defined()) return g;
  CONVNET_CHECK(g.device() == p.device() && g.dtype() == p.dtype() && g.shape() == p.shape(), name_,
                ": a gradient (", dtype_name(g.dtype()), " ", shape_str(g.shape()), " on ", g.device().str(),
                ") does not match its parameter (", dtype_name(p.dtype()), " ", shape_str(p.shape()), " on ",
                p.device().str(), ")");
  return g;
}

Tensor& Optimizer::entry(ParamState& st, const std::string& key, const Tensor& p, double value) {
  auto it = st.find(key);
  if (it == st.end()) it = st.emplace(key, full(p.shape(), value, p.dtype(), p.device())).first;
  if (it->second.device() != p.device() || it->second.dtype() != p.dtype())
    it->second = it->second.to(p.device()).to(p.dtype());
  return it->second;
}

Tensor& Optimizer::scalar_entry(ParamState& st, const std::string& key, double value) {
  auto it = st.find(key);
  if (it == st.end()) it = st.emplace(key, scalar_tensor(value, DType::Float32)).first;
  return it->second;
}

double Optimizer::count_step(ParamState& st) {
  Tensor& t = step_entry(st);
  double step = t.item() + 1;
  fill_(t, step);
  return step;
}

namespace {

// A tensor with t's values, the given dtype and device, never sharing t's storage.
Tensor copy_as(const Tensor& t, DType dtype, Device device) {
  Tensor c = t.detach().to(device).to(dtype);
  return c.shares_storage(t) ? c.clone() : c;
}

}  // namespace

OptimizerState Optimizer::state_dict() const {
  OptimizerState s;
  int64_t index = 0;
  for (auto& g : groups_) {
    OptimizerState::Group sg{g.options, {}};
    for (auto& p : g.params) {
      auto it = state_.find(p.impl().get());
      if (it != state_.end() && !it->second.empty()) {
        ParamState& copy = s.state[index];
        for (auto& [k, v] : it->second) copy.emplace(k, copy_as(v, v.dtype(), v.device()));
      }
      sg.params.push_back(index++);
    }
    s.param_groups.push_back(std::move(sg));
  }
  return s;
}

void Optimizer::load_state_dict(const OptimizerState& s) {
  CONVNET_CHECK(s.param_groups.size() == groups_.size(), name_,
                ".load_state_dict: loaded state dict has ", s.param_groups.size(),
                " parameter group(s), the optimizer has ", groups_.size());
  // saved parameter number -> (group, parameter)
  std::map<int64_t, std::pair<size_t, size_t>> where;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const auto& saved = s.param_groups[gi];
    CONVNET_CHECK(saved.params.size() == groups_[gi].params.size(), name_,
                  ".load_state_dict: loaded parameter group ", gi, " has ", saved.params.size(),
                  " parameter(s), the optimizer's group has ", groups_[gi].params.size());
    for (auto& [k, v] : defaults_) {
      (void)v;
      CONVNET_CHECK(saved.options.count(k), name_, ".load_state_dict: loaded parameter group ", gi,
                    " has no option \"", k, "\"");
    }
    for (size_t pi = 0; pi < saved.params.size(); ++pi)
      CONVNET_CHECK(where.emplace(saved.params[pi], std::make_pair(gi, pi)).second, name_,
                    ".load_state_dict: parameter number ", saved.params[pi],
                    " appears more than once in the loaded parameter groups");
  }
  // Check everything before changing anything.
  std::unordered_map<const TensorImpl*, ParamState> state;
  for (auto& [index, entries] : s.state) {
    auto w = where.find(index);
    CONVNET_CHECK(w != where.end(), name_, ".load_state_dict: state for parameter number ", index,
                  ", which no loaded parameter group lists");
    const Tensor& p = groups_[w->second.first].params[w->second.second];
    ParamState& st = state[p.impl().get()];
    for (auto& [k, v] : entries) {
      CONVNET_CHECK(std::find(state_names_.begin(), state_names_.end(), k) != state_names_.end(),
                    name_, ".load_state_dict: unexpected state \"", k, "\" for parameter number ",
                    index);
      CONVNET_CHECK(v.defined() && is_floating(v.dtype()), name_, ".load_state_dict: state \"", k,
                    "\" of parameter number ", index, " must be a floating point tensor");
      if (is_scalar_state(k)) {
        CONVNET_CHECK(v.numel() == 1, name_, ".load_state_dict: state \"", k, "\" of parameter number ",
                      index, " must have one element, got shape ", shape_str(v.shape()));
        st.emplace(k, copy_as(v, v.dtype(), Device()));
      } else {
        CONVNET_CHECK(v.shape() == p.shape(), name_, ".load_state_dict: state \"", k,
                      "\" of parameter number ", index, " has shape ", shape_str(v.shape()),
                      ", the parameter has shape ", shape_str(p.shape()));
        st.emplace(k, copy_as(v, p.dtype(), p.device()));
      }
    }
  }
  for (size_t gi = 0; gi < groups_.size(); ++gi) groups_[gi].options = s.param_groups[gi].options;
  state_ = std::move(state);
}

}  // namespace convnet::optim
