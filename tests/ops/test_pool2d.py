"""The pool2d op stem (cpp/src/ops/pool2d.cpp): max, average, adaptive and LP pooling. The cases run through tests/opcheck.py
(NumPy reference, float64 finite differences, PyTorch parity, the GPU against the CPU) and the
error cases check their messages."""

import numpy as np
import pytest

from convnet import nn
import convnet as cn
import convnet.functional as F
from reference import norm_pool as NP
from reference import layers as L
from reference import ops as R
from opcheck import (DEVICES, assert_close, check_case, check_devices, check_double_backward, drawn_cases,
                    module_matches_torch, msg, on_devices, randn, requires_cuda, rng, tF, torch)


def _draw_pool(r):
    k = (int(r.integers(1, 4)), int(r.integers(1, 4)))
    s = (int(r.integers(1, 4)), int(r.integers(1, 4)))
    p = (int(r.integers(0, k[0] // 2 + 1)), int(r.integers(0, k[1] // 2 + 1)))
    hw = (int(r.integers(k[0], 9)), int(r.integers(k[1], 9)))
    return hw, k, s, p, bool(r.integers(0, 2))


def pool_cases(n):
    """(input size, kernel, stride, padding, ceil_mode): four chosen, the rest drawn."""
    chosen = [((6, 6), (2, 2), (2, 2), (0, 0), False), ((7, 7), (3, 3), (2, 2), (0, 0), False),
              ((7, 7), (3, 3), (2, 2), (1, 1), True), ((6, 5), (3, 2), (2, 2), (1, 0), True)]
    return chosen + drawn_cases(n - len(chosen), 11, _draw_pool)


# (input shape, kernel, stride, padding, dilation, ceil_mode): sixteen drawn cases, then chosen ones on the GPU
MAX_POOL_CASES = on_devices([((2, 3, H, W), k, s, p, (1, 1), ceil) for (H, W), k, s, p, ceil in pool_cases(16)], cuda=[
    ((2, 3, 7, 7), 3, 2, 1, 1, False),  # overlapping windows (ResNet's stem)
    ((1, 2, 8, 9), 2, 2, 0, 1, False),
    ((2, 2, 7, 6), 3, 2, 0, 1, True),  # the last window runs past the input
    ((1, 3, 9, 8), (3, 2), (2, 1), (1, 0), (2, 3), False),  # dilation
    ((1, 1, 5, 5), 3, 1, 1, 1, True),
    ((1, 2, 4, 4), 4, 3, 2, 1, True),  # windows wholly in the padding
])


@pytest.mark.parametrize("device,shape,k,s,p,d,ceil", MAX_POOL_CASES)
def test_max_pool2d(device, shape, k, s, p, d, ceil):
    x = randn(*shape)
    check_case(device, f"max_pool2d(kernel={k}, stride={s}, padding={p}, dilation={d}, ceil_mode={ceil})",
               lambda x: F.max_pool2d(x, k, s, p, d, ceil_mode=ceil), [x],
               ref=lambda x: R.max_pool2d(x, k, s, p, d, ceil),
               ref_grad=lambda x, dy: R.max_pool2d_backward(x, dy, k, s, p, d, ceil),
               torch_fn=lambda x: tF.max_pool2d(x, k, s, p, d, ceil_mode=ceil))


# (input shape, kernel, stride, padding, ceil_mode): sixteen drawn cases, then chosen ones on the GPU
AVG_POOL_CASES = on_devices([((2, 3, H, W), k, s, p, ceil) for (H, W), k, s, p, ceil in pool_cases(16)], cuda=[
    ((2, 3, 7, 7), 3, 2, 1, False),
    ((1, 2, 8, 9), 2, 2, 0, False),
    ((2, 2, 7, 6), 3, 2, 1, True),
    ((1, 3, 6, 5), (3, 2), (1, 2), (1, 1), True),
    ((1, 1, 5, 5), 2, 3, 1, True),
])


@pytest.mark.parametrize("device,shape,k,s,p,ceil", AVG_POOL_CASES)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d(device, shape, k, s, p, ceil, count_include_pad):
    x = randn(*shape)
    cip = count_include_pad
    check_case(device, f"avg_pool2d(kernel={k}, stride={s}, padding={p}, ceil_mode={ceil}, count_include_pad={cip})",
               lambda x: F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=cip), [x],
               ref=lambda x: R.avg_pool2d(x, k, s, p, ceil, cip),
               ref_grad=lambda x, dy: R.avg_pool2d_backward(x, dy, k, s, p, ceil, cip),
               torch_fn=lambda x: tF.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=cip))


ADAPTIVE_CASES = [((2, 3, 7, 5), (3, 2)), ((1, 2, 6, 6), 1), ((2, 2, 5, 8), (None, 3)), ((1, 3, 4, 7), (4, None)),
                  ((1, 2, 3, 3), (5, 4)), ((2, 1, 9, 10), 4), ((2, 4, 5), (2, 3)),
                  ((2, 3, 7, 7), 1), ((1, 2, 10, 9), (3, 4)), ((2, 2, 5, 6), (7, 8)), ((1, 3, 6, 5), (None, 2)),
                  ((3, 5, 5), (2, 3)), ((2, 3, 6, 6), (1, 1)), ((2, 3, 5, 5), (5, 5)), ((2, 3, 4, 9), (3, 4))]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kind", ["avg", "max"])
@pytest.mark.parametrize("shape,out", ADAPTIVE_CASES)
def test_adaptive_pool2d(device, kind, shape, out):
    """adaptive_avg_pool2d and adaptive_max_pool2d (3-D inputs as one image of a batch)."""
    name = f"adaptive_{kind}_pool2d"
    x = randn(*shape)
    x4 = (lambda a: a[None]) if len(shape) == 3 else (lambda a: a)
    un = (lambda a: a[0]) if len(shape) == 3 else (lambda a: a)
    check_case(device, f"{name}(output_size={out})", lambda x: getattr(F, name)(x, out), [x],
               ref=lambda x: un(getattr(NP, name)(x4(x), out)),
               ref_grad=lambda x, dy: un(getattr(NP, name + "_backward")(x4(x), x4(dy), out)),
               torch_fn=lambda x: getattr(tF, name)(x, out), double_backward=True)


@pytest.mark.parametrize("spec,shape", [
    ("AdaptiveAvgPool2d(1)", (2, 3, 5, 5)), ("AdaptiveAvgPool2d((3, 2))", (2, 3, 7, 5)),
    ("AdaptiveAvgPool2d((None, 2))", (2, 3, 7, 5)), ("AdaptiveMaxPool2d(2)", (2, 3, 5, 5)),
    ("AdaptiveMaxPool2d((4, None))", (1, 2, 9, 6)), ("AdaptiveMaxPool2d((3, 5))", (2, 2, 3, 3))])
def test_adaptive_pool_modules(spec, shape):
    m, _ = module_matches_torch(spec, shape)
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


LP_CASES = on_devices([((2, 3, 7, 6), 2.0, 2, None, False), ((2, 3, 7, 6), 2, (3, 2), (2, 1), False),
                       ((2, 3, 7, 6), 3.0, 3, 2, True), ((2, 3, 7, 6), 1.5, 2, 1, False),
                       ((2, 3, 7, 6), 2, 3, 2, True)],
                      cuda=[((2, 3, 7, 7), 2, 3, 2, False), ((1, 2, 6, 5), 1.5, (2, 3), 1, True)])


@pytest.mark.parametrize("device,shape,p,k,stride,ceil_mode", LP_CASES)
def test_lp_pool2d(device, shape, p, k, stride, ceil_mode):
    """On the GPU: pow, avg_pool2d and relu, of which LP pooling is composed, together."""
    x = np.abs(randn(*shape)) + 0.1 if p != 2 else randn(*shape)
    st = None if stride is None else stride

    check_case(device, f"lp_pool2d(norm_type={p}, kernel_size={k}, stride={stride}, ceil_mode={ceil_mode})",
               lambda x: F.lp_pool2d(x, p, k, st, ceil_mode), [x],
               ref=lambda x: NP.lp_pool2d(x, p, k, _pair_or_none(st), ceil_mode),
               ref_grad=lambda x, dy: NP.lp_pool2d_backward(x, dy, p, k, _pair_or_none(st), ceil_mode),
               torch_fn=lambda x: tF.lp_pool2d(x, p, k, st, ceil_mode), double_backward=True)


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
        assert_close(g, xt.grad.numpy(), 1e-6, "lp_pool2d gradient on a zero window")


@pytest.mark.parametrize("spec,shape", [("LPPool2d(2, 3)", (2, 3, 7, 7)),
                                        ("LPPool2d(2, (3, 2), stride=(2, 1))", (2, 3, 7, 6)),
                                        ("LPPool2d(1.5, 2, stride=1, ceil_mode=True)", (1, 2, 5, 5))])
def test_lp_pool_module(spec, shape):
    x = np.abs(np.random.default_rng(4).standard_normal(shape)).astype(np.float32) + 0.1
    module_matches_torch(spec, shape, x=x, tol=1e-4)


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


@pytest.mark.cuda
def test_max_pool2d_ties_route_to_the_same_input_on_the_gpu():
    """Equal values in overlapping windows: both devices pick the first maximum of each window."""
    x = rng().integers(0, 3, (2, 2, 9, 9)).astype(np.float64)
    check_devices("max_pool2d(ties)", lambda x: F.max_pool2d(x, 3, 2, 1), [x], rtol=0)
    check_devices("adaptive_max_pool2d(ties)", lambda x: F.adaptive_max_pool2d(x, (4, 5)), [x], rtol=0)


@requires_cuda
def test_pool_modules_keep_the_device():
    x = cn.tensor(randn(2, 3, 8, 8).astype(np.float32), device="cuda")
    for m in (nn.MaxPool2d(2), nn.AvgPool2d(3, 2, 1), nn.AdaptiveAvgPool2d((2, 3)), nn.AdaptiveMaxPool2d(1)):
        y = m(x)
        assert y.device == cn.device("cuda:0"), repr(m)
        np.testing.assert_allclose(y.cpu().numpy(), m(x.cpu()).numpy(), rtol=1e-6, atol=1e-6, err_msg=repr(m))


@pytest.mark.parametrize("op, layer", [(F.max_pool2d, "max_pool2d"), (F.avg_pool2d, "avg_pool2d")])
def test_pool2d_wrong_rank(op, layer):
    with pytest.raises(ValueError, match=msg(f"{layer}: ", "expected a 4-D input (N, C, H, W) or 3-D",
                                             "(8, 8)")):
        op(cn.randn(8, 8), 2)
    with pytest.raises(ValueError, match=msg(f"{layer}: ", "expected a 4-D input", "(1, 1, 1, 8, 8)")):
        op(cn.randn(1, 1, 1, 8, 8), 2)


@pytest.mark.parametrize("op, layer", [(F.max_pool2d, "max_pool2d"), (F.avg_pool2d, "avg_pool2d")])
def test_pool2d_window_larger_than_padded_input(op, layer):
    with pytest.raises(ValueError, match=msg(f"{layer}: ", "the window (5, 5) is larger than the "
                                             "padded input (3, 3)", "(1, 1, 3, 3)")):
        op(cn.randn(1, 1, 3, 3), 5)


@pytest.mark.parametrize("op, layer", [(F.max_pool2d, "max_pool2d"), (F.avg_pool2d, "avg_pool2d")])
@pytest.mark.parametrize("kw, text", [
    ({"kernel_size": 0}, "kernel_size must be positive"),
    ({"kernel_size": -2}, "kernel_size must be positive"),
    ({"kernel_size": 2, "stride": 0}, "stride must be positive"),
    ({"kernel_size": 2, "stride": -1}, "stride must be positive"),
    ({"kernel_size": 2, "padding": 2}, "padding must be non-negative and at most half the kernel size"),
    ({"kernel_size": 2, "padding": -1}, "padding must be non-negative"),
])
def test_pool2d_zero_or_negative_arguments(op, layer, kw, text):
    with pytest.raises(ValueError, match=msg(f"{layer}: ", text)):
        op(cn.randn(1, 1, 8, 8), **kw)


@pytest.mark.parametrize("op, layer", [(F.max_pool2d, "max_pool2d"), (F.avg_pool2d, "avg_pool2d")])
def test_pool2d_integer_input(op, layer):
    with pytest.raises(ValueError, match=msg(f"{layer}: ", "expected a float32 or float64 input, got int64")):
        op(cn.tensor(np.zeros((1, 1, 8, 8), np.int64)), 2)


@pytest.mark.parametrize("cls", [nn.MaxPool2d, nn.AvgPool2d])
@pytest.mark.parametrize("kw, text", [
    ({"kernel_size": 0}, "kernel_size must be positive, got (0, 0)"),
    ({"kernel_size": (2, -1)}, "kernel_size must be positive, got (2, -1)"),
    ({"kernel_size": 2, "stride": 0}, "stride must be positive, got (0, 0)"),
    ({"kernel_size": 2, "stride": -2}, "stride must be positive, got (-2, -2)"),
])
def test_pool2d_module_constructor_rejects_bad_sizes(cls, kw, text):
    with pytest.raises(ValueError, match=msg(cls.__name__, text)):
        cls(**kw)


def test_pool2d_module_forward_errors():
    with pytest.raises(ValueError, match=msg("MaxPool2d(kernel_size=(2, 2)", "expected a 4-D input", "(8,)")):
        nn.MaxPool2d(2)(cn.randn(8))
    with pytest.raises(ValueError, match=msg("MaxPool2d(kernel_size=(5, 5)", "larger than the padded input (3, 3)",
                                             "(1, 1, 3, 3)")):
        nn.MaxPool2d(5)(cn.randn(1, 1, 3, 3))
    with pytest.raises(ValueError, match=msg("AvgPool2d(kernel_size=(2, 2)", "padding must be non-negative")):
        nn.AvgPool2d(2, padding=-1)(cn.randn(1, 1, 8, 8))


def test_adaptive_avg_pool2d_errors():
    with pytest.raises(ValueError, match=msg("adaptive_avg_pool2d: ", "expected a 4-D input",
                                             "(8, 8)")):
        F.adaptive_avg_pool2d(cn.randn(8, 8), 2)
    for size, text in [(0, "(0, 0)"), ((-1, 2), "(-1, 2)")]:
        with pytest.raises(ValueError, match=msg("adaptive_avg_pool2d: ", "output_size must be positive", text)):
            F.adaptive_avg_pool2d(cn.randn(1, 1, 8, 8), size)
        with pytest.raises(ValueError, match=msg("AdaptiveAvgPool2d", "output_size must be positive", text)):
            nn.AdaptiveAvgPool2d(size)
    with pytest.raises(ValueError, match=msg("adaptive_avg_pool2d: ", "input spatial size must be positive",
                                             "(1, 1, 0, 8)")):
        F.adaptive_avg_pool2d(cn.randn(1, 1, 0, 8), 2)
    with pytest.raises(ValueError, match=msg("adaptive_avg_pool2d: ", "float32 or float64", "int64")):
        F.adaptive_avg_pool2d(cn.tensor(np.zeros((1, 1, 4, 4), np.int64)), 2)


# ---- indices of max pooling, max unpooling, 1-D pooling (pool2d over (N, C, 1, L)) ----------------------

@pytest.mark.parametrize("shape,k,s,p,d,ceil", [((2, 3, 6, 6), 2, 2, 0, 1, False), ((1, 2, 7, 7), 3, 2, 1, 1, True),
                                                ((2, 2, 9, 8), (3, 2), (2, 1), (1, 0), (2, 3), False),
                                                ((3, 5, 4), 2, 1, 1, 1, False)])
def test_max_pool2d_return_indices(shape, k, s, p, d, ceil):
    torch_ = pytest.importorskip("torch")
    x = randn(*shape)
    y, idx = F.max_pool2d(cn.tensor(x), k, s, p, d, ceil_mode=ceil, return_indices=True)
    ty, tidx = tF.max_pool2d(torch_.from_numpy(x), k, s, p, d, ceil_mode=ceil, return_indices=True)
    assert idx.dtype == cn.int64 and idx.shape == tuple(tidx.shape)
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    np.testing.assert_array_equal(y.numpy(), ty.numpy())
    m = nn.MaxPool2d(k, s, p, d, return_indices=True, ceil_mode=ceil)
    my, midx = m(cn.tensor(x))
    np.testing.assert_array_equal(midx.numpy(), tidx.numpy())
    np.testing.assert_array_equal(my.numpy(), ty.numpy())


def _unpool_case(shape, k, s, p):
    """An input to unpool and the indices of max pooling (k, s, p) over a random image of `shape`."""
    y, idx = F.max_pool2d(cn.tensor(randn(*shape)), k, s, p, return_indices=True)
    return randn(*y.shape), idx.numpy()


def _unpool_size(x, k, s, p, size):
    return size or tuple((x.shape[-2 + i] - 1) * R._pair(s)[i] - 2 * R._pair(p)[i] + R._pair(k)[i] for i in range(2))


# (pooled image shape, kernel, stride, padding, output_size): windows that do not overlap, so
# that no index repeats and the gradient is the derivative
UNPOOL_CASES = [((2, 3, 6, 6), 2, 2, 0, None), ((1, 2, 7, 7), 3, 3, 1, None), ((1, 2, 7, 8), 2, 2, 0, (7, 9)),
                ((2, 2, 9, 8), (3, 2), (3, 2), (1, 0), (9, 8)), ((3, 5, 5), 2, 2, 0, (5, 5)),
                ((1, 1, 5, 6), (1, 3), (2, 3), 0, None)]


@pytest.mark.parametrize("device,shape,k,s,p,size", on_devices(UNPOOL_CASES[:3], cpu=UNPOOL_CASES[3:]))
def test_max_unpool2d(device, shape, k, s, p, size):
    x, idx = _unpool_case(shape, k, s, p)
    hw = _unpool_size(x, k, s, p, size)
    four = (lambda a: a[None]) if x.ndim == 3 else (lambda a: a)
    un = (lambda a: a[0]) if x.ndim == 3 else (lambda a: a)
    check_case(device, f"max_unpool2d(kernel={k}, stride={s}, padding={p}, output_size={size})",
               lambda x, i: F.max_unpool2d(x, i, k, s, p, size), [x, idx], diff=(0,),
               ref=lambda x, i: un(L.max_unpool2d(four(x), four(i), hw)),
               ref_grad=lambda x, i, dy: np.take_along_axis(dy.reshape(*dy.shape[:-2], -1),
                                                            i.reshape(*i.shape[:-2], -1), -1).reshape(x.shape),
               torch_fn=lambda x, i: tF.max_unpool2d(x, i, k, s, p, size), double_backward=True)


# Overlapping windows repeat indices: the value stored is the one of the last window (all equal
# when the indices come from max pooling), and each window gets the gradient of its position, as
# PyTorch (not the derivative: no finite differences).
@pytest.mark.parametrize("shape,k,s,p", [((1, 2, 7, 7), 3, 2, 1), ((2, 2, 9, 8), (3, 2), (2, 1), (1, 0)),
                                         ((1, 1, 5, 6), 3, 1, 1)])
def test_max_unpool2d_repeated_indices_as_torch(shape, k, s, p):
    torch_ = pytest.importorskip("torch")
    y, idx = F.max_pool2d(cn.tensor(randn(*shape).astype(np.float32)), k, s, p, return_indices=True)
    planes = idx.numpy().reshape(-1, idx.shape[-2] * idx.shape[-1])
    assert any(len(np.unique(q)) < q.size for q in planes)  # an index repeats within a plane
    dy = randn(*shape[:2], *_unpool_size(y, k, s, p, None))
    x = y.detach().requires_grad_(True)
    z = F.max_unpool2d(x, idx, k, s, p)
    z.backward(cn.tensor(dy.astype(np.float32)))
    tx = torch_.from_numpy(y.numpy()).requires_grad_(True)
    tz = tF.max_unpool2d(tx, torch_.from_numpy(idx.numpy()), k, s, p)
    tz.backward(torch_.from_numpy(dy.astype(np.float32)))
    np.testing.assert_array_equal(z.detach().numpy(), tz.detach().numpy())
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_max_unpool2d_module_inverts_max_pool():
    torch_ = pytest.importorskip("torch")
    x = randn(2, 3, 6, 8).astype(np.float32)
    pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    assert repr(unpool) == repr(torch_.nn.MaxUnpool2d(2))
    y, idx = pool(cn.tensor(x))
    z = unpool(y, idx)
    tz = torch_.nn.MaxUnpool2d(2)(*torch_.nn.MaxPool2d(2, return_indices=True)(torch_.from_numpy(x)))
    np.testing.assert_array_equal(z.numpy(), tz.numpy())
    assert unpool(y, idx, output_size=(2, 3, 7, 9)).shape == (2, 3, 7, 9)


def test_max_unpool2d_errors():
    y, idx = F.max_pool2d(cn.randn(1, 1, 4, 4), 2, return_indices=True)
    with pytest.raises(ValueError, match=msg("max_unpool2d: invalid output_size (6, 4)")):
        F.max_unpool2d(y, idx, 2, output_size=(6, 4))
    with pytest.raises(ValueError, match=msg("max_unpool2d: found an invalid max index 9", "(3, 3)")):
        F.max_unpool2d(y, cn.tensor(np.full((1, 1, 2, 2), 9, np.int64)), 2, output_size=(3, 3))
    with pytest.raises(ValueError, match=msg("max_unpool2d: expected int64 indices", "(1, 1, 2, 2)", "(1, 1, 2)")):
        F.max_unpool2d(y, cn.tensor(np.zeros((1, 1, 2), np.int64)), 2)
    with pytest.raises(ValueError, match=msg("max_unpool2d: ", "4-D input", "(4,)")):
        F.max_unpool2d(cn.randn(4), cn.tensor(np.zeros(4, np.int64)), 2)


def _draw_pool1d(r):
    k, d = int(r.integers(1, 5)), int(r.integers(1, 3))
    return ((int(r.integers(1, 3)), int(r.integers(1, 4)), int(r.integers(d * (k - 1) + 1, 12))), k,
            int(r.integers(1, 4)), int(r.integers(0, k // 2 + 1)), d, bool(r.integers(0, 2)))


# (input shape, kernel, stride, padding, dilation, ceil_mode)
POOL1D_CASES = [((2, 3, 9), 3, 2, 1, 1, False), ((4, 7), 2, 2, 0, 1, True), ((1, 2, 10), 3, 1, 1, 2, False)] + \
    drawn_cases(8, 41, _draw_pool1d)


@pytest.mark.parametrize("device,shape,k,s,p,d,ceil", on_devices(POOL1D_CASES[:2], cpu=POOL1D_CASES[2:]))
def test_max_pool1d(device, shape, k, s, p, d, ceil):
    x = randn(*shape)
    check_case(device, f"max_pool1d(kernel={k}, stride={s}, padding={p}, dilation={d}, ceil_mode={ceil})",
               lambda x: F.max_pool1d(x, k, s, p, d, ceil_mode=ceil), [x],
               torch_fn=lambda x: tF.max_pool1d(x, k, s, p, d, ceil_mode=ceil), double_backward=True)


@pytest.mark.parametrize("device,shape,k,s,p,d,ceil", on_devices(POOL1D_CASES[:2], cpu=POOL1D_CASES[2:]))
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool1d(device, shape, k, s, p, d, ceil, count_include_pad):
    x = randn(*shape)
    cip = count_include_pad
    check_case(device, f"avg_pool1d(kernel={k}, stride={s}, padding={p}, ceil_mode={ceil}, count_include_pad={cip})",
               lambda x: F.avg_pool1d(x, k, s, p, ceil, cip), [x],
               torch_fn=lambda x: tF.avg_pool1d(x, k, s, p, ceil, cip), double_backward=True)


@pytest.mark.parametrize("device,shape,out", on_devices([((2, 3, 7), 3), ((4, 9), 4)],
                                                        cpu=[((1, 2, 5), 1), ((2, 1, 3), 5), ((2, 2, 10), (4,))]))
def test_adaptive_avg_pool1d(device, shape, out):
    x = randn(*shape)
    check_case(device, f"adaptive_avg_pool1d({out})", lambda x: F.adaptive_avg_pool1d(x, out), [x],
               torch_fn=lambda x: tF.adaptive_avg_pool1d(x, out), double_backward=True)


def test_max_pool1d_return_indices():
    torch_ = pytest.importorskip("torch")
    x = randn(2, 3, 11)
    y, idx = nn.MaxPool1d(3, 2, 1, return_indices=True)(cn.tensor(x))
    ty, tidx = torch_.nn.MaxPool1d(3, 2, 1, return_indices=True)(torch_.from_numpy(x))
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    np.testing.assert_array_equal(y.numpy(), ty.numpy())


@pytest.mark.parametrize("spec,shape", [("MaxPool1d(3, 2)", (2, 3, 9)), ("MaxPool1d(2)", (4, 8)),
                                        ("MaxPool1d(3, stride=1, padding=1, dilation=2, ceil_mode=True)", (1, 2, 9)),
                                        ("AvgPool1d(3, 2)", (2, 3, 9)), ("AvgPool1d((2,), padding=1)", (1, 2, 7)),
                                        ("AdaptiveAvgPool1d(5)", (2, 3, 12))])
def test_pool1d_modules(spec, shape):
    module_matches_torch(spec, shape)


def test_pool1d_errors():
    with pytest.raises(ValueError, match=msg("max_pool1d: ", "3-D input (N, C, L)", "(1, 2, 3, 4)")):
        F.max_pool1d(cn.randn(1, 2, 3, 4), 2)
    with pytest.raises(ValueError, match=msg("avg_pool1d: ", "padding must be non-negative and at most half")):
        F.avg_pool1d(cn.randn(1, 2, 8), 2, padding=2)
    with pytest.raises(ValueError, match=msg("MaxPool1d(kernel_size=5, ", "output size is too small")):
        nn.MaxPool1d(5)(cn.randn(1, 2, 3))
    with pytest.raises(ValueError, match=msg("adaptive_avg_pool1d: output_size must be positive", "0")):
        F.adaptive_avg_pool1d(cn.randn(1, 2, 3), 0)
    with pytest.raises(TypeError, match=msg("max_pool1d: kernel_size must be an int or a 1-tuple", "(2, 2)")):
        F.max_pool1d(cn.randn(1, 2, 8), (2, 2))


def _pool_double_case(r):
    k, s = int(r.integers(1, 4)), int(r.integers(1, 3))
    p = int(r.integers(0, k // 2 + 1))
    H, W = (int(v) for v in r.integers(k, 7, size=2))
    return (int(r.integers(1, 3)), int(r.integers(1, 3)), H, W), k, s, p, bool(r.integers(0, 2))


POOL_DOUBLE_OPS = {
    "max_pool2d": lambda lib_F, k, s, p, c: (lambda x: lib_F.max_pool2d(x, k, s, p, ceil_mode=c) ** 2),
    "avg_pool2d": lambda lib_F, k, s, p, c: (lambda x: lib_F.avg_pool2d(x, k, s, p, ceil_mode=c,
                                                                          count_include_pad=not c) ** 2),
    "adaptive_avg_pool2d": lambda lib_F, k, s, p, c: (lambda x: lib_F.adaptive_avg_pool2d(x, (k + 1, k)) ** 2),
    "adaptive_max_pool2d": lambda lib_F, k, s, p, c: (lambda x: lib_F.adaptive_max_pool2d(x, (k, k + 1)) ** 2),
}
POOL_DOUBLE_CASES = [(name, *case) for name, case in zip(sorted(POOL_DOUBLE_OPS) * 3,
                                                        drawn_cases(3 * len(POOL_DOUBLE_OPS), 5, _pool_double_case))]


@pytest.mark.parametrize("name,shape,k,s,p,ceil", POOL_DOUBLE_CASES, ids=str)
def test_pool2d_double_backward(name, shape, k, s, p, ceil):
    """Second derivatives through pooling (squared, so that they are not all zero): the backward is
    recorded as an op of dy for create_graph."""
    make = POOL_DOUBLE_OPS[name]
    check_double_backward(f"{name}(k={k}, s={s}, p={p}, ceil={ceil})", make(F, k, s, p, ceil), [randn(*shape)],
                          torch_fn=make(tF, k, s, p, ceil))
