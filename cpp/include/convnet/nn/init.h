// Parameter initialization, in place and without autograd; names as torch.nn.init.
#pragma once
#include <string>

#include "convnet/tensor.h"

namespace convnet::nn::init {

// (fan_in, fan_out) of a weight: dim 1 and dim 0 times the receptive field size.
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& w);
// nonlinearity: "linear", "conv2d", "sigmoid", "tanh", "relu", "leaky_relu" (param = slope).
double calculate_gain(const std::string& nonlinearity, double param = 0.01);

void normal_(const Tensor& t, double mean = 0, double std = 1);
void uniform_(const Tensor& t, double a = 0, double b = 1);
void zeros_(const Tensor& t);
void ones_(const Tensor& t);
void constant_(const Tensor& t, double value);
void xavier_uniform_(const Tensor& t, double gain = 1);
void xavier_normal_(const Tensor& t, double gain = 1);
// mode "fan_in" | "fan_out".
void kaiming_uniform_(const Tensor& t, double a = 0, const std::string& mode = "fan_in",
                      const std::string& nonlinearity = "leaky_relu");
void kaiming_normal_(const Tensor& t, double a = 0, const std::string& mode = "fan_in",
                     const std::string& nonlinearity = "leaky_relu");
// Normal(mean, std) truncated to [a, b] (PyTorch's inverse-CDF method).
void trunc_normal_(const Tensor& t, double mean = 0, double std = 1, double a = -2, double b = 2);

}  // namespace convnet::nn::init
