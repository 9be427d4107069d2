#include "convnet/optim/optimizer.h"

#include <set>

namespace convnet::optim {

double ParamGroup::get(const std::string& key) const {
  auto it = options.find(key);
  if (it == options.end()) throw std::out_of_range("param group has no option \"" + key + "\"");
  return it->second;
}

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

void Optimizer::add_param_group(ParamGroup group) {
  std::set<TensorImpl*> seen;
  for (auto& g : groups_)
    for (auto& p : g.params) seen.insert(p.impl().get());
  for (auto& p : group.params) {
    CONVNET_CHECK(p.defined() && is_floating(p.dtype()),
                  "optimizer: parameters must be floating point tensors");
    CONVNET_CHECK(p.is_leaf(), "optimizer: can't optimize a non-leaf tensor of shape ",
                  shape_str(p.shape()));
    CONVNET_CHECK(seen.insert(p.impl().get()).second,
                  "optimizer: some parameters appear in more than one parameter group");
  }
  for (auto& [k, v] : defaults_) group.options.emplace(k, v);
  groups_.push_back(std::move(group));
}

}  // namespace convnet::optim
