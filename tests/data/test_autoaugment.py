"""AutoAugment / RandAugment / TrivialAugmentWide, RandomPerspective, GaussianBlur, MixUp and CutMix.

Each image operation is checked at fixed magnitudes against Pillow, which is what torchvision.transforms.v2
computes for PIL images (ImageOps, ImageEnhance, Image.rotate, Image.transform); the random draws
against the Python re-implementation of the documented per-image stream (tests/reference/transforms.py),
their frequencies against the policies' distributions; the magnitude bins against torch.linspace where
torch is installed; MixUp/CutMix against NumPy with the drawn lambda and box."""

import math

import numpy as np
import pytest

import convnet as cn
import convnet.transforms as T
from convnet.data import DataLoader, default_collate
from reference import transforms as R

pytest.importorskip("PIL")

RNG = np.random.default_rng(16)
RGB = [RNG.integers(0, 256, (13, 17, 3), dtype=np.uint8) for _ in range(4)]
# a smooth image with a narrow range, where autocontrast and equalize have work to do
_yy, _xx = np.mgrid[0:13, 0:17]
SMOOTH = np.stack([60 + 3 * _yy + 2 * _xx, 90 + 4 * _xx, 120 - 2 * _yy], -1).astype(np.uint8)
GREY = RNG.integers(0, 256, (16, 16, 1), dtype=np.uint8)
SEED = 77

OPS = ["Identity", "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Brightness", "Color", "Contrast",
       "Sharpness", "Posterize", "Solarize", "AutoContrast", "Equalize", "Invert"]
MAGNITUDES = {"ShearX": [0.3, -0.17, 0.99], "ShearY": [0.3, -0.21], "TranslateX": [5.0, -7.9, 32.0],
              "TranslateY": [3.0, -4.0], "Rotate": [30.0, -13.5, 90.0, 180.0, 135.0], "Brightness": [0.9, -0.5, 0.33],
              "Color": [0.9, -0.6, 0.33], "Contrast": [0.9, -0.66, 0.3], "Sharpness": [0.9, -0.9, 0.5],
              "Posterize": [4.0, 6.0, 2.0], "Solarize": [0.5, 0.0, 1.0, 0.2333], "AutoContrast": [0.0],
              "Equalize": [0.0], "Invert": [0.0], "Identity": [0.0]}


GEOMETRIC = ("ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate")


def _cases():
    for op in OPS:
        for m in MAGNITUDES[op]:
            for interpolation in ("nearest", "bilinear") if op in GEOMETRIC else ("nearest",):
                yield op, m, interpolation


@pytest.mark.parametrize("op,m,interpolation", list(_cases()))
def test_each_operation_equals_pil(op, m, interpolation):
    """Nearest sampling and the colour operations equal Pillow exactly, on RGB and grey images."""
    geometric = op in GEOMETRIC
    for img in RGB[:2] + [SMOOTH, GREY]:
        ours = T._tf.augment_op(img, op, m, interpolation, [])
        ref = R.pil_op(img, op, m, interpolation)
        assert ours.shape == img.shape and ours.dtype == np.uint8
        diff = np.abs(ours.astype(int) - ref.astype(int))
        if geometric and interpolation == "bilinear":
            # a blend that lands within rounding error of an integer may truncate to the other side
            assert diff.max() <= 1 and (diff == 0).mean() >= 0.99, f"{op}({m}): {(diff == 0).mean():.3f} exact"
        else:
            np.testing.assert_array_equal(ours, ref, err_msg=f"{op}({m})")


def test_operations_name_the_layout_they_need():
    with pytest.raises(ValueError, match="uint8"):
        T._tf.augment_op(np.zeros((3, 8, 8), np.float32), "Equalize", 0.0)
    with pytest.raises(ValueError, match="before ToTensor"):
        T.TrivialAugmentWide().apply_batch([np.zeros((3, 8, 8), np.float32)], 1)
    with pytest.raises(ValueError, match="magnitude must be in"):
        T.RandAugment(magnitude=31)
    with pytest.raises(ValueError, match="not recognized"):
        T.AutoAugment("mnist")


