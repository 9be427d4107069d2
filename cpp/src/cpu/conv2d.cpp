// CPU conv2d kernels: im2col + GEMM, Winograd F(4x4,3x3) for the float32 3x3
// stride-1 convolutions that winograd_selected picks (conv2d_winograd.cpp;
// forward and dx), and a direct loop for depthwise.
// N batch, C in channels, H W input size, K out channels, R S kernel,
// P Q output size, G groups; Cg = C/G and Kg = K/G channels per group.
// The column matrix of one image and group is (Cg*R*S, P*Q): row (c,r,s)
// holds the input pixel that tap (r,s) of channel c sees at each output (p,q),
// 0 where it falls in the padding. Kernels overwrite their outputs; autograd
// accumulates (+=) the returned gradients into .grad.
//
// Threads: images go in batches (one column matrix per batch and group, see
// Batching); each step of a batch, im2col, the GEMM (gemm_parallel) and the
// scatter, is split over all threads. dw is summed batch after batch and db
// image after image in a fixed order, so a given thread count always gives
// bit-identical gradients.
#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "blas.h"
#include "conv2d_winograd.h"
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
void copy_rows_fixed(T* dst, int64_t dstep, const T* src, int64_t sstep, int64_t rows, int64_t n) {
  for (; rows > 0; --rows, dst += dstep, src += sstep) {
    std::memcpy(dst, src, B * sizeof(T));
    std::memcpy(dst + n - B, src + n - B, B * sizeof(T));
  }
}

