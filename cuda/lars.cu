// LARS update of a list of tensors in one launch (the rule: optim/updates.h).
#include "common.cuh"
#include "kernels.h"

namespace convnet::cuda {

namespace {

// one thread per element of the list's flat range
template <typename T>
__global__ void lars_update_kernel(optim::LarsHyper<T> h, TensorList<T> l) {
  CUDA_KERNEL_LOOP(e, l.total) {
    const int64_t i = l.tensor_of(e), j = e - l.offsets[i];
    T* buf = l.operand(2, i);
    optim::lars_update(h, static_cast<T>(l.scalar(0, i)), l.operand(0, i)[j], l.operand(1, i)[j],
                       buf ? buf + j : nullptr);
  }
}

}  // namespace

// operands p, g, buf (null without momentum); scalar scaled_lr
template <typename T>
void lars_update_cuda(const optim::LarsHyper<T>& h, const TensorList<T>& l) {
  if (l.total == 0) return;
  auto k = lars_update_kernel<T>;
  CONVNET_LAUNCH(k, l.total, h, l);
}

template void lars_update_cuda<float>(const optim::LarsHyper<float>&, const TensorList<float>&);
template void lars_update_cuda<double>(const optim::LarsHyper<double>&, const TensorList<double>&);

}  // namespace convnet::cuda
