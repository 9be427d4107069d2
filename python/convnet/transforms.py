"""Image transforms for data augmentation (as torchvision.transforms), implemented in C++.

Images are NumPy arrays: uint8 (H, W) or (H, W, C) as decoded (what the data sets hand to a
transform), and float32 (C, H, W) after `ToTensor` (which scales to [0, 1]). Geometric and colour
transforms work on both; `Normalize`, `Lighting` and `RandomErasing` need the float32 layout (put
`ToTensor()` before them), as torchvision's need tensors. Calling a transform on one image returns a
NumPy array (a uint8 image keeps a 2-D input 2-D; `TenCrop` adds a leading axis of 10 views).

Randomness: a call draws one seed from convnet's generator (`convnet.manual_seed`); a DataLoader draws
one per epoch and gives the image at position k of the epoch the seed `image_seed(base, k)`, so its
batches do not depend on `num_workers`. Within an image the transforms draw from that image's own
xoshiro256** generator in pipeline order (the C++ header `convnet/data/transforms.h` lists the draws
of each transform).

Augmentation policies (torchvision.transforms.v2's names, arguments and defaults): `AutoAugment`
(`AutoAugmentPolicy.IMAGENET`, `CIFAR10`, `SVHN`), `RandAugment`, `TrivialAugmentWide`, on uint8 images
before `ToTensor` (their operations compute what torchvision computes for PIL images); `RandomPerspective`
and `GaussianBlur` on either layout. `MixUp` and `CutMix` act on whole batches `(images, labels)` after
collation and return soft targets for `cross_entropy`, e.g. in a DataLoader's `collate_fn`.

`Compose` of convnet transforms runs entirely in C++, a batch's images split over the threads with the
GIL released. Python callables (`Lambda`, or any function) may be mixed in; such a Compose runs its
C++ stretches in C++ and the callables in Python, and a DataLoader then applies it per image.
"""

import numbers

import numpy as np

from . import _core

_tf = _core._transforms

__all__ = ["AutoAugment", "AutoAugmentPolicy", "CutMix", "GaussianBlur", "MixUp", "RandAugment",
           "RandomPerspective", "TrivialAugmentWide",
           "CenterCrop", "ColorJitter", "Compose", "Grayscale", "InterpolationMode", "Lambda", "Lighting",
           "Normalize", "RandomAffine", "RandomCrop", "RandomErasing", "RandomGrayscale",
           "RandomHorizontalFlip", "RandomResizedCrop", "RandomRotation", "RandomVerticalFlip", "Resize",
           "TenCrop", "ToTensor", "Transform", "IMAGENET_EIGVAL", "IMAGENET_EIGVEC", "image_seed"]

# Principal components of ImageNet's RGB pixels in [0, 1] (AlexNet's lighting noise; the values of
# fb.resnet.torch): eigenvalues, and eigenvectors as columns.
IMAGENET_EIGVAL = (0.2175, 0.0188, 0.0045)
IMAGENET_EIGVEC = ((-0.5675, 0.7192, 0.4009),
                   (-0.5808, -0.0045, -0.8140),
                   (-0.5836, -0.6948, 0.4203))


class InterpolationMode:
    """Interpolation names (as torchvision.transforms.InterpolationMode); plain strings work too."""
    NEAREST = "nearest"
    BILINEAR = "bilinear"


def _interp(mode, who):
    value = getattr(mode, "value", mode)
    if value not in ("nearest", "bilinear"):
        raise ValueError(f"{who}: interpolation must be 'bilinear' or 'nearest', got {mode!r}")
    return value


def _size(size, who):
    """An int or a sequence of one or two ints -> (h, w)."""
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        h = w = int(size)
    elif isinstance(size, (tuple, list)) and len(size) in (1, 2) and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in size):
        h, w = int(size[0]), int(size[-1])
    else:
        raise TypeError(f"{who}: size must be an int or a sequence of one or two ints, got {size!r}")
    if h <= 0 or w <= 0:
        raise ValueError(f"{who}: size must be positive, got {size!r}")
    return h, w


