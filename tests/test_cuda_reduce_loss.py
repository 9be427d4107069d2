"""Reductions, softmax and losses on the GPU against the CPU: sum/mean/max/argmax over
dimensions with keepdim (integer sums, NaN and ties of max, long reductions split in
chunks), softmax/log_softmax over each dimension, every loss with its options and
reductions (and its module form), the same errors for bad targets on both devices, and
the gradient clipping and max-norm utilities."""

import math
import re

import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from convnet import nn
from convnet.nn import utils
from opcheck import DEVICES, check_devices, requires_cuda

pytestmark = pytest.mark.cuda  # the device tests (run by the emulated CUDA build)

rng = np.random.default_rng(77)
REDUCTIONS = ["mean", "sum", "none"]


def randn(*shape):
    return rng.standard_normal(shape)


def msg(*parts):
    """A regex that finds every literal part, in any order."""
    return "(?s)" + "".join(f"(?=.*{re.escape(p)})" for p in parts)


def _same_on_both(fn, *arrays):
    """fn over CPU tensors and over GPU tensors: same dtype, shape and values (outputs may be tuples)."""
    want = fn(*[cn.tensor(a) for a in arrays])
    got = fn(*[cn.tensor(a, device="cuda") for a in arrays])
    for g, w in zip(got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,)):
        assert g.device == cn.device("cuda:0") and g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g.detach().cpu().numpy(), w.detach().numpy(), rtol=1e-6, atol=1e-6)


# ---- reductions -----------------------------------------------------------------------------------------

SUM_CASES = [  # shape, dims, keepdim
    ((3, 4, 5), None, False),
    ((3, 4, 5), 0, False),
    ((3, 4, 5), 1, True),
    ((3, 4, 5), -1, False),
    ((3, 4, 5), (0, 2), True),
    ((3, 4, 5), (1, 2), False),
    ((2, 3, 4, 5), (0, 2, 3), False),
    ((), None, False),
    ((7,), 0, True),
    ((0, 3), 0, False),
    ((1500,), None, False),       # split in chunks, then reduced again
    ((3, 1400), 1, True),
    ((1100, 2), 0, False),
]


@pytest.mark.parametrize("shape,dims,keepdim", SUM_CASES, ids=str)
def test_sum_and_mean(shape, dims, keepdim):
    x = randn(*shape)
    check_devices(f"sum(dims={dims}, keepdim={keepdim})", lambda x: x.sum(dims, keepdim), [x])
    if x.size:
        check_devices(f"mean(dims={dims}, keepdim={keepdim})", lambda x: x.mean(dims, keepdim), [x])


@requires_cuda
@pytest.mark.parametrize("dtype", [np.int64, np.uint8, np.bool_], ids=lambda d: np.dtype(d).name)
def test_integer_sums_are_int64(dtype):
    x = rng.integers(0, 200, (4, 600)).astype(dtype)
    _same_on_both(lambda t: t.sum(), x)
    _same_on_both(lambda t: t.sum(1), x)
    _same_on_both(lambda t: t.sum(0, keepdim=True), x)
    _same_on_both(lambda t: cn.sum(t, (0, 1)), x)


@requires_cuda
def test_long_int_sum_is_exact():
    x = np.full(300_000, 7, np.int64)
    x[::3] = 2**40
    got = cn.tensor(x, device="cuda").sum()
    assert got.dtype == cn.int64 and got.item() == int(x.sum())


MAX_CASES = [((3, 4, 5), 0), ((3, 4, 5), 1), ((3, 4, 5), -1), ((6,), 0), ((), 0), ((2, 1300), 1), ((1300, 3), 0)]


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("shape,dim", MAX_CASES, ids=str)
def test_max_and_argmax(shape, dim, keepdim):
    x = randn(*shape)
    check_devices(f"max(dim={dim}, keepdim={keepdim})", lambda x: x.max(dim, keepdim)[0], [x])
    if cn.cuda.is_available():
        _same_on_both(lambda t: t.max(dim, keepdim), x)
        _same_on_both(lambda t: t.argmax(dim, keepdim), x)
        _same_on_both(lambda t: t.max(), x)


