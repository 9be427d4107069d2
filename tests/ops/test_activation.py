"""The activation op stem (cpp/src/ops/activation.cpp): every activation (functional and module) and PReLU. The cases run through tests/opcheck.py
(NumPy reference, float64 finite differences, PyTorch parity, the GPU against the CPU) and the
error cases check their messages."""

import numpy as np
import pytest

from convnet import nn
import convnet as cn
import convnet.functional as F
from reference import blocks as RB
from reference import ops as R
from opcheck import (away_from, check_case, check_devices, check_double_backward, msg, on_devices, randn, requires_cuda,
                    rng, tF, torch)


def _act_input(shape=(2, 3, 4)):
    """Values away from the kinks (|x| >= 0.05 from 0, ±1, 6, -2, 3 and 1.5), so finite differences are exact."""
    return away_from(randn(*shape) * 3, [0.0, 1.0, -1.0, 6.0, -2.0, 3.0, 1.5])


ACTIVATIONS = [  # name, convnet fn, reference fn, reference backward, torch fn
    ("relu", lambda x: F.relu(x), R.relu, R.relu_backward, lambda x: tF.relu(x)),
    ("tensor.relu", lambda x: x.relu(), R.relu, R.relu_backward, lambda x: x.relu()),
    ("leaky_relu", lambda x: F.leaky_relu(x), R.leaky_relu, R.leaky_relu_backward, lambda x: tF.leaky_relu(x)),
    ("leaky_relu(0.1)", lambda x: F.leaky_relu(x, 0.1), lambda x: R.leaky_relu(x, 0.1),
     lambda x, dy: R.leaky_relu_backward(x, dy, 0.1), lambda x: tF.leaky_relu(x, 0.1)),
    ("sigmoid", lambda x: F.sigmoid(x), R.sigmoid, R.sigmoid_backward, lambda x: tF.sigmoid(x)),
    ("tanh", lambda x: F.tanh(x), R.tanh, R.tanh_backward, lambda x: tF.tanh(x)),
    ("tensor.tanh", lambda x: x.tanh(), R.tanh, R.tanh_backward, lambda x: x.tanh()),
    ("hardtanh()", lambda x: F.hardtanh(x), RB.hardtanh, RB.hardtanh_backward, lambda x: tF.hardtanh(x)),
    ("hardtanh(-2, 3)", lambda x: F.hardtanh(x, -2.0, 3.0), lambda x: RB.hardtanh(x, -2, 3),
     lambda x, dy: RB.hardtanh_backward(x, dy, -2, 3), lambda x: tF.hardtanh(x, -2.0, 3.0)),
    ("relu6", lambda x: F.relu6(x), lambda x: RB.hardtanh(x, 0, 6), lambda x, dy: RB.hardtanh_backward(x, dy, 0, 6),
     lambda x: tF.relu6(x)),
    ("elu", lambda x: F.elu(x), RB.elu, RB.elu_backward, lambda x: tF.elu(x)),
    ("elu(alpha=0.5)", lambda x: F.elu(x, alpha=0.5), lambda x: RB.elu(x, 0.5),
     lambda x, dy: RB.elu_backward(x, dy, 0.5), lambda x: tF.elu(x, alpha=0.5)),
    ("gelu", lambda x: F.gelu(x), RB.gelu, RB.gelu_backward, lambda x: tF.gelu(x)),
    ("gelu(tanh)", lambda x: F.gelu(x, approximate="tanh"), lambda x: RB.gelu(x, "tanh"),
     lambda x, dy: RB.gelu_backward(x, dy, "tanh"), lambda x: tF.gelu(x, approximate="tanh")),
    ("silu", lambda x: F.silu(x), RB.silu, RB.silu_backward, lambda x: tF.silu(x)),
    ("softplus", lambda x: F.softplus(x), RB.softplus, RB.softplus_backward, lambda x: tF.softplus(x)),
    ("softplus(beta=2, threshold=3)", lambda x: F.softplus(x, beta=2.0, threshold=3.0),
     lambda x: RB.softplus(x, 2.0, 3.0), lambda x, dy: RB.softplus_backward(x, dy, 2.0, 3.0),
     lambda x: tF.softplus(x, beta=2.0, threshold=3.0)),
]


GPU_FORMS = ("tensor.relu", "leaky_relu(0.1)", "tensor.tanh")  # rows of the GPU's comparison alone
ACTIVATION_CASES = on_devices([(c, (2, 3, 4)) for c in ACTIVATIONS if c[0] not in GPU_FORMS],
                              cuda=[(c, (2, 3, 4)) for c in ACTIVATIONS if c[0] in GPU_FORMS]
                              + [(c, shape) for c in ACTIVATIONS for shape in [(37,), ()]])


