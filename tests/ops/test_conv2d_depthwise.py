"""Depthwise conv2d (groups == in_channels, K = C * multiplier): forward, dx, dw and db against
PyTorch in float32 and float64 over one table of shapes, and bit-identical reruns."""

import numpy as np
import pytest

import convnet as cn
import convnet.functional as F

torch = pytest.importorskip("torch")

# (N, C, H, W, multiplier, kernel (R, S), stride, padding, dilation)
CASES = [
    (2, 3, 9, 9, 1, (3, 3), 1, 1, 1),
    (2, 3, 9, 9, 1, (3, 3), 2, 1, 1),
    (2, 3, 10, 10, 2, (3, 3), 1, 0, 1),
    (2, 3, 10, 11, 2, (3, 3), 2, 0, 1),
    (2, 4, 11, 11, 1, (5, 5), 1, 2, 1),
    (2, 4, 12, 12, 1, (5, 5), 2, 2, 1),
    (2, 2, 12, 12, 2, (5, 5), 1, 1, 1),
    (2, 3, 9, 9, 1, (3, 3), 1, 2, 2),
    (2, 3, 13, 13, 2, (3, 3), 2, 2, 2),
    (2, 2, 15, 15, 1, (5, 5), 2, 2, 2),
    (1, 5, 7, 7, 1, (3, 3), 1, 1, 1),
    (1, 5, 7, 7, 2, (3, 3), 2, 1, 1),
    (1, 3, 7, 7, 1, (5, 5), 1, 2, 1),
    (3, 4, 1, 1, 1, (3, 3), 1, 1, 1),
    (3, 4, 1, 1, 2, (3, 3), 2, 1, 1),
    (2, 3, 11, 7, 1, (2, 4), (2, 1), (1, 2), (1, 2)),  # taps not unrolled, mixed strides
    (2, 3, 8, 20, 1, (1, 3), (1, 3), (0, 1), 1),
    (2, 3, 6, 6, 1, (3, 3), 3, 1, 1),
    # MobileNetV2 (CIFAR: 32x32 input) depthwise layers, batch 2
    (2, 32, 32, 32, 1, (3, 3), 1, 1, 1),
    (2, 144, 32, 32, 1, (3, 3), 2, 1, 1),
    (2, 192, 16, 16, 1, (3, 3), 1, 1, 1),
    (2, 192, 16, 16, 1, (3, 3), 2, 1, 1),
    (2, 384, 8, 8, 1, (3, 3), 1, 1, 1),
    (2, 576, 8, 8, 1, (3, 3), 2, 1, 1),
    (2, 960, 4, 4, 1, (3, 3), 1, 1, 1),
]

IDS = ["N{}C{}{}x{}m{}k{}s{}p{}d{}".format(*c) for c in CASES]


def _inputs(case, seed=0):
    n, c, h, w, m, k, *_ = case
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, c, h, w)), rng.standard_normal((c * m, 1) + k),
            rng.standard_normal(c * m))


def _convnet(case, x, w, b, dtype, dy_seed=1):
    *_, stride, pad, dil = case
    ts = [cn.tensor(a.astype(dtype)).requires_grad_(True) for a in (x, w, b)]
    y = F.conv2d(*ts, stride=stride, padding=pad, dilation=dil, groups=x.shape[1])
    dy = np.random.default_rng(dy_seed).standard_normal(tuple(y.shape))
    y.backward(cn.tensor(dy.astype(dtype)))
    return [y.detach().numpy()] + [t.grad.numpy() for t in ts], dy


def _torch(case, x, w, b, dy):
    *_, stride, pad, dil = case
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (x, w, b)]
    y = torch.nn.functional.conv2d(*ts, stride=stride, padding=pad, dilation=dil, groups=x.shape[1])
    y.backward(torch.tensor(dy, dtype=torch.float64))
    return [y.detach().numpy()] + [t.grad.numpy() for t in ts]


@pytest.mark.parametrize("dtype,rtol", [(np.float32, 1e-5), (np.float64, 1e-10)])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_depthwise_vs_torch(case, dtype, rtol):
    x, w, b = _inputs(case)
    # the reference sees exactly the inputs convnet sees, computed in float64
    x, w, b = (a.astype(dtype).astype(np.float64) for a in (x, w, b))
    got, dy = _convnet(case, x, w, b, dtype)
    want = _torch(case, x, w, b, dy.astype(dtype).astype(np.float64))
    for name, g, t in zip(("y", "dx", "dw", "db"), got, want):
        assert g.shape == t.shape, f"depthwise {case}: {name} shape {g.shape}, expected {t.shape}"
        scale = max(float(np.abs(t).max()), 1e-3)
        err = float(np.abs(g.astype(np.float64) - t).max())
        assert err <= rtol * scale, (
            f"depthwise conv2d {case} ({np.dtype(dtype).name}): {name} max abs error {err:.3g} "
            f"> {rtol:g} x {scale:.3g}")


@pytest.mark.parametrize("case", [CASES[1], CASES[6], CASES[19]], ids=[IDS[1], IDS[6], IDS[19]])
def test_depthwise_bit_identical(case):
    """Reruns give the same bits, and so do other thread counts: every output and every (n,k)
    plane of dw is computed alone, and the planes are summed over n in order."""
    x, w, b = _inputs(case)
    threads = cn.get_num_threads()
    try:
        runs = []
        for t in (threads, threads, 1, 3):
            cn.set_num_threads(t)
            runs.append(_convnet(case, x, w, b, np.float32)[0])
    finally:
        cn.set_num_threads(threads)
    for run in runs[1:]:
        for name, a, b_ in zip(("y", "dx", "dw", "db"), runs[0], run):
            assert np.array_equal(a, b_), f"depthwise {case}: {name} differs between runs"
