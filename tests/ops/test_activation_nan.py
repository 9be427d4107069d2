"""NaN, ±inf, ±0, huge and tiny inputs through every activation, forward and backward, against
PyTorch: one table of (name, convnet function, PyTorch function) pairs drives every check.
NaN must come out where PyTorch gives NaN, and the other values must agree."""

import numpy as np
import pytest

import convnet as cn

torch = pytest.importorskip("torch")
TF = torch.nn.functional
F = cn.nn.functional

VALUES = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-45, 1e-38, -1e-38, 1e-20, -1e-20,
                   3e38, -3e38, 1e10, -1e10, 100.0, -100.0, 30.0, -30.0, 6.0, -6.0, 1.0, -1.0, 0.5,
                   -0.5, 3.0, -3.0], np.float32)
PRELU_W = np.array([0.25], np.float32)

# name, convnet(x), torch(x)
TABLE = [
    ("relu", F.relu, TF.relu),
    ("relu6", F.relu6, TF.relu6),
    ("hardtanh", lambda x: F.hardtanh(x, -2.0, 3.0), lambda x: TF.hardtanh(x, -2.0, 3.0)),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.1), lambda x: TF.leaky_relu(x, 0.1)),
    ("prelu", lambda x: F.prelu(x, cn.from_numpy(PRELU_W)), lambda x: TF.prelu(x, torch.from_numpy(PRELU_W))),
    ("elu", lambda x: F.elu(x, 0.7), lambda x: TF.elu(x, 0.7)),
    # PyTorch's float32 erf-gelu overflows to inf from 3e38 and gives NaN at +inf; its float64 is exact
    ("gelu", F.gelu, lambda x: TF.gelu(x.double()).float()),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh")),
    ("silu", F.silu, TF.silu),
    ("sigmoid", F.sigmoid, torch.sigmoid),
    ("tanh", F.tanh, torch.tanh),
    ("softplus", F.softplus, TF.softplus),
    ("softplus_beta", lambda x: F.softplus(x, 2.0, 10.0), lambda x: TF.softplus(x, 2.0, 10.0)),
    ("softmax", lambda x: F.softmax(x, 1), lambda x: TF.softmax(x, 1)),
    ("log_softmax", lambda x: F.log_softmax(x, 1), lambda x: TF.log_softmax(x, 1)),
]


def _rows(x):
    """Each value beside two ordinary ones, in rows of 3 (the row-wise ops see it with others)."""
    return np.stack([x, np.full_like(x, 0.5), np.full_like(x, -2.0)], axis=1)


def _compare(got, want, what):
    assert np.array_equal(np.isnan(got), np.isnan(want)), f"{what}: NaN where PyTorch has\n{want}\ngot\n{got}"
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-7, equal_nan=True, err_msg=what)


@pytest.mark.parametrize("name,fn,torch_fn", TABLE, ids=[t[0] for t in TABLE])
def test_forward_and_backward_match_pytorch_on_special_values(name, fn, torch_fn):
    x = _rows(VALUES)
    dy = np.random.default_rng(0).uniform(0.5, 1.5, x.shape).astype(np.float32)
    xc = cn.from_numpy(x.copy()).requires_grad_(True)
    yc = fn(xc)
    yc.backward(cn.from_numpy(dy))
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    yt = torch_fn(xt)
    yt.backward(torch.from_numpy(dy))
    _compare(yc.detach().numpy(), yt.detach().numpy(), f"{name} forward")
    _compare(xc.grad.numpy(), xt.grad.numpy(), f"{name} backward")
