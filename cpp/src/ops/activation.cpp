// Pointwise activations; x and y have the same shape. relu, sigmoid and tanh
// save their output for backward (their derivative is a function of it); the
// others save their input. prelu: x (N, C, ...) with C channels at dimension 1
// (1 for 1-D input), weight (C) or (1); it saves x and the weight, and its backward is written with
// differentiable ops when it records (create_graph). Autograd accumulates (+=) the gradients into
// .grad (the weight's too).
#include "convnet/ops/activation.h"

#include "convnet/autograd.h"
#include "convnet/ops/elementwise.h"
#include "convnet/ops/reduce.h"
#include "cpu/elementwise.h"
#include "dispatch.h"
#include "pointwise.h"

namespace convnet {

namespace {

// y = f(x); on record, backward computes dx = g(saved, dy) with saved = y or x. F, G and G2 are
// functors of pointwise.h. When backward records (create_graph), dx is dy * g(saved, 1) through
// mul, differentiable in dy; for the smooth activations (G2 given) g(saved, 1) is itself a
// pointwise op of the saved tensor (the output as the running node's, running_output) whose
// derivative is G2, so that dx differentiates in x too; the piecewise linear ones (G2 void) have
// a derivative constant in x.
template <typename G2 = void, typename F, typename G>
Tensor pointwise(const Tensor& x, const char* name, bool save_output, F f, G g, const G2* g2 = nullptr,
                 const char* name2 = nullptr) {
  if (!x.is_contiguous()) return pointwise<G2>(x.contiguous(), name, save_output, f, g, g2, name2);
  const Device dev = common_device(name, {&x});
  Tensor y = Tensor::empty(x.shape(), x.dtype(), dev);
  dispatch_floating(x.dtype(), name, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    CONVNET_KERNEL(dev, unary, <T, T, F>)(x.numel(), x.data<T>(), y.data<T>(), f);
  });
  if (autograd::needs_record({x})) {
    // x itself (not a detached copy) so that create_graph differentiates through it
    Tensor saved = save_output ? y.detach() : x;
    std::function<Tensor(const Tensor&)> derivative;  // g(saved, 1) as an op of saved
    if constexpr (!std::is_void_v<G2>)
      derivative = [g, g2 = *g2, name2](const Tensor& s) { return pointwise(s, name2, false, pw::AtOne<G>{g}, g2); };
    autograd::record(y, name, {x}, [saved, save_output, name, g, derivative](const Tensor& dy,
                                                                            const std::vector<bool>&) {
      const bool graph = autograd::grad_enabled();
      if (graph && derivative) return std::vector<Tensor>{
          mul(dy, derivative(save_output ? autograd::running_output(saved) : saved))};
      const Device dev = common_device(name, {&saved, &dy});
      const Tensor in = graph ? ones(dy.shape(), dy.dtype(), dev) : dy;
      Tensor dx = Tensor::empty(dy.shape(), dy.dtype(), dev);
      dispatch_floating(dy.dtype(), name, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        CONVNET_KERNEL(dev, binary, <T, T, G>)(cpu::flat_broadcast(dy.numel()), saved.data<T>(), in.data<T>(),
                                               dx.data<T>(), g);
      });
      return std::vector<Tensor>{graph ? mul(dy, dx) : dx};
    });
    autograd::save_versions(y, {save_output ? y : x});
  }
  return y;
}

constexpr pw::SigmoidGrad2 kSigmoid2{};
constexpr pw::TanhGrad2 kTanh2{};
constexpr pw::GeluGrad2 kGelu2{};
constexpr pw::GeluTanhGrad2 kGeluTanh2{};
constexpr pw::SiluGrad2 kSilu2{};

}  // namespace

Tensor relu(const Tensor& x) { return pointwise(x, "relu", true, pw::Relu{}, pw::ReluGrad{}); }

Tensor leaky_relu(const Tensor& x, double slope) {
  return pointwise(x, "leaky_relu", false, pw::LeakyRelu{slope}, pw::LeakyReluGrad{slope});
}

Tensor sigmoid(const Tensor& x) { return pointwise(x, "sigmoid", true, pw::Sigmoid{}, pw::SigmoidGrad{}, &kSigmoid2, "sigmoid_backward"); }

Tensor tanh(const Tensor& x) { return pointwise(x, "tanh", true, pw::Tanh{}, pw::TanhGrad{}, &kTanh2, "tanh_backward"); }

Tensor hardtanh(const Tensor& x, double min_val, double max_val) {
  CONVNET_CHECK(min_val <= max_val, "hardtanh: min_val (", min_val, ") must not exceed max_val (",
                max_val, "); input shape ", shape_str(x.shape()));
  return pointwise(x, "hardtanh", false, pw::Hardtanh{min_val, max_val}, pw::HardtanhGrad{min_val, max_val});
}

Tensor relu6(const Tensor& x) { return hardtanh(x, 0, 6); }

