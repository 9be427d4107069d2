// NAdam update of a list of tensors (the rule: optim/updates.h).
#include "isa.h"
#include "kernels.h"
#include "parallel_list.h"

namespace convnet::cpu {

// operands p, g, m, v; scalars c_g, c_m, bias2
template <typename T>
void nadam_update_cpu(const optim::AdamHyper<T>& h, const TensorList<T>& l) {
  parallel_for_list(l, [&](int64_t i, int64_t b, int64_t e) {
    T* p = l.operand(0, i);
    const T* g = l.operand(1, i);
    T *m = l.operand(2, i), *v = l.operand(3, i);
    const T c_g = static_cast<T>(l.scalar(0, i)), c_m = static_cast<T>(l.scalar(1, i)),
            bias2 = static_cast<T>(l.scalar(2, i));
    cloned_for(b, e, [&](int64_t j) { optim::nadam_update(h, c_g, c_m, bias2, p[j], g[j], m[j], v[j]); });
  });
}

template void nadam_update_cpu<float>(const optim::AdamHyper<float>&, const TensorList<float>&);
template void nadam_update_cpu<double>(const optim::AdamHyper<double>&, const TensorList<double>&);

}  // namespace convnet::cpu
