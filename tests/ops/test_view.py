"""The view op stem (cpp/src/ops/view.cpp, cpp/bindings/view.cpp): permute, transpose, t/T/mT,
squeeze/unsqueeze, expand, narrow, select, slicing, unbind/chunk/split, unfold, view/reshape of
views, contiguous. One table of cases drives every check: tests/opcheck.py (NumPy reference,
float64 finite differences, non-contiguous inputs, PyTorch parity, the GPU against the CPU), and
the sizes, strides, storage offset and contiguity against PyTorch's. Then writes through views:
randomized programs of views and writes compared element for element with PyTorch."""

import re

import numpy as np
import pytest

import convnet as cn
from opcheck import DEVICES, check_case, msg, on_devices, randn, torch

win = np.lib.stride_tricks.sliding_window_view

# name, input shape, the view (the same code runs on convnet and torch tensors), its NumPy reference
VIEW_CASES = [
    ("permute(2, 0, 1)", (2, 3, 4), lambda x: x.permute(2, 0, 1), lambda a: a.transpose(2, 0, 1)),
    ("permute((1, 0))", (3, 5), lambda x: x.permute((1, 0)), lambda a: a.T),
    ("transpose(0, 2)", (2, 3, 4), lambda x: x.transpose(0, 2), lambda a: a.swapaxes(0, 2)),
    ("transpose(-1, -2)", (2, 3, 4), lambda x: x.transpose(-1, -2), lambda a: a.swapaxes(-1, -2)),
    ("t()", (3, 5), lambda x: x.t(), lambda a: a.T),
    ("t() of 1-D", (4,), lambda x: x.t(), lambda a: a),
    ("T", (3, 5), lambda x: x.T, lambda a: a.T),
    ("mT", (2, 3, 4), lambda x: x.mT, lambda a: a.swapaxes(-2, -1)),
    ("squeeze()", (2, 1, 3, 1), lambda x: x.squeeze(), lambda a: a.squeeze()),
    ("squeeze(1)", (2, 1, 3, 1), lambda x: x.squeeze(1), lambda a: a.squeeze(1)),
    ("squeeze(0) of size 2", (2, 1, 3), lambda x: x.squeeze(0), lambda a: a),
    ("squeeze((1, 3))", (2, 1, 3, 1), lambda x: x.squeeze((1, 3)), lambda a: a.squeeze((1, 3))),
    ("unsqueeze(-1)", (2, 3), lambda x: x.unsqueeze(-1), lambda a: a[..., None]),
    ("unsqueeze(1)", (2, 3), lambda x: x.unsqueeze(1), lambda a: a[:, None]),
    ("expand(2, 3, 4)", (3, 1), lambda x: x.expand(2, 3, 4), lambda a: np.broadcast_to(a, (2, 3, 4))),
    ("expand(-1, 5)", (3, 1), lambda x: x.expand(-1, 5), lambda a: np.broadcast_to(a, (3, 5))),
    ("narrow(1, 1, 3)", (4, 5), lambda x: x.narrow(1, 1, 3), lambda a: a[:, 1:4]),
    ("narrow(0, -2, 2)", (4, 5), lambda x: x.narrow(0, -2, 2), lambda a: a[-2:]),
    ("select(1, -1)", (3, 4, 5), lambda x: x.select(1, -1), lambda a: a[:, -1]),
    ("x[0, 1:]", (3, 4, 5), lambda x: x[0, 1:], lambda a: a[0, 1:]),
    ("x[:, None, ::2]", (3, 5), lambda x: x[:, None, ::2], lambda a: a[:, None, ::2]),
    ("x[..., 1]", (2, 3, 4), lambda x: x[..., 1], lambda a: a[..., 1]),
    ("x[1:, ..., -3::2]", (3, 2, 7), lambda x: x[1:, ..., -3::2], lambda a: a[1:, ..., -3::2]),
    ("x[-1]", (3, 4), lambda x: x[-1], lambda a: a[-1]),
    ("x[None]", (3,), lambda x: x[None], lambda a: a[None]),
    ("x[2:2]", (4, 3), lambda x: x[2:2], lambda a: a[2:2]),
    ("x[10:]", (4, 3), lambda x: x[10:], lambda a: a[10:]),
    ("unbind(1)[2]", (2, 3, 4), lambda x: x.unbind(1)[2], lambda a: a[:, 2]),
    ("chunk(2, 0)[1]", (5, 4), lambda x: x.chunk(2, 0)[1], lambda a: a[3:]),
    ("split(2, -1)[1]", (3, 5), lambda x: x.split(2, -1)[1], lambda a: a[:, 2:4]),
    ("split([1, 3], 1)[1]", (2, 4), lambda x: x.split([1, 3], 1)[1], lambda a: a[:, 1:]),
    ("unfold(1, 3, 2)", (2, 7), lambda x: x.unfold(1, 3, 2), lambda a: win(a, 3, axis=1)[:, ::2]),
    ("unfold(0, 3, 1) overlapping", (6,), lambda x: x.unfold(0, 3, 1), lambda a: win(a, 3)),
    ("unfold(-1, 2, 3) of a view", (3, 8), lambda x: x.t().unfold(0, 2, 3), lambda a: win(a.T, 2, axis=0)[::3]),
    ("permute then reshape (copies)", (2, 3, 4), lambda x: x.permute(2, 0, 1).reshape(4, 6),
     lambda a: a.transpose(2, 0, 1).reshape(4, 6)),
    ("slice then view", (4, 6), lambda x: x[:, 2:].view(4, 2, 2), lambda a: a[:, 2:].reshape(4, 2, 2)),
    ("transpose then view(-1) of a column", (1, 5), lambda x: x.t().view(-1), lambda a: a.reshape(-1)),
    ("t().contiguous()", (3, 4), lambda x: x.t().contiguous(), lambda a: a.T),
    ("arithmetic on views", (3, 4), lambda x: (x.t()[1:] * 2 + x[:, 1:].t()).sum(0),
     lambda a: (a.T[1:] * 2 + a[:, 1:].T).sum(0)),
    ("swapaxes", (2, 3), lambda x: x.swapaxes(0, 1), lambda a: a.T),
]
VIEW_CASES = on_devices(VIEW_CASES)


