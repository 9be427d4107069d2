"""convnet.transforms against the NumPy references in tests/reference/transforms.py on fixed seeds:
the references re-implement the documented per-image random stream (xoshiro256** through splitmix64)
in Python, so each random transform is checked draw for draw. Flips, crops, padding, ToTensor and
Normalize are exact; resampling and colour are within one grey level; PyTorch checks resizing where
installed."""

import math

import numpy as np
import pytest

import convnet as cn
import convnet.transforms as T
from reference import transforms as R

RNG = np.random.default_rng(0)
IMAGES = [RNG.integers(0, 256, (9, 11, 3), dtype=np.uint8) for _ in range(6)]
SEED = 1234


def _batch(t, images=IMAGES, seed=SEED, parallel=True):
    return t.apply_batch(images, seed, parallel=parallel)


def test_random_stream_matches_the_python_generator():
    """image_seed and the generator: the reference's first draws equal the library's (via a crop)."""
    assert T.image_seed(7, 3) == R.splitmix((7 + 3) & R.M64)[1]
    img = np.arange(40 * 40, dtype=np.uint8).reshape(40, 40, 1)
    out = T.RandomCrop(1).apply_batch([img] * 5, 99)
    for k in range(5):
        rng = R.image_rng(99, k)
        i, j = rng.below(40), rng.below(40)
        assert out[k, 0, 0, 0] == img[i, j, 0]


def test_to_tensor_and_normalize_exact():
    mean, std = (0.49, 0.48, 0.45), (0.25, 0.24, 0.26)
    out = _batch(T.Compose([T.ToTensor(), T.Normalize(mean, std)]))
    assert out.dtype == np.float32 and out.shape == (6, 3, 9, 11)
    for k, img in enumerate(IMAGES):
        np.testing.assert_array_equal(out[k], R.normalize(R.to_tensor(img), mean, std))
    grey = IMAGES[0][..., 0]
    np.testing.assert_array_equal(T.ToTensor()(grey), grey[None].astype(np.float32) / np.float32(255))


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_random_crop_with_padding_exact(mode):
    t = T.RandomCrop(8, padding=3, padding_mode=mode, fill=17)
    out = _batch(t)
    for k, img in enumerate(IMAGES):
        np.testing.assert_array_equal(out[k], R.random_crop(img, R.image_rng(SEED, k), 8, 8, 3, mode, 17))


def test_cifar_recipe_exact_and_parallel_equals_serial():
    t = T.Compose([T.RandomCrop(8, padding=2), T.RandomHorizontalFlip(), T.ToTensor(),
                   T.Normalize((0.5, 0.4, 0.3), (0.2, 0.3, 0.25))])
    imgs = IMAGES * 4
    out = _batch(t, imgs)
    np.testing.assert_array_equal(out, _batch(t, imgs, parallel=False))
    flips = 0
    for k, img in enumerate(imgs):
        rng = R.image_rng(SEED, k)
        a = R.random_crop(img, rng, 8, 8, 2)
        b = R.random_flip(a, rng)
        flips += b is not a
        np.testing.assert_array_equal(out[k], R.normalize(R.to_tensor(b), (0.5, 0.4, 0.3), (0.2, 0.3, 0.25)))
    assert 0 < flips < len(imgs)


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("mode", ["constant", "reflect"])
def test_crops_and_flips_on_float_images_equal_the_uint8_path(channels, mode):
    """The remap kernel's planar (float32) and interleaved (uint8) copies, fills and mirrored runs,
    for the channel counts it specializes (1, 3) and the general one (4)."""
    imgs = [RNG.integers(0, 256, (9, 11, channels), dtype=np.uint8) for _ in range(8)]

    def geo(fill):
        return [T.RandomCrop(8, padding=(3, 1, 0, 2), padding_mode=mode, fill=fill), T.RandomHorizontalFlip(),
                T.RandomVerticalFlip()]

    as_uint8 = _batch(T.Compose(geo(17) + [T.ToTensor()]), imgs)
    as_float = _batch(T.Compose([T.ToTensor()] + geo(17 / 255)), imgs)
    np.testing.assert_array_equal(as_uint8, as_float)


