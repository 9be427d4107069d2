"""The reduce op stem (cpp/src/ops/reduce.cpp): sum, mean, max and argmax over dimensions. The cases run through tests/opcheck.py
(NumPy reference, float64 finite differences, PyTorch parity, the GPU against the CPU) and the
error cases check their messages."""

import numpy as np
import pytest

import convnet as cn
from opcheck import (away_from, check_case, check_double_backward, drawn_cases, msg, on_devices, randn, requires_cuda,
                    rng, same_on_both, torch)


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
               torch_fn=lambda t: t.sum(dim=dims, keepdim=keepdim) if dims is not None else t.sum(),
               double_backward=True)
    if x.size:
        check_case(device, f"mean(dims={dims}, keepdim={keepdim})", lambda t: t.mean(dims, keepdim), [x],
                   ref=lambda a: a.mean(axis=axis, keepdims=keepdim),
                   torch_fn=lambda t: t.mean(dim=dims, keepdim=keepdim) if dims is not None else t.mean(),
                   double_backward=True)


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
               ref=lambda a: _np_max(a, dim, keepdim), torch_fn=lambda t: t.max(dim, keepdim).values,
               double_backward=True)
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


# ---- min/max with indices, amax/amin, std/var, prod, norm, cumsum, any/all, argmin (bindings/math.cpp) ----------
def _draw_reduction(r):
    nd = int(r.integers(1, 4))
    shape = tuple(int(s) for s in r.integers(1, 5, nd))
    dim = int(r.integers(-nd, nd))
    return shape, dim, bool(r.integers(0, 2))


REDUCE_CASES = drawn_cases(6, 13, _draw_reduction)


def _dims_of(shape, dim):
    """A set of 1 or 2 dims including dim (as a tuple), for the multi-dimension reductions."""
    nd = len(shape)
    other = (dim + 1) % nd
    return (dim,) if other == dim % nd else (dim, other - nd)


