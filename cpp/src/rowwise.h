// Math along one dimension, one definition for the CPU kernels (cpu/) and the CUDA
// kernels (cuda/): softmax, the maximum's rule, and the classification losses. A row
// is D values `stride` apart (x viewed as (outer, D, inner): stride = inner); a CPU
// thread or a CUDA thread handles a whole row, or one element of it.
#pragma once
#include <cstdint>

#include "pointwise.h"

namespace convnet::pw {

// ---- softmax (softmax.cu; cpu/softmax.cpp runs the same formulas over tiles of rows) ---

// x, y rows of D; log selects log_softmax.
template <typename T>
CONVNET_HD_INLINE void softmax_row(int64_t D, int64_t stride, bool log_out, const T* x, T* y) {
  T m = x[0];
  for (int64_t d = 1; d < D; ++d) m = max(m, x[d * stride]);
  T s = 0;
  for (int64_t d = 0; d < D; ++d) s += exp(x[d * stride] - m);
  if (log_out) {
    const T ls = log(s);  // (x - m) - log s: exact where x is near the maximum
    for (int64_t d = 0; d < D; ++d) y[d * stride] = (x[d * stride] - m) - ls;
  } else {
    const T inv = T(1) / s;
    for (int64_t d = 0; d < D; ++d) y[d * stride] = exp(x[d * stride] - m) * inv;
  }
}

// y the forward output, dy, dx rows of D: softmax dx = y (dy - Σ dy y);
// log_softmax dx = dy - exp(y) Σ dy.
template <typename T>
CONVNET_HD_INLINE void softmax_backward_row(int64_t D, int64_t stride, bool log_out, const T* y,
                                            const T* dy, T* dx) {
  T s = 0;
  for (int64_t d = 0; d < D; ++d) s += log_out ? dy[d * stride] : dy[d * stride] * y[d * stride];
  for (int64_t d = 0; d < D; ++d) {
    const int64_t k = d * stride;
    dx[k] = log_out ? dy[k] - exp(y[k]) * s : y[k] * (dy[k] - s);
  }
}

// ---- maximum and minimum (reduce.cpp / reduce.cu) ----------------------------------------------

// Whether v, met after best along the dimension, replaces it as the maximum: when it is
// larger, or the first NaN (NaN propagates, as PyTorch). Ties keep the first.
template <typename T>
CONVNET_HD_INLINE bool max_replaces(T v, T best) {
  return v > best || (v != v && best == best);
}
// The same rule for the maximum, or for the minimum when smallest.
template <typename T>
CONVNET_HD_INLINE bool extremum_replaces(T v, T best, bool smallest) {
  return (smallest ? v < best : v > best) || (v != v && best == best);
}

// ---- classification losses (loss.cpp / loss.cu) ------------------------------------
// C classes, x a sample's row of C logits (or log-probabilities) L apart, t its target
// (not ignore_index), cw (C) class weights or null.

// Cross entropy of one sample with label smoothing eps: lse = log Σ exp(x), and
// loss = (1-eps) w[t] (lse - x[t]) + (eps/C) Σ_c w[c] (lse - x[c]); 0 when t is ignored.
template <typename T>
CONVNET_HD_INLINE void cross_entropy_sample(int64_t C, int64_t L, const T* x, int64_t t, bool ignored,
                                            const T* cw, T smoothing, T& loss, T& lse) {
  T m = x[0];
  for (int64_t c = 1; c < C; ++c) m = max(m, x[c * L]);
  T acc = 0;
  for (int64_t c = 0; c < C; ++c) acc += exp(x[c * L] - m);
  lse = m + log(acc);
  if (ignored) {
    loss = 0;
    return;
  }
  loss = (1 - smoothing) * weight_or_one(cw, t) * (lse - x[t * L]);
  if (smoothing == 0) return;
  T smooth = 0;
  for (int64_t c = 0; c < C; ++c) smooth += weight_or_one(cw, c) * (lse - x[c * L]);
  loss += smoothing / C * smooth;
}

// The gradient of one sample's cross entropy, scaled by its gradient weight wi:
// dx[c] = wi (softmax(x)[c] ((1-eps) w[t] + (eps/C) Σ w) - (eps/C) w[c]) - wi (1-eps) w[t] [c = t],
// with the softmax recomputed from x and the saved lse; total = Σ_c w[c] (C without weights),
// read only with smoothing.
template <typename T>
struct CrossEntropyGrad {
  T scale, smooth, at_target;
  bool smoothed;
  CONVNET_HD CrossEntropyGrad(int64_t C, int64_t t, const T* cw, T smoothing, T total, T wi) {
    smoothed = smoothing != 0;
    const T wt = (1 - smoothing) * weight_or_one(cw, t);
    scale = wi * (smoothed ? wt + smoothing / C * total : wt);
    smooth = wi * smoothing / C;
    at_target = wi * wt;
  }
  // dx[c] without the target's term (subtract at_target at c = t)
  CONVNET_HD_INLINE T operator()(T x, T lse, const T* cw, int64_t c) const {
    return scale * exp(x - lse) - (smoothed ? smooth * weight_or_one(cw, c) : T(0));
  }
};

// Negative log-likelihood of one sample: -w[t] x[t].
template <typename T>
CONVNET_HD_INLINE T nll_loss_sample(int64_t L, const T* x, int64_t t, const T* cw) {
  return -weight_or_one(cw, t) * x[t * L];
}

// Multi-class margin loss, x a sample's C scores (contiguous), y its target, p 1 or 2:
// Σ_{j != y} w[y] max(0, margin - x[y] + x[j])^p / C.
template <typename T>
CONVNET_HD_INLINE T multi_margin_sample(int64_t C, int64_t p, T margin, const T* x, int64_t y, const T* cw) {
  T acc = 0;
  for (int64_t j = 0; j < C; ++j) {
    const T z = margin - x[y] + x[j];
    if (j == y || z <= 0) continue;
    acc += p == 1 ? z : z * z;
  }
  return acc * weight_or_one(cw, y) / C;
}

// The gradient at class j != y of the multi-class margin loss, scale = dy w[y] / C:
// scale p z^(p-1) for an active margin z, else 0. The gradient at y is minus the sum of
// the others (in order of j).
template <typename T>
CONVNET_HD_INLINE T multi_margin_grad(int64_t p, T margin, const T* x, int64_t y, int64_t j, T scale) {
  const T z = margin - x[y] + x[j];
  return j != y && z > 0 ? scale * (p == 1 ? T(1) : 2 * z) : T(0);
}

}  // namespace convnet::pw
