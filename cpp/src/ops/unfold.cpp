// unfold / fold: N batch, C channels, H W image size, R S kernel, P Q blocks per column and
// row (L = P*Q); image (N,C,H,W) ↔ columns (N,C*R*S,L). The kernels are conv2d's column
// matrices (cpu/conv2d.cpp); each op's backward is the other's kernel, nothing saved but
// the shape. Autograd accumulates (+=) the gradients into .grad.
#include "convnet/ops/unfold.h"

#include "convnet/autograd.h"
#include "convnet/ops/conv2d.h"
#include "dispatch.h"

namespace convnet {

namespace {

// The one check of unfold and fold: the options and the block grid of an (H, W) image.
cpu::Conv2dShape unfold_check(int64_t N, int64_t C, int64_t H, int64_t W, const UnfoldOptions& o, const char* op,
                              const Shape& in) {
  for (int i = 0; i < 2; ++i) {
    CONVNET_CHECK(o.kernel_size[i] > 0 && o.stride[i] > 0 && o.dilation[i] > 0, op,
                  ": kernel_size, stride and dilation must be positive, got kernel_size=(", o.kernel_size[0], ", ",
                  o.kernel_size[1], "), stride=(", o.stride[0], ", ", o.stride[1], "), dilation=(", o.dilation[0],
                  ", ", o.dilation[1], ")");
    CONVNET_CHECK(o.padding[i] >= 0, op, ": padding must be non-negative, got (", o.padding[0], ", ",
                  o.padding[1], ")");
  }
  cpu::Conv2dShape s{N, C, H, W, C, o.kernel_size[0], o.kernel_size[1], 0, 0, o.stride[0], o.stride[1],
                     o.padding[0], o.padding[1], o.dilation[0], o.dilation[1], 1};
  s.P = conv_output_size(H, s.R, s.stride_h, s.pad_h, s.dil_h, false);
  s.Q = conv_output_size(W, s.S, s.stride_w, s.pad_w, s.dil_w, false);
  CONVNET_CHECK(s.P > 0 && s.Q > 0, op, ": the kernel (", s.dil_h * (s.R - 1) + 1, ", ", s.dil_w * (s.S - 1) + 1,
                ") with dilation is larger than the padded image (", H + 2 * s.pad_h, ", ", W + 2 * s.pad_w,
                "); input shape ", shape_str(in));
  return s;
}

// to_cols: image (N,C,H,W) → columns (N,C*R*S,P*Q), else columns → image.
Tensor run(const Tensor& in, const cpu::Conv2dShape& s, bool to_cols, const char* op) {
  if (!in.is_contiguous()) return run(in.contiguous(), s, to_cols, op);
  const Device dev = common_device(op, {&in});
  Tensor out = to_cols ? Tensor::empty({s.N, s.C * s.R * s.S, s.P * s.Q}, in.dtype(), dev)
                       : Tensor::empty({s.N, s.C, s.H, s.W}, in.dtype(), dev);
  dispatch_floating(in.dtype(), op, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    if (to_cols)
      CONVNET_KERNEL(dev, unfold_forward, <T>)(s, in.data<T>(), out.data<T>());
    else
      CONVNET_KERNEL(dev, unfold_backward, <T>)(s, in.data<T>(), out.data<T>());
  });
  if (autograd::needs_record({in})) {
    autograd::record(out, op, {in}, [s, to_cols, op, shape = in.shape()](const Tensor& dy, const std::vector<bool>&) {
      return std::vector<Tensor>{run(dy, s, !to_cols, op).reshape(shape)};
    });
  }
  return out;
}

}  // namespace

Tensor unfold(const Tensor& x, const UnfoldOptions& o) {
  CONVNET_CHECK(x.dim() == 3 || x.dim() == 4, "unfold: expected a 4-D input (N, C, H, W) or 3-D (C, H, W), got shape ",
                shape_str(x.shape()));
  CONVNET_CHECK(is_floating(x.dtype()), "unfold: expected a float32 or float64 input, got ", dtype_name(x.dtype()));
  const bool batched = x.dim() == 4;
  const int64_t N = batched ? x.size(0) : 1, d = x.dim();
  const cpu::Conv2dShape s = unfold_check(N, x.size(d - 3), x.size(d - 2), x.size(d - 1), o, "unfold", x.shape());
  Tensor cols = run(batched ? x : x.reshape({1, s.C, s.H, s.W}), s, true, "unfold");
  return batched ? cols : cols.reshape({cols.size(1), cols.size(2)});
}

Tensor fold(const Tensor& cols, std::array<int64_t, 2> output_size, const UnfoldOptions& o) {
  CONVNET_CHECK(cols.dim() == 2 || cols.dim() == 3,
                "fold: expected a 3-D input (N, C*kH*kW, L) or 2-D (C*kH*kW, L), got shape ", shape_str(cols.shape()));
  CONVNET_CHECK(is_floating(cols.dtype()), "fold: expected a float32 or float64 input, got ",
                dtype_name(cols.dtype()));
  CONVNET_CHECK(output_size[0] > 0 && output_size[1] > 0, "fold: output_size must be positive, got (",
                output_size[0], ", ", output_size[1], ")");
  const bool batched = cols.dim() == 3;
  const int64_t N = batched ? cols.size(0) : 1, rows = cols.size(cols.dim() - 2), L = cols.size(cols.dim() - 1);
  const int64_t RS = o.kernel_size[0] * o.kernel_size[1];
  CONVNET_CHECK(RS > 0 && rows % RS == 0, "fold: expected size of input's dimension ", cols.dim() - 2,
                " (", rows, ") to be divisible by the product of kernel_size (", RS, "); input shape ",
                shape_str(cols.shape()));
  const cpu::Conv2dShape s = unfold_check(N, rows / RS, output_size[0], output_size[1], o, "fold", cols.shape());
  CONVNET_CHECK(s.P * s.Q == L, "fold: expected the last dimension of the input (", L,
                ") to match the number of sliding blocks ", s.P * s.Q, " = ", s.P, " * ", s.Q,
                " for output_size (", output_size[0], ", ", output_size[1], "); input shape ",
                shape_str(cols.shape()));
  Tensor y = run(batched ? cols : cols.reshape({1, rows, L}), s, false, "fold");
  return batched ? y : y.reshape({s.C, s.H, s.W});
}

}  // namespace convnet
