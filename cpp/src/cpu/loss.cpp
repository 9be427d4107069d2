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
#include <cmath>

#include "kernels.h"
#include "parallel.h"

namespace convnet::cpu {

namespace {

// f(i) for i in [0, n), split over the threads.
template <typename F>
void each(int64_t n, F f) {
  parallel_for(n, kGrainSize / 8, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) f(i);
  });
}

// w[c], or 1 without weights.
template <typename T>
T weight_or_one(const T* cw, int64_t c) {
  return cw ? cw[c] : T(1);
}

// log(1 + exp(-x)) in a form that does not overflow
template <typename T>
T softplus_neg(T x) {
  return std::log1p(std::exp(-std::abs(x))) + std::max(-x, T(0));
}

}  // namespace

// x (N,C,L), target (N,L), cw (C) or null, loss (N,L), lse (N,L):
// loss = (1-eps) w[t] (lse - x[t]) + (eps/C) sum_c w[c] (lse - x[c]), eps the label smoothing.
template <typename T>
void cross_entropy_forward_cpu(int64_t N, int64_t C, int64_t L, int64_t ignore_index,
                               const T* x, const int64_t* target, const T* cw, T smoothing,
                               T* loss, T* lse) {
  parallel_for(N * L, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(C, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t i = b; i < e; ++i) {
                   const T* p = x + (i / L) * C * L + i % L;
                   T m = p[0];
                   for (int64_t c = 1; c < C; ++c) m = std::max(m, p[c * L]);
                   T acc = 0;
                   for (int64_t c = 0; c < C; ++c) acc += std::exp(p[c * L] - m);
                   lse[i] = m + std::log(acc);
                   if (target[i] == ignore_index) {
                     loss[i] = 0;
                     continue;
                   }
                   loss[i] = (1 - smoothing) * weight_or_one(cw, target[i]) * (lse[i] - p[target[i] * L]);
                   if (smoothing == 0) continue;
                   T smooth = 0;
                   for (int64_t c = 0; c < C; ++c) smooth += weight_or_one(cw, c) * (lse[i] - p[c * L]);
                   loss[i] += smoothing / C * smooth;
                 }
               });
}

// x (N,C,L), target (N,L), cw (C) or null, lse (N,L), w (N,L) or (1), dx (N,C,L):
// dx[k] = w (softmax(x)[k] ((1-eps) w[t] + (eps/C) sum_c w[c]) - (1-eps) w[t] [k = t] - (eps/C) w[k]),
// recomputing the softmax from x and lse.
template <typename T>
void cross_entropy_backward_cpu(int64_t N, int64_t C, int64_t L, int64_t ignore_index,
                                const T* x, const int64_t* target, const T* cw, T smoothing,
                                const T* lse, const T* w, int64_t w_step, T* dx) {
  T total = 0;  // sum of the class weights
  for (int64_t c = 0; c < C; ++c) total += weight_or_one(cw, c);
  parallel_for(N * L, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(C, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t i = b; i < e; ++i) {
                   int64_t base = (i / L) * C * L + i % L;
                   if (target[i] == ignore_index) {
                     for (int64_t c = 0; c < C; ++c) dx[base + c * L] = 0;
                     continue;
                   }
                   const T wi = w[i * w_step];
                   const T wt = (1 - smoothing) * weight_or_one(cw, target[i]);
                   const T scale = wi * (wt + smoothing / C * total);
                   for (int64_t c = 0; c < C; ++c)
                     dx[base + c * L] = scale * std::exp(x[base + c * L] - lse[i]) -
                                        (smoothing == 0 ? T(0) : wi * smoothing / C * weight_or_one(cw, c));
                   dx[base + target[i] * L] -= wi * wt;
                 }
               });
}

