// Augmentation policies and the transforms around them: AutoAugment / RandAugment / TrivialAugmentWide
// (one set of image operations, three ways of drawing them), RandomPerspective, GaussianBlur, and the
// batch-level MixUp / CutMix. Legend: H W C image height, width, channels; N batch, K classes.
// The operations follow torchvision's PIL path (what torchvision computes for PIL images): PIL's
// arithmetic is float32 with truncation, so the blends below round each product and sum once
// (through double, where they are exact) to give PIL's values whatever the compiler contracts.
#include <cmath>
#include <cstring>

#include "convnet/check.h"
#include "convnet/data/transforms.h"
#include "cpu/isa.h"
#include "cpu/parallel.h"
#include "data/image_ops.h"

namespace convnet::data {

using namespace detail;

namespace {

void require_uint8(const Image& im, const char* who) {
  CONVNET_CHECK(!im.is_float && (im.c == 1 || im.c == 3), who, ": expected a uint8 (H, W, C) image with 1 or 3 "
                "channels (put it before ToTensor()), got ", im.shape_str());
}

// torchvision's _get_inverse_affine_matrix (scale 1) about (cx, cy), angles in degrees, as warped()'s
// coefficients.
std::array<double, 8> inverse_affine(double cx, double cy, double angle, double tx, double ty, double shear_x,
                                     double shear_y) {
  const double to_rad = M_PI / 180.0;
  const double rot = angle * to_rad, sx = shear_x * to_rad, sy = shear_y * to_rad;
  const double cos_sy = std::cos(sy), tan_sx = std::tan(sx);
  const double a = std::cos(rot - sy) / cos_sy, b = -(a * tan_sx + std::sin(rot));
  const double c = std::sin(rot - sy) / cos_sy, d = -c * tan_sx + std::cos(rot);
  std::array<double, 8> m{d, -b, 0.0, -c, a, 0.0, 0.0, 0.0};
  m[2] += m[0] * -(cx + tx) + m[1] * -(cy + ty);
  m[5] += m[3] * -(cx + tx) + m[4] * -(cy + ty);
  m[2] += cx;
  m[5] += cy;
  return m;
}

// PIL's Image.blend(a, b, alpha) of one uint8 value: a + alpha (b - a) in float32, clamped, truncated.
inline uint8_t blend_u8(int a, int b, float alpha) {
  const float prod = static_cast<float>(static_cast<double>(alpha) * (b - a));
  const float v = static_cast<float>(static_cast<double>(a) + prod);
  return v <= 0.0f ? 0 : v >= 255.0f ? 255 : static_cast<uint8_t>(v);
}

// img <- blend(degenerate, img, factor), degenerate(i) the degenerate image's element i.
template <typename D>
void enhance(Image& img, double factor, const D& degenerate) {
  const float alpha = static_cast<float>(factor);
  uint8_t* p = img.u8.data();
  for (size_t i = 0; i < img.u8.size(); ++i) p[i] = blend_u8(degenerate(i), p[i], alpha);
}

// PIL's L of an RGB pixel (ITU-R 601-2 luma in 16-bit fixed point), or the value of a grey one.
inline int grey_u8(const uint8_t* px, int64_t c) {
  return c == 3 ? (px[0] * 19595 + px[1] * 38470 + px[2] * 7471 + 0x8000) >> 16 : px[0];
}

// PIL's ImageFilter.SMOOTH (3x3 kernel 1 1 1 / 1 5 1 / 1 1 1 divided by 13, in float32, + 0.5 and
// truncated; the one-pixel border copied) of a uint8 (H, W, C) image.
Image smoothed(const Image& im) {
  Image out = im;
  if (im.h < 3 || im.w < 3) return out;
  const float edge = static_cast<float>(1.0 / 13.0), centre = static_cast<float>(5.0 / 13.0);
  auto mul = [](float a, float b) { return static_cast<float>(static_cast<double>(a) * b); };
  auto add = [](float a, float b) { return static_cast<float>(static_cast<double>(a) + b); };
  const int64_t c = im.c, row = im.w * c;
  const uint8_t* in = im.u8.data();
  for (int64_t y = 1; y < im.h - 1; ++y)
    for (int64_t x = 1; x < im.w - 1; ++x)
      for (int64_t ch = 0; ch < c; ++ch) {
        float ss = 0.5f;
        for (int64_t dy : {1, 0, -1}) {  // PIL's row order
          const uint8_t* p = in + (y + dy) * row + x * c + ch;
          float k1 = dy == 0 ? centre : edge;
          ss = add(ss, add(add(mul(p[-c], edge), mul(p[0], k1)), mul(p[c], edge)));
        }
        ss = std::min(255.0f, std::max(0.0f, ss));
        out.u8[y * row + x * c + ch] = static_cast<uint8_t>(ss);
      }
  return out;
}

using Lut = std::array<uint8_t, 256>;
using Histogram = std::array<int64_t, 256>;

std::vector<Histogram> histograms(const Image& im) {
  std::vector<Histogram> h(static_cast<size_t>(im.c));
  for (Histogram& b : h) b.fill(0);
  for (size_t i = 0; i < im.u8.size(); ++i) ++h[i % im.c][im.u8[i]];
  return h;
}

void apply_luts(Image& img, const std::vector<Lut>& luts) {
  for (size_t i = 0; i < img.u8.size(); ++i) img.u8[i] = luts[i % img.c][img.u8[i]];
}

// ImageOps.autocontrast (no cutoff): each channel's [lo, hi] stretched to [0, 255].
Lut autocontrast_lut(const Histogram& h) {
  Lut lut;
  int lo = 0, hi = 255;
  while (lo < 255 && h[lo] == 0) ++lo;
  while (hi > 0 && h[hi] == 0) --hi;
  for (int i = 0; i < 256; ++i) lut[i] = static_cast<uint8_t>(i);
  if (hi <= lo) return lut;
  const double scale = 255.0 / (hi - lo), offset = -lo * scale;
  for (int i = 0; i < 256; ++i) {
    const double v = static_cast<double>(static_cast<long double>(i) * scale) + offset;  // i * scale rounded once
    lut[i] = static_cast<uint8_t>(std::clamp<int64_t>(static_cast<int64_t>(v), 0, 255));
  }
  return lut;
}

// ImageOps.equalize: step = (pixels - count of the highest value) // 255, lut[i] = (step // 2 + pixels
// below i) // step; the identity for a channel of one value or step 0.
Lut equalize_lut(const Histogram& h) {
  Lut lut;
  for (int i = 0; i < 256; ++i) lut[i] = static_cast<uint8_t>(i);
  int64_t total = 0, last = 0, used = 0;
  for (int64_t n : h)
    if (n) {
      total += n;
      last = n;
      ++used;
    }
  const int64_t step = (total - last) / 255;
  if (used <= 1 || step == 0) return lut;
  int64_t n = step / 2;
  for (int i = 0; i < 256; ++i) {
    lut[i] = static_cast<uint8_t>(std::min<int64_t>(n / step, 255));
    n += h[i];
  }
  return lut;
}

// torch.linspace(start, end, steps)[i] in float32: start + step i below half way, end - step (steps - 1 - i)
// from there, each rounded once (as its vectorized loop computes them); exact in double before the rounding.
double linspace_f32(double start, double end, int64_t steps, int64_t i) {
  const float s = static_cast<float>(start), e = static_cast<float>(end);
  if (steps == 1) return s;
  const double step = (e - s) / static_cast<float>(steps - 1);
  return i < steps / 2 ? static_cast<float>(s + step * static_cast<double>(i))
                       : static_cast<float>(e - step * static_cast<double>(steps - 1 - i));
}

bool is_signed(AugmentOp op) {
  return op != AugmentOp::Posterize && op != AugmentOp::Solarize;
}

// The magnitude of bin i of `bins` for an (h, w) image (torchvision's _AUGMENTATION_SPACE; `wide`:
// TrivialAugmentWide's); false for the operations without one.
bool magnitude_of(AugmentOp op, bool wide, int64_t i, int64_t bins, int64_t h, int64_t w, double* m) {
  switch (op) {
    case AugmentOp::ShearX:
    case AugmentOp::ShearY: *m = linspace_f32(0.0, wide ? 0.99 : 0.3, bins, i); return true;
    case AugmentOp::TranslateX: *m = linspace_f32(0.0, wide ? 32.0 : 150.0 / 331.0 * w, bins, i); return true;
    case AugmentOp::TranslateY: *m = linspace_f32(0.0, wide ? 32.0 : 150.0 / 331.0 * h, bins, i); return true;
    case AugmentOp::Rotate: *m = linspace_f32(0.0, wide ? 135.0 : 30.0, bins, i); return true;
    case AugmentOp::Brightness:
    case AugmentOp::Color:
    case AugmentOp::Contrast:
    case AugmentOp::Sharpness: *m = linspace_f32(0.0, wide ? 0.99 : 0.9, bins, i); return true;
    case AugmentOp::Posterize: {
      const float q = static_cast<float>(i) / static_cast<float>((bins - 1) / (wide ? 6.0 : 4.0));
      *m = std::nearbyint(8.0f - q);
      return true;
    }
    case AugmentOp::Solarize: *m = linspace_f32(1.0, 0.0, bins, i); return true;
    default: return false;
  }
}

using Op = AugmentOp;
// RandAugment's and TrivialAugmentWide's operations, in torchvision's order.
constexpr Op kRandOps[14] = {Op::Identity,   Op::ShearX,   Op::ShearY,       Op::TranslateX, Op::TranslateY,
                             Op::Rotate,     Op::Brightness, Op::Color,      Op::Contrast,   Op::Sharpness,
                             Op::Posterize,  Op::Solarize, Op::AutoContrast, Op::Equalize};

struct SubOp {
  Op op;
  double p;
  int64_t bin;  // -1: no magnitude
};
using SubPolicy = std::array<SubOp, 2>;

// torchvision's AutoAugmentPolicy tables.
const std::array<SubPolicy, 25> kImageNet = {{
    {{{Op::Posterize, 0.4, 8}, {Op::Rotate, 0.6, 9}}},     {{{Op::Solarize, 0.6, 5}, {Op::AutoContrast, 0.6, -1}}},
    {{{Op::Equalize, 0.8, -1}, {Op::Equalize, 0.6, -1}}},  {{{Op::Posterize, 0.6, 7}, {Op::Posterize, 0.6, 6}}},
    {{{Op::Equalize, 0.4, -1}, {Op::Solarize, 0.2, 4}}},   {{{Op::Equalize, 0.4, -1}, {Op::Rotate, 0.8, 8}}},
    {{{Op::Solarize, 0.6, 3}, {Op::Equalize, 0.6, -1}}},   {{{Op::Posterize, 0.8, 5}, {Op::Equalize, 1.0, -1}}},
    {{{Op::Rotate, 0.2, 3}, {Op::Solarize, 0.6, 8}}},      {{{Op::Equalize, 0.6, -1}, {Op::Posterize, 0.4, 6}}},
    {{{Op::Rotate, 0.8, 8}, {Op::Color, 0.4, 0}}},         {{{Op::Rotate, 0.4, 9}, {Op::Equalize, 0.6, -1}}},
    {{{Op::Equalize, 0.0, -1}, {Op::Equalize, 0.8, -1}}},  {{{Op::Invert, 0.6, -1}, {Op::Equalize, 1.0, -1}}},
    {{{Op::Color, 0.6, 4}, {Op::Contrast, 1.0, 8}}},       {{{Op::Rotate, 0.8, 8}, {Op::Color, 1.0, 2}}},
    {{{Op::Color, 0.8, 8}, {Op::Solarize, 0.8, 7}}},       {{{Op::Sharpness, 0.4, 7}, {Op::Invert, 0.6, -1}}},
    {{{Op::ShearX, 0.6, 5}, {Op::Equalize, 1.0, -1}}},     {{{Op::Color, 0.4, 0}, {Op::Equalize, 0.6, -1}}},
    {{{Op::Equalize, 0.4, -1}, {Op::Solarize, 0.2, 4}}},   {{{Op::Solarize, 0.6, 5}, {Op::AutoContrast, 0.6, -1}}},
    {{{Op::Invert, 0.6, -1}, {Op::Equalize, 1.0, -1}}},    {{{Op::Color, 0.6, 4}, {Op::Contrast, 1.0, 8}}},
    {{{Op::Equalize, 0.8, -1}, {Op::Equalize, 0.6, -1}}},
}};
const std::array<SubPolicy, 25> kCIFAR10 = {{
    {{{Op::Invert, 0.1, -1}, {Op::Contrast, 0.2, 6}}},        {{{Op::Rotate, 0.7, 2}, {Op::TranslateX, 0.3, 9}}},
    {{{Op::Sharpness, 0.8, 1}, {Op::Sharpness, 0.9, 3}}},     {{{Op::ShearY, 0.5, 8}, {Op::TranslateY, 0.7, 9}}},
    {{{Op::AutoContrast, 0.5, -1}, {Op::Equalize, 0.9, -1}}}, {{{Op::ShearY, 0.2, 7}, {Op::Posterize, 0.3, 7}}},
    {{{Op::Color, 0.4, 3}, {Op::Brightness, 0.6, 7}}},        {{{Op::Sharpness, 0.3, 9}, {Op::Brightness, 0.7, 9}}},
    {{{Op::Equalize, 0.6, -1}, {Op::Equalize, 0.5, -1}}},     {{{Op::Contrast, 0.6, 7}, {Op::Sharpness, 0.6, 5}}},
    {{{Op::Color, 0.7, 7}, {Op::TranslateX, 0.5, 8}}},        {{{Op::Equalize, 0.3, -1}, {Op::AutoContrast, 0.4, -1}}},
    {{{Op::TranslateY, 0.4, 3}, {Op::Sharpness, 0.2, 6}}},    {{{Op::Brightness, 0.9, 6}, {Op::Color, 0.2, 8}}},
    {{{Op::Solarize, 0.5, 2}, {Op::Invert, 0.0, -1}}},        {{{Op::Equalize, 0.2, -1}, {Op::AutoContrast, 0.6, -1}}},
    {{{Op::Equalize, 0.2, -1}, {Op::Equalize, 0.6, -1}}},     {{{Op::Color, 0.9, 9}, {Op::Equalize, 0.6, -1}}},
    {{{Op::AutoContrast, 0.8, -1}, {Op::Solarize, 0.2, 8}}},  {{{Op::Brightness, 0.1, 3}, {Op::Color, 0.7, 0}}},
    {{{Op::Solarize, 0.4, 5}, {Op::AutoContrast, 0.9, -1}}},  {{{Op::TranslateY, 0.9, 9}, {Op::TranslateY, 0.7, 9}}},
    {{{Op::AutoContrast, 0.9, -1}, {Op::Solarize, 0.8, 3}}},  {{{Op::Equalize, 0.8, -1}, {Op::Invert, 0.1, -1}}},
    {{{Op::TranslateY, 0.7, 9}, {Op::AutoContrast, 0.9, -1}}},
}};
const std::array<SubPolicy, 25> kSVHN = {{
    {{{Op::ShearX, 0.9, 4}, {Op::Invert, 0.2, -1}}},      {{{Op::ShearY, 0.9, 8}, {Op::Invert, 0.7, -1}}},
    {{{Op::Equalize, 0.6, -1}, {Op::Solarize, 0.6, 6}}},  {{{Op::Invert, 0.9, -1}, {Op::Equalize, 0.6, -1}}},
    {{{Op::Equalize, 0.6, -1}, {Op::Rotate, 0.9, 3}}},    {{{Op::ShearX, 0.9, 4}, {Op::AutoContrast, 0.8, -1}}},
    {{{Op::ShearY, 0.9, 8}, {Op::Invert, 0.4, -1}}},      {{{Op::ShearY, 0.9, 5}, {Op::Solarize, 0.2, 6}}},
    {{{Op::Invert, 0.9, -1}, {Op::AutoContrast, 0.8, -1}}}, {{{Op::Equalize, 0.6, -1}, {Op::Rotate, 0.9, 3}}},
    {{{Op::ShearX, 0.9, 4}, {Op::Solarize, 0.3, 3}}},     {{{Op::ShearY, 0.8, 8}, {Op::Invert, 0.7, -1}}},
    {{{Op::Equalize, 0.9, -1}, {Op::TranslateY, 0.6, 6}}}, {{{Op::Invert, 0.9, -1}, {Op::Equalize, 0.6, -1}}},
    {{{Op::Contrast, 0.3, 3}, {Op::Rotate, 0.8, 4}}},     {{{Op::Invert, 0.8, -1}, {Op::TranslateY, 0.0, 2}}},
    {{{Op::ShearY, 0.7, 6}, {Op::Solarize, 0.4, 8}}},     {{{Op::Invert, 0.6, -1}, {Op::Rotate, 0.8, 4}}},
    {{{Op::ShearY, 0.3, 7}, {Op::TranslateX, 0.9, 3}}},   {{{Op::ShearX, 0.1, 6}, {Op::Invert, 0.6, -1}}},
    {{{Op::Solarize, 0.7, 2}, {Op::TranslateY, 0.6, 7}}}, {{{Op::ShearY, 0.8, 4}, {Op::Invert, 0.8, -1}}},
    {{{Op::ShearX, 0.7, 9}, {Op::TranslateY, 0.8, 3}}},   {{{Op::ShearY, 0.8, 5}, {Op::AutoContrast, 0.7, -1}}},
    {{{Op::ShearX, 0.7, 2}, {Op::Invert, 0.1, -1}}},
}};

}  // namespace

// ---- the image operations --------------------------------------------------------------------------

const char* augment_op_name(AugmentOp op) {
  static const char* names[] = {"Identity",   "ShearX",     "ShearY",    "TranslateX", "TranslateY",
                                "Rotate",     "Brightness", "Color",     "Contrast",   "Sharpness",
                                "Posterize",  "Solarize",   "AutoContrast", "Equalize", "Invert"};
  return names[static_cast<int>(op)];
}

void apply_augment_op(Image& img, AugmentOp op, double m, Interpolation interp, const std::vector<double>& fill) {
  const char* who = augment_op_name(op);
  require_uint8(img, who);
  const double cx = img.w * 0.5, cy = img.h * 0.5, to_deg = 180.0 / M_PI;
  auto warp = [&](const std::array<double, 8>& a, Interpolation mode) {
    img = warped(img, img.h, img.w, a, mode, fill, who);
  };
  switch (op) {
    case Op::Identity: return;
    case Op::ShearX: return warp(inverse_affine(0, 0, 0, 0, 0, std::atan(m) * to_deg, 0), interp);
    case Op::ShearY: return warp(inverse_affine(0, 0, 0, 0, 0, 0, std::atan(m) * to_deg), interp);
    case Op::TranslateX: return warp(inverse_affine(cx, cy, 0, std::trunc(m), 0, 0, 0), interp);
    case Op::TranslateY: return warp(inverse_affine(cx, cy, 0, 0, std::trunc(m), 0, 0), interp);
    case Op::Rotate: {
      // PIL's Image.rotate (which torchvision calls): the matrix of angle m mod 360 rounded to 15
      // decimals about the centre. PIL turns by multiples of 90 degrees (of a square image for 90 and
      // 270) by transposing: sampling the pixel centres with nearest gives the same.
      double r = std::fmod(m, 360.0);
      if (r < 0) r += 360.0;
      const bool exact = r == 0 || r == 180 || ((r == 90 || r == 270) && img.h == img.w);
      const double a = -r * (M_PI / 180.0);
      auto round15 = [](double v) { return std::nearbyint(v * 1e15) / 1e15; };
      const double c = round15(std::cos(a)), sn = round15(std::sin(a));
      std::array<double, 8> mat{c, sn, 0, -sn, c, 0, 0, 0};
      mat[2] = c * -cx + sn * -cy + cx;
      mat[5] = -sn * -cx + c * -cy + cy;
      return warp(mat, exact ? Interpolation::Nearest : interp);
    }
    case Op::Brightness: return enhance(img, 1.0 + m, [](size_t) { return 0; });
    case Op::Color: {
      const Image src = img;
      const int64_t c = img.c;
      return enhance(img, 1.0 + m, [&](size_t i) { return grey_u8(src.u8.data() + (i / c) * c, c); });
    }
    case Op::Contrast: {
      int64_t sum = 0;
      for (int64_t p = 0; p < img.h * img.w; ++p) sum += grey_u8(img.u8.data() + p * img.c, img.c);
      const int mean = static_cast<int>(static_cast<double>(sum) / static_cast<double>(img.h * img.w) + 0.5);
      return enhance(img, 1.0 + m, [&](size_t) { return mean; });
    }
    case Op::Sharpness: {
      const Image smooth = smoothed(img);
      return enhance(img, 1.0 + m, [&](size_t i) { return smooth.u8[i]; });
    }
    default: break;
  }
  std::vector<Lut> luts(static_cast<size_t>(img.c));
  std::vector<Histogram> h;
  if (op == Op::AutoContrast || op == Op::Equalize) h = histograms(img);
  const double threshold = 255.0 * m;
  const int bits = static_cast<int>(m);
  const int mask = ~((1 << (8 - std::clamp(bits, 0, 8))) - 1) & 0xff;
  for (int64_t ch = 0; ch < img.c; ++ch) {
    Lut& lut = luts[ch];
    if (op == Op::AutoContrast) lut = autocontrast_lut(h[ch]);
    if (op == Op::Equalize) lut = equalize_lut(h[ch]);
    for (int i = 0; i < 256 && (op == Op::Posterize || op == Op::Solarize || op == Op::Invert); ++i)
      lut[i] = static_cast<uint8_t>(op == Op::Posterize ? (i & mask) : op == Op::Invert ? 255 - i
                                    : (i < threshold ? i : 255 - i));
  }
  apply_luts(img, luts);
}

// ---- the three policies ---------------------------------------------------------------------------------

AutoAugment::AutoAugment(AugmentPolicy policy, int64_t num_ops, int64_t magnitude, int64_t num_magnitude_bins,
                         Interpolation interp, std::vector<double> fill)
    : policy_(policy), num_ops_(num_ops), magnitude_(magnitude), bins_(num_magnitude_bins), interp_(interp),
      fill_(std::move(fill)) {
  CONVNET_CHECK(num_ops >= 0, name(), ": num_ops must be a non-negative integer, got ", num_ops);
  CONVNET_CHECK(num_magnitude_bins >= 1, name(), ": num_magnitude_bins must be positive, got ", num_magnitude_bins);
  CONVNET_CHECK(policy != AugmentPolicy::RandAugment || (0 <= magnitude && magnitude < num_magnitude_bins), name(),
                ": magnitude must be in [0, num_magnitude_bins) = [0, ", num_magnitude_bins, "), got ", magnitude);
}

std::string AutoAugment::name() const {
  switch (policy_) {
    case AugmentPolicy::RandAugment: return "RandAugment";
    case AugmentPolicy::TrivialAugmentWide: return "TrivialAugmentWide";
    default: return "AutoAugment";
  }
}

std::vector<std::pair<AugmentOp, double>> AutoAugment::draw(Generator& g, int64_t h, int64_t w) const {
  std::vector<std::pair<AugmentOp, double>> out;
  auto add = [&](AugmentOp op, bool wide, int64_t bin, int64_t bins) {
    double m = 0;
    if (bin >= 0 && magnitude_of(op, wide, bin, bins, h, w, &m) && is_signed(op) && g.uniform() <= 0.5) m = -m;
    out.emplace_back(op, m);
  };
  switch (policy_) {
    case AugmentPolicy::RandAugment:
      for (int64_t k = 0; k < num_ops_; ++k) add(kRandOps[g.below(14)], false, magnitude_, bins_);
      break;
    case AugmentPolicy::TrivialAugmentWide: {
      const AugmentOp op = kRandOps[g.below(14)];
      double unused;
      add(op, true, magnitude_of(op, true, 0, bins_, h, w, &unused) ? g.below(bins_) : -1, bins_);
      break;
    }
    default: {
      const auto& table = policy_ == AugmentPolicy::ImageNet ? kImageNet
                          : policy_ == AugmentPolicy::CIFAR10 ? kCIFAR10 : kSVHN;
      for (const SubOp& s : table[g.below(25)])
        if (g.uniform() <= s.p) add(s.op, false, s.bin, 10);
    }
  }
  return out;
}

void AutoAugment::apply_one(Image& img, Generator& g) const {
  require_uint8(img, name().c_str());
  for (const auto& [op, m] : draw(g, img.h, img.w)) apply_augment_op(img, op, m, interp_, fill_);
}

// ---- perspective, blur ----------------------------------------------------------------------------------

RandomPerspective::RandomPerspective(double distortion_scale, double p, Interpolation interp,
                                     std::vector<double> fill)
    : distortion_scale_(distortion_scale), p_(p), interp_(interp), fill_(std::move(fill)) {
  CONVNET_CHECK(distortion_scale >= 0 && distortion_scale <= 1,
                "RandomPerspective: distortion_scale must be in [0, 1], got ", distortion_scale);
  CONVNET_CHECK(p >= 0 && p <= 1, "RandomPerspective: p must be in [0, 1], got ", p);
}

void RandomPerspective::apply_one(Image& img, Generator& g) const {
  if (!(g.uniform() < p_)) return;
  const int64_t H = img.h, W = img.w;
  const int64_t bh = static_cast<int64_t>(distortion_scale_ * static_cast<double>(H / 2)) + 1;
  const int64_t bw = static_cast<int64_t>(distortion_scale_ * static_cast<double>(W / 2)) + 1;
  double end[4][2];
  end[0][0] = static_cast<double>(g.below(bw));
  end[0][1] = static_cast<double>(g.below(bh));
  end[1][0] = static_cast<double>(W - bw + g.below(bw));
  end[1][1] = static_cast<double>(g.below(bh));
  end[2][0] = static_cast<double>(W - bw + g.below(bw));
  end[2][1] = static_cast<double>(H - bh + g.below(bh));
  end[3][0] = static_cast<double>(g.below(bw));
  end[3][1] = static_cast<double>(H - bh + g.below(bh));
  const double start[4][2] = {{0, 0}, {W - 1.0, 0}, {W - 1.0, H - 1.0}, {0, H - 1.0}};
  // The system A c = b (torchvision's _get_perspective_coeffs), solved by elimination with partial pivoting.
  double A[8][9];
  for (int i = 0; i < 4; ++i) {
    const double x = end[i][0], y = end[i][1], u = start[i][0], v = start[i][1];
    const double r0[9] = {x, y, 1, 0, 0, 0, -u * x, -u * y, u}, r1[9] = {0, 0, 0, x, y, 1, -v * x, -v * y, v};
    std::memcpy(A[2 * i], r0, sizeof r0);
    std::memcpy(A[2 * i + 1], r1, sizeof r1);
  }
  for (int col = 0; col < 8; ++col) {
    int piv = col;
    for (int r = col + 1; r < 8; ++r)
      if (std::fabs(A[r][col]) > std::fabs(A[piv][col])) piv = r;
    std::swap(A[col], A[piv]);
    for (int r = 0; r < 8; ++r) {
      if (r == col || A[r][col] == 0) continue;
      const double f = A[r][col] / A[col][col];
      for (int k = col; k < 9; ++k) A[r][k] -= f * A[col][k];
    }
  }
  std::array<double, 8> coeffs;
  for (int k = 0; k < 8; ++k) coeffs[k] = static_cast<float>(A[k][8] / A[k][k]);
  img = warped(img, H, W, coeffs, interp_, fill_, name());
}

GaussianBlur::GaussianBlur(int64_t kx, int64_t ky, double sigma_lo, double sigma_hi)
    : kx_(kx), ky_(ky), sigma_lo_(sigma_lo), sigma_hi_(sigma_hi) {
  CONVNET_CHECK(kx > 0 && ky > 0 && kx % 2 == 1 && ky % 2 == 1,
                "GaussianBlur: kernel_size must be odd and positive, got (", kx, ", ", ky, ")");
  CONVNET_CHECK(0 < sigma_lo && sigma_lo <= sigma_hi, "GaussianBlur: sigma must be (min, max) with 0 < min <= max, "
                "got (", sigma_lo, ", ", sigma_hi, ")");
}

namespace {

std::vector<float> gaussian_weights(int64_t k, double sigma) {
  std::vector<double> w(static_cast<size_t>(k));
  double sum = 0;
  for (int64_t i = 0; i < k; ++i) {
    const double t = (i - (k - 1) * 0.5) / sigma;
    sum += w[i] = std::exp(-0.5 * t * t);
  }
  std::vector<float> out(w.size());
  for (size_t i = 0; i < w.size(); ++i) out[i] = static_cast<float>(w[i] / sum);
  return out;
}

// in (rows, W) by row stride si, out (rows, w_out) contiguous: out[r][x] = sum_j wt[j] in[r][src[x + j]]
// (src: the k + w_out - 1 source columns of the padded row).
CONVNET_CPU_CLONES void blur_rows(const float* in, int64_t si, float* out, int64_t rows, int64_t w_out,
                                  const float* wt, int64_t k, const int64_t* src) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* p = in + r * si;
    float* o = out + r * w_out;
    for (int64_t x = 0; x < w_out; ++x) {
      float s = 0;
      for (int64_t j = 0; j < k; ++j) s += wt[j] * p[src[x + j]];
      o[x] = s;
    }
  }
}

