// SGD: the update rule is sgd_update in updates.h; one kernel call per parameter
// group (and device and dtype) updates all its parameters.
// State: "momentum_buffer" when momentum is nonzero.
#include "convnet/optim/sgd.h"

#include "dispatch.h"
#include "options.h"
#include "tensor_lists.h"

namespace convnet::optim {

SGD::SGD(std::vector<ParamGroup> groups, double lr, double momentum, double dampening,
         double weight_decay, bool nesterov, bool maximize)
    : Optimizer("SGD",
                {{"lr", lr}, {"momentum", momentum}, {"dampening", dampening},
                 {"weight_decay", weight_decay}, {"nesterov", double(nesterov)},
                 {"maximize", double(maximize)}},
                {"momentum_buffer"}) {
  check_nonnegative(name(),
                    {{"learning rate", lr}, {"momentum value", momentum}, {"weight_decay value", weight_decay}});
  CONVNET_CHECK(!nesterov || (momentum > 0 && dampening == 0),
                "SGD: Nesterov momentum requires a momentum and zero dampening");
  add_param_groups(std::move(groups));
}

void SGD::step() {
  for (auto& group : groups_) {
    const double lr = group.get("lr"), mom = group.get("momentum"), damp = group.get("dampening"),
                 wd = group.get("weight_decay");
    const bool nesterov = group.get("nesterov") != 0, maximize = group.get("maximize") != 0;
    TensorLists lists(3, 1);
    for (auto& p : group.params) {
      Tensor g = grad_of(p);
      if (!g.defined()) continue;
      ParamState& st = state(p);
      const bool first = mom != 0 && !st.count("momentum_buffer");
      Tensor buf = mom != 0 ? entry(st, "momentum_buffer", p, 0) : Tensor();
      lists.add({p, g, buf}, {double(first)});
    }
    lists.for_each("SGD", [&]([[maybe_unused]] Device dev, const auto& l) {
      using T = typename std::decay_t<decltype(l)>::Scalar;
      const optim::SgdHyper<T> h{static_cast<T>(lr), static_cast<T>(wd), static_cast<T>(mom),
                                 static_cast<T>(1 - damp), nesterov, maximize};
      CONVNET_KERNEL(dev, sgd_update, <T>)(h, l);
    });
  }
}

}  // namespace convnet::optim
