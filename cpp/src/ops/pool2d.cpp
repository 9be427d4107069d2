// Pooling: N batch, C channels, H W input size, P Q output size, R S window.
// x (N,C,H,W), y (N,C,P,Q). Max and adaptive max pooling save the argmax of
// each window for backward; average pooling saves nothing but the shapes; LP
// pooling is composed of differentiable ops (pow, avg_pool2d, relu). Autograd
// accumulates (+=) the returned gradients into .grad.
#include "convnet/ops/pool2d.h"

#include <cmath>
#include <string>

#include "convnet/autograd.h"
#include "convnet/ops/activation.h"
#include "convnet/ops/conv2d.h"
#include "convnet/ops/elementwise.h"
#include "dispatch.h"

namespace convnet {

namespace {

// The one check for max/avg pooling: validates and computes the output size.
cpu::Pool2dShape pool2d_check(const Tensor& x, const Pool2dOptions& o, const char* op) {
  CONVNET_CHECK(x.dim() == 4, op, ": expected a 4-D input (N, C, H, W) or 3-D (C, H, W), got shape ",
                shape_str(x.shape()));
  CONVNET_CHECK(is_floating(x.dtype()), op, ": expected a float32 or float64 input, got ",
                dtype_name(x.dtype()));
  CONVNET_CHECK(o.kernel_size[0] > 0 && o.kernel_size[1] > 0, op, ": kernel_size must be positive, got (",
                o.kernel_size[0], ", ", o.kernel_size[1], ")");
  CONVNET_CHECK(o.stride[0] > 0 && o.stride[1] > 0, op, ": stride must be positive, got (", o.stride[0], ", ",
                o.stride[1], ")");
  CONVNET_CHECK(o.dilation[0] > 0 && o.dilation[1] > 0, op, ": dilation must be positive, got (", o.dilation[0],
                ", ", o.dilation[1], ")");
  // PyTorch's two padding rules: pad <= kernel_size / 2 (its pool2d_shape_check) and
  // pad <= (dilation * (kernel_size - 1) + 1) / 2 (its pooling_output_shape). As the dilated
  // window is never smaller than the kernel, the first decides.
  for (int i = 0; i < 2; ++i)
    CONVNET_CHECK(o.padding[i] >= 0 && o.padding[i] <= o.kernel_size[i] / 2 &&
                      o.padding[i] <= (o.dilation[i] * (o.kernel_size[i] - 1) + 1) / 2,
                  op, ": padding must be non-negative and at most half the kernel size, got padding (",
                  o.padding[0], ", ", o.padding[1], ") for kernel_size (", o.kernel_size[0], ", ",
                  o.kernel_size[1], ")");
  cpu::Pool2dShape s{x.size(0), x.size(1), x.size(2), x.size(3), 0, 0, o.kernel_size[0],
                     o.kernel_size[1], o.stride[0], o.stride[1], o.padding[0], o.padding[1],
                     o.dilation[0], o.dilation[1], o.count_include_pad};
  s.P = conv_output_size(s.H, s.R, s.stride_h, s.pad_h, s.dil_h, o.ceil_mode);
  s.Q = conv_output_size(s.W, s.S, s.stride_w, s.pad_w, s.dil_w, o.ceil_mode);
  CONVNET_CHECK(s.P > 0 && s.Q > 0, op, ": output size is too small: the window (",
                s.dil_h * (s.R - 1) + 1, ", ", s.dil_w * (s.S - 1) + 1,
                ") is larger than the padded input (", s.H + 2 * s.pad_h, ", ", s.W + 2 * s.pad_w,
                "); input shape ", shape_str(x.shape()));
  return s;
}

// N batch, C channels, H W input size, P Q output size of adaptive pooling.
struct AdaptiveShape {
  int64_t N, C, H, W, P, Q;
};

// The one check for adaptive pooling: validates and resolves the output size (an empty
// entry takes the input's size).
AdaptiveShape adaptive_pool2d_check(const Tensor& x, const AdaptiveSize& out, const char* op) {
  auto entry = [](const std::optional<int64_t>& v) { return v ? std::to_string(*v) : std::string("None"); };
  CONVNET_CHECK(x.dim() == 4, op, ": expected a 4-D input (N, C, H, W) or 3-D (C, H, W), got shape ",
                shape_str(x.shape()));
  CONVNET_CHECK(is_floating(x.dtype()), op, ": expected a float32 or float64 input, got ",
                dtype_name(x.dtype()));
  CONVNET_CHECK((!out[0] || *out[0] > 0) && (!out[1] || *out[1] > 0), op,
                ": output_size must be positive (or None), got (", entry(out[0]), ", ", entry(out[1]), ")");
  AdaptiveShape a{x.size(0), x.size(1), x.size(2), x.size(3), 0, 0};
  CONVNET_CHECK(a.H > 0 && a.W > 0, op, ": input spatial size must be positive; input shape ",
                shape_str(x.shape()));
  a.P = out[0].value_or(a.H);
  a.Q = out[1].value_or(a.W);
  return a;
}

// Runs f on a 4-D view of a 3-D (C,H,W) input and drops the batch dimension again.
template <typename F>
Tensor unbatched(const Tensor& x, F f) {
  if (!x.is_contiguous()) return unbatched(x.contiguous(), f);
  if (x.dim() != 3) return f(x);
  Tensor y = f(x.reshape({1, x.size(0), x.size(1), x.size(2)}));
  return y.reshape({y.size(1), y.size(2), y.size(3)});
}

}  // namespace

Tensor max_pool2d(const Tensor& x_in, const Pool2dOptions& o) {
  return unbatched(x_in, [&](const Tensor& x) {
    cpu::Pool2dShape s = pool2d_check(x, o, "max_pool2d");
    const Device dev = common_device("max_pool2d", {&x});
    Tensor y = Tensor::empty({s.N, s.C, s.P, s.Q}, x.dtype(), dev);
    Tensor argmax = Tensor::empty({s.N, s.C, s.P, s.Q}, DType::Int64, dev);
    dispatch_floating(x.dtype(), "max_pool2d", [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      CONVNET_KERNEL(dev, max_pool2d_forward, <T>)(s, x.data<T>(), y.data<T>(), argmax.data<int64_t>());
    });
    if (autograd::needs_record({x})) {
      autograd::record(y, "max_pool2d", {x}, [argmax, s](const Tensor& dy, const std::vector<bool>&) {
        const Device dev = common_device("max_pool2d", {&dy, &argmax});
        Tensor dx = Tensor::empty({s.N, s.C, s.H, s.W}, dy.dtype(), dev);
        dispatch_floating(dy.dtype(), "max_pool2d", [&](auto* tag) {
          using T = std::remove_pointer_t<decltype(tag)>;
          CONVNET_KERNEL(dev, max_pool2d_backward, <T>)(s, dy.data<T>(), argmax.data<int64_t>(), dx.data<T>());
        });
        return std::vector<Tensor>{dx};
      });
    }
    return y;
  });
}

Tensor avg_pool2d(const Tensor& x_in, const Pool2dOptions& o) {
  return unbatched(x_in, [&](const Tensor& x) {
    cpu::Pool2dShape s = pool2d_check(x, o, "avg_pool2d");
    const Device dev = common_device("avg_pool2d", {&x});
    Tensor y = Tensor::empty({s.N, s.C, s.P, s.Q}, x.dtype(), dev);
    dispatch_floating(x.dtype(), "avg_pool2d", [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      CONVNET_KERNEL(dev, avg_pool2d_forward, <T>)(s, x.data<T>(), y.data<T>());
    });
    if (autograd::needs_record({x})) {
      autograd::record(y, "avg_pool2d", {x}, [s](const Tensor& dy, const std::vector<bool>&) {
        const Device dev = common_device("avg_pool2d", {&dy});
        Tensor dx = Tensor::empty({s.N, s.C, s.H, s.W}, dy.dtype(), dev);
        dispatch_floating(dy.dtype(), "avg_pool2d", [&](auto* tag) {
          using T = std::remove_pointer_t<decltype(tag)>;
          CONVNET_KERNEL(dev, avg_pool2d_backward, <T>)(s, dy.data<T>(), dx.data<T>());
        });
        return std::vector<Tensor>{dx};
      });
    }
    return y;
  });
}

Tensor adaptive_avg_pool2d(const Tensor& x_in, const AdaptiveSize& out) {
  return unbatched(x_in, [&](const Tensor& x) {
    const AdaptiveShape a = adaptive_pool2d_check(x, out, "adaptive_avg_pool2d");
    const Device dev = common_device("adaptive_avg_pool2d", {&x});
    Tensor y = Tensor::empty({a.N, a.C, a.P, a.Q}, x.dtype(), dev);
    dispatch_floating(x.dtype(), "adaptive_avg_pool2d", [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      CONVNET_KERNEL(dev, adaptive_avg_pool2d_forward, <T>)(a.N, a.C, a.H, a.W, a.P, a.Q, x.data<T>(), y.data<T>());
    });
    if (autograd::needs_record({x})) {
      autograd::record(y, "adaptive_avg_pool2d", {x}, [a](const Tensor& dy, const std::vector<bool>&) {
        const Device dev = common_device("adaptive_avg_pool2d", {&dy});
        Tensor dx = Tensor::empty({a.N, a.C, a.H, a.W}, dy.dtype(), dev);
        dispatch_floating(dy.dtype(), "adaptive_avg_pool2d", [&](auto* tag) {
          using T = std::remove_pointer_t<decltype(tag)>;
          CONVNET_KERNEL(dev, adaptive_avg_pool2d_backward, <T>)(a.N, a.C, a.H, a.W, a.P, a.Q, dy.data<T>(),
                                                                 dx.data<T>());
        });
        return std::vector<Tensor>{dx};
      });
    }
    return y;
  });
}

Tensor adaptive_max_pool2d(const Tensor& x_in, const AdaptiveSize& out) {
  return unbatched(x_in, [&](const Tensor& x) {
    const AdaptiveShape a = adaptive_pool2d_check(x, out, "adaptive_max_pool2d");
    const Device dev = common_device("adaptive_max_pool2d", {&x});
    Tensor y = Tensor::empty({a.N, a.C, a.P, a.Q}, x.dtype(), dev);
    Tensor argmax = Tensor::empty({a.N, a.C, a.P, a.Q}, DType::Int64, dev);
    dispatch_floating(x.dtype(), "adaptive_max_pool2d", [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      CONVNET_KERNEL(dev, adaptive_max_pool2d_forward, <T>)(a.N, a.C, a.H, a.W, a.P, a.Q, x.data<T>(), y.data<T>(),
                                                            argmax.data<int64_t>());
    });
    if (autograd::needs_record({x})) {
      autograd::record(y, "adaptive_max_pool2d", {x}, [argmax, a](const Tensor& dy, const std::vector<bool>&) {
        const Device dev = common_device("adaptive_max_pool2d", {&dy, &argmax});
        Tensor dx = Tensor::empty({a.N, a.C, a.H, a.W}, dy.dtype(), dev);
        dispatch_floating(dy.dtype(), "adaptive_max_pool2d", [&](auto* tag) {
          using T = std::remove_pointer_t<decltype(tag)>;
          CONVNET_KERNEL(dev, adaptive_max_pool2d_backward, <T>)(a.N, a.C, a.H, a.W, a.P, a.Q, dy.data<T>(),
                                                                 argmax.data<int64_t>(), dx.data<T>());
        });
        return std::vector<Tensor>{dx};
      });
    }
    return y;
  });
}

Tensor lp_pool2d(const Tensor& x, double p, const Pool2dOptions& o) {
  CONVNET_CHECK(p != 0 && std::isfinite(p), "lp_pool2d: norm_type must be finite and non-zero, got ", p);
  CONVNET_CHECK(o.padding == (std::array<int64_t, 2>{0, 0}) && o.dilation == (std::array<int64_t, 2>{1, 1}),
                "lp_pool2d: LP pooling takes no padding or dilation");
  CONVNET_CHECK(x.dim() == 3 || x.dim() == 4,
                "lp_pool2d: expected a 4-D input (N, C, H, W) or 3-D (C, H, W), got shape ", shape_str(x.shape()));
  CONVNET_CHECK(x.size(-2) >= o.kernel_size[0] && x.size(-1) >= o.kernel_size[1], "lp_pool2d: the window (",
                o.kernel_size[0], ", ", o.kernel_size[1], ") is larger than the input (", x.size(-2), ", ",
                x.size(-1), "); input shape ", shape_str(x.shape()));
  // PyTorch: sign(v) * relu(|v|) of the pooled value v, which is v with gradient 0 where v is 0;
  // relu(v) - relu(-v) is the same function with the same gradient.
  Tensor v = avg_pool2d(pow(x, p), o);
  v = sub(relu(v), relu(neg(v)));
  return pow(mul(v, static_cast<double>(o.kernel_size[0] * o.kernel_size[1])), 1.0 / p);
}

}  // namespace convnet
