// The built-in layers. Each runs its whole forward in C++.
#pragma once
#include <array>
#include <memory>
#include <optional>
#include <string>

#include "convnet/nn/module.h"
#include "convnet/ops/conv2d.h"
#include "convnet/ops/conv3d.h"
#include "convnet/ops/conv_transpose2d.h"
#include "convnet/ops/interpolate.h"
#include "convnet/ops/pool2d.h"
#include "convnet/ops/pool3d.h"
#include "convnet/ops/unfold.h"

namespace convnet::nn {

using Pair = std::array<int64_t, 2>;

class Conv2d : public Module {
 public:
  // padding_mode: explicit `padding` or "same"/"valid" via `padding_str`.
  Conv2d(int64_t in_channels, int64_t out_channels, Pair kernel_size, Pair stride = {1, 1},
         Pair padding = {0, 0}, Pair dilation = {1, 1}, int64_t groups = 1, bool bias = true,
         const std::string& padding_str = "");
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Conv2d"; }
  std::string extra_repr() const override;
  // Kaiming-uniform weights with a = sqrt(5) and a uniform bias, as PyTorch.
  void reset_parameters();

  int64_t in_channels, out_channels;
  Pair kernel_size;
  Conv2dOptions options;
};

// ConvTranspose2d(in, out, kernel_size, stride, padding, output_padding, groups, bias, dilation):
// weight (in_channels, out_channels/groups, kH, kW), as PyTorch.
class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, Pair kernel_size, Pair stride = {1, 1},
                  Pair padding = {0, 0}, Pair output_padding = {0, 0}, int64_t groups = 1, bool bias = true,
                  Pair dilation = {1, 1});
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ConvTranspose2d"; }
  std::string extra_repr() const override;
  // Kaiming-uniform weights with a = sqrt(5) and a uniform bias, as PyTorch.
  void reset_parameters();

  int64_t in_channels, out_channels;
  Pair kernel_size;
  ConvTranspose2dOptions options;
};

class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Linear"; }
  std::string extra_repr() const override;
  void reset_parameters();

  int64_t in_features, out_features;
};

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(Pool2dOptions o) : options(o) {}
  Tensor forward(const Tensor& x) override { return max_pool2d(x, options); }
  std::string type_name() const override { return "MaxPool2d"; }
  std::string extra_repr() const override;
  Pool2dOptions options;
  bool return_indices = false;  // Python's forward returns (values, indices)
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(Pool2dOptions o) : options(o) {}
  Tensor forward(const Tensor& x) override { return avg_pool2d(x, options); }
  std::string type_name() const override { return "AvgPool2d"; }
  std::string extra_repr() const override;
  Pool2dOptions options;
};

// Adaptive pooling; `scalar`: the size was given as one int (the repr shows it so, as PyTorch).
class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(AdaptiveSize output_size, bool scalar = false);
  Tensor forward(const Tensor& x) override { return adaptive_avg_pool2d(x, output_size); }
  std::string type_name() const override { return "AdaptiveAvgPool2d"; }
  std::string extra_repr() const override;
  AdaptiveSize output_size;
  bool scalar;
};

class AdaptiveMaxPool2d : public Module {
 public:
  explicit AdaptiveMaxPool2d(AdaptiveSize output_size, bool scalar = false);
  Tensor forward(const Tensor& x) override { return adaptive_max_pool2d(x, output_size); }
  std::string type_name() const override { return "AdaptiveMaxPool2d"; }
  std::string extra_repr() const override;
  AdaptiveSize output_size;
  bool scalar;
};

// LPPool2d(norm_type, kernel_size, stride=None, ceil_mode=False); `options` has no padding;
// stride_given: false when the stride defaulted to the kernel size (the repr shows None).
class LPPool2d : public Module {
 public:
  LPPool2d(double norm_type, Pool2dOptions o, bool stride_given = true);
  Tensor forward(const Tensor& x) override { return lp_pool2d(x, norm_type, options); }
  std::string type_name() const override { return "LPPool2d"; }
  std::string extra_repr() const override;
  double norm_type;
  Pool2dOptions options;
  bool stride_given;
};

class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1) : start_dim(start_dim), end_dim(end_dim) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Flatten"; }
  std::string extra_repr() const override;
  int64_t start_dim, end_dim;
};

// flatten(x, start_dim, end_dim): a view merging dimensions start..end.
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ReLU"; }
};

