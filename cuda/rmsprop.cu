// RMSprop update of a list of tensors in one launch (the rule: optim/updates.h).
#include "common.cuh"
#include "kernels.h"

namespace convnet::cuda {

namespace {

// one thread per element of the list's flat range
template <typename T>
__global__ void rmsprop_update_kernel(optim::RmspropHyper<T> h, TensorList<T> l) {
  CUDA_KERNEL_LOOP(e, l.total) {
    const int64_t i = l.tensor_of(e), j = e - l.offsets[i];
    T *buf = l.operand(3, i), *a = l.operand(4, i);
    optim::rmsprop_update(h, l.operand(0, i)[j], l.operand(1, i)[j], l.operand(2, i)[j], buf ? buf + j : nullptr,
                          a ? a + j : nullptr);
  }
}

}  // namespace

// operands p, g, s, buf (null without momentum), a (null unless centered)
template <typename T>
void rmsprop_update_cuda(const optim::RmspropHyper<T>& h, const TensorList<T>& l) {
  if (l.total == 0) return;
  auto k = rmsprop_update_kernel<T>;
  CONVNET_LAUNCH(k, l.total, h, l);
}

template void rmsprop_update_cuda<float>(const optim::RmspropHyper<float>&, const TensorList<float>&);
template void rmsprop_update_cuda<double>(const optim::RmspropHyper<double>&, const TensorList<double>&);

}  // namespace convnet::cuda
