// SGD update, per parameter p with gradient g (same shape):
//   g += weight_decay * p
//   buf = g (first step) or momentum * buf + (1 - dampening) * g
//   g = g + momentum * buf (Nesterov) or buf
//   p -= lr * g
#include "convnet/optim/sgd.h"

#include "cpu/parallel.h"

namespace convnet::optim {

SGD::SGD(std::vector<ParamGroup> groups, double lr, double momentum, double dampening,
         double weight_decay, bool nesterov)
    : Optimizer({{"lr", lr}, {"momentum", momentum}, {"dampening", dampening},
                 {"weight_decay", weight_decay}, {"nesterov", nesterov ? 1.0 : 0.0}}) {
  CONVNET_CHECK(lr >= 0, "SGD: invalid learning rate: ", lr);
  CONVNET_CHECK(momentum >= 0, "SGD: invalid momentum value: ", momentum);
  CONVNET_CHECK(weight_decay >= 0, "SGD: invalid weight_decay value: ", weight_decay);
  CONVNET_CHECK(!nesterov || (momentum > 0 && dampening == 0),
                "SGD: Nesterov momentum requires a momentum and zero dampening");
  CONVNET_CHECK(!groups.empty(), "SGD: optimizer got an empty parameter list");
  for (auto& g : groups) add_param_group(std::move(g));
}

void SGD::step() {
  for (auto& group : groups_) {
    const double lr = group.get("lr"), mom = group.get("momentum"), damp = group.get("dampening"),
                 wd = group.get("weight_decay");
    const bool nesterov = group.get("nesterov") != 0;
    for (auto& p : group.params) {
      Tensor g = p.grad();
      if (!g.defined()) continue;
      Tensor buf;
      bool first = false;
      if (mom != 0) {
        auto it = momentum_buffers_.find(p.impl().get());
        if (it == momentum_buffers_.end()) {
          buf = Tensor::empty(p.shape(), p.dtype());
          momentum_buffers_.emplace(p.impl().get(), buf);
          first = true;
        } else {
          buf = it->second;
        }
      }
      dispatch_floating(p.dtype(), "SGD", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        T* pp = p.data<T>();
        const T* pg = g.data<T>();
        T* pb = buf.defined() ? buf.data<T>() : nullptr;
        const T tlr = static_cast<T>(lr), twd = static_cast<T>(wd), tm = static_cast<T>(mom),
                td = static_cast<T>(1 - damp);
        cpu::parallel_for(p.numel(), cpu::kGrainSize, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) {
            T d = pg[i];
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