class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(double negative_slope = 0.01) : negative_slope(negative_slope) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "LeakyReLU"; }
  std::string extra_repr() const override;
  double negative_slope;
};

class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Sigmoid"; }
};

class Tanh : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Tanh"; }
};

class Softmax : public Module {
 public:
  explicit Softmax(int64_t dim) : dim(dim) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Softmax"; }
  std::string extra_repr() const override;
  int64_t dim;
};

class LogSoftmax : public Module {
 public:
  explicit LogSoftmax(int64_t dim) : dim(dim) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "LogSoftmax"; }
  std::string extra_repr() const override;
  int64_t dim;
};

class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Dropout"; }
  std::string extra_repr() const override;
  double p;
};

// ---- pass-through and more activations ----------------------------------------
// `inplace` is accepted as PyTorch's and shown in repr; the result is a new tensor.

class Identity : public Module {
 public:
  Tensor forward(const Tensor& x) override { return x; }
  std::string type_name() const override { return "Identity"; }
};

class Hardtanh : public Module {
 public:
  explicit Hardtanh(double min_val = -1, double max_val = 1, bool inplace = false);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Hardtanh"; }
  std::string extra_repr() const override;
  double min_val, max_val;
  bool inplace;
};

// Hardtanh(0, 6).
class ReLU6 : public Hardtanh {
 public:
  explicit ReLU6(bool inplace = false) : Hardtanh(0, 6, inplace) {}
  std::string type_name() const override { return "ReLU6"; }
  std::string extra_repr() const override { return inplace ? "inplace=True" : ""; }
};

class ELU : public Module {
 public:
  explicit ELU(double alpha = 1, bool inplace = false) : alpha(alpha), inplace(inplace) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ELU"; }
  std::string extra_repr() const override;
  double alpha;
  bool inplace;
};

class GELU : public Module {
 public:
  explicit GELU(const std::string& approximate = "none");
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "GELU"; }
  std::string extra_repr() const override { return "approximate='" + approximate + "'"; }
  std::string approximate;
};

class SiLU : public Module {
 public:
  explicit SiLU(bool inplace = false) : inplace(inplace) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "SiLU"; }
  std::string extra_repr() const override { return inplace ? "inplace=True" : ""; }
  bool inplace;
};

class Softplus : public Module {
 public:
  explicit Softplus(double beta = 1, double threshold = 20) : beta(beta), threshold(threshold) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Softplus"; }
  std::string extra_repr() const override;
  double beta, threshold;
};

// Parameter "weight" (num_parameters), filled with `init`.
class PReLU : public Module {
 public:
  explicit PReLU(int64_t num_parameters = 1, double init = 0.25);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "PReLU"; }
  std::string extra_repr() const override { return cat_str("num_parameters=", num_parameters); }
  void reset_parameters();
  int64_t num_parameters;
  double init;
};

// Children named "0", "1", … called in order.
class Sequential : public Module {
 public:
  Sequential() = default;
  void append(std::shared_ptr<Module> m);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Sequential"; }
  size_t size() const { return children_.size(); }
  std::shared_ptr<Module> at(int64_t i) const;
};

// ---- normalization -------------------------------------------------------------------

// BatchNorm1d / BatchNorm2d: parameters weight and (with bias) bias (C) when affine; buffers
// running_mean, running_var (C) and num_batches_tracked (int64 scalar) when track_running_stats,
// as PyTorch 2.13. momentum empty: the running statistics are the cumulative average.
class BatchNorm : public Module {
 public:
  BatchNorm(int64_t num_features, double eps, std::optional<double> momentum, bool affine,
            bool track_running_stats, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  void reset_running_stats();
  void reset_parameters();

  int64_t num_features;
  double eps;
  std::optional<double> momentum;
  bool affine, track_running_stats;

 protected:
  // Throws unless x has a dimension count the layer accepts.
  virtual void check_input_dim(const Tensor& x) const = 0;
};

class BatchNorm1d : public BatchNorm {
 public:
  using BatchNorm::BatchNorm;
  std::string type_name() const override { return "BatchNorm1d"; }

 protected:
  void check_input_dim(const Tensor& x) const override;
};

class BatchNorm2d : public BatchNorm {
 public:
  using BatchNorm::BatchNorm;
  std::string type_name() const override { return "BatchNorm2d"; }

