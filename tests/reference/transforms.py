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


# ---- AutoAugment family: torchvision's PIL path -----------------------------------------------------
# torchvision.transforms.v2 applies these operations to a PIL image with PIL's ImageOps, ImageEnhance,
# Image.rotate and Image.transform; the functions below make the same PIL calls (Pillow is the
# reference, torchvision cannot be imported here).

RAND_OPS = ["Identity", "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Brightness", "Color",
            "Contrast", "Sharpness", "Posterize", "Solarize", "AutoContrast", "Equalize"]

# torchvision's AutoAugmentPolicy tables: "op probability bin" pairs, sub-policies separated by ";".
_POLICY_TEXT = {
    "imagenet": """Posterize .4 8, Rotate .6 9; Solarize .6 5, AutoContrast .6 -; Equalize .8 -, Equalize .6 -;
        Posterize .6 7, Posterize .6 6; Equalize .4 -, Solarize .2 4; Equalize .4 -, Rotate .8 8;
        Solarize .6 3, Equalize .6 -; Posterize .8 5, Equalize 1 -; Rotate .2 3, Solarize .6 8;
        Equalize .6 -, Posterize .4 6; Rotate .8 8, Color .4 0; Rotate .4 9, Equalize .6 -;
        Equalize 0 -, Equalize .8 -; Invert .6 -, Equalize 1 -; Color .6 4, Contrast 1 8;
        Rotate .8 8, Color 1 2; Color .8 8, Solarize .8 7; Sharpness .4 7, Invert .6 -;
        ShearX .6 5, Equalize 1 -; Color .4 0, Equalize .6 -; Equalize .4 -, Solarize .2 4;
        Solarize .6 5, AutoContrast .6 -; Invert .6 -, Equalize 1 -; Color .6 4, Contrast 1 8;
        Equalize .8 -, Equalize .6 -""",
    "cifar10": """Invert .1 -, Contrast .2 6; Rotate .7 2, TranslateX .3 9; Sharpness .8 1, Sharpness .9 3;
        ShearY .5 8, TranslateY .7 9; AutoContrast .5 -, Equalize .9 -; ShearY .2 7, Posterize .3 7;
        Color .4 3, Brightness .6 7; Sharpness .3 9, Brightness .7 9; Equalize .6 -, Equalize .5 -;
        Contrast .6 7, Sharpness .6 5; Color .7 7, TranslateX .5 8; Equalize .3 -, AutoContrast .4 -;
        TranslateY .4 3, Sharpness .2 6; Brightness .9 6, Color .2 8; Solarize .5 2, Invert 0 -;
        Equalize .2 -, AutoContrast .6 -; Equalize .2 -, Equalize .6 -; Color .9 9, Equalize .6 -;
        AutoContrast .8 -, Solarize .2 8; Brightness .1 3, Color .7 0; Solarize .4 5, AutoContrast .9 -;
        TranslateY .9 9, TranslateY .7 9; AutoContrast .9 -, Solarize .8 3; Equalize .8 -, Invert .1 -;
        TranslateY .7 9, AutoContrast .9 -""",
    "svhn": """ShearX .9 4, Invert .2 -; ShearY .9 8, Invert .7 -; Equalize .6 -, Solarize .6 6;
        Invert .9 -, Equalize .6 -; Equalize .6 -, Rotate .9 3; ShearX .9 4, AutoContrast .8 -;
        ShearY .9 8, Invert .4 -; ShearY .9 5, Solarize .2 6; Invert .9 -, AutoContrast .8 -;
        Equalize .6 -, Rotate .9 3; ShearX .9 4, Solarize .3 3; ShearY .8 8, Invert .7 -;
        Equalize .9 -, TranslateY .6 6; Invert .9 -, Equalize .6 -; Contrast .3 3, Rotate .8 4;
        Invert .8 -, TranslateY 0 2; ShearY .7 6, Solarize .4 8; Invert .6 -, Rotate .8 4;
        ShearY .3 7, TranslateX .9 3; ShearX .1 6, Invert .6 -; Solarize .7 2, TranslateY .6 7;
        ShearY .8 4, Invert .8 -; ShearX .7 9, TranslateY .8 3; ShearY .8 5, AutoContrast .7 -;
        ShearX .7 2, Invert .1 -""",
}
POLICIES = {name: [[(op, float(p), None if b == "-" else int(b)) for op, p, b in (x.split() for x in sub.split(","))]
                   for sub in text.split(";")] for name, text in _POLICY_TEXT.items()}


