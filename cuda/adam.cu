// Adam/AdamW update of a list of tensors in one launch (the rule: optim/updates.h).
#include "common.cuh"
#include "kernels.h"

namespace convnet::cuda {

namespace {

// one thread per element of the list's flat range
template <typename T>
__global__ void adam_update_kernel(optim::AdamHyper<T> h, TensorList<T> l) {
  CUDA_KERNEL_LOOP(e, l.total) {
    const int64_t i = l.tensor_of(e), j = e - l.offsets[i];
    T* vmax = l.operand(4, i);
    optim::adam_update(h, static_cast<T>(l.scalar(0, i)), static_cast<T>(l.scalar(1, i)), l.operand(0, i)[j],
                       l.operand(1, i)[j], l.operand(2, i)[j], l.operand(3, i)[j], vmax ? vmax + j : nullptr);
  }
}

}  // namespace

// operands p, g, m, v, vmax (null without amsgrad); scalars neg_step, bias2_sqrt
template <typename T>
void adam_update_cuda(const optim::AdamHyper<T>& h, const TensorList<T>& l) {
  if (l.total == 0) return;
  auto k = adam_update_kernel<T>;
  CONVNET_LAUNCH(k, l.total, h, l);
}

template void adam_update_cuda<float>(const optim::AdamHyper<float>&, const TensorList<float>&);
template void adam_update_cuda<double>(const optim::AdamHyper<double>&, const TensorList<double>&);

}  // namespace convnet::cuda
