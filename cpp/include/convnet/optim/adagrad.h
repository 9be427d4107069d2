// Adagrad with PyTorch's update rule (torch.optim.Adagrad), including its
// learning-rate decay and initial accumulator value.
#pragma once
#include "convnet/optim/optimizer.h"

namespace convnet::optim {

class Adagrad : public Optimizer {
 public:
  // As PyTorch's, the state of every parameter is created here (not at its first step).
  Adagrad(std::vector<ParamGroup> groups, double lr = 1e-2, double lr_decay = 0,
          double weight_decay = 0, double initial_accumulator_value = 0, double eps = 1e-10,
          bool maximize = false);
  void step() override;

 private:
  // "step" at 0 and "sum" at the group's initial_accumulator_value, where absent.
  void init_state(const ParamGroup& group, const Tensor& p);
};

}  // namespace convnet::optim
