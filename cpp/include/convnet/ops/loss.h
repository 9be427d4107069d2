// Losses.
#pragma once
#include <string>

#include "convnet/tensor.h"

namespace convnet {

enum class Reduction { None, Mean, Sum };
// "none" | "mean" | "sum"; invalid_argument otherwise.
Reduction parse_reduction(const std::string& s, const char* op);

// input (N,C) or (N,C,d1,...) logits, target int64 (N) or (N,d1,...) class indices;
// fused log_softmax + nll. Targets equal to ignore_index contribute nothing.
Tensor cross_entropy(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
                     int64_t ignore_index = -100);
// input: log-probabilities, shapes as cross_entropy.
Tensor nll_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
                int64_t ignore_index = -100);
// Same shapes.
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);

}  // namespace convnet
