// LAMB, layer-wise adaptive moments (You et al. 2019, "Large Batch Optimization for Deep
// Learning"): Adam's direction with a per-tensor trust ratio; a parameter group with
// layer_adaptation 0 takes the unscaled step.
#pragma once
#include "convnet/optim/optimizer.h"

namespace convnet::optim {

// Adam's bias-corrected direction u = m_hat / (sqrt(v_hat) + eps) + weight_decay * w, each
// tensor stepped by lr * |w| / |u| * u (lr * u where |w| or |u| is 0), as in the paper's
// algorithm 2 with phi the identity.
class LAMB : public Optimizer {
 public:
  LAMB(std::vector<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
       double eps = 1e-6, double weight_decay = 0, bool layer_adaptation = true);
  void step() override;
};

}  // namespace convnet::optim
