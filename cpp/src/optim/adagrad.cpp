// Adagrad: the update rule is adagrad_update in updates.h; one kernel call per
// parameter group (and device and dtype) updates all its parameters.
// State: "step", "sum" (starting at initial_accumulator_value).
#include "convnet/optim/adagrad.h"

#include "dispatch.h"
#include "options.h"
#include "tensor_lists.h"

namespace convnet::optim {

Adagrad::Adagrad(std::vector<ParamGroup> groups, double lr, double lr_decay, double weight_decay,
                 double initial_accumulator_value, double eps, bool maximize)
    : Optimizer("Adagrad",
                {{"lr", lr}, {"lr_decay", lr_decay}, {"eps", eps}, {"weight_decay", weight_decay},
                 {"initial_accumulator_value", initial_accumulator_value},
                 {"maximize", double(maximize)}},
                {"step", "sum"}) {
  check_nonnegative(name(), {{"learning rate", lr},
                             {"lr_decay value", lr_decay},
                             {"weight_decay value", weight_decay},
                             {"initial_accumulator_value value", initial_accumulator_value},
                             {"epsilon value", eps}});
  add_param_groups(std::move(groups));
  for (auto& group : groups_)
    for (auto& p : group.params) init_state(group, p);
}

void Adagrad::init_state(const ParamGroup& group, const Tensor& p) {
  ParamState& st = state(p);
  step_entry(st);
  entry(st, "sum", p, group.get("initial_accumulator_value"));
}

void Adagrad::step() {
  for (auto& group : groups_) {
    const double lr = group.get("lr"), lr_decay = group.get("lr_decay"), eps = group.get("eps"),
                 wd = group.get("weight_decay");
    const bool maximize = group.get("maximize") != 0;
    TensorLists lists(3, 1);
    for (auto& p : group.params) {
      Tensor g = grad_of(p);
      if (!g.defined()) continue;
      init_state(group, p);
      ParamState& st = state(p);
      const double t = count_step(st);
      lists.add({p, g, entry(st, "sum", p, 0)}, {-lr / (1 + (t - 1) * lr_decay)});
    }
    lists.for_each("Adagrad", [&]([[maybe_unused]] Device dev, const auto& l) {
      using T = typename std::decay_t<decltype(l)>::Scalar;
      const optim::AdagradHyper<T> h{static_cast<T>(eps), static_cast<T>(wd), maximize};
      CONVNET_KERNEL(dev, adagrad_update, <T>)(h, l);
    });
  }
}

}  // namespace convnet::optim