def _numbers(v, who, what):
    """A number or a sequence of numbers -> list of floats."""
    if isinstance(v, numbers.Real) and not isinstance(v, bool):
        return [float(v)]
    if isinstance(v, (tuple, list)) and all(isinstance(x, numbers.Real) and not isinstance(x, bool) for x in v):
        return [float(x) for x in v]
    raise TypeError(f"{who}: {what} must be a number or a sequence of numbers, got {v!r}")


def _pair(v, who, what, symmetric=None):
    """(min, max) from a pair, or from one number x as (-x, x) (symmetric='negate', x >= 0)."""
    vals = _numbers(v, who, what)
    if len(vals) == 1 and symmetric == "negate":
        if vals[0] < 0:
            raise ValueError(f"{who}: a single {what} value must be non-negative, got {v!r}")
        return (-vals[0], vals[0])
    if len(vals) != 2:
        raise ValueError(f"{who}: {what} must be a pair (min, max), got {v!r}")
    if vals[0] > vals[1]:
        raise ValueError(f"{who}: {what} must be (min, max) with min <= max, got {v!r}")
    return tuple(vals)


def _apply(pipeline, img, seed):
    a = img.numpy() if isinstance(img, _core.Tensor) else np.asarray(img)
    out = pipeline.batch([a], seed, 0, False).numpy()[0]
    if a.ndim == 2 and out.dtype == np.uint8 and out.ndim == 3 and out.shape[-1] == 1:
        out = out[..., 0]
    return out


class Transform:
    """Base of the C++ transforms. `t(img)` transforms one image with a seed drawn from convnet's
    generator; `t.apply_batch(images, seed)` transforms a batch (image k with `image_seed(seed, k)`)."""

    _impl = None

    def _stages(self):
        return [self._impl]

    def _pipeline(self):
        if getattr(self, "_pipe", None) is None:
            self._pipe = _tf.Pipeline(self._stages())
        return self._pipe

    def __call__(self, img):
        return _apply(self._pipeline(), img, _core._draw_seed())

    def apply_batch(self, images, seed, first=0, parallel=True):
        """Transforms images[k] (a list of images, or an array with a leading batch axis) with the
        generator seeded by `image_seed(seed, first + k)` and stacks them: float32 (N, [V,] C, H, W)
        or uint8 (N, [V,] H, W, C). Runs in C++ with the GIL released, images split over the threads."""
        return self._pipeline().batch(images, int(seed), int(first), bool(parallel)).numpy()

    def _args(self):
        return ""

    def __repr__(self):
        return f"{type(self).__name__}({self._args()})"


def image_seed(base, k):
    """The seed of the image at position k of a batch or epoch whose seed is `base`."""
    return _tf.Pipeline.image_seed(int(base), int(k))


class Compose(Transform):
    """Applies `transforms` in order. All convnet transforms: one C++ pipeline. Python callables may
    be mixed in (they run in Python between the C++ stretches)."""

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose: {t!r} is not callable")

    @property
    def native(self):
        """True when every step is a convnet transform, so the whole pipeline runs in C++."""
        return all(isinstance(t, Transform) and (not isinstance(t, Compose) or t.native) for t in self.transforms)

    def _stages(self):
        if not self.native:
            raise TypeError("Compose: the pipeline holds Python callables and cannot run as one C++ pipeline")
        return [s for t in self.transforms for s in t._stages()]

    def __call__(self, img):
        if self.native:
            return super().__call__(img)
        run = []
        for t in self.transforms + [None]:
            if isinstance(t, Transform) and (not isinstance(t, Compose) or t.native):
                run.append(t)
                continue
            if run:
                img = Compose(run)(img)
                run = []
            if t is not None:
                img = t(img)
        return img

    def __repr__(self):
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