// dst[i*dstep + j] = src[i*sstep + j*sw] for i < rows, j < n
template <typename T>
void copy_rows(T* dst, int64_t dstep, const T* src, int64_t sstep, int64_t sw, int64_t rows,
               int64_t n) {
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
inline void add_block(T* d, const T* s) {
  T a[B], b[B];
  std::memcpy(a, d, sizeof a);
  std::memcpy(b, s, sizeof b);
  for (int64_t j = 0; j < B; ++j) a[j] += b[j];
  std::memcpy(d, a, sizeof a);
}

// dst[i*dstep + j*sw] += src[i*sstep + j] for i < rows, j < n
template <typename T>
void add_rows(T* dst, int64_t dstep, int64_t sw, const T* src, int64_t sstep, int64_t rows,
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
void im2col(const Conv2dShape& s, const ConvGeom& g, const T* x, T* col, int64_t ld, int64_t c0,
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
void col2im(const Conv2dShape& s, const ConvGeom& g, const T* col, int64_t ld, T* dx, int64_t c0,
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
T sum(const T* v, int64_t n) {
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

// ---- depthwise: direct loops over the taps --------------------------------
// Each output plane k reads input plane k / Kg. For tap (r,t) the in-bounds
// outputs form the rectangle [p_lo,p_hi) x [q_lo,q_hi), and the input pixels
// they read are a strided rectangle at in_offset: one helper walks it.
template <typename T, typename F>
void for_each_tap_row(const Conv2dShape& s, const ConvGeom& g, const F& f) {
  const int64_t in_step = s.stride_h * s.W;
  for (int64_t r = 0; r < s.R; ++r)
    for (int64_t t = 0; t < s.S; ++t) {
      const int64_t n = g.q_hi[t] - g.q_lo[t];
      int64_t out = g.p_lo[r] * s.Q + g.q_lo[t], in = g.in_offset(s, r, t);
      for (int64_t p = g.p_lo[r]; p < g.p_hi[r]; ++p, out += s.Q, in += in_step)
        f(r * s.S + t, out, in, n);
    }
}

// x (N,C,H,W), w (K,1,R,S), b (K) or null, y (N,K,P,Q)
template <typename T>
void depthwise_forward(const Conv2dShape& s, const ConvGeom& g, const T* x, const T* w, const T* b,
                       T* y) {
  const int64_t sw = s.stride_w;
  parallel_for(s.N * s.K, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, g.RS * g.PQ)),
               [&](int64_t i0, int64_t i1) {
                 for (int64_t i = i0; i < i1; ++i) {
                   const int64_t k = i % s.K, n = i / s.K;
                   const T* xp = x + (n * s.C + k / g.Kg) * g.HW;
                   const T* wk = w + k * g.RS;
                   T* yp = y + i * g.PQ;
                   std::fill(yp, yp + g.PQ, b ? b[k] : T(0));
                   for_each_tap_row<T>(s, g, [&](int64_t tap, int64_t out, int64_t in, int64_t len) {
                     const T wv = wk[tap];
                     T* yo = yp + out;
                     const T* xi = xp + in;
                     for (int64_t q = 0; q < len; ++q) yo[q] += wv * xi[q * sw];
                   });
                 }
               });
}

// x (N,C,H,W), w (K,1,R,S), dy (N,K,P,Q); dx (N,C,H,W), dw (K,1,R,S), db (K), each may be null
template <typename T>
void depthwise_backward(const Conv2dShape& s, const ConvGeom& g, const T* x, const T* w,
                        const T* dy, T* dx, T* dw, T* db) {
  const int64_t sw = s.stride_w;
  const int64_t grain = std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, g.Kg * g.RS * g.PQ));
  if (dx) {
    // one input plane (n,c) at a time: its Kg output planes scatter into it
    parallel_for(s.N * s.C, grain, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        const int64_t c = i % s.C, n = i / s.C;
        T* dxp = dx + i * g.HW;
        std::fill(dxp, dxp + g.HW, T(0));
        for (int64_t k = c * g.Kg; k < (c + 1) * g.Kg; ++k) {
          const T* wk = w + k * g.RS;
          const T* dyp = dy + (n * s.K + k) * g.PQ;
          for_each_tap_row<T>(s, g, [&](int64_t tap, int64_t out, int64_t in, int64_t len) {
            const T wv = wk[tap];
            const T* go = dyp + out;
            T* gi = dxp + in;
            for (int64_t q = 0; q < len; ++q) gi[q * sw] += wv * go[q];
          });
        }
      }
    });
  }
  if (dw || db) {
    // one filter k at a time, summed over the images in order: deterministic
    parallel_for(s.K, std::max<int64_t>(1, grain / std::max<int64_t>(1, s.N)),
                 [&](int64_t k0, int64_t k1) {
                   for (int64_t k = k0; k < k1; ++k) {
                     T* dwk = dw ? dw + k * g.RS : nullptr;
                     if (dwk) std::fill(dwk, dwk + g.RS, T(0));
                     T bsum = 0;
                     for (int64_t n = 0; n < s.N; ++n) {
                       const T* dyp = dy + (n * s.K + k) * g.PQ;
                       if (db) bsum += sum(dyp, g.PQ);
                       if (!dwk) continue;
                       const T* xp = x + (n * s.C + k / g.Kg) * g.HW;
                       for_each_tap_row<T>(s, g, [&](int64_t tap, int64_t out, int64_t in, int64_t len) {
                         const T* go = dyp + out;
                         const T* xi = xp + in;
                         T acc = 0;
                         for (int64_t q = 0; q < len; ++q) acc += go[q] * xi[q * sw];
                         dwk[tap] += acc;
                       });
                     }
                     if (db) db[k] = bsum;
                   }
                 });
  }
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
    constexpr int64_t kTargetCols = 512, kMaxColElems = int64_t(1) << 22;
    const int64_t nt = num_threads();
    split = s.N < nt;
    chunks = split ? 1 : nt;
    const int64_t per_chunk = (s.N + chunks - 1) / chunks;
    const int64_t target = split ? kTargetCols * nt : kTargetCols;
    nb = std::min(per_chunk, std::max<int64_t>(1, (target + g.PQ - 1) / g.PQ));
    nb = std::max<int64_t>(1, std::min(nb, kMaxColElems / chunks / std::max<int64_t>(1, g.CgRS * g.PQ)));
    const int64_t batches = (per_chunk + nb - 1) / nb;
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
          const T* o = bt.direct ? y + plane : out + row;
          for (int64_t j = 0; j < g.PQ; ++j) y[plane + j] = o[j] + bk;
        });
    }
  });
}

