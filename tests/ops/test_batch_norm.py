"""The batch_norm op stem (cpp/src/ops/batch_norm.cpp): batch normalization: training and eval, running statistics, the modules against torch.nn. The cases run through tests/opcheck.py
(NumPy reference, float64 finite differences, PyTorch parity, the GPU against the CPU) and the
error cases check their messages."""

import numpy as np
import pytest

from convnet import nn
import convnet as cn
import convnet.functional as F
from reference import norm_pool as NP
from opcheck import (DEVICES, assert_close, check_case, check_double_backward, load_from_torch, module_matches_torch,
                    msg, on_devices, randn, requires_cuda, rng, tF, to_np, torch)


# the last two: reductions longer than one pass of the GPU's kernels
BN_SHAPES = [(4, 3), (3, 2, 5), (2, 3, 4, 5), (5, 1, 2, 2), (5, 1, 3, 11), (2, 3, 40, 30), (2, 2, 5000)]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_training(device, shape, affine):
    C = shape[1]
    x = randn(*shape) * 2 + 3  # a mean well away from 0
    inputs = [x] + ([randn(C), randn(C)] if affine else [])
    diff = (0, 1, 2) if affine else (0,)

    def fn(x, w=None, b=None):
        return F.batch_norm(x, None, None, w, b, training=True, eps=1e-3)

    def ref_grad(x, *rest):
        dy, w = rest[-1], (rest[0] if affine else None)
        dx, dw, db = NP.batch_norm_backward(x, dy, weight=w, training=True, eps=1e-3)
        return (dx, dw, db) if affine else (dx,)

    check_case(device, f"batch_norm(training=True, affine={affine})", fn, inputs, diff,
               ref=lambda x, w=None, b=None: NP.batch_norm(x, None, None, w, b, True, eps=1e-3)[0],
               ref_grad=ref_grad,
               torch_fn=lambda x, w=None, b=None: tF.batch_norm(x, None, None, w, b, training=True, eps=1e-3))


@pytest.mark.parametrize("device,which", on_devices(cuda=[((0,),), ((1,),), ((2,),), ((1, 2),)]), ids=str)
def test_batch_norm_backward_computes_only_what_is_needed(device, which):
    def ref_grad(x, w, b, dy):
        grads = NP.batch_norm_backward(x, dy, weight=w, training=True)
        return tuple(grads[i] for i in which)

    check_case(device, f"batch_norm gradients of {which}",
               lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [randn(3, 4, 5), randn(4), randn(4)],
               which, ref=lambda x, w, b: NP.batch_norm(x, None, None, w, b, True)[0], ref_grad=ref_grad,
               torch_fn=lambda x, w, b: tF.batch_norm(x, None, None, w, b, training=True))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", BN_SHAPES[:5])
def test_batch_norm_eval(device, shape):
    C = shape[1]
    x, rm, rv = randn(*shape), randn(C), rng().uniform(0.5, 2.0, C)
    w, b = randn(C), randn(C)

    def fn(x, w, b, rm, rv):
        return F.batch_norm(x, rm, rv, w, b, training=False)

    check_case(device, "batch_norm(training=False)", fn, [x, w, b, rm, rv], (0, 1, 2),
               ref=lambda x, w, b, rm, rv: NP.batch_norm(x, rm, rv, w, b, False)[0],
               ref_grad=lambda x, w, b, rm, rv, dy: NP.batch_norm_backward(x, dy, rm, rv, w, False),
               torch_fn=lambda x, w, b, rm, rv: tF.batch_norm(x, rm, rv, w, b, training=False))


@pytest.mark.parametrize("device,dtype", on_devices([(np.float32,)], cuda=[(np.float64,)]), ids=str)
def test_batch_norm_functional_updates_running_stats_in_place(device, dtype):
    """Two training steps move the running statistics, in place on the input's device."""
    steps = [randn(6, 3, 4, 5) * 3 + 1]
    steps.append(steps[0] * 0.5)
    rm, rv = cn.tensor(np.zeros(3, dtype), device=device), cn.tensor(np.ones(3, dtype), device=device)
    want_m, want_v = np.zeros(3), np.ones(3)
    for x in steps:
        F.batch_norm(cn.tensor(x.astype(dtype), device=device), rm, rv, training=True, momentum=0.3)
        _, want_m, want_v = NP.batch_norm(x, want_m, want_v, training=True, momentum=0.3)
    assert rm.device == cn.device(device) and rv.device == cn.device(device)
    assert_close(rm.cpu().numpy(), want_m, 1e-5, "running_mean")
    assert_close(rv.cpu().numpy(), want_v, 1e-5, "running_var")
    if torch is not None:
        tm, tv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
        for x in steps:
            tF.batch_norm(torch.from_numpy(x), tm, tv, training=True, momentum=0.3)
        assert_close(rm.cpu().numpy(), tm.numpy(), 1e-5, "running_mean vs torch")
        assert_close(rv.cpu().numpy(), tv.numpy(), 1e-5, "running_var vs torch")


