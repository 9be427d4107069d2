// Losses. Classification inputs are viewed as (N, C, L): N batch, C classes,
// L the product of any trailing dimensions (1 for plain (N,C) logits); targets
// (N, L) int64; class weights (C). multi_margin_loss: input (N, C) or (C),
// target (N) or (). Elementwise losses: input and target of one shape, weights
// broadcast to it. Each loss has a fused backward except mse and l1 (built
// from differentiable ops). Backward returns gradients; autograd accumulates
// (+=) them into .grad. When backward records (create_graph), the gradients are differentiable
// ops, for double backward. On a GPU, the targets (and binary_cross_entropy's input) are
// copied to the host to validate them, so that both devices raise the same errors.
#include "convnet/ops/loss.h"

#include "convnet/autograd.h"
#include "convnet/ops/activation.h"
#include "convnet/ops/elementwise.h"
#include "convnet/ops/index.h"
#include "convnet/ops/reduce.h"
#include "convnet/ops/softmax.h"
#include "dispatch.h"

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
  const Tensor host = target.to(Device());
  const int64_t* t = host.data<int64_t>();
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

// Class weights: undefined, or (C) floating, returned in the input's dtype.
Tensor check_class_weight(const Tensor& weight, const Tensor& input, int64_t C, const char* op) {
  if (!weight.defined()) return weight;
  CONVNET_CHECK(is_floating(weight.dtype()), op, ": weight must be float32 or float64, got ",
                dtype_name(weight.dtype()), "; weight shape ", shape_str(weight.shape()));
  CONVNET_CHECK(weight.dim() == 1 && weight.numel() == C, op, ": weight has shape ",
                shape_str(weight.shape()), ", expected (", C, ",), one weight per class; input shape ",
                shape_str(input.shape()));
  return weight.to(input.dtype()).detach();
}

// The divisor of "mean" for class targets: the sum of the weights of the targets that are not
// ignored, or their count without weights (PyTorch's total_weight).
double class_total(const ClassShape& s, const Tensor& target, int64_t ignore_index, const Tensor& cw) {
  if (!cw.defined()) return static_cast<double>(s.count);
  const Tensor w = cw.to(Device()).to(DType::Float64), host = target.to(Device());
  const double* wp = w.data<double>();
  const int64_t* t = host.data<int64_t>();
  double total = 0;
  for (int64_t i = 0; i < target.numel(); ++i)
    if (t[i] != ignore_index) total += wp[t[i]];
  return total;
}

template <typename T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// Applies the reduction to per-sample losses `l`; "mean" divides the sum by `divisor`.
Tensor reduce_loss(const Tensor& l, Reduction r, double divisor) {
  if (r == Reduction::None) return l;
  Tensor s = sum(l);
  return r == Reduction::Sum ? s : div(s, divisor);
}

// The weights of the samples' gradients as the kernels read them, w[i * step], on dy's
// device: dy per sample for reduction none (step 1), else one weight for all samples
// (step 0): dy for sum, dy / divisor for mean.
Tensor sample_weights(const Tensor& dy, Reduction r, double divisor, int64_t& step) {
  step = r == Reduction::None ? 1 : 0;
  return r == Reduction::Mean ? div(dy, divisor) : dy;
}

// Input and target of one shape and one floating dtype.
void check_pair(const Tensor& input, const Tensor& target, const char* op) {
  CONVNET_CHECK(input.shape() == target.shape(), op, ": input shape ", shape_str(input.shape()),
                " and target shape ", shape_str(target.shape()), " must be equal");
  CONVNET_CHECK(is_floating(input.dtype()) && input.dtype() == target.dtype(), op,
                ": input and target must both be float32 or both float64, got ",
                dtype_name(input.dtype()), " and ", dtype_name(target.dtype()), "; shape ",
                shape_str(input.shape()));
}

// Per-element weights: undefined, or `w` broadcast to the input's shape (a copy in its dtype).
Tensor expand_weight(const Tensor& w, const Tensor& input, const char* op, const char* what) {
  if (!w.defined()) return w;
  CONVNET_CHECK(is_floating(w.dtype()), op, ": ", what, " must be float32 or float64, got ",
                dtype_name(w.dtype()), "; ", what, " shape ", shape_str(w.shape()));
  CONVNET_CHECK(broadcast_shapes(w.shape(), input.shape(), op) == input.shape(), op, ": ", what,
                " of shape ", shape_str(w.shape()), " cannot be broadcast to the input shape ",
                shape_str(input.shape()));
  NoGradGuard g;
  return mul(ones(input.shape(), input.dtype(), input.device()), w.to(input.dtype()));
}

