// softmax / log_softmax along dim, viewing x as (outer, D, inner). Both save
// their output for backward: softmax dx = y (dy - Σ dy y); log_softmax
// dx = dy - exp(y) Σ dy. When backward records (create_graph), the same formulas in
// differentiable ops over the output as the running node's (autograd::running_output), for
// double backward. Autograd accumulates (+=) the gradients into .grad.
#include "convnet/ops/softmax.h"

#include <algorithm>

#include "convnet/autograd.h"
#include "convnet/ops/elementwise.h"
#include "convnet/ops/reduce.h"
#include "dispatch.h"

namespace convnet {

namespace {

void split_dim(const Tensor& x, int64_t& dim, int64_t& outer, int64_t& D, int64_t& inner,
               const char* op) {
  int64_t nd = std::max<int64_t>(x.dim(), 1);
  if (dim < -nd || dim >= nd)
    throw IndexError(cat_str(op, ": dimension ", dim, " out of range for a tensor of shape ",
                                    shape_str(x.shape())));
  if (dim < 0) dim += nd;
  outer = size_product(x.shape(), 0, static_cast<size_t>(dim), op);
  D = x.dim() ? x.shape()[dim] : 1;
  inner = x.dim() ? size_product(x.shape(), static_cast<size_t>(dim) + 1, x.shape().size(), op) : 1;
}

Tensor softmax_impl(const Tensor& x, int64_t dim, bool log) {
  if (!x.is_contiguous()) return softmax_impl(x.contiguous(), dim, log);
  const char* name = log ? "log_softmax" : "softmax";
  int64_t outer, D, inner;
  split_dim(x, dim, outer, D, inner, name);
  const Device dev = common_device(name, {&x});
  Tensor y = Tensor::empty(x.shape(), x.dtype(), dev);
  dispatch_floating(x.dtype(), name, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    CONVNET_KERNEL(dev, softmax_forward, <T>)(outer, D, inner, log, x.data<T>(), y.data<T>());
  });
  if (autograd::needs_record({x})) {
    autograd::record(y, name, {x}, [y = y.detach(), dim, outer, D, inner, log, name](
                                       const Tensor& dy, const std::vector<bool>&) {
      if (autograd::grad_enabled()) {
        const Tensor yg = autograd::running_output(y);
        return std::vector<Tensor>{log ? sub(dy, mul(exp(yg), sum(dy, {dim}, true)))
                                       : mul(yg, sub(dy, sum(mul(dy, yg), {dim}, true)))};
      }
      const Device dev = common_device(name, {&y, &dy});
      Tensor dx = Tensor::empty(dy.shape(), dy.dtype(), dev);
      dispatch_floating(dy.dtype(), name, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        CONVNET_KERNEL(dev, softmax_backward, <T>)(outer, D, inner, log, y.data<T>(), dy.data<T>(),
                                                   dx.data<T>());
      });
      return std::vector<Tensor>{dx};
    });
    autograd::save_versions(y, {y});
  }
  return y;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, true); }

}  // namespace convnet
