"""The autograd engine's API (cpp/src/autograd.cpp, python/convnet/autograd.py) against PyTorch:
gradient hooks on leaves and non-leaves, retain_grad, autograd.grad (several outputs and inputs,
grad_outputs, allow_unused, non-leaf inputs, .grad left alone), create_graph for second
derivatives and a WGAN-GP gradient penalty through conv2d, custom autograd.Function,
gradcheck/gradgradcheck, detect_anomaly."""

import re

import numpy as np
import pytest

import convnet as cn
from opcheck import randn, torch

needs_torch = pytest.mark.skipif(torch is None, reason="compares with PyTorch")


def pair(a, grad=True):
    x, t = cn.tensor(a), torch.from_numpy(np.array(a))
    if grad:
        x.requires_grad_(True)
        t.requires_grad_(True)
    return x, t


@needs_torch
def test_hooks_see_the_total_gradient_and_may_replace_it():
    a = randn(3)
    x, t = pair(a)
    res = []
    for v in (x, t):
        seen = []
        h = v * 2
        h.register_hook(lambda g: seen.append(g.numpy().copy()))
        handle = v.register_hook(lambda g: g * 10)
        (h * h + h).sum().backward()
        res.append((seen, v.grad.numpy().copy()))
        handle.remove()
        v.grad = None
        (v * 1).sum().backward()
        res.append(v.grad.numpy().copy())
    (seen_c, gc), after_c, (seen_t, gt), after_t = res
    assert len(seen_c) == len(seen_t) == 1
    np.testing.assert_allclose(seen_c[0], seen_t[0], rtol=1e-12)
    np.testing.assert_allclose(gc, gt, rtol=1e-12)
    np.testing.assert_allclose(after_c, after_t, rtol=1e-12)  # the removed hook no longer scales


@needs_torch
def test_retain_grad_keeps_a_non_leaf_gradient():
    a = randn(2, 3)
    out = []
    for v in pair(a):
        h = (v * 3).relu()
        h.retain_grad()
        assert h.retains_grad
        (h * h).sum().backward()
        out.append(h.grad.numpy())
    np.testing.assert_allclose(out[0], out[1], rtol=1e-12)


@needs_torch
def test_grad_several_outputs_and_inputs_leaves_dot_grad_alone():
    a, b, w = randn(3), randn(3), randn(3)
    res = []
    for lib, (x, y) in ((cn, (cn.tensor(a).requires_grad_(True), cn.tensor(b).requires_grad_(True))),
                        (torch, (torch.from_numpy(a.copy()).requires_grad_(True), torch.from_numpy(b.copy()).requires_grad_(True)))):
        h = x * y
        o1, o2 = (h * h).sum(), h.exp() * 2
        go = lib.tensor(w) if lib is cn else torch.from_numpy(w.copy())
        gx, gy, gh = lib.autograd.grad([o1, o2], [x, y, h], [None, go])
        assert x.grad is None and y.grad is None
        res.append([g.detach().numpy() for g in (gx, gy, gh)])
    for c, t in zip(*res):
        np.testing.assert_allclose(c, t, rtol=1e-12)


def test_grad_unused_input():
    x, z = cn.tensor(randn(3)).requires_grad_(True), cn.tensor(randn(3)).requires_grad_(True)
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        cn.autograd.grad((x * 2).sum(), [x, z])
    gx, gz = cn.autograd.grad((x * 2).sum(), [x, z], allow_unused=True)
    assert gz is None and np.allclose(gx.numpy(), 2)
    _, gz = cn.autograd.grad((x * 2).sum(), [x, z], materialize_grads=True)
    assert np.array_equal(gz.numpy(), np.zeros(3))


@needs_torch
def test_second_derivatives_with_create_graph():
    a = np.abs(randn(4)) + 0.5
    res = []
    for lib, v in zip((cn, torch), pair(a)):
        y = (v * v * v / (v + 1.0) + (v * 2.0).log() * v).sum()
        (g,) = lib.autograd.grad(y, v, create_graph=True)
        (g2,) = lib.autograd.grad((g * g).sum(), v)
        res.append((g.detach().numpy(), g2.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-12)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-10)