@pytest.mark.parametrize("device,case,shape", ACTIVATION_CASES,
                         ids=lambda v: v[0] if isinstance(v, tuple) and v and isinstance(v[0], str) else str(v))
def test_activation(device, case, shape):
    name, fn, ref, ref_grad, tfn = case
    check_case(device, name, fn, [_act_input(shape)], (0,), ref=ref, ref_grad=ref_grad, torch_fn=tfn,
               double_backward=True)


@pytest.mark.parametrize("device,shape,channels", on_devices(
    [((2, 3, 4, 5), 3), ((2, 3, 4, 5), 1), ((4, 6), 6), ((5,), 1), ((3, 2, 7), 2)],
    cuda=[((2, 3), 1), ((0, 3), 3)]), ids=str)
def test_prelu(device, shape, channels):
    x, w = _act_input(shape), rng().uniform(0.05, 0.5, channels)
    check_case(device, f"prelu(weight ({channels},))", F.prelu, [x, w], (0, 1), ref=RB.prelu,
               ref_grad=RB.prelu_backward, torch_fn=lambda x, w: tF.prelu(x, w), double_backward=True)


ACTIVATION_MODULES = [  # convnet module, torch module (same arguments), repr
    (lambda: nn.ReLU6(), lambda: torch.nn.ReLU6(), "ReLU6()"),
    (lambda: nn.ReLU6(inplace=True), lambda: torch.nn.ReLU6(inplace=True), "ReLU6(inplace=True)"),
    (lambda: nn.Hardtanh(), lambda: torch.nn.Hardtanh(), "Hardtanh(min_val=-1.0, max_val=1.0)"),
    (lambda: nn.Hardtanh(-2.5, 0.5), lambda: torch.nn.Hardtanh(-2.5, 0.5), "Hardtanh(min_val=-2.5, max_val=0.5)"),
    (lambda: nn.ELU(), lambda: torch.nn.ELU(), "ELU(alpha=1.0)"),
    (lambda: nn.ELU(0.5, True), lambda: torch.nn.ELU(0.5, True), "ELU(alpha=0.5, inplace=True)"),
    (lambda: nn.GELU(), lambda: torch.nn.GELU(), "GELU(approximate='none')"),
    (lambda: nn.GELU(approximate="tanh"), lambda: torch.nn.GELU(approximate="tanh"), "GELU(approximate='tanh')"),
    (lambda: nn.SiLU(), lambda: torch.nn.SiLU(), "SiLU()"),
    (lambda: nn.Softplus(), lambda: torch.nn.Softplus(), "Softplus(beta=1.0, threshold=20.0)"),
    (lambda: nn.Softplus(2.0, 5.0), lambda: torch.nn.Softplus(2.0, 5.0), "Softplus(beta=2.0, threshold=5.0)"),
    (lambda: nn.Softplus(0.5, 1e-05), lambda: torch.nn.Softplus(0.5, 1e-05), "Softplus(beta=0.5, threshold=1e-05)"),
    (lambda: nn.PReLU(), lambda: torch.nn.PReLU(), "PReLU(num_parameters=1)"),
    (lambda: nn.PReLU(3, 0.1), lambda: torch.nn.PReLU(3, 0.1), "PReLU(num_parameters=3)"),
    (lambda: nn.Identity(), lambda: torch.nn.Identity(), "Identity()"),
]


@pytest.mark.parametrize("case", ACTIVATION_MODULES, ids=lambda c: c[2])
def test_activation_modules_match_torch(case):
    make, make_torch, text = case
    m = make()
    assert repr(m) == text
    x = _act_input((2, 3, 4)).astype(np.float32)
    y = m(cn.tensor(x)).detach()
    assert y.shape == x.shape
    if torch is not None:
        tm = make_torch()
        assert repr(tm) == text
        want = tm(torch.from_numpy(x)).detach().numpy()
        np.testing.assert_allclose(y.numpy(), want, rtol=1e-5, atol=1e-6)


def test_prelu_module_learns_its_weight():
    m = nn.PReLU(3, init=0.2)
    names = [n for n, _ in m.named_parameters()]
    assert names == ["weight"] and np.allclose(m.weight.detach().numpy(), 0.2)
    x = _act_input((2, 3, 4)).astype(np.float32)
    m(cn.tensor(x)).sum().backward()
    _, dw = RB.prelu_backward(x, np.full(3, 0.2), np.ones_like(x))
    np.testing.assert_allclose(m.weight.grad.numpy(), dw, rtol=1e-5)
    assert list(m.state_dict()) == ["weight"]


def test_identity_accepts_any_arguments_and_returns_its_input():
    m = nn.Identity(54, unused="x")
    x = cn.randn(2, 3)
    assert np.array_equal(m(x).numpy(), x.numpy())


