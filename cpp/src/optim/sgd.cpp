// SGD update, per parameter p with gradient g (same shape):
//   g = -g (maximize)
//   g += weight_decay * p
//   buf = g (first step) or momentum * buf + (1 - dampening) * g
//   g = g + momentum * buf (Nesterov) or buf
//   p -= lr * g
// State: "momentum_buffer" when momentum is nonzero.
#include "convnet/optim/sgd.h"

#include "cpu/parallel.h"

namespace convnet::optim {

SGD::SGD(std::vector<ParamGroup> groups, double lr, double momentum, double dampening,
         double weight_decay, bool nesterov, bool maximize)
    : Optimizer("SGD",
                {{"lr", lr}, {"momentum", momentum}, {"dampening", dampening},
                 {"weight_decay", weight_decay}, {"nesterov", double(nesterov)},
                 {"maximize", double(maximize)}},
                {"momentum_buffer"}) {
  CONVNET_CHECK(lr >= 0, "SGD: invalid learning rate: ", lr);
  CONVNET_CHECK(momentum >= 0, "SGD: invalid momentum value: ", momentum);
  CONVNET_CHECK(weight_decay >= 0, "SGD: invalid weight_decay value: ", weight_decay);
  CONVNET_CHECK(!nesterov || (momentum > 0 && dampening == 0),
                "SGD: Nesterov momentum requires a momentum and zero dampening");
  add_param_groups(std::move(groups));
}

void SGD::step() {
  for (auto& group : groups_) {
    const double lr = group.get("lr"), mom = group.get("momentum"), damp = group.get("dampening"),
                 wd = group.get("weight_decay");
    const bool nesterov = group.get("nesterov") != 0, maximize = group.get("maximize") != 0;
    for (auto& p : group.params) {
      Tensor g = p.grad();
      if (!g.defined()) continue;
      ParamState& st = state(p);
      const bool first = mom != 0 && !st.count("momentum_buffer");
      Tensor buf = mom != 0 ? entry(st, "momentum_buffer", p, 0) : Tensor();
      dispatch_floating(p.dtype(), "SGD", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        T* pp = p.data<T>();
        const T* pg = g.data<T>();
        T* pb = buf.defined() ? buf.data<T>() : nullptr;
        const T tlr = static_cast<T>(lr), twd = static_cast<T>(wd), tm = static_cast<T>(mom),
                td = static_cast<T>(1 - damp);
        cpu::parallel_for(p.numel(), cpu::kGrainSize, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) {
            T d = maximize ? -pg[i] : pg[i];
            if (wd != 0) d += twd * pp[i];
            if (pb) {
              pb[i] = first ? d : tm * pb[i] + td * d;
              d = nesterov ? d + tm * pb[i] : pb[i];
            }
            pp[i] -= tlr * d;
          }
        });
      });
    }
  }
}

}  // namespace convnet::optim
