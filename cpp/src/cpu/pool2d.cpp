// CPU pooling kernels: max, average, adaptive average and adaptive max over 2-D windows.
// N batch, C channels, H W input size, P Q output size, R S window.
// Every (n,c) plane is independent: the kernels run parallel over the N*C
// planes. For each output row p (column q) the window's taps that land inside
// the input are precomputed once per call, so the inner loops do no division
// and no bounds test. The outputs of a row whose column windows lie wholly inside
// the input (all but a few border columns) run in vectorized row kernels, along q;
// the border outputs take the per-output path. 2x2 stride-2 max pooling that tiles
// the plane exactly runs in flat passes over whole windows (max_pool_2x2_run). Max
// pooling writes the argmax only where asked. Backward kernels overwrite dx; autograd
// accumulates (+=) the returned gradients into .grad.
#include <algorithm>
#include <limits>
#include <type_traits>
#include <vector>

#include "isa.h"
#include "kernels.h"
#include "parallel.h"
#include "pool2d_window.h"
#include "workspace.h"

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

// The outputs [q0, q1) whose column windows hold all S taps inside the input: one run,
// since the windows move monotonically.
struct InnerColumns {
  int64_t q0, q1;
  InnerColumns(const std::vector<PoolWindow>& ww, int64_t S) : q0(0), q1(0) {
    const int64_t Q = static_cast<int64_t>(ww.size());
    auto inner = [&](int64_t q) { return ww[q].lo == 0 && ww[q].hi == S; };
    while (q0 < Q && !inner(q0)) ++q0;
    for (q1 = q0; q1 < Q && inner(q1);) ++q1;
  }
  // f(q) for the other outputs of a row of Q, in order
  template <typename F>
  void for_border(int64_t Q, const F& f) const {
    for (int64_t q = 0; q < q0; ++q) f(q);
    for (int64_t q = q1; q < Q; ++q) f(q);
  }
};

// The taps of n consecutive outputs of one row whose column windows lie inside the
// input: for tap rows [r0, r1) and tap columns [0, S), output q's tap (r,t) is plane
// element at(r, t) + q*sw.
struct PoolRow {
  int64_t W, row0, r0, r1, dil_h, S, sw, dil_w, col0, n;
  int64_t at(int64_t r, int64_t t) const { return (row0 + r * dil_h) * W + col0 + t * dil_w; }
};

// f(std::integral_constant<int, SW>) with the column stride sw as a compile-time constant
// where it is 1 or 2 (so the row kernels load whole vectors, or deinterleave pairs), else
// SW = 0: sw read at run time.
template <typename F>
void with_stride(int64_t sw, const F& f) {
  if (sw == 1) return f(std::integral_constant<int, 1>());
  if (sw == 2) return f(std::integral_constant<int, 2>());
  f(std::integral_constant<int, 0>());
}

PoolRow pool_row(const Pool2dShape& s, const PoolWindow& a, const std::vector<PoolWindow>& ww,
                 const InnerColumns& in) {
  return PoolRow{s.W, a.start, a.lo, a.hi, s.dil_h, s.S, s.stride_w, s.dil_w,
                 in.q1 > in.q0 ? ww[in.q0].start : 0, in.q1 - in.q0};
}

// xp (H,W) plane; y (n), idx (n) where kIdx: max_pool_cell of each output of row g, vectorized
// along the row. A NaN is taken as the maximum (the last NaN in window order wins), as
// max_pool_cell and PyTorch.
template <typename T, int SW, bool kIdx>
CONVNET_CPU_CLONES void max_pool_row(const PoolRow& g, const T* __restrict xp, T* __restrict y,
                                     int64_t* __restrict idx) {
  const int64_t sw = SW ? SW : g.sw;
  const int64_t first = g.r0 < g.r1 ? g.at(g.r0, 0) : -1;
  for (int64_t q = 0; q < g.n; ++q) {
    y[q] = -std::numeric_limits<T>::infinity();
    if constexpr (kIdx) idx[q] = first < 0 ? -1 : first + q * sw;
  }
  for (int64_t r = g.r0; r < g.r1; ++r)
    for (int64_t t = 0; t < g.S; ++t) {
      const int64_t off = g.at(r, t);
      const T* src = xp + off;
      for (int64_t q = 0; q < g.n; ++q) {
        const T v = src[q * sw];
        const bool take = v > y[q] || v != v;
        y[q] = take ? v : y[q];
        if constexpr (kIdx) idx[q] = take ? off + q * sw : idx[q];
      }
    }
}

