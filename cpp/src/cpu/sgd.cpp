// SGD update of a list of tensors (the rule: optim/updates.h).
#include "isa.h"
#include "kernels.h"
#include "parallel_list.h"

namespace convnet::cpu {

// operands p, g, buf (null without momentum); scalar first
template <typename T>
void sgd_update_cpu(const optim::SgdHyper<T>& h, const TensorList<T>& l) {
  parallel_for_list(l, [&](int64_t i, int64_t b, int64_t e) {
    T* p = l.operand(0, i);
    const T* g = l.operand(1, i);
    T* buf = l.operand(2, i);
    const bool first = l.scalar(0, i) != 0;
    cloned_for(b, e, [&](int64_t j) { optim::sgd_update(h, first, p[j], g[j], buf ? buf + j : nullptr); });
  });
}

template void sgd_update_cpu<float>(const optim::SgdHyper<float>&, const TensorList<float>&);
template void sgd_update_cpu<double>(const optim::SgdHyper<double>&, const TensorList<double>&);

}  // namespace convnet::cpu
