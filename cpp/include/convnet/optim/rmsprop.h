// RMSprop with PyTorch's update rule (torch.optim.RMSprop): optional momentum
// and the centered variant.
#pragma once
#include "convnet/optim/optimizer.h"

namespace convnet::optim {

class RMSprop : public Optimizer {
 public:
  RMSprop(std::vector<ParamGroup> groups, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8,
          double weight_decay = 0, double momentum = 0, bool centered = false, bool maximize = false);
  void step() override;
};

}  // namespace convnet::optim
