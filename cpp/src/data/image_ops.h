// Pieces shared by the image transform files (transforms.cpp, augment.cpp); not installed.
// Legend: H W C input height, width, channels; h w output size.
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "convnet/check.h"
#include "convnet/data/transforms.h"

namespace convnet::data::detail {

// Element offsets of one step along y, x and the channel.
struct Strides {
  int64_t y, x, c;
};
inline Strides strides_of(const Image& im) {
  return im.is_float ? Strides{im.w, 1, im.h * im.w} : Strides{im.w * im.c, im.c, 1};
}

inline Image like(const Image& im, int64_t h, int64_t w, int64_t c) {
  Image out;
  out.h = h;
  out.w = w;
  out.c = c;
  out.is_float = im.is_float;
  if (im.is_float)
    out.f.resize(static_cast<size_t>(h * w * c));
  else
    out.u8.resize(static_cast<size_t>(h * w * c));
  return out;
}

template <typename T>
T* pixels(Image& im) {
  if constexpr (std::is_same_v<T, float>) return im.f.data(); else return im.u8.data();
}
template <typename T>
const T* pixels(const Image& im) {
  if constexpr (std::is_same_v<T, float>) return im.f.data(); else return im.u8.data();
}

// Calls f with a typed null pointer for the image's element type.
template <typename F>
void dispatch(const Image& im, const F& f) {
  if (im.is_float) f(static_cast<float*>(nullptr)); else f(static_cast<uint8_t*>(nullptr));
}

template <typename T>
T from_double(double v) {
  if constexpr (std::is_same_v<T, float>) {
    return static_cast<float>(v);
  } else {
    return static_cast<uint8_t>(std::min(255.0, std::max(0.0, std::floor(v + 0.5))));
  }
}

// Fill value per channel: none -> 0, one value -> every channel, else one per channel.
template <typename T>
std::vector<T> fill_values(const std::vector<double>& fill, int64_t c, const std::string& who, const Image& im) {
  CONVNET_CHECK(fill.size() <= 1 || static_cast<int64_t>(fill.size()) == c, who, ": fill has ", fill.size(),
                " values, expected 1 or one per channel (", c, ") for the image ", im.shape_str());
  std::vector<T> out(static_cast<size_t>(c));
  for (int64_t k = 0; k < c; ++k) out[k] = from_double<T>(fill.empty() ? 0.0 : fill[fill.size() == 1 ? 0 : k]);
  return out;
}

inline double uniform_in(Generator& g, double lo, double hi) { return lo + (hi - lo) * g.uniform(); }

// Source index of position p of a dimension of size n extended by padding; -1 for constant padding.
int64_t pad_index(int64_t p, int64_t n, PadMode mode);

// The (h, w) image whose pixel (x, y) samples `im` at ((a0 u + a1 v + a2) / d, (a3 u + a4 v + a5) / d),
// d = a6 u + a7 v + 1, (u, v) = (x + 0.5, y + 0.5): PIL's Image.transform(AFFINE or PERSPECTIVE) in its
// coordinates, where input pixel (i, j) covers [j, j + 1) x [i, i + 1). A sample outside the image
// takes `fill`. Nearest takes the pixel under the point (an affine map in PIL's 16.16 fixed point
// where PIL uses it); bilinear interpolates between the pixel centres around it with edge pixels
// repeated, and truncates to uint8, as PIL does.
Image warped(const Image& im, int64_t h, int64_t w, const std::array<double, 8>& a, Interpolation interp,
             const std::vector<double>& fill, const std::string& who);

}  // namespace convnet::data::detail