// The 2x2 stride-2 windows that tile a plane exactly (H = 2P, W = 2Q, no padding, no
// dilation), whose top-left taps are x[2j] for j in [j0, j0 + n) of plane xp (H,W): the
// maximum of each window in z (n) and, where kIdx, its flat index in zi (n). The window's
// four taps in order: the first maximum wins and the last NaN, as max_pool_cell.
template <typename T, bool kIdx>
CONVNET_CPU_CLONES void max_pool_2x2_run(const T* __restrict xp, int64_t W, int64_t j0, int64_t n,
                                         T* __restrict z, int64_t* __restrict zi) {
  const T* x = xp + 2 * j0;
  for (int64_t i = 0; i < n; ++i) {
    const T a = x[2 * i], b = x[2 * i + 1], c = x[2 * i + W], d = x[2 * i + W + 1];
    T m = a;
    int64_t k = 0;
    const bool tb = b > m || b != b;
    m = tb ? b : m;
    k = tb ? 1 : k;
    const bool tc = c > m || c != c;
    m = tc ? c : m;
    k = tc ? W : k;
    const bool td = d > m || d != d;
    z[i] = td ? d : m;
    if constexpr (kIdx) zi[i] = 2 * (j0 + i) + (td ? W + 1 : k);
  }
}

// 2x2 stride-2 max pooling of the planes [i0, i1) that it tiles exactly: x (N*C, H, W),
// y (N*C, P, Q), argmax (N*C, P, Q) where kIdx. Output row p's windows are the run j in
// [2pQ, 2pQ + Q). Rows of at least a vector's length run one by one; shorter ones as one
// flat run over the plane (the odd rows between them computed and dropped), copied out.
template <typename T, bool kIdx>
void max_pool_2x2_planes(const Pool2dShape& s, const T* x, T* y, int64_t* argmax, int64_t i0, int64_t i1) {
  const int64_t HW = s.H * s.W, P = s.P, Q = s.Q, PQ = P * Q;
  if (Q >= 16) {
    for (int64_t i = i0; i < i1; ++i)
      for (int64_t p = 0; p < P; ++p)
        max_pool_2x2_run<T, kIdx>(x + i * HW, s.W, 2 * p * Q, Q, y + i * PQ + p * Q,
                                  kIdx ? argmax + i * PQ + p * Q : nullptr);
    return;
  }
  const int64_t n = (2 * P - 1) * Q;
  Workspace<T> z(n);
  Workspace<int64_t> zi(kIdx ? n : 0);
  for (int64_t i = i0; i < i1; ++i) {
    max_pool_2x2_run<T, kIdx>(x + i * HW, s.W, 0, n, z.data(), zi.data());
    for (int64_t p = 0; p < P; ++p) {
      std::copy_n(z.data() + 2 * p * Q, Q, y + i * PQ + p * Q);
      if constexpr (kIdx) std::copy_n(zi.data() + 2 * p * Q, Q, argmax + i * PQ + p * Q);
    }
  }
}

// xp (H,W) plane, div (n); y (n): the average of each output of row g (sums in window
// order, as avg_pool_sum), vectorized along the row
template <typename T, int SW>
CONVNET_CPU_CLONES void avg_pool_row(const PoolRow& g, const T* __restrict xp,
                                     const T* __restrict div, T* __restrict y) {
  const int64_t sw = SW ? SW : g.sw;
  for (int64_t q = 0; q < g.n; ++q) y[q] = 0;
  for (int64_t r = g.r0; r < g.r1; ++r)
    for (int64_t t = 0; t < g.S; ++t) {
      const T* src = xp + g.at(r, t);
      for (int64_t q = 0; q < g.n; ++q) y[q] += src[q * sw];
    }
  for (int64_t q = 0; q < g.n; ++q) y[q] = div[q] > 0 ? y[q] / div[q] : T(0);
}

