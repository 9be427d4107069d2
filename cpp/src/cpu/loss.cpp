// CPU loss kernels: cross entropy on logits and negative log-likelihood on
// log-probabilities. N batch, C classes, L positions per sample (the product of
// the trailing dimensions, 1 for plain (N,C) logits); x (N,C,L), target (N,L).
// A target equal to ignore_index gives loss 0 and gradient 0. The gradient of
// sample i is scaled by w[i * w_step]: dy per sample (reduction "none",
// w_step 1) or one weight for all samples (w_step 0). Backward kernels
// overwrite dx; autograd accumulates (+=) it into .grad.
#include <algorithm>
#include <cmath>

#include "kernels.h"
#include "parallel.h"

namespace convnet::cpu {

// x (N,C,L), target (N,L), loss (N,L), lse (N,L)
template <typename T>
void cross_entropy_forward_cpu(int64_t N, int64_t C, int64_t L, int64_t ignore_index,
                               const T* x, const int64_t* target, T* loss, T* lse) {
  parallel_for(N * L, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(C, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t i = b; i < e; ++i) {
                   const T* p = x + (i / L) * C * L + i % L;
                   T m = p[0];
                   for (int64_t c = 1; c < C; ++c) m = std::max(m, p[c * L]);
                   T acc = 0;
                   for (int64_t c = 0; c < C; ++c) acc += std::exp(p[c * L] - m);
                   lse[i] = m + std::log(acc);
                   loss[i] = target[i] == ignore_index ? T(0) : lse[i] - p[target[i] * L];
                 }
               });
}

// x (N,C,L), target (N,L), lse (N,L), w (N,L) or (1), dx (N,C,L):
// dx = w (softmax(x) - onehot(target)), recomputing the softmax from x and lse.
template <typename T>
void cross_entropy_backward_cpu(int64_t N, int64_t C, int64_t L, int64_t ignore_index,
                                const T* x, const int64_t* target, const T* lse, const T* w,
                                int64_t w_step, T* dx) {
  parallel_for(N * L, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(C, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t i = b; i < e; ++i) {
                   int64_t base = (i / L) * C * L + i % L;
                   if (target[i] == ignore_index) {
                     for (int64_t c = 0; c < C; ++c) dx[base + c * L] = 0;
                     continue;
                   }
                   const T wi = w[i * w_step];
                   for (int64_t c = 0; c < C; ++c)
                     dx[base + c * L] = wi * std::exp(x[base + c * L] - lse[i]);
                   dx[base + target[i] * L] -= wi;
                 }
               });
}

// x (N,C,L), target (N,L), loss (N,L): loss = -x at the target class.
template <typename T>
void nll_loss_forward_cpu(int64_t N, int64_t C, int64_t L, int64_t ignore_index, const T* x,
                          const int64_t* target, T* loss) {
  for (int64_t i = 0; i < N * L; ++i)
    loss[i] = target[i] == ignore_index ? T(0) : -x[(i / L) * C * L + target[i] * L + i % L];
}

// target (N,L), w (N,L) or (1), dx (N,C,L): -w at the target class, 0 elsewhere.
template <typename T>
void nll_loss_backward_cpu(int64_t N, int64_t C, int64_t L, int64_t ignore_index,
                           const int64_t* target, const T* w, int64_t w_step, T* dx) {
  std::fill(dx, dx + N * C * L, T(0));
  for (int64_t i = 0; i < N * L; ++i)
    if (target[i] != ignore_index) dx[(i / L) * C * L + target[i] * L + i % L] = -w[i * w_step];
}

#define CONVNET_INSTANTIATE(T)                                                                   \
  template void cross_entropy_forward_cpu<T>(int64_t, int64_t, int64_t, int64_t, const T*,       \
                                             const int64_t*, T*, T*);                            \
  template void cross_entropy_backward_cpu<T>(int64_t, int64_t, int64_t, int64_t, const T*,      \
                                              const int64_t*, const T*, const T*, int64_t, T*);  \
  template void nll_loss_forward_cpu<T>(int64_t, int64_t, int64_t, int64_t, const T*,            \
                                        const int64_t*, T*);                                     \
  template void nll_loss_backward_cpu<T>(int64_t, int64_t, int64_t, int64_t, const int64_t*,     \
                                         const T*, int64_t, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cpu
