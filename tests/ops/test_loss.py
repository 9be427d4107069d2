"""The loss op stem (cpp/src/ops/loss.cpp): every loss with its options and reductions, and its module form. The cases run through tests/opcheck.py
(NumPy reference, float64 finite differences, PyTorch parity, the GPU against the CPU) and the
error cases check their messages."""

import numpy as np
import pytest

from convnet import nn
import convnet as cn
import convnet.functional as F
from reference import blocks as RB
from reference import ops as R
from opcheck import DEVICES, check_case, check_double_backward, msg, on_devices, randn, requires_cuda, rng, tF, torch


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(6, 5), (3, 4, 2, 3)])
def test_cross_entropy(device, reduction, shape):
    x = randn(*shape) * 2
    t = rng().integers(0, shape[1], (shape[0],) + shape[2:]).astype(np.int64)
    check_case(device, f"cross_entropy(reduction={reduction})",
               lambda x, t: F.cross_entropy(x, t, reduction=reduction), [x, t],
               ref=lambda x, t: R.cross_entropy(x, t, reduction),
               ref_grad=lambda x, t, dy: R.cross_entropy_backward(x, t, dy, reduction),
               torch_fn=lambda x, t: tF.cross_entropy(x, t, reduction=reduction))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss(device, reduction):
    x = R.log_softmax(randn(7, 4), 1)
    t = rng().integers(0, 4, 7).astype(np.int64)
    check_case(device, f"nll_loss(reduction={reduction})", lambda x, t: F.nll_loss(x, t, reduction=reduction),
               [x, t], ref=lambda x, t: R.nll_loss(x, t, reduction),
               ref_grad=lambda x, t, dy: R.nll_loss_backward(x, t, dy, reduction),
               torch_fn=lambda x, t: tF.nll_loss(x, t, reduction=reduction), double_backward=True)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss(device, reduction):
    x, y = randn(4, 3), randn(4, 3)
    check_case(device, f"mse_loss(reduction={reduction})", lambda x, y: F.mse_loss(x, y, reduction=reduction),
               [x, y], (0, 1), ref=lambda x, y: R.mse_loss(x, y, reduction),
               ref_grad=lambda x, y, dy: R.mse_loss_backward(x, y, dy, reduction),
               torch_fn=lambda x, y: tF.mse_loss(x, y, reduction=reduction), double_backward=True)


@pytest.mark.parametrize("device", DEVICES)
def test_cross_entropy_ignore_index(device):
    x = randn(5, 3)
    t = np.array([0, -100, 2, 1, -100], np.int64)
    check_case(device, "cross_entropy(ignore_index=-100)", F.cross_entropy, [x, t],
               torch_fn=lambda x, t: tF.cross_entropy(x, t))


REDUCTIONS = ["mean", "sum", "none"]


def _targets(shape, C, ignore=None):
    t = rng().integers(0, C, shape)
    if ignore is not None:
        t.reshape(-1)[::3] = ignore
    return t


CE_CASES = [  # input shape, weight?, ignore_index?, label_smoothing
    ((4, 5), False, None, 0.0),
    ((4, 5), True, None, 0.0),
    ((4, 5), True, 2, 0.0),
    ((4, 5), False, None, 0.2),
    ((4, 5), True, None, 0.3),
    ((6, 4), True, -100, 0.1),
    ((2, 3, 2, 3), True, -100, 0.25),
    ((2, 3, 4), False, 1, 0.1),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CE_CASES, ids=str)
