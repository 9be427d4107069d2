// LARS update of a list of tensors (the rule: optim/updates.h).
#include "isa.h"
#include "kernels.h"
#include "parallel_list.h"

namespace convnet::cpu {

// operands p, g, buf (null without momentum); scalar scaled_lr
template <typename T>
void lars_update_cpu(const optim::LarsHyper<T>& h, const TensorList<T>& l) {
  parallel_for_list(l, [&](int64_t i, int64_t b, int64_t e) {
    T* p = l.operand(0, i);
    const T* g = l.operand(1, i);
    T* buf = l.operand(2, i);
    const T scaled_lr = static_cast<T>(l.scalar(0, i));
    cloned_for(b, e, [&](int64_t j) { optim::lars_update(h, scaled_lr, p[j], g[j], buf ? buf + j : nullptr); });
  });
}

template void lars_update_cpu<float>(const optim::LarsHyper<float>&, const TensorList<float>&);
template void lars_update_cpu<double>(const optim::LarsHyper<double>&, const TensorList<double>&);

}  // namespace convnet::cpu
