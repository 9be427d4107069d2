"""The softmax op stem (cpp/src/ops/softmax.cpp): softmax and log_softmax. The cases run through tests/opcheck.py
(NumPy reference, float64 finite differences, PyTorch parity, the GPU against the CPU) and the
error cases check their messages."""

import numpy as np
import pytest

from convnet import nn
import convnet as cn
import convnet.functional as F
from reference import ops as R
from opcheck import check_case, check_double_backward, msg, on_devices, randn, tF


# (shape, dim); the second list on the GPU only: every dim of one shape, a vector, a 0-d input
SOFTMAX_CASES = on_devices([((4, 10), 1), ((2, 3, 4), 0), ((2, 3, 4), -1), ((3, 5, 2, 2), 1)],
                           cuda=[((3, 4, 5), 0), ((3, 4, 5), 1), ((3, 4, 5), 2), ((3, 4, 5), -1), ((7,), 0),
                                 ((2, 3, 2, 4), 1), ((5, 1), 1), ((), 0)])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("device,shape,dim", SOFTMAX_CASES, ids=str)
def test_softmax(device, name, shape, dim):
    x = randn(*shape) * 3
    check_case(device, f"{name}(dim={dim})", lambda x: getattr(F, name)(x, dim), [x],
               ref=lambda x: getattr(R, name)(x, dim),
               ref_grad=lambda x, dy: getattr(R, name + "_backward")(x, dy, dim),
               torch_fn=lambda x: getattr(tF, name)(x, dim=dim))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_methods_are_the_functions(name):
    x = cn.tensor(randn(3, 4, 5))
    for dim in (0, 2, -1):
        assert np.array_equal(getattr(x, name)(dim).numpy(), getattr(F, name)(x, dim).numpy()), (name, dim)


def test_softmax_is_stable_for_large_logits():
    x = cn.tensor([[1000.0, 0.0, -1000.0]])
    assert np.allclose(F.softmax(x, 1).numpy(), [[1, 0, 0]])
    assert np.allclose(F.log_softmax(x, 1).numpy(), [[0, -1000, -2000]])


@pytest.mark.parametrize("op", [F.softmax, F.log_softmax])
@pytest.mark.parametrize("dim", [2, -3, 5])
def test_softmax_dim_out_of_range(op, dim):
    with pytest.raises(IndexError, match=msg(f"{op.__name__}: dimension {dim} out of range", "(2, 3)")):
        op(cn.randn(2, 3), dim=dim)
    with pytest.raises(IndexError, match=msg("softmax: dimension", "(2, 3)")):
        nn.Softmax(dim=dim)(cn.randn(2, 3))


def test_softmax_integer_input():
    with pytest.raises(ValueError, match=msg("softmax", "float32 or float64", "int64")):
        F.softmax(cn.tensor([1, 2, 3]), dim=0)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", [((4, 5), 1), ((2, 3, 4), 0), ((2, 3, 2), -1), ((6,), 0)], ids=str)
def test_softmax_double_backward(name, shape, dim):
    check_double_backward(f"{name}(dim={dim})", lambda x: getattr(F, name)(x, dim), [randn(*shape) * 2],
                          torch_fn=lambda x: getattr(tF, name)(x, dim=dim))
