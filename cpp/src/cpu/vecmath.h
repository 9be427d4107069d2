// float32 exp, expm1, log, log1p, tanh and erf for the CPU kernels' inner loops, in place of
// the C library's scalar calls (which stop the compiler from vectorizing a loop). Each is
// branch-free straight-line code on one float — range reduction, a polynomial, selects for
// the special values — so that a loop over an array inside a CONVNET_CPU_CLONES function
// vectorizes to the clone's width (SSE2, AVX2 + FMA, AVX-512). Polynomials after Cephes (exp,
// log, tanh) and least-squares fits (erf: erf(x)/x below 1, log erfc above). Max errors over
// every 61st float32 against float64: exp 1.0, expm1 1.6, log 0.8, log1p 2.4, tanh 1.3, erf 2.1
// ulp (tests/ops/test_vecmath.py asserts bounds through the ops); ±inf, NaN, ±0, overflow,
// underflow and denormals give the C library's results. float64 keeps the C library's functions (pointwise.h).
#pragma once
#include <cstdint>
#include <cstring>

#define CONVNET_VM_INLINE inline __attribute__((always_inline))

namespace convnet::vm {

CONVNET_VM_INLINE int32_t bits(float x) {
  int32_t i;
  std::memcpy(&i, &x, sizeof i);
  return i;
}
CONVNET_VM_INLINE float from_bits(int32_t i) {
  float x;
  std::memcpy(&x, &i, sizeof x);
  return x;
}
// 2^n for an integer n in [-126, 127]. Shifted unsigned: a NaN input reaches here with a huge n,
// whose result its caller discards, and a signed shift out of range would be undefined.
CONVNET_VM_INLINE float pow2i(int32_t n) { return from_bits(static_cast<int32_t>(static_cast<uint32_t>(n + 127) << 23)); }
CONVNET_VM_INLINE float fabs(float x) { return from_bits(bits(x) & 0x7fffffff); }
// |x| with the sign of s
CONVNET_VM_INLINE float copysign(float x, float s) {
  return from_bits((bits(x) & 0x7fffffff) | (bits(s) & int32_t(0x80000000u)));
}
// lo <= x <= hi clamped; NaN stays NaN
CONVNET_VM_INLINE float clamp(float x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }

// x = n ln2 + r, |r| <= ln2 / 2; x must lie within ±2^22 (callers clamp it). n as a float
// and as an integer, r returned.
CONVNET_VM_INLINE float reduce_ln2(float x, float& nf, int32_t& n) {
  constexpr float kLog2e = 1.44269504088896341f, kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  constexpr float kRound = 12582912.0f;  // 1.5 2^23: adding it rounds to an integer
  const float t = x * kLog2e + kRound;
  nf = t - kRound;
  n = bits(t) - bits(kRound);
  return (x - nf * kLn2Hi) - nf * kLn2Lo;
}

// e^r - 1 - r - r²/2 over r², |r| <= ln2 / 2 (Cephes expf)
CONVNET_VM_INLINE float expm1_poly(float r) {
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  return p * (r * r) + r;
}

CONVNET_VM_INLINE float exp(float x) {
  constexpr float kMax = 88.72283935546875f, kMin = -103.97208404541016f;
  float nf;
  int32_t n;
  const float r = reduce_ln2(clamp(x, kMin, kMax), nf, n);
  // 2^n in two factors, each a normal float for n in [-150, 128]
  const int32_t n1 = n >> 1;
  const float y = (expm1_poly(r) + 1.0f) * pow2i(n1) * pow2i(n - n1);
  return x > kMax ? __builtin_inff() : x < kMin ? 0.0f : y;  // NaN: y is NaN
}

CONVNET_VM_INLINE float expm1(float x) {
  // below -25, e^x - 1 rounds to -1
  constexpr float kMax = 88.72283935546875f, kMin = -25.0f;
  float nf;
  int32_t n;
  const float r = reduce_ln2(clamp(x, kMin, kMax), nf, n);
  // 2^n (em + 1) - 1 = 2 (s em + (s - 1/2)) with s = 2^(n-1), n in [-36, 128]
  const float s = pow2i(n - 1);
  const float y = 2.0f * (s * expm1_poly(r) + (s - 0.5f));
  // |x| < 2^-24 (±0 and denormals too): e^x - 1 rounds to x
  return x > kMax ? __builtin_inff() : fabs(x) < 5.9604645e-8f ? x : y;  // NaN: y is NaN
}

CONVNET_VM_INLINE float log(float x) {
  constexpr float kSqrtHalf = 0.707106781186547524f;
  // denormals scaled into the normal range first
  const bool tiny = x < 1.17549435e-38f;
  const float xs = tiny ? x * 8388608.0f : x;  // 2^23
  const int32_t b = bits(xs);
  // xs = m 2^e with m in [sqrt(1/2), sqrt(2))
  float m = from_bits((b & 0x007fffff) | 0x3f000000);  // [1/2, 1)
  float e = float((b >> 23) - 126) - (tiny ? 23.0f : 0.0f);
  const bool low = m < kSqrtHalf;
  e = low ? e - 1.0f : e;
  m = (low ? m + m : m) - 1.0f;
  const float z = m * m;
  float p = 7.0376836292e-2f;
  p = p * m - 1.1514610310e-1f;
  p = p * m + 1.1676998740e-1f;
  p = p * m - 1.2420140846e-1f;
  p = p * m + 1.4249322787e-1f;
  p = p * m - 1.6668057665e-1f;
  p = p * m + 2.0000714765e-1f;
  p = p * m - 2.4999993993e-1f;
  p = p * m + 3.3333331174e-1f;
  float y = p * m * z;
  y += -2.12194440e-4f * e;
  y += -0.5f * z;
  y = (m + y) + 0.693359375f * e;
  // x < 0 and NaN: NaN; 0: -inf; +inf: +inf
  return x == 0.0f ? -__builtin_inff() : x == __builtin_inff() ? x : !(x > 0.0f) ? __builtin_nanf("") : y;
}

CONVNET_VM_INLINE float log1p(float x) {
  // log(u) x / (u - 1) with u = 1 + x corrects the rounding of u (Goldberg)
  const float u = 1.0f + x;
  const float d = u - 1.0f;
  const float y = log(u) * (x / d);
  return d == 0.0f ? x : x == __builtin_inff() ? x : y;  // -1: -inf; below -1 and NaN: NaN
}

CONVNET_VM_INLINE float tanh(float x) {
  const float a = fabs(x);
  // |x| < 0.625: x + x³ P(x²) (Cephes tanhf)
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = p * z * a + a;
  // else 1 - 2 / (e^2|x| + 1), 1 for large |x| (e^2|x| overflows to inf)
  const float large = 1.0f - 2.0f / (exp(2.0f * a) + 1.0f);
  return copysign(a < 0.625f ? small : large, x);  // NaN: large is NaN
}

CONVNET_VM_INLINE float erf(float x) {
  const float a = fabs(x);
  const float s = x * x;
  // |x| < 1: x + x P(x²), P a least-squares fit of erf(x)/x - 1 in x² (max error 0.2 ulp)
  float p = 8.00684210844338e-05f;
  p = p * s - 8.053741184994578e-04f;
  p = p * s + 5.192956887185574e-03f;
  p = p * s - 2.6856068521738052e-02f;
  p = p * s + 1.1283634603023529e-01f;
  p = p * s - 3.761262893676758e-01f;
  p = p * s + 1.2837916612625122e-01f;
  const float small = p * x + x;
  // else 1 - e^Q(|x|), Q(t) a weighted least-squares fit of log erfc(t) on [1, 4] in t - 5/2
  // (max error 0.1 ulp of erf); erf rounds to ±1 beyond |x| = 4
  const float w = (a < 4.0f ? a : 4.0f) - 2.5f;
  float q = 5.468826316246123e-07f;
  q = q * w - 1.8649652702151798e-05f;
  q = q * w + 6.818436668254435e-05f;
  q = q * w - 4.2515472159720957e-04f;
  q = q * w + 2.167605794966221e-03f;
  q = q * w - 1.0855223052203655e-02f;
  q = q * w - 9.438929557800293e-01f;
  q = q * w - 5.352680683135986f;
  q = q * w - 7.806815147399902f;
  const float large = copysign(-expm1(q), x);
  return a < 1.0f || x != x ? small : large;  // NaN: small is NaN
}

}  // namespace convnet::vm

#undef CONVNET_VM_INLINE
