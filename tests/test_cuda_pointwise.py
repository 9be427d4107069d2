"""Elementwise ops and activations on the GPU against the CPU: arithmetic with broadcasting
(scalars and 0-d tensors included), dtype promotion, unary math, comparisons, every activation
forward and backward, prelu with one weight per channel or one for all, and device errors."""

import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from convnet import nn
from opcheck import check_devices, requires_cuda

pytestmark = pytest.mark.cuda  # the device tests (run by the emulated CUDA build)

rng = np.random.default_rng(2024)


def randn(*shape):
    return rng.standard_normal(shape)


def away_from(x, points, gap=0.05):
    """x with values near `points` (kinks) moved off them."""
    x = np.array(x, dtype=np.float64)
    for k in points:
        x[np.abs(x - k) < gap] += 2 * gap
    return x


# ---- arithmetic with broadcasting ------------------------------------------------------------------

BROADCAST_SHAPES = [
    ((3, 4), (3, 4)),
    ((3, 4), (4,)),
    ((4,), (3, 4)),
    ((2, 1, 4), (3, 1)),
    ((2, 3, 4, 5), (1, 3, 1, 5)),
    ((5, 1, 1, 2), (1, 4, 3, 1)),
    ((2, 3), ()),
    ((), (2, 3)),
    ((), ()),
    ((1,), (2, 1, 3)),
    ((2, 1, 3, 1, 2, 1, 2, 1), (1, 2, 1, 3, 1, 2, 1, 2)),  # 8 separate dimensions
    ((0, 3), (3,)),
]

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}


@pytest.mark.parametrize("op", list(BINARY))
@pytest.mark.parametrize("sa,sb", BROADCAST_SHAPES, ids=str)
def test_binary_broadcasting(op, sa, sb):
    a, b = randn(*sa), randn(*sb)
    if op == "div":
        b = np.where(np.abs(b) < 0.2, 0.7, b)
    check_devices(f"{op} {sa} {sb}", BINARY[op], [a, b], diff=(0, 1))


def test_too_many_separate_broadcast_dimensions_fail_on_both_devices():
    sa, sb = (2, 1) * 5, (1, 2) * 5  # 10 alternating dimensions that cannot merge
    for device in ["cpu"] + (["cuda"] if cn.cuda.is_available() else []):
        a, b = cn.zeros(*sa, device=device), cn.zeros(*sb, device=device)
        with pytest.raises(ValueError, match=r"add: shapes .* broadcast over 10 separate dimensions, expected at "
                                             r"most 8"):
            a + b
    # the same sizes merge to few dimensions when contiguous
    assert (cn.zeros(*(2,) * 10) + cn.zeros(*(2,) * 10)).shape == (2,) * 10


SCALAR_FORMS = {
    "x + 2": lambda x: x + 2,
    "2 + x": lambda x: 2 + x,
    "x - 1.5": lambda x: x - 1.5,
    "3 - x": lambda x: 3 - x,
    "x * 0.25": lambda x: x * 0.25,
    "-2 * x": lambda x: -2 * x,
    "x / 3": lambda x: x / 3,
    "2 / x": lambda x: 2 / x,
    "x ** 2": lambda x: x ** 2,
    "x ** 3.5": lambda x: x ** 3.5,
    "x ** -1": lambda x: x ** -1,
    "-x": lambda x: -x,
}


@pytest.mark.parametrize("name", list(SCALAR_FORMS))
def test_scalar_forms(name):
    x = rng.uniform(0.5, 2.0, (3, 5))
    check_devices(name, SCALAR_FORMS[name], [x])


@pytest.mark.parametrize("shape", [(), (1,), (1, 1)], ids=str)
def test_zero_dim_and_one_element_operands(shape):
    x = rng.uniform(0.5, 2.0, shape)
    check_devices(f"x * x + x / (x + 1), x {shape}", lambda x: x * x + x / (x + 1), [x])
    check_devices(f"y * x - x, x {shape}", lambda y, x: y * x - x, [randn(2, 3), x], diff=(0, 1))


UNARY = {
    "exp": lambda x: x.exp(),
    "log": lambda x: x.log(),
    "sqrt": lambda x: x.sqrt(),
    "abs": lambda x: x.abs(),
    "neg": lambda x: -x,
    "pow 2.5": lambda x: x.pow(2.5),
    "cn.exp": lambda x: cn.exp(x),
    "cn.log": lambda x: cn.log(x),
}


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_math(name):
    x = rng.uniform(0.2, 3.0, (4, 5))
    if name in ("abs", "neg"):
        x = away_from(randn(4, 5), [0.0])
    check_devices(name, UNARY[name], [x])


DTYPES = [np.bool_, np.uint8, np.int64, np.float32, np.float64]


def _values(dtype, shape):
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(bool)
    if dtype == np.uint8:
        return rng.integers(0, 9, shape).astype(np.uint8)
    if dtype == np.int64:
        return rng.integers(-9, 9, shape).astype(np.int64)
    return (rng.integers(-9, 9, shape) / 2).astype(dtype)


def _same_on_both(fn, *arrays):
    """fn over CPU tensors and over GPU tensors: same dtype, same values."""
    want = fn(*[cn.tensor(a) for a in arrays])
    got = fn(*[cn.tensor(a, device="cuda") for a in arrays])
    assert got.device == cn.device("cuda:0")
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())
    return want


