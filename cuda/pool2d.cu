// CUDA pooling kernels: max, average, adaptive average and adaptive max over 2-D windows.
// N batch, C channels, H W input size, P Q output size, R S window.
// Forward: one thread per output element, over the window rules and per-window loops that
// the CPU kernels use (cpu/pool2d_window.h). Backward: one thread per input element, which
// gathers from the outputs whose windows hold it (no atomics, so the sums are
// deterministic). Backward kernels overwrite dx; autograd accumulates (+=) the returned
// gradients into .grad.
#include "common.cuh"
#include "cpu/pool2d_window.h"
#include "kernels.h"

namespace convnet::cuda {

using cpu::PoolWindow;

namespace {

// x (N,C,H,W), y (N,C,P,Q), argmax (N,C,P,Q)
template <typename T>
__global__ void max_pool2d_forward_kernel(Pool2dShape s, const T* x, T* y, int64_t* argmax) {
  CUDA_KERNEL_LOOP(i, s.N * s.C * s.P * s.Q) {
    const int64_t q = i % s.Q, p = i / s.Q % s.P, plane = i / (s.P * s.Q);
    const PoolWindow a = cpu::pool_window(p, s.H, s.R, s.stride_h, s.pad_h, s.dil_h);
    const PoolWindow b = cpu::pool_window(q, s.W, s.S, s.stride_w, s.pad_w, s.dil_w);
    y[i] = cpu::max_pool_cell(x + plane * s.H * s.W, s.W, a, b, s.dil_h, s.dil_w, argmax ? argmax + i : nullptr);
  }
}

// dy (N,C,P,Q), argmax (N,C,P,Q), dx (N,C,H,W): input (h,w) sums dy of the outputs whose
// windows hold it and whose maximum it is.
template <typename T>
__global__ void max_pool2d_backward_kernel(Pool2dShape s, const T* dy, const int64_t* argmax, T* dx) {
  CUDA_KERNEL_LOOP(i, s.N * s.C * s.H * s.W) {
    const int64_t w = i % s.W, h = i / s.W % s.H, plane = i / (s.H * s.W);
    int64_t p0, p1, q0, q1;
    cpu::pool_outputs_of(h, s.P, s.R, s.stride_h, s.pad_h, s.dil_h, &p0, &p1);
    cpu::pool_outputs_of(w, s.Q, s.S, s.stride_w, s.pad_w, s.dil_w, &q0, &q1);
    const int64_t at = h * s.W + w;
    const T* g = dy + plane * s.P * s.Q;
    const int64_t* am = argmax + plane * s.P * s.Q;
    T sum = 0;
    for (int64_t p = p0; p < p1; ++p)
      for (int64_t q = q0; q < q1; ++q)
        if (am[p * s.Q + q] == at) sum += g[p * s.Q + q];
    dx[i] = sum;
  }
}

// x (N,C,H,W), y (N,C,P,Q)
template <typename T>
__global__ void avg_pool2d_forward_kernel(Pool2dShape s, const T* x, T* y) {
  CUDA_KERNEL_LOOP(i, s.N * s.C * s.P * s.Q) {
    const int64_t q = i % s.Q, p = i / s.Q % s.P, plane = i / (s.P * s.Q);
    const PoolWindow a = cpu::pool_window(p, s.H, s.R, s.stride_h, s.pad_h, s.dil_h);
    const PoolWindow b = cpu::pool_window(q, s.W, s.S, s.stride_w, s.pad_w, s.dil_w);
    const T d = static_cast<T>(cpu::avg_pool_divisor(a, b, s.count_include_pad));
    // a window wholly in the padding averages to 0
    y[i] = d > 0 ? cpu::avg_pool_sum(x + plane * s.H * s.W, s.W, a, b, s.dil_h, s.dil_w) / d : T(0);
  }
}

// dy (N,C,P,Q), dx (N,C,H,W): input (h,w) sums dy / divisor of the outputs whose windows
// take it as a tap.
template <typename T>
__global__ void avg_pool2d_backward_kernel(Pool2dShape s, const T* dy, T* dx) {
  CUDA_KERNEL_LOOP(i, s.N * s.C * s.H * s.W) {
    const int64_t w = i % s.W, h = i / s.W % s.H, plane = i / (s.H * s.W);
    int64_t p0, p1, q0, q1;
    cpu::pool_outputs_of(h, s.P, s.R, s.stride_h, s.pad_h, s.dil_h, &p0, &p1);
    cpu::pool_outputs_of(w, s.Q, s.S, s.stride_w, s.pad_w, s.dil_w, &q0, &q1);
    const T* g = dy + plane * s.P * s.Q;
    T sum = 0;
    for (int64_t p = p0; p < p1; ++p) {
      if ((h + s.pad_h - p * s.stride_h) % s.dil_h != 0) continue;
      const PoolWindow a = cpu::pool_window(p, s.H, s.R, s.stride_h, s.pad_h, s.dil_h);
      for (int64_t q = q0; q < q1; ++q) {
        if ((w + s.pad_w - q * s.stride_w) % s.dil_w != 0) continue;
        const PoolWindow b = cpu::pool_window(q, s.W, s.S, s.stride_w, s.pad_w, s.dil_w);
        sum += g[p * s.Q + q] / static_cast<T>(cpu::avg_pool_divisor(a, b, s.count_include_pad));
      }
    }
    dx[i] = sum;
  }
}

// x (N,C,H,W), y (N,C,P,Q)
template <typename T>
__global__ void adaptive_avg_pool2d_forward_kernel(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P,
                                                   int64_t Q, const T* x, T* y) {
  CUDA_KERNEL_LOOP(i, N * C * P * Q) {
    const int64_t q = i % Q, p = i / Q % P, plane = i / (P * Q);
    const PoolWindow a = cpu::adaptive_window(p, H, P), b = cpu::adaptive_window(q, W, Q);
    y[i] = cpu::avg_pool_sum(x + plane * H * W, W, a, b, 1, 1) / static_cast<T>(a.hi * b.hi);
  }
}

// dy (N,C,P,Q), dx (N,C,H,W): input (h,w) sums dy / window size of the outputs whose
// windows hold it.
template <typename T>
__global__ void adaptive_avg_pool2d_backward_kernel(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P,
                                                    int64_t Q, const T* dy, T* dx) {
  CUDA_KERNEL_LOOP(i, N * C * H * W) {
    const int64_t w = i % W, h = i / W % H, plane = i / (H * W);
    int64_t p0, p1, q0, q1;
    cpu::adaptive_outputs_of(h, H, P, &p0, &p1);
    cpu::adaptive_outputs_of(w, W, Q, &q0, &q1);
    const T* g = dy + plane * P * Q;
    T sum = 0;
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t rows = cpu::adaptive_window(p, H, P).hi;
      for (int64_t q = q0; q < q1; ++q)
        sum += g[p * Q + q] / static_cast<T>(rows * cpu::adaptive_window(q, W, Q).hi);
    }
    dx[i] = sum;
  }
}

// x (N,C,H,W), y (N,C,P,Q), argmax (N,C,P,Q)
template <typename T>
__global__ void adaptive_max_pool2d_forward_kernel(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P,
                                                   int64_t Q, const T* x, T* y, int64_t* argmax) {
  CUDA_KERNEL_LOOP(i, N * C * P * Q) {
    const int64_t q = i % Q, p = i / Q % P, plane = i / (P * Q);
    const PoolWindow a = cpu::adaptive_window(p, H, P), b = cpu::adaptive_window(q, W, Q);
    y[i] = cpu::max_pool_cell(x + plane * H * W, W, a, b, 1, 1, argmax + i);
  }
}

// dy (N,C,P,Q), argmax (N,C,P,Q), dx (N,C,H,W): as max_pool2d_backward_kernel over the
// adaptive windows.
template <typename T>
__global__ void adaptive_max_pool2d_backward_kernel(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P,
                                                    int64_t Q, const T* dy, const int64_t* argmax, T* dx) {
  CUDA_KERNEL_LOOP(i, N * C * H * W) {
    const int64_t w = i % W, h = i / W % H, plane = i / (H * W);
    int64_t p0, p1, q0, q1;
    cpu::adaptive_outputs_of(h, H, P, &p0, &p1);
    cpu::adaptive_outputs_of(w, W, Q, &q0, &q1);
    const int64_t at = h * W + w;
    const T* g = dy + plane * P * Q;
    const int64_t* am = argmax + plane * P * Q;
    T sum = 0;
    for (int64_t p = p0; p < p1; ++p)
      for (int64_t q = q0; q < q1; ++q)
        if (am[p * Q + q] == at) sum += g[p * Q + q];
    dx[i] = sum;
  }
}

// x (N,C,P,Q), idx (N,C,P,Q), y (N,C,H,W) zeroed: y[plane, idx] = x. Repeated indices within a
// plane race; max pooling's repeat only where its windows overlap, with the same value.
template <typename T>
__global__ void max_unpool2d_forward_kernel(int64_t NC, int64_t HW, int64_t PQ, const T* x, const int64_t* idx,
                                            T* y) {
  CUDA_KERNEL_LOOP(i, NC * PQ) y[i / PQ * HW + idx[i]] = x[i];
}

// dy (N,C,H,W), idx (N,C,P,Q), dx (N,C,P,Q): dx = dy[plane, idx]
template <typename T>
__global__ void max_unpool2d_backward_kernel(int64_t NC, int64_t HW, int64_t PQ, const T* dy, const int64_t* idx,
                                             T* dx) {
  CUDA_KERNEL_LOOP(i, NC * PQ) dx[i] = dy[i / PQ * HW + idx[i]];
}

template <typename T>
__global__ void fill_zero_kernel(int64_t n, T* y) {
  CUDA_KERNEL_LOOP(i, n) y[i] = T(0);
}

}  // namespace