// in (H, W), out (h_out, W): out[y][x] = sum_j wt[j] in[src[y + j]][x].
CONVNET_CPU_CLONES void blur_columns(const float* in, float* out, int64_t h_out, int64_t w, const float* wt,
                                     int64_t k, const int64_t* src) {
  for (int64_t y = 0; y < h_out; ++y) {
    float* o = out + y * w;
    for (int64_t x = 0; x < w; ++x) o[x] = 0;
    for (int64_t j = 0; j < k; ++j) {
      const float* p = in + src[y + j] * w;
      const float c = wt[j];
      for (int64_t x = 0; x < w; ++x) o[x] += c * p[x];
    }
  }
}

}  // namespace

void GaussianBlur::apply_one(Image& img, Generator& g) const {
  const double sigma = uniform_in(g, sigma_lo_, sigma_hi_);
  const int64_t H = img.h, W = img.w, C = img.c, rx = kx_ / 2, ry = ky_ / 2;
  CONVNET_CHECK(rx < W && ry < H, "GaussianBlur(kernel_size=(", kx_, ", ", ky_, ")): reflect padding of (", rx, ", ",
                ry, ") needs an image larger than that, got ", img.shape_str());
  const std::vector<float> wx = gaussian_weights(kx_, sigma), wy = gaussian_weights(ky_, sigma);
  std::vector<int64_t> sx(static_cast<size_t>(W + 2 * rx)), sy(static_cast<size_t>(H + 2 * ry));
  for (int64_t i = 0; i < W + 2 * rx; ++i) sx[i] = pad_index(i - rx, W, PadMode::Reflect);
  for (int64_t i = 0; i < H + 2 * ry; ++i) sy[i] = pad_index(i - ry, H, PadMode::Reflect);
  // Planes (C, H, W) in float32, blurred along x, then along y.
  std::vector<float> planes(static_cast<size_t>(C * H * W)), tmp(planes.size());
  const Strides s = strides_of(img);
  dispatch(img, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T* p = pixels<T>(img);
    for (int64_t ch = 0; ch < C; ++ch)
      for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x)
          planes[(ch * H + y) * W + x] = static_cast<float>(p[y * s.y + x * s.x + ch * s.c]);
  });
  blur_rows(planes.data(), W, tmp.data(), C * H, W, wx.data(), kx_, sx.data());
  for (int64_t ch = 0; ch < C; ++ch)
    blur_columns(tmp.data() + ch * H * W, planes.data() + ch * H * W, H, W, wy.data(), ky_, sy.data());
  dispatch(img, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    T* p = pixels<T>(img);
    for (int64_t ch = 0; ch < C; ++ch)
      for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
          const float v = planes[(ch * H + y) * W + x];
          p[y * s.y + x * s.x + ch * s.c] = std::is_same_v<T, float>
                                                ? static_cast<T>(v)
                                                : static_cast<T>(std::clamp(std::nearbyint(v), 0.0f, 255.0f));
        }
  });
}