BN_MODULES = [
    ("BatchNorm2d(3)", (4, 3, 5, 5)),
    ("BatchNorm2d(3, eps=0.001, momentum=None)", (2, 3, 4, 3)),
    ("BatchNorm2d(3, momentum=0.5, affine=False)", (2, 3, 4, 3)),
    ("BatchNorm2d(3, track_running_stats=False)", (2, 3, 4, 3)),
    ("BatchNorm2d(3, bias=False)", (2, 3, 4, 3)),
    ("BatchNorm1d(4)", (6, 4)),
    ("BatchNorm1d(4, momentum=None, affine=False)", (3, 4, 7)),
    ("BatchNorm1d(4, track_running_stats=False, affine=False)", (3, 4, 7)),
]


@pytest.mark.parametrize("spec,shape", BN_MODULES, ids=[s for s, _ in BN_MODULES])
def test_batch_norm_module_trains_like_torch(spec, shape):
    """Several training steps: outputs, gradients, running statistics and the batch count match
    torch's after each; then eval mode uses the running statistics as torch does."""
    torch_ = pytest.importorskip("torch")
    m, t = module_matches_torch(spec, shape, train=True)
    r = np.random.default_rng(5)
    for step in range(4):
        x = (r.standard_normal(shape) * (step + 1) + step).astype(np.float32)
        assert_close(to_np(m(cn.tensor(x))), t(torch_.from_numpy(x)).detach().numpy(), 1e-5, f"{spec} step {step}")
        ts = t.state_dict()
        for k, v in m.state_dict().items():
            assert_close(to_np(v), ts[k].numpy(), 1e-5, f"{spec} {k} after step {step}")
    assert [tuple(v.shape) for v in m.state_dict().values()] == [tuple(v.shape) for v in t.state_dict().values()]
    m.eval()
    t.eval()
    x = r.standard_normal(shape).astype(np.float32)
    assert_close(to_np(m(cn.tensor(x))), t(torch_.from_numpy(x)).detach().numpy(), 1e-5, f"{spec} eval")
    ts = t.state_dict()
    for k, v in m.state_dict().items():  # eval leaves the statistics alone
        assert_close(to_np(v), ts[k].numpy(), 1e-5, f"{spec} {k} after eval")


def test_batch_norm_module_eval_matches_torch_with_loaded_stats():
    torch_ = pytest.importorskip("torch")
    t = torch_.nn.BatchNorm2d(3)
    with torch_.no_grad():
        t.running_mean.copy_(torch_.tensor([0.5, -1.0, 2.0]))
        t.running_var.copy_(torch_.tensor([0.25, 2.0, 1.5]))
        t.weight.copy_(torch_.tensor([1.5, -0.5, 2.0]))
        t.bias.copy_(torch_.tensor([0.1, 0.2, -0.3]))
    module_matches_torch("BatchNorm2d(3)", (2, 3, 4, 4))  # parameters
    m = nn.BatchNorm2d(3)
    load_from_torch(m, t)
    m.eval()
    t.eval()
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 4)).astype(np.float32)
    xc = cn.tensor(x).requires_grad_(True)
    xt = torch_.from_numpy(x.copy()).requires_grad_(True)
    y, yt = m(xc), t(xt)
    assert_close(to_np(y), yt.detach().numpy(), 1e-5, "BatchNorm2d eval forward")
    y.sum().backward()
    yt.sum().backward()
    assert_close(to_np(xc.grad), xt.grad.numpy(), 1e-5, "BatchNorm2d eval input grad")
    assert_close(to_np(m.weight.grad), t.weight.grad.numpy(), 1e-5, "BatchNorm2d eval weight grad")