// An elementwise loss of input and target (checked by check_pair): fwd(loss) fills the
// per-element losses; on record, bwd(g, g_step, dx, dt) fills the gradients of input and target
// (a null one is not needed). Both are called with typed pointers; "mean" divides by `divisor`.
// When backward records (create_graph), graph(g) gives {dx, dt} instead, as differentiable ops of
// g (dy's weight of each element, broadcast to the input) and of the input and target it holds,
// for double backward.
template <typename Fwd, typename Bwd, typename Graph>
Tensor elementwise_loss(const char* op, const Tensor& input, const Tensor& target, Reduction r,
                        double divisor, Fwd fwd, Bwd bwd, Graph graph) {
  if (any_strided({&input, &target}))
    return elementwise_loss(op, input.contiguous(), target.contiguous(), r, divisor, fwd, bwd, graph);
  Tensor losses = Tensor::empty(input.shape(), input.dtype(), input.device());
  dispatch_floating(input.dtype(), op, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    fwd(losses.data<T>());
  });
  Tensor out;
  {
    NoGradGuard g;
    out = reduce_loss(losses, r, divisor);
  }
  if (autograd::needs_record({input, target})) {
    autograd::record(out, op, {input, target}, [op, bwd, graph, r, divisor, shape = input.shape()](
                                                  const Tensor& dy, const std::vector<bool>& needs) {
      if (autograd::grad_enabled()) {
        std::vector<Tensor> d = graph(r == Reduction::Mean ? div(dy, divisor) : dy);
        for (size_t i = 0; i < 2; ++i)
          if (!needs[i]) d[i] = Tensor();
        return d;
      }
      Tensor dx = needs[0] ? Tensor::empty(shape, dy.dtype(), dy.device()) : Tensor();
      Tensor dt = needs[1] ? Tensor::empty(shape, dy.dtype(), dy.device()) : Tensor();
      int64_t step;
      const Tensor g = sample_weights(dy, r, divisor, step);
      dispatch_floating(dy.dtype(), op, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        bwd(g.data<T>(), step, needs[0] ? dx.data<T>() : nullptr, needs[1] ? dt.data<T>() : nullptr);
      });
      return std::vector<Tensor>{dx, dt};
    });
  }
  return out;
}

}  // namespace

