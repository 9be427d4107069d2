// RMSprop update, per parameter p with gradient g (same shape):
//   g = -g (maximize);  g += weight_decay * p
//   s = alpha * s + (1 - alpha) * g * g
//   avg = sqrt(s - a * a) + eps with a = lerp(a, g, 1 - alpha) (centered), else sqrt(s) + eps
//   buf = momentum * buf + g / avg and p -= lr * buf (momentum > 0), else p -= lr * g / avg
// State: "step", "square_avg" (s), "momentum_buffer" (momentum > 0), "grad_avg" (a, centered).
#include "convnet/optim/rmsprop.h"

#include <cmath>

#include "cpu/parallel.h"
#include "update.h"

namespace convnet::optim {

RMSprop::RMSprop(std::vector<ParamGroup> groups, double lr, double alpha, double eps,
                 double weight_decay, double momentum, bool centered, bool maximize)
    : Optimizer("RMSprop",
                {{"lr", lr}, {"alpha", alpha}, {"eps", eps}, {"weight_decay", weight_decay},
                 {"momentum", momentum}, {"centered", double(centered)}, {"maximize", double(maximize)}},
                {"step", "square_avg", "momentum_buffer", "grad_avg"}) {
  CONVNET_CHECK(lr >= 0, "RMSprop: invalid learning rate: ", lr);
  CONVNET_CHECK(eps >= 0, "RMSprop: invalid epsilon value: ", eps);
  CONVNET_CHECK(momentum >= 0, "RMSprop: invalid momentum value: ", momentum);
  CONVNET_CHECK(weight_decay >= 0, "RMSprop: invalid weight_decay value: ", weight_decay);
  CONVNET_CHECK(alpha >= 0, "RMSprop: invalid alpha value: ", alpha);
  add_param_groups(std::move(groups));
}

void RMSprop::step() {
  for (auto& group : groups_) {
    const double lr = group.get("lr"), alpha = group.get("alpha"), eps = group.get("eps"),
                 wd = group.get("weight_decay"), mom = group.get("momentum");
    const bool centered = group.get("centered") != 0, maximize = group.get("maximize") != 0;
    for (auto& p : group.params) {
      Tensor g = p.grad();
      if (!g.defined()) continue;
      ParamState& st = state(p);
      count_step(st);
      Tensor s = entry(st, "square_avg", p, 0);
      Tensor buf = mom > 0 ? entry(st, "momentum_buffer", p, 0) : Tensor();
      Tensor a = centered ? entry(st, "grad_avg", p, 0) : Tensor();
      dispatch_floating(p.dtype(), "RMSprop", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        T* pp = p.data<T>();
        const T* pg = g.data<T>();
        T* ps = s.data<T>();
        T* pbuf = buf.defined() ? buf.data<T>() : nullptr;
        T* pa = a.defined() ? a.data<T>() : nullptr;
        const T tlr = static_cast<T>(lr), talpha = static_cast<T>(alpha),
                w = static_cast<T>(1 - alpha), teps = static_cast<T>(eps), twd = static_cast<T>(wd),
                tm = static_cast<T>(mom);
        cpu::parallel_for(p.numel(), cpu::kGrainSize, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) {
            T d = maximize ? -pg[i] : pg[i];
            if (wd != 0) d += twd * pp[i];
            ps[i] = ps[i] * talpha + w * d * d;
            T avg;
            if (pa) {
              pa[i] = lerp(pa[i], d, w);
              avg = std::sqrt(ps[i] - pa[i] * pa[i]);
            } else {
              avg = std::sqrt(ps[i]);
            }
            avg += teps;
            if (pbuf) {
              pbuf[i] = pbuf[i] * tm + d / avg;
              pp[i] -= tlr * pbuf[i];
            } else {
              pp[i] -= tlr * d / avg;
            }
          }
        });
      });
    }
  }
}

}  // namespace convnet::optim
