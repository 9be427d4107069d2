// 3-D pooling: N batch, C channels, D H W input size, OD P Q output size, KD KH KW window.
// x (N,C,D,H,W), y (N,C,OD,P,Q). Max pooling saves the argmax of each window for backward;
// average pooling saves nothing but the shape. Autograd accumulates (+=) the returned
// gradients into .grad. Each backward is linear in dy: when backward records (create_graph) it is
// recorded as an op of dy whose adjoint is the forward or a gather at the argmax, for double backward.
#include "convnet/ops/pool3d.h"

#include "convnet/autograd.h"
#include "convnet/ops/conv2d.h"
#include "convnet/ops/index.h"
#include "dispatch.h"

namespace convnet {

namespace {

// The one check of 3-D pooling: validates and computes the output size; `op` names the function.
cpu::Pool3dShape pool3d_check(const Tensor& x, const Pool3dOptions& o, const char* op) {
  CONVNET_CHECK(x.dim() == 5, op, ": expected a 5-D input (N, C, D, H, W) or 4-D (C, D, H, W), got shape ",
                shape_str(x.shape()));
  CONVNET_CHECK(is_floating(x.dtype()), op, ": expected a float32 or float64 input, got ", dtype_name(x.dtype()));
  cpu::Pool3dShape s{x.size(0), x.size(1), x.size(2), x.size(3), x.size(4), 0, 0, 0,
                     o.kernel_size[0], o.kernel_size[1], o.kernel_size[2], {}, {}, {}, o.count_include_pad};
  const int64_t in[3] = {s.D, s.H, s.W};
  int64_t out[3];
  for (int i = 0; i < 3; ++i) {
    CONVNET_CHECK(o.kernel_size[i] > 0 && o.stride[i] > 0 && o.dilation[i] > 0, op,
                  ": kernel_size, stride and dilation must be positive, got kernel_size (", o.kernel_size[0], ", ",
                  o.kernel_size[1], ", ", o.kernel_size[2], "), stride (", o.stride[0], ", ", o.stride[1], ", ",
                  o.stride[2], "), dilation (", o.dilation[0], ", ", o.dilation[1], ", ", o.dilation[2], ")");
    CONVNET_CHECK(o.padding[i] >= 0 && o.padding[i] <= o.kernel_size[i] / 2, op,
                  ": padding must be non-negative and at most half the kernel size, got padding (", o.padding[0],
                  ", ", o.padding[1], ", ", o.padding[2], ") for kernel_size (", o.kernel_size[0], ", ",
                  o.kernel_size[1], ", ", o.kernel_size[2], ")");
    s.stride[i] = o.stride[i];
    s.pad[i] = o.padding[i];
    s.dil[i] = o.dilation[i];
    out[i] = conv_output_size(in[i], o.kernel_size[i], o.stride[i], o.padding[i], o.dilation[i], o.ceil_mode);
  }
  s.OD = out[0], s.P = out[1], s.Q = out[2];
  CONVNET_CHECK(s.OD > 0 && s.P > 0 && s.Q > 0, op, ": output size is too small: (", s.OD, ", ", s.P, ", ", s.Q,
                ") for input shape ", shape_str(x.shape()));
  return s;
}

// Runs f on a 5-D view of a 4-D (C,D,H,W) input and drops the batch dimension of its tensors.
template <typename F>
std::pair<Tensor, Tensor> unbatched3d(const Tensor& x, F f) {
  if (!x.is_contiguous()) return unbatched3d(x.contiguous(), f);
  if (x.dim() != 4) return f(x);
  auto [y, i] = f(x.reshape({1, x.size(0), x.size(1), x.size(2), x.size(3)}));
  const Shape s{y.size(1), y.size(2), y.size(3), y.size(4)};
  return {y.reshape(s), i.defined() ? i.reshape(s) : i};
}

}  // namespace

std::pair<Tensor, Tensor> max_pool3d_with_indices(const Tensor& x_in, const Pool3dOptions& o) {
  return unbatched3d(x_in, [&](const Tensor& x) {
    const cpu::Pool3dShape s = pool3d_check(x, o, "max_pool3d");
    const Device dev = common_device("max_pool3d", {&x});
    Tensor y = Tensor::empty({s.N, s.C, s.OD, s.P, s.Q}, x.dtype(), dev);
    Tensor argmax = Tensor::empty({s.N, s.C, s.OD, s.P, s.Q}, DType::Int64, dev);
    dispatch_floating(x.dtype(), "max_pool3d", [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      CONVNET_KERNEL(dev, max_pool3d_forward, <T>)(s, x.data<T>(), y.data<T>(), argmax.data<int64_t>());
    });
    if (autograd::needs_record({x})) {
      autograd::record(y, "max_pool3d", {x}, [argmax, s](const Tensor& dy, const std::vector<bool>&) {
        const Device dev = common_device("max_pool3d", {&dy, &argmax});
        Tensor dx = Tensor::empty({s.N, s.C, s.D, s.H, s.W}, dy.dtype(), dev);
        dispatch_floating(dy.dtype(), "max_pool3d", [&](auto* tag) {
          using T = std::remove_pointer_t<decltype(tag)>;
          CONVNET_KERNEL(dev, max_pool3d_backward, <T>)(s, dy.data<T>(), argmax.data<int64_t>(), dx.data<T>());
        });
        // linear in dy: its adjoint reads ddx at the argmax of each window
        return std::vector<Tensor>{autograd::record_linear(dx, dy, "max_pool3d", [argmax](const Tensor& ddx) {
          const int64_t N = argmax.size(0), C = argmax.size(1);
          return gather(ddx.reshape({N, C, -1}), 2, argmax.reshape({N, C, -1})).reshape(argmax.shape());
        })};
      });
    }
    return std::pair<Tensor, Tensor>{y, argmax};
  });
}

Tensor max_pool3d(const Tensor& x, const Pool3dOptions& o) { return max_pool3d_with_indices(x, o).first; }

Tensor avg_pool3d(const Tensor& x_in, const Pool3dOptions& o) {
  return unbatched3d(x_in, [&](const Tensor& x) {
           const cpu::Pool3dShape s = pool3d_check(x, o, "avg_pool3d");
           const Device dev = common_device("avg_pool3d", {&x});
           Tensor y = Tensor::empty({s.N, s.C, s.OD, s.P, s.Q}, x.dtype(), dev);
           dispatch_floating(x.dtype(), "avg_pool3d", [&](auto* tag) {
             using T = std::remove_pointer_t<decltype(tag)>;
             CONVNET_KERNEL(dev, avg_pool3d_forward, <T>)(s, x.data<T>(), y.data<T>());
           });
           if (autograd::needs_record({x})) {
             autograd::record(y, "avg_pool3d", {x}, [s, o](const Tensor& dy, const std::vector<bool>&) {
               const Device dev = common_device("avg_pool3d", {&dy});
               Tensor dx = Tensor::empty({s.N, s.C, s.D, s.H, s.W}, dy.dtype(), dev);
               dispatch_floating(dy.dtype(), "avg_pool3d", [&](auto* tag) {
                 using T = std::remove_pointer_t<decltype(tag)>;
                 CONVNET_KERNEL(dev, avg_pool3d_backward, <T>)(s, dy.data<T>(), dx.data<T>());
               });
               // linear in dy: its adjoint is the forward
               return std::vector<Tensor>{autograd::record_linear(
                   dx, dy, "avg_pool3d", [o](const Tensor& ddx) { return avg_pool3d(ddx, o); })};
             });
           }
           return std::pair<Tensor, Tensor>{y, Tensor()};
         })
      .first;
}

}  // namespace convnet
