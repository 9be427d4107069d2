"""The unfold op stem (cpp/src/ops/unfold.cpp): unfold (sliding blocks as columns) and fold (their
sum back into an image), on conv2d's column kernels. The cases run through tests/opcheck.py (NumPy
reference, float64 finite differences, PyTorch parity) and the error cases check their messages."""

import numpy as np
import pytest

from convnet import nn
import convnet as cn
import convnet.functional as F
from reference import layers as L
from opcheck import check_case, drawn_cases, module_matches_torch, msg, on_devices, randn, tF


def _draw(r):
    k = (int(r.integers(1, 4)), int(r.integers(1, 4)))
    d = (int(r.integers(1, 3)), int(r.integers(1, 3)))
    p = (int(r.integers(0, 3)), int(r.integers(0, 3)))
    s = (int(r.integers(1, 4)), int(r.integers(1, 4)))
    hw = (int(r.integers(1, 9)), int(r.integers(1, 9)))
    if any(hw[i] + 2 * p[i] < d[i] * (k[i] - 1) + 1 for i in range(2)):
        return None
    return (int(r.integers(1, 3)), int(r.integers(1, 4))) + hw, k, d, p, s


# (input shape, kernel_size, dilation, padding, stride): chosen, then drawn
UNFOLD_CASES = on_devices([
    ((2, 3, 5, 4), (2, 3), 1, 0, 1),
    ((1, 2, 6, 6), 3, 1, 1, 2),
    ((2, 1, 7, 5), (3, 2), (2, 1), (1, 2), (2, 1)),
], cpu=[
    ((3, 4, 4), 2, 1, 0, 2),  # unbatched (C, H, W)
    ((1, 2, 3, 3), 4, 1, 1, 1),  # the kernel reaches into the padding on both sides
] + drawn_cases(8, 31, _draw))


def _batched(shape):
    return shape if len(shape) == 4 else (1,) + shape


@pytest.mark.parametrize("device,shape,k,d,p,s", UNFOLD_CASES)
def test_unfold(device, shape, k, d, p, s):
    x = randn(*shape)

    def ref(x):
        y = L.unfold(x.reshape(_batched(x.shape)), k, d, p, s)
        return y if x.ndim == 4 else y[0]

    def ref_grad(x, dy):
        g = L.fold(dy.reshape((1,) + dy.shape) if x.ndim == 3 else dy, x.shape[-2:], k, d, p, s)
        return g.reshape(x.shape)

    check_case(device, f"unfold(kernel_size={k}, dilation={d}, padding={p}, stride={s})",
               lambda x: F.unfold(x, k, d, p, s), [x], ref=ref, ref_grad=ref_grad,
               torch_fn=lambda x: tF.unfold(x, k, d, p, s), double_backward=True)


@pytest.mark.parametrize("device,shape,k,d,p,s", UNFOLD_CASES)
def test_fold(device, shape, k, d, p, s):
    xs = _batched(shape)
    cols_shape = L.unfold(np.zeros(xs), k, d, p, s).shape
    cols = randn(*(cols_shape if len(shape) == 4 else cols_shape[1:]))
    size = shape[-2:]

    def ref(c):
        y = L.fold(c.reshape((1,) + c.shape) if c.ndim == 2 else c, size, k, d, p, s)
        return y if c.ndim == 3 else y[0]

    def ref_grad(c, dy):
        g = L.unfold(dy.reshape(_batched(dy.shape)), k, d, p, s)
        return g.reshape(c.shape)

    check_case(device, f"fold(output_size={size}, kernel_size={k}, dilation={d}, padding={p}, stride={s})",
               lambda c: F.fold(c, size, k, d, p, s), [cols], ref=ref, ref_grad=ref_grad,
               torch_fn=lambda c: tF.fold(c, size, k, d, p, s), double_backward=True)


@pytest.mark.parametrize("spec,shape", [
    ("Unfold((2, 3))", (2, 3, 5, 4)),
    ("Unfold(kernel_size=2, dilation=(1, 2), padding=1, stride=2)", (1, 2, 6, 7)),
    ("Fold((4, 5), 2)", (2, 12, 12)),
    ("Fold(output_size=5, kernel_size=(2, 3), padding=(1, 0), stride=(2, 1))", (1, 6, 9)),
])
def test_unfold_modules(spec, shape):
    module_matches_torch(spec, shape)


def test_fold_of_unfold_counts_the_blocks_per_pixel():
    x = cn.ones(1, 1, 4, 4)
    got = F.fold(F.unfold(x, 2, stride=1), (4, 4), 2, stride=1).numpy()[0, 0]
    want = np.array([[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]])
    np.testing.assert_array_equal(got, want)


def test_unfold_errors():
    with pytest.raises(ValueError, match=msg("unfold: ", "4-D input", "(2, 3)")):
        F.unfold(cn.randn(2, 3), 2)
    with pytest.raises(ValueError, match=msg("unfold: the kernel (5, 5)", "larger than the padded image (3, 3)",
                                             "(1, 1, 3, 3)")):
        F.unfold(cn.randn(1, 1, 3, 3), 5)
    with pytest.raises(ValueError, match=msg("unfold: kernel_size, stride and dilation must be positive")):
        F.unfold(cn.randn(1, 1, 3, 3), 2, stride=0)
    with pytest.raises(ValueError, match=msg("unfold: padding must be non-negative")):
        F.unfold(cn.randn(1, 1, 3, 3), 2, padding=-1)
    with pytest.raises(ValueError, match=msg("Unfold(kernel_size=5, ", "larger than the padded image")):
        nn.Unfold(5)(cn.randn(1, 1, 3, 3))


def test_fold_errors():
    with pytest.raises(ValueError, match=msg("fold: ", "(5)", "divisible by the product of kernel_size (4)")):
        F.fold(cn.randn(1, 5, 9), (4, 4), 2)
    with pytest.raises(ValueError, match=msg("fold: ", "last dimension of the input (8)", "sliding blocks 9",
                                             "(4, 4)")):
        F.fold(cn.randn(1, 4, 8), (4, 4), 2)
    with pytest.raises(ValueError, match=msg("fold: ", "3-D input", "(4,)")):
        F.fold(cn.randn(4), (4, 4), 2)
    with pytest.raises(ValueError, match=msg("Fold(output_size=(4, 4), ", "sliding blocks")):
        nn.Fold((4, 4), 2)(cn.randn(1, 4, 8))