def test_cross_entropy_weight_ignore_index_label_smoothing(device, case, reduction):
    shape, weighted, ignore, eps = case
    C = shape[1]
    x = randn(*shape)
    ii = -100 if ignore is None else ignore
    t = _targets(shape[:1] + shape[2:], C, ii if ignore is not None else None)
    w = rng().uniform(0.2, 2.0, C) if weighted else None
    inputs = [x, t] + ([w] if weighted else [])

    def fn(x, t, w=None):
        return F.cross_entropy(x, t, weight=w, ignore_index=ii, reduction=reduction, label_smoothing=eps)

    def tfn(x, t, w=None):
        return tF.cross_entropy(x, t, weight=w, ignore_index=ii, reduction=reduction, label_smoothing=eps)

    check_case(device, f"cross_entropy(weight={weighted}, ignore_index={ii}, label_smoothing={eps}, {reduction})",
               fn, inputs, (0,), ref=lambda x, t, w=None: RB.cross_entropy(x, t, w, ii, reduction, eps),
               ref_grad=lambda x, t, *rest: RB.cross_entropy_backward(x, t, rest[-1], rest[0] if weighted else None,
                                                                     ii, reduction, eps),
               torch_fn=tfn)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("device,shape,weighted,ignore", on_devices(
    [((6, 4), True, None), ((6, 4), True, 1), ((6, 4), False, 0)], cuda=[((2, 4, 3), True, 2)]), ids=str)
def test_nll_loss_weight_ignore_index(device, shape, weighted, ignore, reduction):
    C = shape[1]
    x = np.log(rng().dirichlet(np.ones(C), (shape[0],) + shape[2:]))
    x = np.ascontiguousarray(np.moveaxis(x, -1, 1))
    ii = -100 if ignore is None else ignore
    t = _targets(shape[:1] + shape[2:], C, ignore)
    inputs = [x, t] + ([rng().uniform(0.2, 2.0, C)] if weighted else [])

    def fn(x, t, w=None):
        return F.nll_loss(x, t, weight=w, ignore_index=ii, reduction=reduction)

    check_case(device, f"nll_loss(weight={weighted}, ignore_index={ii}, {reduction})", fn, inputs, (0,),
               ref=lambda x, t, w=None: RB.nll_loss(x, t, w, ii, reduction),
               ref_grad=lambda x, t, *rest: RB.nll_loss_backward(x, t, rest[-1], rest[0] if weighted else None, ii,
                                                                reduction),
               torch_fn=lambda x, t, w=None: tF.nll_loss(x, t, weight=w, ignore_index=ii, reduction=reduction),
               double_backward=True)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape", [None, (3, 4), (4,)])
def test_binary_cross_entropy(device, weight_shape, reduction):
    x = rng().uniform(0.05, 0.95, (3, 4))
    t = rng().uniform(0, 1, (3, 4))
    inputs = [x, t] + ([rng().uniform(0.5, 2, weight_shape)] if weight_shape else [])
    check_case(device, f"binary_cross_entropy(weight {weight_shape}, {reduction})",
               lambda x, t, w=None: F.binary_cross_entropy(x, t, w, reduction=reduction), inputs, (0, 1),
               ref=lambda x, t, w=None: RB.binary_cross_entropy(x, t, w, reduction),
               ref_grad=lambda x, t, *rest: RB.binary_cross_entropy_backward(
                   x, t, rest[-1], rest[0] if weight_shape else None, reduction),
               torch_fn=lambda x, t, w=None: tF.binary_cross_entropy(x, t, w, reduction=reduction),
               double_backward=True)


def test_binary_cross_entropy_clamps_the_log_at_minus_100():
    x = np.array([0.0, 1.0, 0.5, 1.0])
    t = np.array([1.0, 0.0, 1.0, 1.0])
    got = F.binary_cross_entropy(cn.tensor(x), cn.tensor(t), reduction="none").numpy()
    np.testing.assert_allclose(got, RB.binary_cross_entropy(x, t, reduction="none"), rtol=1e-6)
    assert got[0] == 100 and got[1] == 100
    if torch is not None:
        want = tF.binary_cross_entropy(torch.tensor(x, dtype=torch.float32), torch.tensor(t, dtype=torch.float32),
                                       reduction="none").numpy()
        np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape,pos_shape", [(None, None), ((3, 4), None), (None, (4,)), ((4,), (3, 4))])
