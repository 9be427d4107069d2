// NAdam with PyTorch's update rule (torch.optim.NAdam), decoupled weight decay included.
#pragma once
#include "convnet/optim/optimizer.h"

namespace convnet::optim {

// Adam with Nesterov momentum (Dozat 2016) and PyTorch's momentum decay schedule
// mu_t = beta1 (1 - 0.5 * 0.96^(t * momentum_decay)).
class NAdam : public Optimizer {
 public:
  NAdam(std::vector<ParamGroup> groups, double lr = 2e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weight_decay = 0, double momentum_decay = 4e-3,
        bool decoupled_weight_decay = false, bool maximize = false);
  void step() override;
};

}  // namespace convnet::optim