class Lambda:
    """A Python function used as a transform (runs in Python, per image)."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Lambda: expected a callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self):
        return "Lambda()"


class ToTensor(Transform):
    """uint8 (H, W[, C]) -> float32 (C, H, W) divided by 255 (as torchvision's ToTensor)."""

    def __init__(self):
        self._impl = _tf.ToTensor()


class Normalize(Transform):
    """float32 (C, H, W): (x - mean[c]) / std[c], in float32."""

    def __init__(self, mean, std, inplace=False):
        self.mean, self.std = _numbers(mean, "Normalize", "mean"), _numbers(std, "Normalize", "std")
        self.inplace = inplace
        self._impl = _tf.Normalize(self.mean, self.std)

    def _args(self):
        return f"mean={self.mean}, std={self.std}"


def _padding(padding):
    """torchvision's padding: int (all sides), (left/right, top/bottom) or (left, top, right, bottom)
    -> (top, left, bottom, right)."""
    if padding is None:
        return (0, 0, 0, 0)
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        return (int(padding),) * 4
    if isinstance(padding, (tuple, list)) and all(isinstance(p, numbers.Integral) for p in padding):
        if len(padding) == 1:
            return (int(padding[0]),) * 4
        if len(padding) == 2:
            return (int(padding[1]), int(padding[0])) * 2
        if len(padding) == 4:
            left, top, right, bottom = (int(p) for p in padding)
            return (top, left, bottom, right)
    raise TypeError(f"RandomCrop: padding must be an int or a sequence of 1, 2 or 4 ints, got {padding!r}")


class RandomCrop(Transform):
    """Pads (optionally) and crops `size` at a random place: the CIFAR recipe is RandomCrop(32, padding=4)."""

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        self.size = _size(size, "RandomCrop")
        self.padding, self.pad_if_needed, self.fill, self.padding_mode = padding, pad_if_needed, fill, padding_mode
        self._impl = _tf.RandomCrop(*self.size, _padding(padding), bool(pad_if_needed),
                                    _numbers(fill, "RandomCrop", "fill"), padding_mode)

    def _args(self):
        return f"size={self.size}, padding={self.padding}"


class CenterCrop(Transform):
    def __init__(self, size):
        self.size = _size(size, "CenterCrop")
        self._impl = _tf.CenterCrop(*self.size)

    def _args(self):
        return f"size={self.size}"


def _no_antialias(antialias, who):
    if antialias:
        raise ValueError(f"{who}: antialias=True is not supported; convnet resizes without antialiasing "
                         f"(pass antialias=False)")


class Resize(Transform):
    """Resize to `size` (h, w), or an int: the shorter side to `size`, keeping the aspect ratio.
    Bilinear (half-pixel centres, no antialiasing) or nearest."""

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=None):
        if max_size is not None:
            raise ValueError("Resize: max_size is not supported")
        _no_antialias(antialias, "Resize")
        self.interpolation = _interp(interpolation, "Resize")
        if isinstance(size, numbers.Integral) or (isinstance(size, (tuple, list)) and len(size) == 1):
            self.size = _size(size, "Resize")[0]
            self._impl = _tf.Resize(0, self.size, self.interpolation)
        else:
            self.size = _size(size, "Resize")
            self._impl = _tf.Resize(*self.size, self.interpolation)

    def _args(self):
        return f"size={self.size}, interpolation={self.interpolation}"


class RandomResizedCrop(Transform):
    """A crop of random area (fraction `scale`) and aspect ratio (`ratio`), resized to `size`."""

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation=InterpolationMode.BILINEAR, antialias=None):
        _no_antialias(antialias, "RandomResizedCrop")
        self.size = _size(size, "RandomResizedCrop")
        self.scale = _pair(scale, "RandomResizedCrop", "scale")
        self.ratio = _pair(ratio, "RandomResizedCrop", "ratio")
        self.interpolation = _interp(interpolation, "RandomResizedCrop")
        self._impl = _tf.RandomResizedCrop(*self.size, self.scale, self.ratio, self.interpolation)

    def _args(self):
        return f"size={self.size}, scale={self.scale}, ratio={self.ratio}"


