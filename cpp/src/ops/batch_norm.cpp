// batch_norm: N batch, C channels, L positions per channel and sample (the
// product of the dimensions after the channels). x (N,C,*), running_mean and
// running_var (C), weight and bias (C), y (N,C,*). Backward saves x, the
// weight and the mean and 1/sqrt(var + eps) that forward used (C each); it
// returns only the gradients that are needed, and autograd accumulates them
// (+=) into .grad. When backward records (create_graph), the gradients are written with
// differentiable ops (batch_norm_graph_backward), for double backward.
#include "convnet/ops/batch_norm.h"

#include <tuple>

#include "convnet/autograd.h"
#include "convnet/ops/elementwise.h"
#include "convnet/ops/reduce.h"
#include "dispatch.h"
#include "ops/norm_backward.h"

namespace convnet {

namespace {

struct BatchNormShape {
  int64_t N, C, L;
};

// The one check for batch_norm: validates the inputs and returns the (N,C,L) view.
BatchNormShape batch_norm_check(const Tensor& x, const Tensor& rm, const Tensor& rv, const Tensor& w,
                                const Tensor& b, bool training, double eps) {
  CONVNET_CHECK(x.dim() >= 2, "batch_norm: expected an input of at least 2 dimensions (N, C, *), got shape ",
                shape_str(x.shape()));
  CONVNET_CHECK(is_floating(x.dtype()), "batch_norm: expected a float32 or float64 input, got ",
                dtype_name(x.dtype()), "; input shape ", shape_str(x.shape()));
  CONVNET_CHECK(eps >= 0, "batch_norm: eps must be non-negative, got ", eps);
  BatchNormShape s{x.size(0), x.size(1), 1};
  for (int64_t d = 2; d < x.dim(); ++d) s.L *= x.size(d);
  auto per_channel = [&](const Tensor& t, const char* what) {
    CONVNET_CHECK(!t.defined() || (t.dim() == 1 && t.size(0) == s.C), "batch_norm: ", what,
                  " must have shape (", s.C, ",) for an input of ", s.C, " channel(s), got ",
                  t.defined() ? shape_str(t.shape()) : std::string(), "; input shape ", shape_str(x.shape()));
    CONVNET_CHECK(!t.defined() || t.dtype() == x.dtype(), "batch_norm: ", what, " dtype ", dtype_name(t.dtype()),
                  " must match the input dtype ", dtype_name(x.dtype()));
  };
  per_channel(rm, "running_mean");
  per_channel(rv, "running_var");
  per_channel(w, "weight");
  per_channel(b, "bias");
  CONVNET_CHECK(training || (rm.defined() && rv.defined()),
                "batch_norm: running_mean and running_var are needed when not training");
  CONVNET_CHECK(!training || s.N * s.L > 1,
                "batch_norm: expected more than 1 value per channel when training, got input shape ",
                shape_str(x.shape()));
  return s;
}

// The gradients of batch_norm in differentiable ops of x, w and dy, over (N, C, L) views. Training:
// x̂ = (x - mean) / sqrt(var + eps) with the batch statistics recomputed from x, dx = (g - mean(g)
// - x̂ mean(g x̂)) / sqrt(var + eps) with g = dy w; eval: the running statistics are constants
// (mean and invstd as forward used them), dx = g invstd. dw = Σ dy x̂, db = Σ dy.
std::vector<Tensor> batch_norm_graph_backward(const Tensor& x, const Tensor& w, const Tensor& dy,
                                              const Tensor& saved_mean, const Tensor& saved_invstd,
                                              const BatchNormShape& s, bool training,
                                              double eps, const std::vector<bool>& need) {
  const Shape per_channel{1, s.C, 1};
  const Tensor x3 = x.reshape({s.N, s.C, s.L}), dy3 = dy.reshape({s.N, s.C, s.L});
  Tensor xhat, istd;
  if (training) {
    std::tie(xhat, istd) = standardize(x3, {0, 2}, eps);
  } else {
    istd = saved_invstd.reshape(per_channel);
    xhat = mul(sub(x3, saved_mean.reshape(per_channel)), istd);
  }
  const Tensor g = w.defined() ? mul(dy3, w.reshape(per_channel)) : dy3;
  Tensor dx, dw, db;
  if (need[0]) {
    dx = training ? standardized_input_grad(g, xhat, istd, {0, 2}) : mul(g, istd);
    dx = dx.reshape(x.shape());
  }
  if (need[1]) dw = sum(mul(dy3, xhat), {0, 2});
  if (need[2]) db = sum(dy3, {0, 2});
  return {dx, dw, db};
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& rm, const Tensor& rv, const Tensor& w, const Tensor& b,
                  bool training, double momentum, double eps) {
  if (any_strided({&x, &w, &b, &rm, &rv})) {  // running statistics that are views get the update written back
    const Tensor rmc = rm.contiguous(), rvc = rv.contiguous();
    Tensor y = batch_norm(x.contiguous(), rmc, rvc, w.contiguous(), b.contiguous(), training, momentum, eps);
    if (!rm.is_contiguous()) copy_into(rm, rmc);
    if (!rv.is_contiguous()) copy_into(rv, rvc);
    return y;
  }
  const BatchNormShape s = batch_norm_check(x, rm, rv, w, b, training, eps);
  const Device dev = common_device("batch_norm", {&x, &rm, &rv, &w, &b});
  Tensor y = Tensor::empty(x.shape(), x.dtype(), dev);
  Tensor mean = Tensor::empty({s.C}, x.dtype(), dev), invstd = Tensor::empty({s.C}, x.dtype(), dev);
  dispatch_floating(x.dtype(), "batch_norm", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    Tensor var = rv;
    if (training) {
      var = Tensor::empty({s.C}, x.dtype(), dev);
      CONVNET_KERNEL(dev, batch_norm_stats, <T>)(s.N, s.C, s.L, x.data<T>(), mean.data<T>(), var.data<T>());
      CONVNET_KERNEL(dev, batch_norm_update_stats, <T>)(s.C, s.N * s.L, momentum, mean.data<T>(), var.data<T>(),
                                                        rm.defined() ? rm.data<T>() : nullptr,
                                                        rv.defined() ? rv.data<T>() : nullptr);
    } else {
      copy_bytes(mean.raw_data(), dev, rm.raw_data(), dev, mean.nbytes());
    }
    CONVNET_KERNEL(dev, batch_norm_invstd, <T>)(s.C, eps, var.data<T>(), invstd.data<T>());
    CONVNET_KERNEL(dev, batch_norm_forward, <T>)(s.N, s.C, s.L, x.data<T>(), mean.data<T>(), invstd.data<T>(),
                                                 w.defined() ? w.data<T>() : nullptr,
                                                 b.defined() ? b.data<T>() : nullptr, y.data<T>());
  });
  if (autograd::needs_record({x, w, b})) {
    autograd::record(y, "batch_norm", {x, w, b},
                     [x, w, mean, invstd, s, training, eps](const Tensor& dy, const std::vector<bool>& need) {
                       if (autograd::grad_enabled())
                         return batch_norm_graph_backward(x, w, dy, mean, invstd, s, training, eps, need);
                       const Device dev = common_device("batch_norm", {&x, &dy});
                       Tensor dx, dw, db;
                       if (need[0]) dx = Tensor::empty(x.shape(), x.dtype(), dev);
                       if (need[1]) dw = Tensor::empty({s.C}, x.dtype(), dev);
                       if (need[2]) db = Tensor::empty({s.C}, x.dtype(), dev);
                       dispatch_floating(dy.dtype(), "batch_norm", [&](auto* tag) {
                         using T = std::remove_pointer_t<decltype(tag)>;
                         CONVNET_KERNEL(dev, batch_norm_backward, <T>)(
                             s.N, s.C, s.L, training, x.data<T>(), dy.data<T>(), mean.data<T>(),
                             invstd.data<T>(), w.defined() ? w.data<T>() : nullptr,
                             dx.defined() ? dx.data<T>() : nullptr, dw.defined() ? dw.data<T>() : nullptr,
                             db.defined() ? db.data<T>() : nullptr);
                       });
                       return std::vector<Tensor>{dx, dw, db};
                     });
    autograd::save_versions(y, {x, w});
  }
  return y;
}

void batch_norm_count(const Tensor& num_batches_tracked) {
  CONVNET_CHECK(num_batches_tracked.dtype() == DType::Int64 && num_batches_tracked.numel() == 1,
                "batch_norm_count: num_batches_tracked must be one int64 value, got ",
                dtype_name(num_batches_tracked.dtype()), " of shape ", shape_str(num_batches_tracked.shape()));
  CONVNET_KERNEL(common_device("batch_norm_count", {&num_batches_tracked}), batch_norm_count, )(
      num_batches_tracked.data<int64_t>());
}

}  // namespace convnet
