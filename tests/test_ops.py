"""Every op: NumPy reference, float64 finite differences, PyTorch parity (tests/opcheck.py)."""

import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from opcheck import check_op, torch
from reference import ops as R

tF = torch.nn.functional if torch is not None else None
rng = np.random.default_rng(1234)


def randn(*shape):
    return rng.standard_normal(shape)


# ---- conv2d over randomized shapes, strides, paddings, dilations and groups ----------------------

def conv_cases(n):
    r = np.random.default_rng(7)
    cases = []
    while len(cases) < n:
        groups = int(r.choice([1, 1, 2, 3]))
        C = groups * int(r.integers(1, 3))
        K = groups * int(r.integers(1, 3))
        R_, S = int(r.integers(1, 4)), int(r.integers(1, 4))
        stride = (int(r.integers(1, 4)), int(r.integers(1, 3)))
        pad = (int(r.integers(0, 3)), int(r.integers(0, 3)))
        dil = (int(r.integers(1, 3)), int(r.integers(1, 3)))
        H, W = int(r.integers(3, 9)), int(r.integers(3, 9))
        if H + 2 * pad[0] < dil[0] * (R_ - 1) + 1 or W + 2 * pad[1] < dil[1] * (S - 1) + 1:
            continue
        cases.append((int(r.integers(1, 3)), C, H, W, K, R_, S, stride, pad, dil, groups, bool(r.integers(0, 2))))
    # depthwise and 1×1 paths
    cases.append((2, 4, 6, 6, 4, 3, 3, (1, 1), (1, 1), (1, 1), 4, True))
    cases.append((2, 5, 5, 7, 3, 1, 1, (1, 1), (0, 0), (1, 1), 1, True))
    cases.append((1, 3, 7, 7, 6, 1, 1, (2, 2), (0, 0), (1, 1), 1, False))
    return cases


@pytest.mark.parametrize("case", conv_cases(24))
def test_conv2d(case):
    N, C, H, W, K, R_, S, stride, pad, dil, groups, bias = case
    x, w = randn(N, C, H, W), randn(K, C // groups, R_, S) * 0.5
    inputs = [x, w] + ([randn(K)] if bias else [])
    diff = (0, 1, 2) if bias else (0, 1)

    def fn(x, w, b=None):
        return F.conv2d(x, w, b, stride=stride, padding=pad, dilation=dil, groups=groups)

    def ref_grad(x, w, *rest):
        dy = rest[-1]
        dx, dw, db = R.conv2d_backward(x, w, dy, stride, pad, dil, groups)
        return (dx, dw, db) if bias else (dx, dw)

    check_op(f"conv2d(stride={stride}, padding={pad}, dilation={dil}, groups={groups})", fn, inputs, diff,
             ref=lambda x, w, b=None: R.conv2d(x, w, b, stride, pad, dil, groups), ref_grad=ref_grad,
             torch_fn=lambda x, w, b=None: tF.conv2d(x, w, b, stride, pad, dil, groups))


@pytest.mark.parametrize("k", [3, 4])
def test_conv2d_same_padding(k):
    x, w, b = randn(2, 3, 7, 6), randn(4, 3, k, k), randn(4)
    check_op(f"conv2d(padding='same', kernel {k})", lambda x, w, b: F.conv2d(x, w, b, padding="same"),
             [x, w, b], (0, 1, 2), torch_fn=lambda x, w, b: tF.conv2d(x, w, b, padding="same"))
    out = F.conv2d(cn.tensor(x), cn.tensor(w), cn.tensor(b), padding="valid")
    assert out.shape == (2, 4, 8 - k, 7 - k)


# ---- pooling --------------------------------------------------------------------------------

def pool_cases(n):
    r = np.random.default_rng(11)
    cases = [((6, 6), (2, 2), (2, 2), (0, 0), False), ((7, 7), (3, 3), (2, 2), (0, 0), False),
             ((7, 7), (3, 3), (2, 2), (1, 1), True), ((6, 5), (3, 2), (2, 2), (1, 0), True)]
    while len(cases) < n:
        k = (int(r.integers(1, 4)), int(r.integers(1, 4)))
        s = (int(r.integers(1, 4)), int(r.integers(1, 4)))
        p = (int(r.integers(0, k[0] // 2 + 1)), int(r.integers(0, k[1] // 2 + 1)))
        hw = (int(r.integers(k[0], 9)), int(r.integers(k[1], 9)))
        cases.append((hw, k, s, p, bool(r.integers(0, 2))))
    return cases


@pytest.mark.parametrize("case", pool_cases(16))
def test_max_pool2d(case):
    (H, W), k, s, p, ceil = case
    x = randn(2, 3, H, W)
    check_op(f"max_pool2d(kernel={k}, stride={s}, padding={p}, ceil_mode={ceil})",
             lambda x: F.max_pool2d(x, k, s, p, ceil_mode=ceil), [x],
             ref=lambda x: R.max_pool2d(x, k, s, p, (1, 1), ceil),
             ref_grad=lambda x, dy: R.max_pool2d_backward(x, dy, k, s, p, (1, 1), ceil),
             torch_fn=lambda x: tF.max_pool2d(x, k, s, p, ceil_mode=ceil))


@pytest.mark.parametrize("case", pool_cases(16))
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d(case, count_include_pad):
    (H, W), k, s, p, ceil = case
    x = randn(2, 3, H, W)
    cip = count_include_pad
    check_op(f"avg_pool2d(kernel={k}, stride={s}, padding={p}, ceil_mode={ceil}, count_include_pad={cip})",
             lambda x: F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=cip), [x],
             ref=lambda x: R.avg_pool2d(x, k, s, p, ceil, cip),
             ref_grad=lambda x, dy: R.avg_pool2d_backward(x, dy, k, s, p, ceil, cip),
             torch_fn=lambda x: tF.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=cip))


@pytest.mark.parametrize("size,out", [((6, 6), (1, 1)), ((7, 5), (3, 2)), ((5, 5), (5, 5)), ((4, 9), (3, 4))])
def test_adaptive_avg_pool2d(size, out):
    x = randn(2, 3, *size)
    check_op(f"adaptive_avg_pool2d(output_size={out})", lambda x: F.adaptive_avg_pool2d(x, out), [x],
             ref=lambda x: R.adaptive_avg_pool2d(x, out),
             ref_grad=lambda x, dy: R.adaptive_avg_pool2d_backward(x, dy, out),
             torch_fn=lambda x: tF.adaptive_avg_pool2d(x, out))


# ---- dense, activations, softmax -------------------------------------------------------------

@pytest.mark.parametrize("shape", [(5, 7, 3), (1, 4, 4), (3, 2, 6, 5)])
def test_linear(shape):
    x, w, b = randn(*shape[:-2], shape[-2]), randn(shape[-1], shape[-2]), randn(shape[-1])
    check_op("linear", F.linear, [x, w, b], (0, 1, 2), ref=R.linear,
             ref_grad=lambda x, w, b, dy: R.linear_backward(x, w, dy), torch_fn=tF.linear)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "sigmoid", "tanh"])
