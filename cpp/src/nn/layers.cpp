#include "convnet/nn/layers.h"

#include <cmath>

#include "convnet/autograd.h"
#include "convnet/nn/init.h"
#include "convnet/ops/activation.h"
#include "convnet/ops/dropout.h"
#include "convnet/ops/linear.h"
#include "convnet/ops/softmax.h"

namespace convnet::nn {

namespace {
std::string pair_str(const Pair& p) { return cat_str("(", p[0], ", ", p[1], ")"); }
}  // namespace

// ---- Conv2d --------------------------------------------------------------------

Conv2d::Conv2d(int64_t in_ch, int64_t out_ch, Pair k, Pair stride, Pair padding, Pair dilation,
               int64_t groups, bool bias, const std::string& padding_str)
    : in_channels(in_ch), out_channels(out_ch), kernel_size(k) {
  auto name = cat_str("Conv2d(in_channels=", in_ch, ", out_channels=", out_ch, ", kernel_size=",
                      pair_str(k), ")");
  CONVNET_CHECK(in_ch > 0 && out_ch > 0, name, ": channel counts must be positive");
  CONVNET_CHECK(k[0] > 0 && k[1] > 0, name, ": kernel_size must be positive");
  CONVNET_CHECK(stride[0] > 0 && stride[1] > 0, name, ": stride must be positive, got ", pair_str(stride));
  CONVNET_CHECK(dilation[0] > 0 && dilation[1] > 0, name, ": dilation must be positive, got ",
                pair_str(dilation));
  CONVNET_CHECK(padding[0] >= 0 && padding[1] >= 0, name, ": padding must be non-negative, got ",
                pair_str(padding));
  CONVNET_CHECK(groups > 0 && in_ch % groups == 0 && out_ch % groups == 0, name, ": groups=", groups,
                " must be positive and divide in_channels and out_channels");
  options.stride = stride;
  options.dilation = dilation;
  options.groups = groups;
  options.padding = padding;
  if (padding_str == "same") {
    CONVNET_CHECK(stride[0] == 1 && stride[1] == 1, name,
                  ": padding='same' is not supported for strided convolutions");
    options.same = true;
  } else if (padding_str == "valid") {
    options.padding = {0, 0};
  } else {
    CONVNET_CHECK(padding_str.empty(), name, ": padding must be an int, a pair, 'same' or 'valid', got '",
                  padding_str, "'");
  }
  register_parameter("weight", Tensor::empty({out_ch, in_ch / groups, k[0], k[1]}).set_requires_grad(true));
  if (bias) register_parameter("bias", Tensor::empty({out_ch}).set_requires_grad(true));
  reset_parameters();
}

void Conv2d::reset_parameters() {
  Tensor w = *find_parameter("weight");
  init::kaiming_uniform_(w, std::sqrt(5.0));
  if (Tensor* b = find_parameter("bias")) {
    double bound = 1 / std::sqrt(static_cast<double>(init::calculate_fan_in_and_fan_out(w).first));
    init::uniform_(*b, -bound, bound);
  }
}

Tensor Conv2d::forward(const Tensor& x) {
  Tensor* b = find_parameter("bias");
  return conv2d(x, params_[0].second, b ? *b : Tensor(), options);
}

std::string Conv2d::extra_repr() const {
  std::string s = cat_str(in_channels, ", ", out_channels, ", kernel_size=", pair_str(kernel_size),
                          ", stride=", pair_str(options.stride));
  if (options.same)
    s += ", padding=same";
  else if (options.padding != Pair{0, 0})
    s += ", padding=" + pair_str(options.padding);
  if (options.dilation != Pair{1, 1}) s += ", dilation=" + pair_str(options.dilation);
  if (options.groups != 1) s += cat_str(", groups=", options.groups);
  bool has_bias = false;
  for (auto& p : params_) has_bias |= p.first == "bias";
  if (!has_bias) s += ", bias=False";
  return s;
}

// ---- Linear ----------------------------------------------------------------------

Linear::Linear(int64_t in_f, int64_t out_f, bool bias) : in_features(in_f), out_features(out_f) {
  CONVNET_CHECK(in_f > 0 && out_f > 0, "Linear(in_features=", in_f, ", out_features=", out_f,
                "): feature counts must be positive");
  register_parameter("weight", Tensor::empty({out_f, in_f}).set_requires_grad(true));
  if (bias) register_parameter("bias", Tensor::empty({out_f}).set_requires_grad(true));
  reset_parameters();
}

void Linear::reset_parameters() {
  Tensor w = *find_parameter("weight");
  init::kaiming_uniform_(w, std::sqrt(5.0));
  if (Tensor* b = find_parameter("bias")) {
    double bound = 1 / std::sqrt(static_cast<double>(in_features));
    init::uniform_(*b, -bound, bound);
  }
}

Tensor Linear::forward(const Tensor& x) {
  Tensor* b = find_parameter("bias");
  return linear(x, params_[0].second, b ? *b : Tensor());
}

std::string Linear::extra_repr() const {
  bool has_bias = false;
  for (auto& p : params_) has_bias |= p.first == "bias";
  return cat_str("in_features=", in_features, ", out_features=", out_features,
                 ", bias=", has_bias ? "True" : "False");
}

// ---- pooling -----------------------------------------------------------------------

namespace {
std::string pool_repr(const Pool2dOptions& o, bool is_max) {
  std::string s = cat_str("kernel_size=", pair_str(o.kernel_size), ", stride=", pair_str(o.stride),
                          ", padding=", pair_str(o.padding));
  if (is_max && o.dilation != Pair{1, 1}) s += ", dilation=" + pair_str(o.dilation);
  s += cat_str(", ceil_mode=", o.ceil_mode ? "True" : "False");
  if (!is_max && !o.count_include_pad) s += ", count_include_pad=False";
  return s;
}
}  // namespace

std::string MaxPool2d::extra_repr() const { return pool_repr(options, true); }
std::string AvgPool2d::extra_repr() const { return pool_repr(options, false); }
std::string AdaptiveAvgPool2d::extra_repr() const { return "output_size=" + pair_str(output_size); }

// ---- shape ---------------------------------------------------------------------------

Tensor flatten(const Tensor& x, int64_t start, int64_t end) {
  int64_t nd = std::max<int64_t>(x.dim(), 1);
  int64_t s = start < 0 ? start + nd : start, e = end < 0 ? end + nd : end;
  if (s < 0 || s >= nd || e < 0 || e >= nd || s > e)
    throw IndexError(cat_str("flatten: start_dim=", start, " and end_dim=", end,
                                    " are invalid for a tensor of shape ", shape_str(x.shape())));
  if (x.dim() == 0) return x.reshape({1});
  Shape out(x.shape().begin(), x.shape().begin() + s);
  int64_t m = 1;
  for (int64_t i = s; i <= e; ++i) m *= x.shape()[i];
  out.push_back(m);
  out.insert(out.end(), x.shape().begin() + e + 1, x.shape().end());
  return x.reshape(out);
}

Tensor Flatten::forward(const Tensor& x) { return flatten(x, start_dim, end_dim); }
std::string Flatten::extra_repr() const { return cat_str("start_dim=", start_dim, ", end_dim=", end_dim); }

// ---- activations -----------------------------------------------------------------------

Tensor ReLU::forward(const Tensor& x) { return relu(x); }
Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, negative_slope); }
std::string LeakyReLU::extra_repr() const { return cat_str("negative_slope=", negative_slope); }
Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }
Tensor Tanh::forward(const Tensor& x) { return tanh(x); }
Tensor Softmax::forward(const Tensor& x) { return softmax(x, dim); }
std::string Softmax::extra_repr() const { return cat_str("dim=", dim); }
Tensor LogSoftmax::forward(const Tensor& x) { return log_softmax(x, dim); }
std::string LogSoftmax::extra_repr() const { return cat_str("dim=", dim); }

Dropout::Dropout(double p) : p(p) {
  CONVNET_CHECK(p >= 0 && p <= 1, "Dropout: probability has to be between 0 and 1, but got ", p);
}
Tensor Dropout::forward(const Tensor& x) { return dropout(x, p, training_); }
std::string Dropout::extra_repr() const { return cat_str("p=", p); }

// ---- Sequential ----------------------------------------------------------------------------

void Sequential::append(std::shared_ptr<Module> m) { register_module(std::to_string(children_.size()), std::move(m)); }

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (auto& [n, m] : children_) y = (*m)(y);
  return y;
}

std::shared_ptr<Module> Sequential::at(int64_t i) const {
  int64_t n = static_cast<int64_t>(children_.size());
  if (i < -n || i >= n)
    throw IndexError(cat_str("Sequential: index ", i, " is out of range for ", n, " modules"));
  return children_[i < 0 ? i + n : i].second;
}

}  // namespace convnet::nn
