"""Normalization, transposed convolution, padding, adaptive/LP pooling and interpolation:
every op through tests/opcheck.py (NumPy reference, float64 finite differences, torch parity),
the modules against torch.nn (buffers, state_dict keys, reprs), and bad arguments."""

import re

import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from convnet import nn
from opcheck import check_op, torch
from reference import norm_pool as NP

tF = torch.nn.functional if torch is not None else None
rng = np.random.default_rng(2024)


def randn(*shape):
    return rng.standard_normal(shape)


def msg(*parts):
    """A regex finding every literal part, in any order."""
    return "(?s)" + "".join(f"(?=.*{re.escape(p)})" for p in parts)


def _np(t):
    return t.detach().numpy()


def _close(got, want, tol, what):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    scale = max(float(np.max(np.abs(want))) if want.size else 0.0, 1e-3)
    err = float(np.max(np.abs(got - want))) if want.size else 0.0
    assert err <= tol * scale, f"{what}: max abs error {err:.3g} > {tol} x {scale:.3g}"


def _load_from_torch(model, tmodel):
    r = model.load_state_dict({k: v.detach().numpy().copy() for k, v in tmodel.state_dict().items()})
    assert list(r.missing_keys) == [] and list(r.unexpected_keys) == []


def _module_matches_torch(spec, shape, train=False, tol=1e-5, x=None):
    """Builds nn.<spec> in both libraries with torch's parameters, compares forward, the input
    gradient and every parameter gradient, and the repr."""
    torch_ = pytest.importorskip("torch")
    tnn = torch_.nn  # noqa: F841  (named in eval)
    torch_.manual_seed(0)
    t = eval("tnn." + spec)
    m = eval("nn." + spec)
    assert repr(m) == repr(t), spec
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()], spec
    assert list(m.state_dict().keys()) == list(t.state_dict().keys()), spec
    _load_from_torch(m, t)
    m.train(train)
    t.train(train)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32) if x is None else x
    xc = cn.tensor(x).requires_grad_(True)
    xt = torch_.from_numpy(x.copy()).requires_grad_(True)
    y, yt = m(xc), t(xt)
    _close(_np(y), yt.detach().numpy(), tol, f"{spec} forward")
    dy = np.random.default_rng(1).standard_normal(yt.shape).astype(np.float32)
    y.backward(cn.tensor(dy))
    yt.backward(torch_.from_numpy(dy))
    _close(_np(xc.grad), xt.grad.numpy(), tol, f"{spec} input grad")
    tp = dict(t.named_parameters())
    for n, p in m.named_parameters():
        _close(_np(p.grad), tp[n].grad.numpy(), tol, f"{spec} grad of {n}")
    return m, t


# ---- batch_norm --------------------------------------------------------------------------------

BN_SHAPES = [(4, 3), (3, 2, 5), (2, 3, 4, 5), (5, 1, 2, 2)]


@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_training(shape, affine):
    C = shape[1]
    x = randn(*shape) * 2 + 0.5
    inputs = [x] + ([randn(C), randn(C)] if affine else [])
    diff = (0, 1, 2) if affine else (0,)

    def fn(x, w=None, b=None):
        return F.batch_norm(x, None, None, w, b, training=True, eps=1e-3)

    def ref_grad(x, *rest):
        dy, w = rest[-1], (rest[0] if affine else None)
        dx, dw, db = NP.batch_norm_backward(x, dy, weight=w, training=True, eps=1e-3)
        return (dx, dw, db) if affine else (dx,)

    check_op(f"batch_norm(training=True, affine={affine})", fn, inputs, diff,
             ref=lambda x, w=None, b=None: NP.batch_norm(x, None, None, w, b, True, eps=1e-3)[0],
             ref_grad=ref_grad,
             torch_fn=lambda x, w=None, b=None: tF.batch_norm(x, None, None, w, b, training=True, eps=1e-3))


@pytest.mark.parametrize("shape", BN_SHAPES)
def test_batch_norm_eval(shape):
    C = shape[1]
    x, rm, rv = randn(*shape), randn(C), rng.uniform(0.5, 2.0, C)
    w, b = randn(C), randn(C)

    def fn(x, w, b, rm, rv):
        return F.batch_norm(x, rm, rv, w, b, training=False)

    check_op("batch_norm(training=False)", fn, [x, w, b, rm, rv], (0, 1, 2),
             ref=lambda x, w, b, rm, rv: NP.batch_norm(x, rm, rv, w, b, False)[0],
             ref_grad=lambda x, w, b, rm, rv, dy: NP.batch_norm_backward(x, dy, rm, rv, w, False),
             torch_fn=lambda x, w, b, rm, rv: tF.batch_norm(x, rm, rv, w, b, training=False))


