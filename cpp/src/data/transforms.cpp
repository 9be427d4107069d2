// Image transforms. Legend: H W C input height, width, channels; h w output size; V views.
// Three kernels do every geometric transform, on either layout through per-layout strides:
//   remap  (separable index maps: crops, padding, flips, ten-crop)
//   resize (separable linear taps: Resize, RandomResizedCrop)
//   warp   (inverse-mapped sampling, affine or perspective: RandomAffine, RandomRotation, and in
//           augment.cpp RandomPerspective and the geometric operations of AutoAugment)
#include "convnet/data/transforms.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>

#include "convnet/check.h"
#include "cpu/parallel.h"
#include "data/image_ops.h"

namespace convnet::data {

using namespace detail;

namespace detail {

int64_t pad_index(int64_t p, int64_t n, PadMode mode) {
  if (p >= 0 && p < n) return p;
  switch (mode) {
    case PadMode::Constant: return -1;
    case PadMode::Edge: return std::clamp<int64_t>(p, 0, n - 1);
    case PadMode::Reflect: {  // ... 2 1 | 0 1 2 ... n-1 | n-2 ...: period 2(n - 1)
      if (n == 1) return 0;
      int64_t m = 2 * (n - 1);
      p = ((p % m) + m) % m;
      return p < n ? p : m - p;
    }
    case PadMode::Symmetric: {  // ... 1 0 | 0 1 ... n-1 | n-1 ...: period 2n
      int64_t m = 2 * n;
      p = ((p % m) + m) % m;
      return p < n ? p : m - 1 - p;
    }
  }
  return -1;
}

}  // namespace detail

namespace {

// A stretch [x0, x1) of output columns of one kind: all fill (cols[x] == -1), a copy of consecutive
// input columns (cols[x] == cols[x0] + x - x0), or any other gather (a mirrored row).
struct Run {
  enum Kind { Fill, Copy, Gather };
  int64_t x0, x1;
  Kind kind;
};

std::vector<Run> runs_of(const int64_t* cols, int64_t w) {
  auto starts_copy = [&](int64_t x) { return x + 1 < w && cols[x] >= 0 && cols[x + 1] == cols[x] + 1; };
  std::vector<Run> runs;
  for (int64_t x = 0, e; x < w; x = e) {
    e = x + 1;
    Run::Kind kind;
    if (cols[x] < 0) {
      kind = Run::Fill;
      while (e < w && cols[e] < 0) ++e;
    } else if (starts_copy(x)) {
      kind = Run::Copy;
      while (e < w && cols[e] == cols[e - 1] + 1) ++e;
    } else {
      kind = Run::Gather;
      while (e < w && cols[e] >= 0 && !starts_copy(e)) ++e;
    }
    runs.push_back({x, e, kind});
  }
  return runs;
}

// in (H, W, C) by strides si; out (h, w, C) by strides so: out(y, x) = in(rows[y], cols[x]), or the
// fill where rows[y] or cols[x] is -1. A run of consecutive columns is one memcpy per row when both
// layouts interleave the channels (uint8 (H, W, C)), one per row and channel when both are planar
// (float32 (C, H, W)). C > 0 fixes the channel count at compile time (unrolling the per-pixel loops
// of a mirrored row); C == 0 takes c.
template <typename T, int64_t C>
void remap_kernel(const T* in, Strides si, T* out, Strides so, const int64_t* rows, int64_t h,
                  const int64_t* cols, int64_t w, int64_t channels, const T* fill) {
  const int64_t c = C > 0 ? C : channels;
  const std::vector<Run> runs = runs_of(cols, w);
  const bool interleaved = si.c == 1 && so.c == 1 && si.x == c && so.x == c;
  const bool planar = si.x == 1 && so.x == 1;
  for (int64_t y = 0; y < h; ++y) {
    T* o = out + y * so.y;
    const T* r = rows[y] < 0 ? nullptr : in + rows[y] * si.y;
    for (const Run& run : runs) {
      const int64_t n = run.x1 - run.x0;
      if (!r || run.kind == Run::Fill) {
        for (int64_t x = run.x0; x < run.x1; ++x)
          for (int64_t ch = 0; ch < c; ++ch) o[x * so.x + ch * so.c] = fill[ch];
      } else if (run.kind == Run::Copy && interleaved) {
        std::memcpy(o + run.x0 * so.x, r + cols[run.x0] * si.x, static_cast<size_t>(n * c) * sizeof(T));
      } else if (run.kind == Run::Copy && planar) {
        for (int64_t ch = 0; ch < c; ++ch)
          std::memcpy(o + run.x0 + ch * so.c, r + cols[run.x0] + ch * si.c, static_cast<size_t>(n) * sizeof(T));
      } else {
        for (int64_t x = run.x0; x < run.x1; ++x)
          for (int64_t ch = 0; ch < c; ++ch) o[x * so.x + ch * so.c] = r[cols[x] * si.x + ch * si.c];
      }
    }
  }
}

Image remap(const Image& im, const std::vector<int64_t>& rows, const std::vector<int64_t>& cols,
            const std::vector<double>& fill, const std::string& who) {
  Image out = like(im, static_cast<int64_t>(rows.size()), static_cast<int64_t>(cols.size()), im.c);
  dispatch(im, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    std::vector<T> f = fill_values<T>(fill, im.c, who, im);
    auto kernel = im.c == 3 ? remap_kernel<T, 3> : im.c == 1 ? remap_kernel<T, 1> : remap_kernel<T, 0>;
    kernel(pixels<T>(im), strides_of(im), pixels<T>(out), strides_of(out), rows.data(), out.h, cols.data(), out.w,
           im.c, f.data());
  });
  return out;
}

// Indices top .. top+len-1 of a dimension of size n (padded by `mode` outside it), reversed if `flip`.
std::vector<int64_t> window(int64_t top, int64_t len, int64_t n, PadMode mode, bool flip = false) {
  std::vector<int64_t> idx(static_cast<size_t>(len));
  for (int64_t i = 0; i < len; ++i) idx[i] = pad_index(top + (flip ? len - 1 - i : i), n, mode);
  return idx;
}

Image crop(const Image& im, int64_t top, int64_t left, int64_t h, int64_t w, const std::string& who,
           const std::vector<double>& fill = {}, PadMode mode = PadMode::Constant) {
  return remap(im, window(top, h, im.h, mode), window(left, w, im.w, mode), fill, who);
}

Image flipped(const Image& im, bool vertical, const std::string& who) {
  return remap(im, window(0, im.h, im.h, PadMode::Constant, vertical),
               window(0, im.w, im.w, PadMode::Constant, !vertical), {}, who);
}

// out = (1 - l) in[i0] + l in[i1] along one dimension.
struct Tap {
  int64_t i0, i1;
  double l;
};

// Taps of out_size outputs from the in_size inputs starting at `offset` (half-pixel centres, as
// torch.nn.functional.interpolate with align_corners=False).
std::vector<Tap> taps(int64_t offset, int64_t in_size, int64_t out_size, Interpolation interp) {
  std::vector<Tap> t(static_cast<size_t>(out_size));
  double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
  for (int64_t d = 0; d < out_size; ++d) {
    if (interp == Interpolation::Nearest) {
      int64_t i = std::min<int64_t>(static_cast<int64_t>(std::floor(d * scale)), in_size - 1);
      t[d] = {offset + i, offset + i, 0.0};
      continue;
    }
    double src = std::max(0.0, (d + 0.5) * scale - 0.5);
    int64_t i0 = std::min<int64_t>(static_cast<int64_t>(src), in_size - 1);
    int64_t i1 = std::min<int64_t>(i0 + 1, in_size - 1);
    t[d] = {offset + i0, offset + i1, src - static_cast<double>(i0)};
  }
  return t;
}

// in (H, W, C) by si; out (h, w, C) by so, from row taps ry (h) and column taps rx (w).
template <typename T>
void resize_kernel(const T* in, Strides si, T* out, Strides so, const Tap* ry, int64_t h, const Tap* rx,
                   int64_t w, int64_t c) {
  for (int64_t ch = 0; ch < c; ++ch) {
    const T* p = in + ch * si.c;
    for (int64_t y = 0; y < h; ++y) {
      const T* r0 = p + ry[y].i0 * si.y;
      const T* r1 = p + ry[y].i1 * si.y;
      double ly = ry[y].l;
      for (int64_t x = 0; x < w; ++x) {
        int64_t x0 = rx[x].i0 * si.x, x1 = rx[x].i1 * si.x;
        double lx = rx[x].l;
        double v = (1 - ly) * ((1 - lx) * r0[x0] + lx * r0[x1]) + ly * ((1 - lx) * r1[x0] + lx * r1[x1]);
        out[y * so.y + x * so.x + ch * so.c] = from_double<T>(v);
      }
    }
  }
}

// The (wh, ww) window at (top, left) resized to (h, w).
Image resized(const Image& im, int64_t top, int64_t left, int64_t wh, int64_t ww, int64_t h, int64_t w,
              Interpolation interp) {
  Image out = like(im, h, w, im.c);
  std::vector<Tap> ry = taps(top, wh, h, interp), rx = taps(left, ww, w, interp);
  dispatch(im, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    resize_kernel<T>(pixels<T>(im), strides_of(im), pixels<T>(out), strides_of(out), ry.data(), h, rx.data(), w,
                     im.c);
  });
  return out;
}

