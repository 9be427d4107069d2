// conv2d: N batch, C in channels, H W input size, K out channels, R S kernel,
// P Q output size, G groups. x (N,C,H,W), w (K,C/G,R,S), b (K), y (N,K,P,Q).
// Backward saves x and w (the columns are recomputed, not stored) and returns
// only the gradients that are needed (no dx for a network's input, no dw for a
// frozen layer); autograd accumulates them (+=) into .grad. Outputs and gradients
// live on the inputs' device; CUDA products run in the MathMode of convnet/backends.h
// (TF32, autocast), backward in the one its forward used.
#include "convnet/ops/conv2d.h"

#include <algorithm>

#include "convnet/autograd.h"
#include "convnet/backends.h"
#include "convnet/ops/conv_transpose2d.h"
#include "convnet/ops/pad.h"
#include "convnet/ops/view.h"
#include "dispatch.h"
#include "ops/conv_backward.h"

namespace convnet {

int64_t conv_output_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil, bool ceil_mode) {
  // PyTorch's pooling_output_shape: the quotient rounds toward minus infinity, so with
  // ceil_mode a window that overhangs the padded input still gives one output.
  const int64_t num = in + 2 * pad - dil * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  int64_t out = (num >= 0 ? num / stride : -((-num + stride - 1) / stride)) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return std::max<int64_t>(out, 0);
}

namespace {

// The one check for conv2d: validates everything and computes the kernel's shape.
cpu::Conv2dShape conv2d_check(const Tensor& x, const Tensor& w, const Tensor& b,
                              const Conv2dOptions& o) {
  CONVNET_CHECK(w.dim() == 4, "conv2d: weight must be 4-D (out_channels, in_channels/groups, kH, kW), got shape ",
                shape_str(w.shape()));
  const int64_t K = w.size(0), Cg = w.size(1), R = w.size(2), S = w.size(3), G = o.groups;
  CONVNET_CHECK(x.dim() == 4, "conv2d: expected a 4-D input (N, C, H, W), got a ", x.dim(),
                "-D input of shape ", shape_str(x.shape()));
  CONVNET_CHECK(is_floating(x.dtype()) && x.dtype() == w.dtype(), "conv2d: input dtype ",
                dtype_name(x.dtype()), " must match weight dtype ", dtype_name(w.dtype()),
                " (float32 or float64); input shape ", shape_str(x.shape()));
  CONVNET_CHECK(G >= 1, "conv2d: groups must be positive, got ", G);
  CONVNET_CHECK(o.stride[0] > 0 && o.stride[1] > 0, "conv2d: stride must be positive");
  CONVNET_CHECK(o.dilation[0] > 0 && o.dilation[1] > 0, "conv2d: dilation must be positive");
  CONVNET_CHECK(o.padding[0] >= 0 && o.padding[1] >= 0, "conv2d: padding must be non-negative");
  CONVNET_CHECK(K % G == 0, "conv2d: out_channels (", K, ") must be divisible by groups (", G, ")");
  CONVNET_CHECK(R > 0 && S > 0 && Cg > 0, "conv2d: kernel size and channels must be positive, weight shape ",
                shape_str(w.shape()));
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  CONVNET_CHECK(C == Cg * G, "conv2d: input has ", C, " channel(s), expected ", Cg * G,
                G > 1 ? cat_str(" (groups=", G, ")") : std::string(), "; input shape ", shape_str(x.shape()));
  CONVNET_CHECK(!b.defined() || (b.dim() == 1 && b.size(0) == K && b.dtype() == w.dtype()),
                "conv2d: bias must have shape (", K, ",), got ", shape_str(b.shape()));
  int64_t ph = o.padding[0], pw = o.padding[1];
  if (o.same) {
    CONVNET_CHECK(o.stride[0] == 1 && o.stride[1] == 1,
                  "conv2d: padding='same' is not supported for strided convolutions");
    ph = o.dilation[0] * (R - 1) / 2;
    pw = o.dilation[1] * (S - 1) / 2;
  }
  const int64_t eff_r = o.dilation[0] * (R - 1) + 1, eff_s = o.dilation[1] * (S - 1) + 1;
  CONVNET_CHECK(H + 2 * ph >= eff_r && W + 2 * pw >= eff_s, "conv2d: kernel size (", eff_r, ", ",
                eff_s, ") (with dilation) is larger than the padded input (", H + 2 * ph, ", ",
                W + 2 * pw, "); input shape ", shape_str(x.shape()));
  cpu::Conv2dShape s{N, C, H, W, K, R, S, 0, 0, o.stride[0], o.stride[1], ph, pw,
                     o.dilation[0], o.dilation[1], G};
  s.P = conv_output_size(H, R, s.stride_h, ph, s.dil_h, false);
  s.Q = conv_output_size(W, S, s.stride_w, pw, s.dil_w, false);
  return s;
}

// "same" with an even kernel pads one more cell at the bottom/right: done by
// padding the input explicitly; otherwise returns x unchanged (also an input that conv2d_check
// rejects, so that its message shows the caller's shape, not the padded one).
Tensor pad_for_same(const Tensor& x, const Tensor& w, const Conv2dOptions& o, Conv2dOptions& eff) {
  eff = o;
  if (!o.same || x.dim() != 4 || w.dim() != 4 || x.size(1) != w.size(1) * o.groups) return x;
  int64_t th = o.dilation[0] * (w.size(2) - 1), tw = o.dilation[1] * (w.size(3) - 1);
  if (th % 2 == 0 && tw % 2 == 0) return x;
  // asymmetric: pad top th/2, bottom th - th/2 (left/right likewise) by copying into a larger input
  Tensor xp = pad(x, {tw / 2, tw - tw / 2, th / 2, th - th / 2}, 0.0);
  eff.same = false;
  eff.padding = {0, 0};
  return xp;
}

}  // namespace

