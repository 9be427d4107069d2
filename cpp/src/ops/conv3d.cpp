// conv3d: N batch, C in channels, D H W input size, K out channels, KD R S kernel (depth,
// height, width), OD P Q output size, G groups. x (N,C,D,H,W), w (K,C/G,KD,R,S), b (K),
// y (N,K,OD,P,Q).
// No kernels of its own: conv2d runs it. The input is padded in depth once (zeros around it, and
// after it in height and width for the extra cell of an even "same": conv2d pads symmetrically);
// kernel depth index kd reads the depth slices od*stride + kd*dilation (a strided view), which
// are folded into the batch, (N*OD, C, H, W), and convolved by conv2d with w[:, :, kd] (the
// height and width stride, padding and dilation, and the groups, passed through); the KD
// results are summed, the bias added once (with kd = 0), and the batch unfolded back to
// (N,K,OD,P,Q). So the CPU and CUDA backends, autograd (the gradients of the views, cat and
// sum included) and double backward are conv2d's and those of the views; autograd accumulates
// (+=) the gradients into .grad.
#include "convnet/ops/conv3d.h"

#include <vector>

#include "convnet/ops/cat.h"
#include "convnet/ops/conv2d.h"
#include "convnet/ops/elementwise.h"
#include "convnet/ops/view.h"
#include "dispatch.h"