namespace {

// Class probabilities as targets (same shape as the input): -sum_c w[c] t[c] log_softmax(x)[c] per
// position, t smoothed to t (1 - eps) + eps / C; "mean" divides by the number of positions, as
// PyTorch. Built from differentiable ops, so the target gets a gradient too.
Tensor cross_entropy_probs(const Tensor& input, const Tensor& target, Reduction reduction,
                           const Tensor& weight, double label_smoothing) {
  if (any_strided({&input, &target, &weight}))
    return cross_entropy_probs(input.contiguous(), target.contiguous(), reduction, weight.contiguous(), label_smoothing);
  CONVNET_CHECK(is_floating(input.dtype()) && input.dim() >= 2, "cross_entropy: input must be float32 or ",
                "float64 of shape (N, C) or (N, C, d1, ...), got ", dtype_name(input.dtype()), " ",
                shape_str(input.shape()));
  check_pair(input, target, "cross_entropy (class probabilities as target)");
  const int64_t C = input.size(1);
  Tensor cw = check_class_weight(weight, input, C, "cross_entropy");
  Tensor t = label_smoothing > 0 ? add(mul(target, 1 - label_smoothing), label_smoothing / C) : target;
  Tensor prod = mul(log_softmax(input, 1), t);
  if (cw.defined()) {
    Shape ws(input.dim(), 1);
    ws[1] = C;
    prod = mul(prod, cw.reshape(ws));
  }
  Tensor per = neg(sum(prod, {1}));
  return reduce_loss(per, reduction, static_cast<double>(per.numel()));
}

// dx of cross_entropy with class targets as differentiable ops of x and dy, for double backward
// (create_graph); the fused kernel's formula over (N,C,L) views: for a sample not ignored,
// dx = g (S softmax(x) - a), a = (1 - eps) w[t] onehot(t) + eps/C w, S = Σ_c a, g its weight of dy.
Tensor cross_entropy_graph_backward(const Tensor& x, const Tensor& target, const Tensor& cw, const ClassShape& s,
                                    Reduction reduction, int64_t ignore_index, double total, double smoothing,
                                    const Tensor& dy) {
  const Device dev = x.device();
  // -w[t] onehot(t), 0 for ignored samples: nll_loss's backward kernel with a unit weight
  Tensor target_term = Tensor::empty({s.N, s.C, s.L}, x.dtype(), dev);
  const Tensor one = ones({1}, x.dtype(), dev);
  dispatch_floating(x.dtype(), "cross_entropy", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    CONVNET_KERNEL(dev, nll_loss_backward, <T>)(s.N, s.C, s.L, ignore_index, target.data<int64_t>(),
                                                data_or_null<T>(cw), one.data<T>(), 0, target_term.data<T>());
  });
  Tensor a = mul(target_term, smoothing - 1);
  if (smoothing > 0) {
    const Tensor kept = compare(target, static_cast<double>(ignore_index), CompareOp::Ne).to(x.dtype());
    const Tensor wc = cw.defined() ? cw.reshape({1, s.C, 1}) : ones({1, s.C, 1}, x.dtype(), dev);
    a = add(a, mul(mul(kept.reshape({s.N, 1, s.L}), wc), smoothing / static_cast<double>(s.C)));
  }
  const Tensor g = reduction == Reduction::None ? dy.reshape({s.N, 1, s.L})
                   : reduction == Reduction::Mean ? div(dy, total)
                                                  : dy;
  const Tensor p = softmax(x.reshape({s.N, s.C, s.L}), 1);
  return mul(g, sub(mul(sum(a, {1}, true), p), a)).reshape(x.shape());
}

// dx of multi_margin_loss as differentiable ops of x (N,C) and dy, for double backward (create_graph):
// the kernel's formula, with a = w[y] / C p max(0, z)^(p-1) at j != y (z = margin - x[y] + x[j]),
// dx = g (a - onehot(y) Σ_j a), g the weight of dy of each sample.
Tensor multi_margin_graph_backward(const Tensor& x, const Tensor& target, const Tensor& cw, int64_t N, int64_t C,
                                   int64_t p, double margin, Reduction reduction, const Tensor& dy) {
  const Tensor x2 = x.reshape({N, C}), t = target.reshape({N, 1});
  const Tensor others = compare(arange(0, static_cast<double>(C), 1, DType::Int64, x.device()).reshape({1, C}), t,
                                CompareOp::Ne).to(x.dtype());
  const Tensor z = add(sub(x2, gather(x2, 1, t)), margin);
  Tensor a = mul(p == 1 ? compare(z, 0.0, CompareOp::Gt).to(x.dtype()) : mul(relu(z), 2.0), others);
  a = cw.defined() ? mul(a, div(index_select(cw, 0, target.reshape({N})).reshape({N, 1}), static_cast<double>(C)))
                   : div(a, static_cast<double>(C));
  const Tensor g = reduction == Reduction::None ? dy.reshape({N, 1}) : reduction == Reduction::Mean ? div(dy, N) : dy;
  return mul(g, sub(a, mul(rsub(others, 1.0), sum(a, {1}, true)))).reshape(x.shape());
}

}  // namespace