@pytest.mark.parametrize("vertical", [False, True])
def test_flips_exact(vertical):
    t = T.RandomVerticalFlip(0.5) if vertical else T.RandomHorizontalFlip(0.5)
    out = _batch(t)
    for k, img in enumerate(IMAGES):
        np.testing.assert_array_equal(out[k], R.random_flip(img, R.image_rng(SEED, k), 0.5, vertical))
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(IMAGES[0]), IMAGES[0][:, ::-1])
    np.testing.assert_array_equal(T.RandomVerticalFlip(0.0)(IMAGES[0]), IMAGES[0])


@pytest.mark.parametrize("size", [(5, 7), (9, 11), (4, 4), (12, 13)])
def test_center_crop_exact(size):
    img = IMAGES[1]
    out = T.CenterCrop(size)(img)
    if size[0] <= 9 and size[1] <= 11:
        np.testing.assert_array_equal(out, R.center_crop(img, *size))
    else:   # larger than the image: zero padding, the image at the rounded-down centre offset
        top, left = (size[0] - 9) // 2, (size[1] - 11) // 2
        expected = np.zeros(size + (3,), np.uint8)
        expected[top:top + 9, left:left + 11] = img
        np.testing.assert_array_equal(out, expected)


def test_ten_crop_exact():
    out = T.TenCrop((5, 6))(IMAGES[2])
    np.testing.assert_array_equal(out, R.ten_crop(IMAGES[2], 5, 6))
    batch = _batch(T.Compose([T.TenCrop(4), T.ToTensor()]))
    assert batch.shape == (6, 10, 3, 4, 4)
    np.testing.assert_array_equal(batch[3, 7], R.to_tensor(R.ten_crop(IMAGES[3], 4, 4)[7]))


def _close_uint8(out, ref, exact_fraction=0.97):
    """Within one grey level, and mostly exact (the library may fuse multiply-adds, which moves a
    value that lies within rounding error of .5 to the other side)."""
    diff = np.abs(out.astype(int) - ref.astype(int))
    assert diff.max() <= 1, f"max difference {diff.max()} grey levels"
    assert (diff == 0).mean() >= exact_fraction, f"only {(diff == 0).mean():.3f} of the values are exact"


@pytest.mark.parametrize("size,expected", [(5, (5, 6)), (20, (20, 24)), ((7, 3), (7, 3)), ((18, 22), (18, 22))])
def test_resize_bilinear(size, expected):
    img = IMAGES[0]
    out = T.Resize(size)(img)
    assert out.shape == expected + (3,)
    _close_uint8(out, R.resize_bilinear(img, *expected))


def test_resize_against_pytorch():
    torch = pytest.importorskip("torch")
    x = RNG.random((3, 13, 17), dtype=np.float32)
    for size in [(6, 8), (29, 31)]:
        ours = T.Resize(size)(x)
        theirs = torch.nn.functional.interpolate(torch.from_numpy(x)[None], size=size, mode="bilinear",
                                                 align_corners=False, antialias=False)[0].numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
        ours = T.Resize(size, interpolation="nearest")(x)
        theirs = torch.nn.functional.interpolate(torch.from_numpy(x)[None], size=size, mode="nearest")[0].numpy()
        np.testing.assert_array_equal(ours, theirs)


def test_random_resized_crop():
    imgs = [RNG.integers(0, 256, (24, 30, 3), dtype=np.uint8) for _ in range(5)]
    out = _batch(T.RandomResizedCrop(10), imgs)
    assert out.shape == (5, 10, 10, 3)
    for k, img in enumerate(imgs):
        _close_uint8(out[k], R.random_resized_crop(img, R.image_rng(SEED, k), 10))


