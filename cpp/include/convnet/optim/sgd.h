// Stochastic gradient descent with momentum, dampening, weight decay and
// Nesterov momentum; the same update rule as torch.optim.SGD.
#pragma once
#include <unordered_map>

#include "convnet/optim/optimizer.h"

namespace convnet::optim {

class SGD : public Optimizer {
 public:
  SGD(std::vector<ParamGroup> groups, double lr, double momentum = 0, double dampening = 0,
      double weight_decay = 0, bool nesterov = false);
  void step() override;

 private:
  std::unordered_map<TensorImpl*, Tensor> momentum_buffers_;
};

}  // namespace convnet::optim
