// RAdam: the update rule is radam_update in updates.h; one kernel call per parameter
// group (and device and dtype) updates all its parameters.
// State: "step", "exp_avg", "exp_avg_sq".
#include "convnet/optim/radam.h"

#include <cmath>

#include "dispatch.h"
#include "tensor_lists.h"

namespace convnet::optim {

RAdam::RAdam(std::vector<ParamGroup> groups, double lr, double beta1, double beta2, double eps,
             double weight_decay, bool decoupled_weight_decay, bool maximize)
    : Optimizer("RAdam",
                {{"lr", lr}, {"beta1", beta1}, {"beta2", beta2}, {"eps", eps},
                 {"weight_decay", weight_decay}, {"decoupled_weight_decay", double(decoupled_weight_decay)},
                 {"maximize", double(maximize)}},
                {"step", "exp_avg", "exp_avg_sq"}) {
  CONVNET_CHECK(lr >= 0, "RAdam: invalid learning rate: ", lr);
  CONVNET_CHECK(eps >= 0, "RAdam: invalid epsilon value: ", eps);
  CONVNET_CHECK(beta1 >= 0 && beta1 < 1, "RAdam: invalid beta parameter at index 0: ", beta1);
  CONVNET_CHECK(beta2 >= 0 && beta2 < 1, "RAdam: invalid beta parameter at index 1: ", beta2);
  CONVNET_CHECK(weight_decay >= 0, "RAdam: invalid weight_decay value: ", weight_decay);
  add_param_groups(std::move(groups));
}

void RAdam::step() {
  for (auto& group : groups_) {
    const double lr = group.get("lr"), beta1 = group.get("beta1"), beta2 = group.get("beta2"),
                 eps = group.get("eps"), wd = group.get("weight_decay");
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
      const optim::AdamHyper<T> h{static_cast<T>(wd),        static_cast<T>(1 - lr * wd),
                                  static_cast<T>(1 - beta1), static_cast<T>(beta2),
                                  static_cast<T>(1 - beta2), static_cast<T>(eps),
                                  decoupled,                 maximize};
      CONVNET_KERNEL(dev, radam_update, <T>)(h, static_cast<T>(lr), l);
    });
  }
}

}  // namespace convnet::optim
