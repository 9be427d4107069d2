// RMSprop update of a list of tensors (the rule: optim/updates.h).
#include "isa.h"
#include "kernels.h"
#include "parallel_list.h"

namespace convnet::cpu {

// operands p, g, s, buf (null without momentum), a (null unless centered)
template <typename T>
void rmsprop_update_cpu(const optim::RmspropHyper<T>& h, const TensorList<T>& l) {
  parallel_for_list(l, [&](int64_t i, int64_t b, int64_t e) {
    T* p = l.operand(0, i);
    const T* g = l.operand(1, i);
    T *s = l.operand(2, i), *buf = l.operand(3, i), *a = l.operand(4, i);
    cloned_for(b, e, [&](int64_t j) {
      optim::rmsprop_update(h, p[j], g[j], s[j], buf ? buf + j : nullptr, a ? a + j : nullptr);
    });
  });
}

template void rmsprop_update_cpu<float>(const optim::RmspropHyper<float>&, const TensorList<float>&);
template void rmsprop_update_cpu<double>(const optim::RmspropHyper<double>&, const TensorList<double>&);

}  // namespace convnet::cpu