// The input pixel (y * W + x, or -1 outside the image) under each pixel of an (h, w) output for
// nearest sampling through detail::warped's coefficients a, computed as PIL computes it: an affine map
// with a1 == a3 == 0 by adding a0 along the columns and a4 down the rows in double (ImagingScaleAffine),
// another affine map in 16.16 fixed point where all four corners stay within +-32768 (affine_fixed),
// otherwise by adding in double; a perspective map point by point. The pixel of a point is its floor.
std::vector<int64_t> nearest_sources(const double* a, int64_t H, int64_t W, int64_t h, int64_t w) {
  std::vector<int64_t> src(static_cast<size_t>(h * w), -1);
  auto coord = [](double v) -> int64_t { return v >= 0 && v < 1e15 ? static_cast<int64_t>(v) : -1; };
  auto set = [&](int64_t y, int64_t x, int64_t yi, int64_t xi) {
    if (xi >= 0 && xi < W && yi >= 0 && yi < H) src[y * w + x] = yi * W + xi;
  };
  if (a[6] != 0 || a[7] != 0) {
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        const double u = x + 0.5, v = y + 0.5, d = a[6] * u + a[7] * v + 1;
        set(y, x, coord((a[3] * u + a[4] * v + a[5]) / d), coord((a[0] * u + a[1] * v + a[2]) / d));
      }
    return src;
  }
  if (a[1] == 0 && a[3] == 0) {
    std::vector<int64_t> cols(static_cast<size_t>(w));
    double xo = a[2] + a[0] * 0.5, yo = a[5] + a[4] * 0.5;
    for (int64_t x = 0; x < w; ++x, xo += a[0]) cols[x] = coord(xo);
    for (int64_t y = 0; y < h; ++y, yo += a[4])
      for (int64_t x = 0; x < w; ++x) set(y, x, coord(yo), cols[x]);
    return src;
  }
  auto fits = [&](double x, double y) {
    return std::fabs(x * a[0] + y * a[1] + a[2]) < 32768.0 && std::fabs(x * a[3] + y * a[4] + a[5]) < 32768.0;
  };
  if (fits(0, 0) && fits(w, h) && fits(0, h) && fits(w, 0)) {
    auto fix = [](double v) { return static_cast<int64_t>(std::floor(v * 65536.0 + 0.5)); };
    const int64_t a0 = fix(a[0]), a1 = fix(a[1]), a3 = fix(a[3]), a4 = fix(a[4]);
    int64_t row_x = fix(a[2] + a[0] * 0.5 + a[1] * 0.5), row_y = fix(a[5] + a[3] * 0.5 + a[4] * 0.5);
    for (int64_t y = 0; y < h; ++y, row_x += a1, row_y += a4) {
      int64_t xx = row_x, yy = row_y;
      for (int64_t x = 0; x < w; ++x, xx += a0, yy += a3) set(y, x, yy >> 16, xx >> 16);
    }
    return src;
  }
  double xo = a[2] + a[1] * 0.5 + a[0] * 0.5, yo = a[5] + a[4] * 0.5 + a[3] * 0.5;
  for (int64_t y = 0; y < h; ++y, xo += a[1], yo += a[4]) {
    double xx = xo, yy = yo;
    for (int64_t x = 0; x < w; ++x, xx += a[0], yy += a[3]) set(y, x, coord(yy), coord(xx));
  }
  return src;
}

