// RAdam: the update rule is radam_update in updates.h; one kernel call per parameter
// group (and device and dtype) updates all its parameters.
// State: "step", "exp_avg", "exp_avg_sq".
#include "convnet/optim/radam.h"

#include <cmath>

#include "dispatch.h"
#include "options.h"
#include "tensor_lists.h"

namespace convnet::optim {

RAdam::RAdam(std::vector<ParamGroup> groups, double lr, double beta1, double beta2, double eps,
             double weight_decay, bool decoupled_weight_decay, bool maximize)
    : Optimizer("RAdam",
                {{"lr", lr}, {"beta1", beta1}, {"beta2", beta2}, {"eps", eps},
                 {"weight_decay", weight_decay}, {"decoupled_weight_decay", double(decoupled_weight_decay)},
                 {"maximize", double(maximize)}},
                {"step", "exp_avg", "exp_avg_sq"}) {
  check_adam_options(name(), lr, beta1, beta2, eps, weight_decay);
  add_param_groups(std::move(groups));
}

void RAdam::step() {
  for (auto& group : groups_) {
    const AdamOptions o(group);
    const double beta1 = o.beta1, beta2 = o.beta2;
    const bool decoupled = group.get("decoupled_weight_decay") != 0, maximize = group.get("maximize") != 0;
    const double rho_inf = 2 / (1 - beta2) - 1;
    TensorLists lists(4, 3);
    for (auto& p : group.params) {
      Tensor g = grad_of(p);
      if (!g.defined()) continue;
      ParamState& st = state(p);
      const double t = count_step(st);
      Tensor m = entry(st, "exp_avg", p, 0), v = entry(st, "exp_avg_sq", p, 0);
      const double bias2 = 1 - std::pow(beta2, t);
      const double rho_t = rho_inf - 2 * t * std::pow(beta2, t) / bias2;
      const double rect =
          rho_t > 5 ? std::sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) : 0;
      lists.add({p, g, m, v}, {1 - std::pow(beta1, t), std::sqrt(bias2), rect});
    }
    lists.for_each("RAdam", [&]([[maybe_unused]] Device dev, const auto& l) {
      using T = typename std::decay_t<decltype(l)>::Scalar;
      CONVNET_KERNEL(dev, radam_update, <T>)(o.hyper<T>(decoupled, maximize), static_cast<T>(o.lr), l);
    });
  }
}

}  // namespace convnet::optim
