// CPU pooling kernels: max, average, adaptive average and adaptive max over 2-D windows.
// N batch, C channels, H W input size, P Q output size, R S window.
// Every (n,c) plane is independent: the kernels run parallel over the N*C
// planes. For each output row p (column q) the window's taps that land inside
// the input are precomputed once per call, so the inner loops do no division
// and no bounds test. Backward kernels overwrite dx; autograd accumulates (+=)
// the returned gradients into .grad.
#include <algorithm>
#include <vector>

#include "kernels.h"
#include "parallel.h"
#include "pool2d_window.h"

namespace convnet::cpu {

namespace {

// Windows of the outputs [0, out) along one axis (pool2d_window.h).
std::vector<PoolWindow> windows(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad, int64_t dil) {
  std::vector<PoolWindow> win(out);
  for (int64_t o = 0; o < out; ++o) win[o] = pool_window(o, in, k, stride, pad, dil);
  return win;
}

// Work per plane, in elements touched, sets the grain of the parallel loop over planes.
int64_t plane_grain(int64_t work) { return std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, work)); }

// Adaptive windows of the outputs [0, out) along one axis.
std::vector<PoolWindow> adaptive_windows(int64_t in, int64_t out) {
  std::vector<PoolWindow> win(out);
  for (int64_t o = 0; o < out; ++o) win[o] = adaptive_window(o, in, out);
  return win;
}

// Divisor of each average-pool output (P,Q), following PyTorch.
template <typename T>
std::vector<T> avg_divisors(const Pool2dShape& s, const std::vector<PoolWindow>& wh,
                            const std::vector<PoolWindow>& ww) {
  std::vector<T> div(s.P * s.Q);
  for (int64_t p = 0; p < s.P; ++p)
    for (int64_t q = 0; q < s.Q; ++q) div[p * s.Q + q] = T(avg_pool_divisor(wh[p], ww[q], s.count_include_pad));
  return div;
}

}  // namespace

// x (N,C,H,W), y (N,C,P,Q), argmax (N,C,P,Q): flat h*W+w index within the plane
template <typename T>
void max_pool2d_forward_cpu(const Pool2dShape& s, const T* x, T* y, int64_t* argmax) {
  const auto wh = windows(s.H, s.P, s.R, s.stride_h, s.pad_h, s.dil_h);
  const auto ww = windows(s.W, s.Q, s.S, s.stride_w, s.pad_w, s.dil_w);
  const int64_t HW = s.H * s.W, PQ = s.P * s.Q;
  parallel_for(s.N * s.C, plane_grain(PQ * s.R * s.S), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const T* xp = x + i * HW;
      T* yp = y + i * PQ;
      int64_t* ap = argmax + i * PQ;
      for (int64_t p = 0; p < s.P; ++p)
        for (int64_t q = 0; q < s.Q; ++q)
          yp[p * s.Q + q] = max_pool_cell(xp, s.W, wh[p], ww[q], s.dil_h, s.dil_w, ap + p * s.Q + q);
    }
  });
}

// dy (N,C,P,Q), argmax (N,C,P,Q), dx (N,C,H,W) overwritten
template <typename T>
void max_pool2d_backward_cpu(const Pool2dShape& s, const T* dy, const int64_t* argmax, T* dx) {
  const int64_t HW = s.H * s.W, PQ = s.P * s.Q;
  parallel_for(s.N * s.C, plane_grain(HW + PQ), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      T* dxp = dx + i * HW;
      const T* dyp = dy + i * PQ;
      const int64_t* ap = argmax + i * PQ;
      std::fill(dxp, dxp + HW, T(0));
      for (int64_t j = 0; j < PQ; ++j)
        if (ap[j] >= 0) dxp[ap[j]] += dyp[j];
    }
  });
}

// x (N,C,H,W), y (N,C,P,Q)
template <typename T>
void avg_pool2d_forward_cpu(const Pool2dShape& s, const T* x, T* y) {
  const auto wh = windows(s.H, s.P, s.R, s.stride_h, s.pad_h, s.dil_h);
  const auto ww = windows(s.W, s.Q, s.S, s.stride_w, s.pad_w, s.dil_w);
  const auto div = avg_divisors<T>(s, wh, ww);
  const int64_t HW = s.H * s.W, PQ = s.P * s.Q;
  parallel_for(s.N * s.C, plane_grain(PQ * s.R * s.S), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const T* xp = x + i * HW;
      T* yp = y + i * PQ;
      for (int64_t p = 0; p < s.P; ++p) {
        const PoolWindow& a = wh[p];
        for (int64_t q = 0; q < s.Q; ++q) {
          const PoolWindow& b = ww[q];
          const T sum = avg_pool_sum(xp, s.W, a, b, s.dil_h, s.dil_w);
          const T d = div[p * s.Q + q];
          yp[p * s.Q + q] = d > 0 ? sum / d : T(0);  // a window wholly in the padding averages to 0
        }
      }
    }
  });
}