namespace convnet {

namespace {

struct Conv3dShape {
  int64_t N, C, D, H, W, K, KD, R, S, OD, P, Q;
  std::array<int64_t, 3> before, after;  // the padding of D, H, W (they differ for an even "same")
};

// The one check for conv3d: validates everything (the caller's (N,C,D,H,W) or (C,D,H,W) input,
// so that messages show its shape) and computes the output shape.
Conv3dShape conv3d_check(const Tensor& x, const Tensor& w, const Tensor& b, const Conv3dOptions& o) {
  CONVNET_CHECK(w.dim() == 5, "conv3d: weight must be 5-D (out_channels, in_channels/groups, kD, kH, kW), got shape ",
                shape_str(w.shape()));
  CONVNET_CHECK(x.dim() == 5 || x.dim() == 4, "conv3d: expected a 5-D input (N, C, D, H, W) or 4-D (C, D, H, W), got a ",
                x.dim(), "-D input of shape ", shape_str(x.shape()));
  CONVNET_CHECK(is_floating(x.dtype()) && x.dtype() == w.dtype(), "conv3d: input dtype ", dtype_name(x.dtype()),
                " must match weight dtype ", dtype_name(w.dtype()), " (float32 or float64); input shape ",
                shape_str(x.shape()));
  const int64_t G = o.groups;
  CONVNET_CHECK(G >= 1, "conv3d: groups must be positive, got ", G);
  const auto& st = o.stride;
  const auto& pd = o.padding;
  const auto& dl = o.dilation;
  CONVNET_CHECK(st[0] > 0 && st[1] > 0 && st[2] > 0, "conv3d: stride must be positive, got (", st[0], ", ", st[1],
                ", ", st[2], ")");
  CONVNET_CHECK(dl[0] > 0 && dl[1] > 0 && dl[2] > 0, "conv3d: dilation must be positive, got (", dl[0], ", ", dl[1],
                ", ", dl[2], ")");
  CONVNET_CHECK(pd[0] >= 0 && pd[1] >= 0 && pd[2] >= 0, "conv3d: padding must be non-negative, got (", pd[0], ", ",
                pd[1], ", ", pd[2], ")");
  Conv3dShape s{};
  s.K = w.size(0), s.KD = w.size(2), s.R = w.size(3), s.S = w.size(4);
  const int64_t Cg = w.size(1);
  CONVNET_CHECK(s.K % G == 0, "conv3d: out_channels (", s.K, ") must be divisible by groups (", G, ")");
  CONVNET_CHECK(s.KD > 0 && s.R > 0 && s.S > 0 && Cg > 0,
                "conv3d: kernel size and channels must be positive, weight shape ", shape_str(w.shape()));
  const int64_t b0 = x.dim() == 5 ? 1 : 0;  // the first of C, D, H, W
  s.N = b0 ? x.size(0) : 1, s.C = x.size(b0), s.D = x.size(b0 + 1), s.H = x.size(b0 + 2), s.W = x.size(b0 + 3);
  CONVNET_CHECK(s.C == Cg * G, "conv3d: input has ", s.C, " channel(s), expected ", Cg * G,
                G > 1 ? cat_str(" (groups=", G, ")") : std::string(), "; input shape ", shape_str(x.shape()));
  CONVNET_CHECK(!b.defined() || (b.dim() == 1 && b.size(0) == s.K && b.dtype() == w.dtype()),
                "conv3d: bias must have shape (", s.K, ",), got ", shape_str(b.shape()));
  const int64_t in[3] = {s.D, s.H, s.W}, k[3] = {s.KD, s.R, s.S};
  int64_t lo[3], hi[3], eff[3], out[3];
  if (o.same)
    CONVNET_CHECK(st[0] == 1 && st[1] == 1 && st[2] == 1,
                  "conv3d: padding='same' is not supported for strided convolutions");
  for (int i = 0; i < 3; ++i) {
    eff[i] = dl[i] * (k[i] - 1) + 1;
    lo[i] = o.same ? (eff[i] - 1) / 2 : pd[i];  // "same": the extra cell of an even total at the back
    hi[i] = o.same ? eff[i] - 1 - lo[i] : pd[i];
  }
  CONVNET_CHECK(in[0] + lo[0] + hi[0] >= eff[0] && in[1] + lo[1] + hi[1] >= eff[1] && in[2] + lo[2] + hi[2] >= eff[2],
                "conv3d: kernel size (", eff[0], ", ", eff[1], ", ", eff[2],
                ") (with dilation) is larger than the padded input (", in[0] + lo[0] + hi[0], ", ",
                in[1] + lo[1] + hi[1], ", ", in[2] + lo[2] + hi[2], "); input shape ", shape_str(x.shape()));
  for (int i = 0; i < 3; ++i) out[i] = (in[i] + lo[i] + hi[i] - eff[i]) / st[i] + 1;
  s.OD = out[0], s.P = out[1], s.Q = out[2];
  s.before = {lo[0], lo[1], lo[2]}, s.after = {hi[0], hi[1], hi[2]};
  return s;
}

// x with `before` and `after` zero cells added along dim (a cat: differentiable twice).
Tensor zero_pad(const Tensor& x, int64_t dim, int64_t before, int64_t after) {
  if (before == 0 && after == 0) return x;
  auto zeros_of = [&](int64_t n) {
    Shape shape = x.shape();
    shape[dim] = n;
    return zeros(shape, x.dtype(), x.device());
  };
  std::vector<Tensor> parts;
  if (before > 0) parts.push_back(zeros_of(before));
  parts.push_back(x);
  if (after > 0) parts.push_back(zeros_of(after));
  return cat(parts, dim);
}

}  // namespace

Tensor conv3d(const Tensor& x_in, const Tensor& w, const Tensor& b, const Conv3dOptions& o) {
  const Conv3dShape s = conv3d_check(x_in, w, b, o);
  common_device("conv3d", {&x_in, &w, &b});
  // zeros around the input in depth, and after it in height and width where "same" pads one more
  // cell there than before; conv2d pads the rest (the same number on both sides)
  Tensor x = x_in.dim() == 4 ? x_in.reshape({1, s.C, s.D, s.H, s.W}) : x_in;
  x = zero_pad(x, 2, s.before[0], s.after[0]);
  x = zero_pad(x, 3, 0, s.after[1] - s.before[1]);
  x = zero_pad(x, 4, 0, s.after[2] - s.before[2]);
  const int64_t H = x.size(3), W = x.size(4);
  Conv2dOptions o2;
  o2.stride = {o.stride[1], o.stride[2]};
  o2.padding = {s.before[1], s.before[2]};
  o2.dilation = {o.dilation[1], o.dilation[2]};
  o2.groups = o.groups;
  Tensor y;  // (N*OD, K, P, Q)
  for (int64_t kd = 0; kd < s.KD; ++kd) {
    const int64_t first = kd * o.dilation[0];
    // x (N,C,Dp,H,W) → the slices tap kd reads, (N,C,OD,H,W) → (N*OD,C,H,W)
    Tensor xs = permute(slice(x, 2, first, first + (s.OD - 1) * o.stride[0] + 1, o.stride[0]), {0, 2, 1, 3, 4})
                    .reshape({s.N * s.OD, s.C, H, W});
    Tensor yk = conv2d(xs, select(w, 2, kd), kd == 0 ? b : Tensor(), o2);
    y = kd == 0 ? yk : add(y, yk);
  }
  y = permute(y.reshape({s.N, s.OD, s.K, s.P, s.Q}), {0, 2, 1, 3, 4}).contiguous();
  return x_in.dim() == 4 ? y.reshape({s.K, s.OD, s.P, s.Q}) : y;
}

}  // namespace convnet