def test_binary_cross_entropy_with_logits(device, weight_shape, pos_shape, reduction):
    x = randn(3, 4) * 3
    x[0, 0], x[1, 1] = 40.0, -40.0  # the stable form holds at large |x|
    t = rng().uniform(0, 1, (3, 4))
    # weight and pos_weight travel as inputs (to the case's device); a (1,) stand-in where absent
    inputs = [x, t, rng().uniform(0.5, 2, weight_shape or (1,)), rng().uniform(0.5, 3, pos_shape or (1,))]

    def given(w, pw):
        return (w if weight_shape else None), (pw if pos_shape else None)

    def fn(x, t, w, pw):
        w, pw = given(w, pw)
        return F.binary_cross_entropy_with_logits(x, t, w, reduction=reduction, pos_weight=pw)

    check_case(device, f"binary_cross_entropy_with_logits(weight {weight_shape}, pos_weight {pos_shape}, {reduction})",
               fn, inputs, (0, 1),
               ref=lambda x, t, w, pw: RB.binary_cross_entropy_with_logits(x, t, given(w, pw)[0], reduction,
                                                                           given(w, pw)[1]),
               ref_grad=lambda x, t, w, pw, dy: RB.binary_cross_entropy_with_logits_backward(
                   x, t, dy, given(w, pw)[0], reduction, given(w, pw)[1]),
               torch_fn=lambda x, t, w, pw: tF.binary_cross_entropy_with_logits(
                   x, t, given(w, pw)[0], reduction=reduction, pos_weight=given(w, pw)[1]), double_backward=True)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_l1_loss(device, reduction):
    x, t = randn(3, 5), randn(3, 5)
    t[np.abs(x - t) < 0.05] += 0.2  # away from the kink at x = t
    check_case(device, f"l1_loss({reduction})", lambda x, t: F.l1_loss(x, t, reduction=reduction), [x, t], (0, 1),
               ref=lambda x, t: RB.l1_loss(x, t, reduction),
               ref_grad=lambda x, t, dy: RB.l1_loss_backward(x, t, dy, reduction),
               torch_fn=lambda x, t: tF.l1_loss(x, t, reduction=reduction), double_backward=True)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("beta", [1.0, 0.5, 0.0])
def test_smooth_l1_loss(device, beta, reduction):
    x, t = randn(3, 5), randn(3, 5)
    d = x - t
    x[np.abs(np.abs(d) - beta) < 0.02] += 0.05  # away from the kink at |d| = beta
    check_case(device, f"smooth_l1_loss(beta={beta}, {reduction})",
               lambda x, t: F.smooth_l1_loss(x, t, reduction=reduction, beta=beta), [x, t], (0, 1),
               ref=lambda x, t: RB.smooth_l1_loss(x, t, reduction, beta),
               ref_grad=lambda x, t, dy: RB.smooth_l1_loss_backward(x, t, dy, reduction, beta),
               torch_fn=lambda x, t: tF.smooth_l1_loss(x, t, reduction=reduction, beta=beta), double_backward=True)


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss")  # torch's notice
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(device, log_target, reduction):
    x = np.log(rng().dirichlet(np.ones(5), 4))
    p = rng().dirichlet(np.ones(5), 4)
    t = np.log(p) if log_target else p
    check_case(device, f"kl_div(log_target={log_target}, {reduction})",
               lambda x, t: F.kl_div(x, t, reduction=reduction, log_target=log_target), [x, t], (0, 1),
               ref=lambda x, t: RB.kl_div(x, t, reduction, log_target),
               ref_grad=lambda x, t, dy: RB.kl_div_backward(x, t, dy, reduction, log_target),
               torch_fn=lambda x, t: tF.kl_div(x, t, reduction=reduction, log_target=log_target), double_backward=True)


