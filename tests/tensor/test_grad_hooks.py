"""Tensor.register_post_accumulate_grad_hook: called once per backward, after the leaf's last
gradient of that backward is in .grad (as torch's)."""

import numpy as np
import pytest

import convnet as cn


def test_called_once_after_every_use_is_accumulated():
    torch = pytest.importorskip("torch")
    seen = {}
    w = cn.nn.Parameter(cn.tensor([1.0, 2.0, 3.0]))
    tw = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w.register_post_accumulate_grad_hook(lambda t: seen.setdefault("cn", []).append(t.grad.numpy().copy()))
    tw.register_post_accumulate_grad_hook(lambda t: seen.setdefault("torch", []).append(t.grad.numpy().copy()))
    for lib, x in (("cn", w), ("torch", tw)):
        ((x * x).sum() + (x * 2).sum() + (x.exp() * x).sum()).backward()
    assert len(seen["cn"]) == len(seen["torch"]) == 1
    np.testing.assert_allclose(seen["cn"][0], seen["torch"][0], rtol=1e-6)


def test_order_unused_leaf_remove_and_leaf_root():
    calls = []
    a, b, unused = (cn.nn.Parameter(cn.ones([2])) for _ in range(3))
    a.register_post_accumulate_grad_hook(lambda t: calls.append("a"))
    b.register_post_accumulate_grad_hook(lambda t: calls.append("b"))
    h = unused.register_post_accumulate_grad_hook(lambda t: calls.append("unused"))
    ((a * 3).relu() * b).sum().backward()  # b's gradient is ready before a's
    assert calls == ["b", "a"]
    h.remove()
    calls.clear()
    (unused * 2).sum().backward()
    assert calls == []
    a.sum().backward()
    assert calls == ["a"]
    b.backward(cn.ones([2]))  # the root is the leaf itself
    assert calls == ["a", "b"]


def test_only_on_leaves_that_require_grad():
    with pytest.raises(ValueError, match="register_post_accumulate_grad_hook: .* not a leaf"):
        cn.ones([2]).register_post_accumulate_grad_hook(lambda t: None)
    x = cn.nn.Parameter(cn.ones([2]))
    with pytest.raises(ValueError, match="not a leaf"):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)
