"""The layer_norm op stem (cpp/src/ops/layer_norm.cpp): layer_norm, group_norm and instance_norm,
one row normalization over different rows. The cases run through tests/opcheck.py (NumPy
reference, float64 finite differences, PyTorch parity) and the error cases check their messages."""

import numpy as np
import pytest

from convnet import nn
import convnet as cn
import convnet.functional as F
from reference import layers as L
from opcheck import check_case, drawn_cases, module_matches_torch, msg, on_devices, randn, tF


def _draw_layer_norm(r):
    shape = tuple(int(v) for v in r.integers(1, 6, size=int(r.integers(2, 5))))
    d = int(r.integers(1, len(shape) + 1))
    return shape, shape[len(shape) - d:], bool(r.integers(0, 2)), float(r.choice([1e-5, 1e-3, 0.1]))


# (input shape, normalized_shape, affine, eps): chosen cases, then drawn ones
LAYER_NORM_CASES = on_devices([
    ((2, 3, 8), (8,), True, 1e-5),  # a transformer's (N, L, D)
    ((4, 10), (10,), False, 1e-5),
], cpu=[
    ((2, 3, 5, 4), (3, 5, 4), True, 1e-3),  # the whole sample
    ((3, 3), (3,), True, 1e-5),
    ((2, 3, 7), (7,), True, 0.0),
    ((3, 300), (300,), True, 1e-5),  # more parameters than one block of the weight gradient's kernel
] + drawn_cases(6, 21, _draw_layer_norm))


@pytest.mark.parametrize("device,shape,norm,affine,eps", LAYER_NORM_CASES)
def test_layer_norm(device, shape, norm, affine, eps):
    x = randn(*shape) * 2 + 1
    if not affine:
        check_case(device, f"layer_norm({norm}, eps={eps})", lambda x: F.layer_norm(x, list(norm), eps=eps), [x],
                   ref=lambda x: L.layer_norm(x, norm, eps=eps),
                   ref_grad=lambda x, dy: L.layer_norm_backward(x, dy, norm, eps=eps)[0],
                   torch_fn=lambda x: tF.layer_norm(x, list(norm), eps=eps), double_backward=True)
        return
    w, b = randn(*norm), randn(*norm)
    check_case(device, f"layer_norm({norm}, affine, eps={eps})",
               lambda x, w, b: F.layer_norm(x, list(norm), w, b, eps), [x, w, b], diff=(0, 1, 2),
               ref=lambda x, w, b: L.layer_norm(x, norm, w, b, eps),
               ref_grad=lambda x, w, b, dy: L.layer_norm_backward(x, dy, norm, w, eps),
               torch_fn=lambda x, w, b: tF.layer_norm(x, list(norm), w, b, eps), double_backward=True)


# (input shape, num_groups, affine): odd sizes, one group, one channel per group
GROUP_NORM_CASES = on_devices([
    ((2, 6, 5, 4), 3, True),
    ((2, 6, 5, 4), 1, True),  # LayerNorm over (C, H, W)
], cpu=[
    ((2, 6, 5, 4), 6, False),  # InstanceNorm
    ((3, 4, 7), 2, True),
    ((1, 8, 3, 3, 2), 4, True),
    ((2, 9), 3, True),  # (N, C) without positions
    ((4, 9, 1, 1), 3, False),
])


@pytest.mark.parametrize("device,shape,groups,affine", GROUP_NORM_CASES)
def test_group_norm(device, shape, groups, affine):
    x = randn(*shape) * 3 - 1
    c = shape[1]
    if not affine:
        check_case(device, f"group_norm({groups})", lambda x: F.group_norm(x, groups), [x],
                   ref=lambda x: L.group_norm(x, groups),
                   ref_grad=lambda x, dy: L.group_norm_backward(x, dy, groups)[0],
                   torch_fn=lambda x: tF.group_norm(x, groups), double_backward=True)
        return
    w, b = randn(c), randn(c)
    check_case(device, f"group_norm({groups}, affine)", lambda x, w, b: F.group_norm(x, groups, w, b),
               [x, w, b], diff=(0, 1, 2), ref=lambda x, w, b: L.group_norm(x, groups, w, b),
               ref_grad=lambda x, w, b, dy: L.group_norm_backward(x, dy, groups, w),
               torch_fn=lambda x, w, b: tF.group_norm(x, groups, w, b), double_backward=True)


INSTANCE_NORM_CASES = on_devices([((2, 3, 5, 4), True), ((1, 4, 3, 3), False)],
                                 cpu=[((3, 2, 7), True), ((2, 3, 2, 3, 2), False)])


