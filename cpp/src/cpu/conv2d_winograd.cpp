// Winograd F(4x4, 3x3) convolution (Lavin & Gray, "Fast Algorithms for
// Convolutional Neural Networks", 2016), interpolation points 0, 1, -1, 2, -2, inf.
// Legend as in conv2d.cpp: N batch, Ci in channels, Ko out channels of one
// group, H W input size, P Q output size; xi = 0..35 indexes the 6x6
// transformed tile. Each output tile of 4x4 reads a 6x6 input tile d:
//   y = A^T [ (G g G^T) (.) (B^T d B) ] A,
// so for every xi the transformed outputs of all tiles are one product over
// the channels: M[xi] (Ko, tiles) = U[xi] (Ko, Ci) x V[xi] (Ci, tiles).
// The filter is transformed once per call (in double); the input is
// transformed in blocks of tiles; the 36 products of a block go to OpenBLAS;
// the output transform adds the bias.
// Deterministic: every value is computed by one thread in a fixed order.
#include "conv2d_winograd.h"

#include <algorithm>

#include "blas.h"
#include "isa.h"
#include "parallel.h"
#include "workspace.h"

namespace convnet::cpu {

namespace {

constexpr int64_t kLanes = 16;  // tiles transformed together, one per SIMD lane

// One convolution as Winograd sees it: the forward, or the one that gives dx.
struct WinoConv {
  int64_t N, Ci, Ko, H, W, P, Q, pad_h, pad_w, groups;
  int64_t tiles_h, tiles_w, tiles;  // output tiles of 4x4 per column, row, in all
  WinoConv(int64_t N, int64_t Ci, int64_t Ko, int64_t H, int64_t W, int64_t P, int64_t Q,
           int64_t pad_h, int64_t pad_w, int64_t groups)
      : N(N), Ci(Ci), Ko(Ko), H(H), W(W), P(P), Q(Q), pad_h(pad_h), pad_w(pad_w), groups(groups),
        tiles_h((P + 3) / 4), tiles_w((Q + 3) / 4), tiles(N * tiles_h * tiles_w) {}
};

// Where a tile reads and writes: the offset of its 6x6 input window's corner
// (row p0 - pad_h, column q0 - pad_w) in its image's channel 0, and of its
// 4x4 output corner (p0, q0); offsets of the image included.
struct TileAt {
  int64_t in, out, p0, q0;
};

// d (6, lanes): o = B^T d, the 6 rows of the input transform over L lanes;
// in at in[k * is + l], out at out[k * os + l].
inline __attribute__((always_inline)) void input_1d(const float* in, int64_t is, float* out,
                                                    int64_t os) {
  for (int64_t l = 0; l < kLanes; ++l) {
    const float d0 = in[l], d1 = in[is + l], d2 = in[2 * is + l], d3 = in[3 * is + l],
                d4 = in[4 * is + l], d5 = in[5 * is + l];
    out[l] = 4 * d0 - 5 * d2 + d4;
    out[os + l] = -4 * d1 - 4 * d2 + d3 + d4;
    out[2 * os + l] = 4 * d1 - 4 * d2 - d3 + d4;
    out[3 * os + l] = -2 * d1 - d2 + 2 * d3 + d4;
    out[4 * os + l] = 2 * d1 - d2 - 2 * d3 + d4;
    out[5 * os + l] = 4 * d1 - 5 * d3 + d5;
  }
}

// m (6, lanes): o = A^T m (4, lanes), strides as input_1d.
inline __attribute__((always_inline)) void output_1d(const float* in, int64_t is, float* out,
                                                     int64_t os) {
  for (int64_t l = 0; l < kLanes; ++l) {
    const float m0 = in[l], m1 = in[is + l], m2 = in[2 * is + l], m3 = in[3 * is + l],
                m4 = in[4 * is + l], m5 = in[5 * is + l];
    const float a = m1 + m2, b = m1 - m2, c = m3 + m4, e = m3 - m4;
    out[l] = m0 + a + c;
    out[os + l] = b + 2 * e;
    out[2 * os + l] = a + 4 * c;
    out[3 * os + l] = b + 8 * e + m5;
  }
}

// x: channel 0 of the input (planes of H x W, HW apart), tiles (nt <= kLanes)
// at `at`; v: channel ci's row of V[0] in a block of tiles, V[xi] vstride
// apart. Writes V[xi][ci][0..nt) for channels [c0, c1).
CONVNET_CPU_CLONES
void winograd_input_tiles(const WinoConv& cv, const float* x, const TileAt* at, int64_t nt,
                          int64_t c0, int64_t c1, float* v, int64_t ldv, int64_t vstride) {
  alignas(64) float d[36 * kLanes], t[36 * kLanes];
  const int64_t HW = cv.H * cv.W;
  for (int64_t c = c0; c < c1; ++c) {
    const float* xc = x + c * HW;
    for (int64_t l = 0; l < kLanes; ++l) {
      if (l >= nt) {
        for (int64_t e = 0; e < 36; ++e) d[e * kLanes + l] = 0;
        continue;
      }
      const int64_t y0 = at[l].p0 - cv.pad_h, x0 = at[l].q0 - cv.pad_w;
      const float* src = xc + at[l].in;
      if (y0 >= 0 && x0 >= 0 && y0 + 6 <= cv.H && x0 + 6 <= cv.W) {
        for (int64_t i = 0; i < 6; ++i)
          for (int64_t j = 0; j < 6; ++j) d[(i * 6 + j) * kLanes + l] = src[i * cv.W + j];
      } else {
        for (int64_t i = 0; i < 6; ++i)
          for (int64_t j = 0; j < 6; ++j) {
            const bool inside = y0 + i >= 0 && y0 + i < cv.H && x0 + j >= 0 && x0 + j < cv.W;
            d[(i * 6 + j) * kLanes + l] = inside ? src[i * cv.W + j] : 0.0f;
          }
      }
    }
    for (int64_t j = 0; j < 6; ++j) input_1d(d + j * kLanes, 6 * kLanes, t + j * kLanes, 6 * kLanes);
    for (int64_t i = 0; i < 6; ++i) input_1d(t + i * 6 * kLanes, kLanes, d + i * 6 * kLanes, kLanes);
    float* vc = v + (c - c0) * ldv;
    for (int64_t e = 0; e < 36; ++e)
      for (int64_t l = 0; l < nt; ++l) vc[e * vstride + l] = d[e * kLanes + l];
  }
}

// m: row ko of M[0] in a block of tiles (M[xi] mstride apart), tiles (nt <=
// kLanes) at `at`; y: channel 0 of the output (planes of P x Q). Writes the
// 4x4 outputs + bias of channels [k0, k1), row k of M ldm apart.
CONVNET_CPU_CLONES
void winograd_output_tiles(const WinoConv& cv, const float* m, int64_t ldm, int64_t mstride,
                           const TileAt* at, int64_t nt, int64_t k0, int64_t k1, const float* b,
                           float* y) {
  alignas(64) float a[36 * kLanes], t[24 * kLanes], o[16 * kLanes];
  const int64_t PQ = cv.P * cv.Q;
  for (int64_t k = k0; k < k1; ++k) {
    const float* mk = m + (k - k0) * ldm;
    for (int64_t e = 0; e < 36; ++e)
      for (int64_t l = 0; l < kLanes; ++l) a[e * kLanes + l] = l < nt ? mk[e * mstride + l] : 0.0f;
    for (int64_t j = 0; j < 6; ++j) output_1d(a + j * kLanes, 6 * kLanes, t + j * kLanes, 6 * kLanes);
    for (int64_t i = 0; i < 4; ++i) output_1d(t + i * 6 * kLanes, kLanes, o + i * 4 * kLanes, kLanes);
    const float bk = b ? b[k] : 0.0f;
    float* yk = y + k * PQ;
    for (int64_t l = 0; l < nt; ++l) {
      const int64_t rows = std::min<int64_t>(4, cv.P - at[l].p0), cols = std::min<int64_t>(4, cv.Q - at[l].q0);
      float* dst = yk + at[l].out;
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) dst[i * cv.Q + j] = o[(i * 4 + j) * kLanes + l] + bk;
    }
  }
}

// dy (4, lanes): o = A dy (6, lanes), the transpose of output_1d's A^T; strides as input_1d.
inline __attribute__((always_inline)) void grad_output_1d(const float* in, int64_t is, float* out,
                                                          int64_t os) {
  for (int64_t l = 0; l < kLanes; ++l) {
    const float y0 = in[l], y1 = in[is + l], y2 = in[2 * is + l], y3 = in[3 * is + l];
    const float a = y0 + y2, b = y1 + y3, c = y0 + 4 * y2, e = 2 * y1 + 8 * y3;
    out[l] = y0;
    out[os + l] = a + b;
    out[2 * os + l] = a - b;
    out[3 * os + l] = c + e;
    out[4 * os + l] = c - e;
    out[5 * os + l] = y3;
  }
}

// dy: channel 0 of dy (planes of P x Q), tiles (nt <= kLanes) at `at`; m: row 0 of dM[0] in a
// block of tiles (dM[xi] mstride apart, rows ldm apart). Writes dM = A dy A^T (6x6) of each
// tile's 4x4 of dy (zero beyond P, Q) for channels [k0, k1) into rows 0 .. k1-k0.
CONVNET_CPU_CLONES
void winograd_grad_output_tiles(const WinoConv& cv, const float* dy, const TileAt* at, int64_t nt,
                                int64_t k0, int64_t k1, float* m, int64_t ldm, int64_t mstride) {
  alignas(64) float d[16 * kLanes], t[24 * kLanes], o[36 * kLanes];
  const int64_t PQ = cv.P * cv.Q;
  for (int64_t k = k0; k < k1; ++k) {
    const float* yk = dy + k * PQ;
    for (int64_t l = 0; l < kLanes; ++l) {
      const int64_t rows = l < nt ? std::min<int64_t>(4, cv.P - at[l].p0) : 0;
      const int64_t cols = l < nt ? std::min<int64_t>(4, cv.Q - at[l].q0) : 0;
      const float* src = l < nt ? yk + at[l].out : yk;
      for (int64_t i = 0; i < 4; ++i)
        for (int64_t j = 0; j < 4; ++j) d[(i * 4 + j) * kLanes + l] = i < rows && j < cols ? src[i * cv.Q + j] : 0.0f;
    }
    for (int64_t j = 0; j < 4; ++j) grad_output_1d(d + j * kLanes, 4 * kLanes, t + j * kLanes, 4 * kLanes);
    for (int64_t i = 0; i < 6; ++i) grad_output_1d(t + i * 4 * kLanes, kLanes, o + i * 6 * kLanes, kLanes);
    float* mk = m + (k - k0) * ldm;
    for (int64_t e = 0; e < 36; ++e)
      for (int64_t l = 0; l < nt; ++l) mk[e * mstride + l] = o[e * kLanes + l];
  }
}

// g (3, lanes) -> o = G g (6, lanes), in double; in at in[k * is + l], out at out[k * os + l].
inline __attribute__((always_inline)) void filter_1d(const double* in, int64_t is, double* out,
                                                     int64_t os) {
  for (int64_t l = 0; l < kLanes; ++l) {
    const double g0 = in[l], g1 = in[is + l], g2 = in[2 * is + l];
    const double a = g0 + g2, c = g0 * (1.0 / 24) + g2 * (1.0 / 6);
    out[l] = g0 * 0.25;
    out[os + l] = -(a + g1) * (1.0 / 6);
    out[2 * os + l] = -(a - g1) * (1.0 / 6);
    out[3 * os + l] = c + g1 * (1.0 / 12);
    out[4 * os + l] = c - g1 * (1.0 / 12);
    out[5 * os + l] = g2;
  }
}

// n <= kLanes filters (3,3), fstride apart at f, each read flipped (f[8 - e])
// when flip: writes u = G g G^T (6,6) of filter l at u[xi * ustride + l].
CONVNET_CPU_CLONES
void winograd_filter_tiles(const float* f, int64_t fstride, bool flip, int64_t n, float* u,
                           int64_t ustride) {
  alignas(64) double g[9 * kLanes], t[18 * kLanes], v[36 * kLanes];
  for (int64_t e = 0; e < 9; ++e)
    for (int64_t l = 0; l < kLanes; ++l)
      g[e * kLanes + l] = l < n ? f[l * fstride + (flip ? 8 - e : e)] : 0.0;
  for (int64_t j = 0; j < 3; ++j) filter_1d(g + j * kLanes, 3 * kLanes, t + j * kLanes, 3 * kLanes);
  for (int64_t i = 0; i < 6; ++i) filter_1d(t + i * 3 * kLanes, kLanes, v + i * 6 * kLanes, kLanes);
  for (int64_t e = 0; e < 36; ++e)
    for (int64_t l = 0; l < n; ++l) u[e * ustride + l] = static_cast<float>(v[e * kLanes + l]);
}

// u (6, lanes) -> o = G^T u (3, lanes), in double; strides as filter_1d.
inline __attribute__((always_inline)) void filter_grad_1d(const double* in, int64_t is,
                                                          double* out, int64_t os) {
  for (int64_t l = 0; l < kLanes; ++l) {
    const double u0 = in[l], u1 = in[is + l], u2 = in[2 * is + l], u3 = in[3 * is + l],
                 u4 = in[4 * is + l], u5 = in[5 * is + l];
    const double a = u1 + u2, b = u2 - u1, c = u3 + u4, e = u3 - u4;
    out[l] = u0 * 0.25 - a * (1.0 / 6) + c * (1.0 / 24);
    out[os + l] = b * (1.0 / 6) + e * (1.0 / 12);
    out[2 * os + l] = (c - a) * (1.0 / 6) + u5;
  }
}

// n <= kLanes transformed filter gradients dU (6,6), du[xi * dstride + l] for filter l ->
// dw = G^T dU G (3,3) at f[l * fstride + e].
CONVNET_CPU_CLONES
void winograd_filter_grad_tiles(const double* du, int64_t dstride, int64_t n, float* f,
                                int64_t fstride) {
  alignas(64) double u[36 * kLanes], t[18 * kLanes], g[9 * kLanes];
  for (int64_t e = 0; e < 36; ++e)
    for (int64_t l = 0; l < kLanes; ++l) u[e * kLanes + l] = l < n ? du[e * dstride + l] : 0.0;
  for (int64_t j = 0; j < 6; ++j) filter_grad_1d(u + j * kLanes, 6 * kLanes, t + j * kLanes, 6 * kLanes);
  for (int64_t i = 0; i < 3; ++i) filter_grad_1d(t + i * 6 * kLanes, kLanes, g + i * 3 * kLanes, kLanes);
  for (int64_t e = 0; e < 9; ++e)
    for (int64_t l = 0; l < n; ++l) f[l * fstride + e] = static_cast<float>(g[e * kLanes + l]);
}

// w (K,C/G,3,3) -> U (G, k1-k0, 36, Ci) of the output channels [k0, k1) of each group:
// U[o-k0][xi][i] from filter (o,i), which is w[o][i] for the forward, and w[i][o] flipped
// for dx. U[xi] is the (k1-k0, Ci) matrix at xi*Ci with rows 36*Ci apart: a filter's 36
// values lie close.
void transform_filter(const WinoConv& cv, const float* w, bool for_dx, int64_t k0, int64_t k1, float* u) {
  const int64_t nk = k1 - k0, per_group = 36 * nk * cv.Ci;
  parallel_for(cv.groups * nk, std::max<int64_t>(1, 512 / cv.Ci), [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      const int64_t gi = j / nk, o = k0 + j % nk;
      for (int64_t i = 0; i < cv.Ci; i += kLanes) {
        // forward: w is (groups*Ko, Ci, 3, 3); dx: w is (groups*Ci, Ko, 3, 3)
        const float* f = for_dx ? w + ((gi * cv.Ci + i) * cv.Ko + o) * 9
                                : w + ((gi * cv.Ko + o) * cv.Ci + i) * 9;
        winograd_filter_tiles(f, for_dx ? cv.Ko * 9 : 9, for_dx, std::min(kLanes, cv.Ci - i),
                              u + gi * per_group + (o - k0) * 36 * cv.Ci + i, cv.Ci);
      }
    }
  });
}