Tensor conv2d_of_shape(const Tensor& x, const Tensor& w, const cpu::Conv2dShape& s) {
  Conv2dOptions o;  // explicit padding: x is already padded for an asymmetric "same"
  o.stride = {s.stride_h, s.stride_w};
  o.padding = {s.pad_h, s.pad_w};
  o.dilation = {s.dil_h, s.dil_w};
  o.groups = s.groups;
  Tensor y = conv2d(x, w, Tensor(), o);
  if (y.size(2) != s.P) y = narrow(y, 2, 0, s.P);
  if (y.size(3) != s.Q) y = narrow(y, 3, 0, s.Q);
  return y;
}

// dx of conv2d: the transposed convolution of dy (N,K,P,Q) with w, back to (N,C,H,W).
Tensor conv2d_input_grad(const Tensor& dy, const Tensor& w, const cpu::Conv2dShape& s) {
  ConvTranspose2dOptions t;
  t.stride = {s.stride_h, s.stride_w};
  t.padding = {s.pad_h, s.pad_w};
  t.dilation = {s.dil_h, s.dil_w};
  t.groups = s.groups;
  t.output_padding = {s.H - ((s.P - 1) * s.stride_h - 2 * s.pad_h + s.dil_h * (s.R - 1) + 1),
                      s.W - ((s.Q - 1) * s.stride_w - 2 * s.pad_w + s.dil_w * (s.S - 1) + 1)};
  return conv_transpose2d(dy, w, Tensor(), t);
}

// dw of conv2d as an op of x (N,C,H,W) and dy (N,K,P,Q), for double backward: the backward
// kernel computes it; its own backward is bilinear like it: d dy = conv2d(x, ddw),
// d x = the transposed convolution of dy with ddw. w is read for its shape only.
Tensor conv2d_weight_grad(const Tensor& x, const Tensor& dy_in, const Tensor& w, const cpu::Conv2dShape& s,
                          MathMode mode) {
  const Tensor dy = dy_in.contiguous();
  Tensor dw = Tensor::empty(w.shape(), w.dtype(), x.device());
  dispatch_floating(x.dtype(), "conv2d", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    MathModeGuard guard(mode);
    CONVNET_KERNEL(x.device(), conv2d_backward, <T>)(s, x.data<T>(), w.data<T>(), dy.data<T>(), nullptr,
                                                      dw.data<T>(), nullptr);
  });
  if (autograd::needs_record({x, dy})) {
    autograd::record(dw, "conv2d_weight_backward", {x, dy}, [x, dy, s](const Tensor& ddw, const std::vector<bool>& need) {
      return std::vector<Tensor>{need[0] ? conv2d_input_grad(dy, ddw, s) : Tensor(),
                                 need[1] ? conv2d_of_shape(x, ddw, s) : Tensor()};
    });
    autograd::save_versions(dw, {x, dy});
  }
  return dw;
}

