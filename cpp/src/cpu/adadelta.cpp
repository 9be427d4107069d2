// Adadelta update of a list of tensors (the rule: optim/updates.h).
#include "isa.h"
#include "kernels.h"
#include "parallel_list.h"

namespace convnet::cpu {

// operands p, g, s (square_avg), acc (acc_delta)
template <typename T>
void adadelta_update_cpu(const optim::AdadeltaHyper<T>& h, const TensorList<T>& l) {
  parallel_for_list(l, [&](int64_t i, int64_t b, int64_t e) {
    T* p = l.operand(0, i);
    const T* g = l.operand(1, i);
    T *s = l.operand(2, i), *acc = l.operand(3, i);
    cloned_for(b, e, [&](int64_t j) { optim::adadelta_update(h, p[j], g[j], s[j], acc[j]); });
  });
}

template void adadelta_update_cpu<float>(const optim::AdadeltaHyper<float>&, const TensorList<float>&);
template void adadelta_update_cpu<double>(const optim::AdadeltaHyper<double>&, const TensorList<double>&);

}  // namespace convnet::cpu