def test_kl_div_zero_target_contributes_nothing():
    x = np.log(np.array([[0.2, 0.3, 0.5]]))
    t = np.array([[0.0, 0.4, 0.6]])
    got = F.kl_div(cn.tensor(x), cn.tensor(t), reduction="none").numpy()
    assert got[0, 0] == 0
    np.testing.assert_allclose(got, RB.kl_div(x, t, "none"), rtol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p,margin,weighted", [(1, 1.0, False), (2, 1.0, False), (1, 0.5, True), (2, 2.0, True)])
@pytest.mark.parametrize("device,batch", on_devices([((5,),)], cuda=[((),)]),  # one sample: on the GPU only
                         ids=lambda v: {(5,): "batch", (): "one sample"}.get(v, v))
def test_multi_margin_loss(device, batch, p, margin, weighted, reduction):
    x = randn(*batch, 4)
    t = rng().integers(0, 4, batch)
    w = rng().uniform(0.5, 2, 4)
    inputs = [x, t] + ([w] if weighted else [])

    def fn(x, t, w=None):
        return F.multi_margin_loss(x, t, p=p, margin=margin, weight=w, reduction=reduction)

    name = f"multi_margin_loss(p={p}, margin={margin}, weight={weighted}, {reduction})"
    check_case(device, name, fn, inputs,
               (0,), ref=lambda x, t, w=None: RB.multi_margin_loss(x, t, p, margin, w, reduction),
               ref_grad=lambda x, t, *rest: RB.multi_margin_loss_backward(x, t, rest[-1], p, margin,
                                                                         rest[0] if weighted else None, reduction),
               torch_fn=lambda x, t, w=None: tF.multi_margin_loss(x, t, p=p, margin=margin, weight=w,
                                                                  reduction=reduction))
    if device == "cpu":  # PyTorch has no double backward for it: the finite differences only
        check_double_backward(name, fn, inputs)


def test_multi_margin_loss_single_sample_shapes():
    x = cn.tensor(randn(4))
    assert F.multi_margin_loss(x, cn.tensor(np.int64(1)), reduction="none").shape == ()
    assert F.multi_margin_loss(x, cn.tensor(np.array([1])), reduction="none").shape == (1,)


LOSS_MODULES = [  # convnet module, torch module, inputs maker
    (lambda: nn.BCELoss(), lambda: torch.nn.BCELoss(), "prob"),
    (lambda: nn.BCELoss(weight=cn.tensor(np.linspace(0.5, 2, 4))), lambda: torch.nn.BCELoss(
        weight=torch.linspace(0.5, 2, 4, dtype=torch.float64)), "prob"),
    (lambda: nn.BCEWithLogitsLoss(pos_weight=cn.tensor(np.full(4, 2.0))),
     lambda: torch.nn.BCEWithLogitsLoss(pos_weight=torch.full((4,), 2.0, dtype=torch.float64)), "real"),
    (lambda: nn.L1Loss(reduction="sum"), lambda: torch.nn.L1Loss(reduction="sum"), "real"),
    (lambda: nn.SmoothL1Loss(beta=0.5), lambda: torch.nn.SmoothL1Loss(beta=0.5), "real"),
    (lambda: nn.KLDivLoss(reduction="batchmean"), lambda: torch.nn.KLDivLoss(reduction="batchmean"), "dist"),
    (lambda: nn.MultiMarginLoss(p=2, margin=0.5), lambda: torch.nn.MultiMarginLoss(p=2, margin=0.5), "class"),
    (lambda: nn.CrossEntropyLoss(weight=cn.tensor(np.linspace(0.5, 2, 4)), label_smoothing=0.1),
     lambda: torch.nn.CrossEntropyLoss(weight=torch.linspace(0.5, 2, 4, dtype=torch.float64), label_smoothing=0.1),
     "class"),
    (lambda: nn.NLLLoss(None, None, 2), lambda: torch.nn.NLLLoss(None, None, 2), "class"),
    (lambda: nn.MSELoss(None, False), lambda: torch.nn.MSELoss(None, False), "real"),
]


def _loss_inputs(kind):
    if kind == "prob":
        return rng().uniform(0.05, 0.95, (3, 4)), rng().uniform(0, 1, (3, 4))
    if kind == "dist":
        return np.log(rng().dirichlet(np.ones(4), 3)), rng().dirichlet(np.ones(4), 3)
    if kind == "class":
        return randn(3, 4), rng().integers(0, 4, 3)
    return randn(3, 4), randn(3, 4)


@pytest.mark.filterwarnings("ignore:size_average and reduce args will be deprecated")  # torch's notice
@pytest.mark.parametrize("case", LOSS_MODULES, ids=["BCELoss", "BCELoss(weight)", "BCEWithLogitsLoss(pos_weight)",
                                                    "L1Loss(sum)", "SmoothL1Loss(beta)", "KLDivLoss(batchmean)",
                                                    "MultiMarginLoss(p=2)", "CrossEntropyLoss(weight, smoothing)",
                                                    "NLLLoss(ignore_index)", "MSELoss(reduce=False)"])
def test_loss_modules_match_torch(case):
    make, make_torch, kind = case
    m = make()
    x, t = _loss_inputs(kind)
    xt = cn.tensor(x)
    xt.requires_grad_(True)
    loss = m(xt, cn.tensor(t))
    loss.sum().backward()
    if torch is None:
        return
    tm = make_torch()
    assert repr(m) == repr(tm)
    assert list(m.state_dict()) == list(tm.state_dict())
    assert m.reduction == tm.reduction
    tx = torch.from_numpy(x)
    tx.requires_grad_(True)
    tloss = tm(tx, torch.from_numpy(t))
    tloss.sum().backward()
    np.testing.assert_allclose(loss.detach().numpy(), tloss.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_loss_errors():
    x4, t4 = cn.zeros(2, 4), cn.zeros(2, 4)
    with pytest.raises(ValueError, match=msg("cross_entropy", "weight has shape (3,)", "expected (4,)", "(2, 4)")):
        F.cross_entropy(x4, cn.tensor(np.array([0, 1])), weight=cn.ones(3))
    with pytest.raises(ValueError, match=msg("cross_entropy", "label_smoothing", "1.5")):
        F.cross_entropy(x4, cn.tensor(np.array([0, 1])), label_smoothing=1.5)
    with pytest.raises(ValueError, match=msg("nll_loss", "weight has shape (5,)", "expected (4,)")):
        F.nll_loss(x4, cn.tensor(np.array([0, 1])), weight=cn.ones(5))
    with pytest.raises(ValueError, match=msg("binary_cross_entropy", "input shape (2, 4)", "target shape (2, 3)")):
        F.binary_cross_entropy(cn.rand(2, 4), cn.zeros(2, 3))
    with pytest.raises(ValueError, match=msg("binary_cross_entropy", "between 0 and 1", "(2, 4)")):
        F.binary_cross_entropy(cn.full((2, 4), 1.5), t4)
    with pytest.raises(ValueError, match=msg("binary_cross_entropy_with_logits", "(3,)", "(2, 4)")):
        F.binary_cross_entropy_with_logits(x4, t4, pos_weight=cn.ones(3))
    with pytest.raises(ValueError, match=msg("binary_cross_entropy_with_logits", "weight", "(2, 2, 4)",
                                             "cannot be broadcast", "(2, 4)")):
        F.binary_cross_entropy_with_logits(x4, t4, weight=cn.ones(2, 2, 4))
    with pytest.raises(ValueError, match=msg("l1_loss", "(2, 4)", "(4, 2)")):
        F.l1_loss(x4, cn.zeros(4, 2))
    with pytest.raises(ValueError, match=msg("smooth_l1_loss", "beta", "-1")):
        F.smooth_l1_loss(x4, t4, beta=-1.0)
    with pytest.raises(ValueError, match=msg("kl_div", "batchmean", "'avg'".replace("'", '"'))):
        F.kl_div(x4, t4, reduction="avg")
    with pytest.raises(ValueError, match=msg("multi_margin_loss", "p must be 1 or 2", "3")):
        F.multi_margin_loss(x4, cn.tensor(np.array([0, 1])), p=3)
    with pytest.raises(ValueError, match=msg("multi_margin_loss", "target 4", "out of range", "(2, 4)")):
        F.multi_margin_loss(x4, cn.tensor(np.array([0, 4])))
    with pytest.raises(ValueError, match=msg("multi_margin_loss", "target shape (3,)", "(2, 4)")):
        F.multi_margin_loss(x4, cn.tensor(np.array([0, 1, 2])))
    with pytest.raises(ValueError, match=msg("BCELoss", "reduction", "'avg'")):
        nn.BCELoss(reduction="avg")


def test_legacy_size_average_and_reduce_map_to_reduction():
    x, t = cn.tensor(randn(3, 4)), cn.tensor(randn(3, 4))
    assert nn.L1Loss(size_average=False).reduction == "sum"
    assert nn.L1Loss(reduce=False).reduction == "none"
    assert nn.L1Loss(True, True).reduction == "mean"
    s = F.l1_loss(x, t, size_average=False).item()
    assert abs(s - F.l1_loss(x, t, reduction="sum").item()) < 1e-5
    assert F.l1_loss(x, t, reduce=False).shape == (3, 4)


def test_l1_loss_weight_as_torch():
    x, t, w = randn(3, 4), randn(3, 4), rng().uniform(0.1, 2, (3, 4))
    got = F.l1_loss(cn.tensor(x), cn.tensor(t), weight=cn.tensor(w)).item()
    want = (np.abs(x - t) * w).sum() / w.sum()
    assert abs(got - want) < 1e-5 * abs(want)
    if torch is not None:
        tw = tF.l1_loss(torch.from_numpy(x), torch.from_numpy(t), weight=torch.from_numpy(w)).item()
        assert abs(tw - want) < 1e-10


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape,weighted,eps", [((4, 5), False, 0.0), ((4, 5), True, 0.2), ((2, 3, 2, 2), True, 0.0)])
def test_cross_entropy_with_class_probabilities(device, shape, weighted, eps, reduction):
    x = randn(*shape)
    p = rng().dirichlet(np.ones(shape[1]), shape[:1] + shape[2:])
    t = np.ascontiguousarray(np.moveaxis(p, -1, 1))  # opcheck perturbs inputs through flat views
    inputs = [x, t] + ([rng().uniform(0.2, 2.0, shape[1])] if weighted else [])

    def fn(x, t, w=None):
        return F.cross_entropy(x, t, weight=w, reduction=reduction, label_smoothing=eps)

    def tfn(x, t, w=None):
        return tF.cross_entropy(x, t, weight=w, reduction=reduction, label_smoothing=eps)

    check_case(device, f"cross_entropy(probabilities, weight={weighted}, label_smoothing={eps}, {reduction})", fn,
               inputs, (0, 1), ref=lambda x, t, w=None: RB.cross_entropy_probs(x, t, w, reduction, eps),
               ref_grad=lambda x, t, *rest: RB.cross_entropy_probs_backward(x, t, rest[-1], rest[0] if weighted
                                                                           else None, reduction, eps),
               torch_fn=tfn, double_backward=True)


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
    t = (rng().integers(0, 4, 6) if kind == "class" else rng().uniform(0, 1, (6, 4)).astype(np.float32))
    if kind == "prob":
        x = rng().uniform(0.05, 0.95, (6, 4)).astype(np.float32)
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


@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss, nn.CrossEntropyLoss(), nn.NLLLoss()])
@pytest.mark.parametrize("labels, bad, pos", [([0, 1, 2, 3], 3, 3), ([0, -1, 2, 1], -1, 1), ([0, 1, 17, 1], 17, 2)])
def test_labels_out_of_range(loss, labels, bad, pos):
    op = "nll_loss" if loss in (F.nll_loss,) or isinstance(loss, nn.NLLLoss) else "cross_entropy"
    with pytest.raises(ValueError, match=msg(f"{op}: target {bad} at position {pos}", "out of range for 3 classes",
                                             "expected 0 <= target < 3", "(4, 3)")):
        loss(cn.randn(4, 3), cn.tensor(labels))


