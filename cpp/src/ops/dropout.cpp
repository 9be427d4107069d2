// Dropout, x and y of the same shape. The mask (0 or 1/(1-p) per element) is
// drawn serially from the global generator on the host, on every device (a GPU's
// draws are copied to it), and saved for backward: dx = dy * mask. Autograd
// accumulates (+=) the gradient into .grad.
#include "convnet/ops/dropout.h"

#include "convnet/autograd.h"
#include "convnet/ops/elementwise.h"
#include "convnet/random.h"
#include "dispatch.h"

namespace convnet {

Tensor dropout(const Tensor& x, double p, bool training) {
  if (!x.is_contiguous()) return dropout(x.contiguous(), p, training);
  CONVNET_CHECK(p >= 0 && p <= 1, "dropout: probability has to be between 0 and 1, but got ", p);
  if (!training || p == 0) return x;
  CONVNET_CHECK(is_floating(x.dtype()), "dropout: expected a floating point input, got ",
                dtype_name(x.dtype()));
  const Device dev = common_device("dropout", {&x});
  Tensor mask = rand(x.shape(), x.dtype());
  if (!dev.is_cpu()) mask = mask.pin_memory().to(dev, /*non_blocking=*/true);
  dispatch_floating(x.dtype(), "dropout", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    CONVNET_KERNEL(dev, dropout_mask, <T>)(mask.numel(), p, mask.data<T>());
  });
  return mul(x, mask);
}

Tensor feature_dropout(const Tensor& x, double p, bool training) {
  CONVNET_CHECK(p >= 0 && p <= 1, "dropout2d: probability has to be between 0 and 1, but got ", p);
  CONVNET_CHECK(x.dim() >= 2, "dropout2d: expected an input of 2 or more dimensions (N, C, *), got shape ",
                shape_str(x.shape()));
  if (!training || p == 0) return x;
  // one draw per (n, c): dropout of a (N,C,1,...) tensor of ones, broadcast over the positions
  Shape s(x.dim(), 1);
  s[0] = x.size(0);
  s[1] = x.size(1);
  return mul(x, dropout(ones(s, x.dtype(), x.device()), p, true));
}

Tensor dropout2d(const Tensor& x, double p, bool training) {
  if (x.dim() != 3) return feature_dropout(x, p, training);
  // an unbatched (C,H,W) input: one draw per channel
  return feature_dropout(x.reshape({1, x.size(0), x.size(1), x.size(2)}), p, training).reshape(x.shape());
}

}  // namespace convnet
