// Adam and AdamW: the update rule is adam_update in updates.h; one kernel call per
// parameter group (and device and dtype) updates all its parameters.
// State: "step", "exp_avg" (m), "exp_avg_sq" (v), "max_exp_avg_sq" (vmax, amsgrad).
#include "convnet/optim/adam.h"

#include <cmath>

#include "dispatch.h"
#include "options.h"
#include "tensor_lists.h"

namespace convnet::optim {

Adam::Adam(std::vector<ParamGroup> groups, double lr, double beta1, double beta2, double eps,
           double weight_decay, bool amsgrad, bool maximize, bool decoupled_weight_decay)
    : Adam("Adam", std::move(groups), lr, beta1, beta2, eps, weight_decay, amsgrad, maximize,
           decoupled_weight_decay) {}

AdamW::AdamW(std::vector<ParamGroup> groups, double lr, double beta1, double beta2, double eps,
             double weight_decay, bool amsgrad, bool maximize)
    : Adam("AdamW", std::move(groups), lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, true) {}

Adam::Adam(const char* name, std::vector<ParamGroup> groups, double lr, double beta1, double beta2,
           double eps, double weight_decay, bool amsgrad, bool maximize, bool decoupled_weight_decay)
    : Optimizer(name,
                {{"lr", lr}, {"beta1", beta1}, {"beta2", beta2}, {"eps", eps},
                 {"weight_decay", weight_decay}, {"amsgrad", double(amsgrad)},
                 {"maximize", double(maximize)},
                 {"decoupled_weight_decay", double(decoupled_weight_decay)}},
                {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}) {
  check_adam_options(name, lr, beta1, beta2, eps, weight_decay);
  add_param_groups(std::move(groups));
}

void Adam::step() {
  for (auto& group : groups_) {
    const AdamOptions o(group);
    const bool amsgrad = group.get("amsgrad") != 0, maximize = group.get("maximize") != 0,
               decoupled = group.get("decoupled_weight_decay") != 0;
    TensorLists lists(5, 2);
    for (auto& p : group.params) {
      Tensor g = grad_of(p);
      if (!g.defined()) continue;
      ParamState& st = state(p);
      const double t = count_step(st);
      Tensor m = entry(st, "exp_avg", p, 0), v = entry(st, "exp_avg_sq", p, 0);
      Tensor vmax = amsgrad ? entry(st, "max_exp_avg_sq", p, 0) : Tensor();
      const double step_size = o.lr / (1 - std::pow(o.beta1, t));
      lists.add({p, g, m, v, vmax}, {-step_size, std::sqrt(1 - std::pow(o.beta2, t))});
    }
    lists.for_each(name().c_str(), [&]([[maybe_unused]] Device dev, const auto& l) {
      using T = typename std::decay_t<decltype(l)>::Scalar;
      CONVNET_KERNEL(dev, adam_update, <T>)(o.hyper<T>(decoupled, maximize), l);
    });
  }
}

}  // namespace convnet::optim
