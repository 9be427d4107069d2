// Reductions over one dimension on the GPU: x viewed as (outer, D, inner), D the size of
// the reduced dimension. One thread per output reduces its values in order of d, threads
// consecutive along inner. When there are few outputs and D is long, D is split into
// chunks of kChunk reduced by separate threads, and the chunks' results reduced again in
// order (deterministic; the sums' rounding differs from the CPU's single pass).
// Backward overwrites dx; autograd accumulates (+=) it into .grad.
#include <type_traits>

#include "common.cuh"
#include "kernels.h"
#include "pointwise.h"
#include "rowwise.h"

namespace convnet::cuda {

namespace {

constexpr int64_t kChunk = 256;          // values per thread of a split reduction
constexpr int64_t kSplitBelow = 16384;   // outputs below which a long D is split

bool split(int64_t outputs, int64_t D) { return outputs < kSplitBelow && D > 2 * kChunk; }

// x (outer,D,inner), y (outer,chunks,inner): init op x[d] op ... over each chunk of D (op
// pw::Add for sums, pw::Mul for products).
template <typename T, typename A, typename Op>
__global__ void fold_dim_kernel(int64_t outer, int64_t D, int64_t inner, int64_t chunk, int64_t chunks,
                                A init, Op op, const T* x, A* y) {
  CUDA_KERNEL_LOOP(i, outer * chunks * inner) {
    const int64_t j = i % inner, q = i / inner, c = q % chunks, o = q / chunks;
    const int64_t d1 = (c + 1) * chunk < D ? (c + 1) * chunk : D;
    const T* p = x + o * D * inner + j;
    A acc = init;
    for (int64_t d = c * chunk; d < d1; ++d) acc = op(acc, static_cast<A>(p[d * inner]));
    y[i] = acc;
  }
}

// The fold of x (outer,D,inner) over D into y (outer,inner), by chunks when few outputs have long rows.
template <typename T, typename A, typename Op>
void fold_dim(int64_t outer, int64_t D, int64_t inner, A init, Op op, const T* x, A* y) {
  if (outer * inner == 0) return;
  auto k = fold_dim_kernel<T, A, Op>;
  if (!split(outer * inner, D)) {
    CONVNET_LAUNCH(k, outer * inner, outer, D, inner, D, int64_t(1), init, op, x, y);
    return;
  }
  const int64_t chunks = CEIL_DIV(D, kChunk);
  DeviceBuffer<A> part(outer * chunks * inner);
  CONVNET_LAUNCH(k, outer * chunks * inner, outer, D, inner, kChunk, chunks, init, op, x, part.get());
  fold_dim<A, A, Op>(outer, chunks, inner, init, op, part.get(), y);
}

// x (outer,D,inner), dy (outer,inner), dx (outer,D,inner): one thread per lane, a prefix
// product forward and a suffix product backward.
template <typename T>
__global__ void prod_backward_kernel(int64_t outer, int64_t D, int64_t inner, const T* x, const T* dy, T* dx) {
  CUDA_KERNEL_LOOP(i, outer * inner) {
    const int64_t base = i / inner * D * inner + i % inner;
    T left = dy[i];
    for (int64_t d = 0; d < D; ++d) {
      dx[base + d * inner] = left;
      left *= x[base + d * inner];
    }
    T right = 1;
    for (int64_t d = D; d-- > 0;) {
      dx[base + d * inner] *= right;
      right *= x[base + d * inner];
    }
  }
}

// x (outer,D,inner), y (outer,D,inner): one thread per lane, running sums (from the end when reverse).
template <typename T, typename A>
__global__ void cumsum_kernel(int64_t outer, int64_t D, int64_t inner, bool reverse, const T* x, A* y) {
  CUDA_KERNEL_LOOP(i, outer * inner) {
    const int64_t base = i / inner * D * inner + i % inner;
    A acc = 0;
    for (int64_t k = 0; k < D; ++k) {
      const int64_t at = base + (reverse ? D - 1 - k : k) * inner;
      acc += static_cast<A>(x[at]);
      y[at] = acc;
    }
  }
}

// x (outer,D,inner), y and arg (outer,chunks,inner): each chunk's maximum and its index d, or
// xi's entry at that position when xi (outer,D,inner) is given (the indices of x's values).
template <typename T>
__global__ void max_dim_kernel(int64_t outer, int64_t D, int64_t inner, int64_t chunk, int64_t chunks,
                               bool smallest, const T* x, const int64_t* xi, T* y, int64_t* arg) {
  CUDA_KERNEL_LOOP(i, outer * chunks * inner) {
    const int64_t j = i % inner, q = i / inner, c = q % chunks, o = q / chunks;
    const int64_t d0 = c * chunk, d1 = d0 + chunk < D ? d0 + chunk : D;
    const T* p = x + o * D * inner + j;
    T best = p[d0 * inner];
    int64_t a = d0;
    for (int64_t d = d0 + 1; d < d1; ++d) {
      const T v = p[d * inner];
      if (pw::extremum_replaces(v, best, smallest)) {
        best = v;
        a = d;
      }
    }
    y[i] = best;
    arg[i] = xi ? xi[(o * D + a) * inner + j] : a;
  }
}

// dy (outer,K,inner), idx (outer,K,inner), dx (outer,D,inner) zeroed: one thread per dy
// element writes it at its index (the indices of a lane are distinct: no two threads collide).
template <typename T>
__global__ void take_backward_kernel(int64_t n, int64_t D, int64_t K, int64_t inner, const T* dy,
                                     const int64_t* idx, T* dx) {
  CUDA_KERNEL_LOOP(i, n) {
    const int64_t j = i % inner, o = i / (K * inner);
    dx[(o * D + idx[i]) * inner + j] = dy[i];
  }
}

// max_forward over x (outer,D,inner) whose values came from positions xi (or null: 0..D-1).
template <typename T>
void max_dim(int64_t outer, int64_t D, int64_t inner, bool smallest, const T* x, const int64_t* xi, T* y,
             int64_t* argmax) {
  auto k = max_dim_kernel<T>;
  if (!split(outer * inner, D)) {
    CONVNET_LAUNCH(k, outer * inner, outer, D, inner, D, int64_t(1), smallest, x, xi, y, argmax);
    return;
  }
  const int64_t chunks = CEIL_DIV(D, kChunk), n = outer * chunks * inner;
  DeviceBuffer<T> part(n);
  DeviceBuffer<int64_t> part_arg(n);
  CONVNET_LAUNCH(k, n, outer, D, inner, kChunk, chunks, smallest, x, xi, part.get(), part_arg.get());
  max_dim<T>(outer, chunks, inner, smallest, part.get(), part_arg.get(), y, argmax);
}

}  // namespace

template <typename T, typename A>
void sum_dim_cuda(int64_t outer, int64_t D, int64_t inner, const T* x, A* y) {
  fold_dim(outer, D, inner, A(0), pw::Add(), x, y);
}

template <typename T, typename A>
void prod_dim_cuda(int64_t outer, int64_t D, int64_t inner, const T* x, A* y) {
  fold_dim(outer, D, inner, A(1), pw::Mul(), x, y);
}

template <typename T>
void prod_backward_cuda(int64_t outer, int64_t D, int64_t inner, const T* x, const T* dy, T* dx) {
  if (outer * inner == 0) return;
  auto k = prod_backward_kernel<T>;
  CONVNET_LAUNCH(k, outer * inner, outer, D, inner, x, dy, dx);
}

template <typename T, typename A>
void cumsum_cuda(int64_t outer, int64_t D, int64_t inner, bool reverse, const T* x, A* y) {
  if (outer * inner == 0) return;
  auto k = cumsum_kernel<T, A>;
  CONVNET_LAUNCH(k, outer * inner, outer, D, inner, reverse, x, y);
}

template <typename T>
void max_forward_cuda(int64_t outer, int64_t D, int64_t inner, bool smallest, const T* x, T* y, int64_t* argmax) {
  if (outer * inner == 0) return;
  max_dim<T>(outer, D, inner, smallest, x, nullptr, y, argmax);
}

template <typename T>
void take_backward_cuda(int64_t outer, int64_t D, int64_t K, int64_t inner, const T* dy, const int64_t* idx,
                        T* dx) {
  const int64_t n = outer * K * inner;
  if (n == 0) return;
  auto k = take_backward_kernel<T>;
  CONVNET_LAUNCH(k, n, n, D, K, inner, dy, idx, dx);
}

// T the input type, A the type of its sums and products
#define CONVNET_INSTANTIATE(T, A)                                                      \
  template void sum_dim_cuda<T, A>(int64_t, int64_t, int64_t, const T*, A*);            \
  template void prod_dim_cuda<T, A>(int64_t, int64_t, int64_t, const T*, A*);           \
  template void cumsum_cuda<T, A>(int64_t, int64_t, int64_t, bool, const T*, A*);       \
  template void max_forward_cuda<T>(int64_t, int64_t, int64_t, bool, const T*, T*, int64_t*);
CONVNET_INSTANTIATE(float, float)
CONVNET_INSTANTIATE(double, double)
CONVNET_INSTANTIATE(int64_t, int64_t)
CONVNET_INSTANTIATE(int32_t, int64_t)
CONVNET_INSTANTIATE(uint8_t, int64_t)
CONVNET_INSTANTIATE(bool, int64_t)
#undef CONVNET_INSTANTIATE

#define CONVNET_INSTANTIATE(T)                                                                            \
  template void take_backward_cuda<T>(int64_t, int64_t, int64_t, int64_t, const T*, const int64_t*, T*); \
  template void prod_backward_cuda<T>(int64_t, int64_t, int64_t, const T*, const T*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cuda