def test_batch_norm_module_buffers_and_attributes():
    m = nn.BatchNorm2d(5, momentum=None)
    assert list(m.state_dict().keys()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert [n for n, _ in m.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    assert m.num_batches_tracked.dtype == cn.int64 and tuple(m.num_batches_tracked.shape) == ()
    assert np.all(m.running_var.numpy() == 1) and np.all(m.running_mean.numpy() == 0)
    assert m.num_features == 5 and m.eps == 1e-5 and m.momentum is None and m.affine and m.track_running_stats
    m(cn.randn(2, 5, 3, 3))
    m(cn.randn(2, 5, 3, 3))
    assert int(m.num_batches_tracked.item()) == 2
    m.reset_running_stats()
    assert int(m.num_batches_tracked.item()) == 0 and np.all(m.running_var.numpy() == 1)
    bare = nn.BatchNorm1d(3, affine=False, track_running_stats=False)
    assert list(bare.state_dict().keys()) == []
    assert bare.weight is None and bare.bias is None and bare.running_mean is None and bare.num_batches_tracked is None
    assert nn.BatchNorm2d(3, bias=False).bias is None and tuple(nn.BatchNorm2d(3, bias=False).weight.shape) == (3,)
    m.momentum = 0.5  # writable, as torch's: the next step moves the statistics halfway
    m.eps = 0.0
    x = np.random.default_rng(2).standard_normal((4, 5, 3, 3)).astype(np.float32)
    m(cn.tensor(x))
    assert_close(m.running_mean.numpy(), 0.5 * x.mean(axis=(0, 2, 3)), 1e-5, "running_mean after momentum=0.5")
    assert m.momentum == 0.5 and m.eps == 0.0
    m64 = nn.BatchNorm2d(2).to(cn.float64)
    assert m64.running_mean.dtype == cn.float64 and m64.num_batches_tracked.dtype == cn.int64


def test_batch_norm_errors():
    with pytest.raises(ValueError, match=msg("BatchNorm2d(3, ", "4-D", "(2, 3, 5)")):
        nn.BatchNorm2d(3)(cn.randn(2, 3, 5))
    with pytest.raises(ValueError, match=msg("BatchNorm1d(3, ", "2-D", "3-D", "(2, 3, 5, 5)")):
        nn.BatchNorm1d(3)(cn.randn(2, 3, 5, 5))
    with pytest.raises(ValueError, match=msg("BatchNorm2d(3, ", "input has 4 channel(s), expected 3",
                                             "(2, 4, 5, 5)")):
        nn.BatchNorm2d(3)(cn.randn(2, 4, 5, 5))
    with pytest.raises(ValueError, match=msg("BatchNorm1d(3, ", "more than 1 value per channel",
                                             "(1, 3)")):
        nn.BatchNorm1d(3)(cn.randn(1, 3))
    m = nn.BatchNorm1d(3)
    m.eval()
    assert tuple(m(cn.randn(1, 3)).shape) == (1, 3)  # eval needs no batch statistics
    with pytest.raises(ValueError, match=msg("batch_norm", "running_mean", "(3,)", "(4,)", "(2, 3, 4)")):
        F.batch_norm(cn.randn(2, 3, 4), cn.zeros(4), cn.ones(3))
    with pytest.raises(ValueError, match=msg("batch_norm", "weight", "(3,)", "(2,)")):
        F.batch_norm(cn.randn(2, 3, 4), None, None, cn.ones(2), training=True)
    with pytest.raises(ValueError, match=msg("batch_norm", "running_mean and running_var are needed")):
        F.batch_norm(cn.randn(2, 3, 4), None, None)
    with pytest.raises(ValueError, match=msg("batch_norm", "at least 2 dimensions", "(5,)")):
        F.batch_norm(cn.randn(5), None, None, training=True)
    with pytest.raises(ValueError, match=msg("batch_norm", "float32 or float64", "int64")):
        F.batch_norm(cn.tensor(np.zeros((2, 3), np.int64)), None, None, training=True)
    with pytest.raises(ValueError, match=msg("BatchNorm", "num_features must be positive")):
        nn.BatchNorm2d(0)


def _twins(spec):
    """The module on the CPU and a copy on the GPU, with the same random weights."""
    m, g = eval("nn." + spec), eval("nn." + spec)
    state = {k: randn(*v.shape).astype(np.float32) if k in ("weight", "bias") else v.numpy().copy()
             for k, v in m.state_dict().items()}
    m.load_state_dict(state)
    g.load_state_dict(state)
    return m, g.to("cuda")


def _state(m):
    return {k: v.detach().cpu().numpy() for k, v in m.state_dict().items()}


def _assert_same_state(g, m, what):
    want = _state(m)
    got = _state(g)
    assert list(got) == list(want), what
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-5, atol=1e-6, err_msg=f"{what}: {k}")


@requires_cuda
@pytest.mark.parametrize("spec,shape", BN_MODULES, ids=[s for s, _ in BN_MODULES])
def test_batch_norm_module_trains_on_the_gpu_as_on_the_cpu(spec, shape):
    """Several training steps: outputs, gradients, running statistics and num_batches_tracked
    agree after each, the buffers stay on the GPU; then eval uses the running statistics."""
    m, g = _twins(spec)
    r = np.random.default_rng(5)
    for step in range(4):
        x = (r.standard_normal(shape) * (step + 1) + step).astype(np.float32)
        dy = r.standard_normal(shape).astype(np.float32)
        xm = cn.tensor(x).requires_grad_(True)
        xg = cn.tensor(x, device="cuda").requires_grad_(True)
        ym, yg = m(xm), g(xg)
        assert yg.device == cn.device("cuda:0")
        np.testing.assert_allclose(yg.detach().cpu().numpy(), ym.detach().numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=f"step {step}")
        ym.backward(cn.tensor(dy))
        yg.backward(cn.tensor(dy, device="cuda"))
        np.testing.assert_allclose(xg.grad.cpu().numpy(), xm.grad.numpy(), rtol=1e-4, atol=1e-5)
        for (name, pm), (_, pg) in zip(m.named_parameters(), g.named_parameters()):
            assert pg.grad.device == cn.device("cuda:0")
            np.testing.assert_allclose(pg.grad.cpu().numpy(), pm.grad.numpy(), rtol=1e-4, atol=1e-4, err_msg=name)
        _assert_same_state(g, m, f"{spec} after step {step}")
    for _, b in g.named_buffers():
        assert b.device == cn.device("cuda:0")
    if g.track_running_stats:
        assert int(g.num_batches_tracked.item()) == 4
    m.eval()
    g.eval()
    x = r.standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(g(cn.tensor(x, device="cuda")).detach().cpu().numpy(),
                               m(cn.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)
    _assert_same_state(g, m, f"{spec} after eval")


@requires_cuda
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_on_the_gpu_resumes_from_a_state_dict(momentum):
    """Two steps, state_dict, a fresh GPU module loads it and takes two more: the same as four
    steps on the CPU, num_batches_tracked included; reset_running_stats works on the GPU."""
    r = np.random.default_rng(8)
    xs = [(r.standard_normal((3, 2, 4, 4)) + i).astype(np.float32) for i in range(4)]
    ref = nn.BatchNorm2d(2, momentum=momentum)
    for x in xs:
        ref(cn.tensor(x))
    first = nn.BatchNorm2d(2, momentum=momentum).to("cuda")
    for x in xs[:2]:
        first(cn.tensor(x, device="cuda"))
    saved = first.state_dict()
    assert saved["num_batches_tracked"].device == cn.device("cuda:0")
    second = nn.BatchNorm2d(2, momentum=momentum).to("cuda")
    second.load_state_dict(saved)
    for x in xs[2:]:
        second(cn.tensor(x, device="cuda"))
    _assert_same_state(second, ref, f"momentum={momentum} resumed")
    assert int(first.num_batches_tracked.item()) == 2  # loading copied the values
    second.reset_running_stats()
    assert second.num_batches_tracked.device == cn.device("cuda:0")
    assert int(second.num_batches_tracked.item()) == 0
    np.testing.assert_array_equal(second.running_var.cpu().numpy(), np.ones(2, np.float32))


@requires_cuda
def test_resnet20_trains_on_the_gpu_as_on_the_cpu():
    """Batch norm, the option-A shortcut (pooling and cat with zeros made on the input's device)
    and global average pooling in a zoo model: two training steps give the CPU's outputs,
    gradients and running statistics."""
    from convnet import models

    cn.manual_seed(0)
    m = models.resnet20()
    g = models.resnet20()
    g.load_state_dict({k: v.detach().numpy().copy() for k, v in m.state_dict().items()})
    g.to("cuda")
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    dy = np.random.default_rng(1).standard_normal((2, 10)).astype(np.float32)
    for step in range(2):
        ym, yg = m(cn.tensor(x)), g(cn.tensor(x, device="cuda"))
        np.testing.assert_allclose(yg.detach().cpu().numpy(), ym.detach().numpy(), rtol=1e-4, atol=1e-4)
        ym.backward(cn.tensor(dy))
        yg.backward(cn.tensor(dy, device="cuda"))
    for (name, pm), (_, pg) in zip(m.named_parameters(), g.named_parameters()):
        scale = max(float(np.abs(pm.grad.numpy()).max()), 1e-3)
        np.testing.assert_allclose(pg.grad.cpu().numpy(), pm.grad.numpy(), atol=1e-4 * scale, err_msg=name)
    _assert_same_state(g, m, "resnet20 after two steps")


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape,affine", [((4, 3), True), ((2, 3, 2, 2), True), ((3, 2, 4), False)], ids=str)
def test_batch_norm_double_backward(shape, training, affine):
    """Second derivatives of batch_norm in x, weight and bias, with the batch statistics (training)
    or the running ones (eval)."""
    C = shape[1]
    mean, var = randn(C) * 0.1, np.abs(randn(C)) + 0.5

    def stats(lib):
        make = (lambda a: cn.tensor(a)) if lib is cn else (lambda a: torch.from_numpy(a.copy()))
        return make(mean), make(var)

    inputs = [randn(*shape)] + ([randn(C), randn(C)] if affine else [])
    check_double_backward(f"batch_norm(training={training})",
                          lambda x, *wb: F.batch_norm(x, *stats(cn), *wb, training=training), inputs,
                          diff=range(len(inputs)),
                          torch_fn=lambda x, *wb: tF.batch_norm(x, *stats(torch), *wb, training=training))
