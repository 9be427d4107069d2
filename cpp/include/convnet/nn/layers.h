// The built-in layers. Each runs its whole forward in C++.
#pragma once
#include <array>
#include <memory>
#include <string>

#include "convnet/nn/module.h"
#include "convnet/ops/conv2d.h"
#include "convnet/ops/pool2d.h"

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
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(Pool2dOptions o) : options(o) {}
  Tensor forward(const Tensor& x) override { return avg_pool2d(x, options); }
  std::string type_name() const override { return "AvgPool2d"; }
  std::string extra_repr() const override;
  Pool2dOptions options;
};

class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(Pair output_size) : output_size(output_size) {}
  Tensor forward(const Tensor& x) override { return adaptive_avg_pool2d(x, output_size); }
  std::string type_name() const override { return "AdaptiveAvgPool2d"; }
  std::string extra_repr() const override;
  Pair output_size;
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

}  // namespace convnet::nn
