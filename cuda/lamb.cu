// LAMB's two passes over a list of tensors, one launch each (the rule: optim/updates.h).
#include "common.cuh"
#include "kernels.h"

namespace convnet::cuda {

namespace {

// one thread per element of the list's flat range
template <typename T>
__global__ void lamb_direction_kernel(optim::AdamHyper<T> h, TensorList<T> l) {
  CUDA_KERNEL_LOOP(e, l.total) {
    const int64_t i = l.tensor_of(e), j = e - l.offsets[i];
    optim::lamb_direction(h, static_cast<T>(l.scalar(0, i)), static_cast<T>(l.scalar(1, i)), l.operand(0, i)[j],
                          l.operand(1, i)[j], l.operand(2, i)[j], l.operand(3, i)[j], l.operand(4, i)[j]);
  }
}

// one thread per element of the list's flat range
template <typename T>
__global__ void lamb_update_kernel(TensorList<T> l) {
  CUDA_KERNEL_LOOP(e, l.total) {
    const int64_t i = l.tensor_of(e), j = e - l.offsets[i];
    optim::lamb_update(static_cast<T>(l.scalar(0, i)), l.operand(0, i)[j], l.operand(1, i)[j]);
  }
}

}  // namespace

// operands p, g, m, v, u (overwritten); scalars bias1, bias2
template <typename T>
void lamb_direction_cuda(const optim::AdamHyper<T>& h, const TensorList<T>& l) {
  if (l.total == 0) return;
  auto k = lamb_direction_kernel<T>;
  CONVNET_LAUNCH(k, l.total, h, l);
}

// operands p, u; scalar neg_step
template <typename T>
void lamb_update_cuda(const TensorList<T>& l) {
  if (l.total == 0) return;
  auto k = lamb_update_kernel<T>;
  CONVNET_LAUNCH(k, l.total, l);
}

template void lamb_direction_cuda<float>(const optim::AdamHyper<float>&, const TensorList<float>&);
template void lamb_direction_cuda<double>(const optim::AdamHyper<double>&, const TensorList<double>&);
template void lamb_update_cuda<float>(const TensorList<float>&);
template void lamb_update_cuda<double>(const TensorList<double>&);

}  // namespace convnet::cuda
