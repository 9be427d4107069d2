// Elementwise ops on the GPU: the kernels of elementwise.cuh instantiated for the
// arithmetic, comparison, logical, bitwise and unary functors of pointwise.h (ops/elementwise.cpp, and
// Scale and Clamp for nn/utils.cpp).
#include "elementwise.cuh"
#include "pointwise.h"

namespace convnet::cuda {

#define CONVNET_BINARY(T, U, F) \
  template void binary_cuda<T, U, F>(const Broadcast&, const T*, const T*, U*, F);
#define CONVNET_UNARY(T, F) template void unary_cuda<T, T, F>(int64_t, const T*, T*, F);
#define CONVNET_PREDICATE(T, F) template void unary_cuda<T, bool, F>(int64_t, const T*, bool*, F);

// every dtype: arithmetic (div aside), comparisons, neg and abs
#define CONVNET_ALL_DTYPES(T)            \
  CONVNET_BINARY(T, T, pw::Add)          \
  CONVNET_BINARY(T, T, pw::Sub)          \
  CONVNET_BINARY(T, T, pw::Mul)          \
  CONVNET_BINARY(T, bool, pw::Eq)        \
  CONVNET_BINARY(T, bool, pw::Ne)        \
  CONVNET_BINARY(T, bool, pw::Lt)        \
  CONVNET_BINARY(T, bool, pw::Le)        \
  CONVNET_BINARY(T, bool, pw::Gt)        \
  CONVNET_BINARY(T, bool, pw::Ge)        \
  CONVNET_BINARY(T, T, pw::PowTensor)    \
  CONVNET_BINARY(T, T, pw::Maximum)      \
  CONVNET_BINARY(T, T, pw::Minimum)      \
  CONVNET_BINARY(T, bool, pw::LogicalAnd) \
  CONVNET_BINARY(T, bool, pw::LogicalOr) \
  CONVNET_BINARY(T, bool, pw::LogicalXor) \
  CONVNET_BINARY(T, T, pw::BitwiseAnd)   \
  CONVNET_BINARY(T, T, pw::BitwiseOr)    \
  CONVNET_BINARY(T, T, pw::BitwiseXor)   \
  CONVNET_PREDICATE(T, pw::LogicalNot)   \
  CONVNET_UNARY(T, pw::BitwiseNot)       \
  CONVNET_UNARY(T, pw::Sign)             \
  CONVNET_UNARY(T, pw::Neg)              \
  CONVNET_UNARY(T, pw::Abs)
CONVNET_ALL_DTYPES(float)
CONVNET_ALL_DTYPES(double)
CONVNET_ALL_DTYPES(int64_t)
CONVNET_ALL_DTYPES(int32_t)
CONVNET_ALL_DTYPES(uint8_t)
CONVNET_ALL_DTYPES(bool)

// float32 and float64 only
#define CONVNET_FLOATING(T)    \
  CONVNET_BINARY(T, T, pw::Div) \
  CONVNET_BINARY(T, T, pw::PowExponentGrad) \
  CONVNET_BINARY(T, T, pw::DivOrZero) \
  CONVNET_UNARY(T, pw::Rsqrt)   \
  CONVNET_UNARY(T, pw::Floor)   \
  CONVNET_UNARY(T, pw::Ceil)    \
  CONVNET_UNARY(T, pw::Trunc)   \
  CONVNET_UNARY(T, pw::Round)   \
  CONVNET_UNARY(T, pw::Exp)     \
  CONVNET_UNARY(T, pw::Log)     \
  CONVNET_UNARY(T, pw::Sqrt)    \
  CONVNET_UNARY(T, pw::Pow)     \
  CONVNET_UNARY(T, pw::Scale)   \
  CONVNET_UNARY(T, pw::Clamp)
CONVNET_FLOATING(float)
CONVNET_FLOATING(double)

#undef CONVNET_FLOATING
#undef CONVNET_ALL_DTYPES
#undef CONVNET_PREDICATE
#undef CONVNET_UNARY
#undef CONVNET_BINARY

}  // namespace convnet::cuda
