// pixel_shuffle / pixel_unshuffle: N (the leading dimensions), C output channels of the
// shuffle, H W the shuffle's input size, r the factor: (N,C*r*r,H,W) ↔ (N,C,H*r,W*r).
// The two are inverse permutations: each one's backward is the other's kernel, and
// nothing is saved but the shape. Autograd accumulates (+=) the gradients into .grad.
#include "convnet/ops/pixel_shuffle.h"

#include "convnet/autograd.h"
#include "dispatch.h"

namespace convnet {

namespace {

struct ShuffleShape {
  int64_t N, C, H, W, r;
};

// to_y: x (N,C*r*r,H,W) → y (N,C,H*r,W*r), else the inverse; `out` the result's shape.
Tensor shuffle(const Tensor& in, const ShuffleShape& s, const Shape& out, bool to_y, const char* op) {
  if (!in.is_contiguous()) return shuffle(in.contiguous(), s, out, to_y, op);
  const Device dev = common_device(op, {&in});
  Tensor y = Tensor::empty(out, in.dtype(), dev);
  dispatch_floating(in.dtype(), op, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    auto k = to_y ? CONVNET_KERNEL(dev, pixel_shuffle_forward, <T>) : CONVNET_KERNEL(dev, pixel_shuffle_backward, <T>);
    k(s.N, s.C, s.H, s.W, s.r, in.data<T>(), y.data<T>());
  });
  if (autograd::needs_record({in})) {
    autograd::record(y, op, {in}, [s, shape = in.shape(), to_y, op](const Tensor& dy, const std::vector<bool>&) {
      return std::vector<Tensor>{shuffle(dy, s, shape, !to_y, op)};
    });
  }
  return y;
}

void shuffle_check(const Tensor& x, int64_t r, const char* op, const char* factor) {
  CONVNET_CHECK(x.dim() >= 3, op, ": expected an input of 3 or more dimensions (*, C, H, W), got shape ",
                shape_str(x.shape()));
  CONVNET_CHECK(r > 0, op, ": ", factor, " must be positive, got ", r);
  CONVNET_CHECK(is_floating(x.dtype()), op, ": expected a float32 or float64 input, got ", dtype_name(x.dtype()));
}

}  // namespace

Tensor pixel_shuffle(const Tensor& x, int64_t r) {
  shuffle_check(x, r, "pixel_shuffle", "upscale_factor");
  const int64_t d = x.dim(), Cin = x.size(d - 3);
  CONVNET_CHECK(Cin % (r * r) == 0, "pixel_shuffle: expected the number of channels ", Cin,
                " to be divisible by the square of upscale_factor (", r * r, "); input shape ", shape_str(x.shape()));
  ShuffleShape s{1, Cin / (r * r), x.size(d - 2), x.size(d - 1), r};
  for (int64_t i = 0; i < d - 3; ++i) s.N *= x.size(i);
  Shape out = x.shape();
  out[d - 3] = s.C;
  out[d - 2] = s.H * r;
  out[d - 1] = s.W * r;
  return shuffle(x, s, out, true, "pixel_shuffle");
}

Tensor pixel_unshuffle(const Tensor& x, int64_t r) {
  shuffle_check(x, r, "pixel_unshuffle", "downscale_factor");
  const int64_t d = x.dim();
  CONVNET_CHECK(x.size(d - 2) % r == 0 && x.size(d - 1) % r == 0, "pixel_unshuffle: expected height and width ",
                x.size(d - 2), ", ", x.size(d - 1), " to be divisible by downscale_factor=", r, "; input shape ",
                shape_str(x.shape()));
  ShuffleShape s{1, x.size(d - 3), x.size(d - 2) / r, x.size(d - 1) / r, r};
  for (int64_t i = 0; i < d - 3; ++i) s.N *= x.size(i);
  Shape out = x.shape();
  out[d - 3] = s.C * r * r;
  out[d - 2] = s.H;
  out[d - 1] = s.W;
  return shuffle(x, s, out, false, "pixel_unshuffle");
}

}  // namespace convnet
