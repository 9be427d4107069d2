"""The pad op stem (cpp/src/ops/pad.cpp): pad and the padding modules. The cases run through tests/opcheck.py
(NumPy reference, float64 finite differences, PyTorch parity, the GPU against the CPU) and the
error cases check their messages."""

import pytest

from convnet import nn
import convnet as cn
import convnet.functional as F
from reference import norm_pool as NP
from opcheck import DEVICES, check_case, module_matches_torch, msg, randn, tF


PAD_CASES = [((2, 3, 4, 5), (1, 2, 0, 3), 0.0), ((1, 2, 5, 6), (-1, 2, 1, -2), 1.5), ((2, 3, 4), (2, -1), -2.0),
             ((3, 4), (0, 0, 2, 1), 0.0), ((1, 1, 4, 4), (-1, -1, -1, -1), 0.0), ((2, 5), (3, 3), 0.25)]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape,pads,value", PAD_CASES)
def test_pad(device, shape, pads, value):
    x = randn(*shape)
    check_case(device, f"pad(pad={pads}, value={value})", lambda x: F.pad(x, pads, value=value), [x],
               ref=lambda x: NP.pad(x, pads, value), ref_grad=lambda x, dy: NP.pad_backward(x, dy, pads),
               torch_fn=lambda x: tF.pad(x, pads, value=value), double_backward=True)


@pytest.mark.parametrize("spec,shape", [("ZeroPad2d(2)", (2, 3, 4, 4)), ("ZeroPad2d((1, 0, -1, 2))", (1, 2, 5, 3)),
                                        ("ZeroPad2d((0, 3, 1, 1))", (2, 2, 3))])
def test_zero_pad_module(spec, shape):
    m, t = module_matches_torch(spec, shape)
    assert m.padding == tuple(t.padding)


def test_pad_errors():
    with pytest.raises(ValueError, match=msg("ZeroPad2d((-3, 0, 0, 0)): pad: ", "padded size", "must be positive",
                                             "(1, 1, 4, 3)")):
        nn.ZeroPad2d((-3, 0, 0, 0))(cn.randn(1, 1, 4, 3))
    with pytest.raises(ValueError, match=msg("pad: ", "expected 2 pads", "got 3")):
        F.pad(cn.randn(1, 1, 4, 4), (1, 1, 1))
    with pytest.raises(ValueError, match=msg("pad: ", "at least 2 dimension(s)", "(4,)")):
        F.pad(cn.randn(4), (1, 1, 1, 1))
    with pytest.raises(ValueError, match=msg("pad", "only mode='constant'", "reflect")):
        F.pad(cn.randn(1, 1, 4, 4), (1, 1), mode="reflect")
    with pytest.raises(TypeError, match=msg("ZeroPad2d", "4 ints", "(1, 2)")):
        nn.ZeroPad2d((1, 2))