class RandomHorizontalFlip(Transform):
    def __init__(self, p=0.5):
        self.p = float(p)
        self._impl = _tf.RandomFlip(self.p, False)

    def _args(self):
        return f"p={self.p}"


class RandomVerticalFlip(Transform):
    def __init__(self, p=0.5):
        self.p = float(p)
        self._impl = _tf.RandomFlip(self.p, True)

    def _args(self):
        return f"p={self.p}"


def _no_center(center, who):
    if center is not None:
        raise ValueError(f"{who}: center is not supported; the image centre is used")


class RandomAffine(Transform):
    """Random rotation (`degrees`), translation (fractions of width and height), scale and shear
    (degrees: x range, or x then y ranges) about the image centre; a positive angle turns the
    picture counter-clockwise. Outside pixels take `fill`."""

    def __init__(self, degrees, translate=None, scale=None, shear=None, interpolation=InterpolationMode.NEAREST,
                 fill=0, center=None):
        who = type(self).__name__
        _no_center(center, who)
        self.degrees = _pair(degrees, who, "degrees", symmetric="negate")
        self.translate = None if translate is None else _pair_any(translate, who, "translate")
        self.scale = None if scale is None else _pair(scale, who, "scale")
        if shear is None:
            self.shear = None
        else:
            vals = _numbers(shear, who, "shear")
            if len(vals) == 1:
                vals = list(_pair(vals[0], who, "shear", symmetric="negate"))
            if len(vals) not in (2, 4):
                raise ValueError(f"{who}: shear must be a number or a sequence of 2 or 4 numbers, got {shear!r}")
            self.shear = tuple(vals)
        self.interpolation = _interp(interpolation, who)
        self.fill = fill
        self._impl = _tf.RandomAffine(self.degrees, list(self.translate or ()), list(self.scale or ()),
                                      list(self.shear or ()), self.interpolation, _numbers(fill, who, "fill"), who)

    def _args(self):
        return f"degrees={self.degrees}, translate={self.translate}, scale={self.scale}, shear={self.shear}"


def _pair_any(v, who, what):
    vals = _numbers(v, who, what)
    if len(vals) != 2:
        raise ValueError(f"{who}: {what} must be a pair, got {v!r}")
    return tuple(vals)


class RandomRotation(RandomAffine):
    """Rotation by an angle uniform in `degrees` ((-d, d) for one number) about the centre."""

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand=False, center=None, fill=0):
        if expand:
            raise ValueError("RandomRotation: expand=True is not supported; the output keeps the input size")
        super().__init__(degrees, interpolation=interpolation, fill=fill, center=center)

    def _args(self):
        return f"degrees={self.degrees}"


def _jitter(v, who, what, center=1.0, bound=(0.0, float("inf"))):
    """torchvision's ColorJitter ranges: a number x -> (center - x, center + x) clipped to bound, 0 -> off."""
    vals = _numbers(v, who, what)
    if len(vals) == 1:
        if vals[0] < 0:
            raise ValueError(f"{who}: {what} must be non-negative, got {v!r}")
        if vals[0] == 0:
            return None
        vals = [max(center - vals[0], bound[0]), center + vals[0]]
    if len(vals) != 2 or not bound[0] <= vals[0] <= vals[1] <= bound[1]:
        raise ValueError(f"{who}: {what} must be a non-negative number or (min, max) within {bound}, got {v!r}")
    return None if vals[0] == vals[1] == center else tuple(vals)


class ColorJitter(Transform):
    """Random brightness, contrast, saturation and hue, applied in a random order."""

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        self.brightness = _jitter(brightness, "ColorJitter", "brightness")
        self.contrast = _jitter(contrast, "ColorJitter", "contrast")
        self.saturation = _jitter(saturation, "ColorJitter", "saturation")
        self.hue = _jitter(hue, "ColorJitter", "hue", center=0.0, bound=(-0.5, 0.5))
        self._impl = _tf.ColorJitter(*(list(r or ()) for r in (self.brightness, self.contrast, self.saturation,
                                                               self.hue)))

    def _args(self):
        return (f"brightness={self.brightness}, contrast={self.contrast}, saturation={self.saturation}, "
                f"hue={self.hue}")


