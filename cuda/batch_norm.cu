// CUDA batch normalization kernels. N batch, C channels, L positions per channel and
// sample; x is viewed as (N,C,L). Per-channel sums (of x, of (x - mean)^2, of dy and of
// dy * (x - mean)) take two steps: a kernel in which J threads share each (n,c) row, the
// lanes of a row reading consecutive elements, writes partial sums (C, N*J); then one
// cuBLAS product with a constant vector adds the N*J partial sums of each channel (scaled
// by 1/(N*L) for the mean and variance).
// Elementwise kernels run one thread per element. Backward kernels overwrite their
// outputs; autograd accumulates (+=) the returned gradients into .grad.
#include <algorithm>
#include <cmath>

#include "blas.cuh"
#include "kernels.h"

namespace convnet::cuda {

namespace {

CONVNET_HD inline float root(float v) { return sqrtf(v); }
CONVNET_HD inline double root(double v) { return sqrt(v); }

// Lanes J per (n,c) row: every element on its own up to 32 per row, else about 32
// elements per lane in whole warps, at most 1024 lanes.
int64_t lanes_for(int64_t L) { return L <= 32 ? L : std::min<int64_t>(1024, CEIL_DIV(CEIL_DIV(L, 32), 32) * 32); }

// y (K) = part (K,R) @ v (R): the sums of part's rows weighted by v.
template <typename T>
void row_sums(int64_t K, int64_t R, const T* part, const T* v, T* y) {
  gemm<T, T>(false, false, K, 1, R, part, R, 0, v, 1, 0, T(0), y, 1, 0, 1, false);
}

// x (N,C,L), center (C) or null; part (C, N*J): part[(c*N + n)*J + j] is the sum over
// l = j, j + J, ... of x[n,c,l], or of (x[n,c,l] - center[c])^2 when center is given.
template <typename T>
__global__ void batch_norm_partial_kernel(int64_t N, int64_t C, int64_t L, int64_t J, const T* x, const T* center,
                                          T* part) {
  CUDA_KERNEL_LOOP(i, N * C * J) {
    const int64_t j = i % J, row = i / J, c = row % C, n = row / C;
    const T* xr = x + row * L;
    T s = 0;
    if (center) {
      const T m = center[c];
      for (int64_t l = j; l < L; l += J) s += (xr[l] - m) * (xr[l] - m);
    } else {
      for (int64_t l = j; l < L; l += J) s += xr[l];
    }
    part[(c * N + n) * J + j] = s;
  }
}

// x, dy (N,C,L), mean (C); part (2C, N*J): rows [0, C) the partial sums of dy, [C, 2C)
// those of dy * (x - mean), lanes as batch_norm_partial_kernel's.
template <typename T>
__global__ void batch_norm_grad_partial_kernel(int64_t N, int64_t C, int64_t L, int64_t J, const T* x, const T* dy,
                                               const T* mean, T* part) {
  CUDA_KERNEL_LOOP(i, N * C * J) {
    const int64_t j = i % J, row = i / J, c = row % C, n = row / C;
    const T* xr = x + row * L;
    const T* gr = dy + row * L;
    const T m = mean[c];
    T sdy = 0, sdyx = 0;
    for (int64_t l = j; l < L; l += J) {
      sdy += gr[l];
      sdyx += gr[l] * (xr[l] - m);
    }
    const int64_t at = (c * N + n) * J + j;
    part[at] = sdy;
    part[C * N * J + at] = sdyx;
  }
}

// x (N,C,L), mean, invstd (C), w, b (C) or null, y (N,C,L): y = (x - mean) * invstd * w + b
template <typename T>
__global__ void batch_norm_forward_kernel(int64_t N, int64_t C, int64_t L, const T* x, const T* mean,
                                          const T* invstd, const T* w, const T* b, T* y) {
  CUDA_KERNEL_LOOP(i, N * C * L) {
    const int64_t c = i / L % C;
    const T scale = invstd[c] * (w ? w[c] : T(1));
    const T shift = (b ? b[c] : T(0)) - mean[c] * scale;
    y[i] = x[i] * scale + shift;
  }
}

// sums (2C): sum of dy, sum of dy * (x - mean) per channel; dw, db (C) or null
template <typename T>
__global__ void batch_norm_param_grad_kernel(int64_t C, const T* sums, const T* invstd, T* dw, T* db) {
  CUDA_KERNEL_LOOP(c, C) {
    if (dw) dw[c] = sums[C + c] * invstd[c];
    if (db) db[c] = sums[c];
  }
}

// dx (N,C,L) = g * (dy - mean(dy) - (x - mean) * invstd^2 * mean(dy * (x - mean))), g = invstd * w,
// with the two means (over M values, from sums (2C)) only when batch_stats; sums may then be null.
template <typename T>
__global__ void batch_norm_backward_kernel(int64_t N, int64_t C, int64_t L, bool batch_stats, const T* x,
                                           const T* dy, const T* mean, const T* invstd, const T* w, const T* sums,
                                           T* dx) {
  const T M = static_cast<T>(N * L);
  CUDA_KERNEL_LOOP(i, N * C * L) {
    const int64_t c = i / L % C;
    const T is = invstd[c];
    const T g = is * (w ? w[c] : T(1));
    const T a = batch_stats ? sums[c] / M : T(0), k = batch_stats ? sums[C + c] * is * is / M : T(0);
    dx[i] = g * (dy[i] - a - (x[i] - mean[c]) * k);
  }
}

// running_mean, running_var (C) or null, as batch_norm_update_stats_cpu
template <typename T>
__global__ void batch_norm_update_stats_kernel(int64_t C, double momentum, double unbias, const T* mean,
                                               const T* var, T* running_mean, T* running_var) {
  CUDA_KERNEL_LOOP(c, C) {
    if (running_mean) running_mean[c] = static_cast<T>((1 - momentum) * running_mean[c] + momentum * mean[c]);
    if (running_var) running_var[c] = static_cast<T>((1 - momentum) * running_var[c] + momentum * unbias * var[c]);
  }
}

template <typename T>
__global__ void batch_norm_invstd_kernel(int64_t C, T eps, const T* var, T* invstd) {
  CUDA_KERNEL_LOOP(c, C) invstd[c] = T(1) / root(var[c] + eps);
}

__global__ void batch_norm_count_kernel(int64_t* count) {
  CUDA_KERNEL_LOOP(i, 1) count[i] += 1;
}

}  // namespace

template <typename T>
void batch_norm_stats_cuda(int64_t N, int64_t C, int64_t L, const T* x, T* mean, T* var) {
  if (C == 0) return;
  const int64_t J = lanes_for(L), R = N * J;
  DeviceBuffer<T> part(C * R), inv_m(R);
  fill_cuda(dtype_of<T>(), R, 1.0 / static_cast<double>(N * L), inv_m.get());
  auto k = batch_norm_partial_kernel<T>;
  CONVNET_LAUNCH(k, N * C * J, N, C, L, J, x, static_cast<const T*>(nullptr), part.get());
  row_sums(C, R, part.get(), inv_m.get(), mean);
  CONVNET_LAUNCH(k, N * C * J, N, C, L, J, x, static_cast<const T*>(mean), part.get());
  row_sums(C, R, part.get(), inv_m.get(), var);
}

template <typename T>
void batch_norm_forward_cuda(int64_t N, int64_t C, int64_t L, const T* x, const T* mean, const T* invstd,
                             const T* w, const T* b, T* y) {
  auto k = batch_norm_forward_kernel<T>;
  CONVNET_LAUNCH(k, N * C * L, N, C, L, x, mean, invstd, w, b, y);
}

template <typename T>
void batch_norm_backward_cuda(int64_t N, int64_t C, int64_t L, bool batch_stats, const T* x, const T* dy,
                              const T* mean, const T* invstd, const T* w, T* dx, T* dw, T* db) {
  if (C == 0) return;
  if (N * L == 0) {  // no values: dx is empty, dw and db are 0
    if (dw) CUDA_CHECK(cudaMemsetAsync(dw, 0, static_cast<size_t>(C) * sizeof(T), stream()));
    if (db) CUDA_CHECK(cudaMemsetAsync(db, 0, static_cast<size_t>(C) * sizeof(T), stream()));
    return;
  }
  const bool need_sums = dw || db || (dx && batch_stats);
  const int64_t J = need_sums ? lanes_for(L) : 0, R = N * J;
  DeviceBuffer<T> sums(need_sums ? 2 * C : 0), part(2 * C * R), ones(R);
  if (need_sums) {
    fill_cuda(dtype_of<T>(), R, 1.0, ones.get());
    auto k = batch_norm_grad_partial_kernel<T>;
    CONVNET_LAUNCH(k, N * C * J, N, C, L, J, x, dy, mean, part.get());
    row_sums(2 * C, R, part.get(), ones.get(), sums.get());
  }
  if (dw || db) {
    auto k = batch_norm_param_grad_kernel<T>;
    CONVNET_LAUNCH(k, C, C, static_cast<const T*>(sums.get()), invstd, dw, db);
  }
  if (dx) {
    auto k = batch_norm_backward_kernel<T>;
    CONVNET_LAUNCH(k, N * C * L, N, C, L, batch_stats, x, dy, mean, invstd, w, static_cast<const T*>(sums.get()),
                   dx);
  }
}

template <typename T>
void batch_norm_update_stats_cuda(int64_t C, int64_t M, double momentum, const T* mean, const T* var,
                                  T* running_mean, T* running_var) {
  auto k = batch_norm_update_stats_kernel<T>;
  CONVNET_LAUNCH(k, C, C, momentum, static_cast<double>(M) / static_cast<double>(M - 1), mean, var, running_mean,
                 running_var);
}

template <typename T>
void batch_norm_invstd_cuda(int64_t C, double eps, const T* var, T* invstd) {
  auto k = batch_norm_invstd_kernel<T>;
  CONVNET_LAUNCH(k, C, C, static_cast<T>(eps), var, invstd);
}

void batch_norm_count_cuda(int64_t* count) { CONVNET_LAUNCH(batch_norm_count_kernel, 1, count); }

#define CONVNET_INSTANTIATE(T)                                                                            \
  template void batch_norm_stats_cuda<T>(int64_t, int64_t, int64_t, const T*, T*, T*);                    \
  template void batch_norm_forward_cuda<T>(int64_t, int64_t, int64_t, const T*, const T*, const T*,       \
                                           const T*, const T*, T*);                                       \
  template void batch_norm_backward_cuda<T>(int64_t, int64_t, int64_t, bool, const T*, const T*, const T*, \
                                            const T*, const T*, T*, T*, T*);                              \
  template void batch_norm_update_stats_cuda<T>(int64_t, int64_t, double, const T*, const T*, T*, T*);    \
  template void batch_norm_invstd_cuda<T>(int64_t, double, const T*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cuda
