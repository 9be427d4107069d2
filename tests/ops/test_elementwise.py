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

    check_case(device, f"{op} {sa} {sb}", fn, [a, b], (0, 1), ref=fn, ref_grad=ref_grad, torch_fn=fn,
               double_backward=True)


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
    check_case(device, name, fn, [x], ref=ref, torch_fn=tfn, double_backward=True)


def _x_times_x_plus_x_over_x_plus_1(x):
    return x * x + x / (x + 1)


def _y_times_x_minus_x(y, x):
    return y * x - x


@pytest.mark.parametrize("device,shape", on_devices(cuda=[((),), ((1,),), ((1, 1),)]), ids=str)
def test_zero_dim_and_one_element_operands(device, shape):
    x = rng().uniform(0.5, 2.0, shape)
    fn, fn2 = _x_times_x_plus_x_over_x_plus_1, _y_times_x_minus_x
    check_case(device, f"x * x + x / (x + 1), x {shape}", fn, [x], ref=fn, torch_fn=fn, double_backward=True)
    check_case(device, f"y * x - x, x {shape}", fn2, [randn(2, 3), x], (0, 1), ref=fn2, torch_fn=fn2,
               double_backward=True)


DTYPES = [np.bool_, np.uint8, np.int32, np.int64, np.float32, np.float64]


def _values(dtype, shape):
    if dtype == np.bool_:
        return rng().integers(0, 2, shape).astype(bool)
    if dtype == np.uint8:
        return rng().integers(0, 9, shape).astype(np.uint8)
    if dtype in (np.int32, np.int64):
        return rng().integers(-9, 9, shape).astype(dtype)
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


# ---- math with PyTorch's names (bindings/math.cpp): unary math, rounding, powers, clamping, maximum/minimum,
# lerp; each row: name, convnet fn, NumPy reference, torch fn, the input's range (kinks kept away from)
def _unit(lo, hi):
    return lambda shape: rng().uniform(lo, hi, shape)


def _off_integers(scale=1.0):
    """Values at least 0.05 / scale from multiples of 1 / scale (and from the .5 ties of round)."""
    def draw(shape):
        x = rng().uniform(-3, 3, shape)
        f = x * scale - np.floor(x * scale)
        x[np.abs(f - 0.5) < 0.05] += 0.12 / scale
        return away_from(x * scale, np.arange(-4, 5) * 1.0, 0.05) / scale
    return draw


MATH_UNARY = [
    ("rsqrt", lambda x: x.rsqrt(), lambda a: 1 / np.sqrt(a), lambda x: x.rsqrt(), _unit(0.2, 3)),
    ("cn.rsqrt", lambda x: cn.rsqrt(x), lambda a: 1 / np.sqrt(a), lambda x: torch.rsqrt(x), _unit(0.2, 3)),
    ("cn.sqrt", lambda x: cn.sqrt(x), np.sqrt, lambda x: torch.sqrt(x), _unit(0.2, 3)),
    ("abs(x)", lambda x: abs(x), np.abs, lambda x: abs(x), _off_integers()),
    ("sign", lambda x: x.sign(), np.sign, lambda x: x.sign(), _off_integers()),
    ("floor", lambda x: x.floor(), np.floor, lambda x: x.floor(), _off_integers()),
    ("ceil", lambda x: cn.ceil(x), np.ceil, lambda x: torch.ceil(x), _off_integers()),
    ("trunc", lambda x: x.trunc(), np.trunc, lambda x: x.trunc(), _off_integers()),
    ("round", lambda x: x.round(), np.round, lambda x: x.round(), _off_integers()),
    ("round(decimals=1)", lambda x: cn.round(x, decimals=1), lambda a: np.round(a, 1),
     lambda x: torch.round(x, decimals=1), _off_integers(10)),
    ("round(decimals=-1)", lambda x: x.round(decimals=-1), lambda a: np.round(a, -1),
     lambda x: x.round(decimals=-1), lambda s: _off_integers(0.1)(s)),
    ("x ** 0", lambda x: x ** 0, lambda a: a ** 0, lambda x: x ** 0, _unit(0.2, 3)),
    ("2 ** x", lambda x: 2 ** x, lambda a: 2 ** a, lambda x: 2 ** x, _unit(-2, 2)),
    ("cn.pow(3, x)", lambda x: cn.pow(3, x), lambda a: 3.0 ** a, lambda x: torch.pow(3, x), _unit(-2, 2)),
    ("x.pow(2.5)", lambda x: x.pow(2.5), lambda a: a ** 2.5, lambda x: x.pow(2.5), _unit(0.2, 3)),
    ("clamp(-1, 1)", lambda x: x.clamp(-1, 1), lambda a: np.clip(a, -1, 1), lambda x: x.clamp(-1, 1),
     _off_integers()),
    ("clamp(min=0.5)", lambda x: x.clamp(min=0.5), lambda a: np.maximum(a, 0.5), lambda x: x.clamp(min=0.5),
     _off_integers()),
    ("clip(max=-0.5)", lambda x: cn.clip(x, max=-0.5), lambda a: np.minimum(a, -0.5),
     lambda x: torch.clip(x, max=-0.5), _off_integers()),
]