def test_magnitude_bins_equal_torch_linspace():
    torch = pytest.importorskip("torch")
    for n in (10, 31, 7):
        for end in (0.3, 0.99, 32.0, 135.0, 150.0 / 331.0 * 17):
            np.testing.assert_array_equal(R.linspace32(0.0, end, n), torch.linspace(0.0, end, n).numpy())
        np.testing.assert_array_equal(R.linspace32(1.0, 0.0, n), torch.linspace(1.0, 0.0, n).numpy())
        for div in (4, 6):
            ref = (8 - (torch.arange(n) / ((n - 1) / div))).round().int().numpy()
            np.testing.assert_array_equal(R.magnitude_bins("Posterize", n, 1, 1, div == 6), ref)


POLICY_TRANSFORMS = {
    "imagenet": lambda: T.AutoAugment(T.AutoAugmentPolicy.IMAGENET),
    "cifar10": lambda: T.AutoAugment(T.AutoAugmentPolicy.CIFAR10),
    "svhn": lambda: T.AutoAugment(T.AutoAugmentPolicy.SVHN),
    "randaugment": lambda: T.RandAugment(num_ops=3, magnitude=12, num_magnitude_bins=17),
    "trivialaugmentwide": lambda: T.TrivialAugmentWide(),
}
POLICY_ARGS = {"randaugment": dict(num_ops=3, magnitude=12, bins=17)}


@pytest.mark.parametrize("policy", list(POLICY_TRANSFORMS))
def test_draws_follow_the_documented_stream(policy):
    t = POLICY_TRANSFORMS[policy]()
    for seed in range(300):
        ours = t.draw(seed, (13, 17))
        ref = R.draw_policy(R.Rng(seed), policy, 13, 17, **POLICY_ARGS.get(policy, {}))
        assert [op for op, _ in ours] == [op for op, _ in ref], seed
        np.testing.assert_array_equal([m for _, m in ours], [m for _, m in ref])


@pytest.mark.parametrize("policy", list(POLICY_TRANSFORMS))
def test_batch_equals_the_drawn_operations_applied_one_by_one(policy):
    """Each image of a batch (split over the threads) gets the ops its own generator draws, and
    the result equals Pillow applying them in turn; the same seed gives the same batch."""
    t = POLICY_TRANSFORMS[policy]()
    images = [RGB[k % 4] for k in range(16)]
    out = t.apply_batch(images, SEED)
    np.testing.assert_array_equal(out, t.apply_batch(images, SEED, parallel=False))
    np.testing.assert_array_equal(out, t.apply_batch(images, SEED))
    for k, img in enumerate(images):
        ref = img
        for op, m in R.draw_policy(R.image_rng(SEED, k), policy, 13, 17, **POLICY_ARGS.get(policy, {})):
            ref = R.pil_op(ref, op, m)
        np.testing.assert_array_equal(out[k], ref, err_msg=f"image {k}")


def _chi2(counts, expected):
    counts, expected = np.asarray(counts, float), np.asarray(expected, float)
    return float(((counts - expected) ** 2 / expected).sum())


def test_trivialaugment_frequencies():
    """Over 14,000 draws: ops uniform over 14, bins uniform over 31, signs even; every bin's magnitude
    is torchvision's. Chi-square statistics with a fixed seed against bounds far in the tails
    (p < 1e-4)."""
    t = T.TrivialAugmentWide()
    n = 14000
    draws = [t.draw(s, (32, 32))[0] for s in range(n)]
    ops = [op for op, _ in draws]
    assert _chi2([ops.count(op) for op in R.RAND_OPS], [n / 14] * 14) < 45  # 13 dof
    bin_counts, signs = np.zeros(31), []
    for op, m in draws:
        mags = R.magnitude_bins(op, 31, 32, 32, True)
        if mags is None:
            assert m == 0
            continue
        matches = np.flatnonzero(np.asarray(mags, float) == abs(m))
        assert len(matches) >= 1, (op, m)
        if op != "Posterize":  # its bins share values
            bin_counts[matches[0]] += 1
        if op not in ("Posterize", "Solarize") and m != 0:
            signs.append(m > 0)
    assert len({abs(m) for op, m in draws if op == "Rotate"}) == 31
    assert len({m for op, m in draws if op == "Posterize"}) == 7
    assert _chi2(bin_counts, [bin_counts.sum() / 31] * 31) < 70  # 30 dof
    assert abs(np.mean(signs) - 0.5) < 4 * 0.5 / math.sqrt(len(signs))