// in (H, W, C) by si; out (h, w, C) by so; a: the 8 coefficients of detail::warped, which this
// kernel computes as PIL does: nearest takes nearest_sources; bilinear blends the four pixel centres
// around the point, rows and columns clamped to the image, as v0 + (v1 - v0) * d along x and then y,
// truncated to uint8. A point outside the image takes the fill.
template <typename T>
void warp_kernel(const T* in, Strides si, int64_t H, int64_t W, T* out, Strides so, int64_t h, int64_t w, int64_t c,
                 const double* a, Interpolation interp, const T* fill) {
  const bool nearest = interp == Interpolation::Nearest;
  const std::vector<int64_t> src = nearest ? nearest_sources(a, H, W, h, w) : std::vector<int64_t>();
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      T* o = out + y * so.y + x * so.x;
      if (nearest) {
        const int64_t s = src[y * w + x];
        const T* p = s < 0 ? fill : in + (s / W) * si.y + (s % W) * si.x;
        const int64_t step = s < 0 ? 1 : si.c;
        for (int64_t ch = 0; ch < c; ++ch) o[ch * so.c] = p[ch * step];
        continue;
      }
      const double u = x + 0.5, v = y + 0.5, d = a[6] * u + a[7] * v + 1;
      const double sx = (a[0] * u + a[1] * v + a[2]) / d, sy = (a[3] * u + a[4] * v + a[5]) / d;
      if (!(sx >= 0 && sx < W && sy >= 0 && sy < H)) {  // outside (or not finite)
        for (int64_t ch = 0; ch < c; ++ch) o[ch * so.c] = fill[ch];
        continue;
      }
      const double fx = std::floor(sx - 0.5), fy = std::floor(sy - 0.5), dx = sx - 0.5 - fx, dy = sy - 0.5 - fy;
      const int64_t x0 = std::max<int64_t>(static_cast<int64_t>(fx), 0) * si.x;
      const int64_t x1 = std::min<int64_t>(static_cast<int64_t>(fx) + 1, W - 1) * si.x;
      const int64_t y0 = std::max<int64_t>(static_cast<int64_t>(fy), 0) * si.y;
      const int64_t y1 = std::min<int64_t>(static_cast<int64_t>(fy) + 1, H - 1) * si.y;
      for (int64_t ch = 0; ch < c; ++ch) {
        const T* p = in + ch * si.c;
        double top = p[y0 + x0] + (static_cast<double>(p[y0 + x1]) - p[y0 + x0]) * dx;
        double bottom = p[y1 + x0] + (static_cast<double>(p[y1 + x1]) - p[y1 + x0]) * dx;
        double value = top + (bottom - top) * dy;
        o[ch * so.c] = std::is_same_v<T, float> ? static_cast<T>(value) : static_cast<T>(std::clamp(value, 0.0, 255.0));
      }
    }
}

}  // namespace

Image detail::warped(const Image& im, int64_t h, int64_t w, const std::array<double, 8>& a, Interpolation interp,
                     const std::vector<double>& fill, const std::string& who) {
  Image out = like(im, h, w, im.c);
  dispatch(im, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    std::vector<T> f = fill_values<T>(fill, im.c, who, im);
    warp_kernel<T>(pixels<T>(im), strides_of(im), im.h, im.w, pixels<T>(out), strides_of(out), h, w, im.c, a.data(),
                   interp, f.data());
  });
  return out;
}

