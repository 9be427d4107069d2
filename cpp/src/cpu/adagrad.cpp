// Adagrad update of a list of tensors (the rule: optim/updates.h).
#include "isa.h"
#include "kernels.h"
#include "parallel_list.h"

namespace convnet::cpu {

// operands p, g, sum; scalar neg_clr
template <typename T>
void adagrad_update_cpu(const optim::AdagradHyper<T>& h, const TensorList<T>& l) {
  parallel_for_list(l, [&](int64_t i, int64_t b, int64_t e) {
    T* p = l.operand(0, i);
    const T* g = l.operand(1, i);
    T* sum = l.operand(2, i);
    const T neg_clr = static_cast<T>(l.scalar(0, i));
    cloned_for(b, e, [&](int64_t j) { optim::adagrad_update(h, neg_clr, p[j], g[j], sum[j]); });
  });
}

template void adagrad_update_cpu<float>(const optim::AdagradHyper<float>&, const TensorList<float>&);
template void adagrad_update_cpu<double>(const optim::AdagradHyper<double>&, const TensorList<double>&);

}  // namespace convnet::cpu
