// Gradient unscaling for mixed-precision training (convnet/ops/amp.h): one kernel per
// gradient on its device, no autograd, no host synchronization.
#include "convnet/ops/amp.h"

#include "dispatch.h"

namespace convnet {

void amp_unscale_(const std::vector<Tensor>& grads, double inv_scale, const Tensor& found_inf) {
  CONVNET_CHECK(found_inf.defined() && found_inf.numel() == 1 && found_inf.dtype() == DType::Float32,
                "amp_unscale_: found_inf must be a one-element float32 tensor, got ",
                found_inf.defined()
                    ? cat_str(dtype_name(found_inf.dtype()), " of shape ", shape_str(found_inf.shape()))
                    : std::string("None"));
  for (const Tensor& g : grads) {
    CONVNET_CHECK(g.defined(), "amp_unscale_: a gradient is None");
    [[maybe_unused]] const Device dev = common_device("amp_unscale_", {&g, &found_inf});
    dispatch_floating(g.dtype(), "amp_unscale_", [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      CONVNET_KERNEL(dev, amp_unscale, <T>)(g.numel(), g.data<T>(), static_cast<T>(inv_scale),
                                            found_inf.data<float>());
    });
  }
}

}  // namespace convnet
