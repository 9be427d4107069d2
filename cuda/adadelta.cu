// Adadelta update of a list of tensors in one launch (the rule: optim/updates.h).
#include "common.cuh"
#include "kernels.h"

namespace convnet::cuda {

namespace {

// one thread per element of the list's flat range
template <typename T>
__global__ void adadelta_update_kernel(optim::AdadeltaHyper<T> h, TensorList<T> l) {
  CUDA_KERNEL_LOOP(e, l.total) {
    const int64_t i = l.tensor_of(e), j = e - l.offsets[i];
    optim::adadelta_update(h, l.operand(0, i)[j], l.operand(1, i)[j], l.operand(2, i)[j], l.operand(3, i)[j]);
  }
}

}  // namespace

// operands p, g, s (square_avg), acc (acc_delta)
template <typename T>
void adadelta_update_cuda(const optim::AdadeltaHyper<T>& h, const TensorList<T>& l) {
  if (l.total == 0) return;
  auto k = adadelta_update_kernel<T>;
  CONVNET_LAUNCH(k, l.total, h, l);
}

template void adadelta_update_cuda<float>(const optim::AdadeltaHyper<float>&, const TensorList<float>&);
template void adadelta_update_cuda<double>(const optim::AdadeltaHyper<double>&, const TensorList<double>&);

}  // namespace convnet::cuda
