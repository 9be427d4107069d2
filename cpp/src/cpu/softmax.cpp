// CPU softmax and log_softmax kernels along one dimension.
// x viewed as (outer, D, inner): D the size of the softmax dimension, outer and
// inner the products of the dimensions before and after it. Each of the
// outer*inner rows of D values is independent; the rows are split over the
// threads; each runs the row functions of rowwise.h. Backward overwrites dx (softmax
// dx = y (dy - Σ dy y); log_softmax dx = dy - exp(y) Σ dy); autograd accumulates (+=) it
// into .grad.
#include <algorithm>

#include "kernels.h"
#include "parallel.h"
#include "rowwise.h"

namespace convnet::cpu {

// x (outer,D,inner), y (outer,D,inner); log selects log_softmax.
template <typename T>
void softmax_forward_cpu(int64_t outer, int64_t D, int64_t inner, bool log, const T* x, T* y) {
  parallel_for(outer * inner, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(D, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t i = b; i < e; ++i) {
                   const int64_t base = (i / inner) * D * inner + i % inner;
                   pw::softmax_row(D, inner, log, x + base, y + base);
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
                   const int64_t base = (i / inner) * D * inner + i % inner;
                   pw::softmax_backward_row(D, inner, log, y + base, dy + base, dx + base);
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