// x (N,C,L) log-probabilities, target (N,L), cw (C) or null, loss (N,L): -w[t] x at the target class.
template <typename T>
void nll_loss_forward_cpu(int64_t N, int64_t C, int64_t L, int64_t ignore_index, const T* x,
                          const int64_t* target, const T* cw, T* loss) {
  for (int64_t i = 0; i < N * L; ++i)
    loss[i] = target[i] == ignore_index
                  ? T(0)
                  : -weight_or_one(cw, target[i]) * x[(i / L) * C * L + target[i] * L + i % L];
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

// ---- elementwise losses: x, t (n); w (n) per-element weights or null; g[i * g_step] the
// gradient weight of element i; dx, dt (n) overwritten unless null.

// loss = -w (t max(log x, -100) + (1 - t) max(log(1 - x), -100))
template <typename T>
void bce_forward_cpu(int64_t n, const T* x, const T* t, const T* w, T* loss) {
  each(n, [&](int64_t i) {
    T lx = std::max(std::log(x[i]), T(-100)), l1x = std::max(std::log1p(-x[i]), T(-100));
    loss[i] = weight_or_one(w, i) * ((t[i] - 1) * l1x - t[i] * lx);
  });
}

// dx = g w (x - t) / max(x (1 - x), 1e-12); dt = g w (max(log(1 - x), -100) - max(log x, -100))
template <typename T>
void bce_backward_cpu(int64_t n, const T* x, const T* t, const T* w, const T* g, int64_t g_step,
                      T* dx, T* dt) {
  each(n, [&](int64_t i) {
    const T gw = g[i * g_step] * weight_or_one(w, i);
    if (dx) dx[i] = gw * (x[i] - t[i]) / std::max(x[i] * (1 - x[i]), T(1e-12));
    if (dt) dt[i] = gw * (std::max(std::log1p(-x[i]), T(-100)) - std::max(std::log(x[i]), T(-100)));
  });
}

// With lw = 1 + (pw - 1) t: loss = w ((1 - t) x + lw log(1 + exp(-x))); pw (n) or null (1).
template <typename T>
void bce_logits_forward_cpu(int64_t n, const T* x, const T* t, const T* w, const T* pw, T* loss) {
  each(n, [&](int64_t i) {
    const T lw = 1 + (weight_or_one(pw, i) - 1) * t[i];
    loss[i] = weight_or_one(w, i) * ((1 - t[i]) * x[i] + lw * softplus_neg(x[i]));
  });
}

// dx = g w (lw sigmoid(x) - pw t); dt = g w (-x + (pw - 1) log(1 + exp(-x)))
template <typename T>
void bce_logits_backward_cpu(int64_t n, const T* x, const T* t, const T* w, const T* pw,
                             const T* g, int64_t g_step, T* dx, T* dt) {
  each(n, [&](int64_t i) {
    const T gw = g[i * g_step] * weight_or_one(w, i), p = weight_or_one(pw, i);
    if (dx) dx[i] = gw * ((1 + (p - 1) * t[i]) / (1 + std::exp(-x[i])) - p * t[i]);
    if (dt) dt[i] = gw * (-x[i] + (p - 1) * softplus_neg(x[i]));
  });
}

// d = x - t: loss = 0.5 d² / beta where |d| < beta, else |d| - 0.5 beta.
template <typename T>
void smooth_l1_forward_cpu(int64_t n, T beta, const T* x, const T* t, T* loss) {
  each(n, [&](int64_t i) {
    const T d = std::abs(x[i] - t[i]);
    loss[i] = d < beta ? T(0.5) * d * d / beta : d - T(0.5) * beta;
  });
}

// dx = g (d / beta where |d| < beta, else sign(d)); dt = -dx
template <typename T>
void smooth_l1_backward_cpu(int64_t n, T beta, const T* x, const T* t, const T* g, int64_t g_step,
                            T* dx, T* dt) {
  each(n, [&](int64_t i) {
    const T d = x[i] - t[i];
    const T s = std::abs(d) < beta ? d / beta : T((d > 0) - (d < 0));
    const T v = g[i * g_step] * s;
    if (dx) dx[i] = v;
    if (dt) dt[i] = -v;
  });
}

// loss = exp(t) (t - x) with log_target, else xlogy(t, t) - t x (0 where t == 0).
template <typename T>
void kl_div_forward_cpu(int64_t n, bool log_target, const T* x, const T* t, T* loss) {
  each(n, [&](int64_t i) {
    loss[i] = log_target ? std::exp(t[i]) * (t[i] - x[i])
                         : (t[i] == 0 ? T(0) : t[i] * std::log(t[i])) - t[i] * x[i];
  });
}

// log_target: dx = -g exp(t), dt = g exp(t) (t - x + 1);
// else dx = -g t, dt = g (xlogy(t != 0, t) + t / t - x) (NaN at t == 0, as PyTorch's composite).
template <typename T>
void kl_div_backward_cpu(int64_t n, bool log_target, const T* x, const T* t, const T* g,
                         int64_t g_step, T* dx, T* dt) {
  each(n, [&](int64_t i) {
    const T gi = g[i * g_step];
    if (log_target) {
      const T e = std::exp(t[i]);
      if (dx) dx[i] = -gi * e;
      if (dt) dt[i] = gi * e * (t[i] - x[i] + 1);
    } else {
      if (dx) dx[i] = -gi * t[i];
      if (dt) dt[i] = gi * ((t[i] != 0 ? std::log(t[i]) : T(0)) + t[i] / t[i] - x[i]);
    }
  });
}

// x (N,C), target (N), cw (C) or null, loss (N):
// loss = sum over j != y of w[y] max(0, margin - x[y] + x[j])^p / C.
template <typename T>
void multi_margin_forward_cpu(int64_t N, int64_t C, int64_t p, T margin, const T* x,
                              const int64_t* target, const T* cw, T* loss) {
  each(N, [&](int64_t i) {
    const T* xi = x + i * C;
    const int64_t y = target[i];
    T acc = 0;
    for (int64_t j = 0; j < C; ++j) {
      const T z = margin - xi[y] + xi[j];
      if (j == y || z <= 0) continue;
      acc += p == 1 ? z : z * z;
    }
    loss[i] = acc * weight_or_one(cw, y) / C;
  });
}

// dy weights w (N) or (1); dx (N,C) overwritten: each active margin z adds
// w w[y] p z^(p-1) / C at j and subtracts it at y.
template <typename T>
void multi_margin_backward_cpu(int64_t N, int64_t C, int64_t p, T margin, const T* x,
                               const int64_t* target, const T* cw, const T* w, int64_t w_step,
                               T* dx) {
  each(N, [&](int64_t i) {
    const T* xi = x + i * C;
    T* di = dx + i * C;
    const int64_t y = target[i];
    const T scale = w[i * w_step] * weight_or_one(cw, y) / C;
    T at_y = 0;
    for (int64_t j = 0; j < C; ++j) {
      const T z = margin - xi[y] + xi[j];
      di[j] = j != y && z > 0 ? scale * (p == 1 ? T(1) : 2 * z) : T(0);
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