@requires_cuda
def test_max_takes_the_first_maximum_and_the_first_nan():
    x = np.zeros((2, 2000), np.float32)
    x[:, 700] = x[:, 1500] = 3.0  # ties in different chunks: the first wins
    _same_on_both(lambda t: t.max(1), x)
    assert cn.tensor(x, device="cuda").argmax(1).cpu().numpy().tolist() == [700, 700]
    x[0, 1200], x[0, 1800], x[1, 5] = np.nan, np.nan, np.nan
    v, i = cn.tensor(x, device="cuda").max(1)
    assert np.isnan(v.cpu().numpy()).all() and i.cpu().numpy().tolist() == [1200, 5]
    _same_on_both(lambda t: t.max(1), x)
    for dtype in (np.int64, np.uint8, np.bool_):
        _same_on_both(lambda t: t.max(1), (rng.integers(0, 3, (3, 700))).astype(dtype))


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
@pytest.mark.parametrize("log", [False, True])
def test_softmax_over_each_dim(dim, log):
    x = randn(3, 4, 5) * 3
    fn = (lambda x: F.log_softmax(x, dim)) if log else (lambda x: x.softmax(dim))
    check_devices(f"{'log_' if log else ''}softmax(dim={dim})", fn, [x])


@pytest.mark.parametrize("shape,dim", [((7,), 0), ((2, 3, 2, 4), 1), ((5, 1), 1), ((), 0)], ids=str)
def test_softmax_shapes(shape, dim):
    x = randn(*shape)
    check_devices(f"softmax {shape}", lambda x: F.softmax(x, dim), [x])
    check_devices(f"log_softmax {shape}", lambda x: x.log_softmax(dim), [x])


# ---- losses -------------------------------------------------------------------------------------------

def _targets(shape, C, ignore=None):
    t = rng.integers(0, C, shape)
    if ignore is not None:
        t.reshape(-1)[::3] = ignore
    return t


CE_CASES = [  # input shape, weight?, ignore_index?, label_smoothing
    ((4, 5), False, None, 0.0),
    ((4, 5), True, None, 0.0),
    ((4, 5), True, 2, 0.0),
    ((4, 5), False, None, 0.2),
    ((6, 4), True, -100, 0.1),
    ((2, 3, 4), False, 1, 0.1),       # (N, C, L)
    ((2, 3, 2, 3), True, -100, 0.25),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CE_CASES, ids=str)
def test_cross_entropy(case, reduction):
    shape, weighted, ignore, eps = case
    C = shape[1]
    ii = -100 if ignore is None else ignore
    t = _targets(shape[:1] + shape[2:], C, ii if ignore is not None else None)
    inputs = [randn(*shape), t] + ([rng.uniform(0.2, 2.0, C)] if weighted else [])

    def fn(x, t, w=None):
        return F.cross_entropy(x, t, weight=w, ignore_index=ii, reduction=reduction, label_smoothing=eps)

    check_devices(f"cross_entropy(weight={weighted}, ignore_index={ii}, label_smoothing={eps}, {reduction})", fn,
                  inputs)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted,eps", [(False, 0.0), (True, 0.2)])
def test_cross_entropy_with_class_probabilities(weighted, eps, reduction):
    x = randn(4, 5)
    p = rng.dirichlet(np.ones(5), 4)
    inputs = [x, p] + ([rng.uniform(0.2, 2.0, 5)] if weighted else [])

    def fn(x, t, w=None):
        return F.cross_entropy(x, t, weight=w, reduction=reduction, label_smoothing=eps)

    check_devices(f"cross_entropy(probabilities, weight={weighted}, {reduction})", fn, inputs, diff=(0, 1))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape,weighted,ignore", [((6, 4), True, None), ((6, 4), True, 1), ((6, 4), False, 0),
                                                   ((2, 4, 3), True, 2)], ids=str)
def test_nll_loss(shape, weighted, ignore, reduction):
    C = shape[1]
    ii = -100 if ignore is None else ignore
    x = np.log(rng.dirichlet(np.ones(C), (shape[0],) + shape[2:]))
    x = np.ascontiguousarray(np.moveaxis(x, -1, 1))
    inputs = [x, _targets(shape[:1] + shape[2:], C, ignore)] + ([rng.uniform(0.2, 2.0, C)] if weighted else [])
    check_devices(f"nll_loss(weight={weighted}, ignore_index={ii}, {reduction})",
                  lambda x, t, w=None: F.nll_loss(x, t, weight=w, ignore_index=ii, reduction=reduction), inputs)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape", [None, (3, 4), (4,)])
def test_binary_cross_entropy(weight_shape, reduction):
    x, t = rng.uniform(0.05, 0.95, (3, 4)), rng.uniform(0, 1, (3, 4))
    inputs = [x, t] + ([rng.uniform(0.5, 2, weight_shape)] if weight_shape else [])
    check_devices(f"binary_cross_entropy(weight {weight_shape}, {reduction})",
                  lambda x, t, w=None: F.binary_cross_entropy(x, t, w, reduction=reduction), inputs, diff=(0, 1))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape,pos_shape", [(None, None), ((3, 4), None), (None, (4,)), ((4,), (3, 4))])