@pytest.mark.parametrize("policy", ["imagenet", "cifar10", "svhn"])
def test_autoaugment_op_frequencies_match_the_policy(policy):
    """The expected number of times each op is applied per image is sum over sub-policies of
    probability / 25: chi-square over the op counts of 10,000 draws."""
    t = POLICY_TRANSFORMS[policy]()
    n = 10000
    counts, expected = {}, {}
    for sub in R.POLICIES[policy]:
        for op, p, _ in sub:
            expected[op] = expected.get(op, 0.0) + n * p / 25
    for s in range(n):
        for op, _ in t.draw(s, (32, 32)):
            counts[op] = counts.get(op, 0) + 1
    assert set(counts) <= set(expected)
    names = sorted(expected)
    assert _chi2([counts.get(k, 0) for k in names], [expected[k] for k in names]) < 4 * len(names) + 30


def test_random_perspective_equals_pil():
    for interpolation in ("bilinear", "nearest"):
        t = T.RandomPerspective(0.6, p=0.7, interpolation=interpolation, fill=9)
        images = [RGB[k % 4] for k in range(12)] + [GREY]
        out = [t.apply_batch([img], SEED, first=k)[0] for k, img in enumerate(images)]
        warped = 0
        for k, img in enumerate(images):
            ref = R.random_perspective(img, R.image_rng(SEED, k), 0.6, 0.7, interpolation, 9)
            warped += ref is not img
            diff = np.abs(out[k].reshape(img.shape).astype(int) - ref.astype(int))
            if interpolation == "nearest":
                assert (diff == 0).mean() >= 0.99, f"image {k}: {(diff == 0).mean():.3f} equal"
            else:
                assert diff.max() <= 1 and (diff == 0).mean() >= 0.98, f"image {k}: {(diff == 0).mean():.3f} equal"
        assert 0 < warped < len(images)
    # the float32 layout samples the same pixels
    t = T.RandomPerspective(0.5, p=1.0, interpolation="nearest")
    as_uint8 = T.Compose([t, T.ToTensor()]).apply_batch(RGB, SEED)
    as_float = T.Compose([T.ToTensor(), t]).apply_batch(RGB, SEED)
    np.testing.assert_array_equal(as_uint8, as_float)


@pytest.mark.parametrize("kernel_size,sigma", [(3, (0.1, 2.0)), ((5, 3), 1.3), (7, (0.5, 0.8))])
def test_gaussian_blur_equals_numpy_separable_convolution(kernel_size, sigma):
    t = T.GaussianBlur(kernel_size, sigma)
    kx, ky = t.kernel_size
    x = RNG.random((3, 11, 9), dtype=np.float32)
    images = [RGB[0], SMOOTH]
    out_u8 = t.apply_batch(images, SEED)
    out_f = t.apply_batch([x, x], SEED)
    for k in range(2):
        s = R.image_rng(SEED, k).uniform(*t.sigma)
        ref = R.gaussian_blur(images[k].transpose(2, 0, 1), kx, ky, s).transpose(1, 2, 0)
        diff = np.abs(out_u8[k].astype(int) - np.round(ref).astype(int))
        assert diff.max() <= 1 and (diff == 0).mean() >= 0.97
        np.testing.assert_allclose(out_f[k], R.gaussian_blur(x, kx, ky, s), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="odd"):
        T.GaussianBlur(4)
    with pytest.raises(ValueError, match="reflect padding"):
        T.GaussianBlur(9)(np.zeros((3, 3, 3), np.uint8))