// ---- MixUp, CutMix -----------------------------------------------------------------------------------------

namespace {

// Gamma(a) by Marsaglia and Tsang's method (a >= 1), boosted for a < 1.
double gamma_draw(Generator& g, double a) {
  if (a < 1) {
    const double x = gamma_draw(g, a + 1);
    return x * std::pow(1.0 - g.uniform(), 1.0 / a);
  }
  const double d = a - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    const double x = g.normal(), t = 1.0 + c * x;
    if (t <= 0) continue;
    const double v = t * t * t, u = g.uniform();
    if (u < 1.0 - 0.0331 * x * x * x * x || std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}

// out = r * b + x * a over n elements (torch: x.roll(1, 0).mul_(1 - lam).add_(x.mul(lam))).
template <typename T>
void mix_span(const T* x, const T* r, T* out, int64_t n, T a, T b) {
  cpu::cloned_for(0, n, [=](int64_t i) { out[i] = r[i] * b + x[i] * a; });
}

}  // namespace

MixParams draw_mix_params(uint64_t seed, double alpha, bool cutmix, int64_t h, int64_t w) {
  CONVNET_CHECK(alpha > 0 && std::isfinite(alpha), cutmix ? "CutMix" : "MixUp", ": alpha must be positive, got ",
                alpha);
  Generator g(seed);
  const double x = gamma_draw(g, alpha), y = gamma_draw(g, alpha);
  MixParams p;
  p.lam = x / (x + y);
  p.cutmix = cutmix;
  if (!cutmix) return p;
  CONVNET_CHECK(h > 0 && w > 0, "CutMix: empty images (", h, ", ", w, ")");
  const int64_t rx = g.below(w), ry = g.below(h);
  const double r = 0.5 * std::sqrt(1.0 - p.lam);
  const int64_t half_w = static_cast<int64_t>(r * w), half_h = static_cast<int64_t>(r * h);
  p.x1 = std::max<int64_t>(rx - half_w, 0);
  p.y1 = std::max<int64_t>(ry - half_h, 0);
  p.x2 = std::min<int64_t>(rx + half_w, w);
  p.y2 = std::min<int64_t>(ry + half_h, h);
  p.lam = 1.0 - static_cast<double>((p.x2 - p.x1) * (p.y2 - p.y1)) / static_cast<double>(w * h);
  return p;
}

std::pair<Tensor, Tensor> mix_batch(const Tensor& images_in, const Tensor& labels_in, int64_t num_classes,
                                    const MixParams& p, const std::string& who) {
  CONVNET_CHECK(images_in.dim() == 4 && (images_in.dtype() == DType::Float32 || images_in.dtype() == DType::Float64),
                who, ": expected a batch of float images (N, C, H, W), got ", dtype_name(images_in.dtype()), " ",
                shape_str(images_in.shape()));
  CONVNET_CHECK(images_in.device().is_cpu() && labels_in.device().is_cpu(), who, ": expects CPU tensors (mix the "
                "batch before moving it to the GPU)");
  const int64_t n = images_in.size(0);
  CONVNET_CHECK(n > 0, who, ": empty batch");
  const bool index_labels = labels_in.dim() == 1 && labels_in.dtype() == DType::Int64;
  const bool prob_labels = labels_in.dim() == 2 && (labels_in.dtype() == DType::Float32 ||
                                                    labels_in.dtype() == DType::Float64);
  CONVNET_CHECK((index_labels || prob_labels) && labels_in.size(0) == n, who, ": labels should be int64 class "
                "indices (N,) or float probabilities (N, num_classes) for the ", n, " images, got ",
                dtype_name(labels_in.dtype()), " ", shape_str(labels_in.shape()));
  CONVNET_CHECK(!index_labels || num_classes > 0, who, ": num_classes is required for labels given as class indices");
  CONVNET_CHECK(!prob_labels || num_classes <= 0 || labels_in.size(1) == num_classes, who, ": labels have ",
                labels_in.size(1), " classes, expected num_classes = ", num_classes);
  const Tensor images = images_in.contiguous(), labels = labels_in.contiguous();
  Tensor targets;
  if (index_labels) {
    targets = Tensor::empty({n, num_classes}, DType::Float32);
    float* t = targets.data<float>();
    const int64_t* y = labels.data<int64_t>();
    std::fill(t, t + n * num_classes, 0.0f);
    for (int64_t i = 0; i < n; ++i) {
      CONVNET_CHECK(y[i] >= 0 && y[i] < num_classes, who, ": label ", y[i], " of image ", i, " is outside [0, ",
                    num_classes, ")");
      t[i * num_classes + y[i]] = 1.0f;
    }
  } else {
    targets = labels;
  }
  const int64_t k = targets.size(1), per = images.numel() / n;
  const int64_t C = images.size(1), H = images.size(2), W = images.size(3);
  CONVNET_CHECK(!p.cutmix || (0 <= p.x1 && p.x1 <= p.x2 && p.x2 <= W && 0 <= p.y1 && p.y1 <= p.y2 && p.y2 <= H), who,
                ": the box (", p.x1, ", ", p.y1, ", ", p.x2, ", ", p.y2, ") does not lie in the ", H, "x", W,
                " images");
  Tensor mixed_images = Tensor::empty(images.shape(), images.dtype());
  Tensor mixed_targets = Tensor::empty(targets.shape(), targets.dtype());
  auto mix = [&](const Tensor& src, Tensor& dst, int64_t row, bool whole) {
    dispatch_floating(src.dtype(), who.c_str(), [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      const T* x = src.data<T>();
      T* o = dst.data<T>();
      const T a = static_cast<T>(p.lam), b = static_cast<T>(1.0 - p.lam);
      cpu::parallel_for(n, 1, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
          const T* r = x + ((i + n - 1) % n) * row;
          if (whole) {
            mix_span(x + i * row, r, o + i * row, row, a, b);
            continue;
          }
          std::memcpy(o + i * row, x + i * row, static_cast<size_t>(row) * sizeof(T));
          for (int64_t ch = 0; ch < C; ++ch)
            for (int64_t yy = p.y1; yy < p.y2; ++yy) {
              const int64_t at = i * row + (ch * H + yy) * W + p.x1;
              std::memcpy(o + at, r + (at - i * row), static_cast<size_t>(p.x2 - p.x1) * sizeof(T));
            }
        }
      });
    });
  };
  mix(images, mixed_images, per, !p.cutmix);
  mix(targets, mixed_targets, k, true);
  return {mixed_images, mixed_targets};
}

}  // namespace convnet::data