// Tiles [t0, t0+nt) (numbered image by image, row by row) -> at[0..nt).
void tile_positions(const WinoConv& cv, int64_t t0, int64_t nt, TileAt* at) {
  const int64_t C = cv.groups * cv.Ci, K = cv.groups * cv.Ko, per_image = cv.tiles_h * cv.tiles_w;
  for (int64_t t = 0; t < nt; ++t) {
    const int64_t n = (t0 + t) / per_image, r = (t0 + t) % per_image;
    const int64_t p0 = r / cv.tiles_w * 4, q0 = r % cv.tiles_w * 4;
    at[t] = {n * C * cv.H * cv.W + (p0 - cv.pad_h) * cv.W + (q0 - cv.pad_w),
             n * K * cv.P * cv.Q + p0 * cv.Q + q0, p0, q0};
  }
}

// Tiles per block of one thread: V (36 Ci) and M (36 Ko) per tile within about 2 MB, at least
// 32 tiles (GEMM columns) per product, a multiple of the lanes, at most the tiles it has.
int64_t block_tiles(int64_t Ci, int64_t Ko, int64_t tiles) {
  constexpr int64_t kBlockElems = int64_t(1) << 19;
  const int64_t T = std::min(std::clamp<int64_t>(kBlockElems / (36 * (Ci + Ko)), 32, 256), tiles);
  return (T + kLanes - 1) / kLanes * kLanes;
}

