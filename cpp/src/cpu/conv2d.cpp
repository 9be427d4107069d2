// CPU conv2d kernels: im2col + GEMM, Winograd F(4x4,3x3) for the float32 3x3
// stride-1 convolutions that winograd_selected picks (conv2d_winograd.cpp;
// forward, dx and dw), one dense matrix over whole planes where a plane has fewer
// pixels than the kernel has taps, and a vectorized direct correlation for depthwise.
// N batch, C in channels, H W input size, K out channels, R S kernel,
// P Q output size, G groups; Cg = C/G and Kg = K/G channels per group.
// The column matrix of one image and group is (Cg*R*S, P*Q): row (c,r,s)
// holds the input pixel that tap (r,s) of channel c sees at each output (p,q),
// 0 where it falls in the padding. Kernels overwrite their outputs; autograd
// accumulates (+=) the returned gradients into .grad.
//
// Threads: images go in batches (one column matrix per batch and group, see
// Batching); one parallel region per call, each thread running its share of
// the images alone, or each step split over the threads when there are fewer
// images than threads. dw is summed per thread and the threads added in a
// fixed order, db image after image, so a given thread count always gives
// bit-identical gradients. Scratch memory comes from the caching allocator
// (workspace.h).
#include <algorithm>
#include <cstring>
#include <numeric>
#include <type_traits>
#include <vector>

#include "blas.h"
#include "conv2d_winograd.h"
#include "elementwise.h"
#include "isa.h"
#include "kernels.h"
#include "parallel.h"
#include "workspace.h"

namespace convnet::cpu {

namespace {

// [lo, hi): the outputs o in [0, out) whose tap at offset `off` (= r*dil)
// lands inside the input: 0 <= o*stride - pad + off < in.
void valid_range(int64_t in, int64_t out, int64_t stride, int64_t pad, int64_t off, int64_t& lo,
                 int64_t& hi) {
  const int64_t a = pad - off, b = in + pad - off;
  lo = a <= 0 ? 0 : (a + stride - 1) / stride;
  hi = b <= 0 ? 0 : (b + stride - 1) / stride;
  lo = std::min(lo, out);
  hi = std::max(lo, std::min(hi, out));
}

// Sizes derived from the shape, and for each tap row r (column s) the range
// of output rows p (columns q) that read the input rather than the padding.
struct ConvGeom {
  int64_t Cg, Kg, HW, PQ, RS, CgRS;
  bool one_by_one;  // 1x1, stride 1, no padding, P Q = H W: the input plane is the column matrix
  bool depthwise;   // one input channel per group: direct loop, no GEMM
  std::vector<int64_t> p_lo, p_hi, q_lo, q_hi;  // (R), (R), (S), (S)