def test_alexnet_recipe():
    """Shorter side to 32, random 28 crop, flip, ToTensor, PCA lighting (the 256/224 recipe, scaled)."""
    imgs = [RNG.integers(0, 256, (40, 48, 3), dtype=np.uint8) for _ in range(3)]
    t = T.Compose([T.Resize(32), T.RandomCrop(28), T.RandomHorizontalFlip(), T.ToTensor(), T.Lighting(0.1)])
    out = _batch(t, imgs)
    for k, img in enumerate(imgs):
        rng = R.image_rng(SEED, k)
        a = R.random_flip(R.random_crop(R.resize_bilinear(img, 32, 38), rng, 28, 28), rng)
        ref = R.lighting(R.to_tensor(a), rng, 0.1, T.IMAGENET_EIGVAL, T.IMAGENET_EIGVEC)
        np.testing.assert_allclose(out[k], ref, atol=1.5 / 255 + 1e-6)
        assert np.abs(out[k] - ref).mean() < 1e-3


def test_random_affine_matches_reference():
    img = RNG.integers(0, 256, (28, 28), dtype=np.uint8)
    t = T.RandomAffine(degrees=15, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=(-10, 10, -5, 5), fill=3)
    out = t.apply_batch([img] * 8, SEED)
    drawn = []
    for k in range(8):
        ref, params = R.random_affine(img[..., None], R.image_rng(SEED, k), (-15, 15), (0.1, 0.1), (0.9, 1.1),
                                      (-10, 10, -5, 5), fill=3)
        drawn.append(params)
        assert (out[k] == ref).mean() > 0.995
    assert len({p[0] for p in drawn}) == 8 and any(p[1] != 0 for p in drawn)


def test_rotation_by_90_degrees_is_rot90():
    img = RNG.integers(0, 256, (7, 7, 3), dtype=np.uint8)
    np.testing.assert_array_equal(T.RandomRotation((90, 90))(img), np.rot90(img))
    np.testing.assert_array_equal(T.RandomRotation((-90, -90))(img), np.rot90(img, -1))
    np.testing.assert_array_equal(T.RandomAffine(0)(img), img)


def test_affine_translation_moves_content_and_fills():
    img = np.zeros((5, 5), np.uint8)
    img[2, 2] = 200
    t = T.RandomAffine(0, translate=(0.4, 0.4), fill=9)
    outs = t.apply_batch([img] * 20, SEED)
    for k, out in enumerate(outs):
        rng = R.image_rng(SEED, k)
        rng.uniform(0, 0)
        tx, ty = round(rng.uniform(-2, 2)), round(rng.uniform(-2, 2))
        assert out[..., 0][2 + ty, 2 + tx] == 200
        assert (out == 9).sum() == 5 * abs(tx) + 5 * abs(ty) - abs(tx) * abs(ty)


def test_color_jitter_matches_colorsys_reference():
    imgs = [RNG.integers(0, 256, (5, 6, 3), dtype=np.uint8) for _ in range(6)]
    t = T.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
    out = _batch(t, imgs)
    for k, img in enumerate(imgs):
        ref = R.color_jitter(img, R.image_rng(SEED, k), (0.6, 1.4), (0.6, 1.4), (0.6, 1.4), (-0.1, 0.1))
        _close_uint8(out[k], ref, exact_fraction=0.95)


def test_grayscale():
    img = IMAGES[4]
    ref = np.floor(R.grey(img.astype(np.float64)) + 0.5).astype(np.uint8)
    np.testing.assert_array_equal(T.Grayscale()(img)[..., 0], ref)
    g3 = T.Grayscale(3)(img)
    assert g3.shape == (9, 11, 3) and all(np.array_equal(g3[..., c], ref) for c in range(3))
    np.testing.assert_array_equal(T.RandomGrayscale(1.0)(img), g3)


def test_random_erasing():
    x = [R.to_tensor(img) for img in IMAGES]
    for value in (0.5, "random"):
        out = _batch(T.RandomErasing(p=0.7, value=value), x)
        changed = 0
        for k in range(len(x)):
            ref = R.random_erasing(x[k], R.image_rng(SEED, k), 0.7, (0.02, 0.33), (0.3, 3.3),
                                   None if value == "random" else value)
            np.testing.assert_allclose(out[k], ref, rtol=1e-6, atol=1e-6)
            changed += not np.array_equal(ref, x[k])
        assert changed > 0