namespace {

void require_float(const Image& im, const std::string& who) {
  CONVNET_CHECK(im.is_float, who, ": expected a float32 (C, H, W) image (put ToTensor() before ", who,
                "), got ", im.shape_str());
}

// Element offset of channel k of pixel p (p = y * W + x) and the pixel count.
struct PixelLayout {
  int64_t px, ch, n;
};
PixelLayout pixel_layout(const Image& im) {
  return im.is_float ? PixelLayout{1, im.h * im.w, im.h * im.w} : PixelLayout{im.c, 1, im.h * im.w};
}

// The image's values as doubles in its own layout, and back (rounding for uint8).
std::vector<double> to_doubles(const Image& im) {
  if (im.is_float) return std::vector<double>(im.f.begin(), im.f.end());
  return std::vector<double>(im.u8.begin(), im.u8.end());
}
void from_doubles(Image& im, const std::vector<double>& v) {
  if (im.is_float)
    for (size_t i = 0; i < v.size(); ++i) im.f[i] = static_cast<float>(v[i]);
  else
    for (size_t i = 0; i < v.size(); ++i) im.u8[i] = from_double<uint8_t>(v[i]);
}

constexpr double kR = 0.299, kG = 0.587, kB = 0.114;

}  // namespace

std::string Image::shape_str() const {
  return is_float ? cat_str("float32 (", c, ", ", h, ", ", w, ")") : cat_str("uint8 (", h, ", ", w, ", ", c, ")");
}

void Transform::apply(std::vector<Image>& views, Generator& g) const {
  for (Image& v : views) apply_one(v, g);
}

// ---- ToTensor, Normalize ------------------------------------------------------------------------------

namespace {
// in (H, W, C) uint8, out (C, H, W) float32 = in / 255. C > 0 fixes the channel count at compile
// time (so that the interleaved loads vectorize); C == 0 takes c.
template <int64_t C>
void to_tensor_kernel(const uint8_t* in, float* out, int64_t hw, int64_t channels) {
  const int64_t c = C > 0 ? C : channels;
  for (int64_t p = 0; p < hw; ++p)
    for (int64_t ch = 0; ch < c; ++ch) out[ch * hw + p] = static_cast<float>(in[p * c + ch]) / 255.0f;
}
}  // namespace

void ToTensor::apply_one(Image& img, Generator&) const {
  if (img.is_float) return;
  Image out;
  out.h = img.h;
  out.w = img.w;
  out.c = img.c;
  out.is_float = true;
  out.f.resize(img.u8.size());
  auto kernel = img.c == 3 ? to_tensor_kernel<3> : img.c == 1 ? to_tensor_kernel<1> : to_tensor_kernel<0>;
  kernel(img.u8.data(), out.f.data(), img.h * img.w, img.c);
  img = std::move(out);
}

Normalize::Normalize(std::vector<double> mean, std::vector<double> std) {
  CONVNET_CHECK(!mean.empty() && mean.size() == std.size(), "Normalize: mean and std must have the same, non-zero "
                "length, got ", mean.size(), " and ", std.size());
  for (double s : std) CONVNET_CHECK(s != 0, "Normalize: std must not contain 0");
  for (double v : mean) mean_.push_back(static_cast<float>(v));
  for (double v : std) std_.push_back(static_cast<float>(v));
}

void Normalize::apply_one(Image& img, Generator&) const {
  require_float(img, "Normalize");
  CONVNET_CHECK(mean_.size() == 1 || static_cast<int64_t>(mean_.size()) == img.c, "Normalize: ", mean_.size(),
                " means for an image with ", img.c, " channel(s): ", img.shape_str());
  const int64_t hw = img.h * img.w;
  for (int64_t ch = 0; ch < img.c; ++ch) {
    size_t k = mean_.size() == 1 ? 0 : static_cast<size_t>(ch);
    float m = mean_[k], s = std_[k];
    float* p = img.f.data() + ch * hw;
    for (int64_t i = 0; i < hw; ++i) p[i] = (p[i] - m) / s;
  }
}

// ---- crops ---------------------------------------------------------------------------------------------

RandomCrop::RandomCrop(int64_t h, int64_t w, std::array<int64_t, 4> padding, bool pad_if_needed,
                       std::vector<double> fill, PadMode mode)
    : h_(h), w_(w), pad_(padding), pad_if_needed_(pad_if_needed), fill_(std::move(fill)), mode_(mode) {
  CONVNET_CHECK(h > 0 && w > 0, "RandomCrop: size must be positive, got (", h, ", ", w, ")");
  for (int64_t p : pad_) CONVNET_CHECK(p >= 0, "RandomCrop: padding must be non-negative, got ", p);
}

void RandomCrop::apply_one(Image& img, Generator& g) const {
  int64_t top = pad_[0], left = pad_[1];
  int64_t H = img.h + pad_[0] + pad_[2], W = img.w + pad_[1] + pad_[3];
  if (pad_if_needed_ && H < h_) {
    top += h_ - H;
    H += 2 * (h_ - H);
  }
  if (pad_if_needed_ && W < w_) {
    left += w_ - W;
    W += 2 * (w_ - W);
  }
  CONVNET_CHECK(H >= h_ && W >= w_, "RandomCrop(size=(", h_, ", ", w_, ")): the image ", img.shape_str(),
                " padded to (", H, ", ", W, ") is smaller than the crop; pass padding or pad_if_needed=True");
  int64_t i = g.below(H - h_ + 1);
  int64_t j = g.below(W - w_ + 1);
  img = crop(img, i - top, j - left, h_, w_, "RandomCrop", fill_, mode_);
}

CenterCrop::CenterCrop(int64_t h, int64_t w) : h_(h), w_(w) {
  CONVNET_CHECK(h > 0 && w > 0, "CenterCrop: size must be positive, got (", h, ", ", w, ")");
}

