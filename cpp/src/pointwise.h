// Pointwise math, one definition of each formula for the CPU kernels (cpu/) and the
// CUDA kernels (cuda/): functors for the elementwise ops and the activations (forward
// f(x), backward g(saved, dy)), and the per-element terms of the elementwise losses.
// Everything here is CONVNET_HD, so the same code runs on the host and on the device.
// Floating functions compute in the argument's type (float math for float32).
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "convnet/half.h"
#include "cpu/vecmath.h"

// For the float32 math below and the longer shared functions (rowwise.h): always inlined into
// the kernels' loops (into each CONVNET_CPU_CLONES clone), where the CPU compiler specializes
// and vectorizes them.
#if defined(__CUDACC__)
#define CONVNET_HD_INLINE __host__ __device__ __forceinline__
#else
#define CONVNET_HD_INLINE inline __attribute__((always_inline))
#endif

namespace convnet::pw {

// ---- math in the argument's type: float32 on the host by the vectorizable routines of
// cpu/vecmath.h, float32 on a GPU and float64 everywhere by the C library's functions

#if defined(__CUDA_ARCH__)
#define CONVNET_PW_FLOAT(vm_f, libm_f) return ::libm_f(x)
#else
#define CONVNET_PW_FLOAT(vm_f, libm_f) return vm::vm_f(x)
#endif
CONVNET_HD_INLINE float exp(float x) { CONVNET_PW_FLOAT(exp, expf); }
CONVNET_HD inline double exp(double x) { return ::exp(x); }
CONVNET_HD_INLINE float expm1(float x) { CONVNET_PW_FLOAT(expm1, expm1f); }
CONVNET_HD inline double expm1(double x) { return ::expm1(x); }
CONVNET_HD_INLINE float log(float x) { CONVNET_PW_FLOAT(log, logf); }
CONVNET_HD inline double log(double x) { return ::log(x); }
CONVNET_HD_INLINE float log1p(float x) { CONVNET_PW_FLOAT(log1p, log1pf); }
CONVNET_HD inline double log1p(double x) { return ::log1p(x); }
CONVNET_HD_INLINE float tanh(float x) { CONVNET_PW_FLOAT(tanh, tanhf); }
CONVNET_HD inline double tanh(double x) { return ::tanh(x); }
CONVNET_HD_INLINE float erf(float x) { CONVNET_PW_FLOAT(erf, erff); }
CONVNET_HD inline double erf(double x) { return ::erf(x); }
#undef CONVNET_PW_FLOAT
CONVNET_HD inline float sqrt(float x) { return ::sqrtf(x); }
CONVNET_HD inline double sqrt(double x) { return ::sqrt(x); }
CONVNET_HD inline float pow(float x, float e) { return ::powf(x, e); }
CONVNET_HD inline double pow(double x, double e) { return ::pow(x, e); }
CONVNET_HD inline float abs(float x) { return ::fabsf(x); }
CONVNET_HD inline double abs(double x) { return ::fabs(x); }
CONVNET_HD inline float floor(float x) { return ::floorf(x); }
CONVNET_HD inline double floor(double x) { return ::floor(x); }
CONVNET_HD inline float ceil(float x) { return ::ceilf(x); }
CONVNET_HD inline double ceil(double x) { return ::ceil(x); }
CONVNET_HD inline float trunc(float x) { return ::truncf(x); }
CONVNET_HD inline double trunc(double x) { return ::trunc(x); }
CONVNET_HD inline float nearbyint(float x) { return ::nearbyintf(x); }
CONVNET_HD inline double nearbyint(double x) { return ::nearbyint(x); }

// The larger (smaller) of a and b, a when they compare equal or either is NaN (std::max's rule).
template <typename T>
CONVNET_HD T max(T a, T b) {
  return a < b ? b : a;
}
template <typename T>
CONVNET_HD T min(T a, T b) {
  return b < a ? b : a;
}

// w[i], or 1 when there are no weights.
template <typename T>
CONVNET_HD T weight_or_one(const T* w, int64_t i) {
  return w ? w[i] : T(1);
}

// ---- elementwise ops (ops/elementwise.cpp) ------------------------------------------
// Arithmetic keeps the operands' type T (bool: + is or, * is and); comparisons give bool.
// kFloating: defined for float32 and float64 only (the others for every dtype).

struct Add {
  template <typename T>
  CONVNET_HD T operator()(T a, T b) const { return static_cast<T>(a + b); }
};
struct Sub {
  template <typename T>
  CONVNET_HD T operator()(T a, T b) const { return static_cast<T>(a - b); }
};
struct Mul {
  template <typename T>
  CONVNET_HD T operator()(T a, T b) const { return static_cast<T>(a * b); }
};
struct Div {
  static constexpr bool kFloating = true;
  template <typename T>
  CONVNET_HD T operator()(T a, T b) const { return a / b; }
};

struct Eq {
  template <typename T>
  CONVNET_HD bool operator()(T a, T b) const { return a == b; }
};
struct Ne {
  template <typename T>
  CONVNET_HD bool operator()(T a, T b) const { return a != b; }
};
struct Lt {
  template <typename T>
  CONVNET_HD bool operator()(T a, T b) const { return a < b; }
};
struct Le {
  template <typename T>
  CONVNET_HD bool operator()(T a, T b) const { return a <= b; }
};
struct Gt {
  template <typename T>
  CONVNET_HD bool operator()(T a, T b) const { return a > b; }
};
struct Ge {
  template <typename T>
  CONVNET_HD bool operator()(T a, T b) const { return a >= b; }
};

struct Neg {
  template <typename T>
  CONVNET_HD T operator()(T x) const { return static_cast<T>(-x); }
};
struct Abs {
  template <typename T>
  CONVNET_HD T operator()(T x) const {
    if constexpr (std::is_unsigned_v<T>)  // uint8, bool
      return x;
    else if constexpr (std::is_floating_point_v<T>)  // -0 gives 0
      return abs(x);
    else
      return x < T(0) ? static_cast<T>(-x) : x;
  }
};
// -1, 0 or 1 (also the gradient of abs); 0 or 1 for unsigned types
struct Sign {
  template <typename T>
  CONVNET_HD T operator()(T x) const {
    if constexpr (std::is_unsigned_v<T>)  // uint8, bool
      return static_cast<T>(x > T(0));
    else
      return static_cast<T>((x > T(0)) - (x < T(0)));
  }
};
struct Exp {
  static constexpr bool kFloating = true;
  template <typename T>
  CONVNET_HD T operator()(T x) const { return exp(x); }
};
struct Log {
  static constexpr bool kFloating = true;
  template <typename T>
  CONVNET_HD T operator()(T x) const { return log(x); }
};
struct Sqrt {
  static constexpr bool kFloating = true;
  template <typename T>
  CONVNET_HD T operator()(T x) const { return sqrt(x); }
};
struct Pow {
  static constexpr bool kFloating = true;
  double e;
  template <typename T>
  CONVNET_HD T operator()(T x) const { return pow(x, static_cast<T>(e)); }
};
// 1 / sqrt(x)
struct Rsqrt {
  static constexpr bool kFloating = true;
  template <typename T>
  CONVNET_HD T operator()(T x) const { return T(1) / sqrt(x); }
};
// Rounding to an integral value (ops/elementwise.cpp copies integer tensors instead).
struct Floor {
  static constexpr bool kFloating = true;
  template <typename T>
  CONVNET_HD T operator()(T x) const { return floor(x); }
};
struct Ceil {
  static constexpr bool kFloating = true;
  template <typename T>
  CONVNET_HD T operator()(T x) const { return ceil(x); }
};
struct Trunc {
  static constexpr bool kFloating = true;
  template <typename T>
  CONVNET_HD T operator()(T x) const { return trunc(x); }
};
// Half to even at `decimals` digits, as torch.round: x 10^d rounded then divided by 10^d
// (for d < 0: x / 10^-d rounded then multiplied by 10^-d).
struct Round {
  static constexpr bool kFloating = true;
  int64_t decimals;
  template <typename T>
  CONVNET_HD T operator()(T x) const {
    if (decimals == 0) return nearbyint(x);
    T scale = 1;
    for (int64_t i = 0; i < (decimals < 0 ? -decimals : decimals); ++i) scale *= T(10);
    return decimals > 0 ? nearbyint(x * scale) / scale : nearbyint(x / scale) * scale;
  }
};

// a ** b: the C library's pow for floating types, repeated squaring for integers (0 for a
// negative exponent of a base other than 1 and -1).
struct PowTensor {
  template <typename T>
  CONVNET_HD T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      return pow(a, b);
    } else if constexpr (std::is_same_v<T, bool>) {
      return a || !b;
    } else {
      if constexpr (std::is_signed_v<T>) {
        if (b < 0) return a == 1 ? T(1) : a == T(-1) ? T(b % 2 ? -1 : 1) : T(0);
      }
      T r = 1, base = a;
      for (T e = b; e > 0; e /= 2) {
        if (e % 2) r = static_cast<T>(r * base);
        base = static_cast<T>(base * base);
      }
      return r;
    }
  }
};
// The exponent's gradient factor of a ** b: a^b log(a), 0 where a = 0 and b >= 0 (as PyTorch).
struct PowExponentGrad {
  static constexpr bool kFloating = true;
  template <typename T>
  CONVNET_HD T operator()(T a, T b) const { return a == T(0) && b >= T(0) ? T(0) : pow(a, b) * log(a); }
};
// a / b, 0 where b = 0 (the gradients of norms and std at a zero result, as PyTorch).
struct DivOrZero {
  static constexpr bool kFloating = true;
  template <typename T>
  CONVNET_HD T operator()(T a, T b) const { return b == T(0) ? T(0) : a / b; }
};