  explicit ConvGeom(const Conv2dShape& s)
      : Cg(s.C / s.groups),
        Kg(s.K / s.groups),
        HW(s.H * s.W),
        PQ(s.P * s.Q),
        RS(s.R * s.S),
        CgRS(s.C / s.groups * s.R * s.S),
        one_by_one(s.R == 1 && s.S == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 &&
                   s.pad_w == 0 && s.P == s.H && s.Q == s.W),
        depthwise(s.groups > 1 && s.C == s.groups && !one_by_one),
        p_lo(s.R), p_hi(s.R), q_lo(s.S), q_hi(s.S) {
    for (int64_t r = 0; r < s.R; ++r)
      valid_range(s.H, s.P, s.stride_h, s.pad_h, r * s.dil_h, p_lo[r], p_hi[r]);
    for (int64_t c = 0; c < s.S; ++c)
      valid_range(s.W, s.Q, s.stride_w, s.pad_w, c * s.dil_w, q_lo[c], q_hi[c]);
  }
  // Input offset (within a plane) of tap (r,c) at the first in-bounds output (p_lo, q_lo).
  int64_t in_offset(const Conv2dShape& s, int64_t r, int64_t c) const {
    return (p_lo[r] * s.stride_h - s.pad_h + r * s.dil_h) * s.W +
           (q_lo[c] * s.stride_w - s.pad_w + c * s.dil_w);
  }
};

// ---- im2col / col2im ------------------------------------------------------
// For tap (r,t) of channel c, the outputs that read the input form the
// rectangle [p_lo,p_hi) x [q_lo,q_hi): rows of n = q_hi - q_lo columns, Q apart
// in the column matrix and stride_h*W apart in the input, where consecutive
// columns are stride_w apart. Everything outside the rectangle reads padding.
// The rows are short (Q elements), so per-row cost matters: the row loops
// below keep their state in registers, choose the block size once per tap,
// and copy with a few fixed-size moves instead of a memcpy call or a
// vectorised loop's scalar tail.

// B <= n < 2B: every row is two overlapping fixed-size blocks.
template <typename T, int64_t B>
__attribute__((always_inline)) inline void copy_rows_fixed(T* dst, int64_t dstep, const T* src, int64_t sstep, int64_t rows, int64_t n) {
  for (; rows > 0; --rows, dst += dstep, src += sstep) {
    std::memcpy(dst, src, B * sizeof(T));
    std::memcpy(dst + n - B, src + n - B, B * sizeof(T));
  }
}

// dst[i*dstep + j] = src[i*sstep + j*sw] for i < rows, j < n
template <typename T>
__attribute__((always_inline)) inline void copy_rows(T* dst, int64_t dstep, const T* src, int64_t sstep,
                                                    int64_t sw, int64_t rows, int64_t n) {
  if (n <= 0) return;
  if (sw != 1) {
    for (; rows > 0; --rows, dst += dstep, src += sstep)
      for (int64_t j = 0; j < n; ++j) dst[j] = src[j * sw];
  } else if (n == 1) {
    for (; rows > 0; --rows, dst += dstep, src += sstep) *dst = *src;
  } else if (n < 4) {
    copy_rows_fixed<T, 2>(dst, dstep, src, sstep, rows, n);
  } else if (n < 8) {
    copy_rows_fixed<T, 4>(dst, dstep, src, sstep, rows, n);
  } else if (n < 16) {
    copy_rows_fixed<T, 8>(dst, dstep, src, sstep, rows, n);
  } else if (n < 32) {
    copy_rows_fixed<T, 16>(dst, dstep, src, sstep, rows, n);
  } else {
    for (; rows > 0; --rows, dst += dstep, src += sstep) std::memcpy(dst, src, n * sizeof(T));
  }
}

// d[0,B) += s[0,B), through registers (the compiler may not assume d and s apart)
template <typename T, int64_t B>
__attribute__((always_inline)) inline void add_block(T* d, const T* s) {
  T a[B], b[B];
  std::memcpy(a, d, sizeof a);
  std::memcpy(b, s, sizeof b);
  for (int64_t j = 0; j < B; ++j) a[j] += b[j];
  std::memcpy(d, a, sizeof a);
}

// dst[i*dstep + j*sw] += src[i*sstep + j] for i < rows, j < n
template <typename T>
__attribute__((always_inline)) inline void add_rows(T* dst, int64_t dstep, int64_t sw, const T* src, int64_t sstep, int64_t rows,
              int64_t n) {
  if (n <= 0) return;
  if (sw != 1) {
    for (; rows > 0; --rows, dst += dstep, src += sstep)
      for (int64_t j = 0; j < n; ++j) dst[j * sw] += src[j];
    return;
  }
  for (; rows > 0; --rows, dst += dstep, src += sstep) {  // n in blocks of 16, 8, 4, 2, 1
    int64_t j = 0;
    for (; j + 16 <= n; j += 16) add_block<T, 16>(dst + j, src + j);
    if (n & 8) add_block<T, 8>(dst + j, src + j), j += 8;
    if (n & 4) add_block<T, 4>(dst + j, src + j), j += 4;
    if (n & 2) add_block<T, 2>(dst + j, src + j), j += 2;
    if (n & 1) dst[j] += src[j];
  }
}

// x (Cg,H,W) of one image and group, col (Cg*R*S, P*Q) with row stride ld:
// writes the entries of channels [c0, c1) that read the input. The entries
// that read padding are never written: the caller zeroes col once and uses it
// for im2col only.
template <typename T>
CONVNET_CPU_CLONES void im2col(const Conv2dShape& s, const ConvGeom& g, const T* x, T* col, int64_t ld, int64_t c0,
            int64_t c1) {
  for (int64_t c = c0; c < c1; ++c)
    for (int64_t r = 0; r < s.R; ++r)
      for (int64_t t = 0; t < s.S; ++t)
        copy_rows(col + ((c * s.R + r) * s.S + t) * ld + g.p_lo[r] * s.Q + g.q_lo[t], s.Q,
                  x + c * g.HW + g.in_offset(s, r, t), s.stride_h * s.W, s.stride_w,
                  g.p_hi[r] - g.p_lo[r], g.q_hi[t] - g.q_lo[t]);
}

// col (Cg*R*S, P*Q) with row stride ld, dx (Cg,H,W) of one image and group,
// already zeroed: adds every entry of channels [c0, c1) that read the input
// back to its pixel, in a fixed order.
template <typename T>
CONVNET_CPU_CLONES void col2im(const Conv2dShape& s, const ConvGeom& g, const T* col, int64_t ld, T* dx, int64_t c0,
            int64_t c1) {
  for (int64_t c = c0; c < c1; ++c)
    for (int64_t r = 0; r < s.R; ++r)
      for (int64_t t = 0; t < s.S; ++t)
        add_rows(dx + c * g.HW + g.in_offset(s, r, t), s.stride_h * s.W, s.stride_w,
                 col + ((c * s.R + r) * s.S + t) * ld + g.p_lo[r] * s.Q + g.q_lo[t], s.Q,
                 g.p_hi[r] - g.p_lo[r], g.q_hi[t] - g.q_lo[t]);
}

// Grain (in channels) for splitting im2col/col2im of one image over threads.
int64_t channel_grain(const ConvGeom& g) {
  return std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, g.RS * g.PQ));
}

// v[0] + ... + v[n-1] in 16 interleaved partial sums (so it vectorises), in
// the same order on every call.
template <typename T>
CONVNET_CPU_CLONES T sum(const T* v, int64_t n) {
  constexpr int64_t L = 16;
  T part[L] = {};
  int64_t i = 0;
  for (; i + L <= n; i += L)
    for (int64_t j = 0; j < L; ++j) part[j] += v[i + j];
  T acc = 0;
  for (int64_t j = 0; j < L; ++j) acc += part[j];
  for (; i < n; ++i) acc += v[i];
  return acc;
}

// ---- depthwise: vectorized direct correlation -------------------------------
// Input plane c feeds the Kg output planes k = c*Kg .. c*Kg+Kg-1. A plane is first written into
// a scratch plane laid out so that every tap of every output reads a contiguous run: the
// padding is stored as zeros, and the columns are split into sw phases (phase f holds padded
// columns f, f+sw, f+2sw, ...), so tap column s of output column q is element q + s*dil/sw of
// phase s*dil%sw. Outputs are computed over a (Pv,Qv) rectangle rounded up to whole register
// blocks (kDwRows rows by V columns); the extra outputs read zeros and are dropped. So the
// inner loops have no border cases and no tails, and each block of outputs stays in registers
// over all taps before one store.
// dx is the same correlation, stride 1, over dy scattered into a zero plane (the stride's gaps
// and the padding as zeros) with the taps flipped. dw sums per tap dy times the scratch plane
// of x, per (n,k) plane, and the planes are added over n in order: every result is independent
// of how the planes are split over the threads.

constexpr int64_t kDwRows = 4;

