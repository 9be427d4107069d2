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

// ---- Adam and AdamW (adam.cpp); NAdam, RAdam and LAMB share its pieces ------------
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

// The gradient d that Adam, NAdam and RAdam use: g negated (maximize), plus
// weight_decay * p (coupled), or p shrunk by 1 - lr * weight_decay first (decoupled).
template <typename T>
CONVNET_HD inline T adam_grad(const AdamHyper<T>& h, T& p, T g) {
  T d = h.maximize ? -g : g;
  if (h.weight_decay != T(0)) {
    if (h.decoupled)
      p *= h.decay;
    else
      d += h.weight_decay * p;
  }
  return d;
}

// The moments after one more gradient d: m = lerp(m, d, 1 - beta1), v = beta2 v + (1 - beta2) d d.
template <typename T>
CONVNET_HD inline void adam_moments(const AdamHyper<T>& h, T d, T& m, T& v) {
  m = lerp(m, d, h.w1);
  v = v * h.beta2 + h.w2 * d * d;
}

// For the tensor's step t: neg_step = -lr / (1 - beta1^t), bias2_sqrt = sqrt(1 - beta2^t).
// m, v: the moments; vmax: the largest v so far, null without amsgrad.
template <typename T>
CONVNET_HD inline void adam_update(const AdamHyper<T>& h, T neg_step, T bias2_sqrt, T& p, T g, T& m, T& v,
                                   T* vmax) {
  const T d = adam_grad(h, p, g);
  adam_moments(h, d, m, v);
  T vi = v;
  if (vmax) vi = *vmax = *vmax < vi ? vi : *vmax;
  p += neg_step * m / (sqrt_of(vi) / bias2_sqrt + h.eps);
}

// ---- NAdam (nadam.cpp) ----------------------------------------------------------
//   d, m, v as Adam's (adam_grad, adam_moments)
//   denom = sqrt(v / (1 - beta2^t)) + eps
//   p += c_g * d / denom;  p += c_m * m / denom
// with mu_t = beta1 (1 - 0.5 * 0.96^(t * momentum_decay)), c_g = -lr (1 - mu_t) / (1 - mu_1...mu_t)
// and c_m = -lr mu_(t+1) / (1 - mu_1...mu_(t+1)), per tensor (its own step t).
template <typename T>
CONVNET_HD inline void nadam_update(const AdamHyper<T>& h, T c_g, T c_m, T bias2, T& p, T g, T& m, T& v) {
  const T d = adam_grad(h, p, g);
  adam_moments(h, d, m, v);
  const T denom = sqrt_of(v / bias2) + h.eps;
  p += c_g * d / denom;
  p += c_m * m / denom;
}

// ---- RAdam (radam.cpp) ----------------------------------------------------------
//   d, m, v as Adam's (adam_grad, adam_moments)
//   p -= m / (1 - beta1^t) * lr * sqrt(1 - beta2^t) / (sqrt(v) + eps) * rect   (rho_t > 5)
//   p -= m / (1 - beta1^t) * lr                                                 (otherwise)
// with rho_inf = 2 / (1 - beta2) - 1, rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t) and
// rect = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t)), per tensor;
// rect = 0 stands for "not rectified" (rho_t <= 5).
template <typename T>
CONVNET_HD inline void radam_update(const AdamHyper<T>& h, T lr, T bias1, T bias2_sqrt, T rect, T& p, T g, T& m,
                                    T& v) {
  const T d = adam_grad(h, p, g);
  adam_moments(h, d, m, v);
  const T step = m / bias1 * lr;
  p -= rect != T(0) ? step * (bias2_sqrt / (sqrt_of(v) + h.eps)) * rect : step;
}

// ---- Adadelta (adadelta.cpp) ------------------------------------------------------
//   g = -g (maximize);  g += weight_decay * p
//   s = rho * s + (1 - rho) * g * g
//   delta = sqrt(acc + eps) / sqrt(s + eps) * g
//   acc = rho * acc + (1 - rho) * delta * delta
//   p -= lr * delta
template <typename T>
struct AdadeltaHyper {
  T lr, rho, w, eps, weight_decay;  // w = 1 - rho
  bool maximize;
};

// s: the square average; acc: the accumulated squared updates.
template <typename T>
CONVNET_HD inline void adadelta_update(const AdadeltaHyper<T>& h, T& p, T g, T& s, T& acc) {
  T d = h.maximize ? -g : g;
  if (h.weight_decay != T(0)) d += h.weight_decay * p;
  s = s * h.rho + h.w * d * d;
  const T delta = sqrt_of(acc + h.eps) / sqrt_of(s + h.eps) * d;
  acc = acc * h.rho + h.w * delta * delta;
  p += -h.lr * delta;
}

// ---- LARS (lars.cpp) --------------------------------------------------------------
// You et al. 2017, "Large Batch Training of Convolutional Networks", algorithm 1:
//   local_lr = trust_coefficient * |p| / (|g| + weight_decay * |p| + eps) (1 where |p| or |g| is
//   0, or without layer adaptation), per tensor
//   d = g + weight_decay * p
//   buf = momentum * buf + lr * local_lr * d;  p -= buf    (p -= lr * local_lr * d without momentum)
template <typename T>
struct LarsHyper {
  T momentum, weight_decay;
};

// scaled_lr = lr * local_lr of the tensor; buf: the momentum buffer, null without momentum.
template <typename T>
CONVNET_HD inline void lars_update(const LarsHyper<T>& h, T scaled_lr, T& p, T g, T* buf) {
  T d = g;
  if (h.weight_decay != T(0)) d += h.weight_decay * p;
  if (buf) {
    *buf = h.momentum * *buf + scaled_lr * d;
    p -= *buf;
  } else {
    p -= scaled_lr * d;
  }
}

// ---- LAMB (lamb.cpp) --------------------------------------------------------------
// You et al. 2019, "Large Batch Optimization for Deep Learning", algorithm 2, in two passes:
//   m, v as Adam's (adam_moments);  u = m / (1 - beta1^t) / (sqrt(v / (1 - beta2^t)) + eps) + weight_decay * p
//   ratio = |p| / |u| (1 where |p| or |u| is 0, or without layer adaptation), per tensor
//   p -= lr * ratio * u
template <typename T>
CONVNET_HD inline void lamb_direction(const AdamHyper<T>& h, T bias1, T bias2, T p, T g, T& m, T& v, T& u) {
  adam_moments(h, g, m, v);
  u = m / bias1 / (sqrt_of(v / bias2) + h.eps) + h.weight_decay * p;
}

// The second pass: neg_step = -lr * ratio of the tensor.
template <typename T>
CONVNET_HD inline void lamb_update(T neg_step, T& p, T u) {
  p += neg_step * u;
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
