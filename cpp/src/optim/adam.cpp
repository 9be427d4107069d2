// Adam and AdamW: the update rule is adam_update in updates.h; one kernel call per
// parameter group (and device and dtype) updates all its parameters.
// State: "step", "exp_avg" (m), "exp_avg_sq" (v), "max_exp_avg_sq" (vmax, amsgrad).
#include "convnet/optim/adam.h"

#include <cmath>

#include "dispatch.h"
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
  CONVNET_CHECK(lr >= 0, name, ": invalid learning rate: ", lr);
  CONVNET_CHECK(eps >= 0, name, ": invalid epsilon value: ", eps);
  CONVNET_CHECK(beta1 >= 0 && beta1 < 1, name, ": invalid beta parameter at index 0: ", beta1);
  CONVNET_CHECK(beta2 >= 0 && beta2 < 1, name, ": invalid beta parameter at index 1: ", beta2);
  CONVNET_CHECK(weight_decay >= 0, name, ": invalid weight_decay value: ", weight_decay);
  add_param_groups(std::move(groups));
}

void Adam::step() {
  for (auto& group : groups_) {
    const double lr = group.get("lr"), beta1 = group.get("beta1"), beta2 = group.get("beta2"),
                 eps = group.get("eps"), wd = group.get("weight_decay");
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
      const double step_size = lr / (1 - std::pow(beta1, t));
      lists.add({p, g, m, v, vmax}, {-step_size, std::sqrt(1 - std::pow(beta2, t))});
    }
    lists.for_each(name().c_str(), [&]([[maybe_unused]] Device dev, const auto& l) {
      using T = typename std::decay_t<decltype(l)>::Scalar;
      const optim::AdamHyper<T> h{static_cast<T>(wd),        static_cast<T>(1 - lr * wd),
                                  static_cast<T>(1 - beta1), static_cast<T>(beta2),
                                  static_cast<T>(1 - beta2), static_cast<T>(eps),
                                  decoupled,                 maximize};
      CONVNET_KERNEL(dev, adam_update, <T>)(h, l);
    });
  }
}

}  // namespace convnet::optim