// Geometry of one correlation: out (P,Q) from taps (R,S), strides (sh,sw), dilations (dh,dw).
struct DwGeom {
  int64_t R, S, sh, sw, dh, dw, P, Q;
  int64_t V;             // output columns per register block: 16 or 8
  int64_t Pv, Qv;        // P, Q rounded up to kDwRows, V
  int64_t len, row;      // elements per phase row, per scratch row (sw phases)
  int64_t rows, size;    // scratch rows, scratch plane elements
  int64_t need_h, need_w;  // padded rows, columns that real outputs read
  std::vector<int64_t> col_off;  // (S): offset of tap column s within a scratch row

  DwGeom(int64_t R_, int64_t S_, int64_t sh_, int64_t sw_, int64_t dh_, int64_t dw_, int64_t P_,
         int64_t Q_)
      : R(R_), S(S_), sh(sh_), sw(sw_), dh(dh_), dw(dw_), P(P_), Q(Q_),
        V(Q_ > 8 ? 16 : 8),
        Pv((P_ + kDwRows - 1) / kDwRows * kDwRows),
        Qv((Q_ + V - 1) / V * V),
        len(Qv + (S_ - 1) * dw_ / sw_ + 1),
        row(sw_ * len),
        rows((Pv - 1) * sh_ + (R_ - 1) * dh_ + 1),
        size(rows * row),
        need_h((P_ - 1) * sh_ + (R_ - 1) * dh_ + 1),
        need_w((Q_ - 1) * sw_ + (S_ - 1) * dw_ + 1),
        col_off(S_) {
    for (int64_t s = 0; s < S; ++s) col_off[s] = (s * dw % sw) * len + s * dw / sw;
  }
};

// src (H,W) -> dst (g.rows, g.row): src[a,b] goes to padded pixel (a*up_h + off_h,
// b*up_w + off_w) of the scratch plane, where that pixel is one a real output reads. Writes
// the same positions for every plane of a call: the rest stays as zeroed once.
// Padded column j = b*up_w + off_w lies in phase j % sw at element j / sw. The columns of one
// phase come every bstep = L/up_w source columns, L = lcm(up_w, sw), and are istep = L/sw
// elements apart; so each row is copied phase by phase with fixed steps (a plain copy when
// up_w == sw == 1).
template <typename T>
void dw_scatter(const DwGeom& g, const T* src, int64_t H, int64_t W, int64_t up_h, int64_t up_w,
                int64_t off_h, int64_t off_w, T* dst) {
  int64_t a0, a1, b0, b1;  // src rows [a0,a1), columns [b0,b1) that land inside
  valid_range(g.need_h, H, up_h, -off_h, 0, a0, a1);
  valid_range(g.need_w, W, up_w, -off_w, 0, b0, b1);
  const int64_t L = std::lcm(up_w, g.sw), bstep = L / up_w, istep = L / g.sw;
  for (int64_t b = b0; b < std::min(b1, b0 + bstep); ++b) {  // the first column of each phase
    const int64_t j = b * up_w + off_w, n = (b1 - b + bstep - 1) / bstep;
    T* d0 = dst + (a0 * up_h + off_h) * g.row + (j % g.sw) * g.len + j / g.sw;
    for (int64_t a = a0; a < a1; ++a) {
      const T* sr = src + a * W + b;
      T* dr = d0 + (a - a0) * up_h * g.row;
      if (bstep == 1 && istep == 1)
        std::memcpy(dr, sr, n * sizeof(T));
      else
        for (int64_t i = 0; i < n; ++i) dr[i * istep] = sr[i * bstep];
    }
  }
}

// out (P,Q) <- the leading (P,Q) of buf (Pv,Qv)
template <typename T>
void dw_crop(const DwGeom& g, const T* buf, T* out) {
  for (int64_t p = 0; p < g.P; ++p) std::memcpy(out + p * g.Q, buf + p * g.Qv, g.Q * sizeof(T));
}

// dst (Pv,Qv) <- src (P,Q) in its leading rectangle; the rest stays as zeroed once
template <typename T>
void dw_widen(const DwGeom& g, const T* src, T* dst) {
  for (int64_t p = 0; p < g.P; ++p) std::memcpy(dst + p * g.Qv, src + p * g.Q, g.Q * sizeof(T));
}

// in (nk, g.rows, g.row) scratch planes, w (nk, R*S), out (Pv,Qv):
// out[p,q] = bias + sum over k, r, s of w[k,r,s] * in[k, p*sh + r*dh, q*sw + s*dw (padded)].
// KR, KS: the taps as compile-time constants (0: g.R, g.S at run time).
template <typename T, int KR, int KS, int V>
CONVNET_CPU_CLONES void dw_correlate(const DwGeom& g, const T* in, int64_t nk, const T* w,
                                     T bias, T* out) {
  const int64_t R = KR ? KR : g.R, S = KS ? KS : g.S, RS = R * S;
  const int64_t rstep = g.sh * g.row, tap_rstep = g.dh * g.row;
  const int64_t* col_off = g.col_off.data();
  for (int64_t p0 = 0; p0 < g.Pv; p0 += kDwRows)
    for (int64_t q0 = 0; q0 < g.Qv; q0 += V) {
      T acc[kDwRows][V];
      for (int64_t i = 0; i < kDwRows; ++i)
        for (int j = 0; j < V; ++j) acc[i][j] = bias;
      for (int64_t k = 0; k < nk; ++k) {
        const T* base = in + k * g.size + p0 * rstep + q0;
        for (int64_t r = 0; r < R; ++r)
          for (int64_t s = 0; s < S; ++s) {
            const T wv = w[k * RS + r * S + s];
            const T* src = base + r * tap_rstep + col_off[s];
            for (int64_t i = 0; i < kDwRows; ++i)
              for (int j = 0; j < V; ++j) acc[i][j] += wv * src[i * rstep + j];
          }
      }
      for (int64_t i = 0; i < kDwRows; ++i)
        for (int j = 0; j < V; ++j) out[(p0 + i) * g.Qv + q0 + j] = acc[i][j];
    }
}

