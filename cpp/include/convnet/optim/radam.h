// RAdam with PyTorch's update rule (torch.optim.RAdam), decoupled weight decay included.
#pragma once
#include "convnet/optim/optimizer.h"

namespace convnet::optim {

// Adam with the variance rectification of Liu et al. 2019 (plain momentum SGD while the
// approximated SMA length rho_t is at most 5).
class RAdam : public Optimizer {
 public:
  RAdam(std::vector<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weight_decay = 0, bool decoupled_weight_decay = false,
        bool maximize = false);
  void step() override;
};

}  // namespace convnet::optim
