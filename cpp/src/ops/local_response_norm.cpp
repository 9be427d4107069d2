// local_response_norm: N batch, C channels, L positions per channel (the
// product of the dimensions after the channels). x (N,C,*), y (N,C,*).
// Backward saves x and the per-element scale k + alpha/size * (window sum of
// x^2) that forward computed; autograd accumulates (+=) the returned gradient
// into .grad. Backward has no differentiable form: a second backward through it raises.
#include "convnet/ops/local_response_norm.h"

#include "convnet/autograd.h"
#include "dispatch.h"

namespace convnet {

namespace {

struct LrnShape {
  int64_t N, C, L;
};

// The one check for local_response_norm: validates the input and returns the (N,C,L) view.
LrnShape local_response_norm_check(const Tensor& x, int64_t size) {
  CONVNET_CHECK(size > 0, "local_response_norm: size must be positive, got ", size);
  CONVNET_CHECK(x.dim() >= 3, "local_response_norm: expected an input of 3 or more dimensions (N, C, *), got shape ",
                shape_str(x.shape()));
  CONVNET_CHECK(is_floating(x.dtype()), "local_response_norm: expected a float32 or float64 input, got ",
                dtype_name(x.dtype()), "; input shape ", shape_str(x.shape()));
  LrnShape s{x.size(0), x.size(1), 1};
  for (int64_t d = 2; d < x.dim(); ++d) s.L *= x.size(d);
  return s;
}

}  // namespace

Tensor local_response_norm(const Tensor& x, int64_t size, double alpha, double beta, double k) {
  if (!x.is_contiguous()) return local_response_norm(x.contiguous(), size, alpha, beta, k);
  const LrnShape s = local_response_norm_check(x, size);
  const Device dev = common_device("local_response_norm", {&x});
  Tensor y = Tensor::empty(x.shape(), x.dtype(), dev), scale = Tensor::empty(x.shape(), x.dtype(), dev);
  dispatch_floating(x.dtype(), "local_response_norm", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    CONVNET_KERNEL(dev, local_response_norm_forward, <T>)(s.N, s.C, s.L, size, alpha, beta, k, x.data<T>(),
                                                          y.data<T>(), scale.data<T>());
  });
  if (autograd::needs_record({x})) {
    autograd::record(y, "local_response_norm", {x}, [x = x.detach(), scale, s, size, alpha, beta](
                                                        const Tensor& dy, const std::vector<bool>&) {
      const Device dev = common_device("local_response_norm", {&x, &dy});
      Tensor dx = Tensor::empty(x.shape(), x.dtype(), dev);
      dispatch_floating(dy.dtype(), "local_response_norm", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        CONVNET_KERNEL(dev, local_response_norm_backward, <T>)(s.N, s.C, s.L, size, alpha, beta, x.data<T>(),
                                                               scale.data<T>(), dy.data<T>(), dx.data<T>());
      });
      return autograd::once_differentiable({dx}, dy, "local_response_norm");
    });
  }
  return y;
}

}  // namespace convnet
