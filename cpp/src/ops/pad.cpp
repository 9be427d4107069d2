// pad: B planes (the product of the leading dimensions), H W the last two
// dimensions (H = 1 for a 1-D input padded by two values), H2 W2 the padded
// size. x (...,H,W), y (...,H2,W2). Backward saves only the sizes; autograd
// accumulates (+=) the returned gradient into .grad. Backward is linear in dy: when it records
// (create_graph), its adjoint is pad with zeros, for double backward.
#include "convnet/ops/pad.h"

#include "convnet/autograd.h"
#include "dispatch.h"

namespace convnet {

namespace {

struct PadShape {
  int64_t B, H, W, H2, W2, top, left;
  Shape out;
};

// The one check for pad: validates and computes the padded shape.
PadShape pad_check(const Tensor& x, const std::vector<int64_t>& p) {
  CONVNET_CHECK(p.size() == 2 || p.size() == 4,
                "pad: expected 2 pads (left, right) or 4 (left, right, top, bottom), got ", p.size(), ": ",
                shape_str(p));
  const int64_t dims = static_cast<int64_t>(p.size()) / 2;
  CONVNET_CHECK(x.dim() >= dims, "pad: ", p.size(), " pads ", shape_str(p), " need an input of at least ", dims,
                " dimension(s), got shape ", shape_str(x.shape()));
  CONVNET_CHECK(is_floating(x.dtype()), "pad: expected a float32 or float64 input, got ", dtype_name(x.dtype()),
                "; input shape ", shape_str(x.shape()));
  PadShape s{1, dims == 2 ? x.size(-2) : 1, x.size(-1), 0, 0, dims == 2 ? p[2] : 0, p[0], x.shape()};
  s.H2 = s.H + (dims == 2 ? p[2] + p[3] : 0);
  s.W2 = s.W + p[0] + p[1];
  for (int64_t d = 0; d < x.dim() - dims; ++d) s.B *= x.size(d);
  CONVNET_CHECK(s.H2 > 0 && s.W2 > 0, "pad: the padded size (", s.H2, ", ", s.W2,
                ") must be positive; input shape ", shape_str(x.shape()));
  s.out.back() = s.W2;
  if (dims == 2) s.out[s.out.size() - 2] = s.H2;
  return s;
}

}  // namespace

Tensor pad(const Tensor& x, const std::vector<int64_t>& p, double value) {
  if (!x.is_contiguous()) return pad(x.contiguous(), p, value);
  const PadShape s = pad_check(x, p);
  const Device dev = common_device("pad", {&x});
  Tensor y = Tensor::empty(s.out, x.dtype(), dev);
  dispatch_floating(x.dtype(), "pad", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    CONVNET_KERNEL(dev, pad2d_forward, <T>)(s.B, s.H, s.W, s.H2, s.W2, s.top, s.left, static_cast<T>(value),
                                            x.data<T>(), y.data<T>());
  });
  if (autograd::needs_record({x})) {
    autograd::record(y, "pad", {x}, [s, p, in = x.shape()](const Tensor& dy, const std::vector<bool>&) {
      const Device dev = common_device("pad", {&dy});
      Tensor dx = Tensor::empty(in, dy.dtype(), dev);
      dispatch_floating(dy.dtype(), "pad", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        CONVNET_KERNEL(dev, pad2d_backward, <T>)(s.B, s.H, s.W, s.H2, s.W2, s.top, s.left, dy.data<T>(),
                                                 dx.data<T>());
      });
      // linear in dy: its adjoint pads with zeros
      return std::vector<Tensor>{
          autograd::record_linear(dx, dy, "pad", [p](const Tensor& ddx) { return pad(ddx, p, 0.0); })};
    });
  }
  return y;
}

}  // namespace convnet