REDUCE_OPS = {  # name: (convnet fn, torch fn, NumPy reference) given dim, keepdim, dims
    "max(dim)": (lambda t, d, k, ds: t.max(d, k).values, lambda t, d, k, ds: t.max(d, k).values,
                 lambda a, d, k, ds: np.max(a, axis=d, keepdims=k)),
    "min(dim)": (lambda t, d, k, ds: cn.min(t, d, keepdim=k)[0], lambda t, d, k, ds: torch.min(t, d, keepdim=k)[0],
                 lambda a, d, k, ds: np.min(a, axis=d, keepdims=k)),
    "max()": (lambda t, d, k, ds: t.max(), lambda t, d, k, ds: t.max(), lambda a, d, k, ds: np.max(a)),
    "min()": (lambda t, d, k, ds: cn.min(t), lambda t, d, k, ds: torch.min(t), lambda a, d, k, ds: np.min(a)),
    "amax": (lambda t, d, k, ds: t.amax(ds, k), lambda t, d, k, ds: t.amax(ds, k),
             lambda a, d, k, ds: np.max(a, axis=ds, keepdims=k)),
    "amin": (lambda t, d, k, ds: cn.amin(t, ds, keepdim=k), lambda t, d, k, ds: torch.amin(t, ds, keepdim=k),
             lambda a, d, k, ds: np.min(a, axis=ds, keepdims=k)),
    "var": (lambda t, d, k, ds: t.var(ds, keepdim=k), lambda t, d, k, ds: t.var(ds, keepdim=k),
            lambda a, d, k, ds: np.var(a, axis=ds, keepdims=k, ddof=1)),
    "var(correction=0)": (lambda t, d, k, ds: t.var(ds, keepdim=k, correction=0),
                          lambda t, d, k, ds: t.var(ds, keepdim=k, correction=0),
                          lambda a, d, k, ds: np.var(a, axis=ds, keepdims=k)),
    "std": (lambda t, d, k, ds: cn.std(t, d, keepdim=k), lambda t, d, k, ds: torch.std(t, d, keepdim=k),
            lambda a, d, k, ds: np.std(a, axis=d, keepdims=k, ddof=1)),
    "std(unbiased=False)": (lambda t, d, k, ds: t.std(ds, False, k), lambda t, d, k, ds: t.std(ds, False, k),
                            lambda a, d, k, ds: np.std(a, axis=ds, keepdims=k)),
    "std()": (lambda t, d, k, ds: t.std(), lambda t, d, k, ds: t.std(), lambda a, d, k, ds: np.std(a, ddof=1)),
    "prod(dim)": (lambda t, d, k, ds: t.prod(d, k), lambda t, d, k, ds: t.prod(d, k),
                  lambda a, d, k, ds: np.prod(a, axis=d, keepdims=k)),
    "prod()": (lambda t, d, k, ds: cn.prod(t), lambda t, d, k, ds: torch.prod(t), lambda a, d, k, ds: np.prod(a)),
    "norm()": (lambda t, d, k, ds: t.norm(), lambda t, d, k, ds: t.norm(), lambda a, d, k, ds: np.linalg.norm(a.ravel())),
    "norm(2, dims)": (lambda t, d, k, ds: t.norm(2, ds, k), lambda t, d, k, ds: t.norm(2, ds, k),
                      lambda a, d, k, ds: np.sqrt((a * a).sum(axis=ds, keepdims=k))),
    "norm(1, dim)": (lambda t, d, k, ds: cn.norm(t, 1, d, k), lambda t, d, k, ds: torch.norm(t, 1, d, k),
                     lambda a, d, k, ds: np.abs(a).sum(axis=d, keepdims=k)),
    "norm(inf, dim)": (lambda t, d, k, ds: t.norm(float("inf"), d, k), lambda t, d, k, ds: t.norm(float("inf"), d, k),
                       lambda a, d, k, ds: np.abs(a).max(axis=d, keepdims=k)),
    "norm(-inf)": (lambda t, d, k, ds: t.norm(float("-inf")), lambda t, d, k, ds: t.norm(float("-inf")),
                   lambda a, d, k, ds: np.abs(a).min()),
    "norm(3, dims)": (lambda t, d, k, ds: t.norm(3, ds, k), lambda t, d, k, ds: t.norm(3, ds, k),
                      lambda a, d, k, ds: (np.abs(a) ** 3).sum(axis=ds, keepdims=k) ** (1 / 3)),
    "norm('fro', dims)": (lambda t, d, k, ds: t.norm("fro", ds, k), lambda t, d, k, ds: t.norm("fro", ds, k),
                          lambda a, d, k, ds: np.sqrt((a * a).sum(axis=ds, keepdims=k))),
    "cumsum": (lambda t, d, k, ds: t.cumsum(d), lambda t, d, k, ds: t.cumsum(d),
               lambda a, d, k, ds: np.cumsum(a, axis=d)),
    "cn.cumsum": (lambda t, d, k, ds: cn.cumsum(t, dim=d), lambda t, d, k, ds: torch.cumsum(t, dim=d),
                  lambda a, d, k, ds: np.cumsum(a, axis=d)),
}


@pytest.mark.parametrize("device,op,case", on_devices(both=[(op, c) for op in REDUCE_OPS for c in REDUCE_CASES]),
                         ids=str)
def test_reductions(device, op, case):
    shape, dim, keepdim = case
    dims = _dims_of(shape, dim)
    if op.startswith(("var", "std")) and np.prod([shape[d] for d in (dims if op != "std" else (dim,))]) < 2:
        shape = shape[:dim % len(shape)] + (3,) + shape[dim % len(shape) + 1:]
    fn, tfn, ref = REDUCE_OPS[op]
    x = away_from(randn(*shape), [0.0], 0.1)  # distinct magnitudes, none near the kink of abs
    check_case(device, f"{op} {shape} dim={dim} dims={dims} keepdim={keepdim}", lambda t: fn(t, dim, keepdim, dims),
               [x], ref=lambda a: ref(a, dim, keepdim, dims), torch_fn=lambda t: tfn(t, dim, keepdim, dims),
               double_backward=True)


