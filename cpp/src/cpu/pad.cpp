// CPU constant padding of the last two dimensions. B planes (the product of
// the leading dimensions), H W input size, H2 = H + top + bottom and
// W2 = W + left + right output size; a negative top/left/bottom/right crops.
// Output pixel (i, j) reads input (i - top, j - left) when that lies inside
// the input, else holds `value`. Planes run in parallel. Backward kernels
// overwrite dx; autograd accumulates (+=) the returned gradients into .grad.
#include <algorithm>

#include "kernels.h"
#include "parallel.h"

namespace convnet::cpu {

namespace {

// The rows [i0, i1) and columns [j0, j1) of the output that read the input.
struct Overlap {
  int64_t i0, i1, j0, j1;
  Overlap(int64_t H, int64_t W, int64_t H2, int64_t W2, int64_t top, int64_t left)
      : i0(std::clamp<int64_t>(top, 0, H2)),
        i1(std::clamp<int64_t>(top + H, 0, H2)),
        j0(std::clamp<int64_t>(left, 0, W2)),
        j1(std::clamp<int64_t>(left + W, 0, W2)) {
    i1 = std::max(i0, i1);
    j1 = std::max(j0, j1);
  }
};

int64_t plane_grain(int64_t work) { return std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, work)); }

}  // namespace

// x (B,H,W), y (B,H2,W2) overwritten
template <typename T>
void pad2d_forward_cpu(int64_t B, int64_t H, int64_t W, int64_t H2, int64_t W2, int64_t top, int64_t left,
                       T value, const T* x, T* y) {
  const Overlap o(H, W, H2, W2, top, left);
  parallel_for(B, plane_grain(H2 * W2), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      T* yb = y + b * H2 * W2;
      const T* xb = x + b * H * W;
      std::fill(yb, yb + o.i0 * W2, value);
      for (int64_t i = o.i0; i < o.i1; ++i) {
        T* row = yb + i * W2;
        std::fill(row, row + o.j0, value);
        const T* src = xb + (i - top) * W + (o.j0 - left);
        std::copy(src, src + (o.j1 - o.j0), row + o.j0);
        std::fill(row + o.j1, row + W2, value);
      }
      std::fill(yb + o.i1 * W2, yb + H2 * W2, value);
    }
  });
}

// dy (B,H2,W2), dx (B,H,W) overwritten: the part of dy that read the input, 0 for cropped pixels
template <typename T>
void pad2d_backward_cpu(int64_t B, int64_t H, int64_t W, int64_t H2, int64_t W2, int64_t top, int64_t left,
                        const T* dy, T* dx) {
  const Overlap o(H, W, H2, W2, top, left);
  parallel_for(B, plane_grain(H * W), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      T* db = dx + b * H * W;
      std::fill(db, db + H * W, T(0));
      for (int64_t i = o.i0; i < o.i1; ++i) {
        const T* src = dy + (b * H2 + i) * W2 + o.j0;
        std::copy(src, src + (o.j1 - o.j0), db + (i - top) * W + (o.j0 - left));
      }
    }
  });
}

#define CONVNET_INSTANTIATE(T)                                                                           \
  template void pad2d_forward_cpu<T>(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, T,    \
                                     const T*, T*);                                                       \
  template void pad2d_backward_cpu<T>(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,      \
                                      const T*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cpu
