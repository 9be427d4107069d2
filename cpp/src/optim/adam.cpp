// Adam update, per parameter p with gradient g (same shape), step t counted from 1:
//   g = -g (maximize)
//   p *= 1 - lr * weight_decay (decoupled, AdamW) or g += weight_decay * p
//   m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
//   vmax = max(vmax, v) and v = vmax (amsgrad)
//   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// State: "step", "exp_avg" (m), "exp_avg_sq" (v), "max_exp_avg_sq" (vmax, amsgrad).
#include "convnet/optim/adam.h"

#include <cmath>

#include "cpu/parallel.h"
#include "update.h"

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
    for (auto& p : group.params) {
      Tensor g = p.grad();
      if (!g.defined()) continue;
      ParamState& st = state(p);
      const double t = count_step(st);
      Tensor m = entry(st, "exp_avg", p, 0), v = entry(st, "exp_avg_sq", p, 0);
      Tensor vmax = amsgrad ? entry(st, "max_exp_avg_sq", p, 0) : Tensor();
      const double step_size = lr / (1 - std::pow(beta1, t));
      const double bias2_sqrt = std::sqrt(1 - std::pow(beta2, t));
      dispatch_floating(p.dtype(), name().c_str(), [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        T* pp = p.data<T>();
        const T* pg = g.data<T>();
        T *pm = m.data<T>(), *pv = v.data<T>(), *pvmax = vmax.defined() ? vmax.data<T>() : nullptr;
        const T twd = static_cast<T>(wd), decay = static_cast<T>(1 - lr * wd),
                w1 = static_cast<T>(1 - beta1), b2 = static_cast<T>(beta2),
                w2 = static_cast<T>(1 - beta2), tb2 = static_cast<T>(bias2_sqrt),
                teps = static_cast<T>(eps), neg_step = static_cast<T>(-step_size);
        cpu::parallel_for(p.numel(), cpu::kGrainSize, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) {
            T d = maximize ? -pg[i] : pg[i];
            if (wd != 0) {
              if (decoupled)
                pp[i] *= decay;
              else
                d += twd * pp[i];
            }
            pm[i] = lerp(pm[i], d, w1);
            pv[i] = pv[i] * b2 + w2 * d * d;
            T vi = pv[i];
            if (pvmax) vi = pvmax[i] = std::max(pvmax[i], vi);
            pp[i] += neg_step * pm[i] / (std::sqrt(vi) / tb2 + teps);
          }
        });
      });
    }
  }
}

}  // namespace convnet::optim
