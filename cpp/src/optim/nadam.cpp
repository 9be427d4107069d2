// NAdam: the update rule is nadam_update in updates.h; one kernel call per parameter
// group (and device and dtype) updates all its parameters.
// State: "step", "mu_product" (a float32 scalar on the CPU, as PyTorch's), "exp_avg",
// "exp_avg_sq".
#include "convnet/optim/nadam.h"

#include <cmath>

#include "dispatch.h"
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
  CONVNET_CHECK(lr >= 0, "NAdam: invalid learning rate: ", lr);
  CONVNET_CHECK(eps >= 0, "NAdam: invalid epsilon value: ", eps);
  CONVNET_CHECK(beta1 >= 0 && beta1 < 1, "NAdam: invalid beta parameter at index 0: ", beta1);
  CONVNET_CHECK(beta2 >= 0 && beta2 < 1, "NAdam: invalid beta parameter at index 1: ", beta2);
  CONVNET_CHECK(weight_decay >= 0, "NAdam: invalid weight_decay value: ", weight_decay);
  CONVNET_CHECK(momentum_decay >= 0, "NAdam: invalid momentum_decay value: ", momentum_decay);
  add_param_groups(std::move(groups));
}

void NAdam::step() {
  for (auto& group : groups_) {
    const double lr = group.get("lr"), beta1 = group.get("beta1"), beta2 = group.get("beta2"),
                 eps = group.get("eps"), wd = group.get("weight_decay"), psi = group.get("momentum_decay");
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
                               1 - std::pow(beta2, t)});
    }
    lists.for_each("NAdam", [&]([[maybe_unused]] Device dev, const auto& l) {
      using T = typename std::decay_t<decltype(l)>::Scalar;
      const optim::AdamHyper<T> h{static_cast<T>(wd),        static_cast<T>(1 - lr * wd),
                                  static_cast<T>(1 - beta1), static_cast<T>(beta2),
                                  static_cast<T>(1 - beta2), static_cast<T>(eps),
                                  decoupled,                 maximize};
      CONVNET_KERNEL(dev, nadam_update, <T>)(h, l);
    });
  }
}

}  // namespace convnet::optim
