"""convnet.nn.utils against torch.nn.utils and torch.renorm: gradient clipping by norm and by
value, the L1 penalty and the max-norm constraint."""

import math

import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from convnet.nn import utils
from opcheck import randn, requires_cuda, to_np

torch = pytest.importorskip("torch")
from torch_twins import _convnet, _pair  # noqa: E402

RTOL = {"float32": 1e-6, "float64": 1e-12}


SHAPES = [(6, 1, 3, 3), (6,), (5, 24), (5,), (3, 4, 2)]


def _grads(dtype, scale=3.0, with_zeros=False):
    """The same gradients on parameters of both libraries (of several sizes and scales); the
    last parameter has no gradient."""
    rng = np.random.default_rng(3)
    grads = [(scale * rng.uniform(0.01, 1) * rng.standard_normal(s)).astype(dtype) for s in SHAPES[:-1]]
    if with_zeros:
        grads[1][2] = 0
    params = [cn.zeros(*s, dtype=getattr(cn, dtype), requires_grad=True) for s in SHAPES]
    tparams = [torch.zeros(s, dtype=getattr(torch, dtype), requires_grad=True) for s in SHAPES]
    for p, tp, g in zip(params, tparams, grads):
        p.grad = cn.tensor(g)
        tp.grad = torch.from_numpy(g.copy())
    return params, tparams


def _assert_same_grads(params, tparams, rtol, what):
    for i, (p, tp) in enumerate(zip(params, tparams)):
        if tp.grad is None:
            assert p.grad is None, what
            continue
        np.testing.assert_allclose(to_np(p.grad), tp.grad.numpy(), rtol=rtol, atol=0, err_msg=f"{what}: {i}")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("max_norm,norm_type", [(1.0, 2.0), (0.05, 2.0), (0.5, 1.0), (0.02, math.inf),
                                                (0.1, 3.0), (1.5, 0.0), (1e-4, -math.inf), (100.0, 2.0)])
def test_clip_grad_norm_matches_torch(max_norm, norm_type, dtype):
    params, tparams = _grads(dtype, with_zeros=norm_type == 0)
    total = utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tparams, max_norm, norm_type=norm_type)
    assert isinstance(total, cn.Tensor) and tuple(total.shape) == ()
    assert total.dtype == getattr(cn, dtype)
    assert total.item() == pytest.approx(ttotal.item(), rel=RTOL[dtype])
    _assert_same_grads(params, tparams, RTOL[dtype], f"clip_grad_norm_({max_norm}, {norm_type}) {dtype}")


def test_clip_grad_norm_reference_values():
    """The total of two gradients against NumPy, the clipped norm, and the edge cases."""
    a, b = cn.zeros(3, requires_grad=True), cn.zeros(2, 2, requires_grad=True)
    ga, gb = np.array([3.0, 0.0, -4.0], np.float32), np.array([[1.0, 2.0], [-2.0, 0.5]], np.float32)
    a.grad, b.grad = cn.tensor(ga), cn.tensor(gb)
    c = cn.zeros(4, requires_grad=True)  # no gradient: skipped
    norm = np.sqrt(np.sum(ga ** 2) + np.sum(gb ** 2))
    total = utils.clip_grad_norm_([a, c, b], 2.0)
    assert total.item() == pytest.approx(norm, rel=1e-6)
    clipped = np.sqrt(np.sum(to_np(a.grad) ** 2) + np.sum(to_np(b.grad) ** 2))
    assert clipped == pytest.approx(2.0, rel=1e-5) and c.grad is None
    np.testing.assert_allclose(to_np(a.grad), ga * 2.0 / (norm + 1e-6), rtol=1e-6)
    # a single tensor, under the limit: unchanged
    a.grad = cn.tensor(ga)
    assert utils.clip_grad_norm_(a, 10.0, norm_type="inf").item() == 4.0
    np.testing.assert_array_equal(to_np(a.grad), ga)
    # no gradients at all: a float32 zero, as torch
    none = utils.clip_grad_norm_([c], 1.0)
    assert none.item() == 0.0 and none.dtype == cn.float32
    assert torch.nn.utils.clip_grad_norm_([torch.zeros(2, requires_grad=True)], 1.0).item() == 0.0