Tensor conv2d(const Tensor& x_in, const Tensor& w, const Tensor& b, const Conv2dOptions& opt) {
  if (any_strided({&x_in, &w, &b})) return conv2d(x_in.contiguous(), w.contiguous(), b.contiguous(), opt);
  // an unbatched (C,H,W) input is a batch of one
  if (x_in.dim() == 3) {
    Tensor y = conv2d(x_in.reshape({1, x_in.size(0), x_in.size(1), x_in.size(2)}), w, b, opt);
    return y.reshape({y.size(1), y.size(2), y.size(3)});
  }
  Conv2dOptions o;
  Tensor x = pad_for_same(x_in, w, opt, o);
  cpu::Conv2dShape s = conv2d_check(x, w, b, o);
  const Device dev = common_device("conv2d", {&x, &w, &b});
  const MathMode mode = math_mode_for(ProductKind::Convolution, dev, x.dtype());
  Tensor y = Tensor::empty({s.N, s.K, s.P, s.Q}, x.dtype(), dev);
  dispatch_floating(x.dtype(), "conv2d", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    MathModeGuard guard(mode);
    CONVNET_KERNEL(dev, conv2d_forward, <T>)(s, x.data<T>(), w.data<T>(), b.defined() ? b.data<T>() : nullptr,
                                              y.data<T>());
  });
  record_conv_backward(
      y, "conv2d", x, w, b, s, s.K, mode,
      []([[maybe_unused]] Device d, const cpu::Conv2dShape& shape, const auto* x, const auto* w, const auto* dy,
         auto* dx, auto* dw, auto* db) {
        using T = std::remove_const_t<std::remove_pointer_t<decltype(x)>>;
        CONVNET_KERNEL(d, conv2d_backward, <T>)(shape, x, w, dy, dx, dw, db);
      },
      [s](const Tensor& dy, const Tensor& w) { return conv2d_input_grad(dy, w, s); },
      [s, w = w.detach(), mode](const Tensor& x, const Tensor& dy) { return conv2d_weight_grad(x, dy, w, s, mode); });
  return y;
}

Tensor conv1d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv1dOptions& o) {
  CONVNET_CHECK(x.dim() == 2 || x.dim() == 3, "conv1d: expected a 3-D input (N, C, L) or 2-D (C, L), got shape ",
                shape_str(x.shape()));
  CONVNET_CHECK(w.dim() == 3, "conv1d: weight must be 3-D (out_channels, in_channels/groups, kL), got shape ",
                shape_str(w.shape()));
  CONVNET_CHECK(o.groups >= 1 && x.size(x.dim() - 2) == w.size(1) * o.groups, "conv1d: input has ",
                x.size(x.dim() - 2), " channel(s), expected ", w.size(1) * o.groups,
                o.groups > 1 ? cat_str(" (groups=", o.groups, ")") : std::string(), "; input shape ",
                shape_str(x.shape()));
  const int64_t N = x.dim() == 3 ? x.size(0) : 1, C = x.size(x.dim() - 2), L = x.size(x.dim() - 1);
  Conv2dOptions o2;
  o2.stride = {1, o.stride};
  o2.padding = {0, o.padding};
  o2.dilation = {1, o.dilation};
  o2.groups = o.groups;
  o2.same = o.same;
  Tensor y = conv2d(x.reshape({N, C, 1, L}), w.reshape({w.size(0), w.size(1), 1, w.size(2)}), b, o2);
  return x.dim() == 3 ? y.reshape({N, y.size(1), y.size(3)}) : y.reshape({y.size(1), y.size(3)});
}

std::string conv2d_cpu_algorithm(const Tensor& x_in, const Tensor& w, const Conv2dOptions& opt) {
  if (x_in.dim() == 3)
    return conv2d_cpu_algorithm(x_in.reshape({1, x_in.size(0), x_in.size(1), x_in.size(2)}), w, opt);
  Conv2dOptions o;
  Tensor x = pad_for_same(x_in, w, opt, o);
  const cpu::Conv2dShape s = conv2d_check(x, w, Tensor(), o);
  const cpu::Conv2dAlgorithm a = x.dtype() == DType::Float32 ? cpu::conv2d_algorithm_cpu<float>(s)
                                                             : cpu::conv2d_algorithm_cpu<double>(s);
  return a == cpu::Conv2dAlgorithm::Winograd    ? "winograd"
         : a == cpu::Conv2dAlgorithm::Depthwise ? "depthwise"
         : a == cpu::Conv2dAlgorithm::Dense     ? "dense"
                                                : "gemm";
}

}  // namespace convnet
