// Adagrad update of a list of tensors in one launch (the rule: optim/updates.h).
#include "common.cuh"
#include "kernels.h"

namespace convnet::cuda {

namespace {

// one thread per element of the list's flat range
template <typename T>
__global__ void adagrad_update_kernel(optim::AdagradHyper<T> h, TensorList<T> l) {
  CUDA_KERNEL_LOOP(e, l.total) {
    const int64_t i = l.tensor_of(e), j = e - l.offsets[i];
    optim::adagrad_update(h, static_cast<T>(l.scalar(0, i)), l.operand(0, i)[j], l.operand(1, i)[j],
                          l.operand(2, i)[j]);
  }
}

}  // namespace

// operands p, g, sum; scalar neg_clr
template <typename T>
void adagrad_update_cuda(const optim::AdagradHyper<T>& h, const TensorList<T>& l) {
  if (l.total == 0) return;
  auto k = adagrad_update_kernel<T>;
  CONVNET_LAUNCH(k, l.total, h, l);
}

template void adagrad_update_cuda<float>(const optim::AdagradHyper<float>&, const TensorList<float>&);
template void adagrad_update_cuda<double>(const optim::AdagradHyper<double>&, const TensorList<double>&);

}  // namespace convnet::cuda