def test_labels_out_of_range_in_spatial_targets():
    target = cn.tensor(np.full((2, 4), 5, np.int64))
    with pytest.raises(ValueError, match=msg("cross_entropy: target 5", "out of range for 3 classes", "(2, 3, 4)")):
        F.cross_entropy(cn.randn(2, 3, 4), target)


def test_ignore_index_is_not_out_of_range():
    loss = F.cross_entropy(cn.randn(4, 3), cn.tensor([0, -100, 2, 1]))
    assert np.isfinite(loss.item())


@pytest.mark.parametrize("op", [F.cross_entropy, F.nll_loss])
def test_float_labels(op):
    with pytest.raises(ValueError, match=msg(f"{op.__name__}: target must hold int64 class indices",
                                             "got dtype float32", "(4,)", ".long()")):
        op(cn.randn(4, 3), cn.tensor([0.0, 1.0, 2.0, 1.0]))


@pytest.mark.parametrize("op", [F.cross_entropy, F.nll_loss])
def test_classification_target_and_input_shapes(op):
    name = op.__name__
    with pytest.raises(ValueError, match=msg(f"{name}: target shape (3,) does not match input shape (4, 3)",
                                             "expected target shape (4,)")):
        op(cn.randn(4, 3), cn.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=msg(f"{name}: target shape (4, 1)", "expected target shape (4,)")):
        op(cn.randn(4, 3), cn.tensor([[0], [1], [2], [1]]))
    with pytest.raises(ValueError, match=msg(f"{name}: input must have shape (N, C)", "got (3,)")):
        op(cn.randn(3), cn.tensor(1))
    with pytest.raises(ValueError, match=msg(f"{name}: input must be float32 or float64, got int64", "(4, 3)")):
        op(cn.tensor(np.zeros((4, 3), np.int64)), cn.tensor([0, 1, 2, 1]))
    with pytest.raises(ValueError, match=msg(name, "reduction must be", '"avg"')):
        op(cn.randn(4, 3), cn.tensor([0, 1, 2, 1]), reduction="avg")