@pytest.mark.parametrize("device,name,shape,view,ref", VIEW_CASES, ids=lambda v: v if isinstance(v, str) else "")
def test_view(device, name, shape, view, ref):
    x = randn(*shape)
    check_case(device, name, view, [x], (0,), ref=ref, torch_fn=view, double_backward=True)
    if torch is not None and device == "cpu":
        got, want = view(cn.tensor(x)), view(torch.from_numpy(x))
        assert (got.shape, got.stride(), got.is_contiguous()) == (tuple(want.shape), want.stride(), want.is_contiguous()), name
        assert got.storage_offset() == want.storage_offset(), name


VIEW_ERRORS = [  # the view, its input shape, the error type and message
    (lambda x: x.permute(0, 0), (2, 3), ValueError, "permute: dimension 0 repeats"),
    (lambda x: x.permute(0,), (2, 3), ValueError, "permute: the number of dims (1) does not match"),
    (lambda x: x.transpose(0, 2), (2, 3), IndexError, "transpose: dimension 2 out of range"),
    (lambda x: x.expand(3, 4), (2, 1), ValueError, "expand: the expanded size of the tensor (3) must match"),
    (lambda x: x.narrow(1, 2, 2), (2, 3), ValueError, "narrow: start (2) + length (2) exceeds"),
    (lambda x: x.select(0, 5), (2, 3), IndexError, "select: index 5 is out of bounds"),
    (lambda x: x[:, ::-1], (2, 3), ValueError, "step must be greater than zero"),
    (lambda x: x[0, 0, 0], (2, 3), IndexError, "too many indices for tensor of dimension 2"),
    (lambda x: x[..., ...], (2, 3), IndexError, "an index can only have a single ellipsis"),
    (lambda x: x[3], (2, 3), IndexError, "index 3 is out of bounds for dimension 0 with size 2"),
    (lambda x: x.t().view(6), (2, 3), ValueError, r"view: size (6,) is not compatible"),
    (lambda x: x.unfold(1, 4, 1), (2, 3), ValueError, "unfold: maximum size for tensor at dimension 1 is 3"),
    (lambda x: x.split([1, 1], 1), (2, 3), ValueError, r"split: split sizes (1, 1) must sum to"),
]


@pytest.mark.parametrize("view,shape,err,text", VIEW_ERRORS)
def test_view_errors(view, shape, err, text):
    with pytest.raises(err, match=re.escape(text)):
        view(cn.tensor(randn(*shape)))


def test_views_share_storage_and_numpy_sees_the_strides():
    x = cn.tensor(np.arange(12, dtype=np.float32).reshape(3, 4))
    v = x.t()
    assert v.data_ptr() == x.data_ptr() and not v.is_contiguous()
    a = v.numpy()
    assert a.strides == (4, 16)  # bytes, as the tensor's (1, 4) elements
    np.testing.assert_array_equal(a, np.arange(12, dtype=np.float32).reshape(3, 4).T)
    x[0, 0] = 100.0
    assert a[0, 0] == 100.0  # the array is a view of the tensor's memory


# ---- writes through views ------------------------------------------------------------------