// xs (g.rows, g.row) scratch plane of x, dy (Pv,Qv) zero outside (P,Q); dw (R*S) overwritten:
// dw[r,s] = sum over p, q of dy[p,q] * xs[p*sh + r*dh, q*sw + s*dw (padded)], summed in V lanes
// per row parity, the lanes added in a fixed order.
template <typename T, int KR, int KS, int V>
CONVNET_CPU_CLONES void dw_weight_grad(const DwGeom& g, const T* xs, const T* dy, T* dw) {
  constexpr int NS = KS ? KS : 1;  // taps per pass over dy
  const int64_t R = KR ? KR : g.R, S = KS ? KS : g.S;
  const int64_t* col_off = g.col_off.data();
  for (int64_t r = 0; r < R; ++r)
    for (int64_t s0 = 0; s0 < S; s0 += NS) {
      T acc[2][NS][V] = {};
      for (int64_t p = 0; p < g.Pv; p += 2)
        for (int64_t i = 0; i < 2; ++i) {
          const T* d = dy + (p + i) * g.Qv;
          const T* xr = xs + ((p + i) * g.sh + r * g.dh) * g.row;
          for (int64_t q0 = 0; q0 < g.Qv; q0 += V)
            for (int t = 0; t < NS; ++t) {
              const T* xt = xr + col_off[s0 + t] + q0;
              for (int j = 0; j < V; ++j) acc[i][t][j] += d[q0 + j] * xt[j];
            }
        }
      for (int t = 0; t < NS; ++t) {
        T total = 0;
        for (int j = 0; j < V; ++j) total += acc[0][t][j] + acc[1][t][j];
        dw[r * S + s0 + t] = total;
      }
    }
}

// The kernels for one correlation geometry: taps unrolled for 3x3 and 5x5.
template <typename T>
struct DwKernels {
  void (*correlate)(const DwGeom&, const T*, int64_t, const T*, T, T*);
  void (*weight_grad)(const DwGeom&, const T*, const T*, T*);
};

template <typename T, int KR, int KS>
DwKernels<T> dw_kernels_for(const DwGeom& g) {
  if (g.V == 16) return {&dw_correlate<T, KR, KS, 16>, &dw_weight_grad<T, KR, KS, 16>};
  return {&dw_correlate<T, KR, KS, 8>, &dw_weight_grad<T, KR, KS, 8>};
}

template <typename T>
DwKernels<T> dw_kernels(const DwGeom& g) {
  if (g.R == 3 && g.S == 3) return dw_kernels_for<T, 3, 3>(g);
  if (g.R == 5 && g.S == 5) return dw_kernels_for<T, 5, 5>(g);
  return dw_kernels_for<T, 0, 0>(g);
}

// Geometry of the forward correlation (and of dw): y (P,Q) from the padded x plane.
DwGeom dw_forward_geom(const Conv2dShape& s) {
  return DwGeom(s.R, s.S, s.stride_h, s.stride_w, s.dil_h, s.dil_w, s.P, s.Q);
}

// Planes (n,c) per parallel chunk: about kGrainSize multiply-adds.
int64_t dw_grain(const ConvGeom& g) {
  return std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, g.Kg * g.RS * g.PQ));
}

// x (N,C,H,W), w (K,1,R,S), b (K) or null, y (N,K,P,Q)
template <typename T>
void depthwise_forward(const Conv2dShape& s, const ConvGeom& g, const T* x, const T* w, const T* b,
                       T* y) {
  const DwGeom fg = dw_forward_geom(s);
  const DwKernels<T> kern = dw_kernels<T>(fg);
  parallel_for(s.N * s.C, dw_grain(g), [&](int64_t i0, int64_t i1) {
    Workspace<T> xs(fg.size, T(0)), out(fg.Pv * fg.Qv);
    for (int64_t i = i0; i < i1; ++i) {
      dw_scatter(fg, x + i * g.HW, s.H, s.W, 1, 1, s.pad_h, s.pad_w, xs.data());
      const int64_t c = i % s.C, n = i / s.C;
      for (int64_t k = c * g.Kg; k < (c + 1) * g.Kg; ++k) {
        kern.correlate(fg, xs.data(), 1, w + k * g.RS, b ? b[k] : T(0), out.data());
        dw_crop(fg, out.data(), y + (n * s.K + k) * g.PQ);
      }
    }
  });
}

// x (N,C,H,W), w (K,1,R,S), dy (N,K,P,Q); dx (N,C,H,W), dw (K,1,R,S), db (K), each may be null
template <typename T>
void depthwise_backward(const Conv2dShape& s, const ConvGeom& g, const T* x, const T* w,
                        const T* dy, T* dx, T* dw, T* db) {
  const DwGeom fg = dw_forward_geom(s);
  // dx (H,W) = dy scattered at stride (sh,sw), correlated at stride 1 with the flipped taps
  const DwGeom xg(s.R, s.S, 1, 1, s.dil_h, s.dil_w, s.H, s.W);
  const DwKernels<T> fkern = dw_kernels<T>(fg), xkern = dw_kernels<T>(xg);
  Workspace<T> wflip(dx ? s.K * g.RS : 0);
  for (int64_t k = 0; dx && k < s.K; ++k)
    for (int64_t t = 0; t < g.RS; ++t) wflip.data()[k * g.RS + t] = w[k * g.RS + g.RS - 1 - t];
  // per (n,k): dw (R*S), then db
  const int64_t part = g.RS + 1;
  Workspace<T> parts(dw || db ? s.N * s.K * part : 0);
  parallel_for(s.N * s.C, dw_grain(g), [&](int64_t i0, int64_t i1) {
    Workspace<T> dys(dx ? g.Kg * xg.size : 0, T(0)), dxs(dx ? xg.Pv * xg.Qv : 0);
    Workspace<T> xs(dw ? fg.size : 0, T(0)), dyw(dw ? fg.Pv * fg.Qv : 0, T(0));
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t c = i % s.C, n = i / s.C;
      const T* dyc = dy + (n * s.K + c * g.Kg) * g.PQ;  // the Kg planes of dy that c feeds
      if (dx) {
        for (int64_t k = 0; k < g.Kg; ++k)
          dw_scatter(xg, dyc + k * g.PQ, s.P, s.Q, s.stride_h, s.stride_w,
                     (s.R - 1) * s.dil_h - s.pad_h, (s.S - 1) * s.dil_w - s.pad_w,
                     dys.data() + k * xg.size);
        xkern.correlate(xg, dys.data(), g.Kg, wflip.data() + c * g.Kg * g.RS, T(0), dxs.data());
        dw_crop(xg, dxs.data(), dx + i * g.HW);
      }
      if (dw) dw_scatter(fg, x + i * g.HW, s.H, s.W, 1, 1, s.pad_h, s.pad_w, xs.data());
      for (int64_t k = 0; k < g.Kg && (dw || db); ++k) {
        T* pk = parts.data() + (n * s.K + c * g.Kg + k) * part;
        if (dw) {
          dw_widen(fg, dyc + k * g.PQ, dyw.data());
          fkern.weight_grad(fg, xs.data(), dyw.data(), pk);
        }
        if (db) pk[g.RS] = sum(dyc + k * g.PQ, g.PQ);
      }
    }
  });
  if (!dw && !db) return;
  for (int64_t k = 0; k < s.K; ++k)  // over the images in order
    for (int64_t t = 0; t < part; ++t) {
      T acc = 0;
      for (int64_t n = 0; n < s.N; ++n) acc += parts.data()[(n * s.K + k) * part + t];
      if (t < g.RS && dw) dw[k * g.RS + t] = acc;
      if (t == g.RS && db) db[k] = acc;
    }
}