def test_binary_cross_entropy_with_logits(weight_shape, pos_shape, reduction):
    x = randn(3, 4) * 3
    x[0, 0], x[1, 1] = 40.0, -40.0
    inputs = [x, rng.uniform(0, 1, (3, 4)), rng.uniform(0.5, 2, weight_shape or (1,)),
              rng.uniform(0.5, 3, pos_shape or (1,))]

    def fn(x, t, w, pw):
        return F.binary_cross_entropy_with_logits(x, t, w if weight_shape else None, reduction=reduction,
                                                  pos_weight=pw if pos_shape else None)

    check_devices(f"binary_cross_entropy_with_logits(weight {weight_shape}, pos_weight {pos_shape}, {reduction})",
                  fn, inputs, diff=(0, 1))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_and_l1_loss(reduction):
    x, t = randn(3, 5), randn(3, 5)
    t[np.abs(x - t) < 0.05] += 0.2
    check_devices(f"mse_loss({reduction})", lambda x, t: F.mse_loss(x, t, reduction=reduction), [x, t], diff=(0, 1))
    check_devices(f"l1_loss({reduction})", lambda x, t: F.l1_loss(x, t, reduction=reduction), [x, t], diff=(0, 1))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("beta", [1.0, 0.5, 0.0])
def test_smooth_l1_loss(beta, reduction):
    x, t = randn(3, 5), randn(3, 5)
    x[np.abs(np.abs(x - t) - beta) < 0.02] += 0.05
    check_devices(f"smooth_l1_loss(beta={beta}, {reduction})",
                  lambda x, t: F.smooth_l1_loss(x, t, reduction=reduction, beta=beta), [x, t], diff=(0, 1))


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss")
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(log_target, reduction):
    x = np.log(rng.dirichlet(np.ones(5), 4))
    p = rng.dirichlet(np.ones(5), 4)
    t = np.log(p) if log_target else p
    check_devices(f"kl_div(log_target={log_target}, {reduction})",
                  lambda x, t: F.kl_div(x, t, reduction=reduction, log_target=log_target), [x, t], diff=(0, 1))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p,margin,weighted", [(1, 1.0, False), (2, 1.0, False), (1, 0.5, True), (2, 2.0, True)])
def test_multi_margin_loss(p, margin, weighted, reduction):
    inputs = [randn(5, 4), rng.integers(0, 4, 5)] + ([rng.uniform(0.5, 2, 4)] if weighted else [])

    def fn(x, t, w=None):
        return F.multi_margin_loss(x, t, p=p, margin=margin, weight=w, reduction=reduction)

    check_devices(f"multi_margin_loss(p={p}, margin={margin}, weight={weighted}, {reduction})", fn, inputs)
    check_devices(f"multi_margin_loss one sample (p={p}, {reduction})", fn, [randn(4), np.int64(2)])