// The larger (smaller) of a and b; NaN when either is NaN (torch.maximum / minimum).
struct Maximum {
  template <typename T>
  CONVNET_HD T operator()(T a, T b) const { return a > b || a != a ? a : b; }
};
struct Minimum {
  template <typename T>
  CONVNET_HD T operator()(T a, T b) const { return a < b || a != a ? a : b; }
};

// Logical ops: nonzero is true; the result is bool.
struct LogicalAnd {
  template <typename T>
  CONVNET_HD bool operator()(T a, T b) const { return a != T(0) && b != T(0); }
};
struct LogicalOr {
  template <typename T>
  CONVNET_HD bool operator()(T a, T b) const { return a != T(0) || b != T(0); }
};
struct LogicalXor {
  template <typename T>
  CONVNET_HD bool operator()(T a, T b) const { return (a != T(0)) != (b != T(0)); }
};
struct LogicalNot {
  template <typename T>
  CONVNET_HD bool operator()(T x) const { return x == T(0); }
};
// Bitwise ops of integer and bool operands (ops/elementwise.cpp rejects floating ones).
struct BitwiseAnd {
  template <typename T>
  CONVNET_HD T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) return T(0);
    else return static_cast<T>(a & b);
  }
};
struct BitwiseOr {
  template <typename T>
  CONVNET_HD T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) return T(0);
    else return static_cast<T>(a | b);
  }
};
struct BitwiseXor {
  template <typename T>
  CONVNET_HD T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) return T(0);
    else return static_cast<T>(a ^ b);
  }
};
struct BitwiseNot {
  template <typename T>
  CONVNET_HD T operator()(T x) const {
    if constexpr (std::is_same_v<T, bool>) return !x;
    else if constexpr (std::is_floating_point_v<T>) return T(0);
    else return static_cast<T>(~x);
  }
};

