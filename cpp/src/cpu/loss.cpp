// CPU loss kernels. Classification: cross entropy on logits and negative
// log-likelihood on log-probabilities, N batch, C classes, L positions per
// sample (the product of the trailing dimensions, 1 for plain (N,C) logits);
// x (N,C,L), target (N,L), optional class weights cw (C). A target equal to
// ignore_index gives loss 0 and gradient 0. multi_margin: x (N,C), target (N).
// Elementwise losses (binary cross entropy, with logits, smooth L1, KL
// divergence): x, t and optional weights of n elements. The gradient of sample
// (or element) i is scaled by w[i * w_step]: dy per sample (reduction "none",
// w_step 1) or one weight for all samples (w_step 0). Backward kernels
// overwrite dx (and dt, the target's gradient, unless null); autograd
// accumulates (+=) them into .grad.
#include <algorithm>

#include "isa.h"
#include "kernels.h"
#include "parallel.h"
#include "rowwise.h"

namespace convnet::cpu {

using pw::weight_or_one;

namespace {

// f(i) for i in [0, n), split over the threads, in the clones of cloned_for.
template <typename F>
void each(int64_t n, F f) {
  parallel_for(n, kGrainSize / 8, [&](int64_t b, int64_t e) { cloned_for(b, e, f); });
}

}  // namespace

// x (N,C,L), target (N,L), cw (C) or null, loss (N,L), lse (N,L) (pw::cross_entropy_sample).
template <typename T>
void cross_entropy_forward_cpu(int64_t N, int64_t C, int64_t L, int64_t ignore_index,
                               const T* x, const int64_t* target, const T* cw, T smoothing,
                               T* loss, T* lse) {
  parallel_for(N * L, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(C, 1)),
               [&](int64_t b, int64_t e) {
                 cloned_for(b, e, [&](int64_t i) {
                   pw::cross_entropy_sample(C, L, x + (i / L) * C * L + i % L, target[i],
                                            target[i] == ignore_index, cw, smoothing, loss[i], lse[i]);
                 });
               });
}

// x (N,C,L), target (N,L), cw (C) or null, lse (N,L), w (N,L) or (1), dx (N,C,L)
// (pw::CrossEntropyGrad, the softmax recomputed from x and lse).
template <typename T>
void cross_entropy_backward_cpu(int64_t N, int64_t C, int64_t L, int64_t ignore_index,
                                const T* x, const int64_t* target, const T* cw, T smoothing,
                                const T* lse, const T* w, int64_t w_step, T* dx) {
  T total = 0;  // sum of the class weights
  for (int64_t c = 0; c < C; ++c) total += weight_or_one(cw, c);
  parallel_for(N * L, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(C, 1)),
               [&](int64_t b, int64_t e) {
                 cloned_for(b, e, [&](int64_t i) {
                   const int64_t base = (i / L) * C * L + i % L;
                   if (target[i] == ignore_index) {
                     for (int64_t c = 0; c < C; ++c) dx[base + c * L] = 0;
                     return;
                   }
                   const pw::CrossEntropyGrad<T> g(C, target[i], cw, smoothing, total, w[i * w_step]);
                   for (int64_t c = 0; c < C; ++c) dx[base + c * L] = g(x[base + c * L], lse[i], cw, c);
                   dx[base + target[i] * L] -= g.at_target;
                 });
               });
}

// x (N,C,L) log-probabilities, target (N,L), cw (C) or null, loss (N,L): -w[t] x at the target class.
template <typename T>
void nll_loss_forward_cpu(int64_t N, int64_t C, int64_t L, int64_t ignore_index, const T* x,
                          const int64_t* target, const T* cw, T* loss) {
  for (int64_t i = 0; i < N * L; ++i)
    loss[i] = target[i] == ignore_index ? T(0) : pw::nll_loss_sample(L, x + (i / L) * C * L + i % L, target[i], cw);
}

// target (N,L), cw (C) or null, w (N,L) or (1), dx (N,C,L): -w w[t] at the target class, 0 elsewhere.
template <typename T>
void nll_loss_backward_cpu(int64_t N, int64_t C, int64_t L, int64_t ignore_index,
                           const int64_t* target, const T* cw, const T* w, int64_t w_step, T* dx) {
  std::fill(dx, dx + N * C * L, T(0));
  for (int64_t i = 0; i < N * L; ++i)
    if (target[i] != ignore_index)
      dx[(i / L) * C * L + target[i] * L + i % L] = -w[i * w_step] * weight_or_one(cw, target[i]);
}

// ---- elementwise losses (the terms of pointwise.h): x, t (n); w (n) per-element weights or
// null; g[i * g_step] the gradient weight of element i; dx, dt (n) overwritten unless null.

template <typename T>
void bce_forward_cpu(int64_t n, const T* x, const T* t, const T* w, T* loss) {
  each(n, [&](int64_t i) { loss[i] = pw::bce_loss(x[i], t[i], weight_or_one(w, i)); });
}

template <typename T>
void bce_backward_cpu(int64_t n, const T* x, const T* t, const T* w, const T* g, int64_t g_step,
                      T* dx, T* dt) {
  each(n, [&](int64_t i) {
    const T gw = g[i * g_step] * weight_or_one(w, i);
    if (dx) dx[i] = pw::bce_grad_input(x[i], t[i], gw);
    if (dt) dt[i] = pw::bce_grad_target(x[i], gw);
  });
}

