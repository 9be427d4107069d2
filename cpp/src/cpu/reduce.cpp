// CPU reduction kernels over one dimension: x viewed as (outer, D, inner), D
// the size of the reduced dimension, outer and inner the products of the
// dimensions before and after it. Each output element is reduced in order of
// d from 0 by one thread, so results do not depend on the thread count.
// Backward overwrites dx; autograd accumulates (+=) it into .grad.
#include <algorithm>

#include "kernels.h"
#include "parallel.h"
#include "rowwise.h"

namespace convnet::cpu {

// x (outer,D,inner), y (outer,inner)
template <typename T, typename A>
void sum_dim_cpu(int64_t outer, int64_t D, int64_t inner, const T* x, A* y) {
  if (inner == 1) {
    parallel_for(outer, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(D, 1)),
                 [&](int64_t o0, int64_t o1) {
                   for (int64_t o = o0; o < o1; ++o) {
                     A acc = 0;
                     const T* p = x + o * D;
                     for (int64_t d = 0; d < D; ++d) acc += p[d];
                     y[o] = acc;
                   }
                 });
    return;
  }
  parallel_for(outer * inner, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(D, 1)),
               [&](int64_t b, int64_t e) {
                 // walk rows of `inner` contiguously
                 for (int64_t i = b; i < e;) {
                   int64_t o = i / inner, j0 = i % inner;
                   int64_t j1 = std::min(inner, j0 + (e - i));
                   A* yo = y + o * inner;
                   for (int64_t j = j0; j < j1; ++j) yo[j] = 0;
                   for (int64_t d = 0; d < D; ++d) {
                     const T* p = x + (o * D + d) * inner;
                     for (int64_t j = j0; j < j1; ++j) yo[j] += p[j];
                   }
                   i += j1 - j0;
                 }
               });
}

// x (outer,D,inner), y (outer,inner), argmax (outer,inner)
template <typename T>
void max_forward_cpu(int64_t outer, int64_t D, int64_t inner, const T* x, T* y,
                     int64_t* argmax) {
  parallel_for(outer * inner, std::max<int64_t>(1, kGrainSize / D), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      int64_t o = i / inner, j = i % inner;
      const T* p = x + o * D * inner + j;
      T best = p[0];
      int64_t arg = 0;
      for (int64_t d = 1; d < D; ++d) {
        T v = p[d * inner];
        if (pw::max_replaces(v, best)) {
          best = v;
          arg = d;
        }
      }
      y[i] = best;
      argmax[i] = arg;
    }
  });
}

// dy (outer,inner), argmax (outer,inner), dx (outer,D,inner): dy at each maximum, 0 elsewhere.
template <typename T>
void max_backward_cpu(int64_t outer, int64_t D, int64_t inner, const T* dy,
                      const int64_t* argmax, T* dx) {
  std::fill(dx, dx + outer * D * inner, T(0));
  for (int64_t i = 0; i < outer * inner; ++i)
    dx[(i / inner) * D * inner + argmax[i] * inner + i % inner] = dy[i];
}

// T the input type, A the type of its sums
#define CONVNET_INSTANTIATE(T, A)                                                   \
  template void sum_dim_cpu<T, A>(int64_t, int64_t, int64_t, const T*, A*);         \
  template void max_forward_cpu<T>(int64_t, int64_t, int64_t, const T*, T*, int64_t*);
CONVNET_INSTANTIATE(float, float)
CONVNET_INSTANTIATE(double, double)
CONVNET_INSTANTIATE(int64_t, int64_t)
CONVNET_INSTANTIATE(uint8_t, int64_t)
CONVNET_INSTANTIATE(bool, int64_t)
#undef CONVNET_INSTANTIATE

#define CONVNET_INSTANTIATE(T) \
  template void max_backward_cpu<T>(int64_t, int64_t, int64_t, const T*, const int64_t*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cpu
