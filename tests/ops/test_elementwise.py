"""The elementwise op stem (cpp/src/ops/elementwise.cpp): arithmetic with broadcasting, scalars, dtype promotion, unary math and comparisons. The cases run through tests/opcheck.py
(NumPy reference, float64 finite differences, PyTorch parity, the GPU against the CPU) and the
error cases check their messages."""

import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from opcheck import away_from, check_devices, check_op, msg, randn, requires_cuda, rng, same_on_both, torch

tF = torch.nn.functional if torch is not None else None


def same_exactly(fn, *arrays):
    """Elementwise results are the same to the bit on both devices."""
    return same_on_both(fn, *arrays, tol=0)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
@pytest.mark.parametrize("sa,sb", [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((2, 1, 4), (3, 1)), ((5,), ())])
def test_broadcast_arithmetic(op, sa, sb):
    a, b = randn(*sa), randn(*sb) if sb else np.array(randn(1)[0])
    if op == "div":
        b = np.sign(b) * (np.abs(b) + 0.5)
    npf = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}[op]
    pyop = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
            "div": lambda x, y: x / y}[op]

    def ref_grad(a, b, dy):
        def unbroadcast(g, shape):
            while g.ndim > len(shape):
                g = g.sum(0)
            for i, s in enumerate(shape):
                if s == 1 and g.shape[i] != 1:
                    g = g.sum(i, keepdims=True)
            return g
        da = {"add": dy, "sub": dy, "mul": dy * b, "div": dy / b}[op]
        db = {"add": dy, "sub": -dy, "mul": dy * a, "div": -dy * a / b ** 2}[op]
        return unbroadcast(da, a.shape), unbroadcast(db, b.shape)

    check_op(f"{op} {sa} {sb}", pyop, [a, b], (0, 1), ref=npf, ref_grad=ref_grad, torch_fn=pyop)


def test_scalar_arithmetic_and_unary():
    x = np.abs(randn(3, 4)) + 0.5
    for name, f, nf in [("x*2+1", lambda t: t * 2 + 1, lambda a: a * 2 + 1),
                        ("1-x", lambda t: 1 - t, lambda a: 1 - a),
                        ("3/x", lambda t: 3 / t, lambda a: 3 / a),
                        ("exp", lambda t: t.exp(), np.exp), ("log", lambda t: t.log(), np.log),
                        ("x**3", lambda t: t ** 3, lambda a: a ** 3), ("-x", lambda t: -t, np.negative)]:
        check_op(name, f, [x], ref=nf, torch_fn=f)


def test_comparisons():
    x = randn(4, 5)
    t = cn.tensor(x)
    for f in [lambda v: v > 0.1, lambda v: v >= 0, lambda v: v < -0.2, lambda v: v <= 0.3, lambda v: v == 0.0,
              lambda v: v != 0.0]:
        got = f(t)
        assert got.dtype == cn.bool
        assert np.array_equal(got.numpy(), f(x))
    y = rng().integers(0, 3, 10)
    assert np.array_equal((cn.tensor(y) == cn.tensor(y[::-1].copy())).numpy(), y == y[::-1])


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


@pytest.mark.cuda
@pytest.mark.parametrize("op", list(BINARY))
@pytest.mark.parametrize("sa,sb", BROADCAST_SHAPES, ids=str)
def test_binary_broadcasting_on_the_gpu(op, sa, sb):
    a, b = randn(*sa), randn(*sb)
    if op == "div":
        b = np.where(np.abs(b) < 0.2, 0.7, b)
    check_devices(f"{op} {sa} {sb}", BINARY[op], [a, b], diff=(0, 1))


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


@pytest.mark.cuda
@pytest.mark.parametrize("name", list(SCALAR_FORMS))
def test_scalar_forms_on_the_gpu(name):
    x = rng().uniform(0.5, 2.0, (3, 5))
    check_devices(name, SCALAR_FORMS[name], [x])


@pytest.mark.cuda
@pytest.mark.parametrize("shape", [(), (1,), (1, 1)], ids=str)
def test_zero_dim_and_one_element_operands_on_the_gpu(shape):
    x = rng().uniform(0.5, 2.0, shape)
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


@pytest.mark.cuda
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_math_on_the_gpu(name):
    x = rng().uniform(0.2, 3.0, (4, 5))
    if name in ("abs", "neg"):
        x = away_from(randn(4, 5), [0.0])
    check_devices(name, UNARY[name], [x])


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


@requires_cuda
@pytest.mark.parametrize("op", list(COMPARE))
def test_comparisons_on_the_gpu(op):
    a = (rng().integers(-3, 3, (2, 3, 4)) / 2).astype(np.float32)
    b = (rng().integers(-3, 3, (3, 1)) / 2).astype(np.float32)
    out = same_exactly(COMPARE[op], a, b)
    assert out.dtype == cn.bool
    same_exactly(lambda x: COMPARE[op](x, 0.5), a)
    same_exactly(lambda x: COMPARE[op](x, 1), a.astype(np.int64))
    same_exactly(lambda x, y: COMPARE[op](x, y), a, np.float32(0.5))  # 0-d operand


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
