// NAdam: the update rule is nadam_update in updates.h; one kernel call per parameter
// group (and device and dtype) updates all its parameters.
// State: "step", "mu_product" (a float32 scalar on the CPU, as PyTorch's), "exp_avg",
// "exp_avg_sq".
#include "convnet/optim/nadam.h"

#include <cmath>

#include "dispatch.h"
#include "options.h"
#include "tensor_lists.h"

namespace convnet::optim {

NAdam::NAdam(std::vector<ParamGroup> groups, double lr, double beta1, double beta2, double eps,
             double weight_decay, double momentum_decay, bool decoupled_weight_decay, bool maximize)
    : Optimizer("NAdam",
                {{"lr", lr}, {"beta1", beta1}, {"beta2", beta2}, {"eps", eps},
                 {"weight_decay", weight_decay}, {"momentum_decay", momentum_decay},
                 {"decoupled_weight_decay", double(decoupled_weight_decay)},
                 {"maximize", double(maximize)}},
                {"step", "mu_product", "exp_avg", "exp_avg_sq"}) {
  check_adam_options(name(), lr, beta1, beta2, eps, weight_decay);
  check_nonnegative(name(), {{"momentum_decay value", momentum_decay}});
  add_param_groups(std::move(groups));
}

void NAdam::step() {
  for (auto& group : groups_) {
    const AdamOptions o(group);
    const double lr = o.lr, beta1 = o.beta1, psi = group.get("momentum_decay");
    const bool decoupled = group.get("decoupled_weight_decay") != 0, maximize = group.get("maximize") != 0;
    TensorLists lists(4, 3);
    for (auto& p : group.params) {
      Tensor g = grad_of(p);
      if (!g.defined()) continue;
      ParamState& st = state(p);
      const double t = count_step(st);
      const double mu = beta1 * (1 - 0.5 * std::pow(0.96, t * psi)),
                   mu_next = beta1 * (1 - 0.5 * std::pow(0.96, (t + 1) * psi));
      // the product of the mu so far, a float32 scalar multiplied in float32 as PyTorch's
      Tensor& prod = scalar_entry(st, "mu_product", 1);
      const double mu_product = static_cast<float>(prod.item()) * static_cast<float>(mu);
      fill_(prod, mu_product);
      const double mu_product_next = mu_product * mu_next;
      Tensor m = entry(st, "exp_avg", p, 0), v = entry(st, "exp_avg_sq", p, 0);
      lists.add({p, g, m, v}, {-lr * (1 - mu) / (1 - mu_product), -lr * mu_next / (1 - mu_product_next),
                               1 - std::pow(o.beta2, t)});
    }
    lists.for_each("NAdam", [&]([[maybe_unused]] Device dev, const auto& l) {
      using T = typename std::decay_t<decltype(l)>::Scalar;
      CONVNET_KERNEL(dev, nadam_update, <T>)(o.hyper<T>(decoupled, maximize), l);
    });
  }
}

}  // namespace convnet::optim
