// Image transforms for data augmentation (as torchvision.transforms), on one image at a time;
// a Pipeline runs a list of them and collates a batch, its images split over the threads.
//
// Layouts: an image is uint8 (H, W, C) interleaved, as decoded (C = 1 for grey), until ToTensor
// turns it into float32 (C, H, W) planes scaled to [0, 1]. Geometric transforms work on both;
// Normalize, Lighting and RandomErasing need float32 (as torchvision's, which take tensors); the
// AutoAugment policies need uint8 (as torchvision's). The policies, RandomPerspective, GaussianBlur and
// MixUp/CutMix are implemented in augment.cpp.
//
// Randomness: each image gets its own Generator, seeded with image_seed(base, k) where `base` is one
// draw of the global generator (convnet::manual_seed) per batch or epoch and k the image's position
// in it, so the result does not depend on which thread transforms which image. The transforms draw
// from it in pipeline order; each class below lists its draws.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "convnet/allocator.h"
#include "convnet/random.h"
#include "convnet/tensor.h"

namespace convnet::data {

// Pixel buffers come from the caching allocator (so that a steady stream of images takes no pages
// from the OS) and resize() leaves new elements uninitialized (every transform writes its whole output).
template <typename T>
struct PixelAllocator {
  using value_type = T;
  PixelAllocator() = default;
  template <typename U>
  PixelAllocator(const PixelAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(cpu_alloc(n * sizeof(T))); }
  void deallocate(T* p, size_t n) { cpu_free(p, n * sizeof(T)); }
  template <typename U, typename... A>
  void construct(U* p, A&&... a) {
    if constexpr (sizeof...(A) == 0)
      ::new (static_cast<void*>(p)) U;
    else
      ::new (static_cast<void*>(p)) U(std::forward<A>(a)...);
  }
  template <typename U>
  bool operator==(const PixelAllocator<U>&) const { return true; }
  template <typename U>
  bool operator!=(const PixelAllocator<U>&) const { return false; }
};
template <typename T>
using Pixels = std::vector<T, PixelAllocator<T>>;

struct Image {
  int64_t h = 0, w = 0, c = 0;
  bool is_float = false;
  Pixels<uint8_t> u8;  // (H, W, C) when !is_float
  Pixels<float> f;     // (C, H, W) when is_float
  std::string shape_str() const;  // "uint8 (32, 32, 3)" / "float32 (3, 32, 32)"
};

enum class Interpolation { Nearest, Bilinear };
enum class PadMode { Constant, Edge, Reflect, Symmetric };

class Transform {
 public:
  virtual ~Transform() = default;
  // Transforms every view of one image (a single view unless TenCrop made ten).
  virtual void apply(std::vector<Image>& views, Generator& g) const;
  virtual std::string name() const = 0;

