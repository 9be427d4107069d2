// CPU kernel of mixed-precision training: gradient unscaling with an inf/NaN check.
#include "amp.h"

#include <atomic>

#include "kernels.h"
#include "parallel.h"

namespace convnet::cpu {

// g (n) *= inv_scale in place; *found = 1 when any g was not finite
template <typename T>
void amp_unscale_cpu(int64_t n, T* g, T inv_scale, float* found) {
  std::atomic<bool> any{false};
  parallel_for(n, kGrainSize, [&](int64_t b, int64_t e) {
    bool bad = false;
    for (int64_t i = b; i < e; ++i) {
      bad |= !is_finite_value(g[i]);
      g[i] *= inv_scale;
    }
    if (bad) any.store(true, std::memory_order_relaxed);
  });
  if (any.load()) *found = 1.0f;
}

template void amp_unscale_cpu<float>(int64_t, float*, float, float*);
template void amp_unscale_cpu<double>(int64_t, double*, double, float*);

}  // namespace convnet::cpu