@pytest.mark.parametrize("device,case", on_devices(both=[(c,) for c in MATH_UNARY]),
                         ids=lambda v: v if isinstance(v, str) else v[0])
def test_math_unary(device, case):
    name, fn, ref, tfn, draw = case
    shape = tuple(rng().integers(1, 5, rng().integers(0, 4)))
    check_case(device, name, fn, [draw(shape)], ref=ref, torch_fn=tfn, double_backward=True)


def _positive_base(shapes):
    return [rng().uniform(0.3, 2.5, shapes[0]), rng().uniform(-2, 2, shapes[1])]


def _distinct(shapes):
    """Normal draws: ties (the kinks of maximum and clamp) have probability 0."""
    return [randn(*shapes[0]), randn(*shapes[1])]


MATH_BINARY = [  # name, fn, torch fn, inputs from the two shapes
    ("maximum", lambda a, b: cn.maximum(a, b), lambda a, b: torch.maximum(a, b), _distinct),
    ("minimum", lambda a, b: a.minimum(b), lambda a, b: a.minimum(b), _distinct),
    ("max(a, b)", lambda a, b: cn.max(a, b), lambda a, b: torch.max(a, b), _distinct),
    ("pow", lambda a, b: a ** b, lambda a, b: a ** b, _positive_base),
    ("cn.pow", lambda a, b: cn.pow(a, b), lambda a, b: torch.pow(a, b), _positive_base),
    ("clamp(min=b)", lambda a, b: a.clamp(min=b), lambda a, b: a.clamp(min=b), _distinct),
    ("clamp(max=b)", lambda a, b: cn.clamp(a, max=b), lambda a, b: torch.clamp(a, max=b), _distinct),
    ("clamp(b - 1, b + 1)", lambda a, b: a.clamp(b - 1, b + 1), lambda a, b: a.clamp(b - 1, b + 1), _distinct),
    ("lerp", lambda a, b: a.lerp(b, 0.3), lambda a, b: a.lerp(b, 0.3), _distinct),
    ("lerp tensor weight", lambda a, b: cn.lerp(a, a * 2, b), lambda a, b: torch.lerp(a, a * 2, b), _distinct),
]

# random broadcastable pairs of shapes
MATH_SHAPES = [(((2, 3), (2, 3))), ((4, 1, 3), (2, 1)), ((3,), ()), ((2, 3, 2), (3, 1))]


@pytest.mark.parametrize("device,case,shapes", on_devices(both=[(c, s) for c in MATH_BINARY for s in MATH_SHAPES]),
                         ids=lambda v: v if isinstance(v, str) else v[0] if isinstance(v, tuple) and
                         isinstance(v[0], str) else str(v))
def test_math_binary(device, case, shapes):
    name, fn, tfn, draw = case
    a, b = draw(shapes)
    check_case(device, f"{name} {shapes}", fn, [a, np.asarray(b)], (0, 1), torch_fn=tfn, double_backward=True)


def test_maximum_ties_split_the_gradient_and_nan_propagates():
    a = cn.tensor([1.0, 2.0, np.nan, 3.0], requires_grad=True)
    b = cn.tensor([1.0, 1.0, 0.0, np.nan], requires_grad=True)
    ta, tb = (torch.tensor(v.detach().numpy(), requires_grad=True) for v in (a, b))
    for f, tf in [(cn.maximum, torch.maximum), (cn.minimum, torch.minimum)]:
        a.grad = b.grad = ta.grad = tb.grad = None
        out, tout = f(a, b), tf(ta, tb)
        np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy())
        out.sum().backward()
        tout.sum().backward()
        np.testing.assert_array_equal(a.grad.numpy(), ta.grad.numpy())
        np.testing.assert_array_equal(b.grad.numpy(), tb.grad.numpy())