def _random_view(r, x):
    """A random chain of 1-3 view ops applied to x (a convnet or torch tensor), each drawn with
    arguments valid for the current shape; returns the view and its description."""
    ops = []
    for _ in range(r.integers(1, 4)):
        n = x.dim()
        kind = r.choice(["permute", "transpose", "slice", "select", "narrow", "unsqueeze", "squeeze", "index"])
        if kind == "permute" and n:
            p = [int(i) for i in r.permutation(n)]
            f = lambda t, p=p: t.permute(*p)
        elif kind == "transpose" and n >= 2:
            a, b = (int(i) for i in r.choice(n, 2, replace=False))
            f = lambda t, a=a, b=b: t.transpose(a, b)
        elif kind == "slice" and n:
            d = int(r.integers(n))
            size = x.shape[d]
            if size == 0:
                continue
            start, step = int(r.integers(0, size)), int(r.integers(1, 3))
            stop = int(r.integers(start, size + 1))
            key = (slice(None),) * d + (slice(start, stop, step),)
            f = lambda t, key=key: t[key]
        elif kind == "select" and n > 1:
            d = int(r.integers(n))
            if x.shape[d] == 0:
                continue
            i = int(r.integers(-x.shape[d], x.shape[d]))
            f = lambda t, d=d, i=i: t.select(d, i)
        elif kind == "narrow" and n:
            d = int(r.integers(n))
            s = int(r.integers(0, x.shape[d] + 1))
            ln = int(r.integers(0, x.shape[d] - s + 1))
            f = lambda t, d=d, s=s, ln=ln: t.narrow(d, s, ln)
        elif kind == "unsqueeze":
            d = int(r.integers(-n - 1, n + 1))
            f = lambda t, d=d: t.unsqueeze(d)
        elif kind == "squeeze" and n:
            f = lambda t: t.squeeze()
        elif kind == "index" and n >= 2:
            f = lambda t: t[..., None, 1:]
        else:
            continue
        ops.append((kind, f))
        x = f(x)
    return ops


def _apply(ops, t):
    for _, f in ops:
        t = f(t)
    return t


def _random_write(r, shape):
    """A write to a view of `shape`: (description, convnet action, torch action) on the view."""
    kind = r.choice(["setitem scalar", "setitem tensor", "copy_", "fill_", "zero_", "setitem slice"])
    if kind == "setitem scalar":
        v = float(r.integers(-9, 9))
        return kind, lambda t: t.__setitem__(..., v), lambda t: t.__setitem__(..., v)
    if kind == "fill_":
        v = float(r.integers(-9, 9))
        return kind, lambda t: t.fill_(v), lambda t: t.fill_(v)
    if kind == "zero_":
        return kind, lambda t: t.zero_(), lambda t: t.zero_()
    # a source broadcast over the view's trailing dimensions
    k = int(r.integers(0, len(shape) + 1))
    src_shape = tuple(1 if r.random() < 0.3 else s for s in shape[len(shape) - k:])
    src = r.integers(-50, 50, src_shape).astype(np.float32)
    if kind == "copy_":
        return kind, lambda t: t.copy_(cn.tensor(src)), lambda t: t.copy_(torch.from_numpy(src))
    if kind == "setitem tensor":
        return kind, lambda t: t.__setitem__(..., cn.tensor(src)), lambda t: t.__setitem__(..., torch.from_numpy(src))
    if not shape or shape[0] == 0:
        return kind, lambda t: None, lambda t: None
    return (kind, lambda t: t.__setitem__(slice(0, 1), 7.0), lambda t: t.__setitem__(slice(0, 1), 7.0))


@pytest.mark.parametrize("seed", range(40))
def test_writes_through_views_match_torch(seed):
    """A random program: views of views of a base, each written in place; after every write the
    base and the view hold what PyTorch's do, element for element."""
    if torch is None:
        pytest.skip("needs torch")
    r = np.random.default_rng(seed)
    base0 = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)
    x, xt = cn.tensor(base0), torch.from_numpy(base0.copy())
    for step in range(6):
        ops = _random_view(r, xt)
        v, vt = _apply(ops, x), _apply(ops, xt)
        assert v.shape == tuple(vt.shape) and v.stride() == vt.stride(), [k for k, _ in ops]
        what, act, act_t = _random_write(r, tuple(vt.shape))
        act(v)
        act_t(vt)
        where = f"seed {seed} step {step}: {[k for k, _ in ops]} then {what}"
        np.testing.assert_array_equal(v.numpy(), vt.numpy(), err_msg=where)
        np.testing.assert_array_equal(x.numpy(), xt.numpy(), err_msg=where)


def test_write_to_an_expanded_view_is_refused_as_in_torch():
    x = cn.tensor(np.zeros((3, 1), np.float32)).expand(3, 4)
    with pytest.raises(ValueError, match="more than one element of the written-to tensor refers to a single memory"):
        x.fill_(1.0)


def test_gradient_flows_through_views_of_views():
    """d/dx of sum(w * x.t()[1:].unsqueeze(0)) against NumPy."""
    a, w = randn(3, 4), randn(1, 3, 3)
    x = cn.tensor(a).requires_grad_(True)
    (cn.tensor(w) * x.t()[1:].unsqueeze(0)).sum().backward()
    want = np.zeros_like(a)
    want[:, 1:] = w[0].T
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-6)
