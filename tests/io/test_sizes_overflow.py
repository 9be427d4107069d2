"""Sizes are checked for overflow at tensor creation and in every shape computation: an error
naming the shape (as PyTorch refuses such shapes), and out-of-memory errors naming the bytes."""

import pytest

import convnet as cn

BIG = 2 ** 40


def test_strides_overflow_at_creation():
    # issue 15, failure 6: this was a tensor of shape (0, 0) after flatten(1)
    with pytest.raises(ValueError, match=r"shape \(0, 1099511627776, 1099511627776\) is too large"):
        cn.zeros(0, BIG, BIG).flatten(1)
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match="overflow"):
        torch.zeros(0, BIG, BIG)


def test_flatten_reshape_and_reductions_check_their_products():
    x = cn.zeros(BIG, BIG, 0)  # valid: its strides fit, and it is empty
    assert x.numel() == 0
    with pytest.raises(ValueError, match=r"flatten: shape \(1099511627776, 1099511627776, 0\) is too large"):
        x.flatten(0, 1)
    with pytest.raises(ValueError, match=r"\(1099511627776, 1099511627776, 0\) is too large"):
        x.sum(2)
    with pytest.raises(ValueError, match=r"reshape: shape \(1099511627776, 1099511627776, 0\) is too large"):
        cn.zeros(0).reshape(BIG, BIG, 0)
    with pytest.raises(ValueError, match=r"reshape: shape \(1099511627776, 1099511627776, -1\) is too large"):
        cn.zeros(0).reshape(BIG, BIG, -1)


def test_numpy_of_a_huge_empty_tensor():
    x = cn.zeros(0, 2 ** 62)
    assert x.shape == (0, 2 ** 62)
    with pytest.raises(ValueError, match=r"numpy: the byte strides of shape \(0, 4611686018427387904\) overflow"):
        x.numpy()


def test_too_many_elements():
    with pytest.raises(ValueError, match=r"shape \(2147483648, 2147483648\) has too many elements"):
        cn.empty(2 ** 31, 2 ** 31)


def test_out_of_memory_names_the_bytes():
    before = cn.memory_stats()
    with pytest.raises(cn.OutOfMemoryError) as info:
        cn.empty(2 ** 20, 2 ** 20, 2 ** 10)  # 4 PiB
    assert isinstance(info.value, MemoryError)
    msg = str(info.value)
    assert "tried to allocate 4503599627370496 bytes" in msg and "in use" in msg and "cached" in msg, msg
    assert cn.memory_stats()["allocated_bytes"] == before["allocated_bytes"]
    try:
        cn.empty(2 ** 20, 2 ** 20, 2 ** 10)
    except MemoryError:  # `except MemoryError` still catches it
        pass
