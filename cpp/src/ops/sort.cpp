// Sorting along one dimension: sort, argsort, topk. x viewed as (outer, D, inner); the
// result (outer, K, inner) holds the first K of each sorted lane (K = D for sort). The CPU
// kernel sorts; a GPU tensor is sorted on the host (there is no CUDA sort kernel) and the
// results copied back. Backward writes dy at the saved indices; autograd accumulates (+=).
#include <type_traits>

#include "convnet/autograd.h"
#include "convnet/ops/reduce.h"
#include "dispatch.h"
#include "ops/dims.h"

namespace convnet {

namespace {

std::pair<Tensor, Tensor> sorted(const Tensor& x, int64_t dim_in, int64_t K, bool descending, const char* op) {
  if (!x.is_contiguous()) return sorted(x.contiguous(), dim_in, K, descending, op);
  const int64_t dim = wrap_dim(dim_in, x.dim(), op, x.shape());
  int64_t outer, D, inner;
  split(x.shape(), dim, outer, D, inner);
  CONVNET_CHECK(K >= 0 && K <= D, op, ": k (", K, ") out of range for dimension ", dim_in, " of size ", D,
                " of a tensor of shape ", shape_str(x.shape()));
  const Device dev = common_device(op, {&x});
  const Tensor hx = x.to(Device());  // the host's copy (x itself on the CPU)
  Shape out_shape = x.shape();
  if (!out_shape.empty()) out_shape[dim] = K;
  Tensor values = Tensor::empty(out_shape, x.dtype()), indices = Tensor::empty(out_shape, DType::Int64);
  dispatch_all(x.dtype(), [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    cpu::sort_cpu<T>(outer, D, K, inner, descending, hx.data<T>(), values.data<T>(), indices.data<int64_t>());
  });
  values = values.to(dev);
  indices = indices.to(dev);
  if (autograd::needs_record({x})) {
    // indices saved: dy goes back to the position each value came from
    autograd::record(values, op, {x}, [in_shape = x.shape(), indices, outer, D, K, inner, op](
                                          const Tensor& dy, const std::vector<bool>&) {
      return std::vector<Tensor>{take_backward(dy, indices, in_shape, outer, D, K, inner, op)};
    });
  }
  return {values, indices};
}

int64_t size_along(const Tensor& x, int64_t dim, const char* op) {
  return x.dim() == 0 ? 1 : x.shape()[wrap_dim(dim, x.dim(), op, x.shape())];
}

}  // namespace

std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim, bool descending) {
  return sorted(x, dim, size_along(x, dim, "sort"), descending, "sort");
}

Tensor argsort(const Tensor& x, int64_t dim, bool descending) {
  NoGradGuard g;
  return sorted(x, dim, size_along(x, dim, "argsort"), descending, "argsort").second;
}

std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest) {
  return sorted(x, dim, k, largest, "topk");
}

}  // namespace convnet