def test_random_erasing_variants():
    x = RNG.random((3, 20, 20), dtype=np.float32)
    for value, expect in ((0, None), ((0.1, 0.2, 0.3), None), ("random", None)):
        t = T.RandomErasing(p=1.0, scale=(0.1, 0.2), ratio=(0.5, 2.0), value=value)
        out = t.apply_batch([x] * 4, SEED)
        for k in range(4):
            ref = R.random_erasing(x, R.image_rng(SEED, k), 1.0, (0.1, 0.2), (0.5, 2.0),
                                   None if value == "random" else np.asarray(value, np.float32).reshape(-1, 1, 1))
            np.testing.assert_allclose(out[k], ref, atol=1e-6)
            assert (out[k] != x).any()


# ---- MixUp, CutMix ----------------------------------------------------------------------------------

def _np_onehot(y, k):
    return np.eye(k, dtype=np.float32)[y]


@pytest.mark.parametrize("alpha", [1.0, 0.2, 2.5])
def test_mixup_equals_numpy_with_the_drawn_lambda(alpha):
    x = RNG.random((6, 3, 5, 4), dtype=np.float32)
    y = np.array([0, 3, 1, 1, 4, 2])
    mix = T.MixUp(alpha=alpha, num_classes=5)
    cn.manual_seed(3)
    params = mix.make_params(cn.from_numpy(x))
    cn.manual_seed(3)
    seed = cn._core._draw_seed()
    assert params["lam"] == pytest.approx(R.mix_params(seed, alpha, False)["lam"], rel=1e-12)
    cn.manual_seed(3)
    images, targets = mix(x, y)
    lam = params["lam"]
    ref_x = np.roll(x, 1, 0) * np.float32(1 - lam) + x * np.float32(lam)
    ref_t = np.roll(_np_onehot(y, 5), 1, 0) * np.float32(1 - lam) + _np_onehot(y, 5) * np.float32(lam)
    np.testing.assert_allclose(images.numpy(), ref_x, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(targets.numpy(), ref_t, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(targets.numpy().sum(1), 1.0, rtol=1e-6)
    assert targets.dtype == cn.float32 and targets.shape == (6, 5)


def test_cutmix_equals_numpy_with_the_drawn_box():
    x = RNG.random((5, 2, 12, 10), dtype=np.float32)
    y = np.array([1, 0, 2, 2, 1])
    soft = _np_onehot(y, 3) * 0.8 + 0.2 / 3
    cut = T.CutMix(alpha=1.0, num_classes=3)
    seen = set()
    for s in range(20):
        cn.manual_seed(s)
        p = cut.make_params(cn.from_numpy(x))
        cn.manual_seed(s)
        ref_p = R.mix_params(cn._core._draw_seed(), 1.0, True, 12, 10)
        assert p["box"] == ref_p["box"] and p["lam_adjusted"] == pytest.approx(ref_p["lam_adjusted"], rel=1e-12)
        for labels, onehot in ((y, _np_onehot(y, 3)), (soft, soft)):
            cn.manual_seed(s)
            images, targets = cut((cn.from_numpy(x), cn.from_numpy(labels)))
            x1, y1, x2, y2 = p["box"]
            ref = x.copy()
            ref[..., y1:y2, x1:x2] = np.roll(x, 1, 0)[..., y1:y2, x1:x2]
            np.testing.assert_array_equal(images.numpy(), ref)
            lam = p["lam_adjusted"]
            assert lam == pytest.approx(1 - (x2 - x1) * (y2 - y1) / 120)
            ref_t = np.roll(onehot, 1, 0) * (1 - lam) + onehot * lam
            np.testing.assert_allclose(targets.numpy(), ref_t, rtol=1e-6, atol=1e-7)
            np.testing.assert_allclose(targets.numpy().sum(1), 1.0, rtol=1e-6)
        seen.add((x2 - x1) * (y2 - y1))
    assert len(seen) > 5  # boxes of many sizes, some clipped at the border


def test_mixing_errors():
    x = np.zeros((4, 3, 8, 8), np.float32)
    with pytest.raises(ValueError, match="num_classes"):
        T.MixUp()(x, np.arange(4))
    with pytest.raises(ValueError, match="outside"):
        T.MixUp(num_classes=3)(x, np.arange(4))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        T.CutMix(num_classes=4)(np.zeros((4, 8, 8, 3), np.uint8), np.arange(4))
    with pytest.raises(ValueError, match="alpha"):
        T.MixUp(alpha=0.0)


# ---- the DataLoader's collate_fn and worker_init_fn ------------------------------------------------------

def test_default_collate_like_torch():
    batch = [(np.ones((2, 3), np.float32) * i, i, 0.5 * i, {"a": np.int32(i)}) for i in range(4)]
    out = default_collate(batch)
    assert isinstance(out, list) and len(out) == 4
    assert out[0].shape == (4, 2, 3) and out[0].dtype == cn.float32
    assert out[1].dtype == cn.int64 and out[1].numpy().tolist() == [0, 1, 2, 3]
    assert out[2].dtype == cn.float64
    assert out[3]["a"].dtype == cn.int64
    pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate
    theirs = torch_collate(batch)
    for a, b in zip(out[:3], theirs[:3]):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("num_workers", [0, 2])
def test_collate_fn_with_cutmix_through_the_loader(num_workers):
    """The torch idiom: collate_fn=lambda batch: cutmix(*default_collate(batch)); the transform still
    runs over the batch in C++, the collate_fn sees the transformed samples, and the result does not
    depend on num_workers."""
    data = RNG.integers(0, 256, (20, 8, 8, 3), dtype=np.uint8)
    labels = np.arange(20) % 4
    ds = cn.data.TensorDataset(data, labels)
    cut = T.CutMix(num_classes=4)
    tf = T.Compose([T.TrivialAugmentWide(), T.ToTensor()])
    calls = []
    loader = DataLoader(ds, batch_size=8, transform=tf, seed=5, num_workers=num_workers,
                        collate_fn=lambda batch: cut(*default_collate(batch)),
                        worker_init_fn=calls.append)
    cn.manual_seed(0)
    batches = [(x.numpy(), t.numpy()) for x, t in loader]
    assert [b[0].shape for b in batches] == [(8, 3, 8, 8), (8, 3, 8, 8), (4, 3, 8, 8)]
    assert all(b[1].shape[1] == 4 and np.allclose(b[1].sum(1), 1) for b in batches)
    assert calls == list(range(num_workers))
    plain = DataLoader(ds, batch_size=8, transform=tf, seed=5)
    cn.manual_seed(0)
    for (x, t), (px, py) in zip(batches, plain):
        p = cut.make_params(px)
        x1, y1, x2, y2 = p["box"]
        ref = px.numpy().copy()
        ref[..., y1:y2, x1:x2] = np.roll(px.numpy(), 1, 0)[..., y1:y2, x1:x2]
        np.testing.assert_array_equal(x, ref)


def test_collate_fn_on_a_python_dataset_and_with_load():
    class Items:
        def __len__(self):
            return 6

        def __getitem__(self, i):
            return np.full((2, 2), i, np.float32), {"label": i}

    out = list(DataLoader(Items(), batch_size=4, collate_fn=lambda b: b))
    assert [len(b) for b in out] == [4, 2] and out[1][0][1] == {"label": 4}
    got = list(DataLoader(Items(), batch_size=3, collate_fn=default_collate))
    assert got[0][0].shape == (3, 2, 2) and got[1][1]["label"].numpy().tolist() == [3, 4, 5]

    class Loaded(Items):
        transform = None

        def load(self, i):
            return np.full((4, 4, 3), 10 * i, np.uint8), i

    ids = []
    for workers in (0, 2):
        ids.clear()
        b = list(DataLoader(Loaded(), batch_size=2, num_workers=workers, collate_fn=default_collate,
                            worker_init_fn=ids.append))
        assert b[2][0].shape == (2, 3, 4, 4) and b[2][1].numpy().tolist() == [4, 5]
        assert ids == list(range(workers))
