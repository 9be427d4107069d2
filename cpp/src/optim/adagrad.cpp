// Adagrad update, per parameter p with gradient g (same shape), step t counted from 1:
//   g = -g (maximize);  g += weight_decay * p
//   sum += g * g
//   p -= lr / (1 + (t - 1) * lr_decay) * g / (sqrt(sum) + eps)
// State: "step", "sum" (starting at initial_accumulator_value).
#include "convnet/optim/adagrad.h"

#include <cmath>

#include "cpu/parallel.h"

namespace convnet::optim {

Adagrad::Adagrad(std::vector<ParamGroup> groups, double lr, double lr_decay, double weight_decay,
                 double initial_accumulator_value, double eps, bool maximize)
    : Optimizer("Adagrad",
                {{"lr", lr}, {"lr_decay", lr_decay}, {"eps", eps}, {"weight_decay", weight_decay},
                 {"initial_accumulator_value", initial_accumulator_value},
                 {"maximize", double(maximize)}},
                {"step", "sum"}) {
  CONVNET_CHECK(lr >= 0, "Adagrad: invalid learning rate: ", lr);
  CONVNET_CHECK(lr_decay >= 0, "Adagrad: invalid lr_decay value: ", lr_decay);
  CONVNET_CHECK(weight_decay >= 0, "Adagrad: invalid weight_decay value: ", weight_decay);
  CONVNET_CHECK(initial_accumulator_value >= 0, "Adagrad: invalid initial_accumulator_value value: ",
                initial_accumulator_value);
  CONVNET_CHECK(eps >= 0, "Adagrad: invalid epsilon value: ", eps);
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
    for (auto& p : group.params) {
      Tensor g = p.grad();
      if (!g.defined()) continue;
      init_state(group, p);
      ParamState& st = state(p);
      const double t = count_step(st);
      Tensor sum = st.at("sum");
      const double clr = lr / (1 + (t - 1) * lr_decay);
      dispatch_floating(p.dtype(), "Adagrad", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        T* pp = p.data<T>();
        const T* pg = g.data<T>();
        T* psum = sum.data<T>();
        const T neg_clr = static_cast<T>(-clr), teps = static_cast<T>(eps), twd = static_cast<T>(wd);
        cpu::parallel_for(p.numel(), cpu::kGrainSize, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) {
            T d = maximize ? -pg[i] : pg[i];
            if (wd != 0) d += twd * pp[i];
            psum[i] += d * d;
            pp[i] += neg_clr * d / (std::sqrt(psum[i]) + teps);
          }
        });
      });
    }
  }
}

}  // namespace convnet::optim
