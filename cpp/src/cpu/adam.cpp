// Adam/AdamW update of a list of tensors (the rule: optim/updates.h).
#include "isa.h"
#include "kernels.h"
#include "parallel_list.h"

namespace convnet::cpu {

// operands p, g, m, v, vmax (null without amsgrad); scalars neg_step, bias2_sqrt
template <typename T>
void adam_update_cpu(const optim::AdamHyper<T>& h, const TensorList<T>& l) {
  parallel_for_list(l, [&](int64_t i, int64_t b, int64_t e) {
    T* p = l.operand(0, i);
    const T* g = l.operand(1, i);
    T *m = l.operand(2, i), *v = l.operand(3, i), *vmax = l.operand(4, i);
    const T neg_step = static_cast<T>(l.scalar(0, i)), bias2_sqrt = static_cast<T>(l.scalar(1, i));
    cloned_for(b, e, [&](int64_t j) { optim::adam_update(h, neg_step, bias2_sqrt, p[j], g[j], m[j], v[j], vmax ? vmax + j : nullptr); });
  });
}

template void adam_update_cpu<float>(const optim::AdamHyper<float>&, const TensorList<float>&);
template void adam_update_cpu<double>(const optim::AdamHyper<double>&, const TensorList<double>&);

}  // namespace convnet::cpu