def test_activation_errors():
    with pytest.raises(ValueError, match=msg("gelu", "approximate", "'none' or 'tanh'", "'fast'", "(2, 3)")):
        F.gelu(cn.zeros(2, 3), approximate="fast")
    with pytest.raises(ValueError, match=msg("GELU", "approximate", "'fast'")):
        nn.GELU("fast")
    with pytest.raises(ValueError, match=msg("prelu", "3 parameters", "4 channel(s)", "(2, 4, 5)", "(3,)")):
        F.prelu(cn.zeros(2, 4, 5), cn.zeros(3))
    with pytest.raises(ValueError, match=msg("PReLU", "3 parameters", "(2, 4, 5)")):
        nn.PReLU(3)(cn.zeros(2, 4, 5))
    with pytest.raises(ValueError, match=msg("hardtanh", "min_val", "max_val", "(2,)")):
        F.hardtanh(cn.zeros(2), 1.0, -1.0)
    with pytest.raises(ValueError, match=msg("Hardtanh", "max_val", "min_val")):
        nn.Hardtanh(1.0, 1.0)


def test_prelu_weight_gradient_does_not_depend_on_the_thread_count():
    x = cn.tensor(randn(16, 8, 12, 12).astype(np.float32))
    m = nn.PReLU(8)
    before = cn.get_num_threads()
    grads = []
    try:
        for threads in (1, 2, 3):
            cn.set_num_threads(threads)
            m.zero_grad()
            m(x).sum().backward()
            grads.append(m.weight.grad.numpy().copy())
    finally:
        cn.set_num_threads(before)
    assert all(np.array_equal(grads[0], g) for g in grads[1:])


@requires_cuda
def test_prelu_weight_gradient_over_many_elements_on_the_gpu():
    # more terms per weight than one reduction pass takes
    x, w = away_from(randn(3, 2, 40, 30), [0.0]), np.array([0.2, 0.3])
    check_devices("prelu (3,2,40,30)", F.prelu, [x, w], diff=(0, 1), dtypes=(np.float64,))


@requires_cuda
@pytest.mark.parametrize("make", [lambda: nn.PReLU(), lambda: nn.PReLU(3, 0.1), lambda: nn.GELU("tanh"),
                                  lambda: nn.Softplus(2.0, 5.0), lambda: nn.Hardtanh(-2.5, 0.5)],
                         ids=["PReLU()", "PReLU(3)", "GELU(tanh)", "Softplus", "Hardtanh"])
def test_activation_modules_on_the_gpu(make):
    x = away_from(randn(2, 3, 4) * 3, [0.0, 0.5, -2.5]).astype(np.float32)
    m = make()
    want = m(cn.tensor(x, requires_grad=True))
    want.sum().backward()
    m_grads = [p.grad.numpy().copy() for p in m.parameters()]
    m.zero_grad()
    m.to("cuda")
    xg = cn.tensor(x, device="cuda", requires_grad=True)
    got = m(xg)
    assert got.device == cn.device("cuda:0")
    got.sum().backward()
    np.testing.assert_allclose(got.detach().cpu().numpy(), want.detach().numpy(), rtol=1e-5, atol=1e-6)
    for p, g in zip(m.parameters(), m_grads):
        np.testing.assert_allclose(p.grad.cpu().numpy(), g, rtol=1e-5, atol=1e-6)


# (name, convnet function, torch function, kinks to keep the inputs away from)
ACTIVATION_DOUBLE_CASES = [
    ("sigmoid", F.sigmoid, lambda x: torch.sigmoid(x), ()), ("tanh", F.tanh, lambda x: torch.tanh(x), ()),
    ("gelu", F.gelu, lambda x: tF.gelu(x), ()),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), lambda x: tF.gelu(x, approximate="tanh"), ()),
    ("silu", F.silu, lambda x: tF.silu(x), ()),
    ("softplus", lambda x: F.softplus(x, beta=2.0, threshold=3.0),
     lambda x: tF.softplus(x, beta=2.0, threshold=3.0), (1.5,)),
    ("elu", lambda x: F.elu(x, alpha=0.7), lambda x: tF.elu(x, alpha=0.7), (0,)),
    ("relu", F.relu, lambda x: tF.relu(x), (0,)),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda x: tF.leaky_relu(x, 0.2), (0,)),
    ("hardtanh", F.hardtanh, lambda x: tF.hardtanh(x), (-1, 1)),
]


@pytest.mark.parametrize("name,fn,torch_fn,kinks", ACTIVATION_DOUBLE_CASES,
                         ids=lambda v: v if isinstance(v, str) else "")
@pytest.mark.parametrize("shape", [(7,), (3, 4)], ids=str)
def test_activation_double_backward(name, fn, torch_fn, kinks, shape):
    """Second derivatives in x (and in the upstream gradient) of the activations, through create_graph."""
    check_double_backward(name, fn, [away_from(randn(*shape) * 2, kinks)], torch_fn=torch_fn)
