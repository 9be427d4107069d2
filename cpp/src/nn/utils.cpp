// Gradient clipping, the L1 penalty and the max-norm constraint, on the tensors'
// devices. Clipping runs the multi-tensor kernels of clip_grad.cpp/.cu (one call per
// device and dtype; norms do not depend on the thread count); the others are built
// from ops.
#include "convnet/nn/utils.h"

#include <algorithm>
#include <cmath>

#include "convnet/autograd.h"
#include "convnet/ops/elementwise.h"
#include "convnet/ops/reduce.h"
#include "convnet/ops/view.h"
#include "dispatch.h"
#include "tensor_lists.h"

namespace convnet::nn::utils {

namespace {

// The defined gradients of params.
std::vector<Tensor> grads_of(const std::vector<Tensor>& params) {
  std::vector<Tensor> grads;
  for (auto& p : params)
    if (p.defined() && p.grad().defined()) grads.push_back(p.grad());
  return grads;
}

// The gradients as one-operand tensor lists (grouped by device and dtype).
TensorLists list_of(const std::vector<Tensor>& grads) {
  TensorLists lists(1);
  for (auto& g : grads) lists.add({g});
  return lists;
}

}  // namespace

Tensor clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
  std::vector<Tensor> grads = grads_of(params);
  if (grads.empty()) return scalar_tensor(0, DType::Float32);
  DType out = DType::Float32;
  for (auto& g : grads) {
    CONVNET_CHECK(is_floating(g.dtype()), "clip_grad_norm_: expected float32 or float64 gradients, got ",
                  dtype_name(g.dtype()));
    if (g.dtype() == DType::Float64) out = DType::Float64;
  }
  const optim::NormOrder order = optim::norm_order(norm_type);
  const TensorLists lists = list_of(grads);
  // each gradient's norm, rounded to its dtype as PyTorch's per-tensor norms are; read
  // back to the host (the one wait for the device)
  std::vector<Tensor> norms;
  lists.for_each("clip_grad_norm_", [&](Device dev, const auto& l) {
    Tensor n = Tensor::empty({l.count}, DType::Float64, dev);
    using T = typename std::decay_t<decltype(l)>::Scalar;
    CONVNET_KERNEL(dev, grad_norms, <T>)(order, l, n.data<double>());
    norms.push_back(n);
  });
  Tensor all = Tensor::empty({static_cast<int64_t>(grads.size())}, DType::Float64);
  int64_t at = 0;
  for (auto& n : norms) {
    copy_bytes(all.data<double>() + at, Device(), n.raw_data(), n.device(), n.nbytes());
    at += n.numel();
  }
  double total = 0;
  list_of({narrow(all, 0, 0, at)}).for_each("clip_grad_norm_", [&](Device, const auto& l) {
    cpu::grad_norms_cpu(order, l, &total);
  });
  if (error_if_nonfinite && !std::isfinite(total))
    throw Error(cat_str(
        "clip_grad_norm_: the total norm of order ", norm_type,
        " for gradients from `parameters` is non-finite, so it cannot be clipped. To disable this "
        "error and scale the gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"));
  Tensor result = scalar_tensor(total, out, grads[0].device());
  // max_norm / (total + 1e-6), clamped to 1, in the total's dtype as PyTorch computes it
  double coef;
  dispatch_floating(out, "clip_grad_norm_", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T c = T(1) / (static_cast<T>(total) + static_cast<T>(1e-6)) * static_cast<T>(max_norm);
    coef = std::min(c, T(1));
  });
  if (coef != 1)
    lists.for_each("clip_grad_norm_", [&]([[maybe_unused]] Device dev, const auto& l) {
      using T = typename std::decay_t<decltype(l)>::Scalar;
      CONVNET_KERNEL(dev, grad_scale, <T>)(l, static_cast<T>(coef));
    });
  return result;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  const TensorLists lists = list_of(grads_of(params));
  lists.for_each("clip_grad_value_", [&]([[maybe_unused]] Device dev, const auto& l) {
    using T = typename std::decay_t<decltype(l)>::Scalar;
    CONVNET_KERNEL(dev, grad_clamp, <T>)(l, static_cast<T>(-clip_value), static_cast<T>(clip_value));
  });
}

Tensor l1_penalty(const std::vector<Tensor>& params) {
  if (params.empty()) return scalar_tensor(0, DType::Float32);
  Tensor total;
  for (auto& p : params) {
    CONVNET_CHECK(p.defined() && is_floating(p.dtype()),
                  "l1_penalty: parameters must be floating point tensors");
    CONVNET_CHECK(p.dtype() == params[0].dtype(), "l1_penalty: parameters must share one dtype, got ",
                  dtype_name(params[0].dtype()), " and ", dtype_name(p.dtype()));
    Tensor s = sum(abs(p));
    total = total.defined() ? add(total, s) : s;
  }
  return total;
}

void max_norm_(const Tensor& weight, double max_norm, int64_t dim) {
  CONVNET_CHECK(weight.defined() && is_floating(weight.dtype()),
                "max_norm_: the weight must be a floating point tensor");
  CONVNET_CHECK(weight.dim() >= 2,
                "max_norm_: the weight needs at least 2 dimensions (one norm per slice along dim), "
                "got shape ", shape_str(weight.shape()));
  CONVNET_CHECK(dim >= -weight.dim() && dim < weight.dim(), "max_norm_: dim ", dim,
                " is out of range for a weight of shape ", shape_str(weight.shape()));
  CONVNET_CHECK(max_norm >= 0, "max_norm_: max_norm must be >= 0, got ", max_norm);
  if (dim < 0) dim += weight.dim();
  // weight viewed as (outer, n, inner); slice i is weight[:, i, :]
  const Shape& s = weight.shape();
  const int64_t n = s[dim], inner = numel_of(Shape(s.begin() + dim + 1, s.end())),
                outer = weight.numel() / std::max<int64_t>(1, n * inner);
  NoGradGuard no_grad;
  const Tensor w = weight.reshape({outer, n, inner});
  // the slices' norms, accumulated in float64, rounded to the weight's dtype, on the host
  const Tensor w64 = w.to(DType::Float64);
  const Tensor norms = sqrt(sum(mul(w64, w64), {0, 2})).to(weight.dtype()).to(Device());
  Tensor factors = Tensor::empty({1, n, 1}, weight.dtype());
  dispatch_floating(weight.dtype(), "max_norm_", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T c = static_cast<T>(max_norm), eps = static_cast<T>(1e-7);
    const T* nm = norms.data<T>();
    T* f = factors.data<T>();
    for (int64_t i = 0; i < n; ++i) f[i] = nm[i] > c ? c / (nm[i] + eps) : T(1);
  });
  const Tensor scaled = mul(w, factors.to(weight.device()));
  copy_bytes(weight.raw_data(), weight.device(), scaled.raw_data(), scaled.device(), weight.nbytes());
}

}  // namespace convnet::nn::utils
