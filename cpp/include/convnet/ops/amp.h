// Mixed-precision training support: the unscaling step of a gradient scaler
// (python/convnet/amp.py's GradScaler; PyTorch's _amp_foreach_non_finite_check_and_unscale_).
#pragma once
#include <vector>

#include "convnet/tensor.h"

namespace convnet {

// Multiplies every gradient in place by inv_scale (outside autograd) and sets found_inf, a
// one-element float32 tensor on the gradients' device, to 1 when any gradient held an inf
// or a NaN before the multiplication (else leaves it as it was). Gradients are float32 or
// float64; no host synchronization.
void amp_unscale_(const std::vector<Tensor>& grads, double inv_scale, const Tensor& found_inf);

}  // namespace convnet
