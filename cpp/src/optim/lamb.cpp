// LAMB in two passes: lamb_direction (updates.h) updates the moments and writes each
// tensor's direction u into a scratch buffer; the per-tensor norms of the parameters and
// directions follow (norms.h), then lamb_update steps each tensor by its trust ratio.
// One kernel call per pass and parameter group (and device and dtype).
// State: "step", "exp_avg", "exp_avg_sq".
#include "convnet/optim/lamb.h"

#include <cmath>

#include "dispatch.h"
#include "norms.h"
#include "options.h"
#include "tensor_lists.h"

namespace convnet::optim {

LAMB::LAMB(std::vector<ParamGroup> groups, double lr, double beta1, double beta2, double eps,
           double weight_decay, bool layer_adaptation)
    : Optimizer("LAMB",
                {{"lr", lr}, {"beta1", beta1}, {"beta2", beta2}, {"eps", eps},
                 {"weight_decay", weight_decay}, {"layer_adaptation", double(layer_adaptation)}},
                {"step", "exp_avg", "exp_avg_sq"}) {
  check_adam_options(name(), lr, beta1, beta2, eps, weight_decay);
  add_param_groups(std::move(groups));
}

void LAMB::step() {
  for (auto& group : groups_) {
    const AdamOptions o(group);
    const bool adapt = group.get("layer_adaptation") != 0;
    std::vector<Tensor> ps, us;
    TensorLists directions(5, 2);
    for (auto& p : group.params) {
      Tensor g = grad_of(p);
      if (!g.defined()) continue;
      ParamState& st = state(p);
      const double t = count_step(st);
      Tensor m = entry(st, "exp_avg", p, 0), v = entry(st, "exp_avg_sq", p, 0);
      Tensor u = Tensor::empty(p.shape(), p.dtype(), p.device());
      directions.add({p, g, m, v, u}, {1 - std::pow(o.beta1, t), 1 - std::pow(o.beta2, t)});
      ps.push_back(p);
      us.push_back(u);
    }
    directions.for_each("LAMB", [&]([[maybe_unused]] Device dev, const auto& l) {
      using T = typename std::decay_t<decltype(l)>::Scalar;
      // lamb_direction adds weight_decay * p to the direction itself: neither decoupled nor maximize
      CONVNET_KERNEL(dev, lamb_direction, <T>)(o.hyper<T>(false, false), l);
    });
    const std::vector<double> pn = adapt ? l2_norms(ps, "LAMB") : std::vector<double>(),
                              un = adapt ? l2_norms(us, "LAMB") : std::vector<double>();
    TensorLists steps(2, 1);
    for (size_t i = 0; i < ps.size(); ++i) {
      const double ratio = adapt && pn[i] > 0 && un[i] > 0 ? pn[i] / un[i] : 1.0;
      steps.add({ps[i], us[i]}, {-o.lr * ratio});
    }
    steps.for_each("LAMB", [&]([[maybe_unused]] Device dev, const auto& l) {
      using T = typename std::decay_t<decltype(l)>::Scalar;
      CONVNET_KERNEL(dev, lamb_update, <T>)(l);
    });
  }
}

}  // namespace convnet::optim
