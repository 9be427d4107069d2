// LARS, layer-wise adaptive rate scaling (You et al. 2017, "Large Batch Training of
// Convolutional Networks"): each parameter tensor's step is scaled by a trust ratio of its
// own norms; a parameter group with layer_adaptation 0 (biases and norm layers, by
// convention) takes the unscaled step.
#pragma once
#include "convnet/optim/optimizer.h"

namespace convnet::optim {

// SGD with momentum whose rate for a tensor w with gradient g is
// lr * trust_coefficient * |w| / (|g| + weight_decay * |w| + eps) (lr where |w| or |g| is 0);
// the momentum buffer accumulates lr-scaled steps (v = momentum v + lr local_lr (g + wd w),
// w -= v), as in the paper's algorithm 1.
class LARS : public Optimizer {
 public:
  LARS(std::vector<ParamGroup> groups, double lr = 1e-3, double momentum = 0.9, double weight_decay = 0,
       double trust_coefficient = 1e-3, double eps = 1e-8, bool layer_adaptation = true);
  void step() override;
};

}  // namespace convnet::optim