template <typename T>
void max_pool2d_forward_cuda(const Pool2dShape& s, const T* x, T* y, int64_t* argmax) {
  auto k = max_pool2d_forward_kernel<T>;
  CONVNET_LAUNCH(k, s.N * s.C * s.P * s.Q, s, x, y, argmax);
}

template <typename T>
void max_pool2d_backward_cuda(const Pool2dShape& s, const T* dy, const int64_t* argmax, T* dx) {
  auto k = max_pool2d_backward_kernel<T>;
  CONVNET_LAUNCH(k, s.N * s.C * s.H * s.W, s, dy, argmax, dx);
}

template <typename T>
void avg_pool2d_forward_cuda(const Pool2dShape& s, const T* x, T* y) {
  auto k = avg_pool2d_forward_kernel<T>;
  CONVNET_LAUNCH(k, s.N * s.C * s.P * s.Q, s, x, y);
}

template <typename T>
void avg_pool2d_backward_cuda(const Pool2dShape& s, const T* dy, T* dx) {
  auto k = avg_pool2d_backward_kernel<T>;
  CONVNET_LAUNCH(k, s.N * s.C * s.H * s.W, s, dy, dx);
}

template <typename T>
void adaptive_avg_pool2d_forward_cuda(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P, int64_t Q,
                                      const T* x, T* y) {
  auto k = adaptive_avg_pool2d_forward_kernel<T>;
  CONVNET_LAUNCH(k, N * C * P * Q, N, C, H, W, P, Q, x, y);
}