 protected:
  void check_input_dim(const Tensor& x) const override;
};

class LocalResponseNorm : public Module {
 public:
  LocalResponseNorm(int64_t size, double alpha = 1e-4, double beta = 0.75, double k = 1.0);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "LocalResponseNorm"; }
  std::string extra_repr() const override;
  int64_t size;
  double alpha, beta, k;
};

// ZeroPad2d(padding): padding (left, right, top, bottom), from an int or a 4-tuple.
class ZeroPad2d : public Module {
 public:
  explicit ZeroPad2d(std::array<int64_t, 4> padding) : padding(padding) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ZeroPad2d"; }
  std::string extra_repr() const override;
  std::array<int64_t, 4> padding;
};

// Upsample(size, scale_factor, mode, align_corners, recompute_scale_factor): interpolate's options;
// `scalar`: size or scale_factor was given as one number (the repr shows it so, as PyTorch).
class Upsample : public Module {
 public:
  Upsample(InterpolateOptions o, bool scalar);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Upsample"; }
  std::string extra_repr() const override;
  InterpolateOptions options;
  bool scalar;
};

// ---- 1-D layers (through the 2-D ops over (N,C,1,L)) -----------------------------------

// Conv1d(in, out, kernel_size, stride, padding, dilation, groups, bias): weight (out, in/groups, k).
class Conv1d : public Module {
 public:
  Conv1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride = 1, int64_t padding = 0,
         int64_t dilation = 1, int64_t groups = 1, bool bias = true, const std::string& padding_str = "");
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Conv1d"; }
  std::string extra_repr() const override;
  // Kaiming-uniform weights with a = sqrt(5) and a uniform bias, as PyTorch.
  void reset_parameters();

  int64_t in_channels, out_channels, kernel_size;
  Conv1dOptions options;
};

class MaxPool1d : public Module {
 public:
  explicit MaxPool1d(Pool1dOptions o) : options(o) {}
  Tensor forward(const Tensor& x) override { return max_pool1d(x, options); }
  std::string type_name() const override { return "MaxPool1d"; }
  std::string extra_repr() const override;
  Pool1dOptions options;
  bool return_indices = false;  // Python's forward returns (values, indices)
};

class AvgPool1d : public Module {
 public:
  explicit AvgPool1d(Pool1dOptions o) : options(o) {}
  Tensor forward(const Tensor& x) override { return avg_pool1d(x, options); }
  std::string type_name() const override { return "AvgPool1d"; }
  std::string extra_repr() const override;
  Pool1dOptions options;
};

class AdaptiveAvgPool1d : public Module {
 public:
  explicit AdaptiveAvgPool1d(int64_t output_size);
  Tensor forward(const Tensor& x) override { return adaptive_avg_pool1d(x, output_size); }
  std::string type_name() const override { return "AdaptiveAvgPool1d"; }
  std::string extra_repr() const override { return cat_str("output_size=", output_size); }
  int64_t output_size;
};

// MaxUnpool2d(kernel_size, stride, padding): forward(x) needs indices: call unpool(x, indices).
class MaxUnpool2d : public Module {
 public:
  explicit MaxUnpool2d(Pool2dOptions o) : options(o) {}
  Tensor unpool(const Tensor& x, const Tensor& indices,
                std::optional<std::array<int64_t, 2>> output_size = std::nullopt) const {
    return max_unpool2d(x, indices, options, output_size);
  }
  std::string type_name() const override { return "MaxUnpool2d"; }
  std::string extra_repr() const override;
  Pool2dOptions options;
};

// Unfold(kernel_size, dilation, padding, stride) and Fold(output_size, ...): `shown` is the
// argument list as the repr shows it (PyTorch shows the arguments as given).
class Unfold : public Module {
 public:
  Unfold(UnfoldOptions o, std::string shown) : options(o), shown(std::move(shown)) {}
  Tensor forward(const Tensor& x) override { return unfold(x, options); }
  std::string type_name() const override { return "Unfold"; }
  std::string extra_repr() const override { return shown; }
  UnfoldOptions options;
  std::string shown;
};

class Fold : public Module {
 public:
  Fold(Pair output_size, UnfoldOptions o, std::string shown)
      : output_size(output_size), options(o), shown(std::move(shown)) {}
  Tensor forward(const Tensor& x) override { return fold(x, output_size, options); }
  std::string type_name() const override { return "Fold"; }
  std::string extra_repr() const override { return shown; }
  Pair output_size;
  UnfoldOptions options;
  std::string shown;
};

