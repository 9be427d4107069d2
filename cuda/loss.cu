// Loss kernels on the GPU, with the formulas of pointwise.h and rowwise.h. Classification:
// x (N,C,L), target (N,L), class weights cw (C) or null; forward runs one thread per sample
// (n,l) over its C classes, backward one thread per element of dx. Elementwise losses: one
// thread per element. The gradient of sample i is scaled by w[i * w_step] (g[i * g_step]).
// Backward kernels overwrite dx (and dt unless null); autograd accumulates (+=) them.
#include "common.cuh"
#include "kernels.h"
#include "rowwise.h"

namespace convnet::cuda {

using pw::weight_or_one;

namespace {

// ---- classification -----------------------------------------------------------------

template <typename T>
__global__ void cross_entropy_forward_kernel(int64_t N, int64_t C, int64_t L, int64_t ignore_index, const T* x,
                                             const int64_t* target, const T* cw, T smoothing, T* loss, T* lse) {
  CUDA_KERNEL_LOOP(i, N * L) {
    pw::cross_entropy_sample(C, L, x + i / L * C * L + i % L, target[i], target[i] == ignore_index, cw, smoothing,
                             loss[i], lse[i]);
  }
}

// total (1) = the sum of the class weights (C without weights), in order of c as the CPU.
template <typename T>
__global__ void class_weight_total_kernel(int64_t C, const T* cw, T* total) {
  CUDA_KERNEL_LOOP(i, 1) {
    T acc = 0;
    for (int64_t c = 0; c < C; ++c) acc += weight_or_one(cw, c);
    total[0] = acc;
  }
}

// dx (N,C,L), one thread per element; total (1) the sum of the class weights, null without smoothing.
template <typename T>
__global__ void cross_entropy_backward_kernel(int64_t N, int64_t C, int64_t L, int64_t ignore_index, const T* x,
                                              const int64_t* target, const T* cw, T smoothing, const T* total,
                                              const T* lse, const T* w, int64_t w_step, T* dx) {
  CUDA_KERNEL_LOOP(k, N * C * L) {
    const int64_t c = k / L % C, i = k / (C * L) * L + k % L, t = target[i];
    if (t == ignore_index) {
      dx[k] = 0;
    } else {
      const pw::CrossEntropyGrad<T> g(C, t, cw, smoothing, total ? total[0] : T(0), w[i * w_step]);
      const T v = g(x[k], lse[i], cw, c);
      dx[k] = c == t ? v - g.at_target : v;
    }
  }
}

template <typename T>
__global__ void nll_loss_forward_kernel(int64_t N, int64_t C, int64_t L, int64_t ignore_index, const T* x,
                                        const int64_t* target, const T* cw, T* loss) {
  CUDA_KERNEL_LOOP(i, N * L) {
    loss[i] = target[i] == ignore_index ? T(0) : pw::nll_loss_sample(L, x + i / L * C * L + i % L, target[i], cw);
  }
}

template <typename T>
__global__ void nll_loss_backward_kernel(int64_t N, int64_t C, int64_t L, int64_t ignore_index,
                                         const int64_t* target, const T* cw, const T* w, int64_t w_step, T* dx) {
  CUDA_KERNEL_LOOP(k, N * C * L) {
    const int64_t c = k / L % C, i = k / (C * L) * L + k % L, t = target[i];
    dx[k] = t != ignore_index && c == t ? -w[i * w_step] * weight_or_one(cw, t) : T(0);
  }
}

template <typename T>
__global__ void multi_margin_forward_kernel(int64_t N, int64_t C, int64_t p, T margin, const T* x,
                                            const int64_t* target, const T* cw, T* loss) {
  CUDA_KERNEL_LOOP(i, N) loss[i] = pw::multi_margin_sample(C, p, margin, x + i * C, target[i], cw);
}

// dx (N,C), one thread per element; the target's entry sums the others in order of j, as the CPU.
template <typename T>
__global__ void multi_margin_backward_kernel(int64_t N, int64_t C, int64_t p, T margin, const T* x,
                                             const int64_t* target, const T* cw, const T* w, int64_t w_step,
                                             T* dx) {
  CUDA_KERNEL_LOOP(k, N * C) {
    const int64_t i = k / C, j = k % C, y = target[i];
    const T* xi = x + i * C;
    const T scale = w[i * w_step] * weight_or_one(cw, y) / C;
    if (j != y) {
      dx[k] = pw::multi_margin_grad(p, margin, xi, y, j, scale);
    } else {
      T at_y = 0;
      for (int64_t jj = 0; jj < C; ++jj) at_y -= pw::multi_margin_grad(p, margin, xi, y, jj, scale);
      dx[k] = at_y;
    }
  }
}

// ---- elementwise losses ---------------------------------------------------------------

template <typename T>
__global__ void bce_forward_kernel(int64_t n, const T* x, const T* t, const T* w, T* loss) {
  CUDA_KERNEL_LOOP(i, n) loss[i] = pw::bce_loss(x[i], t[i], weight_or_one(w, i));
}

template <typename T>
__global__ void bce_backward_kernel(int64_t n, const T* x, const T* t, const T* w, const T* g, int64_t g_step,
                                    T* dx, T* dt) {
  CUDA_KERNEL_LOOP(i, n) {
    const T gw = g[i * g_step] * weight_or_one(w, i);
    if (dx) dx[i] = pw::bce_grad_input(x[i], t[i], gw);
    if (dt) dt[i] = pw::bce_grad_target(x[i], gw);
  }
}

template <typename T>
__global__ void bce_logits_forward_kernel(int64_t n, const T* x, const T* t, const T* w, const T* pos_w,
                                          T* loss) {
  CUDA_KERNEL_LOOP(i, n) loss[i] = pw::bce_logits_loss(x[i], t[i], weight_or_one(w, i), weight_or_one(pos_w, i));
}

template <typename T>
__global__ void bce_logits_backward_kernel(int64_t n, const T* x, const T* t, const T* w, const T* pos_w,
                                           const T* g, int64_t g_step, T* dx, T* dt) {
  CUDA_KERNEL_LOOP(i, n) {
    const T gw = g[i * g_step] * weight_or_one(w, i), p = weight_or_one(pos_w, i);
    if (dx) dx[i] = pw::bce_logits_grad_input(x[i], t[i], p, gw);
    if (dt) dt[i] = pw::bce_logits_grad_target(x[i], p, gw);
  }
}

template <typename T>
__global__ void smooth_l1_forward_kernel(int64_t n, T beta, const T* x, const T* t, T* loss) {
  CUDA_KERNEL_LOOP(i, n) loss[i] = pw::smooth_l1_loss(x[i], t[i], beta);
}

template <typename T>
__global__ void smooth_l1_backward_kernel(int64_t n, T beta, const T* x, const T* t, const T* g, int64_t g_step,
                                          T* dx, T* dt) {
  CUDA_KERNEL_LOOP(i, n) {
    const T v = pw::smooth_l1_grad(x[i], t[i], beta, g[i * g_step]);
    if (dx) dx[i] = v;
    if (dt) dt[i] = -v;
  }
}

template <typename T>
__global__ void kl_div_forward_kernel(int64_t n, bool log_target, const T* x, const T* t, T* loss) {
  CUDA_KERNEL_LOOP(i, n) loss[i] = pw::kl_div_loss(x[i], t[i], log_target);
}

template <typename T>
__global__ void kl_div_backward_kernel(int64_t n, bool log_target, const T* x, const T* t, const T* g,
                                       int64_t g_step, T* dx, T* dt) {
  CUDA_KERNEL_LOOP(i, n) {
    const T gi = g[i * g_step];
    if (dx) dx[i] = pw::kl_div_grad_input(t[i], log_target, gi);
    if (dt) dt[i] = pw::kl_div_grad_target(x[i], t[i], log_target, gi);
  }
}

}  // namespace

template <typename T>
void cross_entropy_forward_cuda(int64_t N, int64_t C, int64_t L, int64_t ignore_index, const T* x,
                                const int64_t* target, const T* cw, T smoothing, T* loss, T* lse) {
  if (N * L == 0) return;
  auto k = cross_entropy_forward_kernel<T>;
  CONVNET_LAUNCH(k, N * L, N, C, L, ignore_index, x, target, cw, smoothing, loss, lse);
}

template <typename T>
void cross_entropy_backward_cuda(int64_t N, int64_t C, int64_t L, int64_t ignore_index, const T* x,
                                 const int64_t* target, const T* cw, T smoothing, const T* lse, const T* w,
                                 int64_t w_step, T* dx) {
  if (N * C * L == 0) return;
  DeviceBuffer<T> total(smoothing != 0 ? 1 : 0);
  if (total.get()) {
    auto kt = class_weight_total_kernel<T>;
    CONVNET_LAUNCH(kt, 1, C, cw, total.get());
  }
  auto k = cross_entropy_backward_kernel<T>;
  CONVNET_LAUNCH(k, N * C * L, N, C, L, ignore_index, x, target, cw, smoothing, total.get(), lse, w, w_step, dx);
}

template <typename T>
void nll_loss_forward_cuda(int64_t N, int64_t C, int64_t L, int64_t ignore_index, const T* x,
                           const int64_t* target, const T* cw, T* loss) {
  if (N * L == 0) return;
  auto k = nll_loss_forward_kernel<T>;
  CONVNET_LAUNCH(k, N * L, N, C, L, ignore_index, x, target, cw, loss);
}

template <typename T>
void nll_loss_backward_cuda(int64_t N, int64_t C, int64_t L, int64_t ignore_index, const int64_t* target,
                            const T* cw, const T* w, int64_t w_step, T* dx) {
  if (N * C * L == 0) return;
  auto k = nll_loss_backward_kernel<T>;
  CONVNET_LAUNCH(k, N * C * L, N, C, L, ignore_index, target, cw, w, w_step, dx);
}

template <typename T>
void bce_forward_cuda(int64_t n, const T* x, const T* t, const T* w, T* loss) {
  if (n == 0) return;
  auto k = bce_forward_kernel<T>;
  CONVNET_LAUNCH(k, n, n, x, t, w, loss);
}

template <typename T>
void bce_backward_cuda(int64_t n, const T* x, const T* t, const T* w, const T* g, int64_t g_step, T* dx,
                       T* dt) {
  if (n == 0) return;
  auto k = bce_backward_kernel<T>;
  CONVNET_LAUNCH(k, n, n, x, t, w, g, g_step, dx, dt);
}

template <typename T>
void bce_logits_forward_cuda(int64_t n, const T* x, const T* t, const T* w, const T* pos_w, T* loss) {
  if (n == 0) return;
  auto k = bce_logits_forward_kernel<T>;
  CONVNET_LAUNCH(k, n, n, x, t, w, pos_w, loss);
}

template <typename T>
void bce_logits_backward_cuda(int64_t n, const T* x, const T* t, const T* w, const T* pos_w, const T* g,
                              int64_t g_step, T* dx, T* dt) {
  if (n == 0) return;
  auto k = bce_logits_backward_kernel<T>;
  CONVNET_LAUNCH(k, n, n, x, t, w, pos_w, g, g_step, dx, dt);
}

template <typename T>
void smooth_l1_forward_cuda(int64_t n, T beta, const T* x, const T* t, T* loss) {
  if (n == 0) return;
  auto k = smooth_l1_forward_kernel<T>;
  CONVNET_LAUNCH(k, n, n, beta, x, t, loss);
}

template <typename T>
void smooth_l1_backward_cuda(int64_t n, T beta, const T* x, const T* t, const T* g, int64_t g_step, T* dx,
                             T* dt) {
  if (n == 0) return;
  auto k = smooth_l1_backward_kernel<T>;
  CONVNET_LAUNCH(k, n, n, beta, x, t, g, g_step, dx, dt);
}

template <typename T>
void kl_div_forward_cuda(int64_t n, bool log_target, const T* x, const T* t, T* loss) {
  if (n == 0) return;
  auto k = kl_div_forward_kernel<T>;
  CONVNET_LAUNCH(k, n, n, log_target, x, t, loss);
}

template <typename T>
void kl_div_backward_cuda(int64_t n, bool log_target, const T* x, const T* t, const T* g, int64_t g_step, T* dx,
                          T* dt) {
  if (n == 0) return;
  auto k = kl_div_backward_kernel<T>;
  CONVNET_LAUNCH(k, n, n, log_target, x, t, g, g_step, dx, dt);
}

template <typename T>
void multi_margin_forward_cuda(int64_t N, int64_t C, int64_t p, T margin, const T* x, const int64_t* target,
                               const T* cw, T* loss) {
  if (N == 0) return;
  auto k = multi_margin_forward_kernel<T>;
  CONVNET_LAUNCH(k, N, N, C, p, margin, x, target, cw, loss);
}

template <typename T>
void multi_margin_backward_cuda(int64_t N, int64_t C, int64_t p, T margin, const T* x, const int64_t* target,
                                const T* cw, const T* w, int64_t w_step, T* dx) {
  if (N * C == 0) return;
  auto k = multi_margin_backward_kernel<T>;
  CONVNET_LAUNCH(k, N * C, N, C, p, margin, x, target, cw, w, w_step, dx);
}

#define CONVNET_INSTANTIATE(T)                                                                                \
  template void cross_entropy_forward_cuda<T>(int64_t, int64_t, int64_t, int64_t, const T*, const int64_t*,  \
                                              const T*, T, T*, T*);                                          \
  template void cross_entropy_backward_cuda<T>(int64_t, int64_t, int64_t, int64_t, const T*, const int64_t*, \
                                               const T*, T, const T*, const T*, int64_t, T*);                \
  template void nll_loss_forward_cuda<T>(int64_t, int64_t, int64_t, int64_t, const T*, const int64_t*,       \
                                         const T*, T*);                                                      \
  template void nll_loss_backward_cuda<T>(int64_t, int64_t, int64_t, int64_t, const int64_t*, const T*,      \
                                          const T*, int64_t, T*);                                            \
  template void bce_forward_cuda<T>(int64_t, const T*, const T*, const T*, T*);                              \
  template void bce_backward_cuda<T>(int64_t, const T*, const T*, const T*, const T*, int64_t, T*, T*);      \
  template void bce_logits_forward_cuda<T>(int64_t, const T*, const T*, const T*, const T*, T*);             \
  template void bce_logits_backward_cuda<T>(int64_t, const T*, const T*, const T*, const T*, const T*,       \
                                            int64_t, T*, T*);                                                \
  template void smooth_l1_forward_cuda<T>(int64_t, T, const T*, const T*, T*);                               \
  template void smooth_l1_backward_cuda<T>(int64_t, T, const T*, const T*, const T*, int64_t, T*, T*);       \
  template void kl_div_forward_cuda<T>(int64_t, bool, const T*, const T*, T*);                               \
  template void kl_div_backward_cuda<T>(int64_t, bool, const T*, const T*, const T*, int64_t, T*, T*);       \
  template void multi_margin_forward_cuda<T>(int64_t, int64_t, int64_t, T, const T*, const int64_t*,         \
                                             const T*, T*);                                                  \
  template void multi_margin_backward_cuda<T>(int64_t, int64_t, int64_t, T, const T*, const int64_t*,        \
                                              const T*, const T*, int64_t, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cuda
