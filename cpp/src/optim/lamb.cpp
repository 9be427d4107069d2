// LAMB in two passes: lamb_direction (updates.h) updates the moments and writes each
// tensor's direction u into a scratch buffer; the per-tensor norms of the parameters and
// directions follow (norms.h), then lamb_update steps each tensor by its trust ratio.
// One kernel call per pass and parameter group (and device and dtype).
// State: "step", "exp_avg", "exp_avg_sq".
#include "convnet/optim/lamb.h"

#include <cmath>

#include "dispatch.h"
#include "norms.h"
#include "tensor_lists.h"

namespace convnet::optim {

LAMB::LAMB(std::vector<ParamGroup> groups, double lr, double beta1, double beta2, double eps,
           double weight_decay, bool layer_adaptation)
    : Optimizer("LAMB",
                {{"lr", lr}, {"beta1", beta1}, {"beta2", beta2}, {"eps", eps},
                 {"weight_decay", weight_decay}, {"layer_adaptation", double(layer_adaptation)}},
                {"step", "exp_avg", "exp_avg_sq"}) {
  CONVNET_CHECK(lr >= 0, "LAMB: invalid learning rate: ", lr);
  CONVNET_CHECK(eps >= 0, "LAMB: invalid epsilon value: ", eps);
  CONVNET_CHECK(beta1 >= 0 && beta1 < 1, "LAMB: invalid beta parameter at index 0: ", beta1);
  CONVNET_CHECK(beta2 >= 0 && beta2 < 1, "LAMB: invalid beta parameter at index 1: ", beta2);
  CONVNET_CHECK(weight_decay >= 0, "LAMB: invalid weight_decay value: ", weight_decay);
  add_param_groups(std::move(groups));
}

void LAMB::step() {
  for (auto& group : groups_) {
    const double lr = group.get("lr"), beta1 = group.get("beta1"), beta2 = group.get("beta2"),
                 eps = group.get("eps"), wd = group.get("weight_decay");
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
      directions.add({p, g, m, v, u}, {1 - std::pow(beta1, t), 1 - std::pow(beta2, t)});
      ps.push_back(p);
      us.push_back(u);
    }
    directions.for_each("LAMB", [&]([[maybe_unused]] Device dev, const auto& l) {
      using T = typename std::decay_t<decltype(l)>::Scalar;
      const optim::AdamHyper<T> h{static_cast<T>(wd),        T(1),
                                  static_cast<T>(1 - beta1), static_cast<T>(beta2),
                                  static_cast<T>(1 - beta2), static_cast<T>(eps),
                                  false,                     false};
      CONVNET_KERNEL(dev, lamb_direction, <T>)(h, l);
    });
    const std::vector<double> pn = adapt ? l2_norms(ps, "LAMB") : std::vector<double>(),
                              un = adapt ? l2_norms(us, "LAMB") : std::vector<double>();
    TensorLists steps(2, 1);
    for (size_t i = 0; i < ps.size(); ++i) {
      const double ratio = adapt && pn[i] > 0 && un[i] > 0 ? pn[i] / un[i] : 1.0;
      steps.add({ps[i], us[i]}, {-lr * ratio});
    }
    steps.for_each("LAMB", [&]([[maybe_unused]] Device dev, const auto& l) {
      using T = typename std::decay_t<decltype(l)>::Scalar;
      CONVNET_KERNEL(dev, lamb_update, <T>)(l);
    });
  }
}

}  // namespace convnet::optim