def _torch_grad(f, x):
    t = torch.tensor(x, requires_grad=True)
    f(t).backward(torch.ones_like(f(t)))
    return t.grad.numpy()


def _cn_grad(f, x):
    t = cn.tensor(x, requires_grad=True)
    y = f(t)
    y.backward(cn.ones_like(y))
    return t.grad.numpy()


@pytest.mark.parametrize("seed", range(4))
def test_ties_route_gradients_as_torch(seed):
    """With ties: max/min along a dim give the gradient to the index returned (the first); full max/min,
    amax/amin and the inf-norm spread it evenly; the same values and indices as torch."""
    pytest.importorskip("torch")
    r = np.random.default_rng(seed)
    x = r.integers(0, 3, (3, 4, 2)).astype(np.float64)
    for name, f in [("max(1)", lambda t: t.max(1)[0]), ("min(-1)", lambda t: t.min(-1)[0]), ("max()", lambda t: t.max()),
                    ("min()", lambda t: t.min()), ("amax((0, 2))", lambda t: t.amax((0, 2))),
                    ("amin(1, keepdim)", lambda t: t.amin(1, keepdim=True)),
                    ("norm(inf, 0)", lambda t: t.norm(float("inf"), 0)), ("prod(1)", lambda t: t.prod(1)),
                    ("prod(0) with zeros", lambda t: (t - 1).prod(0)), ("std(2)", lambda t: t.std(2)),
                    ("norm(2, 2)", lambda t: (t - 1).norm(2, 2))]:
        np.testing.assert_allclose(f(cn.tensor(x)).numpy(), f(torch.tensor(x)).numpy(), err_msg=name)
        np.testing.assert_allclose(_cn_grad(f, x), _torch_grad(f, x), err_msg=name, atol=1e-12)
    for d in (0, 1, -1):
        for f in (lambda t: t.max(d), lambda t: t.min(d, keepdim=True)):
            got, want = f(cn.tensor(x)), f(torch.tensor(x))
            assert np.array_equal(got.indices.numpy(), want.indices.numpy())
            assert np.array_equal(got[0].numpy(), want[0].numpy())
    assert cn.tensor(x).argmin().item() == torch.tensor(x).argmin().item()
    assert np.array_equal(cn.tensor(x).argmin(1, keepdim=True).numpy(), torch.tensor(x).argmin(1, keepdim=True).numpy())


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int32, np.int64, np.float32, np.float64],
                         ids=lambda d: np.dtype(d).name)
def test_reduction_dtypes_as_torch(dtype):
    pytest.importorskip("torch")
    x = np.random.default_rng(0).integers(0, 3, (3, 4)).astype(dtype)
    c, t = cn.tensor(x), torch.from_numpy(x)
    for name, f in [("any", lambda v: v.any()), ("all(1)", lambda v: v.all(1)), ("any(0, keepdim)", lambda v: v.any(0, True)),
                    ("prod", lambda v: v.prod()), ("prod(1)", lambda v: v.prod(1)), ("cumsum(0)", lambda v: v.cumsum(0)),
                    ("max(1).values", lambda v: v.max(1).values), ("amin(0)", lambda v: v.amin(0)),
                    ("max()", lambda v: v.max()), ("sum", lambda v: v.sum()), ("sum(1)", lambda v: v.sum(1)),
                    ("min(0).values", lambda v: v.min(0).values), ("amax(1)", lambda v: v.amax(1))] + ([("argmin(1)", lambda v: v.argmin(1))] if dtype != np.bool_ else []):
        got, want = f(c), f(t)
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1], (name, got.dtype, want.dtype)
        np.testing.assert_array_equal(got.numpy(), want.numpy(), err_msg=name)


