// Reductions over one dimension on the GPU: x viewed as (outer, D, inner), D the size of
// the reduced dimension. One thread per output reduces its values in order of d, threads
// consecutive along inner. When there are few outputs and D is long, D is split into
// chunks of kChunk reduced by separate threads, and the chunks' results reduced again in
// order (deterministic; the sums' rounding differs from the CPU's single pass).
// Backward overwrites dx; autograd accumulates (+=) it into .grad.
#include <type_traits>

#include "common.cuh"
#include "kernels.h"
#include "rowwise.h"

namespace convnet::cuda {

namespace {

constexpr int64_t kChunk = 256;          // values per thread of a split reduction
constexpr int64_t kSplitBelow = 16384;   // outputs below which a long D is split

bool split(int64_t outputs, int64_t D) { return outputs < kSplitBelow && D > 2 * kChunk; }

// x (outer,D,inner), y (outer,chunks,inner): the sum of each chunk of D.
template <typename T, typename A>
__global__ void sum_dim_kernel(int64_t outer, int64_t D, int64_t inner, int64_t chunk, int64_t chunks,
                               const T* x, A* y) {
  CUDA_KERNEL_LOOP(i, outer * chunks * inner) {
    const int64_t j = i % inner, q = i / inner, c = q % chunks, o = q / chunks;
    const int64_t d1 = (c + 1) * chunk < D ? (c + 1) * chunk : D;
    const T* p = x + o * D * inner + j;
    A acc = 0;
    for (int64_t d = c * chunk; d < d1; ++d) acc += p[d * inner];
    y[i] = acc;
  }
}

// x (outer,D,inner), y and arg (outer,chunks,inner): each chunk's maximum and its index d, or
// xi's entry at that position when xi (outer,D,inner) is given (the indices of x's values).
template <typename T>
__global__ void max_dim_kernel(int64_t outer, int64_t D, int64_t inner, int64_t chunk, int64_t chunks,
                               const T* x, const int64_t* xi, T* y, int64_t* arg) {
  CUDA_KERNEL_LOOP(i, outer * chunks * inner) {
    const int64_t j = i % inner, q = i / inner, c = q % chunks, o = q / chunks;
    const int64_t d0 = c * chunk, d1 = d0 + chunk < D ? d0 + chunk : D;
    const T* p = x + o * D * inner + j;
    T best = p[d0 * inner];
    int64_t a = d0;
    for (int64_t d = d0 + 1; d < d1; ++d) {
      const T v = p[d * inner];
      if (pw::max_replaces(v, best)) {
        best = v;
        a = d;
      }
    }
    y[i] = best;
    arg[i] = xi ? xi[(o * D + a) * inner + j] : a;
  }
}

// dy (outer,inner), argmax (outer,inner), dx (outer,D,inner): dy at each maximum, else 0.
template <typename T>
__global__ void max_backward_kernel(int64_t n, int64_t D, int64_t inner, const T* dy, const int64_t* argmax,
                                    T* dx) {
  CUDA_KERNEL_LOOP(k, n) {
    const int64_t j = k % inner, d = (k / inner) % D, i = k / (D * inner) * inner + j;
    dx[k] = argmax[i] == d ? dy[i] : T(0);
  }
}

// max_forward over x (outer,D,inner) whose values came from positions xi (or null: 0..D-1).
template <typename T>
void max_dim(int64_t outer, int64_t D, int64_t inner, const T* x, const int64_t* xi, T* y, int64_t* argmax) {
  auto k = max_dim_kernel<T>;
  if (!split(outer * inner, D)) {
    CONVNET_LAUNCH(k, outer * inner, outer, D, inner, D, int64_t(1), x, xi, y, argmax);
    return;
  }
  const int64_t chunks = CEIL_DIV(D, kChunk), n = outer * chunks * inner;
  DeviceBuffer<T> part(n);
  DeviceBuffer<int64_t> part_arg(n);
  CONVNET_LAUNCH(k, n, outer, D, inner, kChunk, chunks, x, xi, part.get(), part_arg.get());
  max_dim<T>(outer, chunks, inner, part.get(), part_arg.get(), y, argmax);
}

}  // namespace

template <typename T, typename A>
void sum_dim_cuda(int64_t outer, int64_t D, int64_t inner, const T* x, A* y) {
  if (outer * inner == 0) return;
  auto k = sum_dim_kernel<T, A>;
  if (!split(outer * inner, D)) {
    CONVNET_LAUNCH(k, outer * inner, outer, D, inner, D, int64_t(1), x, y);
    return;
  }
  const int64_t chunks = CEIL_DIV(D, kChunk);
  DeviceBuffer<A> part(outer * chunks * inner);
  CONVNET_LAUNCH(k, outer * chunks * inner, outer, D, inner, kChunk, chunks, x, part.get());
  sum_dim_cuda<A, A>(outer, chunks, inner, part.get(), y);
}

template <typename T>
void max_forward_cuda(int64_t outer, int64_t D, int64_t inner, const T* x, T* y, int64_t* argmax) {
  if (outer * inner == 0) return;
  max_dim<T>(outer, D, inner, x, nullptr, y, argmax);
}

template <typename T>
void max_backward_cuda(int64_t outer, int64_t D, int64_t inner, const T* dy, const int64_t* argmax, T* dx) {
  const int64_t n = outer * D * inner;
  if (n == 0) return;
  auto k = max_backward_kernel<T>;
  CONVNET_LAUNCH(k, n, n, D, inner, dy, argmax, dx);
}

// T the input type, A the type of its sums
#define CONVNET_INSTANTIATE(T, A)                                           \
  template void sum_dim_cuda<T, A>(int64_t, int64_t, int64_t, const T*, A*); \
  template void max_forward_cuda<T>(int64_t, int64_t, int64_t, const T*, T*, int64_t*);
CONVNET_INSTANTIATE(float, float)
CONVNET_INSTANTIATE(double, double)
CONVNET_INSTANTIATE(int64_t, int64_t)
CONVNET_INSTANTIATE(uint8_t, int64_t)
CONVNET_INSTANTIATE(bool, int64_t)
#undef CONVNET_INSTANTIATE

#define CONVNET_INSTANTIATE(T) \
  template void max_backward_cuda<T>(int64_t, int64_t, int64_t, const T*, const int64_t*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cuda
