// Stochastic gradient descent with momentum, dampening, weight decay and
// Nesterov momentum; the same update rule as torch.optim.SGD.
#pragma once
#include "convnet/optim/optimizer.h"

namespace convnet::optim {

class SGD : public Optimizer {
 public:
  SGD(std::vector<ParamGroup> groups, double lr, double momentum = 0, double dampening = 0,
      double weight_decay = 0, bool nesterov = false, bool maximize = false);
  void step() override;
};

}  // namespace convnet::optim