def test_seeded_calls_repeat_and_differ():
    t = T.Compose([T.RandomCrop(6, padding=2), T.RandomHorizontalFlip(), T.ColorJitter(0.3)])
    cn.manual_seed(5)
    a = [t(img) for img in IMAGES]
    cn.manual_seed(5)
    b = [t(img) for img in IMAGES]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, [t(img) for img in IMAGES]))


def test_compose_with_python_callables():
    t = T.Compose([T.CenterCrop(4), T.Lambda(lambda a: a[::-1].copy()), T.ToTensor()])
    assert not t.native
    np.testing.assert_array_equal(t(IMAGES[0]), R.to_tensor(R.center_crop(IMAGES[0], 4, 4)[::-1]))


def test_errors_name_the_transform_and_shape():
    with pytest.raises(ValueError, match=r"Normalize: expected a float32 \(C, H, W\) image .*uint8 \(9, 11, 3\)"):
        T.Normalize((0.5,), (0.2,))(IMAGES[0])
    with pytest.raises(ValueError, match=r"RandomCrop\(size=\(20, 20\)\).*uint8 \(9, 11, 3\).*pad_if_needed"):
        T.RandomCrop(20)(IMAGES[0])
    assert T.RandomCrop(20, pad_if_needed=True)(IMAGES[0]).shape == (20, 20, 3)
    with pytest.raises(ValueError, match=r"Lighting: expected an RGB image with 3 channels.*float32 \(1, 9, 11\)"):
        T.Compose([T.ToTensor(), T.Lighting()])(IMAGES[0][..., 0])
    with pytest.raises(ValueError, match="Normalize: mean and std"):
        T.Normalize((0.5, 0.5), (0.2,))
    with pytest.raises(ValueError, match="Normalize: std must not contain 0"):
        T.Normalize((0.5,), (0.0,))
    with pytest.raises(ValueError, match=r"expected an image as a uint8 array .*int64 \(3,\)"):
        T.ToTensor()(np.arange(3))
    with pytest.raises(ValueError, match=r"image 1 of the batch is float32 \(3, 4, 5\) after the transform but "
                                         r"image 0 is float32 \(3, 9, 11\); add Resize or a crop"):
        T.ToTensor().apply_batch([IMAGES[0], np.zeros((4, 5, 3), np.uint8)], 0)
    with pytest.raises(TypeError, match="RandomCrop: size"):
        T.RandomCrop("big")
    with pytest.raises(ValueError, match="ColorJitter: hue"):
        T.ColorJitter(hue=0.7)
    with pytest.raises(ValueError, match="RandomRotation: expand=True is not supported"):
        T.RandomRotation(10, expand=True)
    with pytest.raises(ValueError, match="RandomAffine: translate"):
        T.RandomAffine(0, translate=(2.0, 0.1))
    with pytest.raises(ValueError, match="TenCrop.*larger than the image"):
        T.TenCrop(10)(IMAGES[0])


def test_lighting_default_components_are_orthonormal():
    vec = np.array(T.IMAGENET_EIGVEC)
    np.testing.assert_allclose(vec.T @ vec, np.eye(3), atol=2e-3)
    assert math.isclose(sum(T.IMAGENET_EIGVAL), 0.2408)


def test_ten_crop_predictions_are_averaged_over_the_views():
    from convnet import nn
    cn.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 5))
    x = _batch(T.Compose([T.TenCrop(4), T.ToTensor()]))          # (6, 10, 3, 4, 4)
    per_view = cn.predict(model, x.reshape(60, 3, 4, 4)).reshape(6, 10, 5)
    np.testing.assert_allclose(cn.predict(model, x), per_view.mean(1), rtol=1e-5, atol=1e-6)
    y = per_view.mean(1).argmax(1)
    res = cn.evaluate(model, [(cn.from_numpy(x), cn.from_numpy(y.astype(np.int64)))])
    assert res["accuracy"] == 1.0
