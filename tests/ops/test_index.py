"""The index op stem (cpp/src/ops/index.cpp, indexing in cpp/bindings/view.cpp): index_select,
gather, scatter, scatter_add, advanced indexing x[idx] / x[mask] and its assignment (index_put),
where, masked_fill, nonzero. One table of cases drives every check of tests/opcheck.py (NumPy
reference where given, float64 finite differences, non-contiguous inputs, PyTorch parity, the GPU
against the CPU); the same code runs on convnet and torch tensors."""

import numpy as np
import pytest

import convnet as cn
from opcheck import check_case, on_devices, randn, torch

r = np.random.default_rng(7)


def ints(low, high, shape):
    return r.integers(low, high, shape).astype(np.int64)


def lib_of(t):
    return cn if isinstance(t, cn.Tensor) else torch


def put(x, v, *key):
    y = x * 1.0
    y[key] = v
    return y


def add_at(x, axis, index, src):
    out = x.copy()
    for pos in np.ndindex(*index.shape):
        tgt = list(pos)
        tgt[axis] = index[pos]
        out[tuple(tgt)] += src[pos]
    return out


def unique_rows(n_rows, size, n):  # per row, n distinct indices below size (no duplicate writes)
    return np.stack([r.permutation(size)[:n] for _ in range(n_rows)]).astype(np.int64)


# name, inputs (floats first), the indices of the inputs to differentiate, fn, NumPy reference or None
INDEX_CASES = [
    ("index_select(1)", [randn(3, 5), np.array([4, 0, 0, 2])], (0,), lambda x, i: x.index_select(1, i),
     lambda x, i: np.take(x, i, axis=1)),
    ("index_select(0) of 1-D", [randn(6), np.array([5, 1])], (0,), lambda x, i: x.index_select(0, i),
     lambda x, i: x[i]),
    ("index_select(-1) 3-D", [randn(2, 3, 4), np.array([3, 3, 1])], (0,), lambda x, i: x.index_select(-1, i),
     lambda x, i: x[..., i]),
    ("gather(1)", [randn(3, 4), ints(0, 4, (3, 6))], (0,), lambda x, i: x.gather(1, i),
     lambda x, i: np.take_along_axis(x, i, 1)),
    ("gather(0) smaller index", [randn(4, 5), ints(0, 4, (2, 3))], (0,), lambda x, i: x.gather(0, i),
     lambda x, i: np.take_along_axis(x[:, :3], i, 0)),
    ("scatter_add(0)", [randn(4, 3), randn(5, 3), ints(0, 4, (5, 3))], (0, 1), lambda x, s, i: x.scatter_add(0, i, s),
     lambda x, s, i: add_at(x, 0, i, s)),
    ("scatter_add(1) index smaller than the input", [randn(3, 5), randn(2, 3), ints(0, 5, (2, 3))], (0, 1),
     lambda x, s, i: x.scatter_add(1, i, s), lambda x, s, i: add_at(x, 1, i, s)),
    ("scatter(1) distinct", [randn(3, 5), randn(3, 3), unique_rows(3, 5, 3)], (0, 1),
     lambda x, s, i: x.scatter(1, i, s), None),
    ("x[i, :, j]", [randn(3, 4, 5), np.array([0, 2, 2]), np.array([4, 0, 1])], (0,), lambda x, i, j: x[i, :, j],
     lambda x, i, j: np.stack([x[a, :, b] for a, b in zip(i, j)])),
    ("x[:, [0, 2]]", [randn(3, 4)], (0,), lambda x: x[:, [0, 2]], lambda x: x[:, [0, 2]]),
    ("x[mask]", [randn(3, 4), randn(3, 4) > 0], (0,), lambda x, m: x[m], lambda x, m: x[m]),
    ("x[idx] 2-D index, negative", [randn(5, 2), np.array([[0, -1], [2, 2]])], (0,), lambda x, i: x[i],
     lambda x, i: x[i]),
    ("x[..., i] then arithmetic", [randn(2, 3, 4), np.array([3, 0])], (0,), lambda x, i: x[..., i] * 2,
     lambda x, i: x[..., i] * 2),
    ("setitem x[i] = v (broadcast)", [randn(4, 3), randn(3), np.array([0, 2])], (0, 1), lambda x, v, i: put(x, v, i),
     None),
    ("setitem x[:, i] = v", [randn(4, 3), randn(4, 2), np.array([2, 0])], (0, 1),
     lambda x, v, i: put(x, v, slice(None), i), None),
    ("setitem x[mask] = v", [randn(3, 4), randn(1), randn(3, 4) > 0], (0, 1), lambda x, v, m: put(x, v, m), None),
    ("index_put accumulate duplicates", [randn(4, 3), randn(3, 3), np.array([1, 1, 3])], (0, 1),
     lambda x, v, i: x.index_put((i,), v, accumulate=True), lambda x, v, i: add_at(x, 0, np.repeat(i[:, None], 3, 1), v)),
    ("where", [randn(3, 4), randn(4), randn(3, 4) > 0], (0, 1), lambda a, b, c: lib_of(a).where(c, a, b),
     lambda a, b, c: np.where(c, a, b)),
    ("masked_fill broadcast mask", [randn(3, 4), randn(4) > 0], (0,), lambda x, m: x.masked_fill(m, -1.5),
     lambda x, m: np.where(m, -1.5, x)),
]
INDEX_CASES = on_devices(INDEX_CASES)


