// Losses. Classification inputs are viewed as (N, C, L): N batch, C classes,
// L the product of any trailing dimensions (1 for plain (N,C) logits); targets
// (N, L) int64. Backward returns gradients; autograd accumulates (+=) them.
#include "convnet/ops/loss.h"


#include "convnet/autograd.h"
#include "convnet/ops/elementwise.h"
#include "convnet/ops/reduce.h"
#include "cpu/kernels.h"

namespace convnet {

Reduction parse_reduction(const std::string& s, const char* op) {
  if (s == "mean") return Reduction::Mean;
  if (s == "sum") return Reduction::Sum;
  if (s == "none") return Reduction::None;
  throw ValueError(cat_str(op, ": reduction must be \"mean\", \"sum\" or \"none\", got \"", s, "\""));
}

namespace {

struct ClassShape {
  int64_t N, C, L;
  Shape per_sample;  // the shape of the unreduced loss: (N, d1, ...)
  int64_t count;     // targets not equal to ignore_index
};

// Validates input (N,C,d...) against target (N,d...) and the target values,
// and counts the targets that are not ignored.
ClassShape check_classification(const Tensor& input, const Tensor& target, int64_t ignore_index,
                                const char* op) {
  CONVNET_CHECK(is_floating(input.dtype()), op, ": input must be float32 or float64, got ",
                dtype_name(input.dtype()), "; input shape ", shape_str(input.shape()));
  CONVNET_CHECK(input.dim() >= 2, op, ": input must have shape (N, C) or (N, C, d1, ...), got ",
                shape_str(input.shape()));
  CONVNET_CHECK(target.dtype() == DType::Int64, op,
                ": target must hold int64 class indices, got dtype ", dtype_name(target.dtype()),
                " (target shape ", shape_str(target.shape()), "); convert with .long()");
  ClassShape s;
  s.N = input.size(0);
  s.C = input.size(1);
  s.L = 1;
  for (int64_t d = 2; d < input.dim(); ++d) s.L *= input.size(d);
  s.per_sample = input.shape();
  s.per_sample.erase(s.per_sample.begin() + 1);
  CONVNET_CHECK(target.shape() == s.per_sample, op, ": target shape ", shape_str(target.shape()),
                " does not match input shape ", shape_str(input.shape()), " (expected target shape ",
                shape_str(s.per_sample), ")");
  const int64_t* t = target.data<int64_t>();
  s.count = 0;
  for (int64_t i = 0; i < target.numel(); ++i) {
    if (t[i] == ignore_index) continue;
    ++s.count;
    if (t[i] < 0 || t[i] >= s.C)
      throw ValueError(cat_str(op, ": target ", t[i], " at position ", i,
                                          " is out of range for ", s.C,
                                          " classes (expected 0 <= target < ", s.C,
                                          "); input shape ", shape_str(input.shape())));
  }
  return s;
}

// Applies the reduction to per-sample losses `l` (valid ones counted in `count`).
Tensor reduce_loss(const Tensor& l, Reduction r, int64_t count) {
  if (r == Reduction::None) return l;
  Tensor s = sum(l);
  return r == Reduction::Sum ? s : div(s, static_cast<double>(count));
}

// The weights of the samples' gradients as the kernels read them, w[i * step]:
// dy per sample for reduction none (step 1), else one weight for all samples
// (step 0) kept in `one`: dy for sum, dy / count for mean.
template <typename T>
const T* sample_weights(const Tensor& dy, Reduction r, int64_t count, T& one, int64_t& step) {
  const T* g = dy.data<T>();
  step = r == Reduction::None ? 1 : 0;
  if (r == Reduction::None) return g;
  one = r == Reduction::Sum ? g[0] : g[0] / static_cast<T>(count);
  return &one;
}

}  // namespace

Tensor cross_entropy(const Tensor& input, const Tensor& target, Reduction reduction,
                     int64_t ignore_index) {
  ClassShape s = check_classification(input, target, ignore_index, "cross_entropy");
  // per-sample losses and the log-sum-exp of each sample, saved for backward
  Tensor losses = Tensor::empty(s.per_sample, input.dtype());
  Tensor lse = Tensor::empty(s.per_sample, input.dtype());
  dispatch_floating(input.dtype(), "cross_entropy", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    cpu::cross_entropy_forward_cpu<T>(s.N, s.C, s.L, ignore_index, input.data<T>(),
                                      target.data<int64_t>(), losses.data<T>(), lse.data<T>());
  });
  Tensor out;
  {
    NoGradGuard g;
    out = reduce_loss(losses, reduction, s.count);
  }
  if (autograd::needs_record({input})) {
    // input saved (the softmax is recomputed from it and the saved log-sum-exp)
    autograd::record(out, "cross_entropy", {input},
                     [x = input.detach(), target, lse, s, reduction, ignore_index](
                         const Tensor& dy, const std::vector<bool>&) {
                       Tensor dx = Tensor::empty(x.shape(), x.dtype());
                       dispatch_floating(x.dtype(), "cross_entropy", [&](auto* tag) {
                         using T = std::remove_pointer_t<decltype(tag)>;
                         T one;
                         int64_t step;
                         const T* w = sample_weights(dy, reduction, s.count, one, step);
                         cpu::cross_entropy_backward_cpu<T>(
                             s.N, s.C, s.L, ignore_index, x.data<T>(), target.data<int64_t>(),
                             lse.data<T>(), w, step, dx.data<T>());
                       });
                       return std::vector<Tensor>{dx};
                     });
  }
  return out;
}

Tensor nll_loss(const Tensor& input, const Tensor& target, Reduction reduction, int64_t ignore_index) {
  ClassShape s = check_classification(input, target, ignore_index, "nll_loss");
  Tensor losses = Tensor::empty(s.per_sample, input.dtype());
  dispatch_floating(input.dtype(), "nll_loss", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    cpu::nll_loss_forward_cpu<T>(s.N, s.C, s.L, ignore_index, input.data<T>(),
                                 target.data<int64_t>(), losses.data<T>());
  });
  Tensor out;
  {
    NoGradGuard g;
    out = reduce_loss(losses, reduction, s.count);
  }
  if (autograd::needs_record({input})) {
    // only the targets are saved: dx is -w at each target position
    autograd::record(out, "nll_loss", {input}, [shape = input.shape(), target, s, reduction,
                                               ignore_index](const Tensor& dy, const std::vector<bool>&) {
      Tensor dx = Tensor::empty(shape, dy.dtype());
      dispatch_floating(dy.dtype(), "nll_loss", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        T one;
        int64_t step;
        const T* w = sample_weights(dy, reduction, s.count, one, step);
        cpu::nll_loss_backward_cpu<T>(s.N, s.C, s.L, ignore_index, target.data<int64_t>(), w, step,
                                      dx.data<T>());
      });
      return std::vector<Tensor>{dx};
    });
  }
  return out;
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  CONVNET_CHECK(input.shape() == target.shape(), "mse_loss: input shape ", shape_str(input.shape()),
                " and target shape ", shape_str(target.shape()), " must be equal");
  CONVNET_CHECK(is_floating(input.dtype()) && input.dtype() == target.dtype(),
                "mse_loss: input and target must both be float32 or both float64, got ",
                dtype_name(input.dtype()), " and ", dtype_name(target.dtype()), "; shape ",
                shape_str(input.shape()));
  Tensor diff = sub(input, target);
  Tensor sq = mul(diff, diff);
  return reduce_loss(sq, reduction, input.numel());
}

}  // namespace convnet