def _critic_penalty(lib, F, x, w1, b1, w2, dtype, wrt, norm=None):
    """The WGAN-GP penalty of a conv2d critic (its conv output normalized by `norm`, a name in
    torch.nn.functional, with a fixed affine transform where it takes one): the gradient of the
    critic's output with respect to its input (wrt "input") or to its conv weights (wrt "weights",
    second order through conv2d's dw), its per-sample (or whole) norm, (norm - 1)^2; then backward to
    the weights."""
    t = (lambda a: cn.tensor(a.astype(dtype))) if lib is cn else (lambda a: torch.from_numpy(a.astype(dtype)))
    xi, c1, cb, c2 = (t(v).requires_grad_(True) for v in (x, w1, b1, w2))
    h = F.conv2d(xi, c1, cb, stride=2, padding=1)
    scale, shift = t(np.linspace(0.5, 1.5, 5)), t(np.linspace(-0.2, 0.2, 5))
    if norm == "layer_norm":
        h = F.layer_norm(h, [5, 4, 4])
    elif norm == "group_norm":
        h = F.group_norm(h, 1, scale, shift)
    elif norm == "instance_norm":
        h = F.instance_norm(h, weight=scale, bias=shift)
    h = h.relu()
    out = F.linear(h.reshape(x.shape[0], -1), c2)
    if wrt == "input":
        (g,) = lib.autograd.grad(out.sum(), xi, create_graph=True)
        pen = (((g * g).reshape(x.shape[0], -1).sum(1).sqrt() - 1) ** 2).mean()
    else:
        gw, gb = lib.autograd.grad(out.sum(), [c1, cb], create_graph=True)
        pen = (((gw * gw).sum() + (gb * gb).sum()).sqrt() - 1) ** 2
    pen.backward()
    # a gradient that only flows through ReLU's mask is zero (None in one library, zeros in the other)
    return (float(pen.item()),) + tuple(np.zeros(tuple(t.shape)) if t.grad is None else t.grad.numpy()
                                        for t in (c1, cb, c2, xi))


@needs_torch
@pytest.mark.parametrize("norm", [None, "layer_norm", "group_norm", "instance_norm"])
@pytest.mark.parametrize("wrt", ["input", "weights"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_wgan_gp_gradient_penalty_through_conv2d_matches_torch(dtype, wrt, norm):
    """The gradient of a critic's output with respect to its input or its conv weights, through conv2d,
    a normalization, ReLU and linear; its norm's penalty; backward to the critic's weights (and input):
    as PyTorch within 1e-4."""
    r = np.random.default_rng(3)
    x, w1, b1, w2 = r.standard_normal((4, 3, 8, 8)), r.standard_normal((5, 3, 3, 3)) * 0.3, r.standard_normal(5) * 0.1, r.standard_normal((1, 80)) * 0.1
    mine = _critic_penalty(cn, cn.functional, x, w1, b1, w2, dtype, wrt, norm)
    ref = _critic_penalty(torch, torch.nn.functional, x, w1, b1, w2, dtype, wrt, norm)
    assert abs(mine[0] - ref[0]) <= 1e-4 * abs(ref[0])
    # a gradient zero in exact arithmetic (the conv bias's, which instance_norm removes) is rounding
    # noise in both: held to 1e-4 of a hundredth of the largest gradient
    floor = 1e-2 * max(np.abs(want).max() for want in ref[1:])
    for got, want in zip(mine[1:], ref[1:]):
        assert np.abs(got - want).max() <= 1e-4 * max(np.abs(want).max(), floor)


class Exp(cn.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        y = (x * scale).exp()
        ctx.save_for_backward(y)
        ctx.scale = scale
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y * ctx.scale, None


class SplitHalves(cn.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        assert ctx.needs_input_grad == (True,)
        return x[:2] * 2, x[2:] * 3

    @staticmethod
    def backward(ctx, ga, gb):
        return cn.cat([ga * 2, gb * 3])


class WrongExp(cn.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.exp()

    @staticmethod
    def backward(ctx, g):
        return g


def test_function_forward_backward_and_gradcheck():
    x = cn.tensor(randn(4)).requires_grad_(True)
    y = Exp.apply(x, 0.5)
    assert y.grad_fn.name() == "Exp_backward"
    (y * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * 0.5 * np.exp(0.5 * x.detach().numpy()), rtol=1e-12)
    a, b = SplitHalves.apply(x)
    x.grad = None
    (a.sum() + (b * b).sum()).backward()
    xv = x.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), np.concatenate([[2, 2], 18 * xv[2:]]), rtol=1e-12)
    assert cn.autograd.gradcheck(lambda v: Exp.apply(v, 0.7), (x,))
    with pytest.raises(cn.autograd.GradcheckError, match="disagrees with finite differences"):
        cn.autograd.gradcheck(WrongExp.apply, (x,))
    with cn.no_grad():
        assert Exp.apply(x, 1.0).grad_fn is None


def test_gradgradcheck_of_elementwise_ops():
    x = cn.tensor(np.abs(randn(3)) + 0.5).requires_grad_(True)
    y = cn.tensor(np.abs(randn(3)) + 1.0).requires_grad_(True)
    assert cn.autograd.gradgradcheck(lambda a, b: (a * a * b / (a + 2.0)).log(), (x, y))


@needs_torch
def test_detect_anomaly_names_the_node_that_made_a_nan():
    x = cn.tensor(np.array([-1.0, 4.0])).requires_grad_(True)
    with cn.autograd.detect_anomaly():
        with pytest.raises(RuntimeError, match=re.escape("Function 'sqrt_backward' returned nan values in its 0th output.")):
            x.sqrt().sum().backward()
    x.grad = None
    x.sqrt().sum().backward()  # outside the context: no check, NaN gradient as PyTorch's
    assert np.isnan(x.grad.numpy()[0])
