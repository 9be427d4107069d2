// Pooling: N batch, C channels, H W input size, P Q output size, R S window.
// x (N,C,H,W), y (N,C,P,Q). Max and adaptive max pooling save the argmax of
// each window for backward (max_pool2d_with_indices returns it, max_unpool2d
// takes it back); average pooling saves nothing but the shapes; LP pooling is
// composed of differentiable ops (pow, avg_pool2d, relu); 1-D pooling is 2-D
// pooling of (N,C,1,L) with a (1,k) window. Autograd accumulates (+=) the
// returned gradients into .grad. Each backward is linear in dy: when backward records
// (create_graph) it is recorded as an op of dy whose adjoint is the forward (average pooling) or
// a gather at the saved argmax (max pooling), for double backward.
#include "convnet/ops/pool2d.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "convnet/autograd.h"
#include "convnet/ops/activation.h"
#include "convnet/ops/conv2d.h"
#include "convnet/ops/elementwise.h"
#include "convnet/ops/index.h"
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

namespace {

// dx (N,C,H,W) of max pooling from dy (N,C,P,Q) routed to the argmax (N,C,P,Q) of each window,
// recorded with its adjoint when backward records: the values of ddx at the argmax.
Tensor max_pool_input_grad(Tensor dx, const Tensor& dy, const Tensor& argmax, const char* op) {
  return autograd::record_linear(dx, dy, op, [argmax](const Tensor& ddx) {
    const int64_t N = argmax.size(0), C = argmax.size(1), P = argmax.size(2), Q = argmax.size(3);
    return gather(ddx.reshape({N, C, -1}), 2, argmax.reshape({N, C, P * Q})).reshape({N, C, P, Q});
  });
}

// Max pooling of a 4-D x with its argmax, which is computed only where the caller asks for
// it (`indices`) or backward needs it (else undefined); `op` names the calling function in errors.
std::pair<Tensor, Tensor> max_pool(const Tensor& x, const Pool2dOptions& o, const char* op, bool indices) {
  if (!x.is_contiguous()) return max_pool(x.contiguous(), o, op, indices);
  cpu::Pool2dShape s = pool2d_check(x, o, op);
  const Device dev = common_device(op, {&x});
  const bool record = autograd::needs_record({x});
  Tensor y = Tensor::empty({s.N, s.C, s.P, s.Q}, x.dtype(), dev);
  Tensor argmax = indices || record ? Tensor::empty({s.N, s.C, s.P, s.Q}, DType::Int64, dev) : Tensor();
  dispatch_floating(x.dtype(), op, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    CONVNET_KERNEL(dev, max_pool2d_forward, <T>)(s, x.data<T>(), y.data<T>(),
                                                 argmax.defined() ? argmax.data<int64_t>() : nullptr);
  });
  if (record) {
    autograd::record(y, op, {x}, [argmax, s, op](const Tensor& dy, const std::vector<bool>&) {
      const Device dev = common_device(op, {&dy, &argmax});
      Tensor dx = Tensor::empty({s.N, s.C, s.H, s.W}, dy.dtype(), dev);
      dispatch_floating(dy.dtype(), op, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        CONVNET_KERNEL(dev, max_pool2d_backward, <T>)(s, dy.data<T>(), argmax.data<int64_t>(), dx.data<T>());
      });
      return std::vector<Tensor>{max_pool_input_grad(dx, dy, argmax, op)};
    });
  }
  return {y, argmax};
}

// Average pooling of a 4-D x; `op` names the calling function in errors.
Tensor avg_pool(const Tensor& x, const Pool2dOptions& o, const char* op) {
  if (!x.is_contiguous()) return avg_pool(x.contiguous(), o, op);
  cpu::Pool2dShape s = pool2d_check(x, o, op);
  const Device dev = common_device(op, {&x});
  Tensor y = Tensor::empty({s.N, s.C, s.P, s.Q}, x.dtype(), dev);
  dispatch_floating(x.dtype(), op, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    CONVNET_KERNEL(dev, avg_pool2d_forward, <T>)(s, x.data<T>(), y.data<T>());
  });
  if (autograd::needs_record({x})) {
    autograd::record(y, op, {x}, [s, o, op](const Tensor& dy, const std::vector<bool>&) {
      const Device dev = common_device(op, {&dy});
      Tensor dx = Tensor::empty({s.N, s.C, s.H, s.W}, dy.dtype(), dev);
      dispatch_floating(dy.dtype(), op, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        CONVNET_KERNEL(dev, avg_pool2d_backward, <T>)(s, dy.data<T>(), dx.data<T>());
      });
      return std::vector<Tensor>{
          autograd::record_linear(dx, dy, op, [o, op](const Tensor& ddx) { return avg_pool(ddx, o, op); })};
    });
  }
  return y;
}