// x (N,C,H,W), w (K,Cg,R,S), dy (N,K,P,Q); dx (N,C,H,W), dw (K,Cg,R,S), each
// overwritten, each may be null. dw is summed per chunk, batch after batch,
// and the chunks added in a fixed order.
template <typename T>
void gemm_backward(const Conv2dShape& s, const ConvGeom& g, const T* x, const T* w, const T* dy,
                   T* dx, T* dw) {
  const Batching bt(s, g);
  const bool direct = bt.direct;
  const int64_t col_size = direct ? 0 : g.CgRS * bt.cols, dy_size = direct ? 0 : g.Kg * bt.cols;
  // per chunk: im2col's columns, dx's columns, dy as a batch matrix, and dw
  // transposed (G, Cg*R*S, Kg), which OpenBLAS computes faster for short P*Q
  Workspace<T> cols(dw ? bt.chunks * col_size : 0), dcols(dx ? bt.chunks * col_size : 0);
  Workspace<T> dys(bt.chunks * dy_size), parts(dw ? bt.chunks * s.K * g.CgRS : 0);
  bt.for_each_batch(s, [&](int64_t c, int64_t n0, int64_t nb, bool first) {
    T* col = cols.data() + c * col_size;
    T* dcol = dcols.data() + c * col_size;
    T* dwt = parts.data() + c * s.K * g.CgRS;
    if (first && dw) {
      std::fill(col, col + col_size, T(0));  // its padding entries stay 0, see im2col
      std::fill(dwt, dwt + s.K * g.CgRS, T(0));
    }
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
      if (dw) {  // dw_g^T (Cg*R*S, Kg) += col (Cg*R*S, nb*P*Q) x dy^T (nb*P*Q, Kg)
        if (!direct) batch_to_col(s, g, bt, x, n0, nb, gi, col);
        bt.mm(false, true, g.CgRS, g.Kg, nb * g.PQ, direct ? xg : col, bt.cols, dym, bt.cols, T(1),
              dwt + gi * g.CgRS * g.Kg, g.Kg);
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
  // Sum the chunks in a fixed order, ((chunk 0 + chunk 1) + chunk 2) + ...,
  // transposing dw back to (K, Cg*R*S).
  if (dw)
    parallel_for(s.K, std::max<int64_t>(1, kGrainSize / (bt.chunks * g.CgRS)),
                 [&](int64_t k0, int64_t k1) {
                   for (int64_t k = k0; k < k1; ++k) {
                     const int64_t at = (k / g.Kg) * g.CgRS * g.Kg + k % g.Kg;
                     for (int64_t j = 0; j < g.CgRS; ++j) {
                       T acc = parts.data()[at + j * g.Kg];
                       for (int64_t c = 1; c < bt.chunks; ++c)
                         acc += parts.data()[c * s.K * g.CgRS + at + j * g.Kg];
                       dw[k * g.CgRS + j] = acc;
                     }
                   }
                 });
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
  if (std::is_same_v<T, float> && winograd_selected(s)) return Conv2dAlgorithm::Winograd;
  return Conv2dAlgorithm::Gemm;
}

// x (N,C,H,W), w (K,C/G,R,S), b (K) or null, y (N,K,P,Q)
template <typename T>
void conv2d_forward_cpu(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y) {
  const ConvGeom g(s);
  if (g.depthwise) return depthwise_forward(s, g, x, w, b, y);
  if constexpr (std::is_same_v<T, float>)
    if (conv2d_algorithm_cpu<T>(s) == Conv2dAlgorithm::Winograd) return winograd_forward(s, x, w, b, y);
  gemm_forward(s, g, x, w, b, y);
}

// x (N,C,H,W), w (K,C/G,R,S), dy (N,K,P,Q); dx (N,C,H,W), dw (K,C/G,R,S), db (K),
// each overwritten, each may be null
template <typename T>
void conv2d_backward_cpu(const Conv2dShape& s, const T* x, const T* w, const T* dy, T* dx, T* dw,
                         T* db) {
  const ConvGeom g(s);
  if (g.depthwise) return depthwise_backward(s, g, x, w, dy, dx, dw, db);
  if constexpr (std::is_same_v<T, float>)
    if (dx && conv2d_algorithm_cpu<T>(s) == Conv2dAlgorithm::Winograd) {
      winograd_backward_data(s, w, dy, dx);
      dx = nullptr;
    }
  if (dx || dw) gemm_backward(s, g, x, w, dy, dx, dw);
  if (db) bias_backward(s, g, dy, db);
}

#define CONVNET_INSTANTIATE(T)                                                              \
  template Conv2dAlgorithm conv2d_algorithm_cpu<T>(const Conv2dShape&);                      \
  template void conv2d_forward_cpu<T>(const Conv2dShape&, const T*, const T*, const T*, T*); \
  template void conv2d_backward_cpu<T>(const Conv2dShape&, const T*, const T*, const T*, T*, \
                                       T*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cpu
