// CPU softmax and log_softmax kernels along one dimension.
// x viewed as (outer, D, inner): D the size of the softmax dimension, outer and
// inner the products of the dimensions before and after it. Each of the
// outer*inner rows of D values is independent; the rows are split over the
// threads. Backward overwrites dx (softmax dx = y (dy - Σ dy y); log_softmax
// dx = dy - exp(y) Σ dy); autograd accumulates (+=) it into .grad.
#include <algorithm>
#include <cmath>

#include "kernels.h"
#include "parallel.h"

namespace convnet::cpu {

// x (outer,D,inner), y (outer,D,inner); log selects log_softmax.
template <typename T>
void softmax_forward_cpu(int64_t outer, int64_t D, int64_t inner, bool log, const T* x, T* y) {
  parallel_for(outer * inner, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(D, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t i = b; i < e; ++i) {
                   const T* px = x + (i / inner) * D * inner + i % inner;
                   T* py = y + (px - x);
                   T m = px[0];
                   for (int64_t d = 1; d < D; ++d) m = std::max(m, px[d * inner]);
                   T s = 0;
                   for (int64_t d = 0; d < D; ++d) s += std::exp(px[d * inner] - m);
                   if (log) {
                     T ls = m + std::log(s);
                     for (int64_t d = 0; d < D; ++d) py[d * inner] = px[d * inner] - ls;
                   } else {
                     T inv = T(1) / s;
                     for (int64_t d = 0; d < D; ++d) py[d * inner] = std::exp(px[d * inner] - m) * inv;
                   }
                 }
               });
}

// y, dy, dx (outer,D,inner)
template <typename T>
void softmax_backward_cpu(int64_t outer, int64_t D, int64_t inner, bool log, const T* y,
                          const T* dy, T* dx) {
  parallel_for(outer * inner, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(D, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t i = b; i < e; ++i) {
                   int64_t base = (i / inner) * D * inner + i % inner;
                   T s = 0;
                   for (int64_t d = 0; d < D; ++d)
                     s += log ? dy[base + d * inner] : dy[base + d * inner] * y[base + d * inner];
                   for (int64_t d = 0; d < D; ++d) {
                     int64_t k = base + d * inner;
                     dx[k] = log ? dy[k] - std::exp(y[k]) * s : y[k] * (dy[k] - s);
                   }
                 }
               });
}

#define CONVNET_INSTANTIATE(T)                                                                  \
  template void softmax_forward_cpu<T>(int64_t, int64_t, int64_t, bool, const T*, T*);           \
  template void softmax_backward_cpu<T>(int64_t, int64_t, int64_t, bool, const T*, const T*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cpu