// pos_w (n) the weights of positive targets, or null (1)
template <typename T>
void bce_logits_forward_cpu(int64_t n, const T* x, const T* t, const T* w, const T* pos_w, T* loss) {
  each(n, [&](int64_t i) {
    loss[i] = pw::bce_logits_loss(x[i], t[i], weight_or_one(w, i), weight_or_one(pos_w, i));
  });
}

template <typename T>
void bce_logits_backward_cpu(int64_t n, const T* x, const T* t, const T* w, const T* pos_w,
                             const T* g, int64_t g_step, T* dx, T* dt) {
  each(n, [&](int64_t i) {
    const T gw = g[i * g_step] * weight_or_one(w, i), p = weight_or_one(pos_w, i);
    if (dx) dx[i] = pw::bce_logits_grad_input(x[i], t[i], p, gw);
    if (dt) dt[i] = pw::bce_logits_grad_target(x[i], p, gw);
  });
}

template <typename T>
void smooth_l1_forward_cpu(int64_t n, T beta, const T* x, const T* t, T* loss) {
  each(n, [&](int64_t i) { loss[i] = pw::smooth_l1_loss(x[i], t[i], beta); });
}

// dt = -dx
template <typename T>
void smooth_l1_backward_cpu(int64_t n, T beta, const T* x, const T* t, const T* g, int64_t g_step,
                            T* dx, T* dt) {
  each(n, [&](int64_t i) {
    const T v = pw::smooth_l1_grad(x[i], t[i], beta, g[i * g_step]);
    if (dx) dx[i] = v;
    if (dt) dt[i] = -v;
  });
}

template <typename T>
void kl_div_forward_cpu(int64_t n, bool log_target, const T* x, const T* t, T* loss) {
  each(n, [&](int64_t i) { loss[i] = pw::kl_div_loss(x[i], t[i], log_target); });
}

template <typename T>
void kl_div_backward_cpu(int64_t n, bool log_target, const T* x, const T* t, const T* g,
                         int64_t g_step, T* dx, T* dt) {
  each(n, [&](int64_t i) {
    const T gi = g[i * g_step];
    if (dx) dx[i] = pw::kl_div_grad_input(t[i], log_target, gi);
    if (dt) dt[i] = pw::kl_div_grad_target(x[i], t[i], log_target, gi);
  });
}

// x (N,C), target (N), cw (C) or null, loss (N) (pw::multi_margin_sample).
template <typename T>
void multi_margin_forward_cpu(int64_t N, int64_t C, int64_t p, T margin, const T* x,
                              const int64_t* target, const T* cw, T* loss) {
  each(N, [&](int64_t i) { loss[i] = pw::multi_margin_sample(C, p, margin, x + i * C, target[i], cw); });
}

// dy weights w (N) or (1); dx (N,C) overwritten: pw::multi_margin_grad at j != y, minus
// their sum at y.
template <typename T>
void multi_margin_backward_cpu(int64_t N, int64_t C, int64_t p, T margin, const T* x,
                               const int64_t* target, const T* cw, const T* w, int64_t w_step,
                               T* dx) {
  each(N, [&](int64_t i) {
    const int64_t y = target[i];
    const T scale = w[i * w_step] * weight_or_one(cw, y) / C;
    T* di = dx + i * C;
    T at_y = 0;
    for (int64_t j = 0; j < C; ++j) {
      di[j] = pw::multi_margin_grad(p, margin, x + i * C, y, j, scale);
      at_y -= di[j];
    }
    di[y] = at_y;
  });
}

#define CONVNET_INSTANTIATE(T)                                                                   \
  template void cross_entropy_forward_cpu<T>(int64_t, int64_t, int64_t, int64_t, const T*,       \
                                             const int64_t*, const T*, T, T*, T*);               \
  template void cross_entropy_backward_cpu<T>(int64_t, int64_t, int64_t, int64_t, const T*,      \
                                              const int64_t*, const T*, T, const T*, const T*,   \
                                              int64_t, T*);                                      \
  template void nll_loss_forward_cpu<T>(int64_t, int64_t, int64_t, int64_t, const T*,            \
                                        const int64_t*, const T*, T*);                           \
  template void nll_loss_backward_cpu<T>(int64_t, int64_t, int64_t, int64_t, const int64_t*,     \
                                         const T*, const T*, int64_t, T*);                       \
  template void bce_forward_cpu<T>(int64_t, const T*, const T*, const T*, T*);                   \
  template void bce_backward_cpu<T>(int64_t, const T*, const T*, const T*, const T*, int64_t,    \
                                    T*, T*);                                                     \
  template void bce_logits_forward_cpu<T>(int64_t, const T*, const T*, const T*, const T*, T*);  \
  template void bce_logits_backward_cpu<T>(int64_t, const T*, const T*, const T*, const T*,      \
                                           const T*, int64_t, T*, T*);                           \
  template void smooth_l1_forward_cpu<T>(int64_t, T, const T*, const T*, T*);                    \
  template void smooth_l1_backward_cpu<T>(int64_t, T, const T*, const T*, const T*, int64_t, T*, \
                                          T*);                                                   \
  template void kl_div_forward_cpu<T>(int64_t, bool, const T*, const T*, T*);                    \
  template void kl_div_backward_cpu<T>(int64_t, bool, const T*, const T*, const T*, int64_t, T*, \
                                       T*);                                                      \
  template void multi_margin_forward_cpu<T>(int64_t, int64_t, int64_t, T, const T*,              \
                                            const int64_t*, const T*, T*);                       \
  template void multi_margin_backward_cpu<T>(int64_t, int64_t, int64_t, T, const T*,             \
                                             const int64_t*, const T*, const T*, int64_t, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cpu
