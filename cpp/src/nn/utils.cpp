// Gradient clipping, the L1 penalty and the max-norm constraint, on the tensors'
// devices. Norms are accumulated in double: on the CPU over fixed blocks added in
// order, so they do not depend on the thread count; on a GPU by the float64 ops.
#include "convnet/nn/utils.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "convnet/autograd.h"
#include "convnet/ops/elementwise.h"
#include "convnet/ops/reduce.h"
#include "cpu/elementwise.h"
#include "dispatch.h"
#include "pointwise.h"

namespace convnet::nn::utils {

namespace {

constexpr int64_t kBlock = 16384;  // elements per partial sum

// The vector norm of order p of x (n), as torch.linalg.vector_norm, in double.
template <typename T>
double vector_norm(const T* x, int64_t n, double p) {
  const double inf = std::numeric_limits<double>::infinity();
  const bool is_max = p == inf, is_min = p == -inf;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> part(blocks);
  cpu::parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      double acc = is_min ? inf : 0;
      for (int64_t i = b * kBlock, e = std::min(n, i + kBlock); i < e; ++i) {
        const double a = std::abs(static_cast<double>(x[i]));
        if (is_max)
          acc = std::max(acc, a);
        else if (is_min)
          acc = std::min(acc, a);
        else if (p == 0)
          acc += a != 0;
        else if (p == 1)
          acc += a;
        else if (p == 2)
          acc += a * a;
        else
          acc += std::pow(a, p);
      }
      part[b] = acc;
    }
  });
  double acc = is_min ? inf : 0;
  for (double v : part) acc = is_max ? std::max(acc, v) : is_min ? std::min(acc, v) : acc + v;
  if (is_max || is_min || p == 0 || p == 1) return acc;
  return p == 2 ? std::sqrt(acc) : std::pow(acc, 1 / p);
}

// The vector norm of order p of g's elements, in double: vector_norm on the CPU, the same
// norm from float64 ops on a GPU, read back as one number.
double tensor_norm(const Tensor& g, double p) {
  if (g.device().is_cpu()) {
    double v = 0;
    dispatch_floating(g.dtype(), "clip_grad_norm_", [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      v = vector_norm(g.data<T>(), g.numel(), p);
    });
    return v;
  }
  const double inf = std::numeric_limits<double>::infinity();
  if (g.numel() == 0) return p == -inf ? inf : 0;
  NoGradGuard no_grad;
  const Tensor a = abs(g.to(DType::Float64));
  if (p == inf) return max(a).item();
  if (p == -inf) return -max(neg(a)).item();
  if (p == 0) return sum(compare(a, 0, CompareOp::Ne)).item();
  if (p == 1) return sum(a).item();
  if (p == 2) return std::sqrt(sum(mul(a, a)).item());
  return std::pow(sum(pow(a, p)).item(), 1 / p);
}

// g = f(g) element by element, in place on g's device; f a floating functor of pointwise.h.
template <typename F>
void apply_(const Tensor& g, const char* op, F f) {
  [[maybe_unused]] const Device dev = common_device(op, {&g});  // unread by CONVNET_KERNEL without CUDA
  dispatch_floating(g.dtype(), op, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    CONVNET_KERNEL(dev, unary, <T, T, F>)(g.numel(), g.data<T>(), g.data<T>(), f);
  });
}

// The defined gradients of params.
std::vector<Tensor> grads_of(const std::vector<Tensor>& params) {
  std::vector<Tensor> grads;
  for (auto& p : params)
    if (p.defined() && p.grad().defined()) grads.push_back(p.grad());
  return grads;
}

}  // namespace

Tensor clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
  std::vector<Tensor> grads = grads_of(params);
  if (grads.empty()) return scalar_tensor(0, DType::Float32);
  // each gradient's norm, rounded to its dtype as PyTorch's per-tensor norms are
  std::vector<double> norms;
  DType out = DType::Float32;
  for (auto& g : grads)
    dispatch_floating(g.dtype(), "clip_grad_norm_", [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      norms.push_back(static_cast<T>(tensor_norm(g, norm_type)));
      if (g.dtype() == DType::Float64) out = DType::Float64;
    });
  const double total = vector_norm(norms.data(), static_cast<int64_t>(norms.size()), norm_type);
  if (error_if_nonfinite && !std::isfinite(total))
    throw Error(cat_str(
        "clip_grad_norm_: the total norm of order ", norm_type,
        " for gradients from `parameters` is non-finite, so it cannot be clipped. To disable this "
        "error and scale the gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"));
  Tensor result = scalar_tensor(total, out);
  // max_norm / (total + 1e-6), clamped to 1, in the total's dtype as PyTorch computes it
  double coef;
  dispatch_floating(out, "clip_grad_norm_", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T c = T(1) / (static_cast<T>(total) + static_cast<T>(1e-6)) * static_cast<T>(max_norm);
    coef = std::min(c, T(1));
  });
  for (auto& g : grads) apply_(g, "clip_grad_norm_", pw::Scale{coef});
  return result;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  for (auto& g : grads_of(params)) apply_(g, "clip_grad_value_", pw::Clamp{-clip_value, clip_value});
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
