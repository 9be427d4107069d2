// embedding: V rows, D columns, n indices; input (*) int64, weight (V,D), y (*, D).
// Backward saves the indices and gives the gradient of the weight only (indices are not
// differentiable); autograd accumulates (+=) it into .grad. Backward is linear in dy: when it
// records (create_graph), its adjoint is the lookup itself, for double backward.
#include "convnet/ops/embedding.h"

#include "convnet/autograd.h"
#include "convnet/ops/elementwise.h"
#include "convnet/ops/view.h"
#include "dispatch.h"

namespace convnet {

Tensor embedding(const Tensor& input, const Tensor& weight, std::optional<int64_t> padding_idx) {
  if (any_strided({&input, &weight})) return embedding(input.contiguous(), weight.contiguous(), padding_idx);
  CONVNET_CHECK(weight.dim() == 2, "embedding: expected a 2-D weight (num_embeddings, embedding_dim), got shape ",
                shape_str(weight.shape()));
  CONVNET_CHECK(is_floating(weight.dtype()), "embedding: expected a float32 or float64 weight, got ",
                dtype_name(weight.dtype()));
  CONVNET_CHECK(input.dtype() == DType::Int64, "embedding: expected int64 indices, got ", dtype_name(input.dtype()),
                "; input shape ", shape_str(input.shape()));
  const int64_t V = weight.size(0), D = weight.size(1), n = input.numel();
  int64_t pad = -1;
  if (padding_idx) {
    CONVNET_CHECK(*padding_idx < V && *padding_idx >= -V, "embedding: padding_idx must be within num_embeddings (",
                  V, "), got ", *padding_idx);
    pad = *padding_idx < 0 ? *padding_idx + V : *padding_idx;
  }
  const Device dev = common_device("embedding", {&input, &weight});
  const Tensor host = dev.is_cpu() ? input : input.to(Device());  // the indices checked on the host
  const int64_t* hidx = host.data<int64_t>();
  for (int64_t i = 0; i < n; ++i)
    if (hidx[i] < 0 || hidx[i] >= V)
      throw IndexError(cat_str("embedding: index ", hidx[i], " is out of range for a table of ", V,
                               " rows; input shape ", shape_str(input.shape())));
  Shape out = input.shape();
  out.push_back(D);
  Tensor y = Tensor::empty(out, weight.dtype(), dev);
  dispatch_floating(weight.dtype(), "embedding", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    CONVNET_KERNEL(dev, embedding_forward, <T>)(V, D, n, weight.data<T>(), input.data<int64_t>(), y.data<T>());
  });
  if (autograd::needs_record({weight})) {
    autograd::record(y, "embedding", {weight}, [ids = input.detach(), V, D, n, pad](const Tensor& dy,
                                                                                    const std::vector<bool>&) {
      const Device dev = common_device("embedding", {&ids, &dy});
      Tensor dw = Tensor::empty({V, D}, dy.dtype(), dev);
      dispatch_floating(dy.dtype(), "embedding", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        CONVNET_KERNEL(dev, embedding_backward, <T>)(V, D, n, pad, dy.data<T>(), ids.data<int64_t>(), dw.data<T>());
      });
      // linear in dy: its adjoint reads the rows of ddw at the indices, 0 at padding_idx
      return std::vector<Tensor>{autograd::record_linear(dw, dy, "embedding", [ids, pad](const Tensor& ddw) {
        if (pad < 0) return embedding(ids, ddw, std::nullopt);
        const Tensor kept = compare(ids, static_cast<double>(pad), CompareOp::Ne).to(ddw.dtype());
        return mul(embedding(ids, ddw, std::nullopt), unsqueeze(kept, -1));
      })};
    });
  }
  return y;
}

}  // namespace convnet
