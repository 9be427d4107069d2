// Pointwise activations; x and y have the same shape. relu, sigmoid and tanh
// save their output for backward (their derivative is a function of it); the
// others save their input. prelu: x (N, C, ...) with C channels at dimension 1
// (1 for 1-D input), weight (C) or (1); it saves x and the weight. Autograd
// accumulates (+=) the gradients into .grad (the weight's too).
#include "convnet/ops/activation.h"

#include <cmath>

#include "convnet/autograd.h"
#include "cpu/elementwise.h"
#include "cpu/kernels.h"

namespace convnet {

namespace {

constexpr double kSqrt2 = 1.4142135623730951, kSqrt2OverPi = 0.7978845608028654,
                 kInvSqrt2Pi = 0.3989422804014327, kCube = 0.044715;  // gelu's constants

// y = f(x); on record, backward computes dx = g(saved, dy) with saved = y or x.
template <typename F, typename G>
Tensor pointwise(const Tensor& x, const char* name, bool save_output, F f, G g) {
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), name, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    cpu::unary_kernel(x.numel(), x.data<T>(), y.data<T>(), [&](T v) { return static_cast<T>(f(v)); });
  });
  if (autograd::needs_record({x})) {
    Tensor saved = save_output ? y.detach() : x.detach();
    autograd::record(y, name, {x}, [saved, name, g](const Tensor& dy, const std::vector<bool>&) {
      Tensor dx = Tensor::empty(dy.shape(), dy.dtype());
      dispatch_floating(dy.dtype(), name, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        std::vector<int64_t> shape{dy.numel()}, unit{1};
        cpu::binary_kernel(shape, saved.data<T>(), unit, dy.data<T>(), unit, dx.data<T>(),
                           [&](T s, T d) { return static_cast<T>(g(s, d)); });
      });
      return std::vector<Tensor>{dx};
    });
  }
  return y;
}

}  // namespace

Tensor relu(const Tensor& x) {
  return pointwise(
      x, "relu", true, [](auto v) { return v > 0 ? v : decltype(v)(0); },
      [](auto y, auto d) { return y > 0 ? d : decltype(d)(0); });
}

Tensor leaky_relu(const Tensor& x, double slope) {
  return pointwise(
      x, "leaky_relu", false, [slope](auto v) { return v > 0 ? v : v * slope; },
      [slope](auto v, auto d) { return v > 0 ? d : d * slope; });
}

Tensor sigmoid(const Tensor& x) {
  return pointwise(
      x, "sigmoid", true, [](auto v) { return 1 / (1 + std::exp(-v)); },
      [](auto y, auto d) { return d * y * (1 - y); });
}

Tensor tanh(const Tensor& x) {
  return pointwise(
      x, "tanh", true, [](auto v) { return std::tanh(v); }, [](auto y, auto d) { return d * (1 - y * y); });
}

Tensor hardtanh(const Tensor& x, double min_val, double max_val) {
  CONVNET_CHECK(min_val <= max_val, "hardtanh: min_val (", min_val, ") must not exceed max_val (",
                max_val, "); input shape ", shape_str(x.shape()));
  // gradient 0 at and beyond the bounds, as PyTorch
  return pointwise(
      x, "hardtanh", false,
      [min_val, max_val](auto v) { return v < min_val ? min_val : v > max_val ? max_val : double(v); },
      [min_val, max_val](auto v, auto d) { return v <= min_val || v >= max_val ? decltype(d)(0) : d; });
}

Tensor relu6(const Tensor& x) { return hardtanh(x, 0, 6); }

// The lambdas below compute in the input's type T (float math for float32, as PyTorch).
Tensor elu(const Tensor& x, double alpha) {
  return pointwise(
      x, "elu", false,
      [alpha](auto v) {
        using T = decltype(v);
        return v > 0 ? v : T(alpha) * std::expm1(v);
      },
      [alpha](auto v, auto d) {
        using T = decltype(v);
        return v > 0 ? d : d * T(alpha) * std::exp(v);
      });
}

Tensor gelu(const Tensor& x, const std::string& approximate) {
  if (approximate == "none")
    return pointwise(
        x, "gelu", false,
        [](auto v) {
          using T = decltype(v);
          return T(0.5) * v * (1 + std::erf(v * T(1 / kSqrt2)));
        },
        [](auto v, auto d) {
          using T = decltype(v);
          return d * (T(0.5) * (1 + std::erf(v * T(1 / kSqrt2))) +
                      v * T(kInvSqrt2Pi) * std::exp(T(-0.5) * v * v));
        });
  CONVNET_CHECK(approximate == "tanh", "gelu: approximate must be 'none' or 'tanh', got '", approximate,
                "'; input shape ", shape_str(x.shape()));
  return pointwise(
      x, "gelu", false,
      [](auto v) {
        using T = decltype(v);
        return T(0.5) * v * (1 + std::tanh(T(kSqrt2OverPi) * (v + T(kCube) * v * v * v)));
      },
      [](auto v, auto d) {
        using T = decltype(v);
        T t = std::tanh(T(kSqrt2OverPi) * (v + T(kCube) * v * v * v));
        return d * (T(0.5) * (1 + t) +
                    T(0.5) * v * (1 - t * t) * T(kSqrt2OverPi) * (1 + 3 * T(kCube) * v * v));
      });
}

Tensor silu(const Tensor& x) {
  return pointwise(
      x, "silu", false, [](auto v) { return v / (1 + std::exp(-v)); },
      [](auto v, auto d) {
        auto s = 1 / (1 + std::exp(-v));
        return d * s * (1 + v * (1 - s));
      });
}

Tensor softplus(const Tensor& x, double beta, double threshold) {
  // linear above threshold / beta, as PyTorch
  return pointwise(
      x, "softplus", false,
      [beta, threshold](auto v) {
        using T = decltype(v);
        return v * T(beta) > T(threshold) ? v : std::log1p(std::exp(v * T(beta))) / T(beta);
      },
      [beta, threshold](auto v, auto d) {
        using T = decltype(v);
        return v * T(beta) > T(threshold) ? d : d / (1 + std::exp(-v * T(beta)));
      });
}

Tensor prelu(const Tensor& x, const Tensor& weight) {
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
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), "prelu", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    cpu::prelu_forward_cpu<T>(N, rows, inner, x.data<T>(), weight.data<T>(), y.data<T>());
  });
  if (autograd::needs_record({x, weight})) {
    // x and the weight saved: dx = dy * (x > 0 ? 1 : w), dw = sum of dy * x where x <= 0
    autograd::record(y, "prelu", {x, weight}, [x = x.detach(), w = weight.detach(), N, rows, inner](
                                                   const Tensor& dy, const std::vector<bool>& needs) {
      Tensor dx = needs[0] ? Tensor::empty(x.shape(), x.dtype()) : Tensor();
      Tensor dw = needs[1] ? Tensor::empty(w.shape(), w.dtype()) : Tensor();
      dispatch_floating(x.dtype(), "prelu", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        cpu::prelu_backward_cpu<T>(N, rows, inner, x.data<T>(), w.data<T>(),
                                   dy.data<T>(), needs[0] ? dx.data<T>() : nullptr,
                                   needs[1] ? dw.data<T>() : nullptr);
      });
      return std::vector<Tensor>{dx, dw};
    });
  }
  return y;
}

}  // namespace convnet
