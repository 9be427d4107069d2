"""The elementwise op stem (cpp/src/ops/elementwise.cpp): arithmetic with broadcasting, scalars, dtype promotion, unary math and comparisons. The cases run through tests/opcheck.py
(NumPy reference, float64 finite differences, PyTorch parity, the GPU against the CPU) and the
error cases check their messages."""

import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from opcheck import DEVICES, away_from, check_case, msg, on_devices, randn, requires_cuda, rng, same_on_both, torch


def same_exactly(fn, *arrays):
    """Elementwise results are the same to the bit on both devices."""
    return same_on_both(fn, *arrays, tol=0)


BROADCAST_SHAPES = on_devices([((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((2, 1, 4), (3, 1)), ((5,), ())], cuda=[
    ((3, 4), (4,)),
    ((4,), (3, 4)),
    ((2, 3, 4, 5), (1, 3, 1, 5)),
    ((5, 1, 1, 2), (1, 4, 3, 1)),
    ((2, 3), ()),
    ((), (2, 3)),
    ((), ()),
    ((1,), (2, 1, 3)),
    ((2, 1, 3, 1, 2, 1, 2, 1), (1, 2, 1, 3, 1, 2, 1, 2)),  # 8 separate dimensions
    ((0, 3), (3,)),
])

BINARY = {  # the expression (the same in convnet, NumPy and torch), the gradients of its two operands
    "add": (lambda a, b: a + b, lambda a, b, dy: (dy, dy)),
    "sub": (lambda a, b: a - b, lambda a, b, dy: (dy, -dy)),
    "mul": (lambda a, b: a * b, lambda a, b, dy: (dy * b, dy * a)),
    "div": (lambda a, b: a / b, lambda a, b, dy: (dy / b, -dy * a / b ** 2)),
}


def _unbroadcast(g, shape):
    """g summed over the dimensions that broadcasting added or stretched to reach its shape."""
    while g.ndim > len(shape):
        g = g.sum(0)
    for i, s in enumerate(shape):
        if s == 1 and g.shape[i] != 1:
            g = g.sum(i, keepdims=True)
    return g


@pytest.mark.parametrize("op", list(BINARY))
@pytest.mark.parametrize("device,sa,sb", BROADCAST_SHAPES, ids=str)
def test_broadcast_arithmetic(device, op, sa, sb):
    a, b = randn(*sa), np.asarray(randn(*sb))
    if op == "div":
        b = np.sign(b) * (np.abs(b) + 0.5)
    fn, grads = BINARY[op]

    def ref_grad(a, b, dy):
        return tuple(_unbroadcast(np.broadcast_to(g, dy.shape), x.shape) for g, x in zip(grads(a, b, dy), (a, b)))

    check_case(device, f"{op} {sa} {sb}", fn, [a, b], (0, 1), ref=fn, ref_grad=ref_grad, torch_fn=fn)


@pytest.mark.cuda
def test_too_many_separate_broadcast_dimensions_fail_on_both_devices():
    sa, sb = (2, 1) * 5, (1, 2) * 5  # 10 alternating dimensions that cannot merge
    for device in ["cpu"] + (["cuda"] if cn.cuda.is_available() else []):
        a, b = cn.zeros(*sa, device=device), cn.zeros(*sb, device=device)
        with pytest.raises(ValueError, match=r"add: shapes .* broadcast over 10 separate dimensions, expected at "
                                             r"most 8"):
            a + b
    # the same sizes merge to few dimensions when contiguous
    assert (cn.zeros(*(2,) * 10) + cn.zeros(*(2,) * 10)).shape == (2,) * 10


def _same_form(name, fn):
    """A row of SCALAR_AND_UNARY whose expression reads the same in convnet, NumPy and torch."""
    return name, fn, fn, fn


# name, convnet fn, NumPy reference, torch fn; over x > 0 (|x| >= 0.05 for abs and -x); the second list on the
# GPU only
SCALAR_AND_UNARY = on_devices([(case,) for case in [
    *(_same_form(name, fn) for name, fn in [
        ("x * 2 + 1", lambda x: x * 2 + 1), ("1 - x", lambda x: 1 - x), ("3 / x", lambda x: 3 / x),
        ("x ** 3", lambda x: x ** 3), ("-x", lambda x: -x)]),
    ("exp", lambda x: x.exp(), np.exp, lambda x: x.exp()),
    ("log", lambda x: x.log(), np.log, lambda x: x.log()),
]], cuda=[(case,) for case in [
    *(_same_form(name, fn) for name, fn in [
        ("x + 2", lambda x: x + 2), ("2 + x", lambda x: 2 + x), ("x - 1.5", lambda x: x - 1.5),
        ("3 - x", lambda x: 3 - x), ("x * 0.25", lambda x: x * 0.25), ("-2 * x", lambda x: -2 * x),
        ("x / 3", lambda x: x / 3), ("2 / x", lambda x: 2 / x), ("x ** 2", lambda x: x ** 2),
        ("x ** 3.5", lambda x: x ** 3.5), ("x ** -1", lambda x: x ** -1)]),
    ("sqrt", lambda x: x.sqrt(), np.sqrt, lambda x: x.sqrt()),
    ("abs", lambda x: x.abs(), np.abs, lambda x: x.abs()),
    ("pow 2.5", lambda x: x.pow(2.5), lambda x: x ** 2.5, lambda x: x.pow(2.5)),
    ("cn.exp", lambda x: cn.exp(x), np.exp, lambda x: torch.exp(x)),
    ("cn.log", lambda x: cn.log(x), np.log, lambda x: torch.log(x)),
]])


@pytest.mark.parametrize("device,case", SCALAR_AND_UNARY, ids=lambda v: v if isinstance(v, str) else v[0])
def test_scalar_arithmetic_and_unary(device, case):
    name, fn, ref, tfn = case
    x = away_from(randn(4, 5), [0.0]) if name in ("abs", "-x") else rng().uniform(0.2, 3.0, (4, 5))
    check_case(device, name, fn, [x], ref=ref, torch_fn=tfn)


def _x_times_x_plus_x_over_x_plus_1(x):
    return x * x + x / (x + 1)


def _y_times_x_minus_x(y, x):
    return y * x - x


@pytest.mark.parametrize("device,shape", on_devices(cuda=[((),), ((1,),), ((1, 1),)]), ids=str)
def test_zero_dim_and_one_element_operands(device, shape):
    x = rng().uniform(0.5, 2.0, shape)
    fn, fn2 = _x_times_x_plus_x_over_x_plus_1, _y_times_x_minus_x
    check_case(device, f"x * x + x / (x + 1), x {shape}", fn, [x], ref=fn, torch_fn=fn)
    check_case(device, f"y * x - x, x {shape}", fn2, [randn(2, 3), x], (0, 1), ref=fn2, torch_fn=fn2)


DTYPES = [np.bool_, np.uint8, np.int64, np.float32, np.float64]


def _values(dtype, shape):
    if dtype == np.bool_:
        return rng().integers(0, 2, shape).astype(bool)
    if dtype == np.uint8:
        return rng().integers(0, 9, shape).astype(np.uint8)
    if dtype == np.int64:
        return rng().integers(-9, 9, shape).astype(np.int64)
    return (rng().integers(-9, 9, shape) / 2).astype(dtype)


@requires_cuda
@pytest.mark.parametrize("da", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("db", DTYPES, ids=lambda d: np.dtype(d).name)
def test_dtype_promotion_on_the_gpu(da, db):
    a, b = _values(da, (2, 3)), _values(db, (3,))
    for fn in (lambda x, y: x + y, lambda x, y: x * y, lambda x, y: x - y,
               lambda x, y: x == y, lambda x, y: x < y, lambda x, y: x >= y):
        same_exactly(fn, a, b)
    bn = np.where(b == 0, np.ones_like(b), b)
    out = same_exactly(lambda x, y: x / y, a, bn)
    assert out.dtype in (cn.float32, cn.float64)


@requires_cuda
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_integer_and_bool_tensors_with_scalars_on_the_gpu(dtype):
    a = _values(dtype, (2, 5))
    same_exactly(lambda x: x + 2, a)
    same_exactly(lambda x: x * 2.5, a)      # int tensors become float32 with a fractional scalar
    same_exactly(lambda x: x / 4, a)
    same_exactly(lambda x: x > 1, a)
    same_exactly(lambda x: x == 0.5, a)
    same_exactly(lambda x: x.exp(), a)
    same_exactly(lambda x: x.sum(), a)
    if dtype != np.bool_:
        same_exactly(lambda x: -x, a)
        same_exactly(lambda x: x.abs(), a)


COMPARE = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", list(COMPARE))
def test_comparisons(device, op):
    """Broadcast tensors, a float and an int scalar, a 0-d operand, int64 tensors: bool results on the
    operands' device, as NumPy's."""
    f = COMPARE[op]
    a = (rng().integers(-3, 3, (2, 3, 4)) / 2).astype(np.float32)
    b = (rng().integers(-3, 3, (3, 1)) / 2).astype(np.float32)
    y = rng().integers(0, 3, 10)

    def on(v):
        return cn.tensor(v, device=device)

    for what, got, want in [("tensors", f(on(a), on(b)), f(a, b)), ("x and 0.5", f(on(a), 0.5), f(a, 0.5)),
                            ("int64 x and 1", f(on(a.astype(np.int64)), 1), f(a.astype(np.int64), 1)),
                            ("x and a 0-d tensor", f(on(a), on(np.float32(0.5))), f(a, np.float32(0.5))),
                            ("int64 tensors", f(on(y), on(y[::-1].copy())), f(y, y[::-1]))]:
        assert got.dtype == cn.bool and got.device == cn.device(device), (op, what, got)
        assert np.array_equal(got.cpu().numpy(), want), (op, what)


@requires_cuda
def test_mixing_devices_names_both():
    a, b = cn.ones(2, 3, device="cuda"), cn.ones(2, 3)
    for fn, op in [(lambda: a + b, "add"), (lambda: b * a, "mul"), (lambda: a / b, "div"), (lambda: a < b, "lt"),
                   (lambda: F.prelu(a, cn.ones(3)), "prelu")]:
        with pytest.raises(ValueError, match=rf"{op}: expected all tensors on one device, got (cuda:0|cpu) "
                                             r"\(shape \((2, 3|3,)\)\) and (cpu|cuda:0) \(shape"):
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


@pytest.mark.parametrize("name, fn", [
    ("add", lambda a, b: a + b), ("sub", lambda a, b: a - b), ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b), ("add", cn._core.add), ("mul", cn._core.mul),
])
def test_elementwise_broadcast_mismatch(name, fn):
    with pytest.raises(ValueError, match=msg(f"{name}: shapes (2, 3) and (4,) cannot be broadcast together",
                                             "dimension 1: 3 vs 4")):
        fn(cn.randn(2, 3), cn.randn(4))


def test_elementwise_mixed_float_dtypes_promote():
    # as PyTorch: arithmetic promotes float32 with float64 instead of failing
    assert (cn.randn(2, 3) + cn.randn(2, 3, dtype=cn.float64)).dtype == cn.float64
