// CUDA conv2d kernels: im2col + cuBLAS GEMM over chunks of images.
// N batch, C in channels, H W input size, K out channels, R S kernel, P Q output size,
// G groups; Cg = C/G and Kg = K/G channels per group; a chunk holds nb images.
//
// The columns of a chunk are one matrix col (C*R*S, nb*P*Q) = (G, Cg*R*S, nb*P*Q): row
// (c,r,s) holds the input pixel that tap (r,s) of channel c sees at each output (n,p,q),
// 0 where it falls in the padding. With the output gradient laid out the same way,
// dyT (K, nb*P*Q) = (G, Kg, nb*P*Q), every product of a chunk is one strided-batched GEMM
// over the groups:
//   forward  yT_g (Kg, nb*PQ)     = w_g (Kg, Cg*R*S) x col_g
//   dw       dw_g (Kg, Cg*R*S)   += dyT_g x col_g^T         (summed over the chunks)
//   dx       dcol_g (Cg*R*S, nb*PQ) = w_g^T x dyT_g, then col2im
// A chunk of one image needs no transposition between (nb,K,PQ) and (K,nb*PQ); a 1x1
// convolution with stride 1 and no padding multiplies the input itself, in one GEMM per
// group over the whole batch. Products run in the thread's MathMode (blas.cuh): under
// autocast the columns, dyT and the weight are 16-bit and the results float32.
// Column buffers come from the caching allocator (chunks of images that fit
// backends::conv_workspace_limit()), so a training step reuses the same blocks. Kernels
// overwrite their outputs; autograd accumulates (+=) the returned gradients into .grad.
#include <algorithm>

#include "blas.cuh"
#include "kernels.h"