// ---- dense: the convolution as one matrix over whole planes -----------------
// Where an input plane has fewer pixels than the kernel has taps (H*W < R*S, as VGG's last 2x2
// planes), most im2col entries read padding (5 of 9 for a 3x3 kernel over a padded 2x2 plane).
// Written as one matrix over whole planes the products skip them: Wd (K*P*Q, C*H*W) holds
// w[k,c,r,s] at ((k,p,q), (c,h,w)) where output (p,q)'s tap (r,s) reads pixel (h,w), and 0
// elsewhere (a tap lands on one pixel, so nothing overlaps). Then y (N, K*P*Q) = x (N, C*H*W)
// Wd^T, dx = dy Wd, dWd = dy^T x, and dw[k,c,r,s] sums dWd over the (p,q) whose tap (r,s) reads
// the input, in a fixed order. Each product runs on all threads (gemm_parallel).
struct DenseTap {
  int64_t pq, rs, hw;  // output pixel, tap, input pixel it reads
};

std::vector<DenseTap> dense_taps(const Conv2dShape& s) {
  std::vector<DenseTap> taps;
  for (int64_t p = 0; p < s.P; ++p)
    for (int64_t q = 0; q < s.Q; ++q)
      for (int64_t r = 0; r < s.R; ++r)
        for (int64_t c = 0; c < s.S; ++c) {
          const int64_t h = p * s.stride_h - s.pad_h + r * s.dil_h, w = q * s.stride_w - s.pad_w + c * s.dil_w;
          if (h >= 0 && h < s.H && w >= 0 && w < s.W) taps.push_back({p * s.Q + q, r * s.S + c, h * s.W + w});
        }
  return taps;
}

bool dense_selected(const Conv2dShape& s) {
  // Wd within 32 MB of float: 512 channels in and out over 2x2 planes is 16 MB
  return s.groups == 1 && s.H * s.W < s.R * s.S && s.K * s.P * s.Q * s.C * s.H * s.W <= (int64_t(1) << 23);
}

// w (K,C,R,S) -> Wd (K*P*Q, C*H*W)
template <typename T>
void dense_weights(const Conv2dShape& s, const ConvGeom& g, const std::vector<DenseTap>& taps,
                   const T* w, T* wd) {
  const int64_t chw = s.C * g.HW;
  parallel_for(s.K, std::max<int64_t>(1, kGrainSize / (g.PQ * chw)), [&](int64_t k0, int64_t k1) {
    std::fill(wd + k0 * g.PQ * chw, wd + k1 * g.PQ * chw, T(0));
    for (int64_t k = k0; k < k1; ++k)
      for (const DenseTap& t : taps) {
        T* row = wd + (k * g.PQ + t.pq) * chw + t.hw;
        const T* wk = w + k * s.C * g.RS + t.rs;
        for (int64_t c = 0; c < s.C; ++c) row[c * g.HW] = wk[c * g.RS];
      }
  });
}

// x (N,C,H,W), w (K,C,R,S), b (K) or null, y (N,K,P,Q)
template <typename T>
void dense_forward(const Conv2dShape& s, const ConvGeom& g, const T* x, const T* w, const T* b, T* y) {
  const int64_t chw = s.C * g.HW, kpq = s.K * g.PQ;
  Workspace<T> wd(kpq * chw);
  dense_weights(s, g, dense_taps(s), w, wd.data());
  gemm_parallel(false, true, s.N, kpq, chw, T(1), x, chw, wd.data(), chw, T(0), y, kpq);
  if (b)
    parallel_for(s.N * s.K, std::max<int64_t>(1, kGrainSize / g.PQ), [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i)
        for (int64_t j = 0; j < g.PQ; ++j) y[i * g.PQ + j] += b[i % s.K];
    });
}