// Each thread's scratch in a Winograd pass: for a block of up to T tiles, V (36, Ci, T),
// M (36, ko, T) and the block's tile list.
struct WinoScratch {
  int64_t T, v_size, m_size;
  Workspace<float> Vs, Ms;
  Workspace<TileAt> ats;
  WinoScratch(int64_t chunks, int64_t Ci, int64_t ko, int64_t T_)
      : T(T_), v_size(36 * Ci * T_), m_size(36 * ko * T_), Vs(chunks * v_size), Ms(chunks * m_size),
        ats(chunks * T_) {}
  float* V(int64_t ch) const { return Vs.data() + ch * v_size; }
  float* M(int64_t ch) const { return Ms.data() + ch * m_size; }
  TileAt* at(int64_t ch) const { return ats.data() + ch * T; }
};

// x (N, groups*Ci, H, W), U of the output channels [k0, k1) of each group from transform_filter,
// b (groups*Ko) or null; those channels of y (N, groups*Ko, P, Q) overwritten. Each thread takes
// a contiguous share of the tiles and runs its blocks alone (transforms and single-threaded
// products), with its own V, M and tile list: one parallel region.
void winograd_run(const WinoConv& cv, const float* x, const float* u, int64_t k0, int64_t k1, const float* b,
                  float* y) {
  const int64_t nk = k1 - k0;
  const int64_t chunks = std::max<int64_t>(
      1, std::min<int64_t>(num_threads(), (cv.tiles + kLanes - 1) / kLanes));
  const WinoScratch sc(chunks, cv.Ci, nk, block_tiles(cv.Ci, nk, (cv.tiles + chunks - 1) / chunks));
  const int64_t T = sc.T;
  parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t ch = c0; ch < c1; ++ch) {
      float *V = sc.V(ch), *M = sc.M(ch);
      TileAt* at = sc.at(ch);
      const int64_t end = cv.tiles * (ch + 1) / chunks;
      for (int64_t t0 = cv.tiles * ch / chunks; t0 < end; t0 += T) {
        const int64_t nt = std::min(T, end - t0);
        tile_positions(cv, t0, nt, at);
        for (int64_t gi = 0; gi < cv.groups; ++gi) {
          const float* ug = u + gi * 36 * nk * cv.Ci;
          // V[xi] (Ci, nt), 16 tiles at a time
          for (int64_t l0 = 0; l0 < nt; l0 += kLanes)
            winograd_input_tiles(cv, x + gi * cv.Ci * cv.H * cv.W, at + l0,
                                 std::min(kLanes, nt - l0), 0, cv.Ci, V + l0, T, cv.Ci * T);
          // M[xi] (nk, nt) = U[xi] (nk, Ci) x V[xi] (Ci, nt)
          for (int64_t e = 0; e < 36; ++e)
            gemm(false, false, nk, nt, cv.Ci, 1.0f, ug + e * cv.Ci, 36 * cv.Ci,
                 V + e * cv.Ci * T, T, 0.0f, M + e * nk * T, T);
          // y = A^T M A + b
          for (int64_t l0 = 0; l0 < nt; l0 += kLanes)
            winograd_output_tiles(cv, M + l0, T, nk * T, at + l0, std::min(kLanes, nt - l0), k0, k1,
                                  b ? b + gi * cv.Ko : nullptr, y + gi * cv.Ko * cv.P * cv.Q);
        }
      }
    }
  });
}