def test_batch_norm_functional_updates_running_stats_in_place():
    x = randn(6, 3, 4)
    rm, rv = cn.zeros(3), cn.ones(3)
    F.batch_norm(cn.tensor(x.astype(np.float32)), rm, rv, training=True, momentum=0.3)
    _, want_m, want_v = NP.batch_norm(x, np.zeros(3), np.ones(3), training=True, momentum=0.3)
    _close(rm.numpy(), want_m, 1e-5, "running_mean")
    _close(rv.numpy(), want_v, 1e-5, "running_var")
    if torch is not None:
        tm, tv = torch.zeros(3), torch.ones(3)
        tF.batch_norm(torch.from_numpy(x.astype(np.float32)), tm, tv, training=True, momentum=0.3)
        _close(rm.numpy(), tm.numpy(), 1e-5, "running_mean vs torch")
        _close(rv.numpy(), tv.numpy(), 1e-5, "running_var vs torch")


BN_MODULES = [
    ("BatchNorm2d(3)", (4, 3, 5, 5)),
    ("BatchNorm2d(3, eps=0.001, momentum=None)", (2, 3, 4, 3)),
    ("BatchNorm2d(3, momentum=0.5, affine=False)", (2, 3, 4, 3)),
    ("BatchNorm2d(3, track_running_stats=False)", (2, 3, 4, 3)),
    ("BatchNorm2d(3, bias=False)", (2, 3, 4, 3)),
    ("BatchNorm1d(4)", (6, 4)),
    ("BatchNorm1d(4, momentum=None, affine=False)", (3, 4, 7)),
    ("BatchNorm1d(4, track_running_stats=False, affine=False)", (3, 4, 7)),
]


@pytest.mark.parametrize("spec,shape", BN_MODULES, ids=[s for s, _ in BN_MODULES])
def test_batch_norm_module_trains_like_torch(spec, shape):
    """Several training steps: outputs, gradients, running statistics and the batch count match
    torch's after each; then eval mode uses the running statistics as torch does."""
    torch_ = pytest.importorskip("torch")
    m, t = _module_matches_torch(spec, shape, train=True)
    r = np.random.default_rng(5)
    for step in range(4):
        x = (r.standard_normal(shape) * (step + 1) + step).astype(np.float32)
        _close(_np(m(cn.tensor(x))), t(torch_.from_numpy(x)).detach().numpy(), 1e-5, f"{spec} step {step}")
        ts = t.state_dict()
        for k, v in m.state_dict().items():
            _close(_np(v), ts[k].numpy(), 1e-5, f"{spec} {k} after step {step}")
    assert [tuple(v.shape) for v in m.state_dict().values()] == [tuple(v.shape) for v in t.state_dict().values()]
    m.eval()
    t.eval()
    x = r.standard_normal(shape).astype(np.float32)
    _close(_np(m(cn.tensor(x))), t(torch_.from_numpy(x)).detach().numpy(), 1e-5, f"{spec} eval")
    ts = t.state_dict()
    for k, v in m.state_dict().items():  # eval leaves the statistics alone
        _close(_np(v), ts[k].numpy(), 1e-5, f"{spec} {k} after eval")


def test_batch_norm_module_eval_matches_torch_with_loaded_stats():
    torch_ = pytest.importorskip("torch")
    t = torch_.nn.BatchNorm2d(3)
    with torch_.no_grad():
        t.running_mean.copy_(torch_.tensor([0.5, -1.0, 2.0]))
        t.running_var.copy_(torch_.tensor([0.25, 2.0, 1.5]))
        t.weight.copy_(torch_.tensor([1.5, -0.5, 2.0]))
        t.bias.copy_(torch_.tensor([0.1, 0.2, -0.3]))
    _module_matches_torch("BatchNorm2d(3)", (2, 3, 4, 4))  # parameters
    m = nn.BatchNorm2d(3)
    _load_from_torch(m, t)
    m.eval()
    t.eval()
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 4)).astype(np.float32)
    xc = cn.tensor(x).requires_grad_(True)
    xt = torch_.from_numpy(x.copy()).requires_grad_(True)
    y, yt = m(xc), t(xt)
    _close(_np(y), yt.detach().numpy(), 1e-5, "BatchNorm2d eval forward")
    y.sum().backward()
    yt.sum().backward()
    _close(_np(xc.grad), xt.grad.numpy(), 1e-5, "BatchNorm2d eval input grad")
    _close(_np(m.weight.grad), t.weight.grad.numpy(), 1e-5, "BatchNorm2d eval weight grad")


