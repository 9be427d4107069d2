"""The pixel_shuffle op stem (cpp/src/ops/pixel_shuffle.cpp): pixel_shuffle and pixel_unshuffle,
inverse permutations. The cases run through tests/opcheck.py (NumPy reference, float64 finite
differences, PyTorch parity) and the error cases check their messages."""

import numpy as np
import pytest

from convnet import nn
import convnet as cn
import convnet.functional as F
from reference import layers as L
from opcheck import check_case, module_matches_torch, msg, on_devices, randn, tF


# (input shape of the shuffle, factor): unbatched, extra leading dimensions, odd sizes
SHUFFLE_CASES = on_devices([((2, 8, 3, 3), 2), ((1, 9, 2, 5), 3), ((2, 2, 4, 3, 2), 2)],
                           cpu=[((12, 1, 4), 2), ((2, 3, 4, 5), 1), ((1, 32, 2, 1), 4)])


@pytest.mark.parametrize("device,shape,r", SHUFFLE_CASES)
def test_pixel_shuffle(device, shape, r):
    x = randn(*shape)
    check_case(device, f"pixel_shuffle({r})", lambda x: F.pixel_shuffle(x, r), [x],
               ref=lambda x: L.pixel_shuffle(x, r), ref_grad=lambda x, dy: L.pixel_unshuffle(dy, r),
               torch_fn=lambda x: tF.pixel_shuffle(x, r), double_backward=True)


@pytest.mark.parametrize("device,shape,r", SHUFFLE_CASES)
def test_pixel_unshuffle(device, shape, r):
    *lead, c, h, w = shape
    x = randn(*lead, c // (r * r), h * r, w * r)
    check_case(device, f"pixel_unshuffle({r})", lambda x: F.pixel_unshuffle(x, r), [x],
               ref=lambda x: L.pixel_unshuffle(x, r), ref_grad=lambda x, dy: L.pixel_shuffle(dy, r),
               torch_fn=lambda x: tF.pixel_unshuffle(x, r), double_backward=True)


@pytest.mark.parametrize("spec,shape", [("PixelShuffle(2)", (2, 8, 3, 3)), ("PixelShuffle(3)", (9, 2, 2)),
                                        ("PixelUnshuffle(2)", (2, 3, 4, 6))])
def test_pixel_shuffle_modules(spec, shape):
    module_matches_torch(spec, shape)


def test_pixel_shuffle_round_trip():
    x = cn.randn(2, 3, 6, 4)
    np.testing.assert_array_equal(F.pixel_shuffle(F.pixel_unshuffle(x, 2), 2).numpy(), x.numpy())


def test_pixel_shuffle_errors():
    with pytest.raises(ValueError, match=msg("pixel_shuffle: ", "channels 6", "divisible", "(4)", "(1, 6, 2, 2)")):
        F.pixel_shuffle(cn.randn(1, 6, 2, 2), 2)
    with pytest.raises(ValueError, match=msg("PixelShuffle(upscale_factor=2)", "3 or more dimensions", "(4, 4)")):
        nn.PixelShuffle(2)(cn.randn(4, 4))
    with pytest.raises(ValueError, match=msg("pixel_shuffle: upscale_factor must be positive", "0")):
        F.pixel_shuffle(cn.randn(1, 4, 2, 2), 0)
    with pytest.raises(ValueError, match=msg("pixel_unshuffle: ", "height and width 3, 4", "downscale_factor=2")):
        F.pixel_unshuffle(cn.randn(1, 1, 3, 4), 2)
    with pytest.raises(ValueError, match=msg("pixel_shuffle", "float32 or float64", "int64")):
        F.pixel_shuffle(cn.tensor(np.zeros((1, 4, 2, 2), np.int64)), 2)
