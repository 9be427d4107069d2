// layer_norm, group_norm, instance_norm: x viewed as M rows of K elements (M samples times
// groups, K = the elements one mean and variance cover), normalized by the one row kernel
// (cpu/layer_norm.cpp); the per-element (layer_norm) or per-channel (group_norm,
// instance_norm) affine transform is broadcasting mul and add. Backward saves the
// normalized output and rstd (M); autograd accumulates (+=) the returned gradients into .grad.
#include "convnet/ops/layer_norm.h"

#include "convnet/autograd.h"
#include "convnet/ops/elementwise.h"
#include "dispatch.h"

namespace convnet {

namespace {

// x as (M,K) rows → the normalized rows, in x's shape.
Tensor normalize_rows(const Tensor& x, int64_t M, int64_t K, double eps, const char* op) {
  CONVNET_CHECK(is_floating(x.dtype()), op, ": expected a float32 or float64 input, got ", dtype_name(x.dtype()),
                "; input shape ", shape_str(x.shape()));
  CONVNET_CHECK(eps >= 0, op, ": eps must be non-negative, got ", eps);
  const Device dev = common_device(op, {&x});
  Tensor y = Tensor::empty(x.shape(), x.dtype(), dev), mean = Tensor::empty({M}, x.dtype(), dev),
         rstd = Tensor::empty({M}, x.dtype(), dev);
  dispatch_floating(x.dtype(), op, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    CONVNET_KERNEL(dev, layer_norm_forward, <T>)(M, K, eps, x.data<T>(), y.data<T>(), mean.data<T>(), rstd.data<T>());
  });
  if (autograd::needs_record({x})) {
    autograd::record(y, op, {x}, [saved = y.detach(), rstd, M, K, op](const Tensor& dy, const std::vector<bool>&) {
      const Device dev = common_device(op, {&saved, &dy});
      Tensor dx = Tensor::empty(saved.shape(), saved.dtype(), dev);
      dispatch_floating(dy.dtype(), op, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        CONVNET_KERNEL(dev, layer_norm_backward, <T>)(M, K, saved.data<T>(), rstd.data<T>(), dy.data<T>(), dx.data<T>());
      });
      return std::vector<Tensor>{dx};
    });
  }
  return y;
}

// y * weight + bias, either undefined, each already shaped to broadcast against y.
Tensor affine(Tensor y, const Tensor& weight, const Tensor& bias) {
  if (weight.defined()) y = mul(y, weight);
  if (bias.defined()) y = add(y, bias);
  return y;
}

// weight or bias (C), if defined, checked and shaped (1,C,1,...) for an input of x.dim() dims.
Tensor per_channel(const Tensor& p, const Tensor& x, const char* op, const char* what) {
  if (!p.defined()) return p;
  CONVNET_CHECK(p.dim() == 1 && p.size(0) == x.size(1), op, ": expected ", what, " of shape (", x.size(1),
                ",) for an input of ", x.size(1), " channels, got ", what, " shape ", shape_str(p.shape()),
                "; input shape ", shape_str(x.shape()));
  Shape s(x.dim(), 1);
  s[1] = x.size(1);
  return p.reshape(s);
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  const int64_t d = static_cast<int64_t>(normalized_shape.size());
  CONVNET_CHECK(d >= 1, "layer_norm: normalized_shape must have at least one dimension");
  bool match = x.dim() >= d;
  for (int64_t i = 0; match && i < d; ++i) match = x.size(x.dim() - d + i) == normalized_shape[i];
  CONVNET_CHECK(match, "layer_norm: expected an input whose shape ends with normalized_shape ",
                shape_str(normalized_shape), ", got input shape ", shape_str(x.shape()));
  for (const Tensor* p : {&weight, &bias})
    CONVNET_CHECK(!p->defined() || p->shape() == normalized_shape, "layer_norm: expected ",
                  p == &weight ? "weight" : "bias", " of shape ", shape_str(normalized_shape), ", got ",
                  shape_str(p->shape()));
  const int64_t K = numel_of(normalized_shape);
  const int64_t M = K == 0 ? 0 : x.numel() / K;
  return affine(normalize_rows(x, M, K, eps, "layer_norm"), weight, bias);
}

Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight, const Tensor& bias, double eps) {
  CONVNET_CHECK(x.dim() >= 2, "group_norm: expected an input of 2 or more dimensions (N, C, *), got shape ",
                shape_str(x.shape()));
  CONVNET_CHECK(num_groups > 0 && x.size(1) % num_groups == 0, "group_norm: expected the number of channels ",
                x.size(1), " to be divisible by num_groups=", num_groups, "; input shape ", shape_str(x.shape()));
  const int64_t M = x.size(0) * num_groups;
  const int64_t K = M == 0 ? 0 : x.numel() / M;
  return affine(normalize_rows(x, M, K, eps, "group_norm"), per_channel(weight, x, "group_norm", "weight"),
                per_channel(bias, x, "group_norm", "bias"));
}

Tensor instance_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  CONVNET_CHECK(x.dim() >= 3, "instance_norm: expected an input of 3 or more dimensions (N, C, *), got shape ",
                shape_str(x.shape()));
  const int64_t M = x.size(0) * x.size(1);
  const int64_t K = M == 0 ? 0 : x.numel() / M;
  CONVNET_CHECK(K > 1 || M == 0, "instance_norm: expected more than 1 spatial element when training, got input shape ",
                shape_str(x.shape()));
  return affine(normalize_rows(x, M, K, eps, "instance_norm"), per_channel(weight, x, "instance_norm", "weight"),
                per_channel(bias, x, "instance_norm", "bias"));
}

}  // namespace convnet
