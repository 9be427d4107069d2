// LARS: the update rule is lars_update in updates.h; the per-tensor norms of the
// parameters and gradients come first (norms.h), then one kernel call per parameter
// group (and device and dtype) updates all its parameters.
// State: "momentum_buffer" when momentum is nonzero.
#include "convnet/optim/lars.h"

#include "dispatch.h"
#include "norms.h"
#include "options.h"
#include "tensor_lists.h"

namespace convnet::optim {

LARS::LARS(std::vector<ParamGroup> groups, double lr, double momentum, double weight_decay,
           double trust_coefficient, double eps, bool layer_adaptation)
    : Optimizer("LARS",
                {{"lr", lr}, {"momentum", momentum}, {"weight_decay", weight_decay},
                 {"trust_coefficient", trust_coefficient}, {"eps", eps},
                 {"layer_adaptation", double(layer_adaptation)}},
                {"momentum_buffer"}) {
  check_nonnegative(name(),
                    {{"learning rate", lr}, {"momentum value", momentum}, {"weight_decay value", weight_decay}});
  CONVNET_CHECK(trust_coefficient > 0, "LARS: invalid trust_coefficient value: ", trust_coefficient);
  check_nonnegative(name(), {{"epsilon value", eps}});
  add_param_groups(std::move(groups));
}

void LARS::step() {
  for (auto& group : groups_) {
    const double lr = group.get("lr"), mom = group.get("momentum"), wd = group.get("weight_decay"),
                 eta = group.get("trust_coefficient"), eps = group.get("eps");
    const bool adapt = group.get("layer_adaptation") != 0;
    std::vector<Tensor> ps, gs;
    for (auto& p : group.params) {
      Tensor g = grad_of(p);
      if (!g.defined()) continue;
      ps.push_back(p);
      gs.push_back(g);
    }
    const std::vector<double> pn = adapt ? l2_norms(ps, "LARS") : std::vector<double>(),
                              gn = adapt ? l2_norms(gs, "LARS") : std::vector<double>();
    TensorLists lists(3, 1);
    for (size_t i = 0; i < ps.size(); ++i) {
      const double local = adapt && pn[i] > 0 && gn[i] > 0 ? eta * pn[i] / (gn[i] + wd * pn[i] + eps) : 1.0;
      Tensor buf = mom != 0 ? entry(state(ps[i]), "momentum_buffer", ps[i], 0) : Tensor();
      lists.add({ps[i], gs[i], buf}, {lr * local});
    }
    lists.for_each("LARS", [&]([[maybe_unused]] Device dev, const auto& l) {
      using T = typename std::decay_t<decltype(l)>::Scalar;
      const optim::LarsHyper<T> h{static_cast<T>(mom), static_cast<T>(wd)};
      CONVNET_KERNEL(dev, lars_update, <T>)(h, l);
    });
  }
}

}  // namespace convnet::optim
