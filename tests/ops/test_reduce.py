"""The reduce op stem (cpp/src/ops/reduce.cpp): sum, mean, max and argmax over dimensions. The cases run through tests/opcheck.py
(NumPy reference, float64 finite differences, PyTorch parity, the GPU against the CPU) and the
error cases check their messages."""

import numpy as np
import pytest

import convnet as cn
from opcheck import check_case, on_devices, randn, requires_cuda, rng, same_on_both


SUM_CASES = on_devices([  # shape, dims, keepdim; the second list on the GPU only
    ((3, 4, 5), None, False),
    ((3, 4, 5), 0, False),
    ((3, 4, 5), 1, True),
    ((3, 4, 5), -1, True),
    ((3, 4, 5), (0, 2), False),
], cuda=[
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
])


@pytest.mark.parametrize("device,shape,dims,keepdim", SUM_CASES, ids=str)
def test_sum_mean(device, shape, dims, keepdim):
    x = randn(*shape)
    axis = tuple(dims) if isinstance(dims, tuple) else dims
    check_case(device, f"sum(dims={dims}, keepdim={keepdim})", lambda t: t.sum(dims, keepdim), [x],
               ref=lambda a: a.sum(axis=axis, keepdims=keepdim),
               torch_fn=lambda t: t.sum(dim=dims, keepdim=keepdim) if dims is not None else t.sum())
    if x.size:
        check_case(device, f"mean(dims={dims}, keepdim={keepdim})", lambda t: t.mean(dims, keepdim), [x],
                   ref=lambda a: a.mean(axis=axis, keepdims=keepdim),
                   torch_fn=lambda t: t.mean(dim=dims, keepdim=keepdim) if dims is not None else t.mean())


@requires_cuda
@pytest.mark.parametrize("dtype", [np.int64, np.uint8, np.bool_], ids=lambda d: np.dtype(d).name)
def test_integer_sums_are_int64_on_the_gpu(dtype):
    x = rng().integers(0, 200, (4, 600)).astype(dtype)
    same_on_both(lambda t: t.sum(), x)
    same_on_both(lambda t: t.sum(1), x)
    same_on_both(lambda t: t.sum(0, keepdim=True), x)
    same_on_both(lambda t: cn.sum(t, (0, 1)), x)


@requires_cuda
def test_long_int_sum_is_exact_on_the_gpu():
    x = np.full(300_000, 7, np.int64)
    x[::3] = 2**40
    got = cn.tensor(x, device="cuda").sum()
    assert got.dtype == cn.int64 and got.item() == int(x.sum())


# (shape, dim, keepdim); the second list on the GPU only
MAX_CASES = on_devices([((4, 5, 3), dim, False) for dim in (0, 1, -1)],
                       cuda=[(shape, dim, keepdim) for shape, dim in [((3, 4, 5), 0), ((3, 4, 5), 1), ((3, 4, 5), -1),
                                                                      ((6,), 0), ((), 0), ((2, 1300), 1),
                                                                      ((1300, 3), 0)]
                             for keepdim in (False, True)])


def _np_max(a, dim, keepdim, f=np.max):
    """np.max (or np.argmax) over `dim`, with torch's 0-d case (dim 0 of a 0-d array is the array)."""
    return f(a[None], axis=0) if a.ndim == 0 else f(a, axis=dim, keepdims=keepdim)


@pytest.mark.parametrize("device,shape,dim,keepdim", MAX_CASES, ids=str)
def test_max_argmax(device, shape, dim, keepdim):
    x = randn(*shape)
    check_case(device, f"max(dim={dim}, keepdim={keepdim})", lambda t: t.max(dim, keepdim).values, [x],
               ref=lambda a: _np_max(a, dim, keepdim), torch_fn=lambda t: t.max(dim, keepdim).values)
    t = cn.tensor(x, device=device)
    want = _np_max(x, dim, keepdim, np.argmax)
    assert np.array_equal(t.argmax(dim, keepdim).cpu().numpy(), want)
    assert np.array_equal(t.max(dim, keepdim).indices.cpu().numpy(), want)
    assert t.max().item() == pytest.approx(x.max())
    assert t.argmax().item() == x.argmax()


@requires_cuda
def test_max_takes_the_first_maximum_and_the_first_nan_on_the_gpu():
    x = np.zeros((2, 2000), np.float32)
    x[:, 700] = x[:, 1500] = 3.0  # ties in different chunks: the first wins
    same_on_both(lambda t: t.max(1), x)
    assert cn.tensor(x, device="cuda").argmax(1).cpu().numpy().tolist() == [700, 700]
    x[0, 1200], x[0, 1800], x[1, 5] = np.nan, np.nan, np.nan
    v, i = cn.tensor(x, device="cuda").max(1)
    assert np.isnan(v.cpu().numpy()).all() and i.cpu().numpy().tolist() == [1200, 5]
    same_on_both(lambda t: t.max(1), x)
    for dtype in (np.int64, np.uint8, np.bool_):
        same_on_both(lambda t: t.max(1), (rng().integers(0, 3, (3, 700))).astype(dtype))