@requires_cuda
@pytest.mark.parametrize("da", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("db", DTYPES, ids=lambda d: np.dtype(d).name)
def test_dtype_promotion(da, db):
    a, b = _values(da, (2, 3)), _values(db, (3,))
    for fn in (lambda x, y: x + y, lambda x, y: x * y, lambda x, y: x - y,
               lambda x, y: x == y, lambda x, y: x < y, lambda x, y: x >= y):
        _same_on_both(fn, a, b)
    bn = np.where(b == 0, np.ones_like(b), b)
    out = _same_on_both(lambda x, y: x / y, a, bn)
    assert out.dtype in (cn.float32, cn.float64)


@requires_cuda
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_integer_and_bool_tensors_with_scalars(dtype):
    a = _values(dtype, (2, 5))
    _same_on_both(lambda x: x + 2, a)
    _same_on_both(lambda x: x * 2.5, a)      # int tensors become float32 with a fractional scalar
    _same_on_both(lambda x: x / 4, a)
    _same_on_both(lambda x: x > 1, a)
    _same_on_both(lambda x: x == 0.5, a)
    _same_on_both(lambda x: x.exp(), a)
    _same_on_both(lambda x: x.sum(), a)
    if dtype != np.bool_:
        _same_on_both(lambda x: -x, a)
        _same_on_both(lambda x: x.abs(), a)


COMPARE = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


@requires_cuda
@pytest.mark.parametrize("op", list(COMPARE))
def test_comparisons(op):
    a = (rng.integers(-3, 3, (2, 3, 4)) / 2).astype(np.float32)
    b = (rng.integers(-3, 3, (3, 1)) / 2).astype(np.float32)
    out = _same_on_both(COMPARE[op], a, b)
    assert out.dtype == cn.bool
    _same_on_both(lambda x: COMPARE[op](x, 0.5), a)
    _same_on_both(lambda x: COMPARE[op](x, 1), a.astype(np.int64))
    _same_on_both(lambda x, y: COMPARE[op](x, y), a, np.float32(0.5))  # 0-d operand


# ---- activations --------------------------------------------------------------------------------------

ACTIVATIONS = {
    "relu": lambda x: F.relu(x),
    "tensor.relu": lambda x: x.relu(),
    "leaky_relu": lambda x: F.leaky_relu(x, 0.1),
    "sigmoid": lambda x: F.sigmoid(x),
    "tanh": lambda x: x.tanh(),
    "hardtanh": lambda x: F.hardtanh(x),
    "hardtanh(-2, 3)": lambda x: F.hardtanh(x, -2.0, 3.0),
    "relu6": lambda x: F.relu6(x),
    "elu": lambda x: F.elu(x),
    "elu(alpha=0.5)": lambda x: F.elu(x, alpha=0.5),
    "gelu": lambda x: F.gelu(x),
    "gelu(tanh)": lambda x: F.gelu(x, approximate="tanh"),
    "silu": lambda x: F.silu(x),
    "softplus": lambda x: F.softplus(x),
    "softplus(beta=2, threshold=3)": lambda x: F.softplus(x, beta=2.0, threshold=3.0),
}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@pytest.mark.parametrize("shape", [(2, 3, 4), (37,), ()], ids=str)
def test_activation(name, shape):
    x = away_from(randn(*shape) * 4, [0.0, 1.0, -1.0, 6.0, -2.0, 3.0, 1.5])
    check_devices(name, ACTIVATIONS[name], [x])


@pytest.mark.parametrize("shape,channels", [((2, 3, 4, 5), 3), ((2, 3, 4, 5), 1), ((4, 6), 6), ((5,), 1),
                                            ((3, 2, 7), 2), ((2, 3), 1), ((0, 3), 3)], ids=str)
def test_prelu(shape, channels):
    x, w = away_from(randn(*shape), [0.0]), rng.uniform(0.05, 0.5, channels)
    check_devices(f"prelu(weight ({channels},))", F.prelu, [x, w], diff=(0, 1))


@requires_cuda
def test_prelu_weight_gradient_over_many_elements():
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


# ---- devices ---------------------------------------------------------------------------------------

@requires_cuda
def test_mixing_devices_names_both():
    a, b = cn.ones(2, 3, device="cuda"), cn.ones(2, 3)
    for fn, op in [(lambda: a + b, "add"), (lambda: b * a, "mul"), (lambda: a / b, "div"), (lambda: a < b, "lt"),
                   (lambda: F.prelu(a, cn.ones(3)), "prelu")]:
        with pytest.raises(ValueError, match=rf"{op}: expected all tensors on one device, got (cuda:0|cpu) .*"
                                             r"and (cpu|cuda:0)"):
            fn()


@requires_cuda
def test_results_stay_on_the_gpu_and_gradients_too():
    x = cn.tensor(randn(3, 4), device="cuda", requires_grad=True)
    b = cn.tensor(randn(4), device="cuda", requires_grad=True)
    y = F.gelu(x * b + 1.5).exp().sum()
    assert y.device == cn.device("cuda:0")
    y.backward()
    assert x.grad.device == cn.device("cuda:0") and b.grad.device == cn.device("cuda:0")
    assert b.grad.shape == (4,)
