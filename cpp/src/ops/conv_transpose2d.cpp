// conv_transpose2d: N batch, C in channels, H W input size, K out channels,
// R S kernel, P Q output size, G groups. x (N,C,H,W), w (C,K/G,R,S), b (K),
// y (N,K,P,Q). The kernels are conv2d's, run with the shape of the convolution
// this one transposes (input (N,K,P,Q), output (N,C,H,W), weight w as is).
// Backward saves x and w and returns only the gradients that are needed;
// autograd accumulates them (+=) into .grad. Devices and MathMode as conv2d's. When backward
// records (create_graph), dx and dw are conv2d's differentiable ops, for double backward.
#include "convnet/ops/conv_transpose2d.h"

#include <algorithm>

#include "convnet/autograd.h"
#include "convnet/backends.h"
#include "dispatch.h"
#include "ops/conv_backward.h"

namespace convnet {

namespace {

// The one check for conv_transpose2d: validates everything and returns the shape of the
// convolution it transposes.
cpu::Conv2dShape conv_transpose2d_check(const Tensor& x, const Tensor& w, const Tensor& b,
                                        const ConvTranspose2dOptions& o) {
  CONVNET_CHECK(w.dim() == 4,
                "conv_transpose2d: weight must be 4-D (in_channels, out_channels/groups, kH, kW), got shape ",
                shape_str(w.shape()));
  const int64_t G = o.groups, C = w.size(0), Kg = w.size(1), R = w.size(2), S = w.size(3);
  CONVNET_CHECK(x.dim() == 4, "conv_transpose2d: expected a 4-D input (N, C, H, W) or 3-D (C, H, W), got shape ",
                shape_str(x.shape()));
  CONVNET_CHECK(is_floating(x.dtype()) && x.dtype() == w.dtype(), "conv_transpose2d: input dtype ",
                dtype_name(x.dtype()), " must match weight dtype ", dtype_name(w.dtype()),
                " (float32 or float64); input shape ", shape_str(x.shape()));
  CONVNET_CHECK(G >= 1, "conv_transpose2d: groups must be positive, got ", G);
  CONVNET_CHECK(C % G == 0, "conv_transpose2d: in_channels (", C, ") must be divisible by groups (", G, ")");
  CONVNET_CHECK(R > 0 && S > 0 && Kg > 0, "conv_transpose2d: kernel size and channels must be positive, weight shape ",
                shape_str(w.shape()));
  for (int i = 0; i < 2; ++i) {
    CONVNET_CHECK(o.stride[i] > 0 && o.dilation[i] > 0, "conv_transpose2d: stride and dilation must be positive");
    CONVNET_CHECK(o.padding[i] >= 0 && o.output_padding[i] >= 0,
                  "conv_transpose2d: padding and output_padding must be non-negative");
    CONVNET_CHECK(o.output_padding[i] < std::max(o.stride[i], o.dilation[i]),
                  "conv_transpose2d: output_padding must be smaller than either stride or dilation");
  }
  CONVNET_CHECK(x.size(1) == C, "conv_transpose2d: input has ", x.size(1), " channel(s), expected ", C,
                "; input shape ", shape_str(x.shape()));
  const int64_t K = Kg * G;
  CONVNET_CHECK(!b.defined() || (b.dim() == 1 && b.size(0) == K && b.dtype() == w.dtype()),
                "conv_transpose2d: bias must have shape (", K, ",), got ",
                b.defined() ? shape_str(b.shape()) : std::string());
  const int64_t H = x.size(2), W = x.size(3);
  const int64_t P = (H - 1) * o.stride[0] - 2 * o.padding[0] + o.dilation[0] * (R - 1) + o.output_padding[0] + 1;
  const int64_t Q = (W - 1) * o.stride[1] - 2 * o.padding[1] + o.dilation[1] * (S - 1) + o.output_padding[1] + 1;
  CONVNET_CHECK(H > 0 && W > 0 && P > 0 && Q > 0, "conv_transpose2d: output size (", P, ", ", Q,
                ") must be positive; input shape ", shape_str(x.shape()));
  // The transposed convolution: input (N,K,P,Q), output (N,C,H,W), weight (C,K/G,R,S).
  return cpu::Conv2dShape{x.size(0), K, P, Q, C, R, S, H, W, o.stride[0], o.stride[1], o.padding[0],
                          o.padding[1], o.dilation[0], o.dilation[1], G};
}

}  // namespace

Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, const ConvTranspose2dOptions& o) {
  if (any_strided({&x, &w, &b})) return conv_transpose2d(x.contiguous(), w.contiguous(), b.contiguous(), o);
  if (x.dim() == 3) {  // an unbatched (C,H,W) input is a batch of one
    Tensor y = conv_transpose2d(x.reshape({1, x.size(0), x.size(1), x.size(2)}), w, b, o);
    return y.reshape({y.size(1), y.size(2), y.size(3)});
  }
  const cpu::Conv2dShape s = conv_transpose2d_check(x, w, b, o);
  const Device dev = common_device("conv_transpose2d", {&x, &w, &b});
  const MathMode mode = math_mode_for(ProductKind::Convolution, dev, x.dtype());
  Tensor y = Tensor::empty({s.N, s.C, s.H, s.W}, x.dtype(), dev);
  dispatch_floating(x.dtype(), "conv_transpose2d", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    MathModeGuard guard(mode);
    CONVNET_KERNEL(dev, conv_transpose2d_forward, <T>)(s, x.data<T>(), w.data<T>(),
                                                        b.defined() ? b.data<T>() : nullptr, y.data<T>());
  });
  record_conv_backward(y, "conv_transpose2d", x, w, b, s, s.C, mode,
                       []([[maybe_unused]] Device d, const cpu::Conv2dShape& shape, const auto* x,
                          const auto* w, const auto* dy, auto* dx, auto* dw, auto* db) {
                         using T = std::remove_const_t<std::remove_pointer_t<decltype(x)>>;
                         CONVNET_KERNEL(d, conv_transpose2d_backward, <T>)(shape, x, w, dy, dx, dw, db);
                       },
                       // the transposed convolution's dx is the convolution of dy with w, its dw is
                       // the convolution's dw with the roles of input and output swapped
                       [s](const Tensor& dy, const Tensor& w) { return conv2d_of_shape(dy, w, s); },
                       [s, w = w.detach(), mode](const Tensor& x, const Tensor& dy) {
                         return conv2d_weight_grad(dy, x, w, s, mode);
                       });
  return y;
}

}  // namespace convnet
