// LAMB's two passes over a list of tensors (the rules: optim/updates.h); the per-tensor
// norms between them come from grad_norms (clip_grad.cpp).
#include "isa.h"
#include "kernels.h"
#include "parallel_list.h"

namespace convnet::cpu {

// operands p, g, m, v, u (overwritten); scalars bias1, bias2
template <typename T>
void lamb_direction_cpu(const optim::AdamHyper<T>& h, const TensorList<T>& l) {
  parallel_for_list(l, [&](int64_t i, int64_t b, int64_t e) {
    const T* p = l.operand(0, i);
    const T* g = l.operand(1, i);
    T *m = l.operand(2, i), *v = l.operand(3, i), *u = l.operand(4, i);
    const T bias1 = static_cast<T>(l.scalar(0, i)), bias2 = static_cast<T>(l.scalar(1, i));
    cloned_for(b, e, [&](int64_t j) { optim::lamb_direction(h, bias1, bias2, p[j], g[j], m[j], v[j], u[j]); });
  });
}

// operands p, u; scalar neg_step
template <typename T>
void lamb_update_cpu(const TensorList<T>& l) {
  parallel_for_list(l, [&](int64_t i, int64_t b, int64_t e) {
    T* p = l.operand(0, i);
    const T* u = l.operand(1, i);
    const T neg_step = static_cast<T>(l.scalar(0, i));
    cloned_for(b, e, [&](int64_t j) { optim::lamb_update(neg_step, p[j], u[j]); });
  });
}

#define CONVNET_INSTANTIATE(T)                                                                   \
  template void lamb_direction_cpu<T>(const optim::AdamHyper<T>&, const TensorList<T>&); \
  template void lamb_update_cpu<T>(const TensorList<T>&);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cpu