@pytest.mark.parametrize("call, err, match", [
    (lambda: cn.ones(2, 3).min(2), IndexError, "min: dimension 2 out of range for a tensor of shape (2, 3)"),
    (lambda: cn.zeros(0, 3).max(), ValueError, "max: cannot reduce an empty tensor of shape (0, 3)"),
    (lambda: cn.zeros(0, 3).amin(0), ValueError, "amin: cannot reduce an empty tensor of shape (0, 3)"),
    (lambda: cn.ones(2, 3, dtype=cn.int64).std(), ValueError, "std: expected a floating point tensor, got int64"),
    (lambda: cn.ones(2, 3, dtype=cn.int64).norm(), ValueError, "norm: expected a floating point tensor, got int64"),
    (lambda: cn.ones(2, 3).var(0, True, correction=1), ValueError, "var: cannot specify both unbiased and correction"),
    (lambda: cn.ones(2, 3).norm("nuc"), ValueError, "norm: p must be a number or 'fro', got 'nuc'"),
    (lambda: cn.ones(2, 3).cumsum(-3), IndexError, "cumsum: dimension -3 out of range"),
    (lambda: cn.ones(2, 3).amax((0, 0)), ValueError, "amax: a dimension appears twice"),
])
def test_reduction_errors(call, err, match):
    with pytest.raises(err, match=msg(match)):
        call()


def _reduce_double_case(r):
    shape = tuple(int(v) for v in r.integers(1, 5, size=int(r.integers(1, 4))))
    return shape, int(r.integers(-len(shape), len(shape)))


# (name, op over convnet or torch tensors as `lib`); dim drawn with the shape
REDUCE_DOUBLE_OPS = {
    "sum": lambda x, d: x.sum(d), "mean": lambda x, d: x.mean(d, keepdim=True), "sum_all": lambda x, d: (x * x).sum(),
    "max_dim": lambda x, d: x.max(d)[0], "min_dim": lambda x, d: x.min(d)[0], "amax": lambda x, d: x.amax(d),
    "max_all": lambda x, d: x.max(), "var": lambda x, d: x.var(d, correction=0), "std": lambda x, d: x.std(d),
    "std_all": lambda x, d: x.std(), "norm": lambda x, d: x.norm(2, d), "norm_all": lambda x, d: x.norm(),
    "norm_p3": lambda x, d: x.norm(3, d), "prod": lambda x, d: x.prod(d), "cumsum": lambda x, d: x.cumsum(d) * x,
    "topk": lambda x, d: x.topk(1, d)[0], "sort": lambda x, d: x.sort(d)[0] * x,
}
REDUCE_DOUBLE_CASES = [(name, *case) for name, case in
                       zip(sorted(REDUCE_DOUBLE_OPS) * 2, drawn_cases(2 * len(REDUCE_DOUBLE_OPS), 21, _reduce_double_case))]


@pytest.mark.parametrize("name,shape,dim", REDUCE_DOUBLE_CASES, ids=str)
def test_reduction_double_backward(name, shape, dim):
    """Second derivatives (create_graph) of the reductions, composed with x where their own is zero."""
    op = REDUCE_DOUBLE_OPS[name]
    if name in ("std", "var") and shape[dim] < 2:  # at least two values in each reduced lane
        shape = shape[:dim % len(shape)] + (3,) + shape[dim % len(shape) + 1:]
    x = randn(*shape) if name != "std_all" or np.prod(shape) > 1 else randn(*shape, 2)
    if name == "prod":
        x = np.sign(x) * (np.abs(x) + 0.5)
    fn = (lambda v: op(v, dim) * op(v, dim)) if name in ("max_dim", "min_dim", "amax", "max_all", "topk") else \
        (lambda v: op(v, dim))
    check_double_backward(name, fn, [x], torch_fn=fn)
