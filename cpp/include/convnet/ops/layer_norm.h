// Normalization over groups of elements of one sample (PyTorch's layer_norm, group_norm and
// instance_norm): one row normalization, different rows.
#pragma once
#include <vector>

#include "convnet/tensor.h"

namespace convnet {

// x (*, normalized_shape): each sample normalized over its trailing normalized_shape;
// weight and bias (normalized_shape) or undefined: y = normalized * weight + bias.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

// x (N,C,*): the C channels in num_groups groups of C/num_groups, each (n, group) normalized
// over its channels and positions; weight and bias (C) or undefined, per channel.
Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

// x (N,C,*): each (n, c) normalized over its positions (the statistics of the input, as
// PyTorch's instance_norm with use_input_stats); weight and bias (C) or undefined.
Tensor instance_norm(const Tensor& x, const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                     double eps = 1e-5);

}  // namespace convnet