// x (N,C,L) or (C,L) viewed as (N,C,1,L) for f, the result viewed back as 3-D or 2-D.
template <typename F>
Tensor as_row_images(const Tensor& x, const char* op, F f) {
  CONVNET_CHECK(x.dim() == 2 || x.dim() == 3, op, ": expected a 3-D input (N, C, L) or 2-D (C, L), got shape ",
                shape_str(x.shape()));
  const int64_t N = x.dim() == 3 ? x.size(0) : 1, C = x.size(-2), L = x.size(-1);
  Tensor y = f(x.reshape({N, C, 1, L}));
  return x.dim() == 3 ? y.reshape({N, C, y.size(3)}) : y.reshape({C, y.size(3)});
}

// A 1-D window as a (1, k) one.
Pool2dOptions row_window(const Pool1dOptions& o) {
  Pool2dOptions p;
  p.kernel_size = {1, o.kernel_size};
  p.stride = {1, o.stride};
  p.padding = {0, o.padding};
  p.dilation = {1, o.dilation};
  p.ceil_mode = o.ceil_mode;
  p.count_include_pad = o.count_include_pad;
  return p;
}

// max_pool2d(_with_indices) of a 4-D or 3-D x.
std::pair<Tensor, Tensor> max_pool2d_of(const Tensor& x, const Pool2dOptions& o, bool indices) {
  if (x.dim() != 3) return max_pool(x, o, "max_pool2d", indices);
  auto [y, i] = max_pool(x.reshape({1, x.size(0), x.size(1), x.size(2)}), o, "max_pool2d", indices);
  const Shape s{y.size(1), y.size(2), y.size(3)};
  return {y.reshape(s), indices ? i.reshape(s) : i};
}

// max_pool1d(_with_indices) of a 3-D or 2-D x.
std::pair<Tensor, Tensor> max_pool1d_of(const Tensor& x, const Pool1dOptions& o, bool indices) {
  Tensor idx;
  Tensor y = as_row_images(x, "max_pool1d", [&](const Tensor& x4) {
    auto r = max_pool(x4, row_window(o), "max_pool1d", indices);
    idx = r.second;
    return r.first;
  });
  return {y, indices ? idx.reshape(y.shape()) : idx};
}

}  // namespace

std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, const Pool2dOptions& o) {
  return max_pool2d_of(x, o, true);
}

Tensor max_pool2d(const Tensor& x, const Pool2dOptions& o) { return max_pool2d_of(x, o, false).first; }

std::pair<Tensor, Tensor> max_pool1d_with_indices(const Tensor& x, const Pool1dOptions& o) {
  return max_pool1d_of(x, o, true);
}

Tensor max_pool1d(const Tensor& x, const Pool1dOptions& o) { return max_pool1d_of(x, o, false).first; }

Tensor avg_pool1d(const Tensor& x, const Pool1dOptions& o) {
  return as_row_images(x, "avg_pool1d", [&](const Tensor& x4) { return avg_pool(x4, row_window(o), "avg_pool1d"); });
}

Tensor adaptive_avg_pool1d(const Tensor& x, int64_t output_size) {
  CONVNET_CHECK(output_size > 0, "adaptive_avg_pool1d: output_size must be positive, got ", output_size);
  return as_row_images(x, "adaptive_avg_pool1d",
                       [&](const Tensor& x4) { return adaptive_avg_pool2d(x4, AdaptiveSize{1, output_size}); });
}