def test_batch_norm_module_buffers_and_attributes():
    m = nn.BatchNorm2d(5, momentum=None)
    assert list(m.state_dict().keys()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert [n for n, _ in m.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    assert m.num_batches_tracked.dtype == cn.int64 and tuple(m.num_batches_tracked.shape) == ()
    assert np.all(m.running_var.numpy() == 1) and np.all(m.running_mean.numpy() == 0)
    assert m.num_features == 5 and m.eps == 1e-5 and m.momentum is None and m.affine and m.track_running_stats
    m(cn.randn(2, 5, 3, 3))
    m(cn.randn(2, 5, 3, 3))
    assert int(m.num_batches_tracked.item()) == 2
    m.reset_running_stats()
    assert int(m.num_batches_tracked.item()) == 0 and np.all(m.running_var.numpy() == 1)
    bare = nn.BatchNorm1d(3, affine=False, track_running_stats=False)
    assert list(bare.state_dict().keys()) == []
    assert bare.weight is None and bare.bias is None and bare.running_mean is None and bare.num_batches_tracked is None
    assert nn.BatchNorm2d(3, bias=False).bias is None and tuple(nn.BatchNorm2d(3, bias=False).weight.shape) == (3,)
    m.momentum = 0.5  # writable, as torch's: the next step moves the statistics halfway
    m.eps = 0.0
    x = np.random.default_rng(2).standard_normal((4, 5, 3, 3)).astype(np.float32)
    m(cn.tensor(x))
    _close(m.running_mean.numpy(), 0.5 * x.mean(axis=(0, 2, 3)), 1e-5, "running_mean after momentum=0.5")
    assert m.momentum == 0.5 and m.eps == 0.0
    m64 = nn.BatchNorm2d(2).to(cn.float64)
    assert m64.running_mean.dtype == cn.float64 and m64.num_batches_tracked.dtype == cn.int64


def test_batch_norm_errors():
    with pytest.raises(ValueError, match=msg("BatchNorm2d(3, ", "4-D", "(2, 3, 5)")):
        nn.BatchNorm2d(3)(cn.randn(2, 3, 5))
    with pytest.raises(ValueError, match=msg("BatchNorm1d(3, ", "2-D", "3-D", "(2, 3, 5, 5)")):
        nn.BatchNorm1d(3)(cn.randn(2, 3, 5, 5))
    with pytest.raises(ValueError, match=msg("BatchNorm2d(3, ", "input has 4 channel(s), expected 3",
                                             "(2, 4, 5, 5)")):
        nn.BatchNorm2d(3)(cn.randn(2, 4, 5, 5))
    with pytest.raises(ValueError, match=msg("BatchNorm1d(3, ", "more than 1 value per channel",
                                             "(1, 3)")):
        nn.BatchNorm1d(3)(cn.randn(1, 3))
    m = nn.BatchNorm1d(3)
    m.eval()
    assert tuple(m(cn.randn(1, 3)).shape) == (1, 3)  # eval needs no batch statistics
    with pytest.raises(ValueError, match=msg("batch_norm", "running_mean", "(3,)", "(4,)", "(2, 3, 4)")):
        F.batch_norm(cn.randn(2, 3, 4), cn.zeros(4), cn.ones(3))
    with pytest.raises(ValueError, match=msg("batch_norm", "weight", "(3,)", "(2,)")):
        F.batch_norm(cn.randn(2, 3, 4), None, None, cn.ones(2), training=True)
    with pytest.raises(ValueError, match=msg("batch_norm", "running_mean and running_var are needed")):
        F.batch_norm(cn.randn(2, 3, 4), None, None)
    with pytest.raises(ValueError, match=msg("batch_norm", "at least 2 dimensions", "(5,)")):
        F.batch_norm(cn.randn(5), None, None, training=True)
    with pytest.raises(ValueError, match=msg("batch_norm", "float32 or float64", "int64")):
        F.batch_norm(cn.tensor(np.zeros((2, 3), np.int64)), None, None, training=True)
    with pytest.raises(ValueError, match=msg("BatchNorm", "num_features must be positive")):
        nn.BatchNorm2d(0)


# ---- local_response_norm ---------------------------------------------------------------------

LRN_CASES = [
    ((2, 5, 3, 4), 2, 1e-4, 0.75, 1.0),
    ((2, 6, 3, 3), 3, 0.5, 0.75, 2.0),
    ((1, 4, 5), 5, 1.0, 1.5, 1.0),
    ((2, 3, 2, 2, 2), 1, 0.3, 0.5, 0.5),
    ((1, 7, 2, 3), 8, 2.0, 0.75, 1.0),
]


@pytest.mark.parametrize("shape,size,alpha,beta,k", LRN_CASES)
def test_local_response_norm(shape, size, alpha, beta, k):
    x = randn(*shape)
    check_op(f"local_response_norm(size={size}, alpha={alpha}, beta={beta}, k={k})",
             lambda x: F.local_response_norm(x, size, alpha, beta, k), [x],
             ref=lambda x: NP.local_response_norm(x, size, alpha, beta, k),
             ref_grad=lambda x, dy: NP.local_response_norm_backward(x, dy, size, alpha, beta, k),
             torch_fn=lambda x: tF.local_response_norm(x, size, alpha, beta, k))


@pytest.mark.parametrize("spec,shape", [("LocalResponseNorm(2)", (2, 5, 4, 4)),
                                        ("LocalResponseNorm(3, alpha=0.2, beta=0.5, k=2.0)", (2, 4, 3, 3)),
                                        ("LocalResponseNorm(5, 0.001, 0.75, 2.0)", (1, 8, 3))])
def test_local_response_norm_module(spec, shape):
    _module_matches_torch(spec, shape)


def test_local_response_norm_errors():
    with pytest.raises(ValueError, match=msg("LocalResponseNorm(2, ", "3 or more dimensions", "(4, 5)")):
        nn.LocalResponseNorm(2)(cn.randn(4, 5))
    with pytest.raises(ValueError, match=msg("local_response_norm: ", "size must be positive")):
        F.local_response_norm(cn.randn(2, 3, 4), 0)
    with pytest.raises(ValueError, match=msg("LocalResponseNorm(size=-1)", "size must be positive")):
        nn.LocalResponseNorm(-1)
    with pytest.raises(ValueError, match=msg("local_response_norm", "float32 or float64", "int64")):
        F.local_response_norm(cn.tensor(np.zeros((1, 2, 3), np.int64)), 2)


# ---- adaptive pooling ---------------------------------------------------------------------------

ADAPTIVE_CASES = [((2, 3, 7, 5), (3, 2)), ((1, 2, 6, 6), 1), ((2, 2, 5, 8), (None, 3)), ((1, 3, 4, 7), (4, None)),
                  ((1, 2, 3, 3), (5, 4)), ((2, 1, 9, 10), 4), ((2, 4, 5), (2, 3))]


@pytest.mark.parametrize("shape,out", ADAPTIVE_CASES)
def test_adaptive_avg_pool2d(shape, out):
    x = randn(*shape)
    x4 = (lambda a: a[None]) if len(shape) == 3 else (lambda a: a)
    un = (lambda a: a[0]) if len(shape) == 3 else (lambda a: a)
    check_op(f"adaptive_avg_pool2d(output_size={out})", lambda x: F.adaptive_avg_pool2d(x, out), [x],
             ref=lambda x: un(NP.adaptive_avg_pool2d(x4(x), out)),
             ref_grad=lambda x, dy: un(NP.adaptive_avg_pool2d_backward(x4(x), x4(dy), out)),
             torch_fn=lambda x: tF.adaptive_avg_pool2d(x, out))


@pytest.mark.parametrize("shape,out", ADAPTIVE_CASES)
def test_adaptive_max_pool2d(shape, out):
    x = randn(*shape)
    x4 = (lambda a: a[None]) if len(shape) == 3 else (lambda a: a)
    un = (lambda a: a[0]) if len(shape) == 3 else (lambda a: a)
    check_op(f"adaptive_max_pool2d(output_size={out})", lambda x: F.adaptive_max_pool2d(x, out), [x],
             ref=lambda x: un(NP.adaptive_max_pool2d(x4(x), out)),
             ref_grad=lambda x, dy: un(NP.adaptive_max_pool2d_backward(x4(x), x4(dy), out)),
             torch_fn=lambda x: tF.adaptive_max_pool2d(x, out))


@pytest.mark.parametrize("spec,shape", [
    ("AdaptiveAvgPool2d(1)", (2, 3, 5, 5)), ("AdaptiveAvgPool2d((3, 2))", (2, 3, 7, 5)),
    ("AdaptiveAvgPool2d((None, 2))", (2, 3, 7, 5)), ("AdaptiveMaxPool2d(2)", (2, 3, 5, 5)),
    ("AdaptiveMaxPool2d((4, None))", (1, 2, 9, 6)), ("AdaptiveMaxPool2d((3, 5))", (2, 2, 3, 3))])
def test_adaptive_pool_modules(spec, shape):
    m, _ = _module_matches_torch(spec, shape)
    assert isinstance(m.output_size, tuple)


def test_adaptive_pool_errors():
    with pytest.raises(ValueError, match=msg("adaptive_max_pool2d: ", "4-D", "(5, 5)")):
        F.adaptive_max_pool2d(cn.randn(5, 5), (2, None))
    with pytest.raises(ValueError, match=msg("adaptive_max_pool2d: ", "output_size must be positive", "(0, 3)")):
        F.adaptive_max_pool2d(cn.randn(1, 1, 5, 5), (0, 3))
    with pytest.raises(ValueError, match=msg("AdaptiveMaxPool2d", "output_size must be positive", "(-2, None)")):
        nn.AdaptiveMaxPool2d((-2, None))
    with pytest.raises(ValueError, match=msg("AdaptiveAvgPool2d", "output_size must be positive", "(None, 0)")):
        nn.AdaptiveAvgPool2d((None, 0))
    with pytest.raises(ValueError, match=msg("adaptive_max_pool2d: ", "float32 or float64", "int64")):
        F.adaptive_max_pool2d(cn.tensor(np.zeros((1, 1, 4, 4), np.int64)), 2)
    with pytest.raises(TypeError, match=msg("adaptive_max_pool2d: output_size", "(1, 2, 3)")):
        F.adaptive_max_pool2d(cn.randn(1, 1, 4, 4), (1, 2, 3))


# ---- LP pooling --------------------------------------------------------------------------------------

LP_CASES = [(2.0, 2, None, False), (2, (3, 2), (2, 1), False), (3.0, 3, 2, True), (1.5, 2, 1, False),
            (2, 3, 2, True)]


@pytest.mark.parametrize("p,k,stride,ceil_mode", LP_CASES)
def test_lp_pool2d(p, k, stride, ceil_mode):
    x = np.abs(randn(2, 3, 7, 6)) + 0.1 if p != 2 else randn(2, 3, 7, 6)
    st = None if stride is None else stride

    check_op(f"lp_pool2d(norm_type={p}, kernel_size={k}, stride={stride}, ceil_mode={ceil_mode})",
             lambda x: F.lp_pool2d(x, p, k, st, ceil_mode), [x],
             ref=lambda x: NP.lp_pool2d(x, p, k, _pair_or_none(st), ceil_mode),
             ref_grad=lambda x, dy: NP.lp_pool2d_backward(x, dy, p, k, _pair_or_none(st), ceil_mode),
             torch_fn=lambda x: tF.lp_pool2d(x, p, k, st, ceil_mode))


def _pair_or_none(v):
    return None if v is None else ((v, v) if isinstance(v, int) else tuple(v))


def test_lp_pool2d_gradient_is_zero_on_all_zero_windows():
    x = randn(1, 1, 4, 4)
    x[:, :, :2, :2] = 0
    xc = cn.tensor(x).requires_grad_(True)
    F.lp_pool2d(xc, 2, 2).sum().backward()
    g = xc.grad.numpy()
    assert np.all(np.isfinite(g)) and np.all(g[:, :, :2, :2] == 0)
    if torch is not None:
        xt = torch.from_numpy(x).requires_grad_(True)
        tF.lp_pool2d(xt, 2, 2).sum().backward()
        _close(g, xt.grad.numpy(), 1e-6, "lp_pool2d gradient on a zero window")


@pytest.mark.parametrize("spec,shape", [("LPPool2d(2, 3)", (2, 3, 7, 7)),
                                        ("LPPool2d(2, (3, 2), stride=(2, 1))", (2, 3, 7, 6)),
                                        ("LPPool2d(1.5, 2, stride=1, ceil_mode=True)", (1, 2, 5, 5))])
def test_lp_pool_module(spec, shape):
    x = np.abs(np.random.default_rng(4).standard_normal(shape)).astype(np.float32) + 0.1
    _module_matches_torch(spec, shape, x=x, tol=1e-4)


def test_lp_pool_errors():
    with pytest.raises(ValueError, match=msg("LPPool2d(norm_type=2, kernel_size=2", "4-D", "(5, 5)")):
        nn.LPPool2d(2, 2)(cn.randn(5, 5))
    with pytest.raises(ValueError, match=msg("LPPool2d(norm_type=0", "non-zero")):
        nn.LPPool2d(0, 2)
    with pytest.raises(ValueError, match=msg("LPPool2d", "kernel_size must be positive")):
        nn.LPPool2d(2, 0)
    with pytest.raises(ValueError, match=msg("lp_pool2d: ", "window (3, 3) is larger than the input (2, 2)",
                                             "(1, 1, 2, 2)")):
        F.lp_pool2d(cn.randn(1, 1, 2, 2), 2, 3)


# ---- transposed convolution ------------------------------------------------------------------------

def conv_t_cases(n):
    r = np.random.default_rng(11)
    cases = []
    while len(cases) < n:
        groups = int(r.choice([1, 1, 2, 3]))
        C, K = groups * int(r.integers(1, 3)), groups * int(r.integers(1, 3))
        R_, S = int(r.integers(1, 4)), int(r.integers(1, 4))
        stride = (int(r.integers(1, 4)), int(r.integers(1, 3)))
        dil = (int(r.integers(1, 3)), int(r.integers(1, 3)))
        pad = (int(r.integers(0, 3)), int(r.integers(0, 2)))
        op = (int(r.integers(0, max(stride[0], dil[0]))), int(r.integers(0, max(stride[1], dil[1]))))
        H, W = int(r.integers(1, 6)), int(r.integers(1, 6))
        P = (H - 1) * stride[0] - 2 * pad[0] + dil[0] * (R_ - 1) + op[0] + 1
        Q = (W - 1) * stride[1] - 2 * pad[1] + dil[1] * (S - 1) + op[1] + 1
        if P < 1 or Q < 1:
            continue
        cases.append((int(r.integers(1, 3)), C, H, W, K, R_, S, stride, pad, op, dil, groups, bool(r.integers(0, 2))))
    cases.append((2, 4, 4, 4, 4, 3, 3, (2, 2), (1, 1), (1, 1), (1, 1), 4, True))   # depthwise
    cases.append((2, 3, 4, 5, 2, 1, 1, (1, 1), (0, 0), (0, 0), (1, 1), 1, True))   # 1x1
    cases.append((1, 2, 3, 3, 3, 1, 1, (1, 1), (0, 0), (1, 1), (2, 2), 1, False))  # 1x1 with output_padding
    cases.append((1, 2, 3, 4, 3, 4, 4, (2, 2), (1, 1), (0, 0), (1, 1), 1, True))   # DCGAN-style upsampling
    return cases


@pytest.mark.parametrize("case", conv_t_cases(20))
def test_conv_transpose2d(case):
    N, C, H, W, K, R_, S, stride, pad, op, dil, groups, bias = case
    x, w = randn(N, C, H, W), randn(C, K // groups, R_, S) * 0.5
    inputs = [x, w] + ([randn(K)] if bias else [])
    diff = (0, 1, 2) if bias else (0, 1)
    kw = dict(stride=stride, padding=pad, output_padding=op, groups=groups, dilation=dil)

    def ref_grad(x, w, *rest):
        dx, dw, db = NP.conv_transpose2d_backward(x, w, rest[-1], **kw)
        return (dx, dw, db) if bias else (dx, dw)

    check_op(f"conv_transpose2d({kw})", lambda x, w, b=None: F.conv_transpose2d(x, w, b, **kw), inputs, diff,
             ref=lambda x, w, b=None: NP.conv_transpose2d(x, w, b, **kw), ref_grad=ref_grad,
             torch_fn=lambda x, w, b=None: tF.conv_transpose2d(x, w, b, **kw))


def test_conv_transpose2d_unbatched_and_threads():
    x, w, b = randn(3, 4, 5).astype(np.float32), randn(3, 2, 3, 3).astype(np.float32), randn(2).astype(np.float32)
    y = F.conv_transpose2d(cn.tensor(x), cn.tensor(w), cn.tensor(b), stride=2)
    _close(_np(y), NP.conv_transpose2d(x[None], w, b, stride=2)[0], 1e-5, "unbatched conv_transpose2d")
    # one result for any thread count split: compare a big batch at 1 and several threads
    xb = cn.tensor(randn(8, 3, 6, 6).astype(np.float32)).requires_grad_(True)
    wt = cn.tensor(w).requires_grad_(True)
    outs = []
    before = cn.get_num_threads()
    try:
        for t in (1, 3):
            cn.set_num_threads(t)
            xb.grad = None
            wt.grad = None
            y = F.conv_transpose2d(xb, wt, stride=2, padding=1, output_padding=1)
            y.sum().backward()
            outs.append((_np(y), xb.grad.numpy(), wt.grad.numpy()))
    finally:
        cn.set_num_threads(before)
    for a, b_ in zip(outs[0], outs[1]):
        _close(a, b_, 1e-5, "conv_transpose2d at 1 and 3 threads")


CONV_T_MODULES = [
    ("ConvTranspose2d(3, 4, 3)", (2, 3, 5, 5)),
    ("ConvTranspose2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), output_padding=(1, 0), groups=2, bias=False)",
     (2, 4, 4, 5)),
    ("ConvTranspose2d(2, 2, 4, stride=2, padding=1, dilation=2)", (1, 2, 3, 3)),
]


@pytest.mark.parametrize("spec,shape", CONV_T_MODULES, ids=[s for s, _ in CONV_T_MODULES])
def test_conv_transpose2d_module(spec, shape):
    m, t = _module_matches_torch(spec, shape)
    assert tuple(m.weight.shape) == tuple(t.weight.shape)
    assert (m.stride, m.padding, m.output_padding, m.dilation, m.groups) == (
        t.stride, t.padding, t.output_padding, t.dilation, t.groups)


def test_conv_transpose2d_default_init_matches_torch_bounds():
    """Kaiming-uniform(a=sqrt(5)) over fan_in = out/groups * kh * kw and a bias in +-1/sqrt(fan_in)."""
    cn.manual_seed(0)
    m = nn.ConvTranspose2d(16, 8, 3, groups=2)
    fan_in = 8 // 2 * 9
    w, b = _np(m.weight), _np(m.bias)
    bound = 1 / np.sqrt(fan_in)  # kaiming_uniform with a=sqrt(5): gain sqrt(1/3), bound gain*sqrt(3/fan_in)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert np.abs(b).max() <= bound and np.abs(b).max() > 0.5 * bound
    if torch is not None:
        t = torch.nn.ConvTranspose2d(16, 8, 3, groups=2)
        tb = float(t.weight.detach().abs().max())
        assert tb <= bound and abs(tb - np.abs(w).max()) < 0.2 * bound


def test_conv_transpose2d_without_bias_reads_none():
    assert nn.ConvTranspose2d(2, 3, 3, bias=False).bias is None
    assert nn.Conv2d(2, 3, 3, bias=False).bias is None and nn.Linear(2, 3, bias=False).bias is None
    assert tuple(nn.ConvTranspose2d(2, 3, 3).bias.shape) == (3,)


def test_conv_transpose2d_summary_counts_macs():
    from convnet.summary import summary
    model = nn.Sequential(nn.ConvTranspose2d(3, 4, 3, stride=2), nn.ReLU())
    s = summary(model, (3, 5, 5), print_fn=None)
    assert s.rows[0][4] == 3 * 5 * 5 * 4 * 3 * 3
    assert s.total_macs == 3 * 5 * 5 * 4 * 3 * 3


def test_conv_transpose2d_errors():
    w = cn.randn(3, 2, 3, 3)
    with pytest.raises(ValueError, match=msg("conv_transpose2d: ", "input has 4 channel(s), expected 3",
                                             "(1, 4, 5, 5)")):
        F.conv_transpose2d(cn.randn(1, 4, 5, 5), w)
    with pytest.raises(ValueError, match=msg("conv_transpose2d: ", "4-D", "(5, 5)")):
        F.conv_transpose2d(cn.randn(5, 5), w)
    with pytest.raises(ValueError, match=msg("conv_transpose2d: ", "output_padding must be smaller than either stride or "
                                             "dilation")):
        F.conv_transpose2d(cn.randn(1, 3, 5, 5), w, stride=2, output_padding=2)
    with pytest.raises(ValueError, match=msg("conv_transpose2d: ", "bias must have shape (2,)", "(3,)")):
        F.conv_transpose2d(cn.randn(1, 3, 5, 5), w, cn.randn(3))
    with pytest.raises(ValueError, match=msg("conv_transpose2d: ", "output size", "must be positive", "(1, 3, 1, 1)")):
        F.conv_transpose2d(cn.randn(1, 3, 1, 1), w, padding=2)
    with pytest.raises(ValueError, match=msg("conv_transpose2d: ", "divisible by groups")):
        F.conv_transpose2d(cn.randn(1, 3, 5, 5), w, groups=2)
    with pytest.raises(ValueError, match=msg("conv_transpose2d", "weight must be 4-D", "(3, 2)")):
        F.conv_transpose2d(cn.randn(1, 3, 5, 5), cn.randn(3, 2))
    with pytest.raises(ValueError, match=msg("ConvTranspose2d(in_channels=3, out_channels=4", "groups=2")):
        nn.ConvTranspose2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match=msg("ConvTranspose2d", "output_padding (2, 2)")):
        nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=2)


# ---- padding ---------------------------------------------------------------------------------------------

PAD_CASES = [((2, 3, 4, 5), (1, 2, 0, 3), 0.0), ((1, 2, 5, 6), (-1, 2, 1, -2), 1.5), ((2, 3, 4), (2, -1), -2.0),
             ((3, 4), (0, 0, 2, 1), 0.0), ((1, 1, 4, 4), (-1, -1, -1, -1), 0.0), ((2, 5), (3, 3), 0.25)]


@pytest.mark.parametrize("shape,pads,value", PAD_CASES)
def test_pad(shape, pads, value):
    x = randn(*shape)
    check_op(f"pad(pad={pads}, value={value})", lambda x: F.pad(x, pads, value=value), [x],
             ref=lambda x: NP.pad(x, pads, value), ref_grad=lambda x, dy: NP.pad_backward(x, dy, pads),
             torch_fn=lambda x: tF.pad(x, pads, value=value))


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_conv2d_same_padding_still_matches_torch_with_even_kernels():
    x, w = randn(2, 3, 6, 7), randn(4, 3, 2, 4) * 0.5
    check_op("conv2d(padding='same', even kernel)", lambda x, w: F.conv2d(x, w, padding="same"), [x, w], (0, 1),
             torch_fn=lambda x, w: tF.conv2d(x, w, padding="same"))


@pytest.mark.parametrize("spec,shape", [("ZeroPad2d(2)", (2, 3, 4, 4)), ("ZeroPad2d((1, 0, -1, 2))", (1, 2, 5, 3)),
                                        ("ZeroPad2d((0, 3, 1, 1))", (2, 2, 3))])
def test_zero_pad_module(spec, shape):
    m, t = _module_matches_torch(spec, shape)
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


# ---- interpolation ------------------------------------------------------------------------------------

INTERP_CASES = [
    ((2, 3, 4, 5), dict(scale_factor=2)),
    ((1, 2, 5, 3), dict(size=(7, 8))),
    ((1, 2, 7, 9), dict(size=(3, 4))),
    ((2, 1, 3, 4), dict(scale_factor=(1.5, 2.5))),
    ((1, 2, 6, 5), dict(scale_factor=0.5)),
    ((1, 1, 5, 5), dict(size=5)),
    ((1, 1, 4, 6), dict(scale_factor=1.7, recompute_scale_factor=True)),
]


@pytest.mark.parametrize("shape,kw", INTERP_CASES)
@pytest.mark.parametrize("mode,align", [("nearest", None), ("bilinear", False), ("bilinear", True)])
def test_interpolate(shape, kw, mode, align):
    x = randn(*shape)
    args = dict(kw, mode=mode, align_corners=align)
    ref_kw = {k: v for k, v in args.items() if k != "recompute_scale_factor"}
    if kw.get("recompute_scale_factor"):  # index from the output size, as if it had been given
        ref_kw["size"] = tuple(int(np.floor(s * kw["scale_factor"])) for s in shape[2:])
        del ref_kw["scale_factor"]
    check_op(f"interpolate({args})", lambda x: F.interpolate(x, **args), [x],
             ref=lambda x: NP.interpolate(x, **ref_kw),
             ref_grad=lambda x, dy: NP.interpolate_backward(x, dy, **ref_kw),
             torch_fn=lambda x: tF.interpolate(x, **args))


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
    m, t = _module_matches_torch(spec, shape)
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


# ---- thread counts ------------------------------------------------------------------------------------

THREAD_OPS = [
    ("batch_norm", lambda x: F.batch_norm(x, None, None, training=True)),
    ("local_response_norm", lambda x: F.local_response_norm(x, 5)),
    ("adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, (5, 7))),
    ("interpolate bilinear", lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear")),
    ("pad", lambda x: F.pad(x, (2, -1, 1, 3), value=0.5)),
    ("lp_pool2d", lambda x: F.lp_pool2d(x, 2, 3, 2)),
]


@pytest.mark.parametrize("name,fn", THREAD_OPS, ids=[n for n, _ in THREAD_OPS])
def test_results_do_not_depend_on_the_thread_count(name, fn):
    """Inputs large enough to run in parallel: bit-identical outputs and gradients at 1 and 3 threads."""
    x_np = np.random.default_rng(9).standard_normal((6, 16, 24, 24)).astype(np.float32)
    dy = None
    results = []
    before = cn.get_num_threads()
    try:
        for t in (1, 3):
            cn.set_num_threads(t)
            x = cn.tensor(x_np).requires_grad_(True)
            y = fn(x)
            if dy is None:
                dy = np.random.default_rng(10).standard_normal(tuple(y.shape)).astype(np.float32)
            y.backward(cn.tensor(dy))
            results.append((_np(y), x.grad.numpy()))
    finally:
        cn.set_num_threads(before)
    assert np.array_equal(results[0][0], results[1][0]), f"{name} forward"
    assert np.array_equal(results[0][1], results[1][1]), f"{name} gradient"
