// CUDA 3-D pooling kernels (as cpu/pool3d.cpp): max and average over (kD, kH, kW) windows.
// N batch, C channels, D H W input size, OD P Q output size. Forward: one thread per output,
// by the rules of cpu/pool3d_window.h. Backward: one thread per input element, which gathers
// from the outputs whose windows hold it (no atomics, so the sums are deterministic). Backward
// kernels overwrite dx; autograd accumulates (+=) the returned gradients into .grad.
#include "common.cuh"
#include "cpu/pool3d_window.h"
#include "kernels.h"

namespace convnet::cuda {

namespace {

// x (N,C,D,H,W), y (N,C,OD,P,Q), argmax (N,C,OD,P,Q)
template <typename T>
__global__ void max_pool3d_forward_kernel(Pool3dShape s, const T* x, T* y, int64_t* argmax) {
  const int64_t O = s.OD * s.P * s.Q;
  CUDA_KERNEL_LOOP(i, s.N * s.C * O) {
    const int64_t q = i % s.Q, p = i / s.Q % s.P, od = i / (s.P * s.Q) % s.OD, v = i / O;
    y[i] = cpu::max_pool3d_cell(x + v * s.D * s.H * s.W, s, cpu::pool3d_windows(s, od, p, q), argmax + i);
  }
}

// x (N,C,D,H,W), y (N,C,OD,P,Q)
template <typename T>
__global__ void avg_pool3d_forward_kernel(Pool3dShape s, const T* x, T* y) {
  const int64_t O = s.OD * s.P * s.Q;
  CUDA_KERNEL_LOOP(i, s.N * s.C * O) {
    const int64_t q = i % s.Q, p = i / s.Q % s.P, od = i / (s.P * s.Q) % s.OD, v = i / O;
    y[i] = cpu::avg_pool3d_cell(x + v * s.D * s.H * s.W, s, cpu::pool3d_windows(s, od, p, q));
  }
}

// dy (N,C,OD,P,Q), argmax or null, dx (N,C,D,H,W): input (d,h,w) sums dy of the outputs whose
// windows hold it as a tap and, for max pooling (argmax given), whose maximum it is; for
// average pooling each divided by its window's divisor.
template <typename T>
__global__ void pool3d_backward_kernel(Pool3dShape s, const T* dy, const int64_t* argmax, T* dx) {
  const int64_t V = s.D * s.H * s.W, O = s.OD * s.P * s.Q;
  CUDA_KERNEL_LOOP(i, s.N * s.C * V) {
    const int64_t w = i % s.W, h = i / s.W % s.H, d = i / (s.H * s.W) % s.D, v = i / V;
    int64_t d0, d1, p0, p1, q0, q1;
    cpu::pool_outputs_of(d, s.OD, s.KD, s.stride[0], s.pad[0], s.dil[0], &d0, &d1);
    cpu::pool_outputs_of(h, s.P, s.KH, s.stride[1], s.pad[1], s.dil[1], &p0, &p1);
    cpu::pool_outputs_of(w, s.Q, s.KW, s.stride[2], s.pad[2], s.dil[2], &q0, &q1);
    const int64_t at = i % V;
    T sum = 0;
    for (int64_t od = d0; od < d1; ++od) {
      if ((d + s.pad[0] - od * s.stride[0]) % s.dil[0] != 0) continue;
      for (int64_t p = p0; p < p1; ++p) {
        if ((h + s.pad[1] - p * s.stride[1]) % s.dil[1] != 0) continue;
        for (int64_t q = q0; q < q1; ++q) {
          if ((w + s.pad[2] - q * s.stride[2]) % s.dil[2] != 0) continue;
          const int64_t o = v * O + (od * s.P + p) * s.Q + q;
          if (argmax) {
            if (argmax[o] == at) sum += dy[o];
          } else {
            const int64_t div = cpu::avg_pool3d_divisor(cpu::pool3d_windows(s, od, p, q), s.count_include_pad);
            if (div) sum += dy[o] / static_cast<T>(div);
          }
        }
      }
    }
    dx[i] = sum;
  }
}

}  // namespace

template <typename T>
void max_pool3d_forward_cuda(const Pool3dShape& s, const T* x, T* y, int64_t* argmax) {
  auto k = max_pool3d_forward_kernel<T>;
  CONVNET_LAUNCH(k, s.N * s.C * s.OD * s.P * s.Q, s, x, y, argmax);
}

template <typename T>
void max_pool3d_backward_cuda(const Pool3dShape& s, const T* dy, const int64_t* argmax, T* dx) {
  auto k = pool3d_backward_kernel<T>;
  CONVNET_LAUNCH(k, s.N * s.C * s.D * s.H * s.W, s, dy, argmax, dx);
}

template <typename T>
void avg_pool3d_forward_cuda(const Pool3dShape& s, const T* x, T* y) {
  auto k = avg_pool3d_forward_kernel<T>;
  CONVNET_LAUNCH(k, s.N * s.C * s.OD * s.P * s.Q, s, x, y);
}

template <typename T>
void avg_pool3d_backward_cuda(const Pool3dShape& s, const T* dy, T* dx) {
  auto k = pool3d_backward_kernel<T>;
  CONVNET_LAUNCH(k, s.N * s.C * s.D * s.H * s.W, s, dy, static_cast<const int64_t*>(nullptr), dx);
}

#define CONVNET_INSTANTIATE(T)                                                                  \
  template void max_pool3d_forward_cuda<T>(const Pool3dShape&, const T*, T*, int64_t*);         \
  template void max_pool3d_backward_cuda<T>(const Pool3dShape&, const T*, const int64_t*, T*);  \
  template void avg_pool3d_forward_cuda<T>(const Pool3dShape&, const T*, T*);                   \
  template void avg_pool3d_backward_cuda<T>(const Pool3dShape&, const T*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cuda