// The filter transform and the products over the output channels in chunks whose U (36 values
// per filter, four times the weights) stays within about 8 MiB: 512 channels in, 512 out would
// otherwise hold 38 MiB for the call. Each chunk transforms the input tiles again, a small cost
// beside its products (Ci*Ko multiply-adds per transformed value of a tile's 36).
void winograd_conv(const WinoConv& cv, const float* x, const float* w, bool for_dx, const float* b, float* y) {
  constexpr int64_t kMaxU = int64_t(1) << 21;
  const int64_t per_k = cv.groups * 36 * cv.Ci;
  const int64_t nchunks = std::max<int64_t>(1, (per_k * cv.Ko + kMaxU - 1) / kMaxU);
  const int64_t kc = std::min(cv.Ko, ((cv.Ko + nchunks - 1) / nchunks + kLanes - 1) / kLanes * kLanes);
  Workspace<float> u(per_k * kc);
  for (int64_t k0 = 0; k0 < cv.Ko; k0 += kc) {
    const int64_t k1 = std::min(cv.Ko, k0 + kc);
    transform_filter(cv, w, for_dx, k0, k1, u.data());
    winograd_run(cv, x, u.data(), k0, k1, b, y);
  }
}

// x (N, groups*Ci, H, W), dy (N, groups*Ko, P, Q); dw (groups*Ko, Ci, 3, 3) overwritten:
// dU[xi] (Ko, Ci) = sum over tiles of dM[xi] (Ko, tiles) x V[xi]^T (tiles, Ci), then
// dw = G^T dU G; dU is laid out (G, Ko, 36, Ci) as U, so a filter's 36 values lie close.
// Where one dU per thread is small, each thread takes a contiguous share of the tiles into its
// own dU and the shares are added in a fixed order; otherwise each thread takes a share of the
// output channels over all tiles (transforming every input tile itself).
void winograd_weight_grad_run(const WinoConv& cv, const float* x, const float* dy, float* dw) {
  const int64_t per_group = 36 * cv.Ko * cv.Ci, nthreads = num_threads();
  const bool by_tiles = per_group * cv.groups * nthreads <= (int64_t(1) << 21);
  const int64_t chunks = std::max<int64_t>(
      1, std::min(nthreads, by_tiles ? (cv.tiles + kLanes - 1) / kLanes : cv.Ko / kLanes));
  const int64_t parts = by_tiles ? chunks : 1, ko_max = by_tiles ? cv.Ko : (cv.Ko + chunks - 1) / chunks;
  const WinoScratch sc(chunks, cv.Ci, ko_max,
                       block_tiles(cv.Ci, ko_max, by_tiles ? (cv.tiles + chunks - 1) / chunks : cv.tiles));
  const int64_t T = sc.T;
  Workspace<float> dU(parts * cv.groups * per_group);
  parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t ch = c0; ch < c1; ++ch) {
      float *V = sc.V(ch), *M = sc.M(ch);
      TileAt* at = sc.at(ch);
      const int64_t t_begin = by_tiles ? cv.tiles * ch / chunks : 0;
      const int64_t t_end = by_tiles ? cv.tiles * (ch + 1) / chunks : cv.tiles;
      const int64_t k0 = by_tiles ? 0 : cv.Ko * ch / chunks, k1 = by_tiles ? cv.Ko : cv.Ko * (ch + 1) / chunks;
      float* du = dU.data() + (by_tiles ? ch : 0) * cv.groups * per_group;
      for (int64_t t0 = t_begin; t0 < t_end; t0 += T) {
        const int64_t nt = std::min(T, t_end - t0);
        tile_positions(cv, t0, nt, at);
        for (int64_t gi = 0; gi < cv.groups; ++gi) {
          for (int64_t l0 = 0; l0 < nt; l0 += kLanes) {
            winograd_input_tiles(cv, x + gi * cv.Ci * cv.H * cv.W, at + l0,
                                 std::min(kLanes, nt - l0), 0, cv.Ci, V + l0, T, cv.Ci * T);
            winograd_grad_output_tiles(cv, dy + gi * cv.Ko * cv.P * cv.Q, at + l0,
                                       std::min(kLanes, nt - l0), k0, k1, M + l0, T, (k1 - k0) * T);
          }
          // dU[xi] rows [k0, k1) (+)= dM[xi] (k1-k0, nt) x V[xi]^T (nt, Ci)
          float* dug = du + gi * per_group + k0 * 36 * cv.Ci;
          for (int64_t e = 0; e < 36; ++e)
            gemm(false, true, k1 - k0, cv.Ci, nt, 1.0f, M + e * (k1 - k0) * T, T, V + e * cv.Ci * T,
                 T, t0 == t_begin ? 0.0f : 1.0f, dug + e * cv.Ci, 36 * cv.Ci);
        }
      }
    }
  });
  // dw (o, i) of each group = G^T (the parts' dU added in order) G, 16 filters at a time
  const int64_t total = cv.groups * cv.Ko * cv.Ci;
  parallel_for((total + kLanes - 1) / kLanes, std::max<int64_t>(1, 64 / parts), [&](int64_t b0, int64_t b1) {
    alignas(64) double u[36 * kLanes];
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t j0 = b * kLanes, n = std::min(kLanes, total - j0);
      for (int64_t e = 0; e < 36; ++e)
        for (int64_t l = 0; l < n; ++l) {  // filter j = (gi*Ko + o, i) -> dU[gi][o][xi][i]
          const int64_t j = j0 + l, go = j / cv.Ci, i = j % cv.Ci;
          const float* d = dU.data() + (go * 36 + e) * cv.Ci + i;
          double acc = 0;
          for (int64_t c = 0; c < parts; ++c) acc += d[c * cv.groups * per_group];
          u[e * kLanes + l] = acc;
        }
      winograd_filter_grad_tiles(u, kLanes, n, dw + j0 * 9, 9);
    }
  });
}

}  // namespace

