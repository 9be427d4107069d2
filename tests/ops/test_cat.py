"""The cat op stem (cpp/src/ops/cat.cpp): cat and stack. The cases run through tests/opcheck.py
(NumPy reference, float64 finite differences, PyTorch parity, the GPU against the CPU) and the
error cases check their messages."""

import numpy as np
import pytest

import convnet as cn
from reference import blocks as RB
from opcheck import DEVICES, check_case, msg, on_devices, randn, requires_cuda, rng, torch


CAT_CASES = [  # shapes of the parts, dim
    ([(2, 3), (4, 3)], 0),
    ([(2, 3), (2, 1), (2, 4)], 1),
    ([(2, 3), (2, 5)], -1),
    ([(2, 3, 4), (2, 2, 4), (2, 1, 4)], 1),
    ([(2, 3, 4), (2, 3, 2)], -1),
    ([(1, 2, 3, 2), (3, 2, 3, 2)], -4),
    ([(2, 0, 3), (2, 2, 3)], 1),          # an empty part
    ([(5,), (3,)], 0),
]
CAT_CASES = on_devices(CAT_CASES, cuda=[  # on the GPU only
    ([(2, 3, 4), (2, 1, 4), (2, 5, 4)], 1),
    ([(3, 2, 2), (3, 2, 1), (3, 2, 3)], -1),
    ([(2, 4)], 1),                        # one part
    ([(2, 0, 4), (2, 3, 4)], 1),
    ([(1, 3, 2, 2), (1, 3, 2, 2)], 1),
])


@pytest.mark.parametrize("device,shapes,dim", CAT_CASES, ids=str)
def test_cat(device, shapes, dim):
    xs = [randn(*s) for s in shapes]
    k = len(xs)
    check_case(device, f"cat({shapes}, dim={dim})", lambda *ts: cn.cat(list(ts), dim), xs, tuple(range(k)),
               ref=lambda *a: RB.cat(a, dim), ref_grad=lambda *a: RB.cat_backward(a[:k], a[k], dim),
               torch_fn=lambda *ts: torch.cat(ts, dim), double_backward=True)


@pytest.mark.parametrize("device", on_devices(cuda=[()]))
def test_cat_promotes_and_keeps_only_the_needed_gradients(device):
    """An int64 part is promoted on the device; only the float parts get gradients."""
    a, b = randn(2, 3), rng().integers(-3, 3, (2, 2))
    check_case(device, "cat(float, int64)", lambda a, b: cn.cat([a, b], 1), [a, b], (0,),
               ref=lambda a, b: RB.cat((a, b), 1), ref_grad=lambda a, b, dy: RB.cat_backward((a, b), dy, 1)[:1],
               torch_fn=lambda a, b: torch.cat((a, b), 1))


def test_cat_gradient_only_to_inputs_that_require_it():
    a, b = cn.tensor(randn(2, 3)), cn.tensor(randn(2, 2))
    a.requires_grad_(True)
    y = cn.cat((a, b), dim=1)
    y.sum().backward()
    assert b.grad is None and np.array_equal(a.grad.numpy(), np.ones((2, 3), np.float32))


def test_cat_int_dtypes_promotion_aliases_and_empty_legacy_tensors():
    a = cn.tensor(np.arange(6).reshape(2, 3))
    b = cn.tensor(np.arange(3).reshape(1, 3))
    y = cn.cat([a, b])
    assert y.dtype == cn.int64 and np.array_equal(y.numpy(), np.concatenate([a.numpy(), b.numpy()]))
    z = cn.cat([cn.tensor([[1.5, 2.5]]), cn.tensor([[1, 2]])])
    assert z.dtype == cn.float32 and np.array_equal(z.numpy(), [[1.5, 2.5], [1, 2]])
    assert np.array_equal(cn.concat([a, b], dim=0).numpy(), y.numpy())
    assert np.array_equal(cn.concatenate([a, b], dim=0).numpy(), y.numpy())
    # 1-D empty tensors are skipped, as torch
    e = cn.cat([cn.zeros(0), cn.tensor(randn(2, 3)), cn.zeros(0)], dim=1)
    assert e.shape == (2, 3)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_stack(device, dim):
    xs = [randn(2, 3) for _ in range(3)]
    check_case(device, f"stack(dim={dim})", lambda *ts: cn.stack(list(ts), dim), xs, (0, 1, 2),
               ref=lambda *a: RB.stack(a, dim), ref_grad=lambda *a: RB.stack_backward(a[:3], a[3], dim),
               torch_fn=lambda *ts: torch.stack(ts, dim), double_backward=True)


def test_cat_errors():
    with pytest.raises(ValueError, match=msg("cat(dim=0)", "except in dimension 0", "(2, 3)", "(2, 4)",
                                             "tensor 1")):
        cn.cat([cn.zeros(2, 3), cn.zeros(2, 4)])
    with pytest.raises(ValueError, match=msg("cat", "tensor 1 has 3 dimension(s)", "(2, 3)", "(2, 3, 1)")):
        cn.cat([cn.zeros(2, 3), cn.zeros(2, 3, 1)], 1)
    with pytest.raises(IndexError, match=msg("cat", "dim 2 is out of range", "(2, 3)")):
        cn.cat([cn.zeros(2, 3), cn.zeros(2, 3)], 2)
    with pytest.raises(ValueError, match=msg("cat", "non-empty")):
        cn.cat([])
    with pytest.raises(ValueError, match=msg("cat", "zero-dimensional", "position 1")):
        cn.cat([cn.zeros(1), cn.tensor(1.0)])
    with pytest.raises(ValueError, match=msg("stack", "equal size", "(2, 3)", "(3, 2)")):
        cn.stack([cn.zeros(2, 3), cn.zeros(3, 2)])
    with pytest.raises(IndexError, match=msg("stack", "out of range", "(2, 3)")):
        cn.stack([cn.zeros(2, 3)], 3)


@requires_cuda
def test_cat_of_integers_and_of_mixed_devices():
    a = np.arange(6).reshape(2, 3)
    b = np.arange(4).reshape(2, 2) * 10
    got = cn.cat([cn.tensor(a, device="cuda"), cn.tensor(b, device="cuda")], 1)
    assert got.device == cn.device("cuda:0") and got.dtype == cn.int64
    np.testing.assert_array_equal(got.cpu().numpy(), np.concatenate([a, b], 1))
    with pytest.raises(ValueError, match=r"cat: expected all tensors on one device, got tensor 0 on cuda:0 and "
                                         r"tensor 1 on cpu"):
        cn.cat([cn.ones(2, device="cuda"), cn.ones(2)])