@pytest.mark.parametrize("device,shape,affine", INSTANCE_NORM_CASES)
def test_instance_norm(device, shape, affine):
    x = randn(*shape) + 0.5
    c = shape[1]
    if not affine:
        check_case(device, "instance_norm", lambda x: F.instance_norm(x), [x], ref=L.instance_norm,
                   ref_grad=lambda x, dy: L.instance_norm_backward(x, dy)[0], torch_fn=lambda x: tF.instance_norm(x),
                   double_backward=True)
        return
    w, b = randn(c), randn(c)
    check_case(device, "instance_norm(affine)", lambda x, w, b: F.instance_norm(x, weight=w, bias=b), [x, w, b],
               diff=(0, 1, 2), ref=lambda x, w, b: L.instance_norm(x, w, b),
               ref_grad=lambda x, w, b, dy: L.instance_norm_backward(x, dy, w),
               torch_fn=lambda x, w, b: tF.instance_norm(x, weight=w, bias=b), double_backward=True)


@pytest.mark.parametrize("spec,shape", [
    ("GroupNorm(3, 6)", (2, 6, 5, 4)),
    ("GroupNorm(2, 4, eps=1e-3, affine=False)", (3, 4, 7)),
    ("GroupNorm(1, 3, bias=False)", (2, 3, 4, 4)),
    ("LayerNorm(8)", (2, 5, 8)),
    ("LayerNorm([5, 4], elementwise_affine=False)", (2, 3, 5, 4)),
    ("LayerNorm((4,), bias=False, eps=0.1)", (3, 4)),
    ("InstanceNorm2d(3)", (2, 3, 5, 6)),
    ("InstanceNorm2d(3, affine=True)", (2, 3, 4, 4)),
    ("InstanceNorm2d(4, eps=1e-3, momentum=0.2, affine=True, bias=False)", (4, 3, 3)),  # unbatched (C,H,W)
])
def test_norm_modules(spec, shape):
    module_matches_torch(spec, shape)


def test_norm_modules_parameters_and_eval():
    m = nn.GroupNorm(2, 4)
    np.testing.assert_array_equal(m.weight.detach().numpy(), np.ones(4, np.float32))
    np.testing.assert_array_equal(m.bias.detach().numpy(), np.zeros(4, np.float32))
    assert nn.LayerNorm(3, elementwise_affine=False).weight is None
    assert nn.LayerNorm([2, 3]).normalized_shape == (2, 3)
    x = cn.randn(2, 4, 3)
    y1 = m(x).detach().numpy()
    m.eval()  # no running statistics: the same in eval mode
    np.testing.assert_array_equal(m(x).detach().numpy(), y1)


def test_layer_norm_errors():
    with pytest.raises(ValueError, match=msg("layer_norm: ", "normalized_shape (4,)", "(2, 3, 5)")):
        F.layer_norm(cn.randn(2, 3, 5), [4])
    with pytest.raises(ValueError, match=msg("LayerNorm((4,), ", "normalized_shape (4,)", "(2, 3)")):
        nn.LayerNorm(4)(cn.randn(2, 3))
    with pytest.raises(ValueError, match=msg("layer_norm: expected weight of shape (5,)", "(4,)")):
        F.layer_norm(cn.randn(2, 5), [5], cn.randn(4))
    with pytest.raises(ValueError, match=msg("layer_norm", "float32 or float64", "int64")):
        F.layer_norm(cn.tensor(np.zeros((2, 3), np.int64)), [3])
    with pytest.raises(ValueError, match=msg("LayerNorm: normalized_shape must be positive", "(0,)")):
        nn.LayerNorm(0)


def test_group_norm_errors():
    with pytest.raises(ValueError, match=msg("group_norm: ", "channels 6", "divisible by num_groups=4", "(2, 6, 3)")):
        F.group_norm(cn.randn(2, 6, 3), 4)
    with pytest.raises(ValueError, match=msg("GroupNorm(4, 6)", "divisible")):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match=msg("GroupNorm(2, 4, ", "4, *) of 4 channels", "(2, 6, 3)")):
        nn.GroupNorm(2, 4)(cn.randn(2, 6, 3))
    with pytest.raises(ValueError, match=msg("group_norm: expected weight of shape (6,)", "(3,)")):
        F.group_norm(cn.randn(2, 6, 3), 3, cn.randn(3))
    with pytest.raises(ValueError, match=msg("group_norm: ", "2 or more dimensions", "(5,)")):
        F.group_norm(cn.randn(5), 1)


def test_instance_norm_errors():
    with pytest.raises(ValueError, match=msg("instance_norm: ", "more than 1 spatial element", "(2, 3, 1, 1)")):
        F.instance_norm(cn.randn(2, 3, 1, 1))
    with pytest.raises(ValueError, match=msg("InstanceNorm2d(3, ", "4-D input", "(2, 3)")):
        nn.InstanceNorm2d(3)(cn.randn(2, 3))
    with pytest.raises(ValueError, match=msg("InstanceNorm2d(3)", "track_running_stats=True is not supported")):
        nn.InstanceNorm2d(3, track_running_stats=True)
    with pytest.raises(ValueError, match=msg("instance_norm: running statistics are not supported")):
        F.instance_norm(cn.randn(2, 3, 4), running_mean=cn.zeros(3), running_var=cn.ones(3))
