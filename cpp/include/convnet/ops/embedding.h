// Embedding lookup (PyTorch's F.embedding without max_norm).
#pragma once
#include <optional>

#include "convnet/tensor.h"

namespace convnet {

// input (*) int64 indices in [0, V), weight (V,D) → (*, D): row input[i] of weight.
// padding_idx (negative counts from V): that row gets no gradient.
Tensor embedding(const Tensor& input, const Tensor& weight, std::optional<int64_t> padding_idx = std::nullopt);

}  // namespace convnet
