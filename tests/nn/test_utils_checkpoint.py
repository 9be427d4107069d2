"""convnet.utils.checkpoint: gradients equal the plain run's bit for bit (float64, with dropout and
batch norm), nothing inside a block is kept for backward, and a function reading an unknown tensor
that requires grad is refused."""

import numpy as np
import pytest

import convnet as cn
import convnet.nn as nn
from convnet.utils.checkpoint import checkpoint, checkpoint_sequential


def _net():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.3),
        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Dropout2d(0.2),
        nn.Conv2d(8, 4, 3, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(4 * 6 * 6, 5))


def _double(model):
    for p in model.parameters():
        p.data = p.detach().double()
    for b in model.buffers():
        if b.is_floating_point():
            b.data = b.detach().double()
    return model


def _grads(run, seed=0):
    """Input gradient, parameter gradients and buffers after one backward of run(model, x)."""
    cn.manual_seed(seed)
    model = _double(_net())
    x = cn.tensor(np.random.default_rng(1).standard_normal((2, 3, 6, 6))).requires_grad_()
    cn.manual_seed(seed + 1)
    out = run(model, x)
    (out * out).sum().backward()
    return ([x.grad.numpy().copy()] + [p.grad.numpy().copy() for p in model.parameters()],
            [b.numpy().copy() for b in model.buffers()], out.detach().numpy().copy())


def _assert_same(a, b):
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("segments", [1, 2, 3, 4])
def test_checkpoint_sequential_gradients_equal_plain(segments):
    plain, plain_buf, plain_out = _grads(lambda m, x: m(x))
    ck, ck_buf, ck_out = _grads(lambda m, x: checkpoint_sequential(m, segments, x))
    np.testing.assert_array_equal(ck_out, plain_out)
    _assert_same(ck, plain)
    _assert_same(ck_buf, plain_buf)  # batch-norm statistics updated once, not again in the recomputation


def test_checkpoint_module_function_and_method():
    plain, _, _ = _grads(lambda m, x: m(x))
    whole, _, _ = _grads(lambda m, x: checkpoint(m, x))
    _assert_same(whole, plain)
    bound, _, _ = _grads(lambda m, x: checkpoint(m.forward, x))
    _assert_same(bound, plain)

    def run(m, x):
        block = [m[i] for i in range(4)]

        def first(t):  # reaches its modules through the closure
            for layer in block:
                t = layer(t)
            return t
        return nn.Sequential(*[m[i] for i in range(4, 11)])(checkpoint(first, x, use_reentrant=True))
    _assert_same(_grads(run)[0], plain)


def test_dropout_draws_the_same_masks_and_rng_moves_on_as_plain():
    cn.manual_seed(3)
    x = cn.ones(1000, dtype=cn.float64).requires_grad_()
    y = checkpoint(lambda t: cn.nn.functional.dropout(t, 0.5, True) * 3, x)
    after_plain_forward = cn.rand(4).numpy()
    y.sum().backward()
    cn.manual_seed(3)
    want = cn.nn.functional.dropout(cn.ones(1000, dtype=cn.float64), 0.5, True) * 3
    np.testing.assert_array_equal(y.detach().numpy(), want.numpy())
    np.testing.assert_array_equal(x.grad.numpy(), want.numpy())  # the gradient uses the forward's mask
    np.testing.assert_array_equal(after_plain_forward, cn.rand(4).numpy())


def test_several_outputs_and_tensor_arguments():
    rng = np.random.default_rng(2)
    a = cn.tensor(rng.standard_normal((3, 4))).requires_grad_()
    b = cn.tensor(rng.standard_normal((4, 2))).requires_grad_()

    def f(u, v, scale=2.0):
        p = u.matmul(v)
        return p.tanh() * scale, (p * p).sum()

    y1, y2 = checkpoint(f, a, b, scale=3.0)
    (y1.sum() + y2).backward()
    ga, gb = a.grad.numpy().copy(), b.grad.numpy().copy()
    a.grad = b.grad = None
    z1, z2 = f(a, b, scale=3.0)
    (z1.sum() + z2).backward()
    # each output's gradient goes through its own recomputation, so the two contributions are summed
    # after the matrix product's backward instead of before it: equal up to rounding
    np.testing.assert_allclose(ga, a.grad.numpy(), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(gb, b.grad.numpy(), rtol=1e-13, atol=1e-14)
    g = cn.autograd.grad(checkpoint(f, a, b)[0].sum(), [a, b])
    np.testing.assert_allclose(g[0].numpy(), cn.autograd.grad(f(a, b)[0].sum(), [a, b])[0].numpy())


def test_parameters_reach_autograd_grad():
    lin = _double(nn.Linear(4, 3))
    x = cn.tensor(np.random.default_rng(3).standard_normal((5, 4))).requires_grad_()
    got = cn.autograd.grad(checkpoint(lin, x).sum(), [x, lin.weight, lin.bias])
    want = cn.autograd.grad(lin(x).sum(), [x, lin.weight, lin.bias])
    _assert_same([g.numpy() for g in got], [g.numpy() for g in want])
    assert lin.weight.grad is None


def test_activations_inside_the_block_are_not_kept():
    cn.manual_seed(0)
    model = nn.Sequential(*[m for _ in range(6) for m in (nn.Conv2d(16, 16, 3, padding=1), nn.ReLU())])
    x = cn.randn(8, 16, 32, 32).requires_grad_()

    def forward_bytes(run):
        cn.empty_cache()
        before = cn.memory_stats()["allocated_bytes"]
        out = run(x)
        kept = cn.memory_stats()["allocated_bytes"] - before
        out.sum().backward()
        return kept

    plain = forward_bytes(model)
    ck = forward_bytes(lambda t: checkpoint(model, t))
    one = 8 * 16 * 32 * 32 * 4
    assert plain >= 6 * one                 # each convolution's input (the ReLU before it's output)
    assert ck <= 1.5 * one                  # the output alone


def test_no_grad_and_nothing_requiring_grad_run_plainly():
    lin = nn.Linear(3, 2)
    with cn.no_grad():
        assert not checkpoint(lin, cn.ones(1, 3)).requires_grad
    lin.requires_grad_(False)
    out = checkpoint(lin, cn.ones(1, 3))
    assert not out.requires_grad


def test_unknown_tensor_requiring_grad_is_refused():
    w = cn.ones(3, 3).requires_grad_()
    hidden = w * 2  # not a leaf: checkpoint cannot send its gradient back through the recomputation
    with pytest.raises(ValueError, match="pass that tensor as an argument"):
        checkpoint(lambda t: t.matmul(hidden), cn.ones(2, 3).requires_grad_())
    assert w.requires_grad


def test_checkpoint_sequential_rejects_bad_segments():
    with pytest.raises(ValueError, match="segments"):
        checkpoint_sequential(nn.Sequential(nn.ReLU()), 0, cn.ones(1))
