// Gradient clipping over a list of gradients (the rules: optim/updates.h). Each
// tensor's norm is the ordered merge of kNormParts partial accumulators, partial j
// taking elements j, j + kNormParts, ... (adjacent threads read adjacent elements),
// so norms do not depend on the launch geometry.
#include "common.cuh"
#include "kernels.h"

namespace convnet::cuda {

namespace {

constexpr int64_t kNormParts = 1024;  // partial accumulators per tensor

// g (count tensors); parts (count, kNormParts)
template <typename T>
__global__ void grad_norm_parts_kernel(optim::NormOrder o, TensorList<T> l, double* parts) {
  CUDA_KERNEL_LOOP(w, l.count * kNormParts) {
    const int64_t i = w / kNormParts;
    const T* g = l.operand(0, i);
    const int64_t n = l.offsets[i + 1] - l.offsets[i];
    double acc = optim::norm_start(o);
    for (int64_t e = w % kNormParts; e < n; e += kNormParts)
      acc = optim::norm_add(o, acc, ::fabs(static_cast<double>(g[e])));
    parts[w] = acc;
  }
}

// parts (count, kNormParts), norms (count)
template <typename T>
__global__ void grad_norm_merge_kernel(optim::NormOrder o, int64_t count, const double* parts, double* norms) {
  CUDA_KERNEL_LOOP(i, count) {
    double acc = optim::norm_start(o);
    for (int64_t j = 0; j < kNormParts; ++j) acc = optim::norm_merge(o, acc, parts[i * kNormParts + j]);
    norms[i] = static_cast<T>(optim::norm_finish(o, acc));
  }
}

template <typename T>
__global__ void grad_scale_kernel(TensorList<T> l, T c) {
  CUDA_KERNEL_LOOP(e, l.total) {
    const int64_t i = l.tensor_of(e);
    l.operand(0, i)[e - l.offsets[i]] *= c;
  }
}

template <typename T>
__global__ void grad_clamp_kernel(TensorList<T> l, T lo, T hi) {
  CUDA_KERNEL_LOOP(e, l.total) {
    const int64_t i = l.tensor_of(e);
    T& g = l.operand(0, i)[e - l.offsets[i]];
    g = optim::clamp_value(g, lo, hi);
  }
}

}  // namespace

// operand g; norms (count)
template <typename T>
void grad_norms_cuda(const optim::NormOrder& o, const TensorList<T>& l, double* norms) {
  if (l.count == 0) return;
  DeviceBuffer<double> parts(l.count * kNormParts);
  auto k1 = grad_norm_parts_kernel<T>;
  CONVNET_LAUNCH(k1, l.count * kNormParts, o, l, parts.get());
  auto k2 = grad_norm_merge_kernel<T>;
  CONVNET_LAUNCH(k2, l.count, o, l.count, parts.get(), norms);
}

template <typename T>
void grad_scale_cuda(const TensorList<T>& l, T c) {
  if (l.total == 0) return;
  auto k = grad_scale_kernel<T>;
  CONVNET_LAUNCH(k, l.total, l, c);
}

template <typename T>
void grad_clamp_cuda(const TensorList<T>& l, T lo, T hi) {
  if (l.total == 0) return;
  auto k = grad_clamp_kernel<T>;
  CONVNET_LAUNCH(k, l.total, l, lo, hi);
}

#define CONVNET_INSTANTIATE(T)                                                              \
  template void grad_norms_cuda<T>(const optim::NormOrder&, const TensorList<T>&, double*); \
  template void grad_scale_cuda<T>(const TensorList<T>&, T);                                \
  template void grad_clamp_cuda<T>(const TensorList<T>&, T, T);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cuda