 protected:
  virtual void apply_one(Image& img, Generator& g) const = 0;
};
using TransformPtr = std::shared_ptr<const Transform>;

// uint8 (H, W, C) -> float32 (C, H, W) divided by 255. No draws.
class ToTensor : public Transform {
 public:
  std::string name() const override { return "ToTensor"; }
 protected:
  void apply_one(Image& img, Generator& g) const override;
};

// float32 (C, H, W): (x - mean[c]) / std[c] (one value or one per channel). No draws.
class Normalize : public Transform {
 public:
  Normalize(std::vector<double> mean, std::vector<double> std);
  std::string name() const override { return "Normalize"; }
 protected:
  void apply_one(Image& img, Generator& g) const override;
 private:
  std::vector<float> mean_, std_;
};

// Pads by (top, left, bottom, right) with `mode` (constant: `fill`), and, with pad_if_needed, pads
// both sides of a dimension smaller than the crop by the difference; then crops (h, w) at top
// i = below(H' - h + 1), then left j = below(W' - w + 1) (two draws).
class RandomCrop : public Transform {
 public:
  RandomCrop(int64_t h, int64_t w, std::array<int64_t, 4> padding, bool pad_if_needed,
             std::vector<double> fill, PadMode mode);
  std::string name() const override { return "RandomCrop"; }
 protected:
  void apply_one(Image& img, Generator& g) const override;
 private:
  int64_t h_, w_;
  std::array<int64_t, 4> pad_;
  bool pad_if_needed_;
  std::vector<double> fill_;
  PadMode mode_;
};

// The centre (h, w) window: top round((H - h) / 2) (half to even), zero padding where the crop is
// larger than the image (as torchvision). No draws.
class CenterCrop : public Transform {
 public:
  CenterCrop(int64_t h, int64_t w);
  std::string name() const override { return "CenterCrop"; }
 protected:
  void apply_one(Image& img, Generator& g) const override;
 private:
  int64_t h_, w_;
};

// Resize to (h, w), or (w > 0, h == 0) the shorter side to `w` keeping the aspect ratio (longer side
// truncated, as torchvision). Bilinear with half-pixel centres and no antialiasing (as
// torch.nn.functional.interpolate(align_corners=False)), or nearest. uint8 rounds to nearest.
class Resize : public Transform {
 public:
  Resize(int64_t h, int64_t w, Interpolation interp);
  std::string name() const override { return "Resize"; }
 protected:
  void apply_one(Image& img, Generator& g) const override;
 private:
  int64_t h_, w_;
  Interpolation interp_;
};

// A window of random area fraction and aspect ratio, resized to (h, w). Up to 10 tries, each drawing
// the area fraction uniform(scale), then log-ratio uniform(log ratio); a window that fits then draws
// top and left as RandomCrop. If none fits, the centre window clamped to the ratio range (as
// torchvision's get_params).
class RandomResizedCrop : public Transform {
 public:
  RandomResizedCrop(int64_t h, int64_t w, std::array<double, 2> scale, std::array<double, 2> ratio,
                    Interpolation interp);
  std::string name() const override { return "RandomResizedCrop"; }
 protected:
  void apply_one(Image& img, Generator& g) const override;
 private:
  int64_t h_, w_;
  std::array<double, 2> scale_, ratio_;
  Interpolation interp_;
};

// Mirror left-right (horizontal) or top-bottom when uniform() < p (one draw).
class RandomFlip : public Transform {
 public:
  RandomFlip(double p, bool vertical);
  std::string name() const override { return vertical_ ? "RandomVerticalFlip" : "RandomHorizontalFlip"; }
 protected:
  void apply_one(Image& img, Generator& g) const override;
 private:
  double p_;
  bool vertical_;
};

// Affine map about the image centre ((W-1)/2, (H-1)/2): output pixel p takes the input at
// A^-1 (p - c - t) + c, with A = scale * R(angle) * [[1, tan sx], [0, 1]] * [[1, 0], [tan sy, 1]],
// R(a) = [[cos a, sin a], [-sin a, cos a]] in (x right, y down) coordinates, so a positive angle turns
// the picture counter-clockwise as displayed. Pixels from outside take `fill`. Draws, each only
// when its range is set: angle uniform(degrees); tx = round(uniform(-translate_x * W, translate_x * W)),
// then ty likewise; scale uniform(scale); shear x uniform(shear[0..1]), shear y uniform(shear[2..3]).
// RandomRotation is this with degrees only. Sampling follows PIL's Image.transform (nearest: the pixel
// under the point; bilinear: edge pixels repeated, uint8 truncated).
class RandomAffine : public Transform {
 public:
  RandomAffine(std::array<double, 2> degrees, std::vector<double> translate, std::vector<double> scale,
               std::vector<double> shear, Interpolation interp, std::vector<double> fill, std::string who);
  std::string name() const override { return who_; }
 protected:
  void apply_one(Image& img, Generator& g) const override;
 private:
  std::array<double, 2> degrees_;
  std::vector<double> translate_, scale_, shear_;
  Interpolation interp_;
  std::vector<double> fill_;
  std::string who_;
};

// Brightness, contrast, saturation and hue factors, each an interval (empty: off), applied in a
// random order: draws the order first (Fisher–Yates over the four, i = 3..1, j = below(i + 1)),
// then one uniform factor per enabled interval in the order brightness, contrast, saturation, hue.
// Works in floating point on [0, bound] (255 for uint8, 1 for float32), clamping after each step,
// rounding to nearest at the end for uint8. Grey = 0.299 R + 0.587 G + 0.114 B. Saturation and hue
// leave one-channel images unchanged.
class ColorJitter : public Transform {
 public:
  ColorJitter(std::vector<double> brightness, std::vector<double> contrast, std::vector<double> saturation,
              std::vector<double> hue);
  std::string name() const override { return "ColorJitter"; }
 protected:
  void apply_one(Image& img, Generator& g) const override;
 private:
  std::array<std::vector<double>, 4> ranges_;
};

// RGB -> grey (0.299 R + 0.587 G + 0.114 B) with `channels` (1 or 3) output channels; with p < 1,
// only when uniform() < p (one draw) and keeping the channel count (RandomGrayscale).
class Grayscale : public Transform {
 public:
  Grayscale(int64_t channels, double p);
  std::string name() const override { return p_ < 1 ? "RandomGrayscale" : "Grayscale"; }
 protected:
  void apply_one(Image& img, Generator& g) const override;
 private:
  int64_t channels_;
  double p_;
};

// AlexNet's PCA lighting noise on float32 (3, H, W): alpha_k = alphastd * normal() for k = 0..2,
// x[c] += sum_k eigvec[c][k] * alpha_k * eigval[k].
class Lighting : public Transform {
 public:
  Lighting(double alphastd, std::array<double, 3> eigval, std::array<std::array<double, 3>, 3> eigvec);
  std::string name() const override { return "Lighting"; }
 protected:
  void apply_one(Image& img, Generator& g) const override;
 private:
  double alphastd_;
  std::array<double, 3> eigval_;
  std::array<std::array<double, 3>, 3> eigvec_;
};

// On float32 (C, H, W): when uniform() < p, up to 10 tries, each drawing an area fraction
// uniform(scale) and log-ratio uniform(log ratio); h = round(sqrt(area * r)), w = round(sqrt(area / r));
// the first with h < H and w < W draws top and left as RandomCrop and sets the window to `value`
// (one value, or one per channel; empty: normal() per element in (C, h, w) order).
class RandomErasing : public Transform {
 public:
  RandomErasing(double p, std::array<double, 2> scale, std::array<double, 2> ratio, std::vector<double> value);
  std::string name() const override { return "RandomErasing"; }
 protected:
  void apply_one(Image& img, Generator& g) const override;
 private:
  double p_;
  std::array<double, 2> scale_, ratio_;
  std::vector<double> value_;
};

// With probability p (uniform() < p, one draw), a perspective warp moving the corners (0, 0), (W-1, 0),
// (W-1, H-1), (0, H-1) to drawn points, as torchvision's RandomPerspective: with bw = int(d * (W / 2)) + 1
// and bh = int(d * (H / 2)) + 1 (d = distortion_scale), the corners' x, y in that order are
// below(bw), below(bh); W - bw + below(bw), below(bh); W - bw + below(bw), H - bh + below(bh);
// below(bw), H - bh + below(bh). The 8 coefficients that map the moved corners back onto the original
// ones solve an 8x8 system in double and are rounded to float32 (as torchvision), then sampled as PIL's
// Image.transform(PERSPECTIVE).
class RandomPerspective : public Transform {
 public:
  RandomPerspective(double distortion_scale, double p, Interpolation interp, std::vector<double> fill);
  std::string name() const override { return "RandomPerspective"; }
 protected:
  void apply_one(Image& img, Generator& g) const override;
 private:
  double distortion_scale_, p_;
  Interpolation interp_;
  std::vector<double> fill_;
};

// Gaussian blur with odd kernel sizes (kx along x, ky along y) and sigma = uniform(sigma_lo, sigma_hi)
// (one draw, the same for both axes), as torchvision's GaussianBlur: weights exp(-t^2 / (2 sigma^2))
// at t = -(k-1)/2 .. (k-1)/2 normalized to sum 1 (float32), reflect padding (no edge repeat: each
// half-size must be smaller than the image side), separable passes in float32, uint8 rounded half to even.
class GaussianBlur : public Transform {
 public:
  GaussianBlur(int64_t kx, int64_t ky, double sigma_lo, double sigma_hi);
  std::string name() const override { return "GaussianBlur"; }
 protected:
  void apply_one(Image& img, Generator& g) const override;
 private:
  int64_t kx_, ky_;
  double sigma_lo_, sigma_hi_;
};

// The image operations of AutoAugment, RandAugment and TrivialAugmentWide (torchvision's names). They
// take uint8 (H, W, C) images with 1 or 3 channels (as torchvision's, which need uint8 tensors or PIL
// images) and compute what torchvision's PIL path computes, PIL's integer arithmetic and truncations
// included, with m the signed magnitude:
//   ShearX/ShearY  affine shear of atan(m) about the corner (0, 0) (x' = x + m y / y' = y + m x);
//   TranslateX/Y   shift by int(m) pixels; Rotate: m degrees counter-clockwise about the centre (both
//                  with torchvision's inverse affine matrix, sampled as RandomAffine);
//   Brightness, Color, Contrast, Sharpness   PIL's ImageEnhance with factor 1 + m: a blend
//                  degenerate + f (img - degenerate) in float32, clamped and truncated, from black, the
//                  grey image (L = (19595 R + 38470 G + 7471 B + 2^15) >> 16), the rounded mean grey,
//                  or the 3x3 SMOOTH filter (1 1 1 / 1 5 1 / 1 1 1, / 13; border pixels kept);
//   Posterize      keep the top int(m) bits; Solarize: invert the values >= 255 m;
//   AutoContrast   stretch each channel's [min, max] to [0, 255] (int(v * scale + offset));
//   Equalize       ImageOps.equalize's per-channel lookup table; Invert: 255 - v; Identity.
enum class AugmentOp {
  Identity, ShearX, ShearY, TranslateX, TranslateY, Rotate, Brightness, Color, Contrast, Sharpness,
  Posterize, Solarize, AutoContrast, Equalize, Invert
};
const char* augment_op_name(AugmentOp op);
void apply_augment_op(Image& img, AugmentOp op, double magnitude, Interpolation interp,
                      const std::vector<double>& fill);

// The policies: AutoAugment's three (torchvision's 25 sub-policies of two (op, probability, magnitude
// bin) each, 10 bins), RandAugment (num_ops ops, each drawn from its 14, at bin `magnitude` of
// num_magnitude_bins) and TrivialAugmentWide (one op of its 14 at a random bin of num_magnitude_bins,
// with its wider ranges). The magnitudes of bin i are torchvision's float32 linspace(0, max, bins)[i]
// (max 0.3 shear, 150/331 of the side for translation, 30 degrees, 0.9 for the enhancements; wide:
// 0.99, 32 pixels, 135 degrees, 0.99), posterize bits round(8 - i / ((bins - 1) / 4)) (wide: / 6),
// solarize thresholds linspace(1, 0, bins)[i]. Draws per image:
//   AutoAugment: sub-policy below(25); per op, applied when uniform() <= probability, then for a signed
//     op with a magnitude, negated when uniform() <= 0.5;
//   RandAugment: num_ops times: op below(14), then the sign draw as above;
//   TrivialAugmentWide: op below(14); for an op with a magnitude, bin below(bins), then the sign draw.
enum class AugmentPolicy { ImageNet, CIFAR10, SVHN, RandAugment, TrivialAugmentWide };

class AutoAugment : public Transform {
 public:
  AutoAugment(AugmentPolicy policy, int64_t num_ops, int64_t magnitude, int64_t num_magnitude_bins,
              Interpolation interp, std::vector<double> fill);
  std::string name() const override;
  // The operations and signed magnitudes drawn for an (h, w) image, in the order they apply.
  std::vector<std::pair<AugmentOp, double>> draw(Generator& g, int64_t h, int64_t w) const;
 protected:
  void apply_one(Image& img, Generator& g) const override;
 private:
  AugmentPolicy policy_;
  int64_t num_ops_, magnitude_, bins_;
  Interpolation interp_;
  std::vector<double> fill_;
};

// Ten views: the four corner and the centre (h, w) crops, then the same five crops of the image
// mirrored left-right (top-bottom with vertical_flip), as torchvision's TenCrop. No draws.
class TenCrop : public Transform {
 public:
  TenCrop(int64_t h, int64_t w, bool vertical_flip);
  void apply(std::vector<Image>& views, Generator& g) const override;
  std::string name() const override { return "TenCrop"; }
 protected:
  void apply_one(Image& img, Generator& g) const override;
 private:
  int64_t h_, w_;
  bool vertical_flip_;
};

// Batch-level mixing (torchvision.transforms.v2.MixUp / CutMix). lam ~ Beta(alpha, alpha), drawn from a
// generator seeded by `seed` as X / (X + Y) with X, Y ~ Gamma(alpha) in that order (Marsaglia and
// Tsang's method: normal() then uniform() per try; for alpha < 1, Gamma(alpha + 1) * uniform()^(1/alpha)).
// CutMix then draws the box centre rx = below(W), ry = below(H); with r = sqrt(1 - lam) / 2 the box is
// [max(rx - int(r W), 0), min(rx + int(r W), W)) x [max(ry - int(r H), 0), min(ry + int(r H), H)) and
// lam becomes 1 - box area / (H W).
struct MixParams {
  double lam = 1;
  bool cutmix = false;
  int64_t x1 = 0, y1 = 0, x2 = 0, y2 = 0;  // CutMix's box [x1, x2) x [y1, y2)
};
MixParams draw_mix_params(uint64_t seed, double alpha, bool cutmix, int64_t h, int64_t w);
// images float (N, C, H, W), labels int64 (N) (class indices < num_classes) or float (N, K) (probabilities).
// Returns the mixed images (MixUp: lam x[n] + (1 - lam) x[n - 1]; CutMix: x[n] with the box taken from
// x[n - 1]; n - 1 wraps to N - 1, as torch.roll(x, 1, 0)) and the targets mixed the same way with lam (one-hot
// float32 rows for class indices, the labels' dtype for probabilities).
std::pair<Tensor, Tensor> mix_batch(const Tensor& images, const Tensor& labels, int64_t num_classes,
                                    const MixParams& p, const std::string& who);

// Seed of the k-th image drawn from `base`.
uint64_t image_seed(uint64_t base, int64_t k);

class Pipeline {
 public:
  explicit Pipeline(std::vector<TransformPtr> stages) : stages_(std::move(stages)) {}
  // The views of one image after every stage, with a generator seeded by `seed`.
  std::vector<Image> run(Image img, uint64_t seed) const;
  // Transforms images[k] with image_seed(base, first + k) and collates them: float32
  // (N, [V,] C, H, W) or uint8 (N, [V,] H, W, C) (V: views, when more than one). Images split over
  // the threads when `parallel`. Throws convnet::ValueError when the outputs differ in shape.
  // With `indices` (N data set indices), an error names the data set index of the image.
  Tensor batch(std::vector<Image> images, uint64_t base, int64_t first, bool parallel,
               const int64_t* indices = nullptr) const;
  const std::vector<TransformPtr>& stages() const { return stages_; }

 private:
  std::vector<TransformPtr> stages_;
};

// Copies views into the (V, ...) slot of one sample of a collated batch; checks shapes against `ref`.
void collate_into(const std::vector<Image>& views, const std::vector<Image>& ref, int64_t k, Tensor& out);
// The collated batch tensor for N samples shaped like `views`.
Tensor batch_tensor(int64_t n, const std::vector<Image>& views);

}  // namespace convnet::data