// dy (n), div (n), grad (n) scratch; dxp (H,W) plane += each output's share of its
// gradient at its taps, vectorized along the row. An output with a tap row inside the
// input has a positive divisor.
template <typename T, int SW>
CONVNET_CPU_CLONES void avg_pool_row_backward(const PoolRow& g, const T* __restrict dy,
                                              const T* __restrict div, T* __restrict grad,
                                              T* __restrict dxp) {
  const int64_t sw = SW ? SW : g.sw;
  if (g.r0 >= g.r1) return;
  for (int64_t q = 0; q < g.n; ++q) grad[q] = dy[q] / div[q];
  for (int64_t r = g.r0; r < g.r1; ++r)
    for (int64_t t = 0; t < g.S; ++t) {
      T* dst = dxp + g.at(r, t);
      for (int64_t q = 0; q < g.n; ++q) dst[q * sw] += grad[q];
    }
}

// x (planes, L) -> y (planes): the mean of each row of x, summed in 16 interleaved
// partial sums (so it vectorizes) in the same order on every call
template <typename T>
CONVNET_CPU_CLONES void plane_means(const T* __restrict x, int64_t planes, int64_t L, T* __restrict y) {
  constexpr int64_t V = 16;
  for (int64_t i = 0; i < planes; ++i) {
    const T* v = x + i * L;
    T part[V] = {};
    int64_t j = 0;
    for (; j + V <= L; j += V)
      for (int64_t k = 0; k < V; ++k) part[k] += v[j + k];
    T acc = 0;
    for (int64_t k = 0; k < V; ++k) acc += part[k];
    for (; j < L; ++j) acc += v[j];
    y[i] = acc / T(L);
  }
}

// max_pool2d_forward_cpu, with the argmax written where kIdx.
template <typename T, bool kIdx>
void max_pool2d_planes(const Pool2dShape& s, const T* x, T* y, int64_t* argmax) {
  const int64_t HW = s.H * s.W, PQ = s.P * s.Q;
  if (s.R == 2 && s.S == 2 && s.stride_h == 2 && s.stride_w == 2 && s.pad_h == 0 && s.pad_w == 0 &&
      s.dil_h == 1 && s.dil_w == 1 && s.H == 2 * s.P && s.W == 2 * s.Q) {
    parallel_for(s.N * s.C, plane_grain(HW), [&](int64_t i0, int64_t i1) {
      max_pool_2x2_planes<T, kIdx>(s, x, y, argmax, i0, i1);
    });
    return;
  }
  const auto wh = windows(s.H, s.P, s.R, s.stride_h, s.pad_h, s.dil_h);
  const auto ww = windows(s.W, s.Q, s.S, s.stride_w, s.pad_w, s.dil_w);
  const InnerColumns in(ww, s.S);
  parallel_for(s.N * s.C, plane_grain(PQ * s.R * s.S), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const T* xp = x + i * HW;
      for (int64_t p = 0; p < s.P; ++p) {
        T* yr = y + i * PQ + p * s.Q;
        int64_t* ar = kIdx ? argmax + i * PQ + p * s.Q : nullptr;
        with_stride(s.stride_w, [&](auto SW) {
          max_pool_row<T, SW(), kIdx>(pool_row(s, wh[p], ww, in), xp, yr + in.q0, kIdx ? ar + in.q0 : nullptr);
        });
        in.for_border(s.Q, [&](int64_t q) {
          yr[q] = max_pool_cell(xp, s.W, wh[p], ww[q], s.dil_h, s.dil_w, kIdx ? ar + q : nullptr);
        });
      }
    }
  });
}

}  // namespace