// x (N,C,H,W), w (K,C,R,S), dy (N,K,P,Q); dx (N,C,H,W), dw (K,C,R,S), each overwritten, each may
// be null
template <typename T>
void dense_backward(const Conv2dShape& s, const ConvGeom& g, const T* x, const T* w, const T* dy,
                    T* dx, T* dw) {
  const int64_t chw = s.C * g.HW, kpq = s.K * g.PQ;
  const std::vector<DenseTap> taps = dense_taps(s);
  Workspace<T> wd(kpq * chw);
  if (dx) {
    dense_weights(s, g, taps, w, wd.data());
    gemm_parallel(false, false, s.N, chw, kpq, T(1), dy, kpq, wd.data(), chw, T(0), dx, chw);
  }
  if (!dw) return;
  gemm_parallel(true, false, kpq, chw, s.N, T(1), dy, kpq, x, chw, T(0), wd.data(), chw);
  parallel_for(s.K, std::max<int64_t>(1, kGrainSize / (g.PQ * chw)), [&](int64_t k0, int64_t k1) {
    std::fill(dw + k0 * s.C * g.RS, dw + k1 * s.C * g.RS, T(0));
    for (int64_t k = k0; k < k1; ++k)
      for (const DenseTap& t : taps) {
        const T* row = wd.data() + (k * g.PQ + t.pq) * chw + t.hw;
        T* dwk = dw + k * s.C * g.RS + t.rs;
        for (int64_t c = 0; c < s.C; ++c) dwk[c * g.RS] += row[c * g.HW];
      }
  });
}

// ---- im2col + GEMM over batches of images ---------------------------------
// A batch of nb images and one group becomes one column matrix (Cg*R*S, nb*P*Q),
// image i in columns [i*P*Q, (i+1)*P*Q), so that the GEMMs have hundreds of
// columns even where the planes are 4x4 or 2x2. With at least as many images
// as threads, each thread takes a contiguous share of the images (a chunk) and
// runs its batches alone, with its own buffers and single-threaded GEMMs: one
// parallel region per call. With fewer images than threads there is one chunk,
// and each step of a batch (im2col, the GEMM, the copies) is split over the
// threads.
struct Batching {
  int64_t chunks;  // parallel chunks of images
  int64_t nb;      // images per batch
  int64_t cols;    // nb * P * Q, the row stride of the batch matrices
  bool split;      // one chunk, each step split over the threads
  bool direct;     // 1x1 with one image per batch: the input plane is the column matrix

  Batching(const Conv2dShape& s, const ConvGeom& g) {
    // Enough columns for an efficient GEMM on every thread, within a bound on
    // the column matrices; the batches of a chunk evened out.
    constexpr int64_t kTargetCols = 512, kMaxColElems = int64_t(1) << 21;
    const int64_t nt = num_threads();
    split = s.N < nt;
    chunks = split ? 1 : nt;
    const int64_t per_chunk = (s.N + chunks - 1) / chunks;
    const int64_t target = split ? kTargetCols * nt : kTargetCols;
    nb = std::min(per_chunk, std::max<int64_t>(1, (target + g.PQ - 1) / g.PQ));
    nb = std::max<int64_t>(1, std::min(nb, kMaxColElems / chunks / std::max<int64_t>(1, g.CgRS * g.PQ)));
    const int64_t batches = std::max<int64_t>(1, (per_chunk + nb - 1) / nb);
    nb = (per_chunk + batches - 1) / batches;
    cols = nb * g.PQ;
    direct = g.one_by_one && nb == 1;
  }
  // f(chunk, n0, count, first) for each batch of images [n0, n0+count) of each
  // chunk; first marks a chunk's first batch.
  template <typename F>
  void for_each_batch(const Conv2dShape& s, const F& f) const {
    parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const int64_t begin = s.N * c / chunks, end = s.N * (c + 1) / chunks;
        for (int64_t n0 = begin; n0 < end; n0 += nb) f(c, n0, std::min(nb, end - n0), n0 == begin);
      }
    });
  }
  // f(i0, i1) over [0, n): split over the threads, or inline inside a chunk
  template <typename F>
  void step(int64_t n, int64_t grain, const F& f) const {
    if (split)
      parallel_for(n, grain, f);
    else
      f(int64_t(0), n);
  }
  template <typename T>
  void mm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B,
          int64_t ldb, T beta, T* C, int64_t ldc) const {
    if (split)
      gemm_parallel(ta, tb, M, N, K, T(1), A, lda, B, ldb, beta, C, ldc);
    else
      gemm(ta, tb, M, N, K, T(1), A, lda, B, ldb, beta, C, ldc);
  }
};

// Images [n0, n0+nb) of group gi: x -> col (Cg*R*S, ld), image i at column i*P*Q.
template <typename T>
void batch_to_col(const Conv2dShape& s, const ConvGeom& g, const Batching& bt, const T* x,
                  int64_t n0, int64_t nb, int64_t gi, T* col) {
  bt.step(nb * g.Cg, channel_grain(g), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = n0 + i / g.Cg, c = i % g.Cg;
      im2col(s, g, x + (n * s.C + gi * g.Cg) * g.HW, col + (i / g.Cg) * g.PQ, bt.cols, c, c + 1);
    }
  });
}

// col (Cg*R*S, ld) -> dx of images [n0, n0+nb), group gi, overwritten.
template <typename T>
void batch_from_col(const Conv2dShape& s, const ConvGeom& g, const Batching& bt, const T* col,
                    int64_t n0, int64_t nb, int64_t gi, T* dx) {
  bt.step(nb * g.Cg, channel_grain(g), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = n0 + i / g.Cg, c = i % g.Cg;
      T* dxg = dx + (n * s.C + gi * g.Cg) * g.HW;
      std::fill(dxg + c * g.HW, dxg + (c + 1) * g.HW, T(0));
      col2im(s, g, col + (i / g.Cg) * g.PQ, bt.cols, dxg, c, c + 1);
    }
  });
}

// The planes (P*Q) of images [n0, n0+nb), group gi, of a tensor (N,K,P,Q), as
// the rows of a batch matrix (Kg, nb*P*Q): f(plane, row, k) for each, where
// plane is the offset in the tensor and row the offset in the matrix.
template <typename F>
void for_each_plane(const Conv2dShape& s, const ConvGeom& g, const Batching& bt, int64_t n0,
                    int64_t nb, int64_t gi, const F& f) {
  bt.step(nb * g.Kg, std::max<int64_t>(1, kGrainSize / g.PQ), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / g.Kg, k = i % g.Kg;
      f(((n0 + n) * s.K + gi * g.Kg + k) * g.PQ, k * bt.cols + n * g.PQ, k);
    }
  });
}