namespace {
int64_t center_offset(int64_t n, int64_t len) {
  return n >= len ? static_cast<int64_t>(std::nearbyint((n - len) / 2.0)) : -((len - n) / 2);
}
}  // namespace

void CenterCrop::apply_one(Image& img, Generator&) const {
  img = crop(img, center_offset(img.h, h_), center_offset(img.w, w_), h_, w_, "CenterCrop");
}

TenCrop::TenCrop(int64_t h, int64_t w, bool vertical_flip) : h_(h), w_(w), vertical_flip_(vertical_flip) {
  CONVNET_CHECK(h > 0 && w > 0, "TenCrop: size must be positive, got (", h, ", ", w, ")");
}

void TenCrop::apply(std::vector<Image>& views, Generator&) const {
  std::vector<Image> out;
  for (const Image& v : views) {
    CONVNET_CHECK(h_ <= v.h && w_ <= v.w, "TenCrop(size=(", h_, ", ", w_, ")): the crop is larger than the image ",
                  v.shape_str());
    for (int pass = 0; pass < 2; ++pass) {
      Image src = pass == 0 ? v : flipped(v, vertical_flip_, "TenCrop");
      int64_t b = src.h - h_, r = src.w - w_;
      out.push_back(crop(src, 0, 0, h_, w_, "TenCrop"));
      out.push_back(crop(src, 0, r, h_, w_, "TenCrop"));
      out.push_back(crop(src, b, 0, h_, w_, "TenCrop"));
      out.push_back(crop(src, b, r, h_, w_, "TenCrop"));
      out.push_back(crop(src, center_offset(src.h, h_), center_offset(src.w, w_), h_, w_, "TenCrop"));
    }
  }
  views = std::move(out);
}

void TenCrop::apply_one(Image& img, Generator& g) const {
  std::vector<Image> v{std::move(img)};
  apply(v, g);
  img = std::move(v[0]);
}

// ---- resizing --------------------------------------------------------------------------------------------

Resize::Resize(int64_t h, int64_t w, Interpolation interp) : h_(h), w_(w), interp_(interp) {
  CONVNET_CHECK(w > 0 && h >= 0, "Resize: size must be positive, got (", h, ", ", w, ")");
}

void Resize::apply_one(Image& img, Generator&) const {
  int64_t oh = h_, ow = w_;
  if (h_ == 0) {  // shorter side to w_
    if (img.h <= img.w) {
      oh = w_;
      ow = static_cast<int64_t>(static_cast<double>(w_) * img.w / img.h);
    } else {
      ow = w_;
      oh = static_cast<int64_t>(static_cast<double>(w_) * img.h / img.w);
    }
  }
  CONVNET_CHECK(img.h > 0 && img.w > 0, "Resize: empty image ", img.shape_str());
  if (oh == img.h && ow == img.w) return;
  img = resized(img, 0, 0, img.h, img.w, oh, ow, interp_);
}

RandomResizedCrop::RandomResizedCrop(int64_t h, int64_t w, std::array<double, 2> scale,
                                     std::array<double, 2> ratio, Interpolation interp)
    : h_(h), w_(w), scale_(scale), ratio_(ratio), interp_(interp) {
  CONVNET_CHECK(h > 0 && w > 0, "RandomResizedCrop: size must be positive, got (", h, ", ", w, ")");
  CONVNET_CHECK(0 < scale[0] && scale[0] <= scale[1], "RandomResizedCrop: scale must be (min, max) with "
                "0 < min <= max, got (", scale[0], ", ", scale[1], ")");
  CONVNET_CHECK(0 < ratio[0] && ratio[0] <= ratio[1], "RandomResizedCrop: ratio must be (min, max) with "
                "0 < min <= max, got (", ratio[0], ", ", ratio[1], ")");
}

void RandomResizedCrop::apply_one(Image& img, Generator& g) const {
  const int64_t H = img.h, W = img.w;
  CONVNET_CHECK(H > 0 && W > 0, "RandomResizedCrop: empty image ", img.shape_str());
  const double area = static_cast<double>(H * W);
  const double lr0 = std::log(ratio_[0]), lr1 = std::log(ratio_[1]);
  for (int attempt = 0; attempt < 10; ++attempt) {
    double target = area * uniform_in(g, scale_[0], scale_[1]);
    double aspect = std::exp(uniform_in(g, lr0, lr1));
    int64_t w = static_cast<int64_t>(std::nearbyint(std::sqrt(target * aspect)));
    int64_t h = static_cast<int64_t>(std::nearbyint(std::sqrt(target / aspect)));
    if (0 < w && w <= W && 0 < h && h <= H) {
      int64_t i = g.below(H - h + 1);
      int64_t j = g.below(W - w + 1);
      img = resized(img, i, j, h, w, h_, w_, interp_);
      return;
    }
  }
  double in_ratio = static_cast<double>(W) / H;
  int64_t w = W, h = H;
  if (in_ratio < ratio_[0]) {
    h = static_cast<int64_t>(std::nearbyint(w / ratio_[0]));
  } else if (in_ratio > ratio_[1]) {
    w = static_cast<int64_t>(std::nearbyint(h * ratio_[1]));
  }
  img = resized(img, (H - h) / 2, (W - w) / 2, h, w, h_, w_, interp_);
}

// ---- flips, affine --------------------------------------------------------------------------------------

RandomFlip::RandomFlip(double p, bool vertical) : p_(p), vertical_(vertical) {
  CONVNET_CHECK(p >= 0 && p <= 1, name(), ": p must be in [0, 1], got ", p);
}

