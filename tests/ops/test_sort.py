"""The sort op stem (cpp/src/ops/sort.cpp): sort, argsort and topk along a dimension. The cases run through
tests/opcheck.py (NumPy reference, float64 finite differences, PyTorch parity, the GPU against the CPU); ties
keep their order (a stable sort, as torch's stable=True), and the error cases check their messages."""

import numpy as np
import pytest

import convnet as cn
from opcheck import check_case, drawn_cases, msg, on_devices, randn, torch


def _draw(r):
    nd = int(r.integers(1, 4))
    shape = tuple(int(s) for s in r.integers(1, 6, nd))
    dim = int(r.integers(-nd, nd))
    k = int(r.integers(0, shape[dim] + 1))
    return shape, dim, bool(r.integers(0, 2)), k


SORT_CASES = drawn_cases(8, 21, _draw)


def _np_sort(a, dim, descending):
    order = np.argsort(-a if descending else a, axis=dim, kind="stable")
    return np.take_along_axis(a, order, axis=dim), order


@pytest.mark.parametrize("device,case", on_devices(both=[(c,) for c in SORT_CASES]), ids=str)
def test_sort_argsort_topk(device, case):
    shape, dim, descending, k = case
    x = randn(*shape)
    check_case(device, f"sort {shape} dim={dim} descending={descending}",
               lambda t: t.sort(dim, descending).values, [x], ref=lambda a: _np_sort(a, dim, descending)[0],
               torch_fn=lambda t: t.sort(dim=dim, descending=descending, stable=True).values, double_backward=True)
    check_case(device, f"topk {shape} k={k} dim={dim} largest={descending}",
               lambda t: cn.topk(t, k, dim, largest=descending)[0], [x],
               ref=lambda a: np.take(_np_sort(a, dim, descending)[0], range(k), axis=dim),
               torch_fn=lambda t: torch.topk(t, k, dim, largest=descending)[0], double_backward=True)
    t = cn.tensor(x, device=device)
    want = _np_sort(x, dim, descending)[1]
    assert np.array_equal(t.argsort(dim, descending).cpu().numpy(), want)
    assert np.array_equal(cn.sort(t, dim, descending=descending).indices.cpu().numpy(), want)
    assert np.array_equal(t.topk(k, dim, descending).indices.cpu().numpy(), np.take(want, range(k), axis=dim))


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int32, np.int64, np.float32, np.float64],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("descending", [False, True])
def test_ties_and_nan_keep_torch_stable_order(dtype, descending):
    """Ties keep their order (torch's stable sort); NaN sorts above every number; gradients go back to the
    indices."""
    pytest.importorskip("torch")
    r = np.random.default_rng(3)
    x = r.integers(0, 3, (4, 7)).astype(dtype)
    if dtype in (np.float32, np.float64):
        x[r.random(x.shape) < 0.2] = np.nan
    for dim in (0, 1, -1):
        got, want = cn.tensor(x).sort(dim, descending), torch.from_numpy(x).sort(dim=dim, descending=descending,
                                                                               stable=True)
        np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
        np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
        assert got.values.dtype == cn.tensor(x).dtype and got.indices.dtype == cn.int64
        np.testing.assert_array_equal(cn.tensor(x).argsort(dim, descending=descending, stable=True).numpy(),
                                      want.indices.numpy())
    if dtype == np.float64:
        c, t = cn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        w = np.arange(12.0).reshape(4, 3)
        (c.topk(3, 1, descending).values * cn.tensor(w)).sum().backward()
        v, i = torch.sort(t, dim=1, descending=descending, stable=True)
        (v[:, :3] * torch.tensor(w)).sum().backward()
        np.testing.assert_array_equal(c.grad.numpy(), t.grad.numpy())


@pytest.mark.parametrize("call, err, match", [
    (lambda: cn.ones(2, 3).topk(4), ValueError, "topk: k (4) out of range for dimension -1 of size 3"),
    (lambda: cn.ones(2, 3).topk(-1, 0), ValueError, "topk: k (-1) out of range for dimension 0 of size 2"),
    (lambda: cn.ones(2, 3).sort(2), IndexError, "sort: dimension 2 out of range for a tensor of shape (2, 3)"),
    (lambda: cn.argsort(cn.ones(2, 3), -3), IndexError, "argsort: dimension -3 out of range"),
])
def test_sort_errors(call, err, match):
    with pytest.raises(err, match=msg(match)):
        call()


def test_topk_of_int32_as_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(5).permutation(24).astype(np.int32).reshape(4, 6)
    for largest in (True, False):
        got, want = cn.tensor(x).topk(3, 1, largest=largest), torch.from_numpy(x).topk(3, 1, largest=largest)
        assert got.values.dtype == cn.int32 and got.indices.dtype == cn.int64
        np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
        np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