class Grayscale(Transform):
    """RGB -> grey (0.299 R + 0.587 G + 0.114 B) with 1 or 3 output channels."""

    def __init__(self, num_output_channels=1):
        self.num_output_channels = num_output_channels
        self._impl = _tf.Grayscale(int(num_output_channels), 1.0)

    def _args(self):
        return f"num_output_channels={self.num_output_channels}"


class RandomGrayscale(Transform):
    """Grey (keeping the channel count) with probability p."""

    def __init__(self, p=0.1):
        self.p = float(p)
        self._impl = _tf.Grayscale(3, self.p)

    def _args(self):
        return f"p={self.p}"


class Lighting(Transform):
    """AlexNet's PCA lighting noise on float32 RGB (after ToTensor): adds eigvec @ (alpha * eigval) to
    each pixel, alpha ~ normal(0, alphastd) per image. Defaults: ImageNet's principal components."""

    def __init__(self, alphastd=0.1, eigval=IMAGENET_EIGVAL, eigvec=IMAGENET_EIGVEC):
        val = np.asarray(eigval, np.float64)
        vec = np.asarray(eigvec, np.float64)
        if val.shape != (3,) or vec.shape != (3, 3):
            raise ValueError(f"Lighting: eigval must have 3 values and eigvec be 3x3, got shapes {val.shape} "
                             f"and {vec.shape}")
        self.alphastd = float(alphastd)
        self._impl = _tf.Lighting(self.alphastd, val.tolist(), vec.tolist())

    def _args(self):
        return f"alphastd={self.alphastd}"


class RandomErasing(Transform):
    """With probability p, sets a random rectangle of a float32 (C, H, W) image to `value` (a number,
    one per channel, or "random" for standard normal noise)."""

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, inplace=False):
        self.p = float(p)
        self.scale = _pair(scale, "RandomErasing", "scale")
        self.ratio = _pair(ratio, "RandomErasing", "ratio")
        self.value = value
        values = [] if value == "random" else _numbers(value, "RandomErasing", "value")
        self._impl = _tf.RandomErasing(self.p, self.scale, self.ratio, values)

    def _args(self):
        return f"p={self.p}, scale={self.scale}, ratio={self.ratio}, value={self.value}"


class TenCrop(Transform):
    """The four corner and the centre crops of `size`, then the same of the mirrored image: ten views
    stacked on a new leading axis. Batches become (N, 10, C, H, W); `convnet.evaluate` and
    `convnet.predict` average a model's outputs over the views."""

    def __init__(self, size, vertical_flip=False):
        self.size = _size(size, "TenCrop")
        self.vertical_flip = bool(vertical_flip)
        self._impl = _tf.TenCrop(*self.size, self.vertical_flip)

    def _args(self):
        return f"size={self.size}, vertical_flip={self.vertical_flip}"


def _fill(fill, who):
    return [] if fill is None else _numbers(fill, who, "fill")


class AutoAugmentPolicy:
    """AutoAugment's learned policies (as torchvision.transforms.AutoAugmentPolicy)."""
    IMAGENET = "imagenet"
    CIFAR10 = "cifar10"
    SVHN = "svhn"


class _AutoAugmentBase(Transform):
    """The operations shared by the policies: Identity, ShearX/Y, TranslateX/Y, Rotate, Brightness,
    Color, Contrast, Sharpness, Posterize, Solarize, AutoContrast, Equalize (and Invert in AutoAugment),
    on uint8 (H, W[, C]) images with 1 or 3 channels, computed as torchvision's PIL path does.
    `fill` (None: 0) fills the pixels that geometric operations bring in from outside."""

    def _make(self, policy, num_ops, magnitude, num_magnitude_bins, interpolation, fill):
        who = type(self).__name__
        self.interpolation = _interp(interpolation, who)
        self.fill = fill
        self._impl = _tf.AutoAugment(policy, int(num_ops), int(magnitude), int(num_magnitude_bins),
                                     self.interpolation, _fill(fill, who))

    def draw(self, seed, size):
        """The (operation, signed magnitude) pairs that an image of `size` (h, w) gets from the
        generator seeded with `seed` (an image at position k of a batch seeded with `base` has
        `image_seed(base, k)`)."""
        return self._impl.draw(int(seed), int(size[0]), int(size[1]))