namespace convnet::cuda {

namespace {

struct ConvDims {
  int64_t Cg, Kg, HW, PQ, CgRS;
  bool one_by_one;  // 1x1, stride 1, no padding, P Q = H W: the input plane is the column matrix
  explicit ConvDims(const Conv2dShape& s)
      : Cg(s.C / s.groups),
        Kg(s.K / s.groups),
        HW(s.H * s.W),
        PQ(s.P * s.Q),
        CgRS(s.C / s.groups * s.R * s.S),
        one_by_one(s.R == 1 && s.S == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 && s.pad_w == 0 &&
                   s.P == s.H && s.Q == s.W) {}
};

// Images per chunk: as many as fit `bytes_per_image` each in the workspace limit, at least one.
int64_t chunk_images(const Conv2dShape& s, int64_t bytes_per_image) {
  const int64_t limit = static_cast<int64_t>(backends::conv_workspace_limit());
  return std::max<int64_t>(1, std::min<int64_t>(s.N, limit / std::max<int64_t>(1, bytes_per_image)));
}

// x (N,C,H,W), images [n0, n0+nb) -> col (C*R*S, nb*P*Q); one thread per column entry
template <typename T, typename P>
__global__ void im2col_kernel(Conv2dShape s, int64_t n0, int64_t nb, const T* x, P* col) {
  const int64_t PQ = s.P * s.Q, L = nb * PQ, total = s.C * s.R * s.S * L;
  CUDA_KERNEL_LOOP(i, total) {
    const int64_t q = i % s.Q, p = (i / s.Q) % s.P, n = (i / PQ) % nb, row = i / L;
    const int64_t t = row % s.S, r = (row / s.S) % s.R, c = row / (s.R * s.S);
    const int64_t h = p * s.stride_h - s.pad_h + r * s.dil_h, w = q * s.stride_w - s.pad_w + t * s.dil_w;
    const bool inside = h >= 0 && h < s.H && w >= 0 && w < s.W;
    col[i] = inside ? convert<P>(x[((n0 + n) * s.C + c) * s.H * s.W + h * s.W + w]) : convert<P>(0.0f);
  }
}

// dcol (C*R*S, nb*P*Q) -> dx (N,C,H,W) images [n0, n0+nb), overwritten: one thread per
// input pixel gathers the entries of every tap that read it, in a fixed order
template <typename T>
__global__ void col2im_kernel(Conv2dShape s, int64_t n0, int64_t nb, const T* dcol, T* dx) {
  const int64_t PQ = s.P * s.Q, L = nb * PQ, total = nb * s.C * s.H * s.W;
  CUDA_KERNEL_LOOP(i, total) {
    const int64_t w = i % s.W, h = (i / s.W) % s.H, c = (i / (s.H * s.W)) % s.C, n = i / (s.C * s.H * s.W);
    T acc = 0;
    for (int64_t r = 0; r < s.R; ++r) {
      const int64_t ph = h + s.pad_h - r * s.dil_h;
      if (ph < 0 || ph % s.stride_h != 0 || ph / s.stride_h >= s.P) continue;
      const int64_t p = ph / s.stride_h;
      for (int64_t t = 0; t < s.S; ++t) {
        const int64_t qw = w + s.pad_w - t * s.dil_w;
        if (qw < 0 || qw % s.stride_w != 0 || qw / s.stride_w >= s.Q) continue;
        acc += dcol[((c * s.R + r) * s.S + t) * L + n * PQ + p * s.Q + qw / s.stride_w];
      }
    }
    dx[n0 * s.C * s.H * s.W + i] = acc;
  }
}

// yT (K, nb*L) -> y (N,K,L) images [n0, n0+nb), plus b (K) when given; one thread per output
template <typename T>
__global__ void untranspose_kernel(int64_t K, int64_t L, int64_t n0, int64_t nb, const T* yT, const T* b, T* y) {
  const int64_t total = nb * K * L;
  CUDA_KERNEL_LOOP(i, total) {
    const int64_t l = i % L, k = (i / L) % K, n = i / (K * L);
    y[n0 * K * L + i] = yT[(k * nb + n) * L + l] + (b ? b[k] : T(0));
  }
}

// dy (N,K,L) images [n0, n0+nb) -> dyT (K, nb*L) of the product type; one thread per entry
template <typename T, typename P>
__global__ void transpose_kernel(int64_t K, int64_t L, int64_t n0, int64_t nb, const T* dy, P* dyT) {
  const int64_t total = nb * K * L;
  CUDA_KERNEL_LOOP(i, total) {
    const int64_t l = i % L, n = (i / L) % nb, k = i / (nb * L);
    dyT[i] = convert<P>(dy[((n0 + n) * K + k) * L + l]);
  }
}

template <typename T, typename P>
void im2col(const Conv2dShape& s, int64_t n0, int64_t nb, const T* x, P* col) {
  const int64_t total = s.C * s.R * s.S * nb * s.P * s.Q;
  auto k = im2col_kernel<T, P>;
  CONVNET_LAUNCH(k, total, s, n0, nb, x, col);
}

template <typename T, typename P>
void forward(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y) {
  const ConvDims d(s);
  const bool tf32 = tf32_now();
  if (s.N == 0) return;
  if (d.one_by_one && std::is_same_v<T, P>) {
    // y[n,g] (Kg, PQ) = w_g (Kg, Cg) x x[n,g] (Cg, HW), batched over the images
    for (int64_t g = 0; g < s.groups; ++g)
      gemm<T, T>(false, false, d.Kg, d.PQ, d.Cg, w + g * d.Kg * d.Cg, d.Cg, 0, x + g * d.Cg * d.HW, d.HW,
                 s.C * d.HW, T(0), y + g * d.Kg * d.PQ, d.PQ, s.K * d.PQ, s.N, tf32);
    if (b) add_channel_bias(s.N, s.K, d.PQ, b, y);
    return;
  }
  std::unique_ptr<Workspace> w16;
  const P* wp = as_product<P>(w, s.K * d.CgRS, w16);
  const int64_t yT_bytes = s.N > 1 ? s.K * d.PQ * sizeof(T) : 0;
  const int64_t nb = chunk_images(s, d.CgRS * s.groups * d.PQ * sizeof(P) + yT_bytes);
  Workspace col(s.groups * d.CgRS * nb * d.PQ * sizeof(P)), yT(nb > 1 ? s.K * nb * d.PQ * sizeof(T) : 0);
  for (int64_t n0 = 0; n0 < s.N; n0 += nb) {
    const int64_t cnt = std::min(nb, s.N - n0), L = cnt * d.PQ;
    im2col(s, n0, cnt, x, col.as<P>());
    T* out = cnt == 1 ? y + n0 * s.K * d.PQ : yT.as<T>();
    gemm<P, T>(false, false, d.Kg, L, d.CgRS, wp, d.CgRS, d.Kg * d.CgRS, col.as<P>(), L, d.CgRS * L, T(0), out, L,
               d.Kg * L, s.groups, tf32);
    if (cnt == 1) {
      if (b) add_channel_bias(int64_t(1), s.K, d.PQ, b, out);
    } else {
      const int64_t total = cnt * s.K * d.PQ;
      auto k = untranspose_kernel<T>;
      CONVNET_LAUNCH(k, total, s.K, d.PQ, n0, cnt, yT.as<T>(), b, y);
    }
  }
}

template <typename T, typename P>
void backward(const Conv2dShape& s, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db) {
  const ConvDims d(s);
  const bool tf32 = tf32_now();
  if (db) channel_sum(s.N, s.K, d.PQ, dy, db);
  if (!dx && !dw) return;
  if (s.N == 0) {
    if (dw) CUDA_CHECK(cudaMemsetAsync(dw, 0, s.K * d.CgRS * sizeof(T), stream()));
    return;
  }
  std::unique_ptr<Workspace> w16;
  const P* wp = dx ? as_product<P>(w, s.K * d.CgRS, w16) : nullptr;
  // per image: dyT in P, and one buffer for the columns (P, for dw) and then their gradient (T, for dx)
  const int64_t col_bytes = d.CgRS * s.groups * d.PQ * std::max(dw ? sizeof(P) : 0, dx ? sizeof(T) : 0);
  const int64_t nb = chunk_images(s, col_bytes + s.K * d.PQ * sizeof(P));
  // a chunk of one image multiplies dy itself when no cast is needed
  const bool direct_dy = std::is_same_v<T, P> && nb == 1;
  Workspace col(nb * col_bytes), dyT(direct_dy ? 0 : s.K * nb * d.PQ * sizeof(P));
  for (int64_t n0 = 0; n0 < s.N; n0 += nb) {
    const int64_t cnt = std::min(nb, s.N - n0), L = cnt * d.PQ;
    const P* g = dyT.as<P>();
    if constexpr (std::is_same_v<T, P>) {
      if (direct_dy) g = dy + n0 * s.K * d.PQ;
    }
    if (!direct_dy) {
      const int64_t total = cnt * s.K * d.PQ;
      auto k = transpose_kernel<T, P>;
      CONVNET_LAUNCH(k, total, s.K, d.PQ, n0, cnt, dy, dyT.as<P>());
    }
    if (dw) {
      im2col(s, n0, cnt, x, col.as<P>());
      gemm<P, T>(false, true, d.Kg, d.CgRS, L, g, L, d.Kg * L, col.as<P>(), L, d.CgRS * L, T(n0 == 0 ? 0 : 1), dw,
                 d.CgRS, d.Kg * d.CgRS, s.groups, tf32);
    }
    if (dx) {
      gemm<P, T>(true, false, d.CgRS, L, d.Kg, wp, d.CgRS, d.Kg * d.CgRS, g, L, d.Kg * L, T(0), col.as<T>(), L,
                 d.CgRS * L, s.groups, tf32);
      const int64_t total = cnt * s.C * d.HW;
      auto k = col2im_kernel<T>;
      CONVNET_LAUNCH(k, total, s, n0, cnt, col.as<T>(), dx);
    }
  }
}

}  // namespace

// x (N,C,H,W), w (K,C/G,R,S), b (K) or null, y (N,K,P,Q)
template <typename T>
void conv2d_forward_cuda(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y) {
  with_product_type<T>([&](auto* tag) { forward<T, std::remove_pointer_t<decltype(tag)>>(s, x, w, b, y); });
}

// x (N,C,H,W), w (K,C/G,R,S), dy (N,K,P,Q); dx (N,C,H,W), dw (K,C/G,R,S), db (K),
// each overwritten, each may be null
template <typename T>
void conv2d_backward_cuda(const Conv2dShape& s, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db) {
  with_product_type<T>(
      [&](auto* tag) { backward<T, std::remove_pointer_t<decltype(tag)>>(s, x, w, dy, dx, dw, db); });
}

// Unfold / fold (groups 1, K unused) through the column kernels, one image at a time:
// x (N,C,H,W), col (N,C*R*S,P*Q) overwritten
template <typename T>
void unfold_forward_cuda(const Conv2dShape& s, const T* x, T* col) {
  const int64_t per_image = s.C * s.R * s.S * s.P * s.Q;
  for (int64_t n = 0; n < s.N; ++n) im2col<T, T>(s, n, 1, x, col + n * per_image);
}

// col (N,C*R*S,P*Q), dx (N,C,H,W) overwritten with the entries summed per pixel
template <typename T>
void unfold_backward_cuda(const Conv2dShape& s, const T* col, T* dx) {
  const int64_t per_image = s.C * s.R * s.S * s.P * s.Q;
  auto k = col2im_kernel<T>;
  for (int64_t n = 0; n < s.N; ++n) CONVNET_LAUNCH(k, s.C * s.H * s.W, s, n, 1, col + n * per_image, dx);
}

#define CONVNET_INSTANTIATE(T)                                                                \
  template void conv2d_forward_cuda<T>(const Conv2dShape&, const T*, const T*, const T*, T*); \
  template void conv2d_backward_cuda<T>(const Conv2dShape&, const T*, const T*, const T*, T*, T*, T*); \
  template void unfold_forward_cuda<T>(const Conv2dShape&, const T*, T*);                     \
  template void unfold_backward_cuda<T>(const Conv2dShape&, const T*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cuda
