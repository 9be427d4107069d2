// NAdam update of a list of tensors in one launch (the rule: optim/updates.h).
#include "common.cuh"
#include "kernels.h"

namespace convnet::cuda {

namespace {

// one thread per element of the list's flat range
template <typename T>
__global__ void nadam_update_kernel(optim::AdamHyper<T> h, TensorList<T> l) {
  CUDA_KERNEL_LOOP(e, l.total) {
    const int64_t i = l.tensor_of(e), j = e - l.offsets[i];
    optim::nadam_update(h, static_cast<T>(l.scalar(0, i)), static_cast<T>(l.scalar(1, i)),
                        static_cast<T>(l.scalar(2, i)), l.operand(0, i)[j], l.operand(1, i)[j], l.operand(2, i)[j],
                        l.operand(3, i)[j]);
  }
}

}  // namespace

// operands p, g, m, v; scalars c_g, c_m, bias2
template <typename T>
void nadam_update_cuda(const optim::AdamHyper<T>& h, const TensorList<T>& l) {
  if (l.total == 0) return;
  auto k = nadam_update_kernel<T>;
  CONVNET_LAUNCH(k, l.total, h, l);
}

template void nadam_update_cuda<float>(const optim::AdamHyper<float>&, const TensorList<float>&);
template void nadam_update_cuda<double>(const optim::AdamHyper<double>&, const TensorList<double>&);

}  // namespace convnet::cuda
