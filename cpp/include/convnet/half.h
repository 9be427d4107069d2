// The 16-bit floating point formats of mixed precision, as bit patterns with
// conversions to and from float (round to nearest even), for host and device code.
#pragma once
#include <cstdint>
#include <type_traits>

#if defined(__CUDACC__)
#define CONVNET_HD __host__ __device__
#else
#define CONVNET_HD
#endif

namespace convnet {

struct bfloat16 {
  uint16_t bits;
};
struct float16 {
  uint16_t bits;
};

namespace half_detail {
union Bits {
  float f;
  uint32_t u;
};
}  // namespace half_detail

CONVNET_HD inline float to_float(bfloat16 h) {
  half_detail::Bits b;
  b.u = static_cast<uint32_t>(h.bits) << 16;
  return b.f;
}

CONVNET_HD inline bfloat16 to_bfloat16(float f) {
  half_detail::Bits b;
  b.f = f;
  if ((b.u & 0x7fffffffu) > 0x7f800000u) return {static_cast<uint16_t>((b.u >> 16) | 0x40)};  // quiet NaN
  uint32_t rounding = 0x7fffu + ((b.u >> 16) & 1u);
  return {static_cast<uint16_t>((b.u + rounding) >> 16)};
}

CONVNET_HD inline float to_float(float16 h) {
  uint32_t sign = static_cast<uint32_t>(h.bits & 0x8000u) << 16;
  uint32_t exp = (h.bits >> 10) & 0x1fu, man = h.bits & 0x3ffu;
  half_detail::Bits b;
  if (exp == 0x1f) {
    b.u = sign | 0x7f800000u | (man << 13);  // inf, NaN
  } else if (exp != 0) {
    b.u = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man == 0) {
    b.u = sign;
  } else {  // subnormal: man * 2^-24
    b.f = static_cast<float>(man) * 5.9604644775390625e-08f;
    b.u |= sign;
  }
  return b.f;
}

CONVNET_HD inline float16 to_float16(float f) {
  half_detail::Bits b;
  b.f = f;
  uint32_t sign = (b.u >> 16) & 0x8000u, a = b.u & 0x7fffffffu;
  if (a > 0x7f800000u) return {static_cast<uint16_t>(sign | 0x7e00u)};   // NaN
  if (a >= 0x477ff000u) return {static_cast<uint16_t>(sign | 0x7c00u)};  // rounds to inf
  if (a < 0x38800000u) {  // subnormal or zero in half: round a * 2^24 to an integer
    half_detail::Bits v;
    v.u = a;
    float scaled = v.f * 16777216.0f;
    uint32_t m = static_cast<uint32_t>(scaled);
    float rest = scaled - static_cast<float>(m);
    if (rest > 0.5f || (rest == 0.5f && (m & 1u))) ++m;
    return {static_cast<uint16_t>(sign | m)};
  }
  uint32_t rounding = 0xfffu + ((a >> 13) & 1u);
  return {static_cast<uint16_t>(sign | ((a - (112u << 23) + rounding) >> 13))};
}

template <typename T>
inline constexpr bool is_half_v = std::is_same_v<T, bfloat16> || std::is_same_v<T, float16>;

// static_cast<D>(v) between any two element types of convnet, the 16-bit ones through float:
// a 16-bit value widens exactly, a wider one narrows to float first (as PyTorch's Half and
// BFloat16 do) and then rounds to nearest even.
template <typename D, typename S>
CONVNET_HD inline D convert(S v) {
  if constexpr (is_half_v<S>) {
    return convert<D>(to_float(v));
  } else if constexpr (std::is_same_v<D, bfloat16>) {
    return to_bfloat16(static_cast<float>(v));
  } else if constexpr (std::is_same_v<D, float16>) {
    return to_float16(static_cast<float>(v));
  } else {
    return static_cast<D>(v);
  }
}

}  // namespace convnet