Tensor cross_entropy(const Tensor& input, const Tensor& target, Reduction reduction,
                     int64_t ignore_index, const Tensor& weight, double label_smoothing) {
  if (any_strided({&input, &target, &weight}))
    return cross_entropy(input.contiguous(), target.contiguous(), reduction, ignore_index, weight.contiguous(), label_smoothing);
  CONVNET_CHECK(label_smoothing >= 0 && label_smoothing <= 1,
                "cross_entropy: label_smoothing must be between 0.0 and 1.0, got ", label_smoothing,
                "; input shape ", shape_str(input.shape()));
  const Device dev = common_device("cross_entropy", {&input, &target, &weight});
  if (is_floating(target.dtype()) && target.shape() == input.shape())
    return cross_entropy_probs(input, target, reduction, weight, label_smoothing);
  ClassShape s = check_classification(input, target, ignore_index, "cross_entropy");
  Tensor cw = check_class_weight(weight, input, s.C, "cross_entropy");
  const double total = class_total(s, target, ignore_index, cw);
  // per-sample losses and the log-sum-exp of each sample, saved for backward
  Tensor losses = Tensor::empty(s.per_sample, input.dtype(), dev);
  Tensor lse = Tensor::empty(s.per_sample, input.dtype(), dev);
  dispatch_floating(input.dtype(), "cross_entropy", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    CONVNET_KERNEL(dev, cross_entropy_forward, <T>)(s.N, s.C, s.L, ignore_index, input.data<T>(),
                                                    target.data<int64_t>(), data_or_null<T>(cw),
                                                    static_cast<T>(label_smoothing), losses.data<T>(),
                                                    lse.data<T>());
  });
  Tensor out;
  {
    NoGradGuard g;
    out = reduce_loss(losses, reduction, total);
  }
  if (autograd::needs_record({input})) {
    // input saved (the softmax is recomputed from it and the saved log-sum-exp)
    autograd::record(out, "cross_entropy", {input},
                     [x = input, target, cw, lse, s, reduction, ignore_index, total,
                      label_smoothing](const Tensor& dy, const std::vector<bool>&) {
                       if (autograd::grad_enabled())
                         return std::vector<Tensor>{cross_entropy_graph_backward(
                             x, target, cw, s, reduction, ignore_index, total, label_smoothing, dy)};
                       const Device dev = common_device("cross_entropy", {&x, &dy});
                       Tensor dx = Tensor::empty(x.shape(), x.dtype(), dev);
                       int64_t step;
                       const Tensor w = sample_weights(dy, reduction, total, step);
                       dispatch_floating(x.dtype(), "cross_entropy", [&](auto* tag) {
                         using T = std::remove_pointer_t<decltype(tag)>;
                         CONVNET_KERNEL(dev, cross_entropy_backward, <T>)(
                             s.N, s.C, s.L, ignore_index, x.data<T>(), target.data<int64_t>(),
                             data_or_null<T>(cw), static_cast<T>(label_smoothing), lse.data<T>(),
                             w.data<T>(), step, dx.data<T>());
                       });
                       return std::vector<Tensor>{dx};
                     });
  }
  return out;
}

