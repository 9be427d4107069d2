// The per-element rules of the optimizers' updates and of gradient clipping, shared
// by the CPU kernels (cpu/<stem>.cpp) and the CUDA kernels (cuda/<stem>.cu), so that
// both devices compute one formula. Hyperparameters arrive converted to the
// parameters' type T; each update takes one element of the parameter p, its gradient
// g and its state.
#pragma once
#include <cmath>

#include "convnet/half.h"

namespace convnet::optim {

// a + w * (b - a), computed from the nearer end as PyTorch's lerp does.
template <typename T>
CONVNET_HD inline T lerp(T a, T b, T w) {
  return w < T(0.5) ? a + w * (b - a) : b - (b - a) * (T(1) - w);
}

// Square root in T's own precision.
CONVNET_HD inline float sqrt_of(float x) { return ::sqrtf(x); }
CONVNET_HD inline double sqrt_of(double x) { return ::sqrt(x); }

// ---- SGD (sgd.cpp) ----------------------------------------------------------
//   g = -g (maximize);  g += weight_decay * p
//   buf = g (first step) or momentum * buf + (1 - dampening) * g
//   g = g + momentum * buf (Nesterov) or buf
//   p -= lr * g
template <typename T>
struct SgdHyper {
  T lr, weight_decay, momentum, keep;  // keep = 1 - dampening
  bool nesterov, maximize;
};

// buf: the momentum buffer, null without momentum; first: buf is new and takes g.
template <typename T>
CONVNET_HD inline void sgd_update(const SgdHyper<T>& h, bool first, T& p, T g, T* buf) {
  T d = h.maximize ? -g : g;
  if (h.weight_decay != T(0)) d += h.weight_decay * p;
  if (buf) {
    *buf = first ? d : h.momentum * *buf + h.keep * d;
    d = h.nesterov ? d + h.momentum * *buf : *buf;
  }
  p -= h.lr * d;
}

// ---- Adam and AdamW (adam.cpp) --------------------------------------------------
//   g = -g (maximize)
//   p *= 1 - lr * weight_decay (decoupled, AdamW) or g += weight_decay * p
//   m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
//   vmax = max(vmax, v) and v = vmax (amsgrad)
//   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
template <typename T>
struct AdamHyper {
  T weight_decay, decay;  // decay = 1 - lr * weight_decay
  T w1, beta2, w2, eps;   // w1 = 1 - beta1, w2 = 1 - beta2
  bool decoupled, maximize;
};

// For the tensor's step t: neg_step = -lr / (1 - beta1^t), bias2_sqrt = sqrt(1 - beta2^t).
// m, v: the moments; vmax: the largest v so far, null without amsgrad.
template <typename T>
CONVNET_HD inline void adam_update(const AdamHyper<T>& h, T neg_step, T bias2_sqrt, T& p, T g, T& m, T& v,
                                   T* vmax) {
  T d = h.maximize ? -g : g;
  if (h.weight_decay != T(0)) {
    if (h.decoupled)
      p *= h.decay;
    else
      d += h.weight_decay * p;
  }
  m = lerp(m, d, h.w1);
  v = v * h.beta2 + h.w2 * d * d;
  T vi = v;
  if (vmax) vi = *vmax = *vmax < vi ? vi : *vmax;
  p += neg_step * m / (sqrt_of(vi) / bias2_sqrt + h.eps);
}

// ---- RMSprop (rmsprop.cpp) ------------------------------------------------------
//   g = -g (maximize);  g += weight_decay * p
//   s = alpha * s + (1 - alpha) * g * g
//   avg = sqrt(s - a * a) + eps with a = lerp(a, g, 1 - alpha) (centered), else sqrt(s) + eps
//   buf = momentum * buf + g / avg and p -= lr * buf (momentum > 0), else p -= lr * g / avg
template <typename T>
struct RmspropHyper {
  T lr, alpha, w, eps, weight_decay, momentum;  // w = 1 - alpha
  bool maximize;
};

// s: the square average; buf: the momentum buffer (null without momentum); a: the
// gradient average (null unless centered).
template <typename T>
CONVNET_HD inline void rmsprop_update(const RmspropHyper<T>& h, T& p, T g, T& s, T* buf, T* a) {
  T d = h.maximize ? -g : g;
  if (h.weight_decay != T(0)) d += h.weight_decay * p;
  s = s * h.alpha + h.w * d * d;
  T avg;
  if (a) {
    *a = lerp(*a, d, h.w);
    avg = sqrt_of(s - *a * *a);
  } else {
    avg = sqrt_of(s);
  }
  avg += h.eps;
  if (buf) {
    *buf = *buf * h.momentum + d / avg;
    p -= h.lr * *buf;
  } else {
    p -= h.lr * d / avg;
  }
}

// ---- Adagrad (adagrad.cpp) --------------------------------------------------------
//   g = -g (maximize);  g += weight_decay * p
//   sum += g * g
//   p -= lr / (1 + (t - 1) * lr_decay) * g / (sqrt(sum) + eps)
template <typename T>
struct AdagradHyper {
  T eps, weight_decay;
  bool maximize;
};

// For the tensor's step t: neg_clr = -lr / (1 + (t - 1) * lr_decay).
template <typename T>
CONVNET_HD inline void adagrad_update(const AdagradHyper<T>& h, T neg_clr, T& p, T g, T& sum) {
  T d = h.maximize ? -g : g;
  if (h.weight_decay != T(0)) d += h.weight_decay * p;
  sum += d * d;
  p += neg_clr * d / (sqrt_of(sum) + h.eps);
}

// ---- gradient clipping (clip_grad.cpp) ----------------------------------------------
// The vector norm of order p (as torch.linalg.vector_norm) accumulated in double over
// |x|: max (p = inf), min (p = -inf), number of nonzeros (p = 0), sum of |x| (p = 1),
// sqrt of the sum of squares (p = 2), (sum of |x|^p)^(1/p) otherwise.
enum class NormKind { Max, Min, Count, L1, L2, Power };

struct NormOrder {
  NormKind kind;
  double p;
};

inline NormOrder norm_order(double p) {
  if (std::isinf(p)) return {p > 0 ? NormKind::Max : NormKind::Min, p};
  if (p == 0) return {NormKind::Count, p};
  if (p == 1) return {NormKind::L1, p};
  if (p == 2) return {NormKind::L2, p};
  return {NormKind::Power, p};
}

// The accumulator before any element.
CONVNET_HD inline double norm_start(const NormOrder& o) { return o.kind == NormKind::Min ? HUGE_VAL : 0.0; }

// acc with one more element of magnitude a.
CONVNET_HD inline double norm_add(const NormOrder& o, double acc, double a) {
  switch (o.kind) {
    case NormKind::Max: return acc < a ? a : acc;
    case NormKind::Min: return a < acc ? a : acc;
    case NormKind::Count: return acc + (a != 0);
    case NormKind::L1: return acc + a;
    case NormKind::L2: return acc + a * a;
    default: return acc + ::pow(a, o.p);
  }
}

// Two accumulators of disjoint parts combined.
CONVNET_HD inline double norm_merge(const NormOrder& o, double acc, double part) {
  if (o.kind == NormKind::Max) return acc < part ? part : acc;
  if (o.kind == NormKind::Min) return part < acc ? part : acc;
  return acc + part;
}

// The norm from the accumulator of all elements.
CONVNET_HD inline double norm_finish(const NormOrder& o, double acc) {
  if (o.kind == NormKind::L2) return ::sqrt(acc);
  if (o.kind == NormKind::Power) return ::pow(acc, 1 / o.p);
  return acc;
}

// clip_grad_value_: g limited to [lo, hi] (NaN stays NaN).
template <typename T>
CONVNET_HD inline T clamp_value(T g, T lo, T hi) {
  const T up = g < lo ? lo : g;
  return hi < up ? hi : up;
}

}  // namespace convnet::optim