// dy (N,C,P,Q), dx (N,C,H,W) overwritten
template <typename T>
void avg_pool2d_backward_cpu(const Pool2dShape& s, const T* dy, T* dx) {
  const auto wh = windows(s.H, s.P, s.R, s.stride_h, s.pad_h, s.dil_h);
  const auto ww = windows(s.W, s.Q, s.S, s.stride_w, s.pad_w, s.dil_w);
  const auto div = avg_divisors<T>(s, wh, ww);
  const int64_t HW = s.H * s.W, PQ = s.P * s.Q;
  parallel_for(s.N * s.C, plane_grain(HW + PQ * s.R * s.S), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      T* dxp = dx + i * HW;
      const T* dyp = dy + i * PQ;
      std::fill(dxp, dxp + HW, T(0));
      for (int64_t p = 0; p < s.P; ++p) {
        const PoolWindow& a = wh[p];
        for (int64_t q = 0; q < s.Q; ++q) {
          const PoolWindow& b = ww[q];
          const T d = div[p * s.Q + q];
          if (!(d > 0)) continue;
          const T g = dyp[p * s.Q + q] / d;
          for (int64_t r = a.lo; r < a.hi; ++r) {
            T* row = dxp + (a.start + r * s.dil_h) * s.W + b.start;
            for (int64_t t = b.lo; t < b.hi; ++t) row[t * s.dil_w] += g;
          }
        }
      }
    }
  });
}

// x (N,C,H,W), y (N,C,P,Q)
template <typename T>
void adaptive_avg_pool2d_forward_cpu(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P,
                                     int64_t Q, const T* x, T* y) {
  const auto wh = adaptive_windows(H, P), ww = adaptive_windows(W, Q);
  parallel_for(N * C, plane_grain(H * W + P * Q), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const T* xp = x + i * H * W;
      T* yp = y + i * P * Q;
      for (int64_t p = 0; p < P; ++p)
        for (int64_t q = 0; q < Q; ++q)
          yp[p * Q + q] = avg_pool_sum(xp, W, wh[p], ww[q], 1, 1) / T(wh[p].hi * ww[q].hi);
    }
  });
}

// x (N,C,H,W), y (N,C,P,Q), argmax (N,C,P,Q): flat h*W+w index within the plane.
// The first maximum wins, a NaN counts as the maximum (as PyTorch).
template <typename T>
void adaptive_max_pool2d_forward_cpu(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P,
                                     int64_t Q, const T* x, T* y, int64_t* argmax) {
  const auto wh = adaptive_windows(H, P), ww = adaptive_windows(W, Q);
  parallel_for(N * C, plane_grain(H * W + P * Q), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const T* xp = x + i * H * W;
      T* yp = y + i * P * Q;
      int64_t* ap = argmax + i * P * Q;
      for (int64_t p = 0; p < P; ++p)
        for (int64_t q = 0; q < Q; ++q) yp[p * Q + q] = max_pool_cell(xp, W, wh[p], ww[q], 1, 1, ap + p * Q + q);
    }
  });
}

// dy (N,C,P,Q), argmax (N,C,P,Q), dx (N,C,H,W) overwritten: routed as max pooling's, which
// reads only N, C, H, W, P, Q of its shape.
template <typename T>
void adaptive_max_pool2d_backward_cpu(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P,
                                      int64_t Q, const T* dy, const int64_t* argmax, T* dx) {
  const Pool2dShape s{N, C, H, W, P, Q, 1, 1, 1, 1, 0, 0, 1, 1, true};
  max_pool2d_backward_cpu<T>(s, dy, argmax, dx);
}

// dy (N,C,P,Q), dx (N,C,H,W) overwritten
template <typename T>
void adaptive_avg_pool2d_backward_cpu(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P,
                                      int64_t Q, const T* dy, T* dx) {
  const auto wh = adaptive_windows(H, P), ww = adaptive_windows(W, Q);
  parallel_for(N * C, plane_grain(H * W + P * Q), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      T* dxp = dx + i * H * W;
      const T* dyp = dy + i * P * Q;
      std::fill(dxp, dxp + H * W, T(0));
      for (int64_t p = 0; p < P; ++p)
        for (int64_t q = 0; q < Q; ++q) {
          const PoolWindow &a = wh[p], &b = ww[q];
          const T g = dyp[p * Q + q] / T(a.hi * b.hi);
          for (int64_t h = a.start; h < a.start + a.hi; ++h)
            for (int64_t w = b.start; w < b.start + b.hi; ++w) dxp[h * W + w] += g;
        }
    }
  });
}

#define CONVNET_INSTANTIATE(T)                                                                  \
  template void max_pool2d_forward_cpu<T>(const Pool2dShape&, const T*, T*, int64_t*);          \
  template void max_pool2d_backward_cpu<T>(const Pool2dShape&, const T*, const int64_t*, T*);   \
  template void avg_pool2d_forward_cpu<T>(const Pool2dShape&, const T*, T*);                    \
  template void avg_pool2d_backward_cpu<T>(const Pool2dShape&, const T*, T*);                   \
  template void adaptive_avg_pool2d_forward_cpu<T>(int64_t, int64_t, int64_t, int64_t, int64_t, \
                                                   int64_t, const T*, T*);                      \
  template void adaptive_avg_pool2d_backward_cpu<T>(int64_t, int64_t, int64_t, int64_t, int64_t, \
                                                    int64_t, const T*, T*);                     \
  template void adaptive_max_pool2d_forward_cpu<T>(int64_t, int64_t, int64_t, int64_t, int64_t, \
                                                   int64_t, const T*, T*, int64_t*);             \
  template void adaptive_max_pool2d_backward_cpu<T>(int64_t, int64_t, int64_t, int64_t, int64_t, \
                                                    int64_t, const T*, const int64_t*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cpu
