// layer_norm, group_norm, instance_norm: x viewed as M rows of K elements (M samples times
// groups, K = the elements one mean and variance cover), normalized and scaled by the one
// row kernel (cpu/layer_norm.cpp), whose parameter p of element (m, k) is
// (m % G) * (K / S) + k / S: layer_norm G = 1, S = 1 (per element); group_norm G = groups,
// S = positions per channel (per channel); instance_norm G = C, S = K (per channel).
// Backward saves x, the mean and rstd (M) and the weight; autograd accumulates (+=) the
// returned gradients into .grad. When backward records (create_graph), the gradients are written
// with differentiable ops (normalize_rows_graph_backward), for double backward.
#include "convnet/ops/layer_norm.h"

#include "convnet/autograd.h"
#include "dispatch.h"
#include "ops/norm_backward.h"

namespace convnet {

namespace {

struct RowShape {
  int64_t M, K, G, S;
};

// The gradients of normalize_rows in differentiable ops of x, w and dy, for double backward
// (create_graph): x viewed as (M/G, G, K/S, S), normalized over its last two dimensions, the weight
// as (1, G, K/S, 1).
std::vector<Tensor> normalize_rows_graph_backward(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& dy,
                                                  const RowShape& r, double eps, const std::vector<bool>& need) {
  const Shape view{r.M / r.G, r.G, r.K / r.S, r.S}, per_param{1, r.G, r.K / r.S, 1};
  const Tensor dy4 = dy.reshape(view);
  const auto [xhat, istd] = standardize(x.reshape(view), {2, 3}, eps);
  Tensor dx, dw, db;
  if (need[0])
    dx = standardized_input_grad(w.defined() ? mul(dy4, w.reshape(per_param)) : dy4, xhat, istd, {2, 3})
             .reshape(x.shape());
  if (need[1] && w.defined()) dw = sum(mul(dy4, xhat), {0, 3}).reshape(w.shape());
  if (need[2] && b.defined()) db = sum(dy4, {0, 3}).reshape(b.shape());
  return {dx, dw, db};
}

// x as rows of `r` with the affine weight and bias (G*K/S elements, checked by the caller) or
// undefined → y in x's shape.
Tensor normalize_rows(const Tensor& x, const RowShape& r, const Tensor& w, const Tensor& b, double eps,
                      const char* op) {
  if (any_strided({&x, &w, &b})) return normalize_rows(x.contiguous(), r, w.contiguous(), b.contiguous(), eps, op);
  CONVNET_CHECK(is_floating(x.dtype()), op, ": expected a float32 or float64 input, got ", dtype_name(x.dtype()),
                "; input shape ", shape_str(x.shape()));
  for (const Tensor* p : {&w, &b})
    CONVNET_CHECK(!p->defined() || p->dtype() == x.dtype(), op, ": expected ", p == &w ? "weight" : "bias",
                  " of the input's dtype ", dtype_name(x.dtype()), ", got ", dtype_name(p->dtype()));
  CONVNET_CHECK(eps >= 0, op, ": eps must be non-negative, got ", eps);
  const Device dev = common_device(op, {&x, &w, &b});
  Tensor y = Tensor::empty(x.shape(), x.dtype(), dev), mean = Tensor::empty({r.M}, x.dtype(), dev),
         rstd = Tensor::empty({r.M}, x.dtype(), dev);
  if (x.numel() == 0) return y;
  auto ptr = [](const Tensor& t, auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    return t.defined() ? t.data<T>() : nullptr;
  };
  dispatch_floating(x.dtype(), op, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    CONVNET_KERNEL(dev, layer_norm_forward, <T>)(r.M, r.K, r.G, r.S, eps, x.data<T>(), ptr(w, tag), ptr(b, tag),
                                                 y.data<T>(), mean.data<T>(), rstd.data<T>());
  });
  if (autograd::needs_record({x, w, b})) {
    // b is read for its shape only
    autograd::record(y, op, {x, w, b}, [x, w, b = b.defined() ? b.detach() : Tensor(), mean, rstd, r, eps, op, ptr](
                                           const Tensor& dy, const std::vector<bool>& need) {
      if (autograd::grad_enabled()) return normalize_rows_graph_backward(x, w, b, dy, r, eps, need);
      const Device dev = common_device(op, {&x, &dy});
      Tensor dx, dw, db;
      if (need[0]) dx = Tensor::empty(x.shape(), x.dtype(), dev);
      if (need[1] && w.defined()) dw = Tensor::empty(w.shape(), x.dtype(), dev);
      if (need[2] && b.defined()) db = Tensor::empty(b.shape(), x.dtype(), dev);
      dispatch_floating(dy.dtype(), op, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        CONVNET_KERNEL(dev, layer_norm_backward, <T>)(r.M, r.K, r.G, r.S, x.data<T>(), mean.data<T>(),
                                                      rstd.data<T>(), ptr(w, tag), dy.data<T>(), ptr(dx, tag),
                                                      ptr(dw, tag), ptr(db, tag));
      });
      return std::vector<Tensor>{dx, dw, db};
    });
  }
  return y;
}

// weight or bias (C), if defined, checked against x (N,C,*).
void check_per_channel(const Tensor& p, const Tensor& x, const char* op, const char* what) {
  CONVNET_CHECK(!p.defined() || (p.dim() == 1 && p.size(0) == x.size(1)), op, ": expected ", what, " of shape (",
                x.size(1), ",) for an input of ", x.size(1), " channels, got ", what, " shape ",
                shape_str(p.defined() ? p.shape() : Shape{}), "; input shape ", shape_str(x.shape()));
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
  return normalize_rows(x, {K == 0 ? 0 : x.numel() / K, K, 1, 1}, weight, bias, eps, "layer_norm");
}

Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight, const Tensor& bias, double eps) {
  CONVNET_CHECK(x.dim() >= 2, "group_norm: expected an input of 2 or more dimensions (N, C, *), got shape ",
                shape_str(x.shape()));
  CONVNET_CHECK(num_groups > 0 && x.size(1) % num_groups == 0, "group_norm: expected the number of channels ",
                x.size(1), " to be divisible by num_groups=", num_groups, "; input shape ", shape_str(x.shape()));
  check_per_channel(weight, x, "group_norm", "weight");
  check_per_channel(bias, x, "group_norm", "bias");
  const int64_t M = x.size(0) * num_groups, K = M == 0 ? 0 : x.numel() / M;
  const int64_t S = x.size(1) == 0 ? 0 : K / (x.size(1) / num_groups);
  return normalize_rows(x, {M, K, num_groups, S}, weight, bias, eps, "group_norm");
}

Tensor instance_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  CONVNET_CHECK(x.dim() >= 3, "instance_norm: expected an input of 3 or more dimensions (N, C, *), got shape ",
                shape_str(x.shape()));
  const int64_t M = x.size(0) * x.size(1), K = M == 0 ? 0 : x.numel() / M;
  CONVNET_CHECK(K > 1 || M == 0, "instance_norm: expected more than 1 spatial element when training, got input shape ",
                shape_str(x.shape()));
  check_per_channel(weight, x, "instance_norm", "weight");
  check_per_channel(bias, x, "instance_norm", "bias");
  return normalize_rows(x, {M, K, x.size(1), K}, weight, bias, eps, "instance_norm");
}

}  // namespace convnet
