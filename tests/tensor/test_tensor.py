"""Tensor basics: NumPy interop, factories, dtypes, autograd mechanics."""

import numpy as np
import pytest

import convnet as cn
from opcheck import check_op, randn


def test_from_numpy_is_zero_copy_and_numpy_is_a_view():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    t = cn.from_numpy(a)
    a[0, 0] = 42
    assert t[0][0].item() == 42
    v = t.numpy()
    v[1, 1] = -1
    assert a[1, 1] == -1
    assert t.shape == (3, 4) and t.dtype == cn.float32 and str(t.device) == "cpu"


def test_tensor_copies_and_python_numbers_get_torch_dtypes():
    a = np.ones(3)
    t = cn.tensor(a)
    a[0] = 5
    assert t.numpy()[0] == 1 and t.dtype == cn.float64
    assert cn.tensor([1.5, 2.0]).dtype == cn.float32
    assert cn.tensor([1, 2]).dtype == cn.int64
    assert cn.tensor(np.zeros(2, np.uint8)).dtype == cn.uint8
    assert cn.tensor(np.zeros(2, bool)).dtype == cn.bool


@pytest.mark.parametrize("dtype", [np.int16, np.complex64])
def test_unsupported_dtypes(dtype):
    a = np.zeros(3, dtype)
    with pytest.raises(TypeError, match="from_numpy: unsupported NumPy dtype"):
        cn.from_numpy(a)


def test_non_contiguous_arrays():
    a = np.arange(12, dtype=np.float32).reshape(3, 4).T
    with pytest.raises(ValueError, match="not C-contiguous"):
        cn.from_numpy(a)
    t = cn.tensor(a)  # copies, in row-major order
    assert np.array_equal(t.numpy(), a)


def test_factories_and_seeds():
    assert np.array_equal(cn.zeros(2, 3).numpy(), np.zeros((2, 3)))
    assert np.array_equal(cn.ones((2,), dtype=cn.float64).numpy(), np.ones(2))
    assert np.array_equal(cn.full((2, 2), 7.0).numpy(), np.full((2, 2), 7.0))
    assert np.array_equal(cn.arange(5).numpy(), np.arange(5))
    assert cn.empty(4, 5).shape == (4, 5)
    cn.manual_seed(5)
    a = cn.randn(100).numpy().copy()
    r = cn.rand(1000).numpy()
    cn.manual_seed(5)
    assert np.array_equal(a, cn.randn(100).numpy())
    assert 0 <= r.min() and r.max() < 1 and abs(r.mean() - 0.5) < 0.05
    n = cn.randn(20000).numpy()
    assert abs(n.mean()) < 0.05 and abs(n.std() - 1) < 0.05
    assert sorted(cn.randperm(10).numpy().tolist()) == list(range(10))


