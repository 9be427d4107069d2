"""The interpolate op stem (cpp/src/ops/interpolate.cpp): interpolate (nearest, bilinear) and nn.Upsample. The cases run through tests/opcheck.py
(NumPy reference, float64 finite differences, PyTorch parity, the GPU against the CPU) and the
error cases check their messages."""

import numpy as np
import pytest

from convnet import nn
import convnet as cn
import convnet.functional as F
from reference import norm_pool as NP
from opcheck import DEVICES, check_case, module_matches_torch, msg, randn, tF


INTERP_CASES = [
    ((2, 3, 4, 5), dict(scale_factor=2)),
    ((1, 2, 5, 3), dict(size=(7, 8))),
    ((1, 2, 7, 9), dict(size=(3, 4))),
    ((2, 1, 3, 4), dict(scale_factor=(1.5, 2.5))),
    ((1, 2, 6, 5), dict(scale_factor=0.5)),
    ((1, 1, 5, 5), dict(size=5)),
    ((1, 1, 4, 6), dict(scale_factor=1.7, recompute_scale_factor=True)),
    ((1, 2, 1, 3), dict(size=(4, 1))),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape,kw", INTERP_CASES)
@pytest.mark.parametrize("mode,align", [("nearest", None), ("bilinear", False), ("bilinear", True)])
def test_interpolate(device, shape, kw, mode, align):
    x = randn(*shape)
    args = dict(kw, mode=mode, align_corners=align)
    ref_kw = {k: v for k, v in args.items() if k != "recompute_scale_factor"}
    if kw.get("recompute_scale_factor"):  # index from the output size, as if it had been given
        ref_kw["size"] = tuple(int(np.floor(s * kw["scale_factor"])) for s in shape[2:])
        del ref_kw["scale_factor"]
    check_case(device, f"interpolate({args})", lambda x: F.interpolate(x, **args), [x],
               ref=lambda x: NP.interpolate(x, **ref_kw),
               ref_grad=lambda x, dy: NP.interpolate_backward(x, dy, **ref_kw),
               torch_fn=lambda x: tF.interpolate(x, **args), double_backward=True)


def test_interpolate_nearest_indices_match_torch_exactly():
    """Sizes whose float32 scale puts o*scale just below an integer: the index must be torch's."""
    torch_ = pytest.importorskip("torch")
    for h in range(1, 12):
        for p in range(1, 25):
            x = np.arange(h, dtype=np.float32).reshape(1, 1, h, 1)
            got = F.interpolate(cn.tensor(x), size=(p, 1)).numpy()
            want = torch_.nn.functional.interpolate(torch_.from_numpy(x), size=(p, 1)).numpy()
            assert np.array_equal(got, want), (h, p)
            for f in (0.3, 0.7, 1.3, 2.6, 3.0):
                if int(np.floor(h * f)) < 1:
                    continue
                got = F.interpolate(cn.tensor(x), scale_factor=(f, 1)).numpy()
                want = torch_.nn.functional.interpolate(torch_.from_numpy(x), scale_factor=(f, 1)).numpy()
                assert np.array_equal(got, want), (h, f)


UPSAMPLE_MODULES = [
    ("Upsample(scale_factor=2)", (2, 3, 4, 4)),
    ("Upsample(size=(5, 7), mode='bilinear')", (1, 2, 3, 4)),
    ("Upsample(scale_factor=(2, 1.5), mode='bilinear', align_corners=True)", (1, 2, 3, 4)),
    ("Upsample(size=6)", (1, 2, 3, 4)),
]


@pytest.mark.parametrize("spec,shape", UPSAMPLE_MODULES, ids=[s for s, _ in UPSAMPLE_MODULES])
def test_upsample_module(spec, shape):
    m, t = module_matches_torch(spec, shape)
    assert (m.size, m.scale_factor, m.mode, m.align_corners) == (t.size, t.scale_factor, t.mode, t.align_corners)


def test_interpolate_errors():
    x = cn.randn(1, 2, 4, 4)
    with pytest.raises(ValueError, match=msg("interpolate", "mode must be 'nearest' or 'bilinear'", "bicubic")):
        F.interpolate(x, scale_factor=2, mode="bicubic")
    with pytest.raises(ValueError, match=msg("interpolate", "align_corners can only be set with mode='bilinear'")):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(ValueError, match=msg("interpolate", "exactly one of size and scale_factor")):
        F.interpolate(x, size=3, scale_factor=2)
    with pytest.raises(ValueError, match=msg("interpolate", "exactly one of size and scale_factor")):
        F.interpolate(x)
    with pytest.raises(ValueError, match=msg("Upsample(scale_factor=2.0, mode='nearest')", "4-D", "(2, 4, 4)")):
        nn.Upsample(scale_factor=2)(cn.randn(2, 4, 4))
    with pytest.raises(ValueError, match=msg("interpolate", "output size (0, 0)", "must be positive", "(1, 2, 4, 4)")):
        F.interpolate(x, scale_factor=0.1)
    with pytest.raises(ValueError, match=msg("interpolate", "scale_factor must be positive")):
        F.interpolate(x, scale_factor=-2)
    with pytest.raises(ValueError, match=msg("interpolate", "float32 or float64", "int64")):
        F.interpolate(cn.tensor(np.zeros((1, 1, 2, 2), np.int64)), scale_factor=2)
    with pytest.raises(ValueError, match=msg("Upsample", "exactly one of size and scale_factor")):
        nn.Upsample()