template <typename T>
void adaptive_avg_pool2d_backward_cuda(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P, int64_t Q,
                                       const T* dy, T* dx) {
  auto k = adaptive_avg_pool2d_backward_kernel<T>;
  CONVNET_LAUNCH(k, N * C * H * W, N, C, H, W, P, Q, dy, dx);
}

template <typename T>
void adaptive_max_pool2d_forward_cuda(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P, int64_t Q,
                                      const T* x, T* y, int64_t* argmax) {
  auto k = adaptive_max_pool2d_forward_kernel<T>;
  CONVNET_LAUNCH(k, N * C * P * Q, N, C, H, W, P, Q, x, y, argmax);
}

template <typename T>
void adaptive_max_pool2d_backward_cuda(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P, int64_t Q,
                                       const T* dy, const int64_t* argmax, T* dx) {
  auto k = adaptive_max_pool2d_backward_kernel<T>;
  CONVNET_LAUNCH(k, N * C * H * W, N, C, H, W, P, Q, dy, argmax, dx);
}

template <typename T>
void max_unpool2d_forward_cuda(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P, int64_t Q, const T* x,
                               const int64_t* idx, T* y) {
  auto z = fill_zero_kernel<T>;
  CONVNET_LAUNCH(z, N * C * H * W, N * C * H * W, y);
  auto k = max_unpool2d_forward_kernel<T>;
  CONVNET_LAUNCH(k, N * C * P * Q, N * C, H * W, P * Q, x, idx, y);
}

template <typename T>
void max_unpool2d_backward_cuda(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P, int64_t Q, const T* dy,
                                const int64_t* idx, T* dx) {
  auto k = max_unpool2d_backward_kernel<T>;
  CONVNET_LAUNCH(k, N * C * P * Q, N * C, H * W, P * Q, dy, idx, dx);
}

#define CONVNET_INSTANTIATE(T)                                                                              \
  template void max_pool2d_forward_cuda<T>(const Pool2dShape&, const T*, T*, int64_t*);                      \
  template void max_pool2d_backward_cuda<T>(const Pool2dShape&, const T*, const int64_t*, T*);               \
  template void avg_pool2d_forward_cuda<T>(const Pool2dShape&, const T*, T*);                                \
  template void avg_pool2d_backward_cuda<T>(const Pool2dShape&, const T*, T*);                               \
  template void adaptive_avg_pool2d_forward_cuda<T>(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,    \
                                                    const T*, T*);                                           \
  template void adaptive_avg_pool2d_backward_cuda<T>(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,   \
                                                     const T*, T*);                                          \
  template void adaptive_max_pool2d_forward_cuda<T>(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,    \
                                                    const T*, T*, int64_t*);                                 \
  template void adaptive_max_pool2d_backward_cuda<T>(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,   \
                                                     const T*, const int64_t*, T*);                          \
  template void max_unpool2d_forward_cuda<T>(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, const T*,  \
                                             const int64_t*, T*);                                            \
  template void max_unpool2d_backward_cuda<T>(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, const T*, \
                                              const int64_t*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cuda