def test_item_reshape_view_slicing():
    t = cn.tensor(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    assert t.reshape(6, -1).shape == (6, 4)
    assert t.view(-1).shape == (24,)
    assert t.flatten().shape == (24,)
    assert t.flatten(1).shape == (2, 12)
    assert t[1].shape == (3, 4) and t[1:].shape == (1, 3, 4)
    assert np.array_equal(t[::2].numpy(), t.numpy()[::2])
    assert t.sum().item() == 276.0
    with pytest.raises(ValueError, match="item: a Tensor with 24 elements"):
        t.item()
    with pytest.raises(ValueError, match="reshape: shape"):
        t.reshape(5, 5)
    with pytest.raises(IndexError):
        t[2]


def test_autograd_accumulates_and_frees_graph():
    x = cn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert np.allclose(x.grad.numpy(), 2 * 2 * np.array([1, 2, 3]))
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()
    z = x * 2
    with pytest.raises(ValueError, match="only for scalar outputs"):
        z.backward()
    z.backward(cn.ones(3))
    assert np.allclose(x.grad.numpy(), 4 * np.array([1, 2, 3]) + 2)


def test_detach_no_grad_and_leaves():
    x = cn.ones(2, requires_grad=True)
    with cn.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    z = (x * 2).detach()
    assert not z.requires_grad and z.is_leaf
    w = x * 3
    assert not w.is_leaf and w.grad_fn is not None
    with pytest.raises(ValueError, match="requires grad"):
        x.numpy()

    @cn.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad


def test_diamond_graph_gradient():
    # y = a*b + a*c with b = 2a, c = a²: dy/da = 4a + 3a²
    a = cn.tensor([1.5, -2.0], requires_grad=True)
    b = a * 2
    c = a * a
    y = (a * b + a * c).sum()
    y.backward()
    av = np.array([1.5, -2.0])
    assert np.allclose(a.grad.numpy(), 4 * av + 3 * av ** 2, rtol=1e-6)


def test_threads_setting():
    n = cn.get_num_threads()
    cn.set_num_threads(1)
    assert cn.get_num_threads() == 1
    cn.set_num_threads(n)
    with pytest.raises(ValueError, match="set_num_threads"):
        cn.set_num_threads(0)


def test_python_numbers_with_an_explicit_dtype_and_numpy_scalars_keep_their_precision():
    assert cn.tensor(0.8, dtype=cn.float64).item() == 0.8
    assert cn.tensor([0.1, 0.7], dtype=cn.float64).numpy().tolist() == [0.1, 0.7]
    t = cn.tensor(np.float64(0.8))
    assert t.dtype == cn.float64 and t.item() == 0.8
    assert cn.tensor(np.float32(0.5)).dtype == cn.float32
    assert cn.tensor(0.8).dtype == cn.float32 and cn.tensor(3).dtype == cn.int64


def test_reshape_flatten_slice_gradients():
    x = randn(4, 3, 2)
    check_op("reshape", lambda t: t.reshape(2, -1) * 2, [x], ref=lambda a: a.reshape(2, -1) * 2)
    check_op("flatten", lambda t: t.flatten(1) * 2, [x], ref=lambda a: a.reshape(4, 6) * 2)
    check_op("slice", lambda t: t[1:3] * 3, [x], ref=lambda a: a[1:3] * 3)
    check_op("index", lambda t: t[2] * 3, [x], ref=lambda a: a[2] * 3)


def test_int32_tensors_convert_and_round_trip_as_torch():
    """int32: from NumPy (zero copy) and back, .int(), .to(convnet.int32), the names and repr, safetensors."""
    torch = pytest.importorskip("torch")
    a = np.arange(-3, 3, dtype=np.int32).reshape(2, 3)
    t = cn.from_numpy(a)
    assert t.dtype == cn.int32 == cn.int and str(t.dtype) == "convnet.int32" and t.dtype.itemsize == 4
    assert t.numpy().dtype == np.int32 and np.shares_memory(t.numpy(), a)
    assert cn.tensor(a).dtype == cn.int32 and cn.tensor([1, 2], dtype=cn.int32).dtype == cn.int32
    assert repr(t) == repr(torch.from_numpy(a)).replace("torch", "convnet")
    f = cn.tensor([[1.7, -2.5], [3.2, 0.0]])
    for got, want in [(f.int(), torch.tensor(f.numpy()).int()), (f.to(cn.int32), torch.tensor(f.numpy()).to(torch.int32)),
                      (t.long(), torch.from_numpy(a).long()), (t.float(), torch.from_numpy(a).float()),
                      (t.to(dtype=cn.int32), torch.from_numpy(a)), (t.bool(), torch.from_numpy(a).bool())]:
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1], (got.dtype, want.dtype)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    with pytest.raises(RuntimeError, match="only floating point tensors can require gradients, got dtype int32"):
        t.clone().requires_grad_(True)


def test_int32_safetensors_round_trip(tmp_path):
    t = cn.tensor(np.array([[1, -2**31], [2**31 - 1, 0]], np.int32))
    cn.save({"i": t}, str(tmp_path / "w.safetensors"))
    back = cn.load(str(tmp_path / "w.safetensors"))["i"]
    assert back.dtype == cn.int32 and np.array_equal(back.numpy(), t.numpy())
