// RMSprop: the update rule is rmsprop_update in updates.h; one kernel call per
// parameter group (and device and dtype) updates all its parameters.
// State: "step", "square_avg" (s), "momentum_buffer" (momentum > 0), "grad_avg" (a, centered).
#include "convnet/optim/rmsprop.h"

#include "dispatch.h"
#include "options.h"
#include "tensor_lists.h"

namespace convnet::optim {

RMSprop::RMSprop(std::vector<ParamGroup> groups, double lr, double alpha, double eps,
                 double weight_decay, double momentum, bool centered, bool maximize)
    : Optimizer("RMSprop",
                {{"lr", lr}, {"alpha", alpha}, {"eps", eps}, {"weight_decay", weight_decay},
                 {"momentum", momentum}, {"centered", double(centered)}, {"maximize", double(maximize)}},
                {"step", "square_avg", "momentum_buffer", "grad_avg"}) {
  check_nonnegative(name(), {{"learning rate", lr},
                             {"epsilon value", eps},
                             {"momentum value", momentum},
                             {"weight_decay value", weight_decay},
                             {"alpha value", alpha}});
  add_param_groups(std::move(groups));
}

void RMSprop::step() {
  for (auto& group : groups_) {
    const double lr = group.get("lr"), alpha = group.get("alpha"), eps = group.get("eps"),
                 wd = group.get("weight_decay"), mom = group.get("momentum");
    const bool centered = group.get("centered") != 0, maximize = group.get("maximize") != 0;
    TensorLists lists(5);
    for (auto& p : group.params) {
      Tensor g = grad_of(p);
      if (!g.defined()) continue;
      ParamState& st = state(p);
      count_step(st);
      Tensor s = entry(st, "square_avg", p, 0);
      Tensor buf = mom > 0 ? entry(st, "momentum_buffer", p, 0) : Tensor();
      Tensor a = centered ? entry(st, "grad_avg", p, 0) : Tensor();
      lists.add({p, g, s, buf, a});
    }
    lists.for_each("RMSprop", [&]([[maybe_unused]] Device dev, const auto& l) {
      using T = typename std::decay_t<decltype(l)>::Scalar;
      const optim::RmspropHyper<T> h{static_cast<T>(lr),  static_cast<T>(alpha), static_cast<T>(1 - alpha),
                                     static_cast<T>(eps), static_cast<T>(wd),    static_cast<T>(mom),
                                     maximize};
      CONVNET_KERNEL(dev, rmsprop_update, <T>)(h, l);
    });
  }
}

}  // namespace convnet::optim
