// softmax / log_softmax along dim, viewing x as (outer, D, inner). Both save
// their output for backward: softmax dx = y (dy - Σ dy y); log_softmax
// dx = dy - exp(y) Σ dy. Autograd accumulates (+=) the gradients into .grad.
#include "convnet/ops/softmax.h"

#include <algorithm>
#include <cmath>

#include "convnet/autograd.h"
#include "cpu/parallel.h"

namespace convnet {

namespace {

void split_dim(const Tensor& x, int64_t& dim, int64_t& outer, int64_t& D, int64_t& inner,
               const char* op) {
  int64_t nd = std::max<int64_t>(x.dim(), 1);
  if (dim < -nd || dim >= nd)
    throw std::out_of_range(cat_str(op, ": dimension ", dim, " out of range for a tensor of shape ",
                                    shape_str(x.shape())));
  if (dim < 0) dim += nd;
  outer = 1;
  inner = 1;
  for (int64_t i = 0; i < dim; ++i) outer *= x.shape()[i];
  D = x.dim() ? x.shape()[dim] : 1;
  for (int64_t i = dim + 1; i < x.dim(); ++i) inner *= x.shape()[i];
}

// x, y (outer, D, inner); log selects log_softmax.
template <typename T>
void softmax_forward_cpu(const T* x, T* y, int64_t outer, int64_t D, int64_t inner, bool log) {
  cpu::parallel_for(outer * inner, std::max<int64_t>(1, cpu::kGrainSize / std::max<int64_t>(D, 1)),
                    [&](int64_t b, int64_t e) {
                      for (int64_t i = b; i < e; ++i) {
                        const T* px = x + (i / inner) * D * inner + i % inner;
                        T* py = y + (px - x);
                        T m = px[0];
                        for (int64_t d = 1; d < D; ++d) m = std::max(m, px[d * inner]);
                        T s = 0;
                        for (int64_t d = 0; d < D; ++d) s += std::exp(px[d * inner] - m);
                        if (log) {
                          T ls = m + std::log(s);
                          for (int64_t d = 0; d < D; ++d) py[d * inner] = px[d * inner] - ls;
                        } else {
                          T inv = T(1) / s;
                          for (int64_t d = 0; d < D; ++d) py[d * inner] = std::exp(px[d * inner] - m) * inv;
                        }
                      }
                    });
}

// y, dy, dx (outer, D, inner)
template <typename T>
void softmax_backward_cpu(const T* y, const T* dy, T* dx, int64_t outer, int64_t D, int64_t inner,
                          bool log) {
  cpu::parallel_for(outer * inner, std::max<int64_t>(1, cpu::kGrainSize / std::max<int64_t>(D, 1)),
                    [&](int64_t b, int64_t e) {
                      for (int64_t i = b; i < e; ++i) {
                        int64_t base = (i / inner) * D * inner + i % inner;
                        T s = 0;
                        for (int64_t d = 0; d < D; ++d)
                          s += log ? dy[base + d * inner] : dy[base + d * inner] * y[base + d * inner];
                        for (int64_t d = 0; d < D; ++d) {
                          int64_t k = base + d * inner;
                          dx[k] = log ? dy[k] - std::exp(y[k]) * s : y[k] * (dy[k] - s);
                        }
                      }
                    });
}

Tensor softmax_impl(const Tensor& x, int64_t dim, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  int64_t outer, D, inner;
  split_dim(x, dim, outer, D, inner, name);
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), name, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    softmax_forward_cpu(x.data<T>(), y.data<T>(), outer, D, inner, log);
  });
  if (autograd::needs_record({x})) {
    autograd::record(y, name, {x}, [y = y.detach(), outer, D, inner, log, name](
                                       const Tensor& dy, const std::vector<bool>&) {
      Tensor dx = Tensor::empty(dy.shape(), dy.dtype());
      dispatch_floating(dy.dtype(), name, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        softmax_backward_cpu(y.data<T>(), dy.data<T>(), dx.data<T>(), outer, D, inner, log);
      });
      return std::vector<Tensor>{dx};
    });
  }
  return y;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, true); }

}  // namespace convnet