Tensor elu(const Tensor& x, double alpha) {
  const pw::EluGrad2 g2{alpha};
  return pointwise(x, "elu", false, pw::Elu{alpha}, pw::EluGrad{alpha}, &g2, "elu_backward");
}

Tensor gelu(const Tensor& x, const std::string& approximate) {
  if (approximate == "none") return pointwise(x, "gelu", false, pw::Gelu{}, pw::GeluGrad{}, &kGelu2, "gelu_backward");
  CONVNET_CHECK(approximate == "tanh", "gelu: approximate must be 'none' or 'tanh', got '", approximate,
                "'; input shape ", shape_str(x.shape()));
  return pointwise(x, "gelu", false, pw::GeluTanh{}, pw::GeluTanhGrad{}, &kGeluTanh2, "gelu_backward");
}

Tensor silu(const Tensor& x) { return pointwise(x, "silu", false, pw::Silu{}, pw::SiluGrad{}, &kSilu2, "silu_backward"); }

Tensor softplus(const Tensor& x, double beta, double threshold) {
  const pw::SoftplusGrad2 g2{beta, threshold};
  return pointwise(x, "softplus", false, pw::Softplus{beta, threshold}, pw::SoftplusGrad{beta, threshold}, &g2,
                   "softplus_backward");
}

Tensor prelu(const Tensor& x, const Tensor& weight) {
  if (any_strided({&x, &weight})) return prelu(x.contiguous(), weight.contiguous());
  CONVNET_CHECK(is_floating(x.dtype()) && weight.dtype() == x.dtype(),
                "prelu: input and weight must both be float32 or both float64, got ",
                dtype_name(x.dtype()), " and ", dtype_name(weight.dtype()), "; input shape ",
                shape_str(x.shape()), ", weight shape ", shape_str(weight.shape()));
  CONVNET_CHECK(weight.dim() <= 1, "prelu: weight must be 1-D, got shape ", shape_str(weight.shape()));
  const int64_t C = weight.numel();
  CONVNET_CHECK(C >= 1, "prelu: the weight is empty; weight shape ", shape_str(weight.shape()));
  const int64_t channels = x.dim() >= 2 ? x.size(1) : 1;
  CONVNET_CHECK(C == 1 || (x.dim() > 0 && channels == C), "prelu: the weight has ", C,
                " parameters but the input has ", channels, " channel(s) (dimension 1); input shape ",
                shape_str(x.shape()), ", weight shape ", shape_str(weight.shape()));
  // (N, rows, inner) with rows = C, or rows = 1 for one weight shared by all elements
  const int64_t N = x.dim() >= 1 ? x.size(0) : 1;
  const int64_t rows = C;
  const int64_t inner = N ? x.numel() / (N * rows) : 0;
  const Device dev = common_device("prelu", {&x, &weight});
  Tensor y = Tensor::empty(x.shape(), x.dtype(), dev);
  dispatch_floating(x.dtype(), "prelu", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    CONVNET_KERNEL(dev, prelu_forward, <T>)(N, rows, inner, x.data<T>(), weight.data<T>(), y.data<T>());
  });
  if (autograd::needs_record({x, weight})) {
    // x and the weight saved: dx = dy * (x > 0 ? 1 : w), dw = sum of dy * x where x <= 0
    autograd::record(y, "prelu", {x, weight}, [x, w = weight, N, rows, inner](
                                                   const Tensor& dy, const std::vector<bool>& needs) {
      if (autograd::grad_enabled()) {  // backward records (create_graph): the same in differentiable ops
        const Shape view{N, rows, inner};
        const Tensor x3 = x.reshape(view), dy3 = dy.reshape(view);
        const Tensor negative = compare(x3, 0.0, CompareOp::Le).to(x.dtype());  // where the slope is w
        const Tensor slope = add(mul(negative, w.reshape({1, rows, 1})), rsub(negative, 1.0));
        return std::vector<Tensor>{needs[0] ? mul(dy3, slope).reshape(x.shape()) : Tensor(),
                                   needs[1] ? sum(mul(mul(dy3, x3), negative), {0, 2}).reshape(w.shape()) : Tensor()};
      }
      const Device dev = common_device("prelu", {&x, &dy});
      Tensor dx = needs[0] ? Tensor::empty(x.shape(), x.dtype(), dev) : Tensor();
      Tensor dw = needs[1] ? Tensor::empty(w.shape(), w.dtype(), dev) : Tensor();
      dispatch_floating(x.dtype(), "prelu", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        CONVNET_KERNEL(dev, prelu_backward, <T>)(N, rows, inner, x.data<T>(), w.data<T>(), dy.data<T>(),
                                                 needs[0] ? dx.data<T>() : nullptr,
                                                 needs[1] ? dw.data<T>() : nullptr);
      });
      return std::vector<Tensor>{dx, dw};
    });
    autograd::save_versions(y, {x, weight});
  }
  return y;
}

}  // namespace convnet