void RandomFlip::apply_one(Image& img, Generator& g) const {
  if (g.uniform() < p_) img = flipped(img, vertical_, name());
}

RandomAffine::RandomAffine(std::array<double, 2> degrees, std::vector<double> translate, std::vector<double> scale,
                           std::vector<double> shear, Interpolation interp, std::vector<double> fill, std::string who)
    : degrees_(degrees), translate_(std::move(translate)), scale_(std::move(scale)), shear_(std::move(shear)),
      interp_(interp), fill_(std::move(fill)), who_(std::move(who)) {
  CONVNET_CHECK(degrees[0] <= degrees[1], who_, ": degrees must be (min, max) with min <= max, got (", degrees[0],
                ", ", degrees[1], ")");
  CONVNET_CHECK(translate_.empty() || (translate_.size() == 2 && translate_[0] >= 0 && translate_[0] <= 1 &&
                                       translate_[1] >= 0 && translate_[1] <= 1),
                who_, ": translate must be (a, b) with values in [0, 1]");
  CONVNET_CHECK(scale_.empty() || (scale_.size() == 2 && 0 < scale_[0] && scale_[0] <= scale_[1]), who_,
                ": scale must be (min, max) with 0 < min <= max");
  CONVNET_CHECK(shear_.empty() || shear_.size() == 2 || shear_.size() == 4, who_,
                ": shear must have 2 or 4 values (x range, then y range)");
}

void RandomAffine::apply_one(Image& img, Generator& g) const {
  const double deg = M_PI / 180.0;
  double angle = uniform_in(g, degrees_[0], degrees_[1]) * deg;
  double tx = 0, ty = 0, s = 1, shx = 0, shy = 0;
  if (!translate_.empty()) {
    double mx = translate_[0] * img.w, my = translate_[1] * img.h;
    tx = std::nearbyint(uniform_in(g, -mx, mx));
    ty = std::nearbyint(uniform_in(g, -my, my));
  }
  if (!scale_.empty()) s = uniform_in(g, scale_[0], scale_[1]);
  if (!shear_.empty()) shx = uniform_in(g, shear_[0], shear_[1]) * deg;
  if (shear_.size() == 4) shy = uniform_in(g, shear_[2], shear_[3]) * deg;
  // A = s R(angle) [[1, tan shx], [0, 1]] [[1, 0], [tan shy, 1]]
  double ca = std::cos(angle), sa = std::sin(angle), kx = std::tan(shx), ky = std::tan(shy);
  double h00 = 1 + kx * ky, h01 = kx, h10 = ky, h11 = 1;
  double a00 = s * (ca * h00 + sa * h10), a01 = s * (ca * h01 + sa * h11);
  double a10 = s * (-sa * h00 + ca * h10), a11 = s * (-sa * h01 + ca * h11);
  double det = a00 * a11 - a01 * a10;
  CONVNET_CHECK(std::fabs(det) > 1e-12, who_, ": the drawn shear makes the map singular");
  double i00 = a11 / det, i01 = -a01 / det, i10 = -a10 / det, i11 = a00 / det;
  const double cx = img.w * 0.5, cy = img.h * 0.5;  // the centre in warped()'s coordinates
  const std::array<double, 8> m{i00, i01, cx - i00 * (cx + tx) - i01 * (cy + ty),
                                i10, i11, cy - i10 * (cx + tx) - i11 * (cy + ty), 0, 0};
  img = warped(img, img.h, img.w, m, interp_, fill_, who_);
}

// ---- colour ---------------------------------------------------------------------------------------------

ColorJitter::ColorJitter(std::vector<double> brightness, std::vector<double> contrast, std::vector<double> saturation,
                         std::vector<double> hue)
    : ranges_{std::move(brightness), std::move(contrast), std::move(saturation), std::move(hue)} {
  const char* names[4] = {"brightness", "contrast", "saturation", "hue"};
  for (int k = 0; k < 4; ++k)
    CONVNET_CHECK(ranges_[k].empty() || (ranges_[k].size() == 2 && ranges_[k][0] <= ranges_[k][1]),
                  "ColorJitter: ", names[k], " must be an interval (min, max) with min <= max");
  CONVNET_CHECK(ranges_[3].empty() || (ranges_[3][0] >= -0.5 && ranges_[3][1] <= 0.5),
                "ColorJitter: hue must lie in [-0.5, 0.5]");
}

