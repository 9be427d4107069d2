// A list of tensors that one kernel call updates together (the optimizers' fused
// updates, gradient clipping), as both devices' kernels read it: a table of offsets,
// per-tensor scalars and operand pointers, all in the kernel's device memory.
#pragma once
#include <cstdint>

#include "convnet/half.h"

namespace convnet::cpu {

// count tensors seen as one flat range of total elements: tensor i holds the flat
// elements [offsets[i], offsets[i+1]), offsets (count+1) starting at 0. Each tensor
// has the same operands (parameter, gradient, state buffers; the kernel names them):
// operand k of tensor i is ptrs[k*count + i] (null for an absent state), ptrs (K,count);
// per-tensor scalar s of tensor i is scalars[s*count + i], scalars (S,count).
template <typename T>
struct TensorList {
  using Scalar = T;
  int64_t count = 0;
  int64_t total = 0;  // offsets[count], also known on the host (launch size)
  const int64_t* offsets = nullptr;
  T* const* ptrs = nullptr;
  const double* scalars = nullptr;

  CONVNET_HD T* operand(int k, int64_t i) const { return ptrs[k * count + i]; }
  CONVNET_HD double scalar(int s, int64_t i) const { return scalars[s * count + i]; }
  // The tensor holding flat element e (0 <= e < total): the last i with offsets[i] <= e.
  CONVNET_HD int64_t tensor_of(int64_t e) const {
    int64_t lo = 0, hi = count - 1;
    while (lo < hi) {
      const int64_t mid = (lo + hi + 1) / 2;
      if (offsets[mid] <= e)
        lo = mid;
      else
        hi = mid - 1;
    }
    return lo;
  }
};

}  // namespace convnet::cpu
