// CPU dropout kernel, n elements. The op draws n uniform numbers serially from
// the global generator (so the mask does not depend on the thread count) and
// the kernel turns them into the mask, 0 or 1/(1-p) per element. Forward and
// backward multiply by the mask (dx = dy * mask) with the elementwise kernels.
#include "kernels.h"

namespace convnet::cpu {

// mask (n): uniform draws in [0, 1) on entry, the mask on return.
template <typename T>
void dropout_mask_cpu(int64_t n, double p, T* mask) {
  const T keep = p == 1 ? T(0) : static_cast<T>(1 / (1 - p));
  for (int64_t i = 0; i < n; ++i) mask[i] = mask[i] < static_cast<T>(p) ? T(0) : keep;
}

template void dropout_mask_cpu<float>(int64_t, double, float*);
template void dropout_mask_cpu<double>(int64_t, double, double*);

}  // namespace convnet::cpu