// x (N,C,H,W), w (K,Cg,R,S), b (K) or null, y (N,K,P,Q)
template <typename T>
void gemm_forward(const Conv2dShape& s, const ConvGeom& g, const T* x, const T* w, const T* b,
                  T* y) {
  const Batching bt(s, g);
  const int64_t col_size = bt.direct ? 0 : g.CgRS * bt.cols, out_size = bt.direct ? 0 : g.Kg * bt.cols;
  Workspace<T> cols(bt.chunks * col_size), outs(bt.chunks * out_size);
  bt.for_each_batch(s, [&](int64_t c, int64_t n0, int64_t nb, bool first) {
    T* col = cols.data() + c * col_size;
    T* out = outs.data() + c * out_size;
    if (first) std::fill(col, col + col_size, T(0));  // its padding entries stay 0, see im2col
    for (int64_t gi = 0; gi < s.groups; ++gi) {
      const T* wg = w + gi * g.Kg * g.CgRS;
      if (bt.direct) {  // y[n,g] (Kg, P*Q) = w_g (Kg, Cg) x[n,g] (Cg, P*Q)
        bt.mm(false, false, g.Kg, g.PQ, g.Cg, wg, g.CgRS, x + (n0 * s.C + gi * g.Cg) * g.HW, g.PQ,
              T(0), y + (n0 * s.K + gi * g.Kg) * g.PQ, g.PQ);
      } else {  // out (Kg, nb*P*Q) = w_g (Kg, Cg*R*S) x col (Cg*R*S, nb*P*Q)
        batch_to_col(s, g, bt, x, n0, nb, gi, col);
        bt.mm(false, false, g.Kg, nb * g.PQ, g.CgRS, wg, g.CgRS, col, bt.cols, T(0), out, bt.cols);
      }
      if (!bt.direct || b)  // y = out + b
        for_each_plane(s, g, bt, n0, nb, gi, [&](int64_t plane, int64_t row, int64_t k) {
          const T bk = b ? b[gi * g.Kg + k] : T(0);
          unary_span(g.PQ, bt.direct ? y + plane : out + row, y + plane, [bk](T v) { return v + bk; });
        });
    }
  });
}

// out[i] += parts[c * stride + i] for each of the chunks c in order, for i in [i0, i1).
template <typename T>
CONVNET_CPU_CLONES void add_chunks(const T* parts, int64_t chunks, int64_t stride, int64_t i0,
                                   int64_t i1, T* out) {
  for (int64_t c = 0; c < chunks; ++c)
    for (int64_t i = i0; i < i1; ++i) out[i] += parts[c * stride + i];
}

// x (N,C,H,W), w (K,Cg,R,S), dy (N,K,P,Q); dx (N,C,H,W), dw (K,Cg,R,S), each
// overwritten, each may be null. dw is summed per chunk, batch after batch (chunk 0 in dw
// itself, the others in parts), and the chunks added in a fixed order.
template <typename T>
void gemm_backward(const Conv2dShape& s, const ConvGeom& g, const T* x, const T* w, const T* dy,
                   T* dx, T* dw) {
  const Batching bt(s, g);
  const bool direct = bt.direct;
  const int64_t col_size = direct ? 0 : g.CgRS * bt.cols, dy_size = direct ? 0 : g.Kg * bt.cols;
  // per chunk: im2col's columns, dx's columns, dy as a batch matrix, and dw
  Workspace<T> cols(dw ? bt.chunks * col_size : 0), dcols(dx ? bt.chunks * col_size : 0);
  Workspace<T> dys(bt.chunks * dy_size), parts(dw ? (bt.chunks - 1) * s.K * g.CgRS : 0, T(0));
  if (dw) std::fill(dw, dw + s.K * g.CgRS, T(0));
  bt.for_each_batch(s, [&](int64_t c, int64_t n0, int64_t nb, bool first) {
    T* col = cols.data() + c * col_size;
    T* dcol = dcols.data() + c * col_size;
    T* dwt = c == 0 ? dw : parts.data() + (c - 1) * s.K * g.CgRS;
    if (first && dw) std::fill(col, col + col_size, T(0));  // its padding entries stay 0, see im2col
    for (int64_t gi = 0; gi < s.groups; ++gi) {
      const T* wg = w + gi * g.Kg * g.CgRS;
      const T* xg = x + (n0 * s.C + gi * g.Cg) * g.HW;
      const T* dym = dy + (n0 * s.K + gi * g.Kg) * g.PQ;  // dy of the batch, (Kg, nb*P*Q)
      if (!direct) {
        T* d = dys.data() + c * dy_size;
        for_each_plane(s, g, bt, n0, nb, gi, [&](int64_t plane, int64_t row, int64_t) {
          std::copy(dy + plane, dy + plane + g.PQ, d + row);
        });
        dym = d;
      }
      if (dw) {  // dw_g (Kg, Cg*R*S) += dy (Kg, nb*P*Q) x col^T (nb*P*Q, Cg*R*S)
        if (!direct) batch_to_col(s, g, bt, x, n0, nb, gi, col);
        bt.mm(false, true, g.Kg, g.CgRS, nb * g.PQ, dym, bt.cols, direct ? xg : col, bt.cols, T(1),
              dwt + gi * g.Kg * g.CgRS, g.CgRS);
      }
      if (dx) {  // dcol (Cg*R*S, nb*P*Q) = w_g^T (Cg*R*S, Kg) x dy (Kg, nb*P*Q); dx = col2im(dcol)
        if (direct) {
          bt.mm(true, false, g.Cg, g.PQ, g.Kg, wg, g.CgRS, dym, g.PQ, T(0),
                dx + (n0 * s.C + gi * g.Cg) * g.HW, g.HW);
        } else {
          bt.mm(true, false, g.CgRS, nb * g.PQ, g.Kg, wg, g.CgRS, dym, bt.cols, T(0), dcol, bt.cols);
          batch_from_col(s, g, bt, dcol, n0, nb, gi, dx);
        }
      }
    }
  });
  // Add the other chunks to chunk 0 in a fixed order, ((chunk 0 + chunk 1) + chunk 2) + ...
  if (dw && bt.chunks > 1) {
    const int64_t n = s.K * g.CgRS;
    parallel_for(n, std::max<int64_t>(1, kGrainSize / bt.chunks), [&](int64_t i0, int64_t i1) {
      add_chunks(parts.data(), bt.chunks - 1, n, i0, i1, dw);
    });
  }
}