Tensor nll_loss(const Tensor& input, const Tensor& target, Reduction reduction, int64_t ignore_index,
                const Tensor& weight) {
  if (any_strided({&input, &target, &weight}))
    return nll_loss(input.contiguous(), target.contiguous(), reduction, ignore_index, weight.contiguous());
  const Device dev = common_device("nll_loss", {&input, &target, &weight});
  ClassShape s = check_classification(input, target, ignore_index, "nll_loss");
  Tensor cw = check_class_weight(weight, input, s.C, "nll_loss");
  const double total = class_total(s, target, ignore_index, cw);
  Tensor losses = Tensor::empty(s.per_sample, input.dtype(), dev);
  dispatch_floating(input.dtype(), "nll_loss", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    CONVNET_KERNEL(dev, nll_loss_forward, <T>)(s.N, s.C, s.L, ignore_index, input.data<T>(),
                                               target.data<int64_t>(), data_or_null<T>(cw), losses.data<T>());
  });
  Tensor out;
  {
    NoGradGuard g;
    out = reduce_loss(losses, reduction, total);
  }
  if (autograd::needs_record({input})) {
    // the targets and class weights are saved: dx is -w at each target position
    autograd::record(out, "nll_loss", {input}, [shape = input.shape(), target, cw, s, reduction,
                                               ignore_index, total](const Tensor& dy, const std::vector<bool>&) {
      const Device dev = common_device("nll_loss", {&target, &dy});
      Tensor dx = Tensor::empty(shape, dy.dtype(), dev);
      int64_t step;
      const Tensor w = sample_weights(dy, reduction, total, step);
      dispatch_floating(dy.dtype(), "nll_loss", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        CONVNET_KERNEL(dev, nll_loss_backward, <T>)(s.N, s.C, s.L, ignore_index, target.data<int64_t>(),
                                                    data_or_null<T>(cw), w.data<T>(), step, dx.data<T>());
      });
      // linear in dy: its adjoint is the loss itself
      return std::vector<Tensor>{autograd::record_linear(
          dx, dy, "nll_loss", [target, cw, reduction, ignore_index](const Tensor& ddx) {
            return nll_loss(ddx, target, reduction, ignore_index, cw);
          })};
    });
  }
  return out;
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_pair(input, target, "mse_loss");
  common_device("mse_loss", {&input, &target});
  Tensor diff = sub(input, target);
  Tensor sq = mul(diff, diff);
  return reduce_loss(sq, reduction, input.numel());
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction, const Tensor& weight) {
  check_pair(input, target, "l1_loss");
  common_device("l1_loss", {&input, &target, &weight});
  Tensor err = abs(sub(input, target));
  if (!weight.defined()) return reduce_loss(err, reduction, input.numel());
  CONVNET_CHECK(weight.shape() == input.shape(), "l1_loss: weight shape ", shape_str(weight.shape()),
                " must equal the input shape ", shape_str(input.shape()));
  // weighted errors; "mean" divides by the sum of the weights, as PyTorch
  Tensor weighted = mul(err, weight);
  return reduction == Reduction::Mean ? div(sum(weighted), sum(weight)) : reduce_loss(weighted, reduction, 1);
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction, double beta) {
  if (any_strided({&input, &target})) return smooth_l1_loss(input.contiguous(), target.contiguous(), reduction, beta);
  check_pair(input, target, "smooth_l1_loss");
  CONVNET_CHECK(beta >= 0, "smooth_l1_loss: beta must be non-negative, got ", beta, "; input shape ",
                shape_str(input.shape()));
  const int64_t n = input.numel();
  const Device dev = common_device("smooth_l1_loss", {&input, &target});
  // input and target saved
  return elementwise_loss(
      "smooth_l1_loss", input, target, reduction, n,
      [&](auto* loss) {
        using T = std::remove_pointer_t<decltype(loss)>;
        CONVNET_KERNEL(dev, smooth_l1_forward, <T>)(n, static_cast<T>(beta), input.data<T>(), target.data<T>(),
                                                    loss);
      },
      [x = input.detach(), t = target.detach(), n, beta, dev](auto* g, int64_t step, auto* dx, auto* dt) {
        using T = std::remove_const_t<std::remove_pointer_t<decltype(g)>>;
        CONVNET_KERNEL(dev, smooth_l1_backward, <T>)(n, static_cast<T>(beta), x.data<T>(), t.data<T>(), g, step,
                                                     dx, dt);
      },
      [input, target, beta](const Tensor& g) {
        const Tensor d = sub(input, target);
        const Tensor dx = mul(g, beta > 0 ? clamp(div(d, beta), -1.0, 1.0) : sign(d));
        return std::vector<Tensor>{dx, neg(dx)};
      });
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight,
                            Reduction reduction) {
  if (any_strided({&input, &target, &weight}))
    return binary_cross_entropy(input.contiguous(), target.contiguous(), weight.contiguous(), reduction);
  const char* op = "binary_cross_entropy";
  check_pair(input, target, op);
  const Device dev = common_device(op, {&input, &target, &weight});
  const Tensor host = input.to(Device());
  dispatch_floating(input.dtype(), op, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T* x = host.data<T>();
    for (int64_t i = 0; i < input.numel(); ++i)
      CONVNET_CHECK(x[i] >= 0 && x[i] <= 1, op, ": all elements of input should be between 0 and 1, got ",
                    x[i], " at position ", i, "; input shape ", shape_str(input.shape()));
  });
  Tensor w = expand_weight(weight, input, op, "weight");
  const int64_t n = input.numel();
  // input, target and the expanded weight saved
  return elementwise_loss(
      op, input, target, reduction, n,
      [&](auto* loss) {
        using T = std::remove_pointer_t<decltype(loss)>;
        CONVNET_KERNEL(dev, bce_forward, <T>)(n, input.data<T>(), target.data<T>(), data_or_null<T>(w), loss);
      },
      [x = input.detach(), t = target.detach(), w, n, dev](auto* g, int64_t step, auto* dx, auto* dt) {
        using T = std::remove_const_t<std::remove_pointer_t<decltype(g)>>;
        CONVNET_KERNEL(dev, bce_backward, <T>)(n, x.data<T>(), t.data<T>(), data_or_null<T>(w), g, step, dx, dt);
      },
      [input, target, w](const Tensor& g) {
        const Tensor gw = w.defined() ? mul(g, w) : g;
        const Tensor dx = div(mul(gw, sub(input, target)), clamp(mul(input, rsub(input, 1.0)), 1e-12, std::nullopt));
        const Tensor dt = mul(gw, sub(clamp(log(rsub(input, 1.0)), -100.0, std::nullopt),
                                      clamp(log(input), -100.0, std::nullopt)));
        return std::vector<Tensor>{dx, dt};
      });
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight,
                                        Reduction reduction, const Tensor& pos_weight) {
  if (any_strided({&input, &target, &weight, &pos_weight}))
    return binary_cross_entropy_with_logits(input.contiguous(), target.contiguous(), weight.contiguous(), reduction,
                                            pos_weight.contiguous());
  const char* op = "binary_cross_entropy_with_logits";
  check_pair(input, target, op);
  const Device dev = common_device(op, {&input, &target, &weight, &pos_weight});
  Tensor w = expand_weight(weight, input, op, "weight");
  Tensor pw = expand_weight(pos_weight, input, op, "pos_weight");
  const int64_t n = input.numel();
  // input, target and the expanded weights saved
  return elementwise_loss(
      op, input, target, reduction, n,
      [&](auto* loss) {
        using T = std::remove_pointer_t<decltype(loss)>;
        CONVNET_KERNEL(dev, bce_logits_forward, <T>)(n, input.data<T>(), target.data<T>(), data_or_null<T>(w),
                                                     data_or_null<T>(pw), loss);
      },
      [x = input.detach(), t = target.detach(), w, pw, n, dev](auto* g, int64_t step, auto* dx, auto* dt) {
        using T = std::remove_const_t<std::remove_pointer_t<decltype(g)>>;
        CONVNET_KERNEL(dev, bce_logits_backward, <T>)(n, x.data<T>(), t.data<T>(), data_or_null<T>(w),
                                                      data_or_null<T>(pw), g, step, dx, dt);
      },
      [input, target, w, pw](const Tensor& g) {
        const Tensor gw = w.defined() ? mul(g, w) : g;
        // dx = g w (lw sigmoid(x) - pw t) with lw = 1 + (pw - 1) t; dt = g w ((pw - 1) softplus(-x) - x)
        if (!pw.defined())
          return std::vector<Tensor>{mul(gw, sub(sigmoid(input), target)), neg(mul(gw, input))};
        const Tensor pw1 = sub(pw, 1.0);
        const Tensor dx = mul(gw, sub(mul(add(mul(pw1, target), 1.0), sigmoid(input)), mul(pw, target)));
        const Tensor dt = mul(gw, sub(mul(pw1, softplus(neg(input))), input));
        return std::vector<Tensor>{dx, dt};
      });
}

