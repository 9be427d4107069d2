// RAdam update of a list of tensors (the rule: optim/updates.h).
#include "isa.h"
#include "kernels.h"
#include "parallel_list.h"

namespace convnet::cpu {

// operands p, g, m, v; scalars bias1, bias2_sqrt, rect (0: not rectified)
template <typename T>
void radam_update_cpu(const optim::AdamHyper<T>& h, T lr, const TensorList<T>& l) {
  parallel_for_list(l, [&](int64_t i, int64_t b, int64_t e) {
    T* p = l.operand(0, i);
    const T* g = l.operand(1, i);
    T *m = l.operand(2, i), *v = l.operand(3, i);
    const T bias1 = static_cast<T>(l.scalar(0, i)), bias2_sqrt = static_cast<T>(l.scalar(1, i)),
            rect = static_cast<T>(l.scalar(2, i));
    cloned_for(b, e, [&](int64_t j) { optim::radam_update(h, lr, bias1, bias2_sqrt, rect, p[j], g[j], m[j], v[j]); });
  });
}

template void radam_update_cpu<float>(const optim::AdamHyper<float>&, float, const TensorList<float>&);
template void radam_update_cpu<double>(const optim::AdamHyper<double>&, double, const TensorList<double>&);

}  // namespace convnet::cpu
