// RAdam update of a list of tensors in one launch (the rule: optim/updates.h).
#include "common.cuh"
#include "kernels.h"

namespace convnet::cuda {

namespace {

// one thread per element of the list's flat range
template <typename T>
__global__ void radam_update_kernel(optim::AdamHyper<T> h, T lr, TensorList<T> l) {
  CUDA_KERNEL_LOOP(e, l.total) {
    const int64_t i = l.tensor_of(e), j = e - l.offsets[i];
    optim::radam_update(h, lr, static_cast<T>(l.scalar(0, i)), static_cast<T>(l.scalar(1, i)),
                        static_cast<T>(l.scalar(2, i)), l.operand(0, i)[j], l.operand(1, i)[j], l.operand(2, i)[j],
                        l.operand(3, i)[j]);
  }
}

}  // namespace

// operands p, g, m, v; scalars bias1, bias2_sqrt, rect (0: not rectified)
template <typename T>
void radam_update_cuda(const optim::AdamHyper<T>& h, T lr, const TensorList<T>& l) {
  if (l.total == 0) return;
  auto k = radam_update_kernel<T>;
  CONVNET_LAUNCH(k, l.total, h, lr, l);
}

template void radam_update_cuda<float>(const optim::AdamHyper<float>&, float, const TensorList<float>&);
template void radam_update_cuda<double>(const optim::AdamHyper<double>&, double, const TensorList<double>&);

}  // namespace convnet::cuda
