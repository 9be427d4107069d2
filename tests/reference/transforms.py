"""Plain NumPy references of convnet.transforms, and the documented per-image random stream.

Each reference takes an image (uint8 (H, W, C), or float32 (C, H, W) where the transform needs it)
and a `Rng` positioned where the transform starts drawing, and draws in the order that
cpp/include/convnet/data/transforms.h documents. They share no code with the library: padding is
np.pad, flips are slicing, HSV conversion is the standard library's colorsys, matrix inverses are
np.linalg.inv.
"""

import colorsys
import math

import numpy as np

M64 = (1 << 64) - 1


def splitmix(x):
    """(next state, output) of splitmix64."""
    x = (x + 0x9E3779B97F4A7C15) & M64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return x, z ^ (z >> 31)


class Rng:
    """xoshiro256** seeded through splitmix64, with the draws the transforms use."""

    def __init__(self, seed):
        x, self.s = seed & M64, []
        for _ in range(4):
            x, z = splitmix(x)
            self.s.append(z)

    @staticmethod
    def _rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & M64

    def next(self):
        s = self.s
        r = (self._rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self._rotl(s[3], 45)
        return r

    def uniform(self, lo=0.0, hi=1.0):
        return lo + (hi - lo) * ((self.next() >> 11) * 2.0 ** -53)

    def below(self, n):
        return self.next() % n

    def normal(self):
        u1 = 1.0 - self.uniform()
        u2 = self.uniform()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def image_rng(base, k):
    """The generator of the image at position k of a batch or epoch seeded with `base`."""
    return Rng(splitmix((base + k) & M64)[1])


# ---- deterministic pieces --------------------------------------------------------------------------

def to_tensor(img):
    return np.ascontiguousarray(img.transpose(2, 0, 1)).astype(np.float32) / np.float32(255)


def normalize(x, mean, std):
    m = np.asarray(mean, np.float32).reshape(-1, 1, 1)
    s = np.asarray(std, np.float32).reshape(-1, 1, 1)
    return (x - m) / s


def center_crop(img, h, w):
    H, W = img.shape[:2]
    top, left = int(round((H - h) / 2.0)), int(round((W - w) / 2.0))
    return img[top:top + h, left:left + w]


def resize_bilinear(img, oh, ow):
    """uint8 (H, W, C) -> (oh, ow, C): half-pixel centres, no antialiasing, rounded to nearest."""
    H, W = img.shape[:2]

    def taps(n_in, n_out):
        src = np.maximum((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0)
        i0 = np.minimum(np.floor(src).astype(int), n_in - 1)
        return i0, np.minimum(i0 + 1, n_in - 1), src - i0

    y0, y1, ly = taps(H, oh)
    x0, x1, lx = taps(W, ow)
    a = img.astype(np.float64)
    ly, lx = ly[:, None, None], lx[None, :, None]
    top = (1 - lx) * a[y0][:, x0] + lx * a[y0][:, x1]
    bottom = (1 - lx) * a[y1][:, x0] + lx * a[y1][:, x1]
    v = (1 - ly) * top + ly * bottom
    return np.clip(np.floor(v + 0.5), 0, 255).astype(np.uint8)


def grey(rgb):
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def ten_crop(img, h, w):
    def five(a):
        H, W = a.shape[:2]
        return [a[:h, :w], a[:h, W - w:], a[H - h:, :w], a[H - h:, W - w:], center_crop(a, h, w)]
    return np.stack(five(img) + five(img[:, ::-1]))


# ---- random transforms ------------------------------------------------------------------------------

def random_crop(img, rng, h, w, pad=0, mode="constant", fill=0):
    widths = ((pad, pad), (pad, pad), (0, 0))
    kw = {"constant_values": fill} if mode == "constant" else {}
    p = np.pad(img, widths, mode=mode, **kw)
    i = rng.below(p.shape[0] - h + 1)
    j = rng.below(p.shape[1] - w + 1)
    return p[i:i + h, j:j + w]


def random_flip(img, rng, p=0.5, vertical=False):
    if rng.uniform() < p:
        return img[::-1] if vertical else img[:, ::-1]
    return img


def random_resized_crop(img, rng, size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
    H, W = img.shape[:2]
    area = H * W
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= W and 0 < h <= H:
            i = rng.below(H - h + 1)
            j = rng.below(W - w + 1)
            return resize_bilinear(img[i:i + h, j:j + w], size, size)
    raise AssertionError("the test images are chosen so that a window always fits")


def affine_matrix(angle, tx, ty, scale, shx, shy):
    """The forward 2x2 map A and translation of the documented affine transform (degrees)."""
    a, kx, ky = math.radians(angle), math.tan(math.radians(shx)), math.tan(math.radians(shy))
    rot = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    shear = np.array([[1, kx], [0, 1]]) @ np.array([[1, 0], [ky, 1]])
    return scale * rot @ shear, np.array([tx, ty], float)


def random_affine(img, rng, degrees, translate=None, scale=None, shear=None, fill=0):
    """Nearest-neighbour sampling of the inverse map; also returns the drawn parameters."""
    H, W = img.shape[:2]
    angle = rng.uniform(*degrees)
    tx = ty = 0.0
    if translate:
        mx, my = translate[0] * W, translate[1] * H
        tx = float(round(rng.uniform(-mx, mx)))
        ty = float(round(rng.uniform(-my, my)))
    s = rng.uniform(*scale) if scale else 1.0
    shx = rng.uniform(shear[0], shear[1]) if shear else 0.0
    shy = rng.uniform(shear[2], shear[3]) if shear and len(shear) == 4 else 0.0
    A, t = affine_matrix(angle, tx, ty, s, shx, shy)
    inv = np.linalg.inv(A)
    c = np.array([(W - 1) / 2, (H - 1) / 2])
    ys, xs = np.mgrid[0:H, 0:W]
    pts = np.stack([xs.ravel(), ys.ravel()]).astype(float)
    src = inv @ (pts - c[:, None] - t[:, None]) + c[:, None]
    xi, yi = np.floor(src[0] + 0.5).astype(int), np.floor(src[1] + 0.5).astype(int)
    inside = (xi >= 0) & (xi < W) & (yi >= 0) & (yi < H)
    out = np.full((H * W,) + img.shape[2:], fill, img.dtype)
    out[inside] = img[yi[inside], xi[inside]]
    return out.reshape(img.shape), (angle, tx, ty, s, shx, shy)


def color_jitter(img, rng, brightness=None, contrast=None, saturation=None, hue=None):
    """uint8 (H, W, 3) RGB; HSV through colorsys, one pixel at a time."""
    order = [0, 1, 2, 3]
    for i in (3, 2, 1):
        j = rng.below(i + 1)
        order[i], order[j] = order[j], order[i]
    ranges = [brightness, contrast, saturation, hue]
    factors = [rng.uniform(*r) if r else None for r in ranges]
    v = img.astype(np.float64)
    for k in order:
        f = factors[k]
        if f is None:
            continue
        if k == 0:
            v = np.clip(v * f, 0, 255)
        elif k == 1:
            v = np.clip(f * v + (1 - f) * grey(v).mean(), 0, 255)
        elif k == 2:
            v = np.clip(f * v + (1 - f) * grey(v)[..., None], 0, 255)
        else:
            out = np.empty_like(v)
            for y in range(v.shape[0]):
                for x in range(v.shape[1]):
                    h, s, val = colorsys.rgb_to_hsv(*(v[y, x] / 255))
                    out[y, x] = np.array(colorsys.hsv_to_rgb((h + f) % 1.0, s, val)) * 255
            v = np.clip(out, 0, 255)
    return np.floor(v + 0.5).astype(np.uint8)


def lighting(x, rng, alphastd, eigval, eigvec):
    alpha = np.array([alphastd * rng.normal() for _ in range(3)])
    shift = np.asarray(eigvec) @ (alpha * np.asarray(eigval))
    return x + shift.astype(np.float32).reshape(3, 1, 1)


def random_erasing(x, rng, p, scale, ratio, value):
    """float32 (C, H, W); value a number, or None for standard normal noise."""
    if not rng.uniform() < p:
        return x
    C, H, W = x.shape
    for _ in range(10):
        area = H * W * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
        h = int(round(math.sqrt(area * aspect)))
        w = int(round(math.sqrt(area / aspect)))
        if not (h < H and w < W):
            continue
        i = rng.below(H - h + 1)
        j = rng.below(W - w + 1)
        x = x.copy()
        if value is None:
            x[:, i:i + h, j:j + w] = np.array([rng.normal() for _ in range(C * h * w)]).reshape(C, h, w)
        else:
            x[:, i:i + h, j:j + w] = value
        return x
    return x
