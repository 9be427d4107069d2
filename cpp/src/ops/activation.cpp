// Pointwise activations; x and y have the same shape. relu, sigmoid and tanh
// save their output for backward (their derivative is a function of it);
// leaky_relu saves its input. Autograd accumulates (+=) the gradients into .grad.
#include "convnet/ops/activation.h"

#include <cmath>

#include "convnet/autograd.h"
#include "cpu/elementwise.h"

namespace convnet {

namespace {

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

}  // namespace convnet
