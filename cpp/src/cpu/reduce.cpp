// CPU reduction kernels over one dimension: x viewed as (outer, D, inner), D the size of
// the reduced dimension, outer and inner the products of the dimensions before and after it.
// Each output element is reduced (or scanned) in order of d from 0 by one thread, so results
// do not depend on the thread count. Backward overwrites dx; autograd accumulates (+=) it into
// .grad.
#include <algorithm>

#include "isa.h"
#include "kernels.h"
#include "parallel.h"
#include "pointwise.h"
#include "rowwise.h"

namespace convnet::cpu {

namespace {

// p, y (n): y[j] = op(y[j], p[j]), one step of a fold along D for n neighbouring lanes.
template <typename T, typename A, typename Op>
CONVNET_CPU_CLONES void fold_row(int64_t n, const T* p, A* y, Op op) {
  for (int64_t j = 0; j < n; ++j) y[j] = op(y[j], static_cast<A>(p[j]));
}

// x (outer,D,inner), y (outer,inner): y = init op x[0] op x[1] ... along D (op pw::Add or pw::Mul).
template <typename T, typename A, typename Op>
void fold_dim(int64_t outer, int64_t D, int64_t inner, A init, Op op, const T* x, A* y) {
  if (inner == 1) {
    parallel_for(outer, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(D, 1)),
                 [&](int64_t o0, int64_t o1) {
                   for (int64_t o = o0; o < o1; ++o) {
                     A acc = init;
                     const T* p = x + o * D;
                     for (int64_t d = 0; d < D; ++d) acc = op(acc, static_cast<A>(p[d]));
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
                   for (int64_t j = j0; j < j1; ++j) yo[j] = init;
                   for (int64_t d = 0; d < D; ++d) fold_row(j1 - j0, x + (o * D + d) * inner + j0, yo + j0, op);
                   i += j1 - j0;
                 }
               });
}

// Calls f(o, j) for every lane (o, j) of (outer, inner), in parallel; `per_lane` the work of one.
template <typename F>
void for_lanes(int64_t outer, int64_t inner, int64_t per_lane, const F& f) {
  parallel_for(outer * inner, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(per_lane, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t i = b; i < e; ++i) f(i / inner, i % inner);
               });
}

}  // namespace

// x (outer,D,inner), y (outer,inner)
template <typename T, typename A>
void sum_dim_cpu(int64_t outer, int64_t D, int64_t inner, const T* x, A* y) {
  fold_dim(outer, D, inner, A(0), pw::Add(), x, y);
}

// x (outer,D,inner), y (outer,inner)
template <typename T, typename A>
void prod_dim_cpu(int64_t outer, int64_t D, int64_t inner, const T* x, A* y) {
  fold_dim(outer, D, inner, A(1), pw::Mul(), x, y);
}

// x (outer,D,inner), dy (outer,inner), dx (outer,D,inner): dy times the product of the other
// values of the lane (a prefix product forward, a suffix product backward: exact with zeros).
template <typename T>
void prod_backward_cpu(int64_t outer, int64_t D, int64_t inner, const T* x, const T* dy, T* dx) {
  for_lanes(outer, inner, D, [&](int64_t o, int64_t j) {
    const int64_t base = o * D * inner + j;
    T left = dy[o * inner + j];
    for (int64_t d = 0; d < D; ++d) {
      dx[base + d * inner] = left;
      left *= x[base + d * inner];
    }
    T right = 1;
    for (int64_t d = D; d-- > 0;) {
      dx[base + d * inner] *= right;
      right *= x[base + d * inner];
    }
  });
}

// x (outer,D,inner), y (outer,D,inner): running sums along D, from the end when reverse.
template <typename T, typename A>
void cumsum_cpu(int64_t outer, int64_t D, int64_t inner, bool reverse, const T* x, A* y) {
  for_lanes(outer, inner, D, [&](int64_t o, int64_t j) {
    const int64_t base = o * D * inner + j;
    A acc = 0;
    for (int64_t k = 0; k < D; ++k) {
      const int64_t at = base + (reverse ? D - 1 - k : k) * inner;
      acc += static_cast<A>(x[at]);
      y[at] = acc;
    }
  });
}

// x (outer,D,inner), y (outer,inner), arg (outer,inner)
template <typename T>
void max_forward_cpu(int64_t outer, int64_t D, int64_t inner, bool smallest, const T* x, T* y,
                     int64_t* arg) {
  for_lanes(outer, inner, D, [&](int64_t o, int64_t j) {
    const T* p = x + o * D * inner + j;
    T best = p[0];
    int64_t at = 0;
    for (int64_t d = 1; d < D; ++d) {
      T v = p[d * inner];
      if (pw::extremum_replaces(v, best, smallest)) {
        best = v;
        at = d;
      }
    }
    y[o * inner + j] = best;
    arg[o * inner + j] = at;
  });
}

// dy (outer,K,inner), idx (outer,K,inner), dx (outer,D,inner) zeroed by the caller.
template <typename T>
void take_backward_cpu(int64_t outer, int64_t D, int64_t K, int64_t inner, const T* dy, const int64_t* idx,
                       T* dx) {
  for_lanes(outer, inner, K, [&](int64_t o, int64_t j) {
    for (int64_t k = 0; k < K; ++k) {
      const int64_t i = (o * K + k) * inner + j;
      dx[(o * D + idx[i]) * inner + j] = dy[i];
    }
  });
}

// T the input type, A the type of its sums and products
#define CONVNET_INSTANTIATE(T, A)                                                          \
  template void sum_dim_cpu<T, A>(int64_t, int64_t, int64_t, const T*, A*);                \
  template void prod_dim_cpu<T, A>(int64_t, int64_t, int64_t, const T*, A*);               \
  template void cumsum_cpu<T, A>(int64_t, int64_t, int64_t, bool, const T*, A*);           \
  template void max_forward_cpu<T>(int64_t, int64_t, int64_t, bool, const T*, T*, int64_t*);
CONVNET_INSTANTIATE(float, float)
CONVNET_INSTANTIATE(double, double)
CONVNET_INSTANTIATE(int64_t, int64_t)
CONVNET_INSTANTIATE(int32_t, int64_t)
CONVNET_INSTANTIATE(uint8_t, int64_t)
CONVNET_INSTANTIATE(bool, int64_t)
#undef CONVNET_INSTANTIATE

#define CONVNET_INSTANTIATE(T)                                                                           \
  template void take_backward_cpu<T>(int64_t, int64_t, int64_t, int64_t, const T*, const int64_t*, T*); \
  template void prod_backward_cpu<T>(int64_t, int64_t, int64_t, const T*, const T*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cpu