class AutoAugment(_AutoAugmentBase):
    """AutoAugment (Cubuk et al., 2019): per image one of the policy's 25 sub-policies, each two
    operations applied with their probabilities at fixed magnitudes (torchvision's tables)."""

    def __init__(self, policy=AutoAugmentPolicy.IMAGENET, interpolation=InterpolationMode.NEAREST, fill=None):
        self.policy = getattr(policy, "value", policy)
        if self.policy not in ("imagenet", "cifar10", "svhn"):
            raise ValueError(f"AutoAugment: the provided policy {policy!r} is not recognized; use "
                             f"AutoAugmentPolicy.IMAGENET, CIFAR10 or SVHN")
        self._make(self.policy, 0, 0, 10, interpolation, fill)

    def _args(self):
        return f"policy={self.policy}, interpolation={self.interpolation}, fill={self.fill}"


class RandAugment(_AutoAugmentBase):
    """RandAugment (Cubuk et al., 2020): `num_ops` operations drawn uniformly from 14, each at bin
    `magnitude` of `num_magnitude_bins`, with a random sign where the operation has one."""

    def __init__(self, num_ops=2, magnitude=9, num_magnitude_bins=31, interpolation=InterpolationMode.NEAREST,
                 fill=None):
        if not isinstance(num_ops, numbers.Integral) or isinstance(num_ops, bool) or num_ops < 0:
            raise ValueError(f"RandAugment: num_ops should be a non-negative integer, but got {num_ops!r} instead")
        self.num_ops, self.magnitude, self.num_magnitude_bins = int(num_ops), int(magnitude), int(num_magnitude_bins)
        self._make("randaugment", self.num_ops, self.magnitude, self.num_magnitude_bins, interpolation, fill)

    def _args(self):
        return (f"num_ops={self.num_ops}, magnitude={self.magnitude}, num_magnitude_bins={self.num_magnitude_bins}, "
                f"interpolation={self.interpolation}, fill={self.fill}")


class TrivialAugmentWide(_AutoAugmentBase):
    """TrivialAugment Wide (Muller and Hutter, 2021): one operation drawn uniformly from 14, at a
    uniformly drawn bin of `num_magnitude_bins` over the wide ranges, with a random sign."""

    def __init__(self, num_magnitude_bins=31, interpolation=InterpolationMode.NEAREST, fill=None):
        self.num_magnitude_bins = int(num_magnitude_bins)
        self._make("trivialaugmentwide", 0, 0, self.num_magnitude_bins, interpolation, fill)

    def _args(self):
        return f"num_magnitude_bins={self.num_magnitude_bins}, interpolation={self.interpolation}, fill={self.fill}"


class RandomPerspective(Transform):
    """With probability p, a perspective warp moving each corner inwards by up to
    `distortion_scale` of half the side (torchvision's draws, PIL's sampling)."""

    def __init__(self, distortion_scale=0.5, p=0.5, interpolation=InterpolationMode.BILINEAR, fill=0):
        self.distortion_scale, self.p = float(distortion_scale), float(p)
        self.interpolation = _interp(interpolation, "RandomPerspective")
        self.fill = fill
        self._impl = _tf.RandomPerspective(self.distortion_scale, self.p, self.interpolation,
                                           _fill(fill, "RandomPerspective"))

    def _args(self):
        return f"distortion_scale={self.distortion_scale}, p={self.p}, interpolation={self.interpolation}"