@requires_cuda
@pytest.mark.parametrize("make,kind", [
    (lambda: nn.CrossEntropyLoss(weight=cn.tensor(np.linspace(0.5, 2, 4), dtype=cn.float32), label_smoothing=0.1),
     "class"),
    (lambda: nn.NLLLoss(weight=cn.tensor(np.linspace(0.5, 2, 4), dtype=cn.float32), ignore_index=1), "class"),
    (lambda: nn.BCEWithLogitsLoss(pos_weight=cn.tensor(np.linspace(0.5, 2, 4), dtype=cn.float32)), "pair"),
    (lambda: nn.BCELoss(weight=cn.tensor(np.linspace(0.5, 2, 4), dtype=cn.float32)), "prob"),
    (lambda: nn.MultiMarginLoss(p=2, weight=cn.tensor(np.linspace(0.5, 2, 4), dtype=cn.float32)), "class"),
], ids=["CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss", "BCELoss", "MultiMarginLoss"])
def test_loss_modules_with_weight_buffers_move_to_the_gpu(make, kind):
    x = randn(6, 4).astype(np.float32)
    t = (rng.integers(0, 4, 6) if kind == "class" else rng.uniform(0, 1, (6, 4)).astype(np.float32))
    if kind == "prob":
        x = rng.uniform(0.05, 0.95, (6, 4)).astype(np.float32)
    m = make()
    xc = cn.tensor(x, requires_grad=True)
    want = m(xc, cn.tensor(t))
    want.backward()
    m.to("cuda")
    xg = cn.tensor(x, device="cuda", requires_grad=True)
    got = m(xg, cn.tensor(t, device="cuda"))
    got.backward()
    assert got.device == cn.device("cuda:0")
    np.testing.assert_allclose(got.item(), want.item(), rtol=1e-5)
    np.testing.assert_allclose(xg.grad.cpu().numpy(), xc.grad.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("device", DEVICES)
def test_bad_targets_raise_the_same_errors_on_both_devices(device):
    x = cn.zeros(2, 4, device=device)
    with pytest.raises(ValueError, match=msg("cross_entropy", "target 4 at position 1", "out of range for 4 classes",
                                             "(2, 4)")):
        F.cross_entropy(x, cn.tensor(np.array([0, 4]), device=device))
    with pytest.raises(ValueError, match=msg("cross_entropy", "target -1 at position 0", "out of range")):
        F.cross_entropy(x, cn.tensor(np.array([-1, 0]), device=device))
    with pytest.raises(ValueError, match=msg("nll_loss", "target 7 at position 3", "out of range", "(2, 4, 2)")):
        F.nll_loss(cn.zeros(2, 4, 2, device=device), cn.tensor(np.array([[0, 1], [2, 7]]), device=device))
    with pytest.raises(ValueError, match=msg("multi_margin_loss", "target 4", "out of range", "(2, 4)")):
        F.multi_margin_loss(x, cn.tensor(np.array([0, 4]), device=device))
    with pytest.raises(ValueError, match=msg("binary_cross_entropy", "between 0 and 1", "1.5", "(2, 4)")):
        F.binary_cross_entropy(cn.full((2, 4), 1.5, device=device), cn.zeros(2, 4, device=device))
    # an ignored target may be out of range
    F.cross_entropy(x, cn.tensor(np.array([0, -100]), device=device))


@requires_cuda
def test_losses_name_both_devices_when_mixed():
    x, t = cn.zeros(2, 4, device="cuda"), cn.tensor(np.array([0, 1]))
    with pytest.raises(ValueError, match=msg("cross_entropy", "one device", "cuda:0", "cpu")):
        F.cross_entropy(x, t)
    with pytest.raises(ValueError, match=msg("cross_entropy", "one device", "cuda:0", "cpu")):
        F.cross_entropy(x, t.to("cuda"), weight=cn.ones(4))
    with pytest.raises(ValueError, match=msg("binary_cross_entropy_with_logits", "one device", "cuda:0", "cpu")):
        F.binary_cross_entropy_with_logits(x, cn.zeros(2, 4, device="cuda"), pos_weight=cn.ones(4))
    with pytest.raises(ValueError, match=msg("mse_loss", "one device", "cuda:0", "cpu")):
        F.mse_loss(x, cn.zeros(2, 4))


# ---- gradient clipping and max-norm ---------------------------------------------------------------------

def _params_with_grads(device, dtype=np.float32):
    r = np.random.default_rng(5)
    params = []
    for shape in [(4, 3), (7,), (2, 2, 3)]:
        p = cn.tensor(r.standard_normal(shape).astype(dtype), device=device, requires_grad=True)
        (p * cn.tensor(r.standard_normal(shape).astype(dtype), device=device)).sum().backward()
        params.append(p)
    params.append(cn.tensor(np.zeros(3, dtype), device=device, requires_grad=True))  # no gradient
    return params


@requires_cuda
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, 0.0, math.inf, -math.inf])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_clip_grad_norm_on_the_gpu(norm_type, dtype):
    cpu, gpu = _params_with_grads("cpu", dtype), _params_with_grads("cuda", dtype)
    want = utils.clip_grad_norm_(cpu, 0.5, norm_type=norm_type)
    got = utils.clip_grad_norm_(gpu, 0.5, norm_type=norm_type)
    assert got.dtype == want.dtype
    assert got.item() == pytest.approx(want.item(), rel=1e-6)
    for a, b in zip(gpu[:-1], cpu[:-1]):
        assert a.grad.device == cn.device("cuda:0")
        np.testing.assert_allclose(a.grad.cpu().numpy(), b.grad.numpy(), rtol=1e-6)
    assert gpu[-1].grad is None


@requires_cuda
def test_clip_grad_value_and_max_norm_on_the_gpu():
    cpu, gpu = _params_with_grads("cpu"), _params_with_grads("cuda")
    utils.clip_grad_value_(cpu, 0.3)
    utils.clip_grad_value_(gpu, 0.3)
    for a, b in zip(gpu[:-1], cpu[:-1]):
        np.testing.assert_array_equal(a.grad.cpu().numpy(), b.grad.numpy())
    w = randn(5, 3, 2, 2).astype(np.float32)
    for dim in (0, 1, -1):
        wc, wg = cn.tensor(w), cn.tensor(w, device="cuda")
        utils.max_norm_(wc, 1.5, dim=dim)
        utils.max_norm_(wg, 1.5, dim=dim)
        assert wg.device == cn.device("cuda:0")
        np.testing.assert_allclose(wg.cpu().numpy(), wc.numpy(), rtol=1e-6)
    pen = utils.l1_penalty(gpu[:3])
    assert pen.device == cn.device("cuda:0")
    assert pen.item() == pytest.approx(utils.l1_penalty(cpu[:3]).item(), rel=1e-6)