Tensor kl_div(const Tensor& input, const Tensor& target, const std::string& reduction, bool log_target) {
  if (any_strided({&input, &target})) return kl_div(input.contiguous(), target.contiguous(), reduction, log_target);
  const char* op = "kl_div";
  check_pair(input, target, op);
  const Device dev = common_device(op, {&input, &target});
  CONVNET_CHECK(reduction == "mean" || reduction == "sum" || reduction == "none" || reduction == "batchmean",
                op, ": reduction must be \"mean\", \"batchmean\", \"sum\" or \"none\", got \"", reduction, "\"");
  // batchmean: the sum divided by the batch size (the sum itself for a 0-d input)
  const bool batchmean = reduction == "batchmean";
  const Reduction r = batchmean ? Reduction::Mean : parse_reduction(reduction, op);
  const int64_t n = input.numel();
  const double divisor = batchmean ? (input.dim() ? input.size(0) : 1) : n;
  // input and target saved
  return elementwise_loss(
      op, input, target, r, divisor,
      [&](auto* loss) {
        using T = std::remove_pointer_t<decltype(loss)>;
        CONVNET_KERNEL(dev, kl_div_forward, <T>)(n, log_target, input.data<T>(), target.data<T>(), loss);
      },
      [x = input.detach(), t = target.detach(), n, log_target, dev](auto* g, int64_t step, auto* dx, auto* dt) {
        using T = std::remove_const_t<std::remove_pointer_t<decltype(g)>>;
        CONVNET_KERNEL(dev, kl_div_backward, <T>)(n, log_target, x.data<T>(), t.data<T>(), g, step, dx, dt);
      },
      [input, target, log_target](const Tensor& g) {
        if (log_target) {  // dx = -g exp(t), dt = g exp(t) (t - x + 1)
          const Tensor ge = mul(g, exp(target));
          return std::vector<Tensor>{neg(ge), mul(ge, add(sub(target, input), 1.0))};
        }
        // dx = -g t, dt = g (xlogy(t != 0, t) + t / t - x)
        const Tensor zero = scalar_tensor(0, target.dtype(), target.device());
        const Tensor logt = where(compare(target, 0.0, CompareOp::Ne), log(target), zero);
        return std::vector<Tensor>{neg(mul(g, target)), mul(g, sub(add(logt, div(target, target)), input))};
      });
}

