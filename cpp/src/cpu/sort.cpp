// CPU sort along one dimension: x viewed as (outer, D, inner), each lane (o, j) of D values
// `inner` apart sorted on its own by one thread, ties in order of position (a stable sort, so
// the result does not depend on the thread count). topk sorts only the first K (partial sort).
#include <algorithm>
#include <numeric>
#include <vector>

#include "kernels.h"
#include "parallel.h"

namespace convnet::cpu {

namespace {

// Whether a comes before b: ascending with NaN after every number, or descending with NaN first.
template <typename T>
bool before(T a, T b, bool descending) {
  if constexpr (std::is_floating_point_v<T>) {
    if (a != a) return descending && b == b;
    if (b != b) return !descending;
  }
  return descending ? b < a : a < b;
}

}  // namespace

// x (outer,D,inner), values (outer,K,inner), indices (outer,K,inner)
template <typename T>
void sort_cpu(int64_t outer, int64_t D, int64_t K, int64_t inner, bool descending, const T* x, T* values,
              int64_t* indices) {
  parallel_for(outer * inner, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(D * 8, 1)),
               [&](int64_t b, int64_t e) {
                 std::vector<int64_t> order(D);
                 for (int64_t i = b; i < e; ++i) {
                   const int64_t o = i / inner, j = i % inner;
                   const T* p = x + o * D * inner + j;
                   std::iota(order.begin(), order.end(), int64_t(0));
                   // ties broken by position: the stable order, also for the partial sort of topk
                   auto cmp = [&](int64_t u, int64_t v) {
                     const T a = p[u * inner], c = p[v * inner];
                     return before(a, c, descending) || (!before(c, a, descending) && u < v);
                   };
                   if (K < D)
                     std::partial_sort(order.begin(), order.begin() + K, order.end(), cmp);
                   else
                     std::sort(order.begin(), order.end(), cmp);
                   for (int64_t k = 0; k < K; ++k) {
                     const int64_t at = (o * K + k) * inner + j;
                     values[at] = p[order[k] * inner];
                     indices[at] = order[k];
                   }
                 }
               });
}

#define CONVNET_INSTANTIATE(T) \
  template void sort_cpu<T>(int64_t, int64_t, int64_t, int64_t, bool, const T*, T*, int64_t*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
CONVNET_INSTANTIATE(int64_t)
CONVNET_INSTANTIATE(int32_t)
CONVNET_INSTANTIATE(uint8_t)
CONVNET_INSTANTIATE(bool)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cpu
