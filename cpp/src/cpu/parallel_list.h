// parallel_for over the flat elements of a TensorList (cpu/tensor_list.h).
#pragma once
#include <algorithm>

#include "parallel.h"
#include "tensor_list.h"

namespace convnet::cpu {

// Calls f(i, begin, end) for pieces [begin, end) of the elements of tensor i of l (indices
// within the tensor) that together cover every tensor, the flat range [0, l.total) split
// over the threads as parallel_for splits it.
template <typename T, typename F>
void parallel_for_list(const TensorList<T>& l, const F& f) {
  parallel_for(l.total, kGrainSize, [&](int64_t b, int64_t e) {
    for (int64_t i = l.tensor_of(b); b < e; ++i) {
      const int64_t end = std::min(e, l.offsets[i + 1]);
      f(i, b - l.offsets[i], end - l.offsets[i]);
      b = end;
    }
  });
}

}  // namespace convnet::cpu