def test_clip_grad_norm_non_finite():
    a = cn.zeros(3, requires_grad=True)
    a.grad = cn.tensor(np.array([1.0, np.nan, 2.0], np.float32))
    with pytest.raises(RuntimeError, match=r"total norm of order 2(\.0)? for gradients .* is non-finite"):
        utils.clip_grad_norm_([a], 1.0, error_if_nonfinite=True)
    assert to_np(a.grad)[0] == 1.0  # left alone
    ta = torch.zeros(3, requires_grad=True)
    ta.grad = torch.tensor([1.0, float("nan"), 2.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        torch.nn.utils.clip_grad_norm_([ta], 1.0, error_if_nonfinite=True)
    # without the check the gradients become NaN, as torch's do
    assert math.isnan(utils.clip_grad_norm_([a], 1.0).item())
    torch.nn.utils.clip_grad_norm_([ta], 1.0)
    assert np.isnan(to_np(a.grad)).all() and torch.isnan(ta.grad).all()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("clip_value", [0.01, 0.1, 10.0])
def test_clip_grad_value_matches_torch(clip_value, dtype):
    params, tparams = _grads(dtype)
    assert utils.clip_grad_value_(params, clip_value) is None
    torch.nn.utils.clip_grad_value_(tparams, clip_value)
    _assert_same_grads(params, tparams, 0, f"clip_grad_value_({clip_value}) {dtype}")
    assert max(np.abs(to_np(p.grad)).max() for p in params[:-1]) <= clip_value


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_l1_penalty_value_and_gradient_match_torch(dtype):
    m, t = _pair(_convnet, dtype)
    # exact zeros, where the gradient of |w| is 0
    with torch.no_grad():
        t[0].weight[0].zero_()
    m.load_state_dict({k: v.detach().numpy().copy() for k, v in t.state_dict().items()})
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 1, 8, 8)).astype(dtype)
    y = rng.integers(0, 5, 4)
    pen = utils.l1_penalty(m.parameters())
    want = sum(np.abs(to_np(p)).astype(np.float64).sum() for p in m.parameters())
    assert pen.item() == pytest.approx(want, rel=RTOL[dtype]) and pen.requires_grad
    (F.cross_entropy(m(cn.tensor(x)), cn.tensor(y)) + 1e-2 * pen).backward()
    tpen = sum(p.abs().sum() for p in t.parameters())
    (torch.nn.functional.cross_entropy(t(torch.from_numpy(x)), torch.from_numpy(y)) + 1e-2 * tpen).backward()
    _assert_same_params_grads(m, t, 10 * RTOL[dtype], f"l1_penalty {dtype}")
    assert not np.any(to_np(m[0].weight.grad)[0] - t[0].weight.grad[0].numpy())


def _assert_same_params_grads(m, t, rtol, what):
    for (n, p), tp in zip(m.named_parameters(), t.parameters()):
        want = tp.grad.numpy()
        np.testing.assert_allclose(to_np(p.grad), want, rtol=0, atol=rtol * np.abs(want).max(), err_msg=f"{what}: {n}")


def test_l1_penalty_edge_cases():
    w = cn.tensor(np.array([[-1.5, 0.0], [2.0, -0.5]], np.float32)).requires_grad_()
    pen = utils.l1_penalty(w)
    assert pen.item() == 4.0
    pen.backward()
    np.testing.assert_array_equal(to_np(w.grad), [[-1.0, 0.0], [1.0, -1.0]])
    assert utils.l1_penalty([]).item() == 0.0
    with pytest.raises(ValueError, match="l1_penalty: parameters must share one dtype, got float32 and float64"):
        utils.l1_penalty([w, cn.zeros(2, dtype=cn.float64)])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,dim,q", [((8, 6), 0, 0.5), ((8, 6), 1, 0.3), ((8, 6), -1, 0.7),
                                         ((6, 3, 5, 5), 0, 0.5), ((6, 3, 5, 5), 1, 0.5),
                                         ((6, 3, 5, 5), 3, 0.4), ((4, 3, 2), -2, None)])
def test_max_norm_matches_torch_renorm(shape, dim, q, dtype):
    """c between the slices' norms (some over, some under), or 0."""
    rng = np.random.default_rng(5)
    w0 = (rng.standard_normal(shape) * rng.uniform(0.1, 2.0, shape[dim]).reshape(
        [-1 if i == dim % len(shape) else 1 for i in range(len(shape))])).astype(dtype)
    other = tuple(i for i in range(len(shape)) if i != dim % len(shape))
    norms0 = np.sqrt((w0.astype(np.float64) ** 2).sum(other))
    c = 0.0 if q is None else float(np.quantile(norms0, q))
    w = cn.tensor(w0).requires_grad_()
    assert utils.max_norm_(w, c, dim=dim) is None
    want = torch.renorm(torch.from_numpy(w0), 2, dim, c).numpy()
    np.testing.assert_allclose(to_np(w), want, rtol=RTOL[dtype], atol=0)
    norms = np.sqrt((to_np(w).astype(np.float64) ** 2).sum(other))
    assert 0 < (norms0 > c).sum() < len(norms0) or c == 0
    assert np.all(norms <= c * (1 + 1e-6))
    under = norms0 <= c
    np.testing.assert_array_equal(np.moveaxis(to_np(w), dim, 0)[under], np.moveaxis(w0, dim, 0)[under])


def test_max_norm_on_a_model_and_bad_arguments():
    torch.manual_seed(0)
    t = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Flatten(), torch.nn.Linear(144, 5))
    m = cn.nn.Sequential(cn.nn.Conv2d(1, 4, 3), cn.nn.Flatten(), cn.nn.Linear(144, 5))
    m.load_state_dict({k: v.detach().numpy().copy() for k, v in t.state_dict().items()})
    weights = [p for n, p in m.named_parameters() if n.endswith("weight")]
    utils.max_norm_(weights, 0.5)
    for n, p in m.named_parameters():
        tp = dict(t.named_parameters())[n].detach()
        want = torch.renorm(tp, 2, 0, 0.5) if n.endswith("weight") else tp
        np.testing.assert_allclose(to_np(p), want.numpy(), rtol=1e-6, err_msg=n)
    with pytest.raises(ValueError, match=r"max_norm_: the weight needs at least 2 dimensions .* shape \(5,\)"):
        utils.max_norm_(m[2].bias, 1.0)
    with pytest.raises(ValueError, match=r"max_norm_: dim 2 is out of range for a weight of shape \(5, 144\)"):
        utils.max_norm_(m[2].weight, 1.0, dim=2)
    with pytest.raises(ValueError, match="max_norm_: max_norm must be >= 0, got -1"):
        utils.max_norm_(m[2].weight, -1.0)
    with pytest.raises(ValueError, match="floating point"):
        utils.max_norm_(cn.zeros(2, 2, dtype=cn.int64), 1.0)


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