void ColorJitter::apply_one(Image& img, Generator& g) const {
  int order[4] = {0, 1, 2, 3};
  for (int i = 3; i > 0; --i) std::swap(order[i], order[g.below(i + 1)]);
  double factor[4] = {1, 1, 1, 0};
  for (int k = 0; k < 4; ++k)
    if (!ranges_[k].empty()) factor[k] = uniform_in(g, ranges_[k][0], ranges_[k][1]);
  const double bound = img.is_float ? 1.0 : 255.0;
  const PixelLayout L = pixel_layout(img);
  const bool rgb = img.c == 3;
  std::vector<double> v = to_doubles(img);
  auto clamp = [&](double x) { return std::min(bound, std::max(0.0, x)); };
  auto grey = [&](int64_t p) {
    const double* q = v.data() + p * L.px;
    return rgb ? kR * q[0] + kG * q[L.ch] + kB * q[2 * L.ch] : q[0];
  };
  for (int k : order) {
    if (ranges_[k].empty()) continue;
    double f = factor[k];
    if (k == 0) {
      for (double& x : v) x = clamp(x * f);
    } else if (k == 1) {
      double mean = 0;
      for (int64_t p = 0; p < L.n; ++p) mean += grey(p);
      mean /= static_cast<double>(std::max<int64_t>(L.n, 1));
      for (double& x : v) x = clamp(f * x + (1 - f) * mean);
    } else if (k == 2 && rgb) {
      for (int64_t p = 0; p < L.n; ++p) {
        double gp = grey(p);
        for (int64_t ch = 0; ch < 3; ++ch) {
          double& x = v[p * L.px + ch * L.ch];
          x = clamp(f * x + (1 - f) * gp);
        }
      }
    } else if (k == 3 && rgb) {
      for (int64_t p = 0; p < L.n; ++p) {
        double* r = &v[p * L.px];
        double* gr = r + L.ch;
        double* b = r + 2 * L.ch;
        double R = *r / bound, G = *gr / bound, B = *b / bound;
        // RGB -> HSV (as torchvision's _rgb2hsv)
        double mx = std::max({R, G, B}), mn = std::min({R, G, B}), cr = mx - mn;
        bool eq = mx == mn;
        double sat = cr / (eq ? 1.0 : mx), div = eq ? 1.0 : cr;
        double rc = (mx - R) / div, gc = (mx - G) / div, bc = (mx - B) / div;
        double hh = mx == R ? bc - gc : (mx == G ? 2.0 + rc - bc : 4.0 + gc - rc);
        hh = hh / 6.0 + 1.0;
        hh -= std::floor(hh);
        hh += f;
        hh -= std::floor(hh);
        // HSV -> RGB (as torchvision's _hsv2rgb)
        double i6 = std::floor(hh * 6.0), fr = hh * 6.0 - i6;
        int sector = static_cast<int>(i6) % 6;
        double pp = std::min(1.0, std::max(0.0, mx * (1 - sat)));
        double qq = std::min(1.0, std::max(0.0, mx * (1 - sat * fr)));
        double tt = std::min(1.0, std::max(0.0, mx * (1 - sat * (1 - fr))));
        double out[6][3] = {{mx, tt, pp}, {qq, mx, pp}, {pp, mx, tt}, {pp, qq, mx}, {tt, pp, mx}, {mx, pp, qq}};
        *r = clamp(out[sector][0] * bound);
        *gr = clamp(out[sector][1] * bound);
        *b = clamp(out[sector][2] * bound);
      }
    }
  }
  from_doubles(img, v);
}

Grayscale::Grayscale(int64_t channels, double p) : channels_(channels), p_(p) {
  CONVNET_CHECK(channels == 1 || channels == 3, "Grayscale: num_output_channels must be 1 or 3, got ", channels);
  CONVNET_CHECK(p >= 0 && p <= 1, "RandomGrayscale: p must be in [0, 1], got ", p);
}

void Grayscale::apply_one(Image& img, Generator& g) const {
  if (p_ < 1 && !(g.uniform() < p_)) return;
  CONVNET_CHECK(img.c == 3 || img.c == 1, name(), ": expected an image with 1 or 3 channels, got ", img.shape_str());
  const int64_t oc = p_ < 1 ? img.c : channels_;
  const PixelLayout L = pixel_layout(img);
  std::vector<double> v = to_doubles(img);
  Image out = like(img, img.h, img.w, oc);
  const PixelLayout O = pixel_layout(out);
  std::vector<double> o(static_cast<size_t>(out.h * out.w * oc));
  for (int64_t p = 0; p < L.n; ++p) {
    const double* q = v.data() + p * L.px;
    double grey = img.c == 3 ? kR * q[0] + kG * q[L.ch] + kB * q[2 * L.ch] : q[0];
    for (int64_t ch = 0; ch < oc; ++ch) o[p * O.px + ch * O.ch] = grey;
  }
  from_doubles(out, o);
  img = std::move(out);
}

// ---- noise on float images -------------------------------------------------------------------------------

Lighting::Lighting(double alphastd, std::array<double, 3> eigval, std::array<std::array<double, 3>, 3> eigvec)
    : alphastd_(alphastd), eigval_(eigval), eigvec_(eigvec) {
  CONVNET_CHECK(alphastd >= 0, "Lighting: alphastd must be non-negative, got ", alphastd);
}

void Lighting::apply_one(Image& img, Generator& g) const {
  require_float(img, "Lighting");
  CONVNET_CHECK(img.c == 3, "Lighting: expected an RGB image with 3 channels, got ", img.shape_str());
  double alpha[3];
  for (double& a : alpha) a = alphastd_ * g.normal();
  const int64_t hw = img.h * img.w;
  for (int64_t ch = 0; ch < 3; ++ch) {
    double shift = 0;
    for (int k = 0; k < 3; ++k) shift += eigvec_[ch][k] * alpha[k] * eigval_[k];
    float s = static_cast<float>(shift);
    float* p = img.f.data() + ch * hw;
    for (int64_t i = 0; i < hw; ++i) p[i] += s;
  }
}

RandomErasing::RandomErasing(double p, std::array<double, 2> scale, std::array<double, 2> ratio,
                             std::vector<double> value)
    : p_(p), scale_(scale), ratio_(ratio), value_(std::move(value)) {
  CONVNET_CHECK(p >= 0 && p <= 1, "RandomErasing: p must be in [0, 1], got ", p);
  CONVNET_CHECK(0 <= scale[0] && scale[0] <= scale[1] && scale[1] <= 1,
                "RandomErasing: scale must be (min, max) with 0 <= min <= max <= 1");
  CONVNET_CHECK(0 < ratio[0] && ratio[0] <= ratio[1], "RandomErasing: ratio must be (min, max) with 0 < min <= max");
}