// db (K) = the sum of dy (N,K,P,Q) over n, p, q, image after image in order.
template <typename T>
void bias_backward(const Conv2dShape& s, const ConvGeom& g, const T* dy, T* db) {
  parallel_for(s.K, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, s.N * g.PQ)),
               [&](int64_t k0, int64_t k1) {
                 for (int64_t k = k0; k < k1; ++k) {
                   T acc = 0;
                   for (int64_t n = 0; n < s.N; ++n) acc += sum(dy + (n * s.K + k) * g.PQ, g.PQ);
                   db[k] = acc;
                 }
               });
}

}  // namespace

template <typename T>
Conv2dAlgorithm conv2d_algorithm_cpu(const Conv2dShape& s) {
  if (ConvGeom(s).depthwise) return Conv2dAlgorithm::Depthwise;
  if (dense_selected(s)) return Conv2dAlgorithm::Dense;
  if (std::is_same_v<T, float> && winograd_selected(s)) return Conv2dAlgorithm::Winograd;
  return Conv2dAlgorithm::Gemm;
}

// x (N,C,H,W), w (K,C/G,R,S), b (K) or null, y (N,K,P,Q)
template <typename T>
void conv2d_forward_cpu(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y) {
  const ConvGeom g(s);
  switch (conv2d_algorithm_cpu<T>(s)) {
    case Conv2dAlgorithm::Depthwise: return depthwise_forward(s, g, x, w, b, y);
    case Conv2dAlgorithm::Dense: return dense_forward(s, g, x, w, b, y);
    case Conv2dAlgorithm::Winograd:
      if constexpr (std::is_same_v<T, float>) return winograd_forward(s, x, w, b, y);
      [[fallthrough]];
    case Conv2dAlgorithm::Gemm: return gemm_forward(s, g, x, w, b, y);
  }
}

// x (N,C,H,W), w (K,C/G,R,S), dy (N,K,P,Q); dx (N,C,H,W), dw (K,C/G,R,S), db (K),
// each overwritten, each may be null
template <typename T>
void conv2d_backward_cpu(const Conv2dShape& s, const T* x, const T* w, const T* dy, T* dx, T* dw,
                         T* db) {
  const ConvGeom g(s);
  switch (conv2d_algorithm_cpu<T>(s)) {
    case Conv2dAlgorithm::Depthwise: return depthwise_backward(s, g, x, w, dy, dx, dw, db);
    case Conv2dAlgorithm::Dense:
      dense_backward(s, g, x, w, dy, dx, dw);
      dx = dw = nullptr;
      break;
    case Conv2dAlgorithm::Winograd:
      if constexpr (std::is_same_v<T, float>) {
        if (dx) winograd_backward_data(s, w, dy, dx);
        if (dw && winograd_weight_grad_selected(s)) {
          winograd_backward_weight(s, x, dy, dw);
          dw = nullptr;
        }
        dx = nullptr;
      }
      break;
    case Conv2dAlgorithm::Gemm: break;
  }
  if (dx || dw) gemm_backward(s, g, x, w, dy, dx, dw);
  if (db) bias_backward(s, g, dy, db);
}

// ---- unfold / fold ------------------------------------------------------------
// The column matrices of conv2d as an op of their own (groups 1; K unused):
// x (N,C,H,W) ↔ col (N,C*R*S,P*Q). Parallel over the (image, channel) planes.

// x (N,C,H,W), col (N,C*R*S,P*Q) overwritten (0 where a tap reads the padding)
template <typename T>
void unfold_forward_cpu(const Conv2dShape& s, const T* x, T* col) {
  const ConvGeom g(s);
  const int64_t plane = g.RS * g.PQ;
  parallel_for(s.N * s.C, channel_grain(g), [&](int64_t i0, int64_t i1) {
    std::fill(col + i0 * plane, col + i1 * plane, T(0));
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / s.C, c = i % s.C;
      im2col(s, g, x + n * s.C * g.HW, col + n * s.C * plane, g.PQ, c, c + 1);
    }
  });
}

// col (N,C*R*S,P*Q), dx (N,C,H,W) overwritten with every column entry added back to its
// pixel (fold)
template <typename T>
void unfold_backward_cpu(const Conv2dShape& s, const T* col, T* dx) {
  const ConvGeom g(s);
  const int64_t plane = g.RS * g.PQ;
  parallel_for(s.N * s.C, channel_grain(g), [&](int64_t i0, int64_t i1) {
    std::fill(dx + i0 * g.HW, dx + i1 * g.HW, T(0));
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / s.C, c = i % s.C;
      col2im(s, g, col + n * s.C * plane, g.PQ, dx + n * s.C * g.HW, c, c + 1);
    }
  });
}

#define CONVNET_INSTANTIATE(T)                                                              \
  template Conv2dAlgorithm conv2d_algorithm_cpu<T>(const Conv2dShape&);                      \
  template void conv2d_forward_cpu<T>(const Conv2dShape&, const T*, const T*, const T*, T*); \
  template void conv2d_backward_cpu<T>(const Conv2dShape&, const T*, const T*, const T*, T*, \
                                       T*, T*);                                              \
  template void unfold_forward_cpu<T>(const Conv2dShape&, const T*, T*);                     \
  template void unfold_backward_cpu<T>(const Conv2dShape&, const T*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cpu