Tensor max_unpool2d(const Tensor& x_in, const Tensor& indices_in, const Pool2dOptions& o,
                    std::optional<std::array<int64_t, 2>> output_size) {
  if (any_strided({&x_in, &indices_in})) return max_unpool2d(x_in.contiguous(), indices_in.contiguous(), o, output_size);
  CONVNET_CHECK(x_in.dim() == 3 || x_in.dim() == 4,
                "max_unpool2d: expected a 4-D input (N, C, H, W) or 3-D (C, H, W), got shape ", shape_str(x_in.shape()));
  CONVNET_CHECK(indices_in.shape() == x_in.shape() && indices_in.dtype() == DType::Int64,
                "max_unpool2d: expected int64 indices of the input's shape ", shape_str(x_in.shape()), ", got ",
                dtype_name(indices_in.dtype()), " indices of shape ", shape_str(indices_in.shape()));
  CONVNET_CHECK(is_floating(x_in.dtype()), "max_unpool2d: expected a float32 or float64 input, got ",
                dtype_name(x_in.dtype()));
  const bool batched = x_in.dim() == 4;
  const Tensor x = batched ? x_in : x_in.reshape({1, x_in.size(0), x_in.size(1), x_in.size(2)});
  const Tensor idx = batched ? indices_in : indices_in.reshape(x.shape());
  const int64_t N = x.size(0), C = x.size(1), P = x.size(2), Q = x.size(3);
  std::array<int64_t, 2> def{};
  for (int i = 0; i < 2; ++i) {
    CONVNET_CHECK(o.kernel_size[i] > 0 && o.stride[i] > 0 && o.padding[i] >= 0, "max_unpool2d: kernel_size (",
                  o.kernel_size[0], ", ", o.kernel_size[1], ") and stride (", o.stride[0], ", ", o.stride[1],
                  ") must be positive and padding non-negative");
    def[i] = (x.size(2 + i) - 1) * o.stride[i] - 2 * o.padding[i] + o.kernel_size[i];
  }
  const std::array<int64_t, 2> out = output_size.value_or(def);
  for (int i = 0; i < 2; ++i)
    CONVNET_CHECK(out[i] > def[i] - o.stride[i] && out[i] < def[i] + o.stride[i] && out[i] > 0,
                  "max_unpool2d: invalid output_size (", out[0], ", ", out[1], "): it must lie between (",
                  std::max<int64_t>(1, def[0] - o.stride[0] + 1), ", ", std::max<int64_t>(1, def[1] - o.stride[1] + 1),
                  ") and (", def[0] + o.stride[0] - 1, ", ", def[1] + o.stride[1] - 1, ")");
  const int64_t H = out[0], W = out[1];
  const Device dev = common_device("max_unpool2d", {&x, &idx});
  const Tensor host = dev.is_cpu() ? idx : idx.to(Device());  // the indices checked on the host
  const int64_t* ip = host.data<int64_t>();
  for (int64_t j = 0; j < idx.numel(); ++j)
    CONVNET_CHECK(ip[j] >= 0 && ip[j] < H * W, "max_unpool2d: found an invalid max index ", ip[j],
                  " for an output of size (", H, ", ", W, "); input shape ", shape_str(x_in.shape()));
  Tensor y = Tensor::empty({N, C, H, W}, x.dtype(), dev);
  dispatch_floating(x.dtype(), "max_unpool2d", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    CONVNET_KERNEL(dev, max_unpool2d_forward, <T>)(N, C, H, W, P, Q, x.data<T>(), idx.data<int64_t>(), y.data<T>());
  });
  if (autograd::needs_record({x})) {
    autograd::record(y, "max_unpool2d", {x}, [idx, o, N, C, H, W, P, Q](const Tensor& dy, const std::vector<bool>&) {
      const Device dev = common_device("max_unpool2d", {&dy, &idx});
      Tensor dx = Tensor::empty({N, C, P, Q}, dy.dtype(), dev);
      dispatch_floating(dy.dtype(), "max_unpool2d", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        CONVNET_KERNEL(dev, max_unpool2d_backward, <T>)(N, C, H, W, P, Q, dy.data<T>(), idx.data<int64_t>(), dx.data<T>());
      });
      // linear in dy: its adjoint is the forward
      return std::vector<Tensor>{autograd::record_linear(dx, dy, "max_unpool2d", [idx, o, H, W](const Tensor& ddx) {
        return max_unpool2d(ddx, idx, o, std::array<int64_t, 2>{H, W});
      })};
    });
  }
  return batched ? y : y.reshape({C, H, W});
}

Tensor avg_pool2d(const Tensor& x_in, const Pool2dOptions& o) {
  return unbatched(x_in, [&](const Tensor& x) { return avg_pool(x, o, "avg_pool2d"); });
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
      autograd::record(y, "adaptive_avg_pool2d", {x}, [a, out](const Tensor& dy, const std::vector<bool>&) {
        const Device dev = common_device("adaptive_avg_pool2d", {&dy});
        Tensor dx = Tensor::empty({a.N, a.C, a.H, a.W}, dy.dtype(), dev);
        dispatch_floating(dy.dtype(), "adaptive_avg_pool2d", [&](auto* tag) {
          using T = std::remove_pointer_t<decltype(tag)>;
          CONVNET_KERNEL(dev, adaptive_avg_pool2d_backward, <T>)(a.N, a.C, a.H, a.W, a.P, a.Q, dy.data<T>(),
                                                                 dx.data<T>());
        });
        return std::vector<Tensor>{autograd::record_linear(
            dx, dy, "adaptive_avg_pool2d", [out](const Tensor& ddx) { return adaptive_avg_pool2d(ddx, out); })};
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
        return std::vector<Tensor>{max_pool_input_grad(dx, dy, argmax, "adaptive_max_pool2d")};
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