bool winograd_selected(const Conv2dShape& s) {
  const int64_t Cg = s.C / s.groups, Kg = s.K / s.groups;
  // The filter transform (36 Kg Cg values per group, four times the weights)
  // is paid once per call; below about 16 output tiles of 4x4, and below one
  // tile per 8192 weights of a group, it costs more than the products save
  // (measured over 64..512 channels, 4..32 planes, batches 1..64).
  const int64_t tiles = s.N * ((s.P + 3) / 4) * ((s.Q + 3) / 4);
  return s.R == 3 && s.S == 3 && s.stride_h == 1 && s.stride_w == 1 && s.dil_h == 1 &&
         s.dil_w == 1 && s.pad_h <= 2 && s.pad_w <= 2 && Cg >= 16 && Kg >= 16 && s.P >= 4 &&
         s.Q >= 4 && tiles >= std::max<int64_t>(16, Cg * Kg / 8192);
}

bool winograd_weight_grad_selected(const Conv2dShape& s) {
  // dU holds 36 values per filter, four times dw: it is written, read back and transformed
  // once per call whatever the batch. Below 128 output tiles of 4x4 that costs more than the
  // products save (512 channels at 4x4, batch 64, 64 tiles: 23 ms against 18 ms by GEMM;
  // 256 channels at 8x8, 256 tiles: 11 ms against 13 ms).
  return s.N * ((s.P + 3) / 4) * ((s.Q + 3) / 4) >= 128;
}

void winograd_forward(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y) {
  const WinoConv cv(s.N, s.C / s.groups, s.K / s.groups, s.H, s.W, s.P, s.Q, s.pad_h, s.pad_w, s.groups);
  winograd_conv(cv, x, w, false, b, y);
}

void winograd_backward_data(const Conv2dShape& s, const float* w, const float* dy, float* dx) {
  const WinoConv cv(s.N, s.K / s.groups, s.C / s.groups, s.P, s.Q, s.H, s.W, 2 - s.pad_h,
                    2 - s.pad_w, s.groups);
  winograd_conv(cv, dy, w, true, nullptr, dx);
}

void winograd_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw) {
  const WinoConv cv(s.N, s.C / s.groups, s.K / s.groups, s.H, s.W, s.P, s.Q, s.pad_h, s.pad_w, s.groups);
  winograd_weight_grad_run(cv, x, dy, dw);
}

}  // namespace convnet::cpu
