// CPU pixel shuffle kernels. N batch, C output channels, H W input size, r upscale factor:
// x (N,C*r*r,H,W) ↔ y (N,C,H*r,W*r) with y[n,c,h*r+i,w*r+j] = x[n,(c*r+i)*r+j,h,w].
// Both directions are the same permutation read one way or the other: forward gathers
// x into y (pixel_shuffle, and the gradient of pixel_unshuffle), backward gathers y into
// x (pixel_unshuffle, and the gradient of pixel_shuffle). Backward overwrites dx; autograd
// accumulates (+=) the returned gradients into .grad.
#include <algorithm>

#include "kernels.h"
#include "parallel.h"

namespace convnet::cpu {

namespace {

// For every (n, c, h, i) row of y: the W*r elements y[n,c,h*r+i,:] against their x elements
// (stride H*W between the r channels j, 1 between the positions w). to_y: x → y, else y → x.
template <typename T>
void shuffle(int64_t N, int64_t C, int64_t H, int64_t W, int64_t r, const T* src, T* dst, bool to_y) {
  const int64_t HW = H * W, rows = N * C * H * r, Wr = W * r;
  parallel_for(rows, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, Wr)), [&](int64_t a, int64_t b) {
    for (int64_t row = a; row < b; ++row) {
      const int64_t i = row % r, h = row / r % H, nc = row / (r * H);
      const int64_t yo = (nc * H * r + h * r + i) * Wr;            // y[n,c,h*r+i,0]
      const int64_t xo = (nc * r + i) * r * HW + h * W;             // x[n,(c*r+i)*r,h,0]
      for (int64_t j = 0; j < r; ++j)
        for (int64_t w = 0; w < W; ++w) {
          const int64_t yi = yo + w * r + j, xi = xo + j * HW + w;
          if (to_y) dst[yi] = src[xi]; else dst[xi] = src[yi];
        }
    }
  });
}

}  // namespace

// x (N,C*r*r,H,W), y (N,C,H*r,W*r) overwritten
template <typename T>
void pixel_shuffle_forward_cpu(int64_t N, int64_t C, int64_t H, int64_t W, int64_t r, const T* x, T* y) {
  shuffle(N, C, H, W, r, x, y, true);
}

// y (N,C,H*r,W*r), x (N,C*r*r,H,W) overwritten
template <typename T>
void pixel_shuffle_backward_cpu(int64_t N, int64_t C, int64_t H, int64_t W, int64_t r, const T* y, T* x) {
  shuffle(N, C, H, W, r, y, x, false);
}

#define CONVNET_INSTANTIATE(T)                                                                                \
  template void pixel_shuffle_forward_cpu<T>(int64_t, int64_t, int64_t, int64_t, int64_t, const T*, T*);   \
  template void pixel_shuffle_backward_cpu<T>(int64_t, int64_t, int64_t, int64_t, int64_t, const T*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cpu
