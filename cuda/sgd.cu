// SGD update of a list of tensors in one launch (the rule: optim/updates.h).
#include "common.cuh"
#include "kernels.h"

namespace convnet::cuda {

namespace {

// one thread per element of the list's flat range
template <typename T>
__global__ void sgd_update_kernel(optim::SgdHyper<T> h, TensorList<T> l) {
  CUDA_KERNEL_LOOP(e, l.total) {
    const int64_t i = l.tensor_of(e), j = e - l.offsets[i];
    T* buf = l.operand(2, i);
    optim::sgd_update(h, l.scalar(0, i) != 0, l.operand(0, i)[j], l.operand(1, i)[j], buf ? buf + j : nullptr);
  }
}

}  // namespace

// operands p, g, buf (null without momentum); scalar first
template <typename T>
void sgd_update_cuda(const optim::SgdHyper<T>& h, const TensorList<T>& l) {
  if (l.total == 0) return;
  auto k = sgd_update_kernel<T>;
  CONVNET_LAUNCH(k, l.total, h, l);
}

template void sgd_update_cuda<float>(const optim::SgdHyper<float>&, const TensorList<float>&);
template void sgd_update_cuda<double>(const optim::SgdHyper<double>&, const TensorList<double>&);

}  // namespace convnet::cuda
