// Adadelta with PyTorch's update rule (torch.optim.Adadelta).
#pragma once
#include "convnet/optim/optimizer.h"

namespace convnet::optim {

// Adadelta (Zeiler 2012), with PyTorch's learning rate that scales the update.
class Adadelta : public Optimizer {
 public:
  Adadelta(std::vector<ParamGroup> groups, double lr = 1.0, double rho = 0.9, double eps = 1e-6,
           double weight_decay = 0, bool maximize = false);
  void step() override;
};

}  // namespace convnet::optim