class GaussianBlur(Transform):
    """Gaussian blur with an odd `kernel_size` (an int, or (x size, y size)) and sigma drawn
    uniformly from `sigma` ((min, max), or one number), reflect padding."""

    def __init__(self, kernel_size, sigma=(0.1, 2.0)):
        if isinstance(kernel_size, numbers.Integral) and not isinstance(kernel_size, bool):
            kx = ky = int(kernel_size)
        elif isinstance(kernel_size, (tuple, list)) and len(kernel_size) in (1, 2):
            kx, ky = int(kernel_size[0]), int(kernel_size[-1])
        else:
            raise TypeError(f"GaussianBlur: kernel_size must be an int or a pair of ints, got {kernel_size!r}")
        vals = _numbers(sigma, "GaussianBlur", "sigma")
        if len(vals) == 1:
            vals = vals * 2
        if len(vals) != 2 or not 0 < vals[0] <= vals[1]:
            raise ValueError(f"GaussianBlur: sigma must be a positive number or (min, max) with 0 < min <= max, "
                             f"got {sigma!r}")
        self.kernel_size, self.sigma = (kx, ky), tuple(vals)
        self._impl = _tf.GaussianBlur(kx, ky, *self.sigma)

    def _args(self):
        return f"kernel_size={self.kernel_size}, sigma={self.sigma}"


def _batch_tensor(a):
    if isinstance(a, _core.Tensor):
        return a
    a = np.ascontiguousarray(a)
    if a.dtype.kind in "iu":
        a = a.astype(np.int64)
    return _core.from_numpy(a)


class _BaseMixUpCutMix:
    def __init__(self, *, alpha=1.0, num_classes=None):
        self.alpha = float(alpha)
        if not self.alpha > 0:
            raise ValueError(f"{type(self).__name__}: alpha must be positive, got {alpha!r}")
        self.num_classes = num_classes

    def __call__(self, *inputs):
        """(images (N, C, H, W) float, labels (N,) int or (N, K) probabilities) -> (mixed images, soft
        targets (N, K)). Also takes the pair as one argument."""
        if len(inputs) == 1 and isinstance(inputs[0], (tuple, list)):
            inputs = tuple(inputs[0])
        if len(inputs) != 2:
            raise ValueError(f"{type(self).__name__}: expected (images, labels), got {len(inputs)} inputs")
        images, labels = (_batch_tensor(a) for a in inputs)
        return self.transform(images, labels, self.make_params(images))

    def transform(self, images, labels, params):
        """The batch mixed with the drawn `params` (from make_params)."""
        k = -1 if self.num_classes is None else int(self.num_classes)
        return tuple(_tf.mix_batch(images, labels, k, params.get("lam_adjusted", params.get("lam")),
                                   params.get("box"), type(self).__name__))

    def __repr__(self):
        return f"{type(self).__name__}(alpha={self.alpha}, num_classes={self.num_classes})"


class MixUp(_BaseMixUpCutMix):
    """MixUp (Zhang et al., 2018) of a batch: lam ~ Beta(alpha, alpha) drawn from convnet's generator;
    images lam * x + (1 - lam) * x.roll(1, 0) and targets the same of the one-hot labels (as
    torchvision.transforms.v2.MixUp)."""

    def make_params(self, images):
        """{"lam": ...}: one seed from convnet's generator, from which lam is drawn."""
        return dict(_tf.mix_params(_core._draw_seed(), self.alpha, False))


class CutMix(_BaseMixUpCutMix):
    """CutMix (Yun et al., 2019) of a batch: lam ~ Beta(alpha, alpha), a box of area (1 - lam) of the
    image around a uniform centre, clipped to the image, pasted from x.roll(1, 0); the targets mix
    with lam corrected to the clipped box's area (as torchvision.transforms.v2.CutMix)."""

    def make_params(self, images):
        """{"box": (x1, y1, x2, y2), "lam_adjusted": ...} for the batch's (H, W)."""
        h, w = images.shape[-2], images.shape[-1]
        p = _tf.mix_params(_core._draw_seed(), self.alpha, True, int(h), int(w))
        return {"box": tuple(p["box"]), "lam_adjusted": p["lam"]}
