"""What a PyTorch user writes without reading the docs: convnet.randint, convnet.softmax and
log_softmax as functions, @convnet.no_grad without parentheses, convnet.inference_mode,
convnet.utils.data, dtypes printed as convnet.float32, abs(x)."""

import numpy as np
import pytest

import convnet as cn
from opcheck import torch


def test_randint():
    cn.manual_seed(1)
    a = cn.randint(3, 9, (2000,))
    assert a.dtype == cn.int64 and a.shape == (2000,)
    v = a.numpy()
    assert v.min() == 3 and v.max() == 8 and abs(v.mean() - 5.5) < 0.15
    assert sorted(np.unique(v).tolist()) == [3, 4, 5, 6, 7, 8]
    b = cn.randint(5, (3, 4))  # randint(high, size)
    assert b.shape == (3, 4) and 0 <= b.numpy().min() and b.numpy().max() < 5
    assert cn.randint(0, 2, size=(4,), dtype=cn.float32).dtype == cn.float32
    cn.manual_seed(7)
    x = cn.randint(0, 100, (10,)).numpy()
    cn.manual_seed(7)
    np.testing.assert_array_equal(cn.randint(0, 100, (10,)).numpy(), x)  # from the global generator
    with pytest.raises(ValueError, match="randint: expected low < high"):
        cn.randint(4, 4, (2,))


def test_softmax_and_log_softmax_functions():
    x = cn.randn(3, 5)
    np.testing.assert_array_equal(cn.softmax(x, 1).numpy(), cn.functional.softmax(x, 1).numpy())
    np.testing.assert_array_equal(cn.log_softmax(x, dim=0).numpy(), cn.functional.log_softmax(x, 0).numpy())
    if torch is not None:
        np.testing.assert_allclose(cn.softmax(x, -1).numpy(), torch.softmax(torch.from_numpy(x.numpy()), -1).numpy(),
                                   rtol=1e-6)


def test_no_grad_as_a_decorator_with_or_without_parentheses():
    w = cn.randn(3).requires_grad_(True)

    @cn.no_grad
    def f(x):
        return x * 2

    @cn.no_grad()
    def g(x):
        return x * 2

    assert not f(w).requires_grad and not g(w).requires_grad and f.__name__ == "f"
    assert (w * 2).requires_grad and cn.is_grad_enabled()

    @cn.enable_grad
    def h(x):
        return x * 2

    with cn.no_grad():
        assert h(w).requires_grad and not (w * 2).requires_grad


def test_inference_mode():
    w = cn.randn(3).requires_grad_(True)
    with cn.inference_mode():
        assert not (w * 2).requires_grad and not cn.is_grad_enabled()
    assert cn.is_grad_enabled()
    with cn.inference_mode(False):
        assert (w * 2).requires_grad

    @cn.inference_mode
    def f(x):
        return x * 2

    @cn.inference_mode()
    def g(x):
        return x * 2

    assert not f(w).requires_grad and not g(w).requires_grad and cn.is_grad_enabled()


def test_utils_data_is_data():
    from convnet.utils.data import DataLoader, TensorDataset
    import convnet.utils.data as ud

    assert DataLoader is cn.data.DataLoader and TensorDataset is cn.data.TensorDataset and ud is cn.data
    assert cn.utils.data is cn.data


def test_dtypes_print_as_convnet_names():
    assert repr(cn.float32) == str(cn.float32) == "convnet.float32"
    assert [str(d) for d in (cn.float64, cn.int64, cn.uint8, cn.bool)] == [
        "convnet.float64", "convnet.int64", "convnet.uint8", "convnet.bool"]
    assert cn.randn(2).dtype == cn.float32 and f"{cn.randn(2).dtype}" == "convnet.float32"


def test_builtin_abs():
    x = cn.tensor(np.array([-1.5, 0.0, 2.0], np.float32)).requires_grad_(True)
    y = abs(x)
    np.testing.assert_array_equal(y.detach().numpy(), [1.5, 0.0, 2.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[[0, 2]], [-1.0, 1.0])