def test_clamp_gradient_at_the_bounds_and_with_crossed_bounds():
    x = np.array([-1.0, 0.0, 0.5, 1.0, 2.0])
    for lo, hi in [(0.0, 1.0), (1.0, 0.0)]:
        for scalars in (True, False):
            c, t = cn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
            bl, bh = (lo, hi) if scalars else (cn.tensor(lo, requires_grad=True), cn.tensor(hi, requires_grad=True))
            tl, th = (lo, hi) if scalars else (torch.tensor(lo, requires_grad=True),
                                               torch.tensor(hi, requires_grad=True))
            out, tout = c.clamp(bl, bh), t.clamp(tl, th)
            np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy())
            out.sum().backward()
            tout.sum().backward()
            np.testing.assert_array_equal(c.grad.numpy(), t.grad.numpy())
            if not scalars:
                assert bl.grad.item() == tl.grad.item() and bh.grad.item() == th.grad.item(), (lo, hi)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_math_dtypes_as_torch(device, dtype):
    """Result dtypes and values of the new math on every dtype, as PyTorch's."""
    pytest.importorskip("torch")
    a, b = _values(dtype, (2, 5)), _values(dtype, (5,))
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    ca, cb = cn.tensor(a, device=device), cn.tensor(b, device=device)
    cases = [
        ("sign", lambda x, y: x.sign()), ("maximum", lambda x, y: x.maximum(y)), ("minimum", lambda x, y: x.minimum(y)),
        ("eq", lambda x, y: x.eq(y)), ("ne", lambda x, y: x.ne(y)), ("lt", lambda x, y: x.lt(y)),
        ("le", lambda x, y: x.le(y)), ("gt", lambda x, y: x.gt(y)), ("ge", lambda x, y: x.ge(y)),
        ("logical_and", lambda x, y: x.logical_and(y)), ("logical_or", lambda x, y: x.logical_or(y)),
        ("logical_xor", lambda x, y: x.logical_xor(y)), ("logical_not", lambda x, y: x.logical_not()),
        ("clamp(0, 2)", lambda x, y: x.clamp(0, 2) if x.dtype not in (torch.bool, cn.bool) else x),
        ("clamp(0.5)", lambda x, y: x.clamp(0.5) if x.dtype not in (torch.bool, cn.bool) else x),
        ("x == 1", lambda x, y: x == 1), ("x < 0.5", lambda x, y: x < 0.5),
    ]
    if dtype != np.bool_:
        cases += [("x ** 2", lambda x, y: x ** 2), ("floor", lambda x, y: x.floor()),
                  ("round", lambda x, y: x.round()), ("abs", lambda x, y: x.abs())]
    if dtype in (np.bool_, np.uint8, np.int32, np.int64):
        cases += [("&", lambda x, y: x & y), ("|", lambda x, y: x | y), ("^", lambda x, y: x ^ y),
                  ("~", lambda x, y: ~x), ("bitwise_and", lambda x, y: x.bitwise_and(y))]
    if dtype == np.bool_:
        cases += [("& True", lambda x, y: x & True), ("False | x", lambda x, y: False | x)]
    for name, f in cases:
        got, want = f(ca, cb), f(ta, tb)
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1], (name, got.dtype, want.dtype)
        assert got.device == cn.device(device), name
        np.testing.assert_array_equal(got.cpu().numpy(), want.numpy(), err_msg=name)


@pytest.mark.parametrize("call, match", [
    (lambda: cn.clamp(cn.ones(2)), "clamp: at least one of 'min' or 'max' must not be None"),
    (lambda: cn.ones(2) & cn.ones(2), "bitwise_and: expected integer or bool tensors, got float32 and float32"),
    (lambda: ~cn.ones(2), "bitwise_not: expected an integer or bool tensor, got float32"),
    (lambda: cn.maximum(cn.ones(2, 3), cn.ones(4)), "maximum: shapes (2, 3) and (4,) cannot be broadcast"),
    (lambda: cn.ones(2).clamp(cn.ones(3)), "clamp: shapes (2,) and (3,) cannot be broadcast"),
])
def test_math_errors(call, match):
    with pytest.raises(ValueError, match=msg(match)):
        call()


@pytest.mark.parametrize("da", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("db", DTYPES, ids=lambda d: np.dtype(d).name)
def test_dtype_promotion_as_torch(da, db):
    """Arithmetic and comparisons between every pair of dtypes (int32 with int64 gives int64, int32 with
    float32 float32, a Python int keeps int32): result dtypes and values as PyTorch's."""
    torch = pytest.importorskip("torch")
    a, b = _values(da, (2, 3)), _values(db, (3,))
    b = np.where(b == 0, np.ones_like(b), b)
    ops = [("+", lambda x, y: x + y), ("*", lambda x, y: x * y), ("==", lambda x, y: x == y),
           ("<", lambda x, y: x < y), ("/", lambda x, y: x / y), ("maximum", lambda x, y: x.maximum(y)),
           ("* 1.5", lambda x, y: x * 1.5), ("where", lambda x, y: lib_where(x, y))]
    if da != np.bool_:  # bool + int is float32 here (scalar_like), int64 in PyTorch
        ops += [("+ 2", lambda x, y: x + 2)]
    if da != np.bool_ and db != np.bool_:
        ops += [("-", lambda x, y: x - y)]
    for name, f in ops:
        got, want = f(cn.tensor(a), cn.tensor(b)), f(torch.from_numpy(a), torch.from_numpy(b))
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1], (name, got.dtype, want.dtype)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, err_msg=name)


def lib_where(x, y):
    lib = cn if isinstance(x, cn.Tensor) else __import__("torch")
    return lib.where(x > y, x, y)