// x c (gradient clipping's scaling, nn/utils.cpp)
struct Scale {
  static constexpr bool kFloating = true;
  double c;
  template <typename T>
  CONVNET_HD T operator()(T x) const { return x * static_cast<T>(c); }
};
// min(max(x, lo), hi), hi where lo > hi, as torch.clamp (nn/utils.cpp; clamp with number bounds)
struct Clamp {
  static constexpr bool kFloating = true;
  double lo, hi;
  template <typename T>
  CONVNET_HD T operator()(T x) const { return min(max(x, static_cast<T>(lo)), static_cast<T>(hi)); }
};

// kFloating of a functor: false unless it says otherwise.
template <typename F, typename = void>
struct floating_only {
  static constexpr bool value = false;
};
template <typename F>
struct floating_only<F, decltype(void(F::kFloating))> {
  static constexpr bool value = F::kFloating;
};

// ---- activations (ops/activation.cpp) ------------------------------------------------
// Each X has a gradient XGrad(s, dy) -> dx, where s is the saved output y for relu,
// sigmoid and tanh (their derivative is a function of it) and the input x for the others.
// The smooth ones have XGrad2(s, d) -> d * (d/ds of XGrad(s, 1)), the derivative of their
// derivative, which double backward (create_graph) needs; the piecewise linear ones need none.

