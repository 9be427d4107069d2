#include "tensor_lists.h"

#include <cstring>

#include "cuda/runtime.h"

namespace convnet {

static_assert(sizeof(void*) == 8 && sizeof(double) == 8, "the table holds 8-byte words");

TensorLists::TensorLists(int operands, int scalars) : operands_(operands), scalars_(scalars) {}

void TensorLists::add(const std::vector<Tensor>& operands, const std::vector<double>& scalars) {
  CONVNET_CHECK(static_cast<int>(operands.size()) == operands_ && static_cast<int>(scalars.size()) == scalars_,
                "TensorLists: expected ", operands_, " operand(s) and ", scalars_, " scalar(s), got ",
                operands.size(), " and ", scalars.size());
  const Tensor& t = operands[0];
  if (t.numel() == 0) return;
  for (const Tensor& o : operands)
    CONVNET_CHECK(!o.defined() || (o.device() == t.device() && o.dtype() == t.dtype() && o.numel() == t.numel()),
                  "TensorLists: an operand (", dtype_name(o.dtype()), " ", shape_str(o.shape()), " on ",
                  o.device().str(), ") does not match its tensor (", dtype_name(t.dtype()), " ",
                  shape_str(t.shape()), " on ", t.device().str(), ")");
  Group* g = nullptr;
  for (Group& c : groups_)
    if (c.device == t.device() && c.dtype == t.dtype()) g = &c;
  if (!g) {
    groups_.push_back(Group{t.device(), t.dtype(), {}, {}, {}});
    g = &groups_.back();
  }
  g->sizes.push_back(t.numel());
  for (const Tensor& o : operands) g->ptrs.push_back(o.defined() ? o.raw_data() : nullptr);
  g->scalars.insert(g->scalars.end(), scalars.begin(), scalars.end());
}

Tensor TensorLists::table(const Group& g) const {
  const int64_t count = static_cast<int64_t>(g.sizes.size());
  Tensor t = Tensor::empty({count + 1 + (scalars_ + operands_) * count}, DType::Int64);
  int64_t* w = t.data<int64_t>();
  w[0] = 0;
  for (int64_t i = 0; i < count; ++i) w[i + 1] = w[i] + g.sizes[i];
  w += count + 1;
  // transposed from (count, S) and (count, K) to (S, count) and (K, count)
  for (int s = 0; s < scalars_; ++s)
    for (int64_t i = 0; i < count; ++i) std::memcpy(w + s * count + i, &g.scalars[i * scalars_ + s], 8);
  w += scalars_ * count;
  for (int k = 0; k < operands_; ++k)
    for (int64_t i = 0; i < count; ++i) std::memcpy(w + k * count + i, &g.ptrs[i * operands_ + k], 8);
  if (g.device.is_cpu()) return t;
  cuda::ensure_device(g.device.index);
  return t.pin_memory().to(g.device, /*non_blocking=*/true);
}

}  // namespace convnet
