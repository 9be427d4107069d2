// Per-tensor L2 norms for the layer-wise optimizers (LARS, LAMB).
#pragma once
#include <vector>

#include "convnet/tensor.h"

namespace convnet::optim {

// The L2 norm of each tensor of ts (0 for an empty one), rounded to its dtype, from the
// multi-tensor norm kernel of clip_grad.cpp/.cu: one kernel call and one read-back per
// device and dtype. `op` names the caller in errors.
std::vector<double> l2_norms(const std::vector<Tensor>& ts, const char* op);

}  // namespace convnet::optim
