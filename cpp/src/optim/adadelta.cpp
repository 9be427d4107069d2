// Adadelta: the update rule is adadelta_update in updates.h; one kernel call per
// parameter group (and device and dtype) updates all its parameters.
// State: "step", "square_avg", "acc_delta".
#include "convnet/optim/adadelta.h"

#include "dispatch.h"
#include "options.h"
#include "tensor_lists.h"

namespace convnet::optim {

Adadelta::Adadelta(std::vector<ParamGroup> groups, double lr, double rho, double eps, double weight_decay,
                   bool maximize)
    : Optimizer("Adadelta",
                {{"lr", lr}, {"rho", rho}, {"eps", eps}, {"weight_decay", weight_decay},
                 {"maximize", double(maximize)}},
                {"step", "square_avg", "acc_delta"}) {
  check_nonnegative(name(), {{"learning rate", lr}});
  CONVNET_CHECK(rho >= 0 && rho <= 1, "Adadelta: invalid rho value: ", rho);
  check_nonnegative(name(), {{"epsilon value", eps}, {"weight_decay value", weight_decay}});
  add_param_groups(std::move(groups));
}

void Adadelta::step() {
  for (auto& group : groups_) {
    const double lr = group.get("lr"), rho = group.get("rho"), eps = group.get("eps"),
                 wd = group.get("weight_decay");
    const bool maximize = group.get("maximize") != 0;
    TensorLists lists(4);
    for (auto& p : group.params) {
      Tensor g = grad_of(p);
      if (!g.defined()) continue;
      ParamState& st = state(p);
      count_step(st);
      lists.add({p, g, entry(st, "square_avg", p, 0), entry(st, "acc_delta", p, 0)});
    }
    lists.for_each("Adadelta", [&]([[maybe_unused]] Device dev, const auto& l) {
      using T = typename std::decay_t<decltype(l)>::Scalar;
      const optim::AdadeltaHyper<T> h{static_cast<T>(lr),  static_cast<T>(rho), static_cast<T>(1 - rho),
                                      static_cast<T>(eps), static_cast<T>(wd),  maximize};
      CONVNET_KERNEL(dev, adadelta_update, <T>)(h, l);
    });
  }
}

}  // namespace convnet::optim