def test_mse_loss_errors():
    with pytest.raises(ValueError, match=msg("mse_loss: input shape (4, 3) and target shape (4, 2) must be equal")):
        F.mse_loss(cn.randn(4, 3), cn.randn(4, 2))
    with pytest.raises(ValueError, match=msg("mse_loss", "both be float32 or both float64", "float32 and float64",
                                             "(4, 3)")):
        F.mse_loss(cn.randn(4, 3), cn.randn(4, 3, dtype=cn.float64))
    with pytest.raises(ValueError, match=msg("mse_loss", "both be float32 or both float64", "int64 and int64")):
        F.mse_loss(cn.tensor(np.zeros((4, 3), np.int64)), cn.tensor(np.zeros((4, 3), np.int64)))


# (input shape, reduction, class weights, label_smoothing, ignore_index used)
CROSS_ENTROPY_DOUBLE_CASES = [((4, 3), "mean", False, 0.0, False), ((4, 3), "sum", True, 0.0, False),
                              ((3, 4), "none", False, 0.2, True), ((2, 3, 2), "mean", True, 0.1, True),
                              ((5, 2), "mean", True, 0.0, True), ((2, 4, 3), "none", True, 0.3, False)]


@pytest.mark.parametrize("shape,reduction,weighted,smoothing,ignore", CROSS_ENTROPY_DOUBLE_CASES, ids=str)
def test_cross_entropy_double_backward(shape, reduction, weighted, smoothing, ignore):
    """Second derivatives of cross_entropy with class targets (the Hessian of the softmax)."""
    C = shape[1]
    target = rng().integers(0, C, size=(shape[0],) + shape[2:])
    if ignore:
        target.reshape(-1)[0] = 1
        target.reshape(-1)[-1] = -100
    inputs = [randn(*shape), target] + ([np.abs(randn(C)) + 0.5] if weighted else [])
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    check_double_backward(f"cross_entropy({kw})", lambda x, t, *w: F.cross_entropy(x, t, *w, **kw), inputs,
                          torch_fn=lambda x, t, *w: tF.cross_entropy(x, t, *w, **kw))
