// Declarations of the CPU kernels. Kernels see raw pointers and sizes only: no
// Tensor, no autograd. Inputs were validated by the op's check function, so a
// kernel never throws (it may run inside an OpenMP region).
// Every kernel is instantiated for float and double; the forward reductions
// (sums, products, cumsum, max) and sort also for the integer and bool dtypes.
#pragma once
#include <cstdint>

#include "cpu/tensor_list.h"
#include "optim/updates.h"

namespace convnet::cpu {

// ---- elementwise (elementwise.h: templates over a functor of pointwise.h) ---------
// out (n elements, row-major over shape) = f(a, b), a and b read through per-dimension
// strides over out's shape (0 where broadcast). make_broadcast (ops/elementwise.cpp)
// drops dimensions of size 1 and merges dimensions that are contiguous for both operands,
// so nd is at most kMaxDims and usually 1 (plain or one operand a scalar) or 2.
constexpr int kMaxDims = 8;
struct Broadcast {
  int nd;
  int64_t n;
  int64_t shape[kMaxDims];
  int64_t sa[kMaxDims], sb[kMaxDims];
};

// ---- copy (copy.cpp) ------------------------------------------------------------
// dst and src over shape (nd dimensions, n elements), each through its own strides in
// elements (src's 0 where it broadcasts); dst's elements are distinct.
struct StridedCopy {
  int nd;
  int64_t n;
  int64_t shape[kMaxDims];
  int64_t sd[kMaxDims], ss[kMaxDims];
};
// dst = src element by element; T is an unsigned integer of the element's size (any dtype).
template <typename T>
void copy_strided_cpu(const StridedCopy& s, T* dst, const T* src);
// dst += src (float, double).
template <typename T>
void accumulate_strided_cpu(const StridedCopy& s, T* dst, const T* src);

// ---- index (index.cpp) ----------------------------------------------------------
// x (N, M, K); positions (N, n, K) whose index along M is index[o is0 + j is1 + i is2].
struct IndexShape {
  int64_t N, M, K, n;
  int64_t is0, is1, is2;
};
// y (N, n, K) = x at the positions. T: an unsigned integer of the element's size, float, double.
template <typename T>
void index_gather_cpu(const IndexShape& s, const int64_t* index, const T* x, T* y);
// y (N, M, K) at the positions = src (N, n, K), or += with accumulate (float, double).
template <typename T>
void index_scatter_cpu(const IndexShape& s, const int64_t* index, const T* src, T* y, bool accumulate);
// y[k] = cond[k] ? a[k] : b[k] over n elements.
template <typename T>
void where_cpu(int64_t n, const bool* cond, const T* a, const T* b, T* y);

// The Broadcast of two contiguous operands of n elements each.
inline Broadcast flat_broadcast(int64_t n) {
  Broadcast s{};
  s.nd = 1;
  s.n = n;
  s.shape[0] = n;
  s.sa[0] = s.sb[0] = 1;
  return s;
}

// y[i] = f(x[i]) for i in [0, n); x (n), y (n).
template <typename T, typename U, typename F>
void unary_cpu(int64_t n, const T* x, U* y, F f);
// out (s.n) = f(a, b) through s.
template <typename T, typename U, typename F>
void binary_cpu(const Broadcast& s, const T* a, const T* b, U* out, F f);

// ---- conv2d (conv2d.cpp) -------------------------------------------------
// N batch, C in channels, H W input size, K out channels, R S kernel,
// P Q output size, G groups.
struct Conv2dShape {
  int64_t N, C, H, W;
  int64_t K, R, S;
  int64_t P, Q;
  int64_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
  int64_t groups;
};

// x (N,C,H,W), w (K,C/G,R,S), b (K) or null, y (N,K,P,Q) overwritten.
// The algorithm conv2d_forward_cpu<T> and conv2d_backward_cpu<T> run for s
// (the kernel file chooses it per shape; dw of Winograd shapes with few output
// tiles goes through Gemm).
enum class Conv2dAlgorithm { Gemm, Winograd, Depthwise, Dense };
template <typename T>
Conv2dAlgorithm conv2d_algorithm_cpu(const Conv2dShape& s);
template <typename T>
void conv2d_forward_cpu(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y);

// dy (N,K,P,Q); outputs are overwritten, and each may be null when not needed:
// dx (N,C,H,W), dw (K,C/G,R,S), db (K). x is read only for dw (may be null without it).
template <typename T>
void conv2d_backward_cpu(const Conv2dShape& s, const T* x, const T* w, const T* dy,
                         T* dx, T* dw, T* db);

// Unfold / fold (conv2d.cpp, the column matrices of im2col): groups 1, K unused.
// x (N,C,H,W), col (N,C*R*S,P*Q) overwritten.
template <typename T>
void unfold_forward_cpu(const Conv2dShape& s, const T* x, T* col);
// col (N,C*R*S,P*Q), dx (N,C,H,W) overwritten with the column entries summed per pixel (fold).
template <typename T>
void unfold_backward_cpu(const Conv2dShape& s, const T* col, T* dx);

// Transposed convolution (conv_transpose2d.cpp) through the conv2d kernels, with the shape
// of the convolution it transposes: x (N,K,P,Q), w (K,C/G,R,S), b (C) or null, y (N,C,H,W).
// P and Q need not be conv2d's output size of H and W (output_padding).
template <typename T>
void conv_transpose2d_forward_cpu(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y);
// dy (N,C,H,W); dx (N,K,P,Q), dw (K,C/G,R,S), db (C) overwritten, each may be null.
template <typename T>
void conv_transpose2d_backward_cpu(const Conv2dShape& s, const T* x, const T* w, const T* dy, T* dx,
                                   T* dw, T* db);

// ---- pooling (pool2d.cpp) ------------------------------------------------
// N batch, C channels, H W input size, P Q output size, R S window.
struct Pool2dShape {
  int64_t N, C, H, W;
  int64_t P, Q;
  int64_t R, S;
  int64_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
  bool count_include_pad;  // avg pool only
};

// x (N,C,H,W), y (N,C,P,Q), argmax (N,C,P,Q) or null: flat h*W+w index of each maximum
// inside its (n,c) plane, saved so that backward routes dy without a search.
template <typename T>
void max_pool2d_forward_cpu(const Pool2dShape& s, const T* x, T* y, int64_t* argmax);
// dy (N,C,P,Q), argmax (N,C,P,Q), dx (N,C,H,W) overwritten.
template <typename T>
void max_pool2d_backward_cpu(const Pool2dShape& s, const T* dy, const int64_t* argmax, T* dx);

// x (N,C,H,W), y (N,C,P,Q); the divisor follows PyTorch: with count_include_pad
// the window clipped to the padded input, without it the window clipped to the input.
template <typename T>
void avg_pool2d_forward_cpu(const Pool2dShape& s, const T* x, T* y);
// dy (N,C,P,Q), dx (N,C,H,W) overwritten.
template <typename T>
void avg_pool2d_backward_cpu(const Pool2dShape& s, const T* dy, T* dx);

// Adaptive average pooling: output cell (p,q) averages rows
// [floor(p*H/P), ceil((p+1)*H/P)) and the columns likewise.
// x (N,C,H,W), y (N,C,P,Q).
template <typename T>
void adaptive_avg_pool2d_forward_cpu(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P,
                                     int64_t Q, const T* x, T* y);
// dy (N,C,P,Q), dx (N,C,H,W) overwritten.
template <typename T>
void adaptive_avg_pool2d_backward_cpu(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P,
                                      int64_t Q, const T* dy, T* dx);
// Adaptive max pooling over the same windows; argmax (N,C,P,Q) as max_pool2d_forward_cpu's.
// x (N,C,H,W), y (N,C,P,Q).
template <typename T>
void adaptive_max_pool2d_forward_cpu(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P,
                                     int64_t Q, const T* x, T* y, int64_t* argmax);
// dy (N,C,P,Q), argmax (N,C,P,Q), dx (N,C,H,W) overwritten.
template <typename T>
void adaptive_max_pool2d_backward_cpu(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P,
                                      int64_t Q, const T* dy, const int64_t* argmax, T* dx);

// ---- matrix products (linear.cpp) ----------------------------------------
// M rows of x, in_f in features, out_f out features; bmm: B batch,
// a (B,n,k) @ b (B,k,m) -> c (B,n,m).

// x (M,in_f), w (out_f,in_f), b (out_f) or null, y (M,out_f) overwritten.
template <typename T>
void linear_forward_cpu(int64_t M, int64_t in_f, int64_t out_f, const T* x, const T* w,
                        const T* b, T* y);
// dy (M,out_f); outputs are overwritten, and each may be null when not needed:
// dx (M,in_f), dw (out_f,in_f), db (out_f).
template <typename T>
void linear_backward_cpu(int64_t M, int64_t in_f, int64_t out_f, const T* x, const T* w,
                         const T* dy, T* dx, T* dw, T* db);

// c (B,n,m) = op(a) @ op(b), op transposing when ta / tb: a (B,n,k), or (B,k,n)
// when ta; b (B,k,m), or (B,m,k) when tb. An operand whose *_batch is false is
// one matrix shared by the whole batch.
template <typename T>
void bmm_cpu(int64_t B, int64_t n, int64_t k, int64_t m, const T* a, bool ta, bool a_batch,
             const T* b, bool tb, bool b_batch, T* c);

// ---- mixed precision (amp.cpp) ------------------------------------------
// g (n) multiplied in place by inv_scale; *found set to 1 when any g was an inf or a NaN
// (left as it was otherwise).
template <typename T>
void amp_unscale_cpu(int64_t n, T* g, T inv_scale, float* found);

// ---- softmax (softmax.cpp) -----------------------------------------------
// x viewed as (outer, D, inner): D the size of the softmax dimension, outer
// and inner the products of the dimensions before and after it.

// x (outer,D,inner), y (outer,D,inner) overwritten; log selects log_softmax.
template <typename T>
void softmax_forward_cpu(int64_t outer, int64_t D, int64_t inner, bool log, const T* x, T* y);
// y (outer,D,inner) the forward output, dy (outer,D,inner), dx (outer,D,inner) overwritten.
template <typename T>
void softmax_backward_cpu(int64_t outer, int64_t D, int64_t inner, bool log, const T* y,
                          const T* dy, T* dx);

// ---- losses (loss.cpp) ---------------------------------------------------
// Classification: N batch, C classes, L positions per sample (the product of
// the trailing dimensions, 1 for plain (N,C) logits); cw (C) class weights or
// null (all 1). Targets equal to ignore_index get loss 0 and gradient 0.
// Elementwise losses: n elements; w, pw per-element weights or null.
// The gradient of sample i is scaled by w[i * w_step] (g[i * g_step]): dy per
// sample (step 1) or one weight for every sample (step 0). dt, the target's
// gradient, is skipped when null.

// x (N,C,L) logits, target (N,L), loss (N,L) and lse (N,L) overwritten:
// lse holds each sample's log-sum-exp, saved for backward; smoothing in [0, 1].
template <typename T>
void cross_entropy_forward_cpu(int64_t N, int64_t C, int64_t L, int64_t ignore_index,
                               const T* x, const int64_t* target, const T* cw, T smoothing,
                               T* loss, T* lse);
// x (N,C,L), target (N,L), lse (N,L), w (N,L) or (1), dx (N,C,L) overwritten.
template <typename T>
void cross_entropy_backward_cpu(int64_t N, int64_t C, int64_t L, int64_t ignore_index,
                                const T* x, const int64_t* target, const T* cw, T smoothing,
                                const T* lse, const T* w, int64_t w_step, T* dx);

// x (N,C,L) log-probabilities, target (N,L), loss (N,L) overwritten.
template <typename T>
void nll_loss_forward_cpu(int64_t N, int64_t C, int64_t L, int64_t ignore_index, const T* x,
                          const int64_t* target, const T* cw, T* loss);
// target (N,L), w (N,L) or (1), dx (N,C,L) overwritten.
template <typename T>
void nll_loss_backward_cpu(int64_t N, int64_t C, int64_t L, int64_t ignore_index,
                           const int64_t* target, const T* cw, const T* w, int64_t w_step, T* dx);

// x probabilities, t, loss (n).
template <typename T>
void bce_forward_cpu(int64_t n, const T* x, const T* t, const T* w, T* loss);
template <typename T>
void bce_backward_cpu(int64_t n, const T* x, const T* t, const T* w, const T* g, int64_t g_step,
                      T* dx, T* dt);
// x logits, t, loss (n); pw the weight of positive targets.
template <typename T>
void bce_logits_forward_cpu(int64_t n, const T* x, const T* t, const T* w, const T* pw, T* loss);
template <typename T>
void bce_logits_backward_cpu(int64_t n, const T* x, const T* t, const T* w, const T* pw,
                             const T* g, int64_t g_step, T* dx, T* dt);
// x, t, loss (n).
template <typename T>
void smooth_l1_forward_cpu(int64_t n, T beta, const T* x, const T* t, T* loss);
template <typename T>
void smooth_l1_backward_cpu(int64_t n, T beta, const T* x, const T* t, const T* g, int64_t g_step,
                            T* dx, T* dt);
// x log-probabilities, t probabilities (log-probabilities with log_target), loss (n).
template <typename T>
void kl_div_forward_cpu(int64_t n, bool log_target, const T* x, const T* t, T* loss);
template <typename T>
void kl_div_backward_cpu(int64_t n, bool log_target, const T* x, const T* t, const T* g,
                         int64_t g_step, T* dx, T* dt);

// x (N,C), target (N), loss (N) overwritten; p 1 or 2.
template <typename T>
void multi_margin_forward_cpu(int64_t N, int64_t C, int64_t p, T margin, const T* x,
                              const int64_t* target, const T* cw, T* loss);
// w (N) or (1), dx (N,C) overwritten.
template <typename T>
void multi_margin_backward_cpu(int64_t N, int64_t C, int64_t p, T margin, const T* x,
                               const int64_t* target, const T* cw, const T* w, int64_t w_step,
                               T* dx);

// ---- reductions (reduce.cpp) ---------------------------------------------
// x viewed as (outer, D, inner), reduced over D.

// x (outer,D,inner), y (outer,inner) overwritten with the sums over D, each
// added in order of d from 0. A is T for floating T, else int64_t.
template <typename T, typename A>
void sum_dim_cpu(int64_t outer, int64_t D, int64_t inner, const T* x, A* y);
// The same with products (A as for sums).
template <typename T, typename A>
void prod_dim_cpu(int64_t outer, int64_t D, int64_t inner, const T* x, A* y);
// x (outer,D,inner), dy (outer,inner), dx (outer,D,inner) overwritten: dy times the product
// of the other values along D (exact where x has zeros).
template <typename T>
void prod_backward_cpu(int64_t outer, int64_t D, int64_t inner, const T* x, const T* dy, T* dx);
// x (outer,D,inner), y (outer,D,inner) overwritten with the running sums along D (from d = D-1
// down when reverse: the gradient of cumsum). A as for sums.
template <typename T, typename A>
void cumsum_cpu(int64_t outer, int64_t D, int64_t inner, bool reverse, const T* x, A* y);

// x (outer,D,inner); y (outer,inner) and arg (outer,inner) overwritten with
// each maximum (minimum when smallest) and its index d, saved for backward; the
// first among equal values wins, the first NaN along D, if any, counts as the
// extremum (as PyTorch).
template <typename T>
void max_forward_cpu(int64_t outer, int64_t D, int64_t inner, bool smallest, const T* x, T* y,
                     int64_t* arg);
// The gradient of values taken at indices along D (max, min, sort, topk): dy (outer,K,inner),
// idx (outer,K,inner) distinct indices in [0, D) per lane, dx (outer,D,inner) zeroed by the
// caller, dy written at the indices.
template <typename T>
void take_backward_cpu(int64_t outer, int64_t D, int64_t K, int64_t inner, const T* dy,
                       const int64_t* idx, T* dx);

// ---- sort (sort.cpp) -----------------------------------------------------
// x (outer,D,inner); values and indices (outer,K,inner) overwritten with the K first
// of each lane sorted along D (stable: equal values keep their order; NaN above
// every number, as PyTorch), descending or ascending.
template <typename T>
void sort_cpu(int64_t outer, int64_t D, int64_t K, int64_t inner, bool descending, const T* x,
              T* values, int64_t* indices);

// ---- prelu (activation.cpp) -------------------------------------------------
// x viewed as (N, R, inner): R weight rows (the channels, or 1 for one shared
// weight), inner the elements of each row.

// x (N,R,inner), w (R), y (N,R,inner) overwritten.
template <typename T>
void prelu_forward_cpu(int64_t N, int64_t R, int64_t inner, const T* x, const T* w, T* y);
// dy (N,R,inner); dx (N,R,inner) and dw (R) overwritten unless null.
template <typename T>
void prelu_backward_cpu(int64_t N, int64_t R, int64_t inner, const T* x, const T* w, const T* dy,
                        T* dx, T* dw);

// ---- cat (cat.cpp) ---------------------------------------------------------
// Byte copies for every dtype: part i viewed as (outer, b_i) bytes, b_i its
// size along the cat dimension times the inner size times the element size.

// parts k pointers to (outer, b_i), y (outer, sum b_i) overwritten.
void cat_forward_cpu(int64_t outer, int64_t k, const char* const* parts, const int64_t* part_bytes,
                     char* y);
// dy (outer, sum b_i); dparts k pointers to (outer, b_i) overwritten, null ones skipped.
void cat_backward_cpu(int64_t outer, int64_t k, const char* dy, const int64_t* part_bytes,
                      char* const* dparts);

// ---- dropout (dropout.cpp) -----------------------------------------------
// mask (n): uniform draws in [0, 1) on entry, the dropout mask on return: 0
// where the draw is below p, else 1/(1-p) (0 everywhere when p is 1).
template <typename T>
void dropout_mask_cpu(int64_t n, double p, T* mask);

// ---- batch normalization (batch_norm.cpp) ---------------------------------
// N batch, C channels, L positions per channel and sample; x viewed as (N,C,L).

// x (N,C,L); mean (C) and var (C) (biased) overwritten.
template <typename T>
void batch_norm_stats_cpu(int64_t N, int64_t C, int64_t L, const T* x, T* mean, T* var);
// x (N,C,L), mean (C), invstd (C), w (C) or null, b (C) or null, y (N,C,L) overwritten.
template <typename T>
void batch_norm_forward_cpu(int64_t N, int64_t C, int64_t L, const T* x, const T* mean,
                            const T* invstd, const T* w, const T* b, T* y);
// dy (N,C,L); dx (N,C,L), dw (C), db (C) overwritten, each may be null. batch_stats:
// mean and invstd are the batch's own (training), so dx flows through them too.
template <typename T>
void batch_norm_backward_cpu(int64_t N, int64_t C, int64_t L, bool batch_stats, const T* x,
                             const T* dy, const T* mean, const T* invstd, const T* w, T* dx, T* dw,
                             T* db);
// running_mean (C), running_var (C) (either may be null) moved toward mean (C) and the
// unbiased var (C) * M / (M - 1) by momentum.
template <typename T>
void batch_norm_update_stats_cpu(int64_t C, int64_t M, double momentum, const T* mean, const T* var,
                                 T* running_mean, T* running_var);
// var (C); invstd (C) = 1 / sqrt(var + eps) overwritten.
template <typename T>
void batch_norm_invstd_cpu(int64_t C, double eps, const T* var, T* invstd);
// count (1): a layer's num_batches_tracked, one added.
void batch_norm_count_cpu(int64_t* count);

// ---- local response normalization (local_response_norm.cpp) -------------------
// N batch, C channels, L positions per channel; x viewed as (N,C,L); n = size.

// x (N,C,L); y (N,C,L) and scale (N,C,L) = k + alpha/n * (window sum of x^2) overwritten.
template <typename T>
void local_response_norm_forward_cpu(int64_t N, int64_t C, int64_t L, int64_t size, double alpha,
                                     double beta, double k, const T* x, T* y, T* scale);
// x (N,C,L), scale (N,C,L) from forward, dy (N,C,L), dx (N,C,L) overwritten.
template <typename T>
void local_response_norm_backward_cpu(int64_t N, int64_t C, int64_t L, int64_t size, double alpha,
                                      double beta, const T* x, const T* scale, const T* dy, T* dx);

// ---- 3-D pooling (pool3d.cpp) ---------------------------------------------------
// N batch, C channels, D H W input size, OD P Q output size, KD KH KW window; stride, pad
// and dil per axis (d, h, w).
struct Pool3dShape {
  int64_t N, C, D, H, W;
  int64_t OD, P, Q;
  int64_t KD, KH, KW;
  int64_t stride[3], pad[3], dil[3];
  bool count_include_pad;  // avg pool only
};

// x (N,C,D,H,W), y (N,C,OD,P,Q), argmax (N,C,OD,P,Q): flat d*H*W + h*W + w of each maximum.
template <typename T>
void max_pool3d_forward_cpu(const Pool3dShape& s, const T* x, T* y, int64_t* argmax);
// dy (N,C,OD,P,Q), argmax (N,C,OD,P,Q), dx (N,C,D,H,W) overwritten.
template <typename T>
void max_pool3d_backward_cpu(const Pool3dShape& s, const T* dy, const int64_t* argmax, T* dx);
// x (N,C,D,H,W), y (N,C,OD,P,Q) (the divisor as avg_pool2d's).
template <typename T>
void avg_pool3d_forward_cpu(const Pool3dShape& s, const T* x, T* y);
// dy (N,C,OD,P,Q), dx (N,C,D,H,W) overwritten.
template <typename T>
void avg_pool3d_backward_cpu(const Pool3dShape& s, const T* dy, T* dx);

// ---- max unpooling (pool2d.cpp) -------------------------------------------------
// x (N,C,P,Q), idx (N,C,P,Q) flat h*W+w indices in [0, H*W) (max pooling's argmax),
// y (N,C,H,W) overwritten: zeros, y[idx[j]] = x[j] (the last j where indices repeat).
template <typename T>
void max_unpool2d_forward_cpu(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P, int64_t Q, const T* x,
                              const int64_t* idx, T* y);
// dy (N,C,H,W), idx (N,C,P,Q), dx (N,C,P,Q) overwritten: dx[j] = dy[idx[j]].
template <typename T>
void max_unpool2d_backward_cpu(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P, int64_t Q, const T* dy,
                               const int64_t* idx, T* dx);

// ---- row normalization (layer_norm.cpp): layer_norm, group_norm, instance_norm -------
// M rows of K elements, each normalized by its own mean and variance, then the affine
// transform: rows in G groups (m % G), a row's elements in blocks of S sharing one
// parameter; element (m, k) takes w[p], b[p] with p = (m % G) * (K / S) + k / S.

// x (M,K), w and b (G*K/S) or null; y (M,K), mean (M), rstd (M) = 1/sqrt(var + eps) overwritten.
template <typename T>
void layer_norm_forward_cpu(int64_t M, int64_t K, int64_t G, int64_t S, double eps, const T* x, const T* w,
                            const T* b, T* y, T* mean, T* rstd);
// x (M,K), mean and rstd (M) from forward, w (G*K/S) or null, dy (M,K); dx (M,K), dw and db
// (G*K/S) overwritten, each may be null.
template <typename T>
void layer_norm_backward_cpu(int64_t M, int64_t K, int64_t G, int64_t S, const T* x, const T* mean,
                             const T* rstd, const T* w, const T* dy, T* dx, T* dw, T* db);

// ---- embedding (embedding.cpp) -----------------------------------------------------
// V table rows, D columns, n indices.

// weight (V,D), idx (n) in [0, V), y (n,D) overwritten.
template <typename T>
void embedding_forward_cpu(int64_t V, int64_t D, int64_t n, const T* weight, const int64_t* idx, T* y);
// dy (n,D), idx (n), dweight (V,D) overwritten; row padding_idx (none when negative) stays 0.
template <typename T>
void embedding_backward_cpu(int64_t V, int64_t D, int64_t n, int64_t padding_idx, const T* dy,
                            const int64_t* idx, T* dweight);

// ---- pixel shuffle (pixel_shuffle.cpp) -----------------------------------------------
// N batch, C output channels, H W input size, r factor: x (N,C*r*r,H,W) ↔ y (N,C,H*r,W*r).

// x (N,C*r*r,H,W), y (N,C,H*r,W*r) overwritten.
template <typename T>
void pixel_shuffle_forward_cpu(int64_t N, int64_t C, int64_t H, int64_t W, int64_t r, const T* x, T* y);
// y (N,C,H*r,W*r), x (N,C*r*r,H,W) overwritten (the inverse permutation).
template <typename T>
void pixel_shuffle_backward_cpu(int64_t N, int64_t C, int64_t H, int64_t W, int64_t r, const T* y, T* x);

// ---- constant padding (pad.cpp) ---------------------------------------------
// B planes, H W input size, H2 = H + top + bottom, W2 = W + left + right; negative
// top/left (and bottom/right) crop.

// x (B,H,W), y (B,H2,W2) overwritten: y(i,j) = x(i-top, j-left) inside the input, else value.
template <typename T>
void pad2d_forward_cpu(int64_t B, int64_t H, int64_t W, int64_t H2, int64_t W2, int64_t top, int64_t left,
                       T value, const T* x, T* y);
// dy (B,H2,W2), dx (B,H,W) overwritten.
template <typename T>
void pad2d_backward_cpu(int64_t B, int64_t H, int64_t W, int64_t H2, int64_t W2, int64_t top, int64_t left,
                        const T* dy, T* dx);

// ---- interpolation (interpolate.cpp) --------------------------------------------
// B planes, H W input size, P Q output size. One output row (or column) reads input
// rows i0 and i1 with weights w0 and w1; nearest reads i0 only.
template <typename T>
struct InterpTap {
  int64_t i0, i1;
  T w0, w1;
};

// taps (out) overwritten with PyTorch's source indices and weights for one axis; scale is the
// given scale factor, or <= 0 when the output size was given.
template <typename T>
void interpolate_taps_cpu(int64_t in, int64_t out, bool linear, bool align_corners, double scale,
                          InterpTap<T>* taps);
// x (B,H,W), taps_h (P), taps_w (Q), y (B,P,Q) overwritten.
template <typename T>
void interpolate2d_forward_cpu(int64_t B, int64_t H, int64_t W, int64_t P, int64_t Q, bool linear,
                               const InterpTap<T>* taps_h, const InterpTap<T>* taps_w, const T* x, T* y);
// dy (B,P,Q), dx (B,H,W) overwritten.
template <typename T>
void interpolate2d_backward_cpu(int64_t B, int64_t H, int64_t W, int64_t P, int64_t Q, bool linear,
                                const InterpTap<T>* taps_h, const InterpTap<T>* taps_w, const T* dy, T* dx);

// ---- optimizer updates (sgd.cpp, adam.cpp, rmsprop.cpp, adagrad.cpp, nadam.cpp,
//      radam.cpp, adadelta.cpp, lars.cpp, lamb.cpp) ----------------
// One call updates every tensor of l (cpu/tensor_list.h) by the rule of optim/updates.h;
// the operands and per-tensor scalars of l in the order listed.

// operands: p, g, buf (null without momentum); scalar: first (1 when buf is new).
template <typename T>
void sgd_update_cpu(const optim::SgdHyper<T>& h, const TensorList<T>& l);
// operands: p, g, m, v, vmax (null without amsgrad); scalars: neg_step, bias2_sqrt.
template <typename T>
void adam_update_cpu(const optim::AdamHyper<T>& h, const TensorList<T>& l);
// operands: p, g, s, buf (null without momentum), a (null unless centered).
template <typename T>
void rmsprop_update_cpu(const optim::RmspropHyper<T>& h, const TensorList<T>& l);
// operands: p, g, sum; scalar: neg_clr.
template <typename T>
void adagrad_update_cpu(const optim::AdagradHyper<T>& h, const TensorList<T>& l);
// operands: p, g, m, v; scalars: c_g, c_m, bias2 (1 - beta2^t).
template <typename T>
void nadam_update_cpu(const optim::AdamHyper<T>& h, const TensorList<T>& l);
// operands: p, g, m, v; scalars: bias1 (1 - beta1^t), bias2_sqrt, rect (0: not rectified).
template <typename T>
void radam_update_cpu(const optim::AdamHyper<T>& h, T lr, const TensorList<T>& l);
// operands: p, g, s (square_avg), acc (acc_delta).
template <typename T>
void adadelta_update_cpu(const optim::AdadeltaHyper<T>& h, const TensorList<T>& l);
// operands: p, g, buf (null without momentum); scalar: scaled_lr (lr * local_lr).
template <typename T>
void lars_update_cpu(const optim::LarsHyper<T>& h, const TensorList<T>& l);
// LAMB's first pass. operands: p, g, m, v, u (overwritten with the direction); scalars: bias1, bias2.
template <typename T>
void lamb_direction_cpu(const optim::AdamHyper<T>& h, const TensorList<T>& l);
// LAMB's second pass. operands: p, u; scalar: neg_step (-lr * trust ratio).
template <typename T>
void lamb_update_cpu(const TensorList<T>& l);

// ---- gradient clipping (clip_grad.cpp) ---------------------------------------------
// l's one operand: the gradient g of each tensor.

// norms (count) overwritten with each tensor's vector norm of order o, rounded to T.
template <typename T>
void grad_norms_cpu(const optim::NormOrder& o, const TensorList<T>& l, double* norms);
// g *= c.
template <typename T>
void grad_scale_cpu(const TensorList<T>& l, T c);
// g clamped to [lo, hi].
template <typename T>
void grad_clamp_cpu(const TensorList<T>& l, T lo, T hi);

}  // namespace convnet::cpu
