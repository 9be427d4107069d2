"""Pooling against PyTorch: NaN and inf in max-pooling windows (forward values and where the
gradient goes), and the shapes that run the vectorized row kernels (windows wholly inside the
input) beside the border outputs, for max, average and adaptive average pooling."""

import numpy as np
import pytest

import convnet as cn
import convnet.functional as F

torch = pytest.importorskip("torch")
tF = torch.nn.functional


def _both(fn_name, x, dy_seed, *args, **kwargs):
    """(convnet y, dx), (torch y, dx) of fn_name(x, *args) with one random upstream gradient."""
    xc = cn.tensor(x).requires_grad_(True)
    y = getattr(F, fn_name)(xc, *args, **kwargs)
    dy = np.random.default_rng(dy_seed).standard_normal(tuple(y.shape)).astype(x.dtype)
    y.backward(cn.tensor(dy))
    xt = torch.tensor(x, requires_grad=True)
    yt = getattr(tF, fn_name)(xt, *args, **kwargs)
    yt.backward(torch.tensor(dy))
    return (y.detach().numpy(), xc.grad.numpy()), (yt.detach().numpy(), xt.grad.numpy())


# (kernel, stride, padding, dilation, ceil_mode)
MAX_WINDOWS = [(2, 2, 0, 1, False), (3, 2, 1, 1, False), (3, 1, 1, 1, False), (3, 2, 0, 1, True),
               (2, 1, 0, 2, False), ((3, 2), (2, 1), (1, 0), 1, False)]


# plane sizes: odd (every window through the general kernel) and even (2x2 stride-2 windows that
# tile the plane take their own kernel: output rows shorter than a vector in one flat run, longer
# ones row by row)
SIZES = [(11, 12), (10, 12), (6, 36)]


@pytest.mark.parametrize("size", SIZES, ids=str)
@pytest.mark.parametrize("window", MAX_WINDOWS, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_nan_inf(window, dtype, size):
    k, st, pad, dil, ceil = window
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, *size)).astype(dtype)
    flat = x.reshape(-1)
    # NaNs (some two in a window), +inf, -inf, and a plane that is all -inf
    for i in rng.choice(flat.size, 20, replace=False):
        flat[i] = np.nan
    flat[rng.choice(flat.size, 10, replace=False)] = np.inf
    flat[rng.choice(flat.size, 10, replace=False)] = -np.inf
    x[1, 2] = -np.inf
    x[0, 1, 4, 4:7] = np.nan  # neighbouring NaNs: the last in window order gets the gradient
    got, want = _both("max_pool2d", x, 1, k, st, pad, dil, ceil)
    name = f"max_pool2d(kernel={k}, stride={st}, padding={pad}, dilation={dil}, ceil_mode={ceil})"
    assert np.array_equal(got[0], want[0], equal_nan=True), f"{name}: forward differs with NaN/inf"
    assert np.array_equal(got[1], want[1]), f"{name}: gradient goes elsewhere than PyTorch's"
    values = F.max_pool2d(cn.tensor(x), k, st, pad, dil, ceil).numpy()  # no argmax kept: values only
    assert np.array_equal(values, want[0], equal_nan=True), f"{name}: forward without grad differs with NaN/inf"


@pytest.mark.parametrize("size", SIZES, ids=str)
@pytest.mark.parametrize("window", MAX_WINDOWS, ids=str)
def test_max_pool_ties(window, size):
    """Equal values in a window: the first maximum in window order gets the gradient, as PyTorch's."""
    k, st, pad, dil, ceil = window
    x = np.random.default_rng(3).integers(0, 3, (2, 3, *size)).astype(np.float32)
    got, want = _both("max_pool2d", x, 2, k, st, pad, dil, ceil)
    name = f"max_pool2d(kernel={k}, stride={st}, padding={pad}, dilation={dil}, ceil_mode={ceil}) of {size}"
    assert np.array_equal(got[0], want[0]), f"{name}: forward differs with ties"
    assert np.array_equal(got[1], want[1]), f"{name}: gradient goes elsewhere than PyTorch's with ties"


# (op, input shape, args): windows that run the vectorized rows, with and without border columns
SHAPES = [
    ("max_pool2d", (2, 3, 32, 32), (2, 2)),
    ("max_pool2d", (2, 3, 33, 31), (3, 2, 1)),
    ("max_pool2d", (2, 3, 17, 40), (3, 1, 1)),
    ("max_pool2d", (1, 2, 7, 7), (3, 2, 1)),
    ("max_pool2d", (1, 2, 2, 2), (2, 2)),
    ("avg_pool2d", (2, 3, 32, 32), (2, 2)),
    ("avg_pool2d", (2, 3, 33, 31), (3, 2, 1)),
    ("avg_pool2d", (2, 3, 17, 40), (3, 1, 1)),
    ("avg_pool2d", (2, 3, 16, 19), (3, 2, 1, True, False)),  # ceil_mode, count_include_pad False
    ("avg_pool2d", (2, 3, 9, 9), (3, 1, 1, False, False)),
    ("avg_pool2d", (1, 2, 12, 12), ((3, 2), (1, 2), (1, 1))),
    ("adaptive_avg_pool2d", (2, 5, 4, 4), (1,)),
    ("adaptive_avg_pool2d", (2, 5, 7, 9), (1,)),
    ("adaptive_avg_pool2d", (2, 5, 37, 21), (1,)),
    ("adaptive_avg_pool2d", (2, 5, 9, 9), (4,)),
]


@pytest.mark.parametrize("case", SHAPES, ids=lambda c: f"{c[0]}{c[1]}{c[2]}")
@pytest.mark.parametrize("dtype,rtol", [(np.float32, 1e-6), (np.float64, 1e-12)])
def test_pool_vs_torch(case, dtype, rtol):
    op, shape, args = case
    x = np.random.default_rng(2).standard_normal(shape).astype(dtype)
    got, want = _both(op, x, 3, *args)
    for what, g, t in zip(("forward", "dx"), got, want):
        assert g.shape == t.shape, f"{op}{args} on {shape}: {what} shape {g.shape}, expected {t.shape}"
        err = float(np.abs(g - t).max())
        assert err <= rtol * max(float(np.abs(t).max()), 1e-3), (
            f"{op}{args} on {shape} ({np.dtype(dtype).name}): {what} max abs error {err:.3g}")