// x (N,C,H,W), y (N,C,P,Q), argmax (N,C,P,Q) or null: flat h*W+w index within the plane
template <typename T>
void max_pool2d_forward_cpu(const Pool2dShape& s, const T* x, T* y, int64_t* argmax) {
  if (argmax)
    max_pool2d_planes<T, true>(s, x, y, argmax);
  else
    max_pool2d_planes<T, false>(s, x, y, argmax);
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
  const InnerColumns in(ww, s.S);
  const int64_t HW = s.H * s.W, PQ = s.P * s.Q;
  parallel_for(s.N * s.C, plane_grain(PQ * s.R * s.S), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const T* xp = x + i * HW;
      for (int64_t p = 0; p < s.P; ++p) {
        T* yr = y + i * PQ + p * s.Q;
        const T* dr = div.data() + p * s.Q;
        with_stride(s.stride_w, [&](auto SW) {
          avg_pool_row<T, SW()>(pool_row(s, wh[p], ww, in), xp, dr + in.q0, yr + in.q0);
        });
        in.for_border(s.Q, [&](int64_t q) {
          const T sum = avg_pool_sum(xp, s.W, wh[p], ww[q], s.dil_h, s.dil_w);
          yr[q] = dr[q] > 0 ? sum / dr[q] : T(0);  // a window wholly in the padding averages to 0
        });
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
  const InnerColumns in(ww, s.S);
  const int64_t HW = s.H * s.W, PQ = s.P * s.Q;
  parallel_for(s.N * s.C, plane_grain(HW + PQ * s.R * s.S), [&](int64_t i0, int64_t i1) {
    std::vector<T> grad(s.Q);
    for (int64_t i = i0; i < i1; ++i) {
      T* dxp = dx + i * HW;
      std::fill(dxp, dxp + HW, T(0));
      for (int64_t p = 0; p < s.P; ++p) {
        const PoolWindow& a = wh[p];
        const T* dyr = dy + i * PQ + p * s.Q;
        const T* dr = div.data() + p * s.Q;
        in.for_border(s.Q, [&](int64_t q) {
          const PoolWindow& b = ww[q];
          if (!(dr[q] > 0)) return;
          const T g = dyr[q] / dr[q];
          for (int64_t r = a.lo; r < a.hi; ++r) {
            T* row = dxp + (a.start + r * s.dil_h) * s.W + b.start;
            for (int64_t t = b.lo; t < b.hi; ++t) row[t * s.dil_w] += g;
          }
        });
        with_stride(s.stride_w, [&](auto SW) {
          avg_pool_row_backward<T, SW()>(pool_row(s, a, ww, in), dyr + in.q0, dr + in.q0, grad.data(), dxp);
        });
      }
    }
  });
}

// x (N,C,H,W), y (N,C,P,Q)
template <typename T>
void adaptive_avg_pool2d_forward_cpu(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P,
                                     int64_t Q, const T* x, T* y) {
  if (P == 1 && Q == 1) {  // global average pooling
    parallel_for(N * C, plane_grain(H * W), [&](int64_t i0, int64_t i1) {
      plane_means(x + i0 * H * W, i1 - i0, H * W, y + i0);
    });
    return;
  }
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

// Max unpooling, the inverse routing of max pooling: x (N,C,P,Q) the pooled values,
// idx (N,C,P,Q) their flat h*W+w indices in [0, H*W), y (N,C,H,W) overwritten: zeros with
// y[idx[j]] = x[j], the last j winning where indices repeat (overlapping windows).
template <typename T>
void max_unpool2d_forward_cpu(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P, int64_t Q, const T* x,
                              const int64_t* idx, T* y) {
  const int64_t HW = H * W, PQ = P * Q;
  parallel_for(N * C, plane_grain(HW + PQ), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      T* yp = y + i * HW;
      std::fill(yp, yp + HW, T(0));
      for (int64_t j = 0; j < PQ; ++j) yp[idx[i * PQ + j]] = x[i * PQ + j];
    }
  });
}

// dy (N,C,H,W), idx (N,C,P,Q), dx (N,C,P,Q) overwritten: dx[j] = dy[idx[j]]
template <typename T>
void max_unpool2d_backward_cpu(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P, int64_t Q, const T* dy,
                               const int64_t* idx, T* dx) {
  const int64_t HW = H * W, PQ = P * Q;
  parallel_for(N * C, plane_grain(PQ), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i)
      for (int64_t j = 0; j < PQ; ++j) dx[i * PQ + j] = dy[i * HW + idx[i * PQ + j]];
  });
}

// dy (N,C,P,Q), dx (N,C,H,W) overwritten
template <typename T>
void adaptive_avg_pool2d_backward_cpu(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P,
                                      int64_t Q, const T* dy, T* dx) {
  if (P == 1 && Q == 1) {  // global average pooling: each input gets its plane's dy / (H*W)
    parallel_for(N * C, plane_grain(H * W), [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) std::fill(dx + i * H * W, dx + (i + 1) * H * W, dy[i] / T(H * W));
    });
    return;
  }
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
                                                    int64_t, const T*, const int64_t*, T*);      \
  template void max_unpool2d_forward_cpu<T>(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,  \
                                            const T*, const int64_t*, T*);                         \
  template void max_unpool2d_backward_cpu<T>(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, \
                                             const T*, const int64_t*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cpu