void RandomErasing::apply_one(Image& img, Generator& g) const {
  require_float(img, "RandomErasing");
  if (!(g.uniform() < p_)) return;
  CONVNET_CHECK(value_.size() <= 1 || static_cast<int64_t>(value_.size()) == img.c, "RandomErasing: value has ",
                value_.size(), " entries for an image with ", img.c, " channel(s)");
  const int64_t H = img.h, W = img.w;
  const double area = static_cast<double>(H * W), lr0 = std::log(ratio_[0]), lr1 = std::log(ratio_[1]);
  for (int attempt = 0; attempt < 10; ++attempt) {
    double erase = area * uniform_in(g, scale_[0], scale_[1]);
    double aspect = std::exp(uniform_in(g, lr0, lr1));
    int64_t h = static_cast<int64_t>(std::nearbyint(std::sqrt(erase * aspect)));
    int64_t w = static_cast<int64_t>(std::nearbyint(std::sqrt(erase / aspect)));
    if (!(h < H && w < W)) continue;
    int64_t i = g.below(H - h + 1);
    int64_t j = g.below(W - w + 1);
    for (int64_t ch = 0; ch < img.c; ++ch)
      for (int64_t y = i; y < i + h; ++y)
        for (int64_t x = j; x < j + w; ++x) {
          double v = value_.empty() ? g.normal() : value_[value_.size() == 1 ? 0 : ch];
          img.f[(ch * H + y) * W + x] = static_cast<float>(v);
        }
    return;
  }
}

// ---- pipeline and batches ---------------------------------------------------------------------------------

uint64_t image_seed(uint64_t base, int64_t k) {
  uint64_t x = base + static_cast<uint64_t>(k);
  return Generator::splitmix(x);
}

std::vector<Image> Pipeline::run(Image img, uint64_t seed) const {
  Generator g(seed);
  std::vector<Image> views;
  views.push_back(std::move(img));
  for (const TransformPtr& t : stages_) t->apply(views, g);
  return views;
}

Tensor batch_tensor(int64_t n, const std::vector<Image>& views) {
  const Image& v = views.at(0);
  Shape s{n};
  if (views.size() > 1) s.push_back(static_cast<int64_t>(views.size()));
  if (v.is_float)
    s.insert(s.end(), {v.c, v.h, v.w});
  else
    s.insert(s.end(), {v.h, v.w, v.c});
  return Tensor::empty(s, v.is_float ? DType::Float32 : DType::UInt8);
}

void collate_into(const std::vector<Image>& views, const std::vector<Image>& ref, int64_t k, Tensor& out) {
  CONVNET_CHECK(views.size() == ref.size(), "DataLoader: image ", k, " of the batch has ", views.size(),
                " view(s) after the transform but image 0 has ", ref.size());
  const size_t per_view = ref[0].is_float ? ref[0].f.size() * sizeof(float) : ref[0].u8.size();
  char* dst = static_cast<char*>(out.raw_data()) + static_cast<size_t>(k) * per_view * views.size();
  for (size_t v = 0; v < views.size(); ++v) {
    const Image& im = views[v];
    CONVNET_CHECK(im.h == ref[0].h && im.w == ref[0].w && im.c == ref[0].c && im.is_float == ref[0].is_float,
                  "DataLoader: image ", k, " of the batch is ", im.shape_str(), " after the transform but image 0 is ",
                  ref[0].shape_str(), "; add Resize or a crop so that every image has one size");
    const void* src = im.is_float ? static_cast<const void*>(im.f.data()) : static_cast<const void*>(im.u8.data());
    std::memcpy(dst + v * per_view, src, per_view);
  }
}

namespace {
// Rethrows e with `prefix` before its message, keeping its kind (ValueError, IndexError, RuntimeError).
void rethrow_prefixed(const std::exception_ptr& e, const std::string& prefix) {
  if (prefix.empty()) std::rethrow_exception(e);
  try {
    std::rethrow_exception(e);
  } catch (const ValueError& x) {
    throw ValueError(prefix + x.what());
  } catch (const IndexError& x) {
    throw IndexError(prefix + x.what());
  } catch (const std::exception& x) {
    throw Error(prefix + x.what());
  }
}
}  // namespace

Tensor Pipeline::batch(std::vector<Image> images, uint64_t base, int64_t first, bool parallel,
                       const int64_t* indices) const {
  const int64_t n = static_cast<int64_t>(images.size());
  CONVNET_CHECK(n > 0, "Pipeline: empty batch");
  std::vector<std::vector<Image>> out(static_cast<size_t>(n));
  std::vector<std::exception_ptr> errors(static_cast<size_t>(n));
  auto work = [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      try {
        out[k] = run(std::move(images[k]), image_seed(base, first + k));
      } catch (...) {
        errors[k] = std::current_exception();
      }
    }
  };
  if (parallel)
    cpu::parallel_for(n, 1, work);
  else
    work(0, n);
  auto who = [&](int64_t k) {
    return indices ? cat_str("DataLoader: data set index ", indices[k], ": ") : std::string();
  };
  for (int64_t k = 0; k < n; ++k)
    if (errors[k]) rethrow_prefixed(errors[k], who(k));
  Tensor t = batch_tensor(n, out[0]);
  for (int64_t k = 0; k < n; ++k) {
    try {
      collate_into(out[k], out[0], k, t);
    } catch (...) {
      rethrow_prefixed(std::current_exception(), who(k));
    }
  }
  return t;
}

}  // namespace convnet::data
