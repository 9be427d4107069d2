// The autograd record shared by conv2d and conv_transpose2d, whose CPU backward kernels take the
// same arguments: x (the op's input) and w saved for backward, dx and dw shaped as x and w,
// db of `bias_len` entries; only the gradients that are needed are allocated.
#pragma once

#include <vector>

#include "convnet/autograd.h"
#include "cpu/kernels.h"

namespace convnet {

// backward(s, x, w, dy, dx, dw, db) over typed pointers (null where not needed).
template <typename Backward>
void record_conv_backward(Tensor& y, const char* name, const Tensor& x, const Tensor& w, const Tensor& b,
                          const cpu::Conv2dShape& s, int64_t bias_len, Backward backward) {
  if (!autograd::needs_record({x, w, b})) return;
  autograd::record(y, name, {x, w, b}, [x = x.detach(), w = w.detach(), has_b = b.defined(), s, bias_len,
                                        name, backward](const Tensor& dy, const std::vector<bool>& need) {
    Tensor dx, dw, db;
    if (need[0]) dx = Tensor::empty(x.shape(), x.dtype());
    if (need[1]) dw = Tensor::empty(w.shape(), w.dtype());
    if (need[2] && has_b) db = Tensor::empty({bias_len}, w.dtype());
    dispatch_floating(dy.dtype(), name, [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      backward(s, x.data<T>(), w.data<T>(), dy.data<T>(), dx.defined() ? dx.data<T>() : nullptr,
               dw.defined() ? dw.data<T>() : nullptr, db.defined() ? db.data<T>() : nullptr);
    });
    return std::vector<Tensor>{dx, dw, db};
  });
}

}  // namespace convnet