@pytest.mark.parametrize("device,name,inputs,diff,fn,ref", INDEX_CASES,
                         ids=lambda v: v if isinstance(v, str) else "")
def test_index(device, name, inputs, diff, fn, ref):
    check_case(device, name, fn, inputs, diff, ref=ref, torch_fn=fn, double_backward=True)


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4), ()])
def test_nonzero_matches_torch(shape):
    if torch is None:
        pytest.skip("needs torch")
    a = (randn(*shape) > 0.3) if shape else np.array(True)
    np.testing.assert_array_equal(cn.nonzero(cn.tensor(a)).numpy(), torch.nonzero(torch.from_numpy(a)).numpy())
    for got, want in zip(cn.tensor(a).nonzero(as_tuple=True), torch.from_numpy(a).nonzero(as_tuple=True)):
        np.testing.assert_array_equal(got.numpy(), want.numpy())


INDEX_ERRORS = [
    (lambda x: x.index_select(0, cn.tensor([3])), IndexError, "index_select: index 3 is out of bounds for dimension 0 with size 3"),
    (lambda x: x.index_select(1, cn.tensor([-1])), IndexError, "index_select: index -1 is out of bounds"),
    (lambda x: x[cn.tensor([0, 5])], IndexError, "index: index 5 is out of bounds for dimension 0 with size 3"),
    (lambda x: x[cn.tensor([[True, False]])], IndexError, "the shape of the mask (1, 2) at index 0 does not match"),
    (lambda x: x.gather(1, cn.tensor([0])), ValueError, "gather: index must have as many dimensions as the input (2)"),
    (lambda x: x.index_select(0, cn.tensor([0.5])), ValueError, "index_select: index must be an int64 or int32 tensor"),
    (lambda x: x[cn.tensor([0]), cn.tensor([0, 1, 2])[:2], cn.tensor([1])], IndexError, "too many indices"),
    (lambda x: cn.where(cn.tensor([1, 0]), x, x), ValueError, "where: the condition must be a bool tensor"),
]


@pytest.mark.parametrize("call,err,text", INDEX_ERRORS)
def test_index_errors(call, err, text):
    with pytest.raises(err, match=__import__("re").escape(text)):
        call(cn.tensor(randn(3, 4)))


def test_int32_data_and_indices_as_torch():
    """Indexing ops on int32 tensors (and with int32 index tensors where PyTorch takes them): values and
    dtypes as PyTorch's; views, copies, cat/stack, abs/neg/sign and clamp likewise."""
    pytest.importorskip("torch")
    x = r.integers(-50, 50, (4, 5)).astype(np.int32)
    i32, i64 = np.array([3, 0, 3], np.int32), np.array([[1, 0, 4], [2, 2, 0]], np.int64)
    mask = x > 0
    cases = [
        ("index_select", lambda lib, v: v.index_select(1, lib_t(lib, i32))), ("gather", lambda lib, v: v.gather(1, lib_t(lib, i64))),
        ("scatter", lambda lib, v: v.scatter(1, lib_t(lib, i64), v[:2, :3] * 2)),
        ("x[idx32]", lambda lib, v: v[lib_t(lib, i32)]), ("x[mask]", lambda lib, v: v[lib_t(lib, mask)]),
        ("x[1:, ::2]", lambda lib, v: v[1:, ::2]), ("nonzero", lambda lib, v: (v > 10).nonzero()),
        ("where", lambda lib, v: lib.where(lib_t(lib, mask), v, v * -1)),
        ("masked_fill", lambda lib, v: v.masked_fill(lib_t(lib, mask), 7)),
        ("cat", lambda lib, v: lib.cat([v, v[:1]])), ("stack", lambda lib, v: lib.stack([v, v], 1)),
        ("permute+contiguous", lambda lib, v: v.permute(1, 0).contiguous()), ("reshape", lambda lib, v: v.t().reshape(-1)),
        ("clone", lambda lib, v: v.clone()), ("abs", lambda lib, v: v.abs()), ("neg", lambda lib, v: -v),
        ("sign", lambda lib, v: v.sign()), ("clamp", lambda lib, v: v.clamp(-10, 10)), ("cumsum", lambda lib, v: v.cumsum(1)),
        ("prod", lambda lib, v: v.prod(0)), ("argsort", lambda lib, v: v.argsort(dim=1, stable=True)),
    ]
    for name, f in cases:
        got, want = f(cn, cn.tensor(x)), f(torch, torch.from_numpy(x.copy()))
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1], (name, got.dtype, want.dtype)
        np.testing.assert_array_equal(got.numpy(), want.numpy(), err_msg=name)
    y = cn.tensor(x)
    y[0] = 5
    y[:, 1] += 3
    want = torch.from_numpy(x.copy())
    want[0] = 5
    want[:, 1] += 3
    assert y.dtype == cn.int32 and np.array_equal(y.numpy(), want.numpy())


def lib_t(lib, a):
    return cn.tensor(a) if lib is cn else torch.from_numpy(a.copy())