def linspace32(start, end, n):
    """torch.linspace(start, end, n) in float32: start + step * i up to half way, then
    end - step * (n - 1 - i), each rounded once to float32."""
    s, e = np.float32(start), np.float32(end)
    if n == 1:
        return np.array([s], np.float32)
    step = np.float64(np.float32((e - s) / np.float32(n - 1)))
    i = np.arange(n)
    lo = (np.float64(s) + step * i).astype(np.float32)
    hi = (np.float64(e) - step * (n - 1 - i)).astype(np.float32)
    return np.where(i < n // 2, lo, hi)


def magnitude_bins(op, n, h, w, wide):
    """torchvision's _AUGMENTATION_SPACE (TrivialAugmentWide's when `wide`); None without magnitudes."""
    if op in ("ShearX", "ShearY"):
        return linspace32(0, 0.99 if wide else 0.3, n)
    if op in ("TranslateX", "TranslateY"):
        side = w if op == "TranslateX" else h
        return linspace32(0, 32.0 if wide else 150.0 / 331.0 * side, n)
    if op == "Rotate":
        return linspace32(0, 135.0 if wide else 30.0, n)
    if op in ("Brightness", "Color", "Contrast", "Sharpness"):
        return linspace32(0, 0.99 if wide else 0.9, n)
    if op == "Posterize":
        q = np.arange(n).astype(np.float32) / np.float32((n - 1) / (6 if wide else 4))
        return np.round(np.float32(8) - q).astype(int)
    if op == "Solarize":
        return linspace32(1.0, 0.0, n)
    return None


def draw_policy(rng, policy, h, w, num_ops=2, magnitude=9, bins=31):
    """The (op, signed magnitude) list of one image, in the documented draw order."""
    out = []

    def add(op, wide, b, n):
        m = 0.0
        mags = magnitude_bins(op, n, h, w, wide) if b is not None else None
        if mags is not None:
            m = float(mags[b])
            if op not in ("Posterize", "Solarize") and rng.uniform() <= 0.5:
                m = -m
        out.append((op, m))

    if policy == "randaugment":
        for _ in range(num_ops):
            add(RAND_OPS[rng.below(14)], False, magnitude, bins)
    elif policy == "trivialaugmentwide":
        op = RAND_OPS[rng.below(14)]
        add(op, True, rng.below(bins) if magnitude_bins(op, bins, h, w, True) is not None else None, bins)
    else:
        for op, p, b in POLICIES[policy][rng.below(25)]:
            if rng.uniform() <= p:
                add(op, False, b, 10)
    return out


def inverse_affine(center, angle, translate, shear):
    """torchvision's _get_inverse_affine_matrix (scale 1), the coefficients PIL's AFFINE takes."""
    rot, sx, sy = math.radians(angle), math.radians(shear[0]), math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    a = math.cos(rot - sy) / math.cos(sy)
    b = -(a * math.tan(sx) + math.sin(rot))
    c = math.sin(rot - sy) / math.cos(sy)
    d = -c * math.tan(sx) + math.cos(rot)
    m = [d, -b, 0.0, -c, a, 0.0]
    m[2] += m[0] * (-(cx + tx)) + m[1] * (-(cy + ty)) + cx
    m[5] += m[3] * (-(cx + tx)) + m[4] * (-(cy + ty)) + cy
    return m


def _pil(img):
    from PIL import Image
    return Image.fromarray(np.ascontiguousarray(img[..., 0] if img.shape[2] == 1 else img))


def pil_op(img, op, m, interpolation="nearest", fill=0):
    """One operation with signed magnitude m on uint8 (H, W, C), as torchvision's PIL path."""
    from PIL import Image, ImageEnhance, ImageOps
    pil = _pil(img)
    W, H = pil.size
    resample = Image.NEAREST if interpolation == "nearest" else Image.BILINEAR
    fillcolor = fill if img.shape[2] == 1 else (fill,) * 3

    def affine(coeffs):
        return pil.transform((W, H), Image.AFFINE, coeffs, resample, fillcolor=fillcolor)

    shear = math.degrees(math.atan(m))
    out = {
        "Identity": lambda: pil,
        "ShearX": lambda: affine(inverse_affine((0, 0), 0, (0, 0), (shear, 0))),
        "ShearY": lambda: affine(inverse_affine((0, 0), 0, (0, 0), (0, shear))),
        "TranslateX": lambda: affine(inverse_affine((W * 0.5, H * 0.5), 0, (int(m), 0), (0, 0))),
        "TranslateY": lambda: affine(inverse_affine((W * 0.5, H * 0.5), 0, (0, int(m)), (0, 0))),
        "Rotate": lambda: pil.rotate(m, resample=resample, fillcolor=fillcolor),
        "Brightness": lambda: ImageEnhance.Brightness(pil).enhance(1.0 + m),
        "Color": lambda: ImageEnhance.Color(pil).enhance(1.0 + m),
        "Contrast": lambda: ImageEnhance.Contrast(pil).enhance(1.0 + m),
        "Sharpness": lambda: ImageEnhance.Sharpness(pil).enhance(1.0 + m),
        "Posterize": lambda: ImageOps.posterize(pil, int(m)),
        "Solarize": lambda: ImageOps.solarize(pil, 255.0 * m),
        "AutoContrast": lambda: ImageOps.autocontrast(pil),
        "Equalize": lambda: ImageOps.equalize(pil),
        "Invert": lambda: ImageOps.invert(pil),
    }[op]()
    return np.asarray(out).reshape(img.shape)


def perspective_coeffs(start, end):
    """torchvision's _get_perspective_coeffs: the 8 coefficients mapping `end` onto `start`, in float32."""
    a = np.zeros((8, 8))
    b = np.zeros(8)
    for i, ((x, y), (u, v)) in enumerate(zip(end, start)):
        a[2 * i] = [x, y, 1, 0, 0, 0, -u * x, -u * y]
        a[2 * i + 1] = [0, 0, 0, x, y, 1, -v * x, -v * y]
        b[2 * i], b[2 * i + 1] = u, v
    return np.linalg.solve(a, b).astype(np.float32).tolist()


def random_perspective(img, rng, distortion_scale=0.5, p=0.5, interpolation="bilinear", fill=0):
    """The documented draws, then PIL's Image.transform(PERSPECTIVE) (torchvision's PIL path)."""
    from PIL import Image
    if not rng.uniform() < p:
        return img
    H, W = img.shape[:2]
    bh, bw = int(distortion_scale * (H // 2)) + 1, int(distortion_scale * (W // 2)) + 1
    tl = [rng.below(bw), rng.below(bh)]
    tr = [W - bw + rng.below(bw), rng.below(bh)]
    br = [W - bw + rng.below(bw), H - bh + rng.below(bh)]
    bl = [rng.below(bw), H - bh + rng.below(bh)]
    coeffs = perspective_coeffs([[0, 0], [W - 1, 0], [W - 1, H - 1], [0, H - 1]], [tl, tr, br, bl])
    resample = Image.NEAREST if interpolation == "nearest" else Image.BILINEAR
    fillcolor = fill if img.shape[2] == 1 else (fill,) * 3
    out = _pil(img).transform((W, H), Image.PERSPECTIVE, coeffs, resample, fillcolor=fillcolor)
    return np.asarray(out).reshape(img.shape)


def gaussian_blur(x, kx, ky, sigma):
    """Separable convolution in float64 of float (C, H, W) with torchvision's kernel and reflect padding."""
    def kernel(k):
        t = np.linspace(-(k - 1) * 0.5, (k - 1) * 0.5, k)
        pdf = np.exp(-0.5 * (t / sigma) ** 2)
        return pdf / pdf.sum()

    p = np.pad(x.astype(np.float64), ((0, 0), (ky // 2, ky // 2), (kx // 2, kx // 2)), mode="reflect")
    wx, wy = kernel(kx), kernel(ky)
    H, W = x.shape[1:]
    rows = sum(wx[j] * p[:, :, j:j + W] for j in range(kx))
    return sum(wy[j] * rows[:, j:j + H, :] for j in range(ky))


def gamma(rng, a):
    """Marsaglia and Tsang's Gamma(a) in the documented draw order."""
    if a < 1:
        x = gamma(rng, a + 1)
        return x * (1.0 - rng.uniform()) ** (1.0 / a)
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x = rng.normal()
        t = 1.0 + c * x
        if t <= 0:
            continue
        v = t * t * t
        u = rng.uniform()
        if u < 1.0 - 0.0331 * x ** 4 or math.log(u) < 0.5 * x * x + d * (1.0 - v + math.log(v)):
            return d * v


def mix_params(seed, alpha, cutmix, h=0, w=0):
    """lam ~ Beta(alpha, alpha) (and CutMix's box and corrected lam) from the generator seeded with `seed`."""
    rng = Rng(seed)
    x, y = gamma(rng, alpha), gamma(rng, alpha)
    lam = x / (x + y)
    if not cutmix:
        return {"lam": lam}
    rx, ry = rng.below(w), rng.below(h)
    r = 0.5 * math.sqrt(1.0 - lam)
    rw, rh = int(r * w), int(r * h)
    box = (max(rx - rw, 0), max(ry - rh, 0), min(rx + rw, w), min(ry + rh, h))
    return {"box": box, "lam_adjusted": 1.0 - (box[2] - box[0]) * (box[3] - box[1]) / (w * h)}
