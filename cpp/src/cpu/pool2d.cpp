// CPU pooling kernels: max, average, adaptive average and adaptive max over 2-D windows.
// N batch, C channels, H W input size, P Q output size, R S window.
// Every (n,c) plane is independent: the kernels run parallel over the N*C
// planes. For each output row p (column q) the window's taps that land inside
// the input are precomputed once per call, so the inner loops do no division
// and no bounds test. Backward kernels overwrite dx; autograd accumulates (+=)
// the returned gradients into .grad.
#include <algorithm>
#include <limits>
#include <vector>

#include "kernels.h"
#include "parallel.h"

namespace convnet::cpu {

namespace {

// One output row (or column) of a window: input index of tap 0, the taps
// [lo, hi) that land inside the input, and the taps inside the padded input.
struct Window {
  int64_t start, lo, hi, padded;
};

// Windows of the outputs [0, out): tap t of output o reads o*stride - pad + t*dil.
// The caller's ceil_mode may let the last window run past the padded input.
std::vector<Window> windows(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad,
                            int64_t dil) {
  auto taps_below = [&](int64_t start, int64_t end) {  // taps t < k with start + t*dil < end
    return end <= start ? int64_t(0) : std::min(k, (end - start + dil - 1) / dil);
  };
  std::vector<Window> win(out);
  for (int64_t o = 0; o < out; ++o) {
    Window& w = win[o];
    w.start = o * stride - pad;
    w.lo = w.start >= 0 ? 0 : std::min(k, (-w.start + dil - 1) / dil);
    w.hi = std::max(w.lo, taps_below(w.start, in));
    w.padded = taps_below(w.start, in + pad);
  }
  return win;
}

// Work per plane, in elements touched, sets the grain of the parallel loop over planes.
int64_t plane_grain(int64_t work) { return std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, work)); }

// Adaptive windows: output o averages [floor(o*in/out), ceil((o+1)*in/out)).
void adaptive_windows(int64_t in, int64_t out, std::vector<int64_t>& lo, std::vector<int64_t>& hi) {
  lo.resize(out);
  hi.resize(out);
  for (int64_t o = 0; o < out; ++o) {
    lo[o] = o * in / out;
    hi[o] = ((o + 1) * in + out - 1) / out;
  }
}

// Divisor of each average-pool output (P,Q), following PyTorch.
template <typename T>
std::vector<T> avg_divisors(const Pool2dShape& s, const std::vector<Window>& wh,
                            const std::vector<Window>& ww) {
  std::vector<T> div(s.P * s.Q);
  for (int64_t p = 0; p < s.P; ++p)
    for (int64_t q = 0; q < s.Q; ++q)
      div[p * s.Q + q] = s.count_include_pad ? T(wh[p].padded * ww[q].padded)
                                             : T((wh[p].hi - wh[p].lo) * (ww[q].hi - ww[q].lo));
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
      for (int64_t p = 0; p < s.P; ++p) {
        const Window& a = wh[p];
        for (int64_t q = 0; q < s.Q; ++q) {
          const Window& b = ww[q];
          // PyTorch's rule: start from the first tap inside the input at -inf, take a
          // strictly larger value or a NaN; no tap inside the input leaves index -1.
          T best = -std::numeric_limits<T>::infinity();
          int64_t idx = a.lo < a.hi && b.lo < b.hi
                            ? (a.start + a.lo * s.dil_h) * s.W + b.start + b.lo * s.dil_w
                            : -1;
          for (int64_t r = a.lo; r < a.hi; ++r) {
            const int64_t row = (a.start + r * s.dil_h) * s.W;
            for (int64_t t = b.lo; t < b.hi; ++t) {
              const int64_t j = row + b.start + t * s.dil_w;
              const T v = xp[j];
              if (v > best || v != v) {
                best = v;
                idx = j;
              }
            }
          }
          yp[p * s.Q + q] = best;
          ap[p * s.Q + q] = idx;
        }
      }
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
        const Window& a = wh[p];
        for (int64_t q = 0; q < s.Q; ++q) {
          const Window& b = ww[q];
          T sum = 0;
          for (int64_t r = a.lo; r < a.hi; ++r) {
            const T* row = xp + (a.start + r * s.dil_h) * s.W + b.start;
            for (int64_t t = b.lo; t < b.hi; ++t) sum += row[t * s.dil_w];
          }
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
        const Window& a = wh[p];
        for (int64_t q = 0; q < s.Q; ++q) {
          const Window& b = ww[q];
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
  std::vector<int64_t> h0, h1, w0, w1;
  adaptive_windows(H, P, h0, h1);
  adaptive_windows(W, Q, w0, w1);
  parallel_for(N * C, plane_grain(H * W + P * Q), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const T* xp = x + i * H * W;
      T* yp = y + i * P * Q;
      for (int64_t p = 0; p < P; ++p)
        for (int64_t q = 0; q < Q; ++q) {
          T sum = 0;
          for (int64_t h = h0[p]; h < h1[p]; ++h)
            for (int64_t w = w0[q]; w < w1[q]; ++w) sum += xp[h * W + w];
          yp[p * Q + q] = sum / T((h1[p] - h0[p]) * (w1[q] - w0[q]));
        }
    }
  });
}

// x (N,C,H,W), y (N,C,P,Q), argmax (N,C,P,Q): flat h*W+w index within the plane.
// The first maximum wins, a NaN counts as the maximum (as PyTorch).
template <typename T>
void adaptive_max_pool2d_forward_cpu(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P,
                                     int64_t Q, const T* x, T* y, int64_t* argmax) {
  std::vector<int64_t> h0, h1, w0, w1;
  adaptive_windows(H, P, h0, h1);
  adaptive_windows(W, Q, w0, w1);
  parallel_for(N * C, plane_grain(H * W + P * Q), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const T* xp = x + i * H * W;
      T* yp = y + i * P * Q;
      int64_t* ap = argmax + i * P * Q;
      for (int64_t p = 0; p < P; ++p)
        for (int64_t q = 0; q < Q; ++q) {
          T best = -std::numeric_limits<T>::infinity();
          int64_t idx = h0[p] * W + w0[q];
          for (int64_t h = h0[p]; h < h1[p]; ++h)
            for (int64_t w = w0[q]; w < w1[q]; ++w) {
              const T v = xp[h * W + w];
              if (v > best || v != v) {
                best = v;
                idx = h * W + w;
              }
            }
          yp[p * Q + q] = best;
          ap[p * Q + q] = idx;
        }
    }
  });
}

// dy (N,C,P,Q), dx (N,C,H,W) overwritten
template <typename T>
void adaptive_avg_pool2d_backward_cpu(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P,
                                      int64_t Q, const T* dy, T* dx) {
  std::vector<int64_t> h0, h1, w0, w1;
  adaptive_windows(H, P, h0, h1);
  adaptive_windows(W, Q, w0, w1);
  parallel_for(N * C, plane_grain(H * W + P * Q), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      T* dxp = dx + i * H * W;
      const T* dyp = dy + i * P * Q;
      std::fill(dxp, dxp + H * W, T(0));
      for (int64_t p = 0; p < P; ++p)
        for (int64_t q = 0; q < Q; ++q) {
          const T g = dyp[p * Q + q] / T((h1[p] - h0[p]) * (w1[q] - w0[q]));
          for (int64_t h = h0[p]; h < h1[p]; ++h)
            for (int64_t w = w0[q]; w < w1[q]; ++w) dxp[h * W + w] += g;
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
                                                   int64_t, const T*, T*, int64_t*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cpu