class PixelShuffle : public Module {
 public:
  explicit PixelShuffle(int64_t upscale_factor) : upscale_factor(upscale_factor) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "PixelShuffle"; }
  std::string extra_repr() const override { return cat_str("upscale_factor=", upscale_factor); }
  int64_t upscale_factor;
};

class PixelUnshuffle : public Module {
 public:
  explicit PixelUnshuffle(int64_t downscale_factor) : downscale_factor(downscale_factor) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "PixelUnshuffle"; }
  std::string extra_repr() const override { return cat_str("downscale_factor=", downscale_factor); }
  int64_t downscale_factor;
};

// Dropout2d(p): whole channels zeroed in training.
class Dropout2d : public Module {
 public:
  explicit Dropout2d(double p = 0.5, bool inplace = false);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Dropout2d"; }
  std::string extra_repr() const override;
  double p;
  bool inplace;
};

// Embedding(num_embeddings, embedding_dim, padding_idx): weight (V,D) from N(0,1), the
// padding_idx row zero.
class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim, std::optional<int64_t> padding_idx = std::nullopt);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Embedding"; }
  std::string extra_repr() const override;
  void reset_parameters();
  int64_t num_embeddings, embedding_dim;
  std::optional<int64_t> padding_idx;  // in [0, num_embeddings)
};

// GroupNorm(num_groups, num_channels, eps, affine, bias): weight and bias (C) when affine.
class GroupNorm : public Module {
 public:
  GroupNorm(int64_t num_groups, int64_t num_channels, double eps = 1e-5, bool affine = true, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "GroupNorm"; }
  std::string extra_repr() const override;
  void reset_parameters();
  int64_t num_groups, num_channels;
  double eps;
  bool affine;
};

// LayerNorm(normalized_shape, eps, elementwise_affine, bias): weight and bias (normalized_shape).
class LayerNorm : public Module {
 public:
  LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "LayerNorm"; }
  std::string extra_repr() const override;
  void reset_parameters();
  Shape normalized_shape;
  double eps;
  bool elementwise_affine;
};

// InstanceNorm2d(num_features, eps, momentum, affine, track_running_stats, bias): the
// statistics of each input (track_running_stats=False).
class InstanceNorm2d : public Module {
 public:
  InstanceNorm2d(int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = false,
                 bool track_running_stats = false, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "InstanceNorm2d"; }
  std::string extra_repr() const override;
  void reset_parameters();
  int64_t num_features;
  double eps, momentum;
  bool affine, track_running_stats;
};

// MaxPool3d / AvgPool3d: `shown` is the argument list as the repr shows it
// (PyTorch shows the sizes as given).
class MaxPool3d : public Module {
 public:
  MaxPool3d(Pool3dOptions o, std::string shown) : options(o), shown(std::move(shown)) {}
  Tensor forward(const Tensor& x) override { return max_pool3d(x, options); }
  std::string type_name() const override { return "MaxPool3d"; }
  std::string extra_repr() const override { return shown; }
  Pool3dOptions options;
  std::string shown;
};

class AvgPool3d : public Module {
 public:
  AvgPool3d(Pool3dOptions o, std::string shown) : options(o), shown(std::move(shown)) {}
  Tensor forward(const Tensor& x) override { return avg_pool3d(x, options); }
  std::string type_name() const override { return "AvgPool3d"; }
  std::string extra_repr() const override { return shown; }
  Pool3dOptions options;
  std::string shown;
};

using Triple = std::array<int64_t, 3>;

// Conv3d(in, out, kernel_size, stride, padding, dilation, groups, bias): weight
// (out, in/groups, kD, kH, kW); padding "same"/"valid" via `padding_str` (kept as given, as PyTorch).
class Conv3d : public Module {
 public:
  Conv3d(int64_t in_channels, int64_t out_channels, Triple kernel_size, Triple stride = {1, 1, 1},
         Triple padding = {0, 0, 0}, Triple dilation = {1, 1, 1}, int64_t groups = 1, bool bias = true,
         const std::string& padding_str = "");
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Conv3d"; }
  std::string extra_repr() const override;
  // Kaiming-uniform weights with a = sqrt(5) and a uniform bias, as PyTorch.
  void reset_parameters();

  int64_t in_channels, out_channels;
  Triple kernel_size;
  Conv3dOptions options;
  std::string padding_str;  // "same" or "valid" as given (PyTorch's padding attribute), else empty
};

}  // namespace convnet::nn
