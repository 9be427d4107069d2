#include "convnet/nn/init.h"

#include <algorithm>
#include <cmath>

#include "convnet/autograd.h"
#include "convnet/random.h"

namespace convnet::nn::init {

std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& w) {
  CONVNET_CHECK(w.dim() >= 2, "init: fan in and fan out can not be computed for a tensor with fewer "
                "than 2 dimensions; shape ", shape_str(w.shape()));
  int64_t field = 1;
  for (int64_t i = 2; i < w.dim(); ++i) field *= w.shape()[i];
  return {w.shape()[1] * field, w.shape()[0] * field};
}

double calculate_gain(const std::string& nl, double param) {
  if (nl == "linear" || nl == "conv1d" || nl == "conv2d" || nl == "conv3d" || nl == "sigmoid") return 1;
  if (nl == "tanh") return 5.0 / 3;
  if (nl == "relu") return std::sqrt(2.0);
  if (nl == "leaky_relu") return std::sqrt(2.0 / (1 + param * param));
  if (nl == "selu") return 3.0 / 4;
  throw ValueError("calculate_gain: unsupported nonlinearity \"" + nl + "\"");
}

void normal_(const Tensor& t, double mean, double std) { convnet::normal_(t, mean, std); }
void uniform_(const Tensor& t, double a, double b) { convnet::uniform_(t, a, b); }
void zeros_(const Tensor& t) { fill_(t, 0); }
void ones_(const Tensor& t) { fill_(t, 1); }
void constant_(const Tensor& t, double v) { fill_(t, v); }

void xavier_uniform_(const Tensor& t, double gain) {
  auto [fi, fo] = calculate_fan_in_and_fan_out(t);
  double a = gain * std::sqrt(6.0 / static_cast<double>(fi + fo));
  init::uniform_(t, -a, a);
}

void xavier_normal_(const Tensor& t, double gain) {
  auto [fi, fo] = calculate_fan_in_and_fan_out(t);
  init::normal_(t, 0, gain * std::sqrt(2.0 / static_cast<double>(fi + fo)));
}

namespace {
double kaiming_std(const Tensor& t, double a, const std::string& mode, const std::string& nl) {
  auto [fi, fo] = calculate_fan_in_and_fan_out(t);
  CONVNET_CHECK(mode == "fan_in" || mode == "fan_out", "kaiming init: mode must be \"fan_in\" or \"fan_out\", got \"",
                mode, "\"");
  double fan = static_cast<double>(mode == "fan_in" ? fi : fo);
  return calculate_gain(nl, a) / std::sqrt(fan);
}
}  // namespace

void kaiming_uniform_(const Tensor& t, double a, const std::string& mode, const std::string& nl) {
  double bound = std::sqrt(3.0) * kaiming_std(t, a, mode, nl);
  init::uniform_(t, -bound, bound);
}

void kaiming_normal_(const Tensor& t, double a, const std::string& mode, const std::string& nl) {
  init::normal_(t, 0, kaiming_std(t, a, mode, nl));
}

namespace {
// The inverse of erf on (-1, 1): Giles' single-precision approximation ("Approximating the
// erfinv function", GPU Computing Gems, 2011) refined by two Newton steps on std::erf.
double erfinv(double y) {
  if (y <= -1) return -INFINITY;
  if (y >= 1) return INFINITY;
  double w = -std::log((1 - y) * (1 + y)), x;
  if (w < 5) {
    w -= 2.5;
    x = 2.81022636e-08;
    for (double c : {3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
                     -0.00417768164, 0.246640727, 1.50140941})
      x = c + x * w;
  } else {
    w = std::sqrt(w) - 3;
    x = -0.000200214257;
    for (double c : {0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
                     0.00943887047, 1.00167406, 2.83297682})
      x = c + x * w;
  }
  x *= y;
  for (int i = 0; i < 2; ++i) x -= (std::erf(x) - y) / (2 / std::sqrt(M_PI) * std::exp(-x * x));
  return x;
}
}  // namespace

void trunc_normal_(const Tensor& t, double mean, double std, double a, double b) {
  CONVNET_CHECK(is_floating(t.dtype()), "trunc_normal_: expected a float32 or float64 tensor, got ",
                dtype_name(t.dtype()));
  CONVNET_CHECK(std > 0 && a < b, "trunc_normal_: expected std > 0 and a < b, got std=", std, ", a=", a, ", b=", b);
  // PyTorch's method: uniform draws between the normal CDF's values at a and b, mapped back
  // through the inverse CDF, clamped to [a, b].
  auto cdf = [](double x) { return (1 + std::erf(x / std::sqrt(2.0))) / 2; };
  const double lo = cdf((a - mean) / std), hi = cdf((b - mean) / std);
  Tensor u = Tensor::empty({t.numel()}, DType::Float64);
  convnet::uniform_(u, 2 * lo - 1, 2 * hi - 1);
  double* p = u.data<double>();
  for (int64_t i = 0; i < u.numel(); ++i) p[i] = std::clamp(mean + std * std::sqrt(2.0) * erfinv(p[i]), a, b);
  const Tensor v = u.reshape(t.shape()).to(t.dtype());
  copy_bytes(t.raw_data(), t.device(), v.raw_data(), v.device(), t.nbytes());
}

}  // namespace convnet::nn::init
