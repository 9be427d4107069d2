// Losses.
#pragma once
#include <string>

#include "convnet/tensor.h"

namespace convnet {

enum class Reduction { None, Mean, Sum };
// "none" | "mean" | "sum"; invalid_argument otherwise.
Reduction parse_reduction(const std::string& s, const char* op);

// input (N,C) or (N,C,d1,...) logits, target int64 (N) or (N,d1,...) class indices;
// fused log_softmax + nll. Targets equal to ignore_index contribute nothing. weight: undefined
// or (C) class weights; "mean" divides by the sum of the weights of the counted targets.
// label_smoothing eps in [0, 1] mixes in eps/C of the (weighted) loss of every class, as PyTorch.
// A floating target of the input's shape holds class probabilities instead (ignore_index unused;
// "mean" divides by the number of positions).
Tensor cross_entropy(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
                     int64_t ignore_index = -100, const Tensor& weight = Tensor(),
                     double label_smoothing = 0);
// input: log-probabilities; shapes and weight as cross_entropy.
Tensor nll_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
                int64_t ignore_index = -100, const Tensor& weight = Tensor());
// Elementwise losses: input and target of one shape and floating dtype; "mean" over all elements.
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
// weight: undefined or of the input's shape; weighted "mean" divides by the sum of the weights.
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
               const Tensor& weight = Tensor());
// 0.5 d²/beta where |d| < beta, else |d| - 0.5 beta (d = input - target); beta >= 0.
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
                      double beta = 1);
// input probabilities in [0, 1]; log clamped at -100; weight undefined or broadcast to the input.
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                            Reduction reduction = Reduction::Mean);
// input logits; weight and pos_weight undefined or broadcast to the input.
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const Tensor& weight = Tensor(),
                                        Reduction reduction = Reduction::Mean,
                                        const Tensor& pos_weight = Tensor());
// input log-probabilities; target probabilities (log-probabilities with log_target).
// reduction "mean", "sum", "none" or "batchmean" (the sum divided by input.size(0)).
Tensor kl_div(const Tensor& input, const Tensor& target, const std::string& reduction = "mean",
              bool log_target = false);
// input (N,C) or (C), target int64 (N) or (); p 1 or 2; weight undefined or (C).
Tensor multi_margin_loss(const Tensor& input, const Tensor& target, int64_t p = 1, double margin = 1,
                         const Tensor& weight = Tensor(), Reduction reduction = Reduction::Mean);

}  // namespace convnet
