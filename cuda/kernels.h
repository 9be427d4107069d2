// Declarations of the CUDA kernels: the same operations, arguments and layouts as
// the CPU kernels of cpu/kernels.h (whose comments describe them), with pointers to
// device memory. Each runs asynchronously on the current device's stream. A plain
// C++ header: the ops include it and pick a kernel by device (dispatch.h).
#pragma once
#include <cstdint>

#include "convnet/device.h"
#include "cpu/kernels.h"

namespace convnet::cuda {

using cpu::Broadcast;
using cpu::Conv2dShape;
using cpu::InterpTap;
using cpu::IndexShape;
using cpu::Pool2dShape;
using cpu::Pool3dShape;
using cpu::StridedCopy;
using cpu::TensorList;

// ---- elementwise (elementwise.cu) -----------------------------------------
// Instantiated there for each functor of pointwise.h that the ops use and the dtypes it
// is defined for (activation.cu: the activations').

// y[i] = f(x[i]) for i in [0, n); x (n), y (n).
template <typename T, typename U, typename F>
void unary_cuda(int64_t n, const T* x, U* y, F f);
// out (s.n) = f(a, b) through s.
template <typename T, typename U, typename F>
void binary_cuda(const Broadcast& s, const T* a, const T* b, U* out, F f);

// ---- copy (copy.cu) ------------------------------------------------------------
template <typename T>
void copy_strided_cuda(const StridedCopy& s, T* dst, const T* src);
template <typename T>
void accumulate_strided_cuda(const StridedCopy& s, T* dst, const T* src);

// ---- index (index.cu) -------------------------------------------------------------
template <typename T>
void index_gather_cuda(const IndexShape& s, const int64_t* index, const T* x, T* y);
template <typename T>
void index_scatter_cuda(const IndexShape& s, const int64_t* index, const T* src, T* y, bool accumulate);
template <typename T>
void where_cuda(int64_t n, const bool* cond, const T* a, const T* b, T* y);

// ---- conv2d (conv2d.cu) -------------------------------------------------
// N batch, C in channels, H W input size, K out channels, R S kernel,
// P Q output size, G groups.

// x (N,C,H,W), w (K,C/G,R,S), b (K) or null, y (N,K,P,Q) overwritten.
template <typename T>
void conv2d_forward_cuda(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y);

// dy (N,K,P,Q); outputs are overwritten, and each may be null when not needed:
// dx (N,C,H,W), dw (K,C/G,R,S), db (K). x is read only for dw (may be null without it).
template <typename T>
void conv2d_backward_cuda(const Conv2dShape& s, const T* x, const T* w, const T* dy,
                         T* dx, T* dw, T* db);

// Transposed convolution (conv_transpose2d.cpp) through the conv2d kernels, with the shape
// of the convolution it transposes: x (N,K,P,Q), w (K,C/G,R,S), b (C) or null, y (N,C,H,W).
// P and Q need not be conv2d's output size of H and W (output_padding).
template <typename T>
void conv_transpose2d_forward_cuda(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y);
// dy (N,C,H,W); dx (N,K,P,Q), dw (K,C/G,R,S), db (C) overwritten, each may be null.
template <typename T>
void conv_transpose2d_backward_cuda(const Conv2dShape& s, const T* x, const T* w, const T* dy, T* dx,
                                   T* dw, T* db);

// ---- pooling (pool2d.cu) ------------------------------------------------
// N batch, C channels, H W input size, P Q output size, R S window.

// x (N,C,H,W), y (N,C,P,Q), argmax (N,C,P,Q) or null: flat h*W+w index of each maximum
// inside its (n,c) plane, saved so that backward routes dy without a search.
template <typename T>
void max_pool2d_forward_cuda(const Pool2dShape& s, const T* x, T* y, int64_t* argmax);
// dy (N,C,P,Q), argmax (N,C,P,Q), dx (N,C,H,W) overwritten.
template <typename T>
void max_pool2d_backward_cuda(const Pool2dShape& s, const T* dy, const int64_t* argmax, T* dx);

// x (N,C,H,W), y (N,C,P,Q); the divisor follows PyTorch: with count_include_pad
// the window clipped to the padded input, without it the window clipped to the input.
template <typename T>
void avg_pool2d_forward_cuda(const Pool2dShape& s, const T* x, T* y);
// dy (N,C,P,Q), dx (N,C,H,W) overwritten.
template <typename T>
void avg_pool2d_backward_cuda(const Pool2dShape& s, const T* dy, T* dx);

// Adaptive average pooling: output cell (p,q) averages rows
// [floor(p*H/P), ceil((p+1)*H/P)) and the columns likewise.
// x (N,C,H,W), y (N,C,P,Q).
template <typename T>
void adaptive_avg_pool2d_forward_cuda(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P,
                                     int64_t Q, const T* x, T* y);
// dy (N,C,P,Q), dx (N,C,H,W) overwritten.
template <typename T>
void adaptive_avg_pool2d_backward_cuda(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P,
                                      int64_t Q, const T* dy, T* dx);
// Adaptive max pooling over the same windows; argmax (N,C,P,Q) as max_pool2d_forward_cuda's.
// x (N,C,H,W), y (N,C,P,Q).
template <typename T>
void adaptive_max_pool2d_forward_cuda(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P,
                                      int64_t Q, const T* x, T* y, int64_t* argmax);
// dy (N,C,P,Q), argmax (N,C,P,Q), dx (N,C,H,W) overwritten.
template <typename T>
void adaptive_max_pool2d_backward_cuda(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P,
                                       int64_t Q, const T* dy, const int64_t* argmax, T* dx);

// ---- matrix products (linear.cu) ----------------------------------------
// M rows of x, in_f in features, out_f out features; bmm: B batch,
// a (B,n,k) @ b (B,k,m) -> c (B,n,m).

// x (M,in_f), w (out_f,in_f), b (out_f) or null, y (M,out_f) overwritten.
template <typename T>
void linear_forward_cuda(int64_t M, int64_t in_f, int64_t out_f, const T* x, const T* w,
                        const T* b, T* y);
// dy (M,out_f); outputs are overwritten, and each may be null when not needed:
// dx (M,in_f), dw (out_f,in_f), db (out_f).
template <typename T>
void linear_backward_cuda(int64_t M, int64_t in_f, int64_t out_f, const T* x, const T* w,
                         const T* dy, T* dx, T* dw, T* db);

// c (B,n,m) = op(a) @ op(b), op transposing when ta / tb: a (B,n,k), or (B,k,n)
// when ta; b (B,k,m), or (B,m,k) when tb. An operand whose *_batch is false is
// one matrix shared by the whole batch.
template <typename T>
void bmm_cuda(int64_t B, int64_t n, int64_t k, int64_t m, const T* a, bool ta, bool a_batch,
             const T* b, bool tb, bool b_batch, T* c);

// ---- mixed precision (amp.cu) -------------------------------------------
// g (n) multiplied in place by inv_scale; *found set to 1 when any g was an inf or a NaN
// (left as it was otherwise).
template <typename T>
void amp_unscale_cuda(int64_t n, T* g, T inv_scale, float* found);

// ---- softmax (softmax.cu) -----------------------------------------------
// x viewed as (outer, D, inner): D the size of the softmax dimension, outer
// and inner the products of the dimensions before and after it.

// x (outer,D,inner), y (outer,D,inner) overwritten; log selects log_softmax.
template <typename T>
void softmax_forward_cuda(int64_t outer, int64_t D, int64_t inner, bool log, const T* x, T* y);
// y (outer,D,inner) the forward output, dy (outer,D,inner), dx (outer,D,inner) overwritten.
template <typename T>
void softmax_backward_cuda(int64_t outer, int64_t D, int64_t inner, bool log, const T* y,
                          const T* dy, T* dx);

// ---- losses (loss.cu) ---------------------------------------------------
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
void cross_entropy_forward_cuda(int64_t N, int64_t C, int64_t L, int64_t ignore_index,
                               const T* x, const int64_t* target, const T* cw, T smoothing,
                               T* loss, T* lse);
// x (N,C,L), target (N,L), lse (N,L), w (N,L) or (1), dx (N,C,L) overwritten.
template <typename T>
void cross_entropy_backward_cuda(int64_t N, int64_t C, int64_t L, int64_t ignore_index,
                                const T* x, const int64_t* target, const T* cw, T smoothing,
                                const T* lse, const T* w, int64_t w_step, T* dx);

// x (N,C,L) log-probabilities, target (N,L), loss (N,L) overwritten.
template <typename T>
void nll_loss_forward_cuda(int64_t N, int64_t C, int64_t L, int64_t ignore_index, const T* x,
                          const int64_t* target, const T* cw, T* loss);
// target (N,L), w (N,L) or (1), dx (N,C,L) overwritten.
template <typename T>
void nll_loss_backward_cuda(int64_t N, int64_t C, int64_t L, int64_t ignore_index,
                           const int64_t* target, const T* cw, const T* w, int64_t w_step, T* dx);

// x probabilities, t, loss (n).
template <typename T>
void bce_forward_cuda(int64_t n, const T* x, const T* t, const T* w, T* loss);
template <typename T>
void bce_backward_cuda(int64_t n, const T* x, const T* t, const T* w, const T* g, int64_t g_step,
                      T* dx, T* dt);
// x logits, t, loss (n); pw the weight of positive targets.
template <typename T>
void bce_logits_forward_cuda(int64_t n, const T* x, const T* t, const T* w, const T* pw, T* loss);
template <typename T>
void bce_logits_backward_cuda(int64_t n, const T* x, const T* t, const T* w, const T* pw,
                             const T* g, int64_t g_step, T* dx, T* dt);
// x, t, loss (n).
template <typename T>
void smooth_l1_forward_cuda(int64_t n, T beta, const T* x, const T* t, T* loss);
template <typename T>
void smooth_l1_backward_cuda(int64_t n, T beta, const T* x, const T* t, const T* g, int64_t g_step,
                            T* dx, T* dt);
// x log-probabilities, t probabilities (log-probabilities with log_target), loss (n).
template <typename T>
void kl_div_forward_cuda(int64_t n, bool log_target, const T* x, const T* t, T* loss);
template <typename T>
void kl_div_backward_cuda(int64_t n, bool log_target, const T* x, const T* t, const T* g,
                         int64_t g_step, T* dx, T* dt);

// x (N,C), target (N), loss (N) overwritten; p 1 or 2.
template <typename T>
void multi_margin_forward_cuda(int64_t N, int64_t C, int64_t p, T margin, const T* x,
                              const int64_t* target, const T* cw, T* loss);
// w (N) or (1), dx (N,C) overwritten.
template <typename T>
void multi_margin_backward_cuda(int64_t N, int64_t C, int64_t p, T margin, const T* x,
                               const int64_t* target, const T* cw, const T* w, int64_t w_step,
                               T* dx);

// ---- reductions (reduce.cu) ---------------------------------------------
// x viewed as (outer, D, inner), reduced over D.

// x (outer,D,inner), y (outer,inner) overwritten with the sums over D, added in
// order of d, or in chunks of d added in order when few outputs have long rows
// (reduce.cu). A is T for floating T, else int64_t.
template <typename T, typename A>
void sum_dim_cuda(int64_t outer, int64_t D, int64_t inner, const T* x, A* y);

// The same with products (A as for sums).
template <typename T, typename A>
void prod_dim_cuda(int64_t outer, int64_t D, int64_t inner, const T* x, A* y);
// x (outer,D,inner), dy (outer,inner), dx (outer,D,inner) overwritten: dy times the product
// of the other values along D.
template <typename T>
void prod_backward_cuda(int64_t outer, int64_t D, int64_t inner, const T* x, const T* dy, T* dx);
// x (outer,D,inner), y (outer,D,inner) overwritten with running sums along D (from the end
// when reverse). A as for sums.
template <typename T, typename A>
void cumsum_cuda(int64_t outer, int64_t D, int64_t inner, bool reverse, const T* x, A* y);

// x (outer,D,inner); y (outer,inner) and argmax (outer,inner) overwritten with
// each maximum (minimum when smallest) and its index d, saved for backward; the
// first NaN along D, if any, counts as the extremum (as PyTorch).
template <typename T>
void max_forward_cuda(int64_t outer, int64_t D, int64_t inner, bool smallest, const T* x, T* y,
                      int64_t* argmax);
// dy (outer,K,inner), idx (outer,K,inner) distinct indices per lane, dx (outer,D,inner)
// zeroed by the caller: dy written at the indices.
template <typename T>
void take_backward_cuda(int64_t outer, int64_t D, int64_t K, int64_t inner, const T* dy,
                        const int64_t* idx, T* dx);

// ---- prelu (activation.cu) -------------------------------------------------
// x viewed as (N, R, inner): R weight rows (the channels, or 1 for one shared
// weight), inner the elements of each row.

// x (N,R,inner), w (R), y (N,R,inner) overwritten.
template <typename T>
void prelu_forward_cuda(int64_t N, int64_t R, int64_t inner, const T* x, const T* w, T* y);
// dy (N,R,inner); dx (N,R,inner) and dw (R) overwritten unless null.
template <typename T>
void prelu_backward_cuda(int64_t N, int64_t R, int64_t inner, const T* x, const T* w, const T* dy,
                        T* dx, T* dw);

// ---- cat (cat.cu) ---------------------------------------------------------
// Byte copies for every dtype: part i viewed as (outer, b_i) bytes, b_i its
// size along the cat dimension times the inner size times the element size. The
// arrays of pointers and of sizes are on the host; the pointers point to device memory.

// parts k pointers to (outer, b_i), y (outer, sum b_i) overwritten.
void cat_forward_cuda(int64_t outer, int64_t k, const char* const* parts, const int64_t* part_bytes,
                     char* y);
// dy (outer, sum b_i); dparts k pointers to (outer, b_i) overwritten, null ones skipped.
void cat_backward_cuda(int64_t outer, int64_t k, const char* dy, const int64_t* part_bytes,
                      char* const* dparts);

// ---- dropout (dropout.cu) -----------------------------------------------
// mask (n): uniform draws in [0, 1) on entry, the dropout mask on return: 0
// where the draw is below p, else 1/(1-p) (0 everywhere when p is 1).
template <typename T>
void dropout_mask_cuda(int64_t n, double p, T* mask);

// ---- batch normalization (batch_norm.cu) ---------------------------------
// N batch, C channels, L positions per channel and sample; x viewed as (N,C,L).

// x (N,C,L); mean (C) and var (C) (biased) overwritten.
template <typename T>
void batch_norm_stats_cuda(int64_t N, int64_t C, int64_t L, const T* x, T* mean, T* var);
// x (N,C,L), mean (C), invstd (C), w (C) or null, b (C) or null, y (N,C,L) overwritten.
template <typename T>
void batch_norm_forward_cuda(int64_t N, int64_t C, int64_t L, const T* x, const T* mean,
                            const T* invstd, const T* w, const T* b, T* y);
// dy (N,C,L); dx (N,C,L), dw (C), db (C) overwritten, each may be null. batch_stats:
// mean and invstd are the batch's own (training), so dx flows through them too.
template <typename T>
void batch_norm_backward_cuda(int64_t N, int64_t C, int64_t L, bool batch_stats, const T* x,
                             const T* dy, const T* mean, const T* invstd, const T* w, T* dx, T* dw,
                             T* db);
// running_mean (C), running_var (C) (either may be null) moved toward mean (C) and the
// unbiased var (C) * M / (M - 1) by momentum.
template <typename T>
void batch_norm_update_stats_cuda(int64_t C, int64_t M, double momentum, const T* mean, const T* var,
                                 T* running_mean, T* running_var);
// var (C); invstd (C) = 1 / sqrt(var + eps) overwritten.
template <typename T>
void batch_norm_invstd_cuda(int64_t C, double eps, const T* var, T* invstd);
// count (1): a layer's num_batches_tracked, one added.
void batch_norm_count_cuda(int64_t* count);

// ---- local response normalization (local_response_norm.cu) -------------------
// N batch, C channels, L positions per channel; x viewed as (N,C,L); n = size.

// x (N,C,L); y (N,C,L) and scale (N,C,L) = k + alpha/n * (window sum of x^2) overwritten.
template <typename T>
void local_response_norm_forward_cuda(int64_t N, int64_t C, int64_t L, int64_t size, double alpha,
                                     double beta, double k, const T* x, T* y, T* scale);
// x (N,C,L), scale (N,C,L) from forward, dy (N,C,L), dx (N,C,L) overwritten.
template <typename T>
void local_response_norm_backward_cuda(int64_t N, int64_t C, int64_t L, int64_t size, double alpha,
                                      double beta, const T* x, const T* scale, const T* dy, T* dx);

// ---- unfold / fold (conv2d.cu) ---------------------------------------------------
template <typename T>
void unfold_forward_cuda(const Conv2dShape& s, const T* x, T* col);
template <typename T>
void unfold_backward_cuda(const Conv2dShape& s, const T* col, T* dx);

// ---- 3-D pooling (pool3d.cu) ----------------------------------------------------
template <typename T>
void max_pool3d_forward_cuda(const Pool3dShape& s, const T* x, T* y, int64_t* argmax);
template <typename T>
void max_pool3d_backward_cuda(const Pool3dShape& s, const T* dy, const int64_t* argmax, T* dx);
template <typename T>
void avg_pool3d_forward_cuda(const Pool3dShape& s, const T* x, T* y);
template <typename T>
void avg_pool3d_backward_cuda(const Pool3dShape& s, const T* dy, T* dx);

// ---- max unpooling (pool2d.cu) --------------------------------------------------
template <typename T>
void max_unpool2d_forward_cuda(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P, int64_t Q, const T* x,
                               const int64_t* idx, T* y);
template <typename T>
void max_unpool2d_backward_cuda(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P, int64_t Q, const T* dy,
                                const int64_t* idx, T* dx);

// ---- row normalization (layer_norm.cu) ------------------------------------------
template <typename T>
void layer_norm_forward_cuda(int64_t M, int64_t K, int64_t G, int64_t S, double eps, const T* x, const T* w,
                             const T* b, T* y, T* mean, T* rstd);
template <typename T>
void layer_norm_backward_cuda(int64_t M, int64_t K, int64_t G, int64_t S, const T* x, const T* mean,
                              const T* rstd, const T* w, const T* dy, T* dx, T* dw, T* db);

// ---- embedding (embedding.cu) -----------------------------------------------------
template <typename T>
void embedding_forward_cuda(int64_t V, int64_t D, int64_t n, const T* weight, const int64_t* idx, T* y);
template <typename T>
void embedding_backward_cuda(int64_t V, int64_t D, int64_t n, int64_t padding_idx, const T* dy,
                             const int64_t* idx, T* dweight);

// ---- pixel shuffle (pixel_shuffle.cu) -----------------------------------------------
template <typename T>
void pixel_shuffle_forward_cuda(int64_t N, int64_t C, int64_t H, int64_t W, int64_t r, const T* x, T* y);
template <typename T>
void pixel_shuffle_backward_cuda(int64_t N, int64_t C, int64_t H, int64_t W, int64_t r, const T* y, T* x);

// ---- constant padding (pad.cu) ---------------------------------------------
// B planes, H W input size, H2 = H + top + bottom, W2 = W + left + right; negative
// top/left (and bottom/right) crop.

// x (B,H,W), y (B,H2,W2) overwritten: y(i,j) = x(i-top, j-left) inside the input, else value.
template <typename T>
void pad2d_forward_cuda(int64_t B, int64_t H, int64_t W, int64_t H2, int64_t W2, int64_t top, int64_t left,
                       T value, const T* x, T* y);
// dy (B,H2,W2), dx (B,H,W) overwritten.
template <typename T>
void pad2d_backward_cuda(int64_t B, int64_t H, int64_t W, int64_t H2, int64_t W2, int64_t top, int64_t left,
                        const T* dy, T* dx);

// ---- interpolation (interpolate.cu) --------------------------------------------
// B planes, H W input size, P Q output size. One output row (or column) reads input
// rows i0 and i1 with weights w0 and w1; nearest reads i0 only. The taps are
// interpolate_taps_cpu's, copied to the device: i0 never decreases along the output and
// i1 is i0 or i0 + 1 (backward relies on it).

// x (B,H,W), taps_h (P), taps_w (Q), y (B,P,Q) overwritten.
template <typename T>
void interpolate2d_forward_cuda(int64_t B, int64_t H, int64_t W, int64_t P, int64_t Q, bool linear,
                               const InterpTap<T>* taps_h, const InterpTap<T>* taps_w, const T* x, T* y);
// dy (B,P,Q), dx (B,H,W) overwritten.
template <typename T>
void interpolate2d_backward_cuda(int64_t B, int64_t H, int64_t W, int64_t P, int64_t Q, bool linear,
                                const InterpTap<T>* taps_h, const InterpTap<T>* taps_w, const T* dy, T* dx);

// ---- optimizer updates (sgd.cu, adam.cu, rmsprop.cu, adagrad.cu, nadam.cu,
//      radam.cu, adadelta.cu, lars.cu, lamb.cu) ----------------
// One call updates every tensor of l (cpu/tensor_list.h; its table in device memory) by
// the rule of optim/updates.h; the operands and per-tensor scalars of l in the order listed.

// operands: p, g, buf (null without momentum); scalar: first (1 when buf is new).
template <typename T>
void sgd_update_cuda(const optim::SgdHyper<T>& h, const TensorList<T>& l);
// operands: p, g, m, v, vmax (null without amsgrad); scalars: neg_step, bias2_sqrt.
template <typename T>
void adam_update_cuda(const optim::AdamHyper<T>& h, const TensorList<T>& l);
// operands: p, g, s, buf (null without momentum), a (null unless centered).
template <typename T>
void rmsprop_update_cuda(const optim::RmspropHyper<T>& h, const TensorList<T>& l);
// operands: p, g, sum; scalar: neg_clr.
template <typename T>
void adagrad_update_cuda(const optim::AdagradHyper<T>& h, const TensorList<T>& l);
// operands: p, g, m, v; scalars: c_g, c_m, bias2 (1 - beta2^t).
template <typename T>
void nadam_update_cuda(const optim::AdamHyper<T>& h, const TensorList<T>& l);
// operands: p, g, m, v; scalars: bias1 (1 - beta1^t), bias2_sqrt, rect (0: not rectified).
template <typename T>
void radam_update_cuda(const optim::AdamHyper<T>& h, T lr, const TensorList<T>& l);
// operands: p, g, s (square_avg), acc (acc_delta).
template <typename T>
void adadelta_update_cuda(const optim::AdadeltaHyper<T>& h, const TensorList<T>& l);
// operands: p, g, buf (null without momentum); scalar: scaled_lr (lr * local_lr).
template <typename T>
void lars_update_cuda(const optim::LarsHyper<T>& h, const TensorList<T>& l);
// LAMB's first pass. operands: p, g, m, v, u (overwritten with the direction); scalars: bias1, bias2.
template <typename T>
void lamb_direction_cuda(const optim::AdamHyper<T>& h, const TensorList<T>& l);
// LAMB's second pass. operands: p, u; scalar: neg_step (-lr * trust ratio).
template <typename T>
void lamb_update_cuda(const TensorList<T>& l);

// ---- gradient clipping (clip_grad.cu) ---------------------------------------------
// l's one operand: the gradient g of each tensor.

// norms (count, device memory) overwritten with each tensor's vector norm of order o, rounded to T.
template <typename T>
void grad_norms_cuda(const optim::NormOrder& o, const TensorList<T>& l, double* norms);
// g *= c.
template <typename T>
void grad_scale_cuda(const TensorList<T>& l, T c);
// g clamped to [lo, hi].
template <typename T>
void grad_clamp_cuda(const TensorList<T>& l, T lo, T hi);

}  // namespace convnet::cuda
