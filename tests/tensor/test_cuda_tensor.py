"""Tensors and modules on the GPU: copies between devices, factories, pinned memory,
Module.to in place, device errors and the allocator's statistics."""

import numpy as np
import pytest

import convnet as cn
from opcheck import requires_cuda, without_gpu

pytestmark = pytest.mark.cuda  # the device tests (run by the emulated CUDA build)


@without_gpu
def test_without_a_gpu_cuda_requests_fail_clearly():
    assert cn.cuda.device_count() == 0
    with pytest.raises(RuntimeError, match="built without CUDA|no CUDA device"):
        cn.ones(2).to("cuda")
    with pytest.raises(RuntimeError, match="built without CUDA|no CUDA device"):
        cn.zeros(3, device="cuda")


@requires_cuda
def test_round_trip_keeps_values_and_dtypes():
    for dtype in (np.float32, np.float64, np.int64, np.uint8, np.bool_):
        a = (np.arange(24).reshape(2, 3, 4) % 5).astype(dtype)
        t = cn.tensor(a).to("cuda")
        assert t.device == cn.device("cuda:0") and t.is_cuda and t.shape == (2, 3, 4)
        np.testing.assert_array_equal(t.cpu().numpy(), a)
        np.testing.assert_array_equal(t.clone().cpu().numpy(), a)


@requires_cuda
def test_factories_fill_and_cast_on_the_device():
    np.testing.assert_array_equal(cn.zeros(2, 3, device="cuda").cpu().numpy(), np.zeros((2, 3), np.float32))
    np.testing.assert_array_equal(cn.ones(4, dtype=cn.int64, device="cuda").cpu().numpy(), np.ones(4, np.int64))
    np.testing.assert_array_equal(cn.full((2,), 2.5, device="cuda").cpu().numpy(), [2.5, 2.5])
    np.testing.assert_array_equal(cn.arange(5, device="cuda").cpu().numpy(), np.arange(5))
    cn.manual_seed(3)
    want = cn.randn(5).numpy()
    cn.manual_seed(3)
    np.testing.assert_array_equal(cn.randn(5, device="cuda").cpu().numpy(), want)
    x = cn.tensor([1.7, -2.2, 0.0], device="cuda")
    np.testing.assert_array_equal(x.to(cn.int64).cpu().numpy(), [1, -2, 0])
    np.testing.assert_array_equal(x.to(cn.bool).cpu().numpy(), [True, True, False])
    np.testing.assert_allclose(x.double().cpu().numpy(), np.array([1.7, -2.2, 0.0], np.float32))
    x.fill_(4)
    np.testing.assert_array_equal(x.cpu().numpy(), [4, 4, 4])
    assert x[0].item() == 4.0 and float(x[1]) == 4.0
    assert cn.zeros_like(x).device == x.device and cn.ones_like(x).device == x.device


@requires_cuda
def test_copy_is_differentiable_across_devices():
    x = cn.tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    y = x.to("cuda")
    assert y.grad_fn is not None
    y.cpu().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 3), np.float32))


@requires_cuda
def test_slices_repr_and_numpy():
    t = cn.tensor(np.arange(10, dtype=np.float32), device="cuda")
    np.testing.assert_array_equal(t[2:8:2].cpu().numpy(), [2, 4, 6])
    np.testing.assert_array_equal(t[3:5].cpu().numpy(), [3, 4])
    assert "device='cuda:0'" in repr(t)
    assert t.tolist()[:3] == [0.0, 1.0, 2.0]
    with pytest.raises(TypeError, match=r"cuda:0 tensor to NumPy; use tensor.cpu\(\)"):
        t.numpy()


@requires_cuda
def test_pinned_memory_and_non_blocking_copy():
    a = np.random.default_rng(0).standard_normal((64, 32)).astype(np.float32)
    p = cn.tensor(a).pin_memory()
    assert p.is_pinned() and not cn.tensor(a).is_pinned()
    g = p.to("cuda", non_blocking=True)
    del p
    cn.cuda.synchronize()
    np.testing.assert_array_equal(g.cpu().numpy(), a)
    with pytest.raises(ValueError, match="only CPU tensors can be pinned"):
        g.pin_memory()


@requires_cuda
def test_module_to_moves_parameters_in_place():
    cn.manual_seed(0)
    m = cn.nn.Sequential(cn.nn.Conv2d(1, 2, 3), cn.nn.BatchNorm2d(2))
    w_before = m[0].weight.detach().numpy().copy()
    opt = cn.optim.SGD(m.parameters(), lr=0.1)
    assert m.to("cuda") is m
    for p in m.parameters():
        assert p.device == cn.device("cuda:0") and p.requires_grad and p.is_leaf
    assert m[1].running_mean.device == cn.device("cuda:0")
    assert m[1].num_batches_tracked.device == cn.device("cuda:0")
    np.testing.assert_array_equal(m[0].weight.detach().cpu().numpy(), w_before)
    # the optimizer holds the same tensors, now on the GPU
    assert all(p.device == cn.device("cuda:0") for g in opt.param_groups for p in g["params"])
    m.cpu()
    assert m[0].weight.device == cn.device("cpu")


@requires_cuda
def test_allocator_statistics():
    cn.cuda.empty_cache()
    base = cn.cuda.memory_allocated()
    cn.cuda.reset_peak_memory_stats()
    x = cn.empty(1024, 1024, device="cuda")  # 4 MiB
    assert cn.cuda.memory_allocated() - base >= 4 << 20
    assert cn.cuda.max_memory_allocated() >= cn.cuda.memory_allocated()
    del x
    assert cn.cuda.memory_allocated() == base
    assert cn.cuda.memory_reserved() >= base + (4 << 20)  # cached for reuse
    cn.cuda.empty_cache()
    assert cn.cuda.memory_reserved() == cn.cuda.memory_allocated()
    assert isinstance(cn.cuda.get_device_name(), str) and cn.cuda.current_device() == 0
    with pytest.raises(ValueError, match="out of range"):
        cn.cuda.set_device(cn.cuda.device_count())
