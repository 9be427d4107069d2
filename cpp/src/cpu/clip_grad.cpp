// Gradient clipping over a list of gradients (the rules: optim/updates.h). Norms are
// accumulated in double over fixed blocks merged in order, so they do not depend on
// the thread count.
#include <cmath>
#include <vector>

#include "kernels.h"
#include "parallel_list.h"

namespace convnet::cpu {

namespace {

constexpr int64_t kNormBlock = 16384;  // elements per partial accumulator

// The norm of order o of x (n), in double.
template <typename T>
double vector_norm(const optim::NormOrder& o, const T* x, int64_t n) {
  const int64_t blocks = (n + kNormBlock - 1) / kNormBlock;
  std::vector<double> part(blocks);
  parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      double acc = optim::norm_start(o);
      for (int64_t i = b * kNormBlock, e = std::min(n, i + kNormBlock); i < e; ++i)
        acc = optim::norm_add(o, acc, std::abs(static_cast<double>(x[i])));
      part[b] = acc;
    }
  });
  double acc = optim::norm_start(o);
  for (double v : part) acc = optim::norm_merge(o, acc, v);
  return optim::norm_finish(o, acc);
}

}  // namespace

// operand g; norms (count)
template <typename T>
void grad_norms_cpu(const optim::NormOrder& o, const TensorList<T>& l, double* norms) {
  for (int64_t i = 0; i < l.count; ++i)
    norms[i] = static_cast<T>(vector_norm(o, l.operand(0, i), l.offsets[i + 1] - l.offsets[i]));
}

template <typename T>
void grad_scale_cpu(const TensorList<T>& l, T c) {
  parallel_for_list(l, [&](int64_t i, int64_t b, int64_t e) {
    T* g = l.operand(0, i);
    for (int64_t j = b; j < e; ++j) g[j] *= c;
  });
}

template <typename T>
void grad_clamp_cpu(const TensorList<T>& l, T lo, T hi) {
  parallel_for_list(l, [&](int64_t i, int64_t b, int64_t e) {
    T* g = l.operand(0, i);
    for (int64_t j = b; j < e; ++j) g[j] = optim::clamp_value(g[j], lo, hi);
  });
}

#define CONVNET_INSTANTIATE(T)                                                             \
  template void grad_norms_cpu<T>(const optim::NormOrder&, const TensorList<T>&, double*); \
  template void grad_scale_cpu<T>(const TensorList<T>&, T);                                \
  template void grad_clamp_cpu<T>(const TensorList<T>&, T, T);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cpu
