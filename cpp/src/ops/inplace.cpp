// In-place writes with autograd (ops/inplace.h). A view's geometry relative to its base is its
// sizes, strides and storage offset minus the base's: the base is never a view, so it is
// contiguous, as are the gradients the engine passes to a backward. When backward records
// (create_graph), the gradients of a write through a view are written with gather and scatter at
// the view's offsets, for double backward.
#include "convnet/ops/inplace.h"

#include "convnet/autograd.h"
#include "convnet/ops/elementwise.h"
#include "convnet/ops/index.h"

namespace convnet {

namespace {
// The offsets of a view's elements (sizes, strides, offset) in the contiguous layout of its base's
// base_shape, flattened: the backward of a write through a view as index ops of dy when it records
// (create_graph), for double backward.
Tensor view_positions(const Shape& base_shape, const Shape& sizes, const Shape& strides, int64_t offset, Device dev) {
  const Tensor all = arange(0, static_cast<double>(numel_of(base_shape)), 1, DType::Int64, dev).reshape(base_shape);
  return strided_view(all, sizes, strides, offset).contiguous().reshape({-1});
}
}  // namespace

Tensor copy_(const Tensor& self, const Tensor& src) {
  const std::shared_ptr<TensorImpl> base = self.impl()->base;
  const bool grad = autograd::grad_enabled();
  if (grad && self.requires_grad() && self.is_leaf())
    throw Error("a leaf Variable that requires grad is being used in an in-place operation.");
  if (grad && base && base->requires_grad && !base->grad_fn)
    throw Error("a view of a leaf Variable that requires grad is being used in an in-place operation.");
  const bool record = grad && (src.requires_grad() || self.requires_grad() || (base && base->requires_grad));
  copy_into(self, src);
  if (!record) return self;
  const Shape src_shape = src.shape();
  const DType src_dtype = src.dtype();
  // the gradient of src: dy of its elements, summed where it was broadcast
  auto to_src = [src_shape, src_dtype](const Tensor& dy) { return sum_to(dy, src_shape).to(src_dtype); };
  Tensor out = self;
  if (!base) {  // self's old history gets a zero gradient (as PyTorch's: its values are gone)
    const Tensor old(std::make_shared<TensorImpl>(*self.impl()));
    autograd::record(out, "copy_", {old, src}, [to_src](const Tensor& dy, const std::vector<bool>& n) {
      return std::vector<Tensor>{n[0] ? zeros_like(dy) : Tensor(), n[1] ? to_src(dy) : Tensor()};
    });
    return self;
  }
  Tensor b(base);
  const Tensor b_old(std::make_shared<TensorImpl>(*base));  // the base's history before the write
  const Shape sizes = self.shape(), strides = self.strides(), base_shape = b.shape();
  const int64_t offset = self.storage_offset() - b.storage_offset();
  autograd::record(b, "copy_slices", {b_old, src},
                   [sizes, strides, offset, to_src](const Tensor& dy, const std::vector<bool>& n) {
                     if (autograd::grad_enabled()) {
                       const Tensor pos = view_positions(dy.shape(), sizes, strides, offset, dy.device());
                       const Tensor flat = dy.reshape({-1});
                       const Tensor none = zeros({pos.numel()}, dy.dtype(), dy.device());
                       return std::vector<Tensor>{n[0] ? scatter(flat, 0, pos, none).reshape(dy.shape()) : Tensor(),
                                                  n[1] ? to_src(gather(flat, 0, pos).reshape(sizes)) : Tensor()};
                     }
                     const Tensor region = strided_view(dy, sizes, strides, offset);
                     Tensor d_old;
                     if (n[0]) {
                       d_old = dy.clone();
                       fill_(strided_view(d_old, sizes, strides, offset), 0);
                     }
                     return std::vector<Tensor>{d_old, n[1] ? to_src(region.contiguous()) : Tensor()};
                   });
  // the view reads the base's new history
  autograd::record(out, "as_strided", {b},
                   [sizes, strides, offset, base_shape](const Tensor& dy, const std::vector<bool>&) {
                     Tensor dx = zeros(base_shape, dy.dtype(), dy.device());
                     if (autograd::grad_enabled()) {
                       const Tensor pos = view_positions(base_shape, sizes, strides, offset, dy.device());
                       return std::vector<Tensor>{
                           scatter_add(dx.reshape({-1}), 0, pos, dy.reshape({-1})).reshape(base_shape)};
                     }
                     copy_into(strided_view(dx, sizes, strides, offset), dy);
                     return std::vector<Tensor>{dx};
                   });
  return self;
}

Tensor inplace_input(const Tensor& self, const Tensor& other) {
  const bool record = autograd::grad_enabled() && (self.requires_grad() || (other.defined() && other.requires_grad()));
  return record ? self.clone() : self;
}

Tensor assign_result_(const Tensor& self, const Tensor& result, const char* op) {
  if (is_floating(result.dtype()) && !is_floating(self.dtype()))
    throw Error(cat_str(op, ": result type ", dtype_name(result.dtype()), " can't be cast to the desired output type ",
                        dtype_name(self.dtype())));
  copy_(self, result);
  // what result's backward saved of result itself now lives in self (relu_ saves its output)
  if (result.grad_fn())
    for (SavedVersion& v : result.grad_fn()->saved)
      if (v.storage.lock() == result.impl()->storage) {
        v.storage = self.impl()->storage;
        v.version = self.version();
      }
  return self;
}

}  // namespace convnet
