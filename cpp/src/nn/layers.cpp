#include "convnet/nn/layers.h"

#include <cmath>
#include <iomanip>

#include "convnet/autograd.h"
#include "convnet/nn/init.h"
#include "convnet/ops/batch_norm.h"
#include "convnet/ops/activation.h"
#include "convnet/ops/dropout.h"
#include "convnet/ops/embedding.h"
#include "convnet/ops/layer_norm.h"
#include "convnet/ops/linear.h"
#include "convnet/ops/local_response_norm.h"
#include "convnet/ops/pad.h"
#include "convnet/ops/pixel_shuffle.h"
#include "convnet/ops/softmax.h"
#include "convnet/ops/view.h"

namespace convnet::nn {

namespace {
std::string pair_str(const Pair& p) { return cat_str("(", p[0], ", ", p[1], ")"); }
// A float as Python's repr writes it: "1.0", "20.0", "0.25", "1e-05".
std::string py_float(double v) {
  const double a = std::fabs(v);
  if (a >= 1e-4 && a < 1e16) {  // positional, with the fewest decimals that read back as v
    if (v == std::floor(v)) return cat_str(static_cast<int64_t>(v), ".0");
    for (int d = 1; d < 17; ++d) {
      std::string t = cat_str(std::fixed, std::setprecision(d), v);
      if (std::stod(t) == v) return t;
    }
  }
  for (int p = 1; p < 17; ++p) {
    std::string t = cat_str(std::setprecision(p), v);
    if (std::stod(t) == v) return t;
  }
  return cat_str(std::setprecision(17), v);
}
std::string triple_str(const Triple& t) { return cat_str("(", t[0], ", ", t[1], ", ", t[2], ")"); }
// PyTorch's initialization of a convolution: Kaiming-uniform weights with a = sqrt(5), the bias
// uniform in +-1/sqrt(fan_in).
void reset_conv_parameters(Module& m) {
  Tensor w = *m.find_parameter("weight");
  init::kaiming_uniform_(w, std::sqrt(5.0));
  if (Tensor* b = m.find_parameter("bias")) {
    double bound = 1 / std::sqrt(static_cast<double>(init::calculate_fan_in_and_fan_out(w).first));
    init::uniform_(*b, -bound, bound);
  }
}
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
  else register_none("bias");
  reset_parameters();
}

void Conv2d::reset_parameters() { reset_conv_parameters(*this); }

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

// ---- ConvTranspose2d ---------------------------------------------------------------------

ConvTranspose2d::ConvTranspose2d(int64_t in_ch, int64_t out_ch, Pair k, Pair stride, Pair padding,
                                 Pair output_padding, int64_t groups, bool bias, Pair dilation)
    : in_channels(in_ch), out_channels(out_ch), kernel_size(k) {
  auto name = cat_str("ConvTranspose2d(in_channels=", in_ch, ", out_channels=", out_ch, ", kernel_size=",
                      pair_str(k), ")");
  CONVNET_CHECK(in_ch > 0 && out_ch > 0, name, ": channel counts must be positive");
  CONVNET_CHECK(k[0] > 0 && k[1] > 0, name, ": kernel_size must be positive");
  CONVNET_CHECK(stride[0] > 0 && stride[1] > 0, name, ": stride must be positive, got ", pair_str(stride));
  CONVNET_CHECK(dilation[0] > 0 && dilation[1] > 0, name, ": dilation must be positive, got ", pair_str(dilation));
  CONVNET_CHECK(padding[0] >= 0 && padding[1] >= 0, name, ": padding must be non-negative, got ", pair_str(padding));
  CONVNET_CHECK(output_padding[0] >= 0 && output_padding[1] >= 0 &&
                    output_padding[0] < std::max(stride[0], dilation[0]) &&
                    output_padding[1] < std::max(stride[1], dilation[1]),
                name, ": output_padding ", pair_str(output_padding),
                " must be non-negative and smaller than either stride or dilation");
  CONVNET_CHECK(groups > 0 && in_ch % groups == 0 && out_ch % groups == 0, name, ": groups=", groups,
                " must be positive and divide in_channels and out_channels");
  options.stride = stride;
  options.padding = padding;
  options.output_padding = output_padding;
  options.dilation = dilation;
  options.groups = groups;
  register_parameter("weight", Tensor::empty({in_ch, out_ch / groups, k[0], k[1]}).set_requires_grad(true));
  if (bias) register_parameter("bias", Tensor::empty({out_ch}).set_requires_grad(true));
  else register_none("bias");
  reset_parameters();
}

void ConvTranspose2d::reset_parameters() {
  Tensor w = *find_parameter("weight");
  init::kaiming_uniform_(w, std::sqrt(5.0));
  if (Tensor* b = find_parameter("bias")) {
    double bound = 1 / std::sqrt(static_cast<double>(init::calculate_fan_in_and_fan_out(w).first));
    init::uniform_(*b, -bound, bound);
  }
}

Tensor ConvTranspose2d::forward(const Tensor& x) {
  Tensor* b = find_parameter("bias");
  return conv_transpose2d(x, params_[0].second, b ? *b : Tensor(), options);
}

std::string ConvTranspose2d::extra_repr() const {
  std::string s = cat_str(in_channels, ", ", out_channels, ", kernel_size=", pair_str(kernel_size),
                          ", stride=", pair_str(options.stride));
  if (options.padding != Pair{0, 0}) s += ", padding=" + pair_str(options.padding);
  if (options.dilation != Pair{1, 1}) s += ", dilation=" + pair_str(options.dilation);
  if (options.output_padding != Pair{0, 0}) s += ", output_padding=" + pair_str(options.output_padding);
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
  else register_none("bias");
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
namespace {
std::string adaptive_repr(const AdaptiveSize& o, bool scalar) {
  auto entry = [](const std::optional<int64_t>& v) { return v ? std::to_string(*v) : std::string("None"); };
  return "output_size=" + (scalar ? entry(o[0]) : cat_str("(", entry(o[0]), ", ", entry(o[1]), ")"));
}

void check_adaptive_size(const AdaptiveSize& o, const char* layer) {
  CONVNET_CHECK((!o[0] || *o[0] > 0) && (!o[1] || *o[1] > 0), layer, adaptive_repr(o, false),
                ": output_size must be positive (or None)");
}
}  // namespace

AdaptiveAvgPool2d::AdaptiveAvgPool2d(AdaptiveSize o, bool scalar) : output_size(o), scalar(scalar) {
  check_adaptive_size(o, "AdaptiveAvgPool2d: ");
}
AdaptiveMaxPool2d::AdaptiveMaxPool2d(AdaptiveSize o, bool scalar) : output_size(o), scalar(scalar) {
  check_adaptive_size(o, "AdaptiveMaxPool2d: ");
}
std::string AdaptiveAvgPool2d::extra_repr() const { return adaptive_repr(output_size, scalar); }
std::string AdaptiveMaxPool2d::extra_repr() const { return adaptive_repr(output_size, scalar); }

std::string LPPool2d::extra_repr() const {
  auto size = [](const Pair& p) { return p[0] == p[1] ? std::to_string(p[0]) : pair_str(p); };
  return cat_str("norm_type=", norm_type, ", kernel_size=", size(options.kernel_size), ", stride=",
                 stride_given ? size(options.stride) : "None", ", ceil_mode=", options.ceil_mode ? "True" : "False");
}

LPPool2d::LPPool2d(double norm_type, Pool2dOptions o, bool stride_given)
    : norm_type(norm_type), options(o), stride_given(stride_given) {
  CONVNET_CHECK(norm_type != 0 && std::isfinite(norm_type), "LPPool2d(norm_type=", norm_type,
                "): norm_type must be finite and non-zero");
  CONVNET_CHECK(o.kernel_size[0] > 0 && o.kernel_size[1] > 0 && o.stride[0] > 0 && o.stride[1] > 0,
                "LPPool2d(norm_type=", norm_type, ", kernel_size=", pair_str(o.kernel_size), ", stride=",
                pair_str(o.stride), "): kernel_size and stride must be positive");
}

// ---- shape ---------------------------------------------------------------------------

Tensor flatten(const Tensor& x, int64_t start, int64_t end) {
  int64_t nd = std::max<int64_t>(x.dim(), 1);
  int64_t s = start < 0 ? start + nd : start, e = end < 0 ? end + nd : end;
  if (s < 0 || s >= nd || e < 0 || e >= nd || s > e)
    throw IndexError(cat_str("flatten: start_dim=", start, " and end_dim=", end,
                                    " are invalid for a tensor of shape ", shape_str(x.shape())));
  if (x.dim() == 0) return x.reshape({1});
  Shape out(x.shape().begin(), x.shape().begin() + s);
  out.push_back(size_product(x.shape(), static_cast<size_t>(s), static_cast<size_t>(e) + 1, "flatten"));
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

// ---- pass-through and more activations ------------------------------------------------

Hardtanh::Hardtanh(double min_val, double max_val, bool inplace)
    : min_val(min_val), max_val(max_val), inplace(inplace) {
  CONVNET_CHECK(max_val > min_val, "Hardtanh: max_val (", max_val, ") must be greater than min_val (",
                min_val, ")");
}
Tensor Hardtanh::forward(const Tensor& x) { return hardtanh(x, min_val, max_val); }
std::string Hardtanh::extra_repr() const {
  return cat_str("min_val=", py_float(min_val), ", max_val=", py_float(max_val), inplace ? ", inplace=True" : "");
}

Tensor ELU::forward(const Tensor& x) { return elu(x, alpha); }
std::string ELU::extra_repr() const { return cat_str("alpha=", py_float(alpha), inplace ? ", inplace=True" : ""); }

GELU::GELU(const std::string& approximate) : approximate(approximate) {
  CONVNET_CHECK(approximate == "none" || approximate == "tanh",
                "GELU: approximate must be 'none' or 'tanh', got '", approximate, "'");
}
Tensor GELU::forward(const Tensor& x) { return gelu(x, approximate); }

Tensor SiLU::forward(const Tensor& x) { return silu(x); }

Tensor Softplus::forward(const Tensor& x) { return softplus(x, beta, threshold); }
std::string Softplus::extra_repr() const {
  return cat_str("beta=", py_float(beta), ", threshold=", py_float(threshold));
}

PReLU::PReLU(int64_t num_parameters, double init) : num_parameters(num_parameters), init(init) {
  CONVNET_CHECK(num_parameters >= 1, "PReLU: num_parameters must be positive, got ", num_parameters);
  register_parameter("weight", Tensor::empty({num_parameters}).set_requires_grad(true));
  reset_parameters();
}
void PReLU::reset_parameters() { init::constant_(*find_parameter("weight"), init); }
Tensor PReLU::forward(const Tensor& x) { return prelu(x, *find_parameter("weight")); }

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

// ---- BatchNorm ------------------------------------------------------------------------------

BatchNorm::BatchNorm(int64_t num_features, double eps, std::optional<double> momentum, bool affine,
                     bool track_running_stats, bool bias)
    : num_features(num_features), eps(eps), momentum(momentum), affine(affine),
      track_running_stats(track_running_stats) {
  CONVNET_CHECK(num_features > 0, "BatchNorm(num_features=", num_features, "): num_features must be positive");
  CONVNET_CHECK(eps >= 0, "BatchNorm(num_features=", num_features, "): eps must be non-negative, got ", eps);
  if (affine) {
    register_parameter("weight", Tensor::empty({num_features}).set_requires_grad(true));
    if (bias) register_parameter("bias", Tensor::empty({num_features}).set_requires_grad(true));
    else register_none("bias");
  } else {
    register_none("weight");
    register_none("bias");
  }
  if (track_running_stats) {
    register_buffer("running_mean", Tensor::empty({num_features}));
    register_buffer("running_var", Tensor::empty({num_features}));
    register_buffer("num_batches_tracked", Tensor::empty({}, DType::Int64));
  } else {
    for (const char* name : {"running_mean", "running_var", "num_batches_tracked"}) register_none(name);
  }
  reset_parameters();
}

void BatchNorm::reset_running_stats() {
  if (!track_running_stats) return;
  init::zeros_(*find_buffer("running_mean"));
  init::ones_(*find_buffer("running_var"));
  fill_(*find_buffer("num_batches_tracked"), 0);
}

void BatchNorm::reset_parameters() {
  reset_running_stats();
  if (!affine) return;
  init::ones_(*find_parameter("weight"));
  if (Tensor* b = find_parameter("bias")) init::zeros_(*b);
}

Tensor BatchNorm::forward(const Tensor& x) {
  check_input_dim(x);
  CONVNET_CHECK(x.size(1) == num_features, "input has ", x.size(1), " channel(s), expected ",
                num_features, "; input shape ", shape_str(x.shape()));
  // As PyTorch: in training with tracked statistics, count the batch; momentum None averages
  // over every batch so far (the count is read, from the GPU too, only then).
  Tensor* count = track_running_stats ? find_buffer("num_batches_tracked") : nullptr;
  const bool counting = training_ && count;
  double factor = momentum.value_or(0.0);
  if (counting && !momentum) factor = 1.0 / (count->item() + 1);
  const bool use_running = !training_ && track_running_stats;
  Tensor rm = track_running_stats && (training_ || use_running) ? *find_buffer("running_mean") : Tensor();
  Tensor rv = track_running_stats && (training_ || use_running) ? *find_buffer("running_var") : Tensor();
  Tensor* w = find_parameter("weight");
  Tensor* b = find_parameter("bias");
  Tensor y = batch_norm(x, rm, rv, w ? *w : Tensor(), b ? *b : Tensor(), !use_running, factor, eps);
  if (counting) batch_norm_count(*count);
  return y;
}

std::string BatchNorm::extra_repr() const {
  bool has_bias = false;
  for (auto& p : params_) has_bias |= p.first == "bias";
  return cat_str(num_features, ", eps=", py_float(eps), ", momentum=", momentum ? py_float(*momentum) : "None",
                 ", affine=", affine ? "True" : "False", ", bias=", has_bias ? "True" : "False",
                 ", track_running_stats=", track_running_stats ? "True" : "False");
}

void BatchNorm1d::check_input_dim(const Tensor& x) const {
  CONVNET_CHECK(x.dim() == 2 || x.dim() == 3, "expected a 2-D (N, C) or 3-D (N, C, L) input, got shape ",
                shape_str(x.shape()));
}

void BatchNorm2d::check_input_dim(const Tensor& x) const {
  CONVNET_CHECK(x.dim() == 4, "expected a 4-D input (N, C, H, W), got shape ", shape_str(x.shape()));
}

// ---- LocalResponseNorm ------------------------------------------------------------------------

LocalResponseNorm::LocalResponseNorm(int64_t size, double alpha, double beta, double k)
    : size(size), alpha(alpha), beta(beta), k(k) {
  CONVNET_CHECK(size > 0, "LocalResponseNorm(size=", size, "): size must be positive");
}

Tensor LocalResponseNorm::forward(const Tensor& x) {
  return local_response_norm(x, size, alpha, beta, k);
}

std::string LocalResponseNorm::extra_repr() const {
  return cat_str(size, ", alpha=", py_float(alpha), ", beta=", py_float(beta), ", k=", py_float(k));
}

// ---- ZeroPad2d --------------------------------------------------------------------------------

Tensor ZeroPad2d::forward(const Tensor& x) {
  return pad(x, {padding[0], padding[1], padding[2], padding[3]}, 0.0);
}

std::string ZeroPad2d::extra_repr() const {
  return cat_str("(", padding[0], ", ", padding[1], ", ", padding[2], ", ", padding[3], ")");
}

// ---- Upsample -----------------------------------------------------------------------------------

Upsample::Upsample(InterpolateOptions o, bool scalar) : options(std::move(o)), scalar(scalar) {
  CONVNET_CHECK(options.size.has_value() != options.scale_factor.has_value(),
                "Upsample: exactly one of size and scale_factor must be given");
  CONVNET_CHECK(options.mode == "nearest" || options.mode == "bilinear",
                "Upsample: mode must be 'nearest' or 'bilinear', got '", options.mode, "'");
}

Tensor Upsample::forward(const Tensor& x) { return interpolate(x, options); }

std::string Upsample::extra_repr() const {
  std::string s;
  if (options.scale_factor) {
    const auto& f = *options.scale_factor;
    s = "scale_factor=" + (scalar ? py_float(f[0]) : cat_str("(", py_float(f[0]), ", ", py_float(f[1]), ")"));
  } else {
    const auto& z = *options.size;
    s = "size=" + (scalar ? std::to_string(z[0]) : pair_str(z));
  }
  return s + ", mode='" + options.mode + "'";
}

// ---- Conv1d ----------------------------------------------------------------------------------

Conv1d::Conv1d(int64_t in_ch, int64_t out_ch, int64_t k, int64_t stride, int64_t padding, int64_t dilation,
               int64_t groups, bool bias, const std::string& padding_str)
    : in_channels(in_ch), out_channels(out_ch), kernel_size(k) {
  auto name = cat_str("Conv1d(in_channels=", in_ch, ", out_channels=", out_ch, ", kernel_size=", k, ")");
  CONVNET_CHECK(in_ch > 0 && out_ch > 0, name, ": channel counts must be positive");
  CONVNET_CHECK(k > 0, name, ": kernel_size must be positive");
  CONVNET_CHECK(stride > 0, name, ": stride must be positive, got ", stride);
  CONVNET_CHECK(dilation > 0, name, ": dilation must be positive, got ", dilation);
  CONVNET_CHECK(padding >= 0, name, ": padding must be non-negative, got ", padding);
  CONVNET_CHECK(groups > 0 && in_ch % groups == 0 && out_ch % groups == 0, name, ": groups=", groups,
                " must be positive and divide in_channels and out_channels");
  options.stride = stride;
  options.padding = padding;
  options.dilation = dilation;
  options.groups = groups;
  if (padding_str == "same") {
    CONVNET_CHECK(stride == 1, name, ": padding='same' is not supported for strided convolutions");
    options.same = true;
  } else if (padding_str == "valid") {
    options.padding = 0;
  } else {
    CONVNET_CHECK(padding_str.empty(), name, ": padding must be an int, 'same' or 'valid', got '", padding_str, "'");
  }
  register_parameter("weight", Tensor::empty({out_ch, in_ch / groups, k}).set_requires_grad(true));
  if (bias) register_parameter("bias", Tensor::empty({out_ch}).set_requires_grad(true));
  else register_none("bias");
  reset_parameters();
}

void Conv1d::reset_parameters() { reset_conv_parameters(*this); }

Tensor Conv1d::forward(const Tensor& x) {
  Tensor* b = find_parameter("bias");
  return conv1d(x, params_[0].second, b ? *b : Tensor(), options);
}

std::string Conv1d::extra_repr() const {
  std::string s = cat_str(in_channels, ", ", out_channels, ", kernel_size=(", kernel_size, ",), stride=(",
                          options.stride, ",)");
  if (options.same)
    s += ", padding=same";
  else if (options.padding != 0)
    s += cat_str(", padding=(", options.padding, ",)");
  if (options.dilation != 1) s += cat_str(", dilation=(", options.dilation, ",)");
  if (options.groups != 1) s += cat_str(", groups=", options.groups);
  bool bias = false;
  for (auto& p : params_) bias |= p.first == "bias";
  if (!bias) s += ", bias=False";
  return s;
}

// ---- 1-D pooling, unpooling --------------------------------------------------------------------

std::string MaxPool1d::extra_repr() const {
  return cat_str("kernel_size=", options.kernel_size, ", stride=", options.stride, ", padding=", options.padding,
                 ", dilation=", options.dilation, ", ceil_mode=", options.ceil_mode ? "True" : "False");
}

std::string AvgPool1d::extra_repr() const {
  return cat_str("kernel_size=(", options.kernel_size, ",), stride=(", options.stride, ",), padding=(",
                 options.padding, ",)");
}

AdaptiveAvgPool1d::AdaptiveAvgPool1d(int64_t output_size) : output_size(output_size) {
  CONVNET_CHECK(output_size > 0, "AdaptiveAvgPool1d: output_size must be positive, got ", output_size);
}

std::string MaxUnpool2d::extra_repr() const {
  return cat_str("kernel_size=", pair_str(options.kernel_size), ", stride=", pair_str(options.stride),
                 ", padding=", pair_str(options.padding));
}

// ---- PixelShuffle, Dropout2d, Embedding ------------------------------------------------------------

Tensor PixelShuffle::forward(const Tensor& x) { return pixel_shuffle(x, upscale_factor); }
Tensor PixelUnshuffle::forward(const Tensor& x) { return pixel_unshuffle(x, downscale_factor); }

Dropout2d::Dropout2d(double p, bool inplace) : p(p), inplace(inplace) {
  CONVNET_CHECK(p >= 0 && p <= 1, "Dropout2d: probability has to be between 0 and 1, but got ", p);
}
Tensor Dropout2d::forward(const Tensor& x) { return dropout2d(x, p, training_); }
std::string Dropout2d::extra_repr() const {
  return cat_str("p=", py_float(p), ", inplace=", inplace ? "True" : "False");
}

Embedding::Embedding(int64_t num_embeddings, int64_t embedding_dim, std::optional<int64_t> pad)
    : num_embeddings(num_embeddings), embedding_dim(embedding_dim) {
  auto name = cat_str("Embedding(", num_embeddings, ", ", embedding_dim, ")");
  CONVNET_CHECK(num_embeddings > 0 && embedding_dim > 0, name, ": sizes must be positive");
  if (pad) {
    CONVNET_CHECK(*pad < num_embeddings && *pad >= -num_embeddings, name,
                  ": padding_idx must be within num_embeddings, got ", *pad);
    padding_idx = *pad < 0 ? *pad + num_embeddings : *pad;
  }
  register_parameter("weight", Tensor::empty({num_embeddings, embedding_dim}).set_requires_grad(true));
  reset_parameters();
}

void Embedding::reset_parameters() {
  Tensor w = *find_parameter("weight");
  init::normal_(w);
  if (padding_idx) {
    NoGradGuard g;
    init::zeros_(narrow(w, 0, *padding_idx, 1));
  }
}

Tensor Embedding::forward(const Tensor& x) { return embedding(x, params_[0].second, padding_idx); }

std::string Embedding::extra_repr() const {
  std::string s = cat_str(num_embeddings, ", ", embedding_dim);
  if (padding_idx) s += cat_str(", padding_idx=", *padding_idx);
  return s;
}

// ---- GroupNorm, LayerNorm, InstanceNorm2d ---------------------------------------------------------

namespace {
// weight (ones) and bias (zeros) of `shape`, or None slots.
void norm_parameters(Module& m, const Shape& shape, bool affine, bool bias) {
  if (affine) m.register_parameter("weight", Tensor::empty(shape).set_requires_grad(true));
  else m.register_none("weight");
  if (affine && bias) m.register_parameter("bias", Tensor::empty(shape).set_requires_grad(true));
  else m.register_none("bias");
}
void reset_norm_parameters(Module& m) {
  if (Tensor* w = m.find_parameter("weight")) init::ones_(*w);
  if (Tensor* b = m.find_parameter("bias")) init::zeros_(*b);
}
Tensor param_or_none(Module& m, const char* name) {
  Tensor* p = m.find_parameter(name);
  return p ? *p : Tensor();
}
const char* py_bool(bool v) { return v ? "True" : "False"; }
bool has_bias(const Named<Tensor>& params) {
  for (auto& p : params)
    if (p.first == "bias") return true;
  return false;
}
}  // namespace

GroupNorm::GroupNorm(int64_t num_groups, int64_t num_channels, double eps, bool affine, bool bias)
    : num_groups(num_groups), num_channels(num_channels), eps(eps), affine(affine) {
  CONVNET_CHECK(num_groups > 0 && num_channels > 0 && num_channels % num_groups == 0, "GroupNorm(", num_groups,
                ", ", num_channels, "): num_channels must be divisible by num_groups");
  norm_parameters(*this, {num_channels}, affine, bias);
  reset_parameters();
}
void GroupNorm::reset_parameters() { reset_norm_parameters(*this); }
Tensor GroupNorm::forward(const Tensor& x) {
  CONVNET_CHECK(x.dim() >= 2 && x.size(1) == num_channels, "expected an input (N, ", num_channels,
                ", *) of ", num_channels, " channels, got shape ", shape_str(x.shape()));
  return group_norm(x, num_groups, param_or_none(*this, "weight"), param_or_none(*this, "bias"), eps);
}
std::string GroupNorm::extra_repr() const {
  return cat_str(num_groups, ", ", num_channels, ", eps=", py_float(eps), ", affine=", py_bool(affine),
                 ", bias=", py_bool(has_bias(params_)));
}

LayerNorm::LayerNorm(Shape shape, double eps, bool elementwise_affine, bool bias)
    : normalized_shape(std::move(shape)), eps(eps), elementwise_affine(elementwise_affine) {
  CONVNET_CHECK(!normalized_shape.empty(), "LayerNorm: normalized_shape must have at least one dimension");
  for (int64_t d : normalized_shape)
    CONVNET_CHECK(d > 0, "LayerNorm: normalized_shape must be positive, got ", shape_str(normalized_shape));
  norm_parameters(*this, normalized_shape, elementwise_affine, bias);
  reset_parameters();
}
void LayerNorm::reset_parameters() { reset_norm_parameters(*this); }
Tensor LayerNorm::forward(const Tensor& x) {
  return layer_norm(x, normalized_shape, param_or_none(*this, "weight"), param_or_none(*this, "bias"), eps);
}
std::string LayerNorm::extra_repr() const {
  return cat_str(shape_str(normalized_shape), ", eps=", py_float(eps), ", elementwise_affine=",
                 py_bool(elementwise_affine), ", bias=", py_bool(has_bias(params_)));
}

InstanceNorm2d::InstanceNorm2d(int64_t num_features, double eps, double momentum, bool affine,
                               bool track_running_stats, bool bias)
    : num_features(num_features), eps(eps), momentum(momentum), affine(affine),
      track_running_stats(track_running_stats) {
  CONVNET_CHECK(num_features > 0, "InstanceNorm2d(", num_features, "): num_features must be positive");
  CONVNET_CHECK(!track_running_stats, "InstanceNorm2d(", num_features,
                "): track_running_stats=True is not supported");
  norm_parameters(*this, {num_features}, affine, bias);
  reset_parameters();
}
void InstanceNorm2d::reset_parameters() { reset_norm_parameters(*this); }
Tensor InstanceNorm2d::forward(const Tensor& x) {
  CONVNET_CHECK(x.dim() == 3 || x.dim() == 4, "expected a 4-D input (N, C, H, W) or 3-D (C, H, W), got shape ",
                shape_str(x.shape()));
  const Tensor x4 = x.dim() == 4 ? x : x.reshape({1, x.size(0), x.size(1), x.size(2)});
  CONVNET_CHECK(!affine || x4.size(1) == num_features, "expected an input of ", num_features,
                " channels, got shape ", shape_str(x.shape()));
  Tensor y = instance_norm(x4, param_or_none(*this, "weight"), param_or_none(*this, "bias"), eps);
  return x.dim() == 4 ? y : y.reshape(x.shape());
}
std::string InstanceNorm2d::extra_repr() const {
  return cat_str(num_features, ", eps=", py_float(eps), ", momentum=", py_float(momentum), ", affine=",
                 py_bool(affine), ", bias=", py_bool(has_bias(params_)), ", track_running_stats=",
                 py_bool(track_running_stats));
}

// ---- Conv3d ----------------------------------------------------------------------------------

Conv3d::Conv3d(int64_t in_ch, int64_t out_ch, Triple k, Triple stride, Triple padding, Triple dilation,
               int64_t groups, bool bias, const std::string& padding_str)
    : in_channels(in_ch), out_channels(out_ch), kernel_size(k), padding_str(padding_str) {
  auto name = cat_str("Conv3d(in_channels=", in_ch, ", out_channels=", out_ch, ", kernel_size=", triple_str(k), ")");
  auto positive = [](const Triple& t) { return t[0] > 0 && t[1] > 0 && t[2] > 0; };
  CONVNET_CHECK(in_ch > 0 && out_ch > 0, name, ": channel counts must be positive");
  CONVNET_CHECK(positive(k), name, ": kernel_size must be positive");
  CONVNET_CHECK(positive(stride), name, ": stride must be positive, got ", triple_str(stride));
  CONVNET_CHECK(positive(dilation), name, ": dilation must be positive, got ", triple_str(dilation));
  CONVNET_CHECK(padding[0] >= 0 && padding[1] >= 0 && padding[2] >= 0, name, ": padding must be non-negative, got ",
                triple_str(padding));
  CONVNET_CHECK(groups > 0 && in_ch % groups == 0 && out_ch % groups == 0, name, ": groups=", groups,
                " must be positive and divide in_channels and out_channels");
  options.stride = stride;
  options.dilation = dilation;
  options.groups = groups;
  options.padding = padding;
  if (padding_str == "same") {
    CONVNET_CHECK(stride == (Triple{1, 1, 1}), name, ": padding='same' is not supported for strided convolutions");
    options.same = true;
  } else if (padding_str == "valid") {
    options.padding = {0, 0, 0};
  } else {
    CONVNET_CHECK(padding_str.empty(), name, ": padding must be an int, a triple, 'same' or 'valid', got '",
                  padding_str, "'");
  }
  register_parameter("weight",
                     Tensor::empty({out_ch, in_ch / groups, k[0], k[1], k[2]}).set_requires_grad(true));
  if (bias) register_parameter("bias", Tensor::empty({out_ch}).set_requires_grad(true));
  else register_none("bias");
  reset_parameters();
}

void Conv3d::reset_parameters() { reset_conv_parameters(*this); }

Tensor Conv3d::forward(const Tensor& x) {
  Tensor* b = find_parameter("bias");
  return conv3d(x, params_[0].second, b ? *b : Tensor(), options);
}

std::string Conv3d::extra_repr() const {
  std::string s = cat_str(in_channels, ", ", out_channels, ", kernel_size=", triple_str(kernel_size),
                          ", stride=", triple_str(options.stride));
  if (!padding_str.empty())
    s += ", padding=" + padding_str;
  else if (options.padding != Triple{0, 0, 0})
    s += ", padding=" + triple_str(options.padding);
  if (options.dilation != Triple{1, 1, 1}) s += ", dilation=" + triple_str(options.dilation);
  if (options.groups != 1) s += cat_str(", groups=", options.groups);
  bool has_bias = false;
  for (auto& p : params_) has_bias |= p.first == "bias";
  if (!has_bias) s += ", bias=False";
  return s;
}

}  // namespace convnet::nn
