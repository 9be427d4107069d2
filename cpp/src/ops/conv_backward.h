// The autograd record shared by conv2d and conv_transpose2d, whose backward kernels take the
// same arguments: x (the op's input) and w saved for backward, dx and dw shaped as x and w,
// db of `bias_len` entries, all on the inputs' device; only the gradients that are needed are
// allocated. Backward multiplies in the MathMode its forward used (convnet/backends.h).
#pragma once

#include <functional>
#include <vector>

#include "convnet/autograd.h"
#include "convnet/backends.h"
#include "convnet/ops/conv2d.h"
#include "convnet/ops/reduce.h"
#include "cpu/kernels.h"

namespace convnet {

// conv2d's differentiable ops over a checked shape s (input (N,C,H,W), output (N,K,P,Q)), defined in
// conv2d.cpp, which conv_transpose2d's backward reuses: the convolution of x with w that s stands
// for, cropped to (P, Q) (a transposed convolution's output_padding can make x larger than (H, W));
// dx, the transposed convolution of dy with w; dw as an op of x and dy (w read for its shape only).
Tensor conv2d_of_shape(const Tensor& x, const Tensor& w, const cpu::Conv2dShape& s);
Tensor conv2d_input_grad(const Tensor& dy, const Tensor& w, const cpu::Conv2dShape& s);
Tensor conv2d_weight_grad(const Tensor& x, const Tensor& dy, const Tensor& w, const cpu::Conv2dShape& s, MathMode mode);

// backward(device, s, x, w, dy, dx, dw, db) over typed pointers (null where not needed). When
// backward records (create_graph) and graph_dx/graph_dw are given, the gradients are ops of their
// own: dx = graph_dx(dy, w), dw = graph_dw(x, dy), db = Σ dy over (N, P, Q), differentiable in x,
// w and dy; otherwise the fused kernels compute them.
template <typename Backward>
void record_conv_backward(Tensor& y, const char* name, const Tensor& x, const Tensor& w, const Tensor& b,
                          const cpu::Conv2dShape& s, int64_t bias_len, MathMode mode, Backward backward,
                          std::function<Tensor(const Tensor& dy, const Tensor& w)> graph_dx = nullptr,
                          std::function<Tensor(const Tensor& x, const Tensor& dy)> graph_dw = nullptr) {
  if (!autograd::needs_record({x, w, b})) return;
  autograd::record(y, name, {x, w, b}, [x, w, has_b = b.defined(), s, bias_len, name, mode, backward, graph_dx,
                                        graph_dw](const Tensor& dy, const std::vector<bool>& need) {
    const Device dev = x.device();
    Tensor dx, dw, db;
    if (graph_dx && graph_dw && autograd::grad_enabled()) {
      if (need[0]) dx = graph_dx(dy, w);
      if (need[1]) dw = graph_dw(x, dy);
      if (need[2] && has_b) db = sum(dy, {0, 2, 3});
      return std::vector<Tensor>{dx, dw, db};
    }
    if (need[0]) dx = Tensor::empty(x.shape(), x.dtype(), dev);
    if (need[1]) dw = Tensor::empty(w.shape(), w.dtype(), dev);
    if (need[2] && has_b) db = Tensor::empty({bias_len}, w.dtype(), dev);
    MathModeGuard guard(mode);
    dispatch_floating(dy.dtype(), name, [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      backward(dev, s, x.data<T>(), w.data<T>(), dy.data<T>(), dx.defined() ? dx.data<T>() : nullptr,
               dw.defined() ? dw.data<T>() : nullptr, db.defined() ? db.data<T>() : nullptr);
    });
    return std::vector<Tensor>{dx, dw, db};
  });
  autograd::save_versions(y, {x, w});
}

}  // namespace convnet
