// Adam and AdamW: the update rules of torch.optim.Adam and torch.optim.AdamW
// (AdamW is Adam with decoupled weight decay and weight_decay 0.01 by default).
#pragma once
#include "convnet/optim/optimizer.h"

namespace convnet::optim {

class Adam : public Optimizer {
 public:
  Adam(std::vector<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
       double eps = 1e-8, double weight_decay = 0, bool amsgrad = false, bool maximize = false,
       bool decoupled_weight_decay = false);
  void step() override;

 protected:
  Adam(const char* name, std::vector<ParamGroup> groups, double lr, double beta1, double beta2,
       double eps, double weight_decay, bool amsgrad, bool maximize, bool decoupled_weight_decay);
};

class AdamW : public Adam {
 public:
  AdamW(std::vector<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weight_decay = 1e-2, bool amsgrad = false, bool maximize = false);
};

}  // namespace convnet::optim
