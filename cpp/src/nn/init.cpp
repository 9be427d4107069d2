#include "convnet/nn/init.h"

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

}  // namespace convnet::nn::init