constexpr double kSqrt1_2 = 0.7071067811865476, kSqrt2OverPi = 0.7978845608028654,
                 kInvSqrt2Pi = 0.3989422804014327, kGeluCube = 0.044715;  // gelu's constants

// NaN propagates (as PyTorch); -0 gives 0
struct Relu {
  template <typename T>
  CONVNET_HD T operator()(T v) const { return v <= 0 ? T(0) : v; }
};
// dy where y is positive or NaN, as PyTorch
struct ReluGrad {
  template <typename T>
  CONVNET_HD T operator()(T y, T d) const { return y <= 0 ? T(0) : d; }
};

struct LeakyRelu {
  double slope;
  template <typename T>
  CONVNET_HD T operator()(T v) const { return v > 0 ? v : v * static_cast<T>(slope); }
};
struct LeakyReluGrad {
  double slope;
  template <typename T>
  CONVNET_HD T operator()(T v, T d) const { return v > 0 ? d : d * static_cast<T>(slope); }
};

struct Sigmoid {
  template <typename T>
  CONVNET_HD T operator()(T v) const { return 1 / (1 + exp(-v)); }
};
struct SigmoidGrad {
  template <typename T>
  CONVNET_HD T operator()(T y, T d) const { return d * y * (1 - y); }
};
// d/dy of y (1 - y)
struct SigmoidGrad2 {
  template <typename T>
  CONVNET_HD T operator()(T y, T d) const { return d * (1 - 2 * y); }
};

struct Tanh {
  template <typename T>
  CONVNET_HD T operator()(T v) const { return tanh(v); }
};
struct TanhGrad {
  template <typename T>
  CONVNET_HD T operator()(T y, T d) const { return d * (1 - y * y); }
};
// d/dy of 1 - y^2
struct TanhGrad2 {
  template <typename T>
  CONVNET_HD T operator()(T y, T d) const { return d * -2 * y; }
};

// clamp to [lo, hi] (NaN stays NaN); gradient 0 at and beyond the bounds and at NaN, as PyTorch
struct Hardtanh {
  double lo, hi;
  template <typename T>
  CONVNET_HD T operator()(T v) const {
    const T l = static_cast<T>(lo), h = static_cast<T>(hi);
    return v < l ? l : v > h ? h : v;
  }
};
struct HardtanhGrad {
  double lo, hi;
  template <typename T>
  CONVNET_HD T operator()(T v, T d) const {
    return v > static_cast<T>(lo) && v < static_cast<T>(hi) ? d : T(0);
  }
};

struct Elu {
  double alpha;
  template <typename T>
  CONVNET_HD T operator()(T v) const { return v > 0 ? v : static_cast<T>(alpha) * expm1(v); }
};
struct EluGrad {
  double alpha;
  template <typename T>
  CONVNET_HD T operator()(T v, T d) const { return v > 0 ? d : d * static_cast<T>(alpha) * exp(v); }
};
struct EluGrad2 {
  double alpha;
  template <typename T>
  CONVNET_HD T operator()(T v, T d) const { return v > 0 ? T(0) : d * static_cast<T>(alpha) * exp(v); }
};

