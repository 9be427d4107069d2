"""The reduce op stem (cpp/src/ops/reduce.cpp): sum, mean, max and argmax over dimensions. The cases run through tests/opcheck.py
(NumPy reference, float64 finite differences, PyTorch parity, the GPU against the CPU) and the
error cases check their messages."""

import numpy as np
import pytest

import convnet as cn
from opcheck import check_devices, check_op, randn, requires_cuda, rng, same_on_both, torch

tF = torch.nn.functional if torch is not None else None


@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True), ((0, 2), False), (-1, True)])
def test_sum_mean(dim, keepdim):
    x = randn(3, 4, 5)
    npdim = tuple(dim) if isinstance(dim, tuple) else dim
    check_op(f"sum(dim={dim})", lambda t: t.sum(dim=dim, keepdim=keepdim), [x],
             ref=lambda a: a.sum(axis=npdim, keepdims=keepdim),
             torch_fn=lambda t: t.sum(dim=dim, keepdim=keepdim) if dim is not None else t.sum())
    check_op(f"mean(dim={dim})", lambda t: t.mean(dim=dim, keepdim=keepdim), [x],
             ref=lambda a: a.mean(axis=npdim, keepdims=keepdim),
             torch_fn=lambda t: t.mean(dim=dim, keepdim=keepdim) if dim is not None else t.mean())


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_max_argmax(dim):
    x = randn(4, 5, 3)
    check_op(f"max(dim={dim})", lambda t: t.max(dim).values, [x], ref=lambda a: a.max(axis=dim),
             torch_fn=lambda t: t.max(dim).values)
    assert np.array_equal(cn.tensor(x).argmax(dim).numpy(), x.argmax(axis=dim))
    assert np.array_equal(cn.tensor(x).max(dim).indices.numpy(), x.argmax(axis=dim))
    assert cn.tensor(x).max().item() == pytest.approx(x.max())
    assert cn.tensor(x).argmax().item() == x.argmax()


SUM_CASES = [  # shape, dims, keepdim
    ((3, 4, 5), None, False),
    ((3, 4, 5), 0, False),
    ((3, 4, 5), 1, True),
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
]


@pytest.mark.cuda
@pytest.mark.parametrize("shape,dims,keepdim", SUM_CASES, ids=str)
def test_sum_and_mean_on_the_gpu(shape, dims, keepdim):
    x = randn(*shape)
    check_devices(f"sum(dims={dims}, keepdim={keepdim})", lambda x: x.sum(dims, keepdim), [x])
    if x.size:
        check_devices(f"mean(dims={dims}, keepdim={keepdim})", lambda x: x.mean(dims, keepdim), [x])


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


MAX_CASES = [((3, 4, 5), 0), ((3, 4, 5), 1), ((3, 4, 5), -1), ((6,), 0), ((), 0), ((2, 1300), 1), ((1300, 3), 0)]


@pytest.mark.cuda
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("shape,dim", MAX_CASES, ids=str)
def test_max_and_argmax_on_the_gpu(shape, dim, keepdim):
    x = randn(*shape)
    check_devices(f"max(dim={dim}, keepdim={keepdim})", lambda x: x.max(dim, keepdim)[0], [x])
    if cn.cuda.is_available():
        same_on_both(lambda t: t.max(dim, keepdim), x)
        same_on_both(lambda t: t.argmax(dim, keepdim), x)
        same_on_both(lambda t: t.max(), x)


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