def test_activations(name):
    x = randn(3, 4, 5)
    x[np.abs(x) < 1e-3] = 0.5  # keep finite differences away from the kink
    check_op(name, getattr(F, name), [x], ref=getattr(R, name),
             ref_grad=getattr(R, name + "_backward"), torch_fn=getattr(tF, name))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", [((4, 10), 1), ((2, 3, 4), 0), ((2, 3, 4), -1), ((3, 5, 2, 2), 1)])
def test_softmax(name, shape, dim):
    x = randn(*shape) * 3
    check_op(f"{name}(dim={dim})", lambda x: getattr(F, name)(x, dim), [x],
             ref=lambda x: getattr(R, name)(x, dim),
             ref_grad=lambda x, dy: getattr(R, name + "_backward")(x, dy, dim),
             torch_fn=lambda x: getattr(tF, name)(x, dim=dim))


def test_softmax_is_stable_for_large_logits():
    x = cn.tensor([[1000.0, 0.0, -1000.0]])
    assert np.allclose(F.softmax(x, 1).numpy(), [[1, 0, 0]])
    assert np.allclose(F.log_softmax(x, 1).numpy(), [[0, -1000, -2000]])


def test_dropout():
    cn.manual_seed(3)
    x = cn.ones(200, 100, requires_grad=True)
    y = F.dropout(x, 0.3)
    kept = y.detach().numpy() != 0
    assert abs(kept.mean() - 0.7) < 0.01
    assert np.allclose(y.detach().numpy()[kept], 1 / 0.7)
    y.sum().backward()
    mask = np.zeros((200, 100))
    mask[kept] = 1.0
    assert np.allclose(x.grad.numpy(), R.dropout_backward(np.ones((200, 100)), mask, 0.3))
    assert F.dropout(x, 0.3, training=False) is not None
    assert np.array_equal(F.dropout(x, 0.3, training=False).detach().numpy(), x.detach().numpy())


