// CPU kernels of prelu (the other activations are functors of pointwise.h run by
// elementwise.h). x viewed as (N, R, inner): N samples, R weight rows (the
// channels, or 1 when one weight is shared by every element), inner the
// elements per row. Backward overwrites dx and dw; autograd accumulates (+=)
// them into .grad.
#include <algorithm>
#include <vector>

#include "kernels.h"
#include "parallel.h"
#include "pointwise.h"

namespace convnet::cpu {

// x (N,R,inner), w (R), y (N,R,inner) overwritten: x where x > 0, else w[r] x.
template <typename T>
void prelu_forward_cpu(int64_t N, int64_t R, int64_t inner, const T* x, const T* w, T* y) {
  parallel_for(N * R, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(inner, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t row = b; row < e; ++row) {
                   const T a = w[row % R];
                   const T* xr = x + row * inner;
                   T* yr = y + row * inner;
                   for (int64_t j = 0; j < inner; ++j) yr[j] = pw::prelu(xr[j], a);
                 }
               });
}

// x (N,R,inner), w (R), dy (N,R,inner); dx (N,R,inner) and dw (R) overwritten
// unless null. dw sums one partial per (n, r) row, added in order of n, so the
// result does not depend on the thread count.
template <typename T>
void prelu_backward_cpu(int64_t N, int64_t R, int64_t inner, const T* x, const T* w, const T* dy,
                        T* dx, T* dw) {
  std::vector<T> partial(dw ? N * R : 0);
  parallel_for(N * R, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(inner, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t row = b; row < e; ++row) {
                   const T a = w[row % R];
                   const T* xr = x + row * inner;
                   const T* gr = dy + row * inner;
                   if (dx) {
                     T* dr = dx + row * inner;
                     for (int64_t j = 0; j < inner; ++j) dr[j] = pw::prelu_grad(xr[j], a, gr[j]);
                   }
                   if (dw) {
                     T acc = 0;
                     for (int64_t j = 0; j < inner; ++j) acc += pw::prelu_weight_grad(xr[j], gr[j]);
                     partial[row] = acc;
                   }
                 }
               });
  if (!dw) return;
  for (int64_t r = 0; r < R; ++r) {
    T acc = 0;
    for (int64_t n = 0; n < N; ++n) acc += partial[n * R + r];
    dw[r] = acc;
  }
}

#define CONVNET_INSTANTIATE(T)                                                                   \
  template void prelu_forward_cpu<T>(int64_t, int64_t, int64_t, const T*, const T*, T*);         \
  template void prelu_backward_cpu<T>(int64_t, int64_t, int64_t, const T*, const T*, const T*,   \
                                      T*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cpu