Tensor multi_margin_loss(const Tensor& input, const Tensor& target, int64_t p, double margin,
                         const Tensor& weight, Reduction reduction) {
  if (any_strided({&input, &target, &weight}))
    return multi_margin_loss(input.contiguous(), target.contiguous(), p, margin, weight.contiguous(), reduction);
  const char* op = "multi_margin_loss";
  CONVNET_CHECK(p == 1 || p == 2, op, ": p must be 1 or 2, got ", p);
  CONVNET_CHECK(is_floating(input.dtype()), op, ": input must be float32 or float64, got ",
                dtype_name(input.dtype()), "; input shape ", shape_str(input.shape()));
  CONVNET_CHECK((input.dim() == 1 || input.dim() == 2) && input.size(-1) > 0, op,
                ": input must have shape (N, C) or (C) with C > 0, got ", shape_str(input.shape()));
  const int64_t N = input.dim() == 2 ? input.size(0) : 1, C = input.size(-1);
  CONVNET_CHECK(target.dtype() == DType::Int64, op, ": target must hold int64 class indices, got dtype ",
                dtype_name(target.dtype()), " (target shape ", shape_str(target.shape()), ")");
  CONVNET_CHECK(target.dim() <= 1 && target.numel() == N, op, ": target shape ", shape_str(target.shape()),
                " does not match input shape ", shape_str(input.shape()), " (expected ", N,
                " class index(es))");
  const Device dev = common_device(op, {&input, &target, &weight});
  const Tensor host = target.to(Device());
  const int64_t* t = host.data<int64_t>();
  for (int64_t i = 0; i < N; ++i)
    CONVNET_CHECK(t[i] >= 0 && t[i] < C, op, ": target ", t[i], " at position ", i, " is out of range for ",
                  C, " classes (expected 0 <= target < ", C, "); input shape ", shape_str(input.shape()));
  Tensor cw = check_class_weight(weight, input, C, op);
  // (N) for a batch; a single (C) sample's loss takes the target's shape, () or (1), as PyTorch
  Tensor losses = Tensor::empty(input.dim() == 2 ? Shape{N} : target.shape(), input.dtype(), dev);
  dispatch_floating(input.dtype(), op, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    CONVNET_KERNEL(dev, multi_margin_forward, <T>)(N, C, p, static_cast<T>(margin), input.data<T>(),
                                                   target.data<int64_t>(), data_or_null<T>(cw), losses.data<T>());
  });
  Tensor out;
  {
    NoGradGuard g;
    out = reduce_loss(losses, reduction, N);
  }
  if (autograd::needs_record({input})) {
    // input, targets and class weights saved
    autograd::record(out, op, {input}, [x = input, target, cw, N, C, p, margin, reduction](
                                           const Tensor& dy, const std::vector<bool>&) {
      if (autograd::grad_enabled())
        return std::vector<Tensor>{multi_margin_graph_backward(x, target, cw, N, C, p, margin, reduction, dy)};
      const Device dev = common_device("multi_margin_loss", {&x, &dy});
      Tensor dx = Tensor::empty(x.shape(), x.dtype(), dev);
      int64_t step;
      const Tensor w = sample_weights(dy, reduction, N, step);
      dispatch_floating(x.dtype(), "multi_margin_loss", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        CONVNET_KERNEL(dev, multi_margin_backward, <T>)(N, C, p, static_cast<T>(margin), x.data<T>(),
                                                        target.data<int64_t>(), data_or_null<T>(cw), w.data<T>(),
                                                        step, dx.data<T>());
      });
      return std::vector<Tensor>{dx};
    });
  }
  return out;
}

}  // namespace convnet