# ---- losses ----------------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(6, 5), (3, 4, 2, 3)])
def test_cross_entropy(reduction, shape):
    x = randn(*shape) * 2
    t = rng.integers(0, shape[1], (shape[0],) + shape[2:]).astype(np.int64)
    check_op(f"cross_entropy(reduction={reduction})", lambda x, t: F.cross_entropy(x, t, reduction=reduction),
             [x, t], ref=lambda x, t: R.cross_entropy(x, t, reduction),
             ref_grad=lambda x, t, dy: R.cross_entropy_backward(x, t, dy, reduction),
             torch_fn=lambda x, t: tF.cross_entropy(x, t, reduction=reduction))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss(reduction):
    x = R.log_softmax(randn(7, 4), 1)
    t = rng.integers(0, 4, 7).astype(np.int64)
    check_op(f"nll_loss(reduction={reduction})", lambda x, t: F.nll_loss(x, t, reduction=reduction), [x, t],
             ref=lambda x, t: R.nll_loss(x, t, reduction),
             ref_grad=lambda x, t, dy: R.nll_loss_backward(x, t, dy, reduction),
             torch_fn=lambda x, t: tF.nll_loss(x, t, reduction=reduction))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss(reduction):
    x, y = randn(4, 3), randn(4, 3)
    check_op(f"mse_loss(reduction={reduction})", lambda x, y: F.mse_loss(x, y, reduction=reduction), [x, y],
             (0, 1), ref=lambda x, y: R.mse_loss(x, y, reduction),
             ref_grad=lambda x, y, dy: R.mse_loss_backward(x, y, dy, reduction),
             torch_fn=lambda x, y: tF.mse_loss(x, y, reduction=reduction))


def test_cross_entropy_ignore_index():
    x = randn(5, 3)
    t = np.array([0, -100, 2, 1, -100], np.int64)
    check_op("cross_entropy(ignore_index=-100)", F.cross_entropy, [x, t],
             torch_fn=lambda x, t: tF.cross_entropy(x, t))


# ---- tensor arithmetic, reductions, matmul -------------------------------------------------------

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


@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True), ((0, 2), False), (-1, True)])
def test_sum_mean(dim, keepdim):
    x = randn(3, 4, 5)
    npdim = tuple(dim) if isinstance(dim, tuple) else dim
    check_op(f"sum(dim={dim})", lambda t: t.sum(dim=dim, keepdim=keepdim), [x],
             ref=lambda a: a.sum(axis=npdim, keepdims=keepdim),
             torch_fn=lambda t: t.sum(dim=dim, keepdim=keepdim) if dim is not None else t.sum())
    check_op(f"mean(dim={dim})", lambda t: t.mean(dim=dim, keepdim=keepdim), [x],
             ref=lambda a: a.mean(axis=npdim, keepdims=keepdim),
             torch_fn=lambda t: t.mean(dim=dim, keepdim=keepdim) if dim is not None else t.mean())


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_max_argmax(dim):
    x = randn(4, 5, 3)
    check_op(f"max(dim={dim})", lambda t: t.max(dim).values, [x], ref=lambda a: a.max(axis=dim),
             torch_fn=lambda t: t.max(dim).values)
    assert np.array_equal(cn.tensor(x).argmax(dim).numpy(), x.argmax(axis=dim))
    assert np.array_equal(cn.tensor(x).max(dim).indices.numpy(), x.argmax(axis=dim))
    assert cn.tensor(x).max().item() == pytest.approx(x.max())
    assert cn.tensor(x).argmax().item() == x.argmax()


@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((2, 3, 4), (4, 2)), ((4,), (4, 3)),
                                   ((3, 4), (4,))])
def test_matmul(sa, sb):
    a, b = randn(*sa), randn(*sb)
    check_op(f"matmul {sa} @ {sb}", lambda x, y: x @ y, [a, b], (0, 1), ref=np.matmul,
             torch_fn=lambda x, y: x @ y)


def test_comparisons():
    x = randn(4, 5)
    t = cn.tensor(x)
    for f in [lambda v: v > 0.1, lambda v: v >= 0, lambda v: v < -0.2, lambda v: v <= 0.3, lambda v: v == 0.0,
              lambda v: v != 0.0]:
        got = f(t)
        assert got.dtype == cn.bool
        assert np.array_equal(got.numpy(), f(x))
    y = rng.integers(0, 3, 10)
    assert np.array_equal((cn.tensor(y) == cn.tensor(y[::-1].copy())).numpy(), y == y[::-1])


def test_reshape_flatten_slice_gradients():
    x = randn(4, 3, 2)
    check_op("reshape", lambda t: t.reshape(2, -1) * 2, [x], ref=lambda a: a.reshape(2, -1) * 2)
    check_op("flatten", lambda t: t.flatten(1) * 2, [x], ref=lambda a: a.reshape(4, 6) * 2)
    check_op("slice", lambda t: t[1:3] * 3, [x], ref=lambda a: a[1:3] * 3)
    check_op("index", lambda t: t[2] * 3, [x], ref=lambda a: a[2] * 3)
