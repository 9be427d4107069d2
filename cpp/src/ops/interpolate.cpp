// interpolate: N batch, C channels, H W input size, P Q output size.
// x (N,C,H,W), y (N,C,P,Q). Backward saves the shape and the options and recomputes the
// per-row and per-column taps (source indices and weights) that forward used;
// autograd accumulates (+=) the returned gradient into .grad. Both modes are linear in x: when
// backward records (create_graph), dx is an op of dy whose adjoint is the forward, for double backward.
#include "convnet/ops/interpolate.h"

#include <cmath>

#include "convnet/autograd.h"
#include "dispatch.h"

namespace convnet {

namespace {

struct InterpShape {
  int64_t N, C, H, W, P, Q;
  bool linear, align_corners;
  double scale_h, scale_w;  // <= 0: none given, index from the sizes
};

// The one check for interpolate: validates and computes the output size.
InterpShape interpolate_check(const Tensor& x, const InterpolateOptions& o) {
  CONVNET_CHECK(o.mode == "nearest" || o.mode == "bilinear",
                "interpolate: mode must be 'nearest' or 'bilinear', got '", o.mode, "'");
  CONVNET_CHECK(o.mode == "bilinear" || !o.align_corners,
                "interpolate: align_corners can only be set with mode='bilinear'");
  CONVNET_CHECK(o.size.has_value() != o.scale_factor.has_value(),
                "interpolate: exactly one of size and scale_factor must be given");
  CONVNET_CHECK(x.dim() == 4, "interpolate: expected a 4-D input (N, C, H, W), got shape ", shape_str(x.shape()));
  CONVNET_CHECK(is_floating(x.dtype()), "interpolate: expected a float32 or float64 input, got ", dtype_name(x.dtype()),
                "; input shape ", shape_str(x.shape()));
  InterpShape s{x.size(0), x.size(1), x.size(2), x.size(3), 0, 0, o.mode == "bilinear",
                o.align_corners.value_or(false), 0, 0};
  CONVNET_CHECK(s.H > 0 && s.W > 0, "interpolate: input spatial size must be positive; input shape ",
                shape_str(x.shape()));
  if (o.size) {
    s.P = (*o.size)[0];
    s.Q = (*o.size)[1];
  } else {
    const auto& f = *o.scale_factor;
    CONVNET_CHECK(f[0] > 0 && f[1] > 0 && std::isfinite(f[0]) && std::isfinite(f[1]),
                  "interpolate: scale_factor must be positive");
    s.P = static_cast<int64_t>(std::floor(static_cast<double>(s.H) * f[0]));
    s.Q = static_cast<int64_t>(std::floor(static_cast<double>(s.W) * f[1]));
    if (!o.recompute_scale_factor) {
      s.scale_h = f[0];
      s.scale_w = f[1];
    }
  }
  CONVNET_CHECK(s.P > 0 && s.Q > 0, "interpolate: output size (", s.P, ", ", s.Q, ") must be positive; input shape ",
                shape_str(x.shape()));
  return s;
}

// The taps of the rows (P) then the columns (Q), as bytes on `dev`: computed on the host
// and, for a GPU, copied there from page-locked memory without waiting.
template <typename T>
Tensor taps_of(const InterpShape& s, Device dev) {
  Tensor taps = Tensor::empty({(s.P + s.Q) * static_cast<int64_t>(sizeof(cpu::InterpTap<T>))}, DType::UInt8);
  auto* t = static_cast<cpu::InterpTap<T>*>(taps.raw_data());
  cpu::interpolate_taps_cpu<T>(s.H, s.P, s.linear, s.align_corners, s.scale_h, t);
  cpu::interpolate_taps_cpu<T>(s.W, s.Q, s.linear, s.align_corners, s.scale_w, t + s.P);
  return dev.is_cpu() ? taps : taps.pin_memory().to(dev, /*non_blocking=*/true);
}

}  // namespace

Tensor interpolate(const Tensor& x, const InterpolateOptions& o) {
  if (!x.is_contiguous()) return interpolate(x.contiguous(), o);
  const InterpShape s = interpolate_check(x, o);
  const Device dev = common_device("interpolate", {&x});
  Tensor y = Tensor::empty({s.N, s.C, s.P, s.Q}, x.dtype(), dev);
  Tensor taps;  // computed once, for forward and backward
  dispatch_floating(x.dtype(), "interpolate", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    taps = taps_of<T>(s, dev);
    const auto* t = static_cast<const cpu::InterpTap<T>*>(taps.raw_data());
    CONVNET_KERNEL(dev, interpolate2d_forward, <T>)(s.N * s.C, s.H, s.W, s.P, s.Q, s.linear, t, t + s.P,
                                                    x.data<T>(), y.data<T>());
  });
  if (autograd::needs_record({x})) {
    autograd::record(y, "interpolate", {x}, [s, taps, o](const Tensor& dy, const std::vector<bool>&) {
      const Device dev = common_device("interpolate", {&dy, &taps});
      Tensor dx = Tensor::empty({s.N, s.C, s.H, s.W}, dy.dtype(), dev);
      dispatch_floating(dy.dtype(), "interpolate", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        const auto* t = static_cast<const cpu::InterpTap<T>*>(taps.raw_data());
        CONVNET_KERNEL(dev, interpolate2d_backward, <T>)(s.N * s.C, s.H, s.W, s.P, s.Q, s.linear, t, t + s.P,
                                                         dy.data<T>(), dx.data<T>());
      });
      // linear in dy: its adjoint is the forward
      return std::vector<Tensor>{
          autograd::record_linear(dx, dy, "interpolate", [o](const Tensor& ddx) { return interpolate(ddx, o); })};
    });
  }
  return y;
}

}  // namespace convnet