// x Φ(x), Φ with erf
struct Gelu {
  template <typename T>
  CONVNET_HD T operator()(T v) const { return T(0.5) * v * (1 + erf(v * T(kSqrt1_2))); }
};
struct GeluGrad {
  template <typename T>
  CONVNET_HD T operator()(T v, T d) const {
    return d * (T(0.5) * (1 + erf(v * T(kSqrt1_2))) + v * T(kInvSqrt2Pi) * exp(T(-0.5) * v * v));
  }
};
// d/dx of Φ(x) + x φ(x) = φ(x) (2 - x^2)
struct GeluGrad2 {
  template <typename T>
  CONVNET_HD T operator()(T v, T d) const { return d * T(kInvSqrt2Pi) * exp(T(-0.5) * v * v) * (2 - v * v); }
};

// the tanh approximation of gelu
struct GeluTanh {
  template <typename T>
  CONVNET_HD T operator()(T v) const {
    return T(0.5) * v * (1 + tanh(T(kSqrt2OverPi) * (v + T(kGeluCube) * v * v * v)));
  }
};
struct GeluTanhGrad {
  template <typename T>
  CONVNET_HD T operator()(T v, T d) const {
    const T t = tanh(T(kSqrt2OverPi) * (v + T(kGeluCube) * v * v * v));
    return d * (T(0.5) * (1 + t) + T(0.5) * v * (1 - t * t) * T(kSqrt2OverPi) * (1 + 3 * T(kGeluCube) * v * v));
  }
};
// with u = k (x + c x^3), t = tanh u: (1 - t^2) (u' - x t u'^2 + 3 k c x^2)
struct GeluTanhGrad2 {
  template <typename T>
  CONVNET_HD T operator()(T v, T d) const {
    const T t = tanh(T(kSqrt2OverPi) * (v + T(kGeluCube) * v * v * v));
    const T du = T(kSqrt2OverPi) * (1 + 3 * T(kGeluCube) * v * v);
    return d * (1 - t * t) * (du - v * t * du * du + 3 * T(kSqrt2OverPi) * T(kGeluCube) * v * v);
  }
};

struct Silu {
  template <typename T>
  CONVNET_HD T operator()(T v) const { return v / (1 + exp(-v)); }
};
struct SiluGrad {
  template <typename T>
  CONVNET_HD T operator()(T v, T d) const {
    const T s = 1 / (1 + exp(-v));
    return d * s * (1 + v * (1 - s));
  }
};
// d/dx of s (1 + x (1 - s)) = s (1 - s) (2 + x (1 - 2 s))
struct SiluGrad2 {
  template <typename T>
  CONVNET_HD T operator()(T v, T d) const {
    const T s = 1 / (1 + exp(-v));
    return d * s * (1 - s) * (2 + v * (1 - 2 * s));
  }
};

// log(1 + exp(beta x)) / beta, linear above threshold / beta, as PyTorch
struct Softplus {
  double beta, threshold;
  template <typename T>
  CONVNET_HD T operator()(T v) const {
    const T b = static_cast<T>(beta);
    return v * b > static_cast<T>(threshold) ? v : log1p(exp(v * b)) / b;
  }
};
struct SoftplusGrad {
  double beta, threshold;
  template <typename T>
  CONVNET_HD T operator()(T v, T d) const {
    const T b = static_cast<T>(beta);
    return v * b > static_cast<T>(threshold) ? d : d / (1 + exp(-v * b));
  }
};
struct SoftplusGrad2 {
  double beta, threshold;
  template <typename T>
  CONVNET_HD T operator()(T v, T d) const {
    const T b = static_cast<T>(beta);
    const T s = 1 / (1 + exp(-v * b));
    return v * b > static_cast<T>(threshold) ? T(0) : d * b * s * (1 - s);
  }
};

// G(s, 1) as a unary functor: the derivative of an activation at s
template <typename G>
struct AtOne {
  G g;
  template <typename T>
  CONVNET_HD T operator()(T s) const { return g(s, T(1)); }
};

// prelu: x where x > 0, else a x (a the row's weight)
template <typename T>
CONVNET_HD T prelu(T x, T a) {
  return x > 0 ? x : a * x;
}
// prelu's input gradient
template <typename T>
CONVNET_HD T prelu_grad(T x, T a, T d) {
  return x > 0 ? d : a * d;
}
// prelu's term of the weight gradient
template <typename T>
CONVNET_HD T prelu_weight_grad(T x, T d) {
  return x > 0 ? T(0) : x * d;
}

// ---- elementwise losses (ops/loss.cpp): x input, t target, w the element's weight,
// g the gradient weight of the element (dy times w).

// log(1 + exp(-x)) in a form that does not overflow
template <typename T>
CONVNET_HD_INLINE T softplus_neg(T x) {
  return log1p(exp(-abs(x))) + max(-x, T(0));
}

// -w (t max(log x, -100) + (1 - t) max(log(1 - x), -100))
template <typename T>
CONVNET_HD_INLINE T bce_loss(T x, T t, T w) {
  const T lx = max(log(x), T(-100)), l1x = max(log1p(-x), T(-100));
  return w * ((t - 1) * l1x - t * lx);
}
// dx = g (x - t) / max(x (1 - x), 1e-12)
template <typename T>
CONVNET_HD_INLINE T bce_grad_input(T x, T t, T g) {
  return g * (x - t) / max(x * (1 - x), T(1e-12));
}
// dt = g (max(log(1 - x), -100) - max(log x, -100))
template <typename T>
CONVNET_HD_INLINE T bce_grad_target(T x, T g) {
  return g * (max(log1p(-x), T(-100)) - max(log(x), T(-100)));
}

// With lw = 1 + (pw - 1) t: w ((1 - t) x + lw log(1 + exp(-x))); pw the weight of positive targets.
template <typename T>
CONVNET_HD_INLINE T bce_logits_loss(T x, T t, T w, T pw) {
  const T lw = 1 + (pw - 1) * t;
  return w * ((1 - t) * x + lw * softplus_neg(x));
}
// dx = g (lw sigmoid(x) - pw t)
template <typename T>
CONVNET_HD_INLINE T bce_logits_grad_input(T x, T t, T pw, T g) {
  return g * ((1 + (pw - 1) * t) / (1 + exp(-x)) - pw * t);
}
// dt = g (-x + (pw - 1) log(1 + exp(-x)))
template <typename T>
CONVNET_HD_INLINE T bce_logits_grad_target(T x, T pw, T g) {
  return g * (-x + (pw - 1) * softplus_neg(x));
}

// d = x - t: 0.5 d² / beta where |d| < beta, else |d| - 0.5 beta
template <typename T>
CONVNET_HD_INLINE T smooth_l1_loss(T x, T t, T beta) {
  const T d = abs(x - t);
  return d < beta ? T(0.5) * d * d / beta : d - T(0.5) * beta;
}
// dx = g (d / beta where |d| < beta, else sign(d)); the target's gradient is -dx
template <typename T>
CONVNET_HD_INLINE T smooth_l1_grad(T x, T t, T beta, T g) {
  const T d = x - t;
  return g * (abs(d) < beta ? d / beta : T((d > 0) - (d < 0)));
}

// exp(t) (t - x) with log_target, else xlogy(t, t) - t x (0 where t == 0)
template <typename T>
CONVNET_HD_INLINE T kl_div_loss(T x, T t, bool log_target) {
  return log_target ? exp(t) * (t - x) : (t == 0 ? T(0) : t * log(t)) - t * x;
}
// dx = -g exp(t) with log_target, else -g t
template <typename T>
CONVNET_HD_INLINE T kl_div_grad_input(T t, bool log_target, T g) {
  return log_target ? -g * exp(t) : -g * t;
}
// dt = g exp(t) (t - x + 1) with log_target, else g (xlogy(t != 0, t) + t / t - x)
// (NaN at t == 0, as PyTorch's composite)
template <typename T>
CONVNET_HD_INLINE T kl_div_grad_target(T x, T t, bool log_target, T g) {
  return log_target ? g * exp(t) * (t - x + 1) : g * ((t != 0 ? log(t) : T(0)) + t / t - x);
}

}  // namespace convnet::pw
