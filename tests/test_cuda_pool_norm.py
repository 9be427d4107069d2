"""The CUDA kernels of pooling, padding, interpolation, cat/stack, local response norm, dropout
and batch norm against the CPU ones: every op forward and backward through check_devices, and
the BatchNorm and Dropout modules on the GPU step for step against their CPU twins."""

import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from convnet import nn
from opcheck import check_devices, requires_cuda

pytestmark = pytest.mark.cuda  # the device tests (run by the emulated CUDA build)

rng = np.random.default_rng(11)


def randn(*shape):
    return rng.standard_normal(shape)


# ---- pooling ----------------------------------------------------------------------------------------

# (input shape, kernel, stride, padding, dilation, ceil_mode)
MAX_POOL_CASES = [
    ((2, 3, 7, 7), 3, 2, 1, 1, False),  # overlapping windows (ResNet's stem)
    ((1, 2, 8, 9), 2, 2, 0, 1, False),
    ((2, 2, 7, 6), 3, 2, 0, 1, True),  # the last window runs past the input
    ((1, 3, 9, 8), (3, 2), (2, 1), (1, 0), (2, 3), False),  # dilation
    ((1, 1, 5, 5), 3, 1, 1, 1, True),
    ((1, 2, 4, 4), 4, 3, 2, 1, True),  # windows wholly in the padding
]


@pytest.mark.parametrize("shape,k,s,p,d,ceil", MAX_POOL_CASES)
def test_max_pool2d(shape, k, s, p, d, ceil):
    check_devices(f"max_pool2d(k={k}, s={s}, p={p}, d={d}, ceil={ceil})",
                  lambda x: F.max_pool2d(x, k, s, p, d, ceil_mode=ceil), [randn(*shape)])


def test_max_pool2d_ties_route_to_the_same_input():
    """Equal values in overlapping windows: both devices pick the first maximum of each window."""
    x = rng.integers(0, 3, (2, 2, 9, 9)).astype(np.float64)
    check_devices("max_pool2d(ties)", lambda x: F.max_pool2d(x, 3, 2, 1), [x], rtol=0)
    check_devices("adaptive_max_pool2d(ties)", lambda x: F.adaptive_max_pool2d(x, (4, 5)), [x], rtol=0)


AVG_POOL_CASES = [
    ((2, 3, 7, 7), 3, 2, 1, False),
    ((1, 2, 8, 9), 2, 2, 0, False),
    ((2, 2, 7, 6), 3, 2, 1, True),
    ((1, 3, 6, 5), (3, 2), (1, 2), (1, 1), True),
    ((1, 1, 5, 5), 2, 3, 1, True),
]


@pytest.mark.parametrize("shape,k,s,p,ceil", AVG_POOL_CASES)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d(shape, k, s, p, ceil, count_include_pad):
    check_devices(f"avg_pool2d(k={k}, s={s}, p={p}, ceil={ceil}, count_include_pad={count_include_pad})",
                  lambda x: F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=count_include_pad),
                  [randn(*shape)])


ADAPTIVE_CASES = [((2, 3, 7, 7), 1), ((1, 2, 10, 9), (3, 4)), ((2, 2, 5, 6), (7, 8)), ((1, 3, 6, 5), (None, 2)),
                  ((3, 5, 5), (2, 3))]


@pytest.mark.parametrize("shape,out", ADAPTIVE_CASES)
def test_adaptive_avg_pool2d(shape, out):
    check_devices(f"adaptive_avg_pool2d({out})", lambda x: F.adaptive_avg_pool2d(x, out), [randn(*shape)])


@pytest.mark.parametrize("shape,out", ADAPTIVE_CASES)
def test_adaptive_max_pool2d(shape, out):
    check_devices(f"adaptive_max_pool2d({out})", lambda x: F.adaptive_max_pool2d(x, out), [randn(*shape)])


@pytest.mark.parametrize("shape,p,k,s,ceil", [((2, 3, 7, 7), 2, 3, 2, False), ((1, 2, 6, 5), 1.5, (2, 3), 1, True)])
def test_lp_pool2d(shape, p, k, s, ceil):
    """LP pooling is composed of pow, avg_pool2d and relu: their CUDA kernels together."""
    x = np.abs(randn(*shape)) + 0.1
    check_devices(f"lp_pool2d(p={p}, k={k}, s={s}, ceil={ceil})", lambda x: F.lp_pool2d(x, p, k, s, ceil), [x])


@requires_cuda
def test_pool_modules_keep_the_device():
    x = cn.tensor(randn(2, 3, 8, 8).astype(np.float32), device="cuda")
    for m in (nn.MaxPool2d(2), nn.AvgPool2d(3, 2, 1), nn.AdaptiveAvgPool2d((2, 3)), nn.AdaptiveMaxPool2d(1)):
        y = m(x)
        assert y.device == cn.device("cuda:0"), repr(m)
        np.testing.assert_allclose(y.cpu().numpy(), m(x.cpu()).numpy(), rtol=1e-6, atol=1e-6, err_msg=repr(m))


# ---- padding ------------------------------------------------------------------------------------------

PAD_CASES = [((2, 3, 4, 5), (1, 2, 0, 3), 0.0), ((1, 2, 5, 6), (-1, 2, 1, -2), 1.5), ((2, 3, 4), (2, -1), -2.0),
             ((3, 4), (0, 0, 2, 1), 0.0), ((1, 1, 4, 4), (-1, -1, -1, -1), 0.0), ((2, 5), (3, 3), 0.25)]


@pytest.mark.parametrize("shape,pads,value", PAD_CASES)
def test_pad(shape, pads, value):
    check_devices(f"pad({pads}, value={value})", lambda x: F.pad(x, pads, value=value), [randn(*shape)])


# ---- interpolation -------------------------------------------------------------------------------------

INTERP_CASES = [
    ((2, 3, 4, 5), dict(scale_factor=2)),
    ((1, 2, 5, 3), dict(size=(7, 8))),
    ((1, 2, 7, 9), dict(size=(3, 4))),  # downsampling: some inputs feed no output
    ((2, 1, 3, 4), dict(scale_factor=(1.5, 2.5))),
    ((1, 1, 4, 6), dict(scale_factor=1.7, recompute_scale_factor=True)),
    ((1, 2, 1, 3), dict(size=(4, 1))),
]


@pytest.mark.parametrize("shape,kw", INTERP_CASES)
@pytest.mark.parametrize("mode,align", [("nearest", None), ("bilinear", False), ("bilinear", True)])
def test_interpolate(shape, kw, mode, align):
    args = dict(kw, mode=mode, align_corners=align)
    check_devices(f"interpolate({args})", lambda x: F.interpolate(x, **args), [randn(*shape)])


# ---- cat and stack ------------------------------------------------------------------------------------


@pytest.mark.parametrize("shapes,dim", [
    ([(2, 3, 4), (2, 1, 4), (2, 5, 4)], 1),
    ([(2, 3), (4, 3)], 0),
    ([(3, 2, 2), (3, 2, 1), (3, 2, 3)], -1),
    ([(2, 4)], 1),
    ([(2, 0, 4), (2, 3, 4)], 1),
    ([(1, 3, 2, 2), (1, 3, 2, 2)], 1),
])
def test_cat(shapes, dim):
    inputs = [randn(*s) for s in shapes]
    check_devices(f"cat({shapes}, dim={dim})", lambda *ts: cn.cat(list(ts), dim), inputs, diff=range(len(shapes)))


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_stack(dim):
    inputs = [randn(3, 4) for _ in range(3)]
    check_devices(f"stack(dim={dim})", lambda *ts: cn.stack(list(ts), dim), inputs, diff=(0, 1, 2))


def test_cat_promotes_and_keeps_only_the_needed_gradients():
    """An int64 part is promoted on the device; only the float parts get gradients."""
    a, b = randn(2, 3), rng.integers(-3, 3, (2, 2))
    check_devices("cat(float, int64)", lambda a, b: cn.cat([a, b], 1), [a, b], diff=(0,))


@requires_cuda
def test_cat_of_integers_and_of_mixed_devices():
    a = np.arange(6).reshape(2, 3)
    b = np.arange(4).reshape(2, 2) * 10
    got = cn.cat([cn.tensor(a, device="cuda"), cn.tensor(b, device="cuda")], 1)
    assert got.device == cn.device("cuda:0") and got.dtype == cn.int64
    np.testing.assert_array_equal(got.cpu().numpy(), np.concatenate([a, b], 1))
    with pytest.raises(ValueError, match=r"cat: expected all tensors on one device, got tensor 0 on cuda:0 and "
                                         r"tensor 1 on cpu"):
        cn.cat([cn.ones(2, device="cuda"), cn.ones(2)])


# ---- local response normalization ---------------------------------------------------------------------


@pytest.mark.parametrize("shape,size,alpha,beta,k", [
    ((2, 5, 3, 3), 3, 1e-2, 0.75, 1.0),
    ((2, 4, 6), 2, 0.5, 0.5, 2.0),
    ((1, 6, 2, 2), 5, 1e-1, 0.75, 2.0),  # AlexNet's size
    ((2, 3, 4), 7, 0.3, 1.2, 1.0),  # window wider than the channels
    ((1, 4, 3, 2), 1, 0.2, 0.75, 1.0),
])
def test_local_response_norm(shape, size, alpha, beta, k):
    check_devices(f"local_response_norm(size={size})", lambda x: F.local_response_norm(x, size, alpha, beta, k),
                  [randn(*shape)])


# ---- batch normalization -------------------------------------------------------------------------------

# L = 1 (BatchNorm1d on (N, C)), 5, 20, 33 (a lane count that does not divide L), 1200 and 5000 (many lanes)
BN_SHAPES = [(4, 3), (3, 2, 5), (2, 3, 4, 5), (5, 1, 3, 11), (2, 3, 40, 30), (2, 2, 5000)]


@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_training(shape, affine):
    C = shape[1]
    x = randn(*shape) * 2 + 3  # a mean well away from 0
    inputs = [x] + ([randn(C), randn(C)] if affine else [])

    def fn(x, w=None, b=None):
        return F.batch_norm(x, None, None, w, b, training=True, eps=1e-3)

    check_devices(f"batch_norm(training=True, affine={affine})", fn, inputs, diff=(0, 1, 2) if affine else (0,))


@pytest.mark.parametrize("shape", BN_SHAPES[:4])
def test_batch_norm_eval(shape):
    C = shape[1]
    inputs = [randn(*shape), randn(C), randn(C), randn(C), rng.uniform(0.5, 2.0, C)]
    check_devices("batch_norm(training=False)", lambda x, w, b, rm, rv: F.batch_norm(x, rm, rv, w, b, training=False),
                  inputs, diff=(0, 1, 2))


@pytest.mark.parametrize("which", [(0,), (1,), (2,), (1, 2)])
def test_batch_norm_backward_computes_only_what_is_needed(which):
    inputs = [randn(3, 4, 5), randn(4), randn(4)]
    check_devices(f"batch_norm gradients of {which}", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                  inputs, diff=which)


@requires_cuda
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_functional_updates_running_stats_on_the_device(dtype):
    x = (randn(6, 3, 4, 5) * 3 + 1).astype(dtype)
    stats = {}
    for dev in ("cpu", "cuda"):
        rm = cn.tensor(np.zeros(3, dtype), device=dev)
        rv = cn.tensor(np.ones(3, dtype), device=dev)
        F.batch_norm(cn.tensor(x, device=dev), rm, rv, training=True, momentum=0.3)
        F.batch_norm(cn.tensor(x * 0.5, device=dev), rm, rv, training=True, momentum=0.3)
        assert rm.device == cn.device(dev) and rv.device == cn.device(dev)
        stats[dev] = rm.cpu().numpy(), rv.cpu().numpy()
    np.testing.assert_allclose(stats["cuda"][0], stats["cpu"][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stats["cuda"][1], stats["cpu"][1], rtol=1e-5, atol=1e-6)


BN_MODULES = [
    ("BatchNorm2d(3)", (4, 3, 5, 5)),
    ("BatchNorm2d(3, eps=0.001, momentum=None)", (2, 3, 4, 3)),
    ("BatchNorm2d(3, momentum=0.5, affine=False)", (2, 3, 4, 3)),
    ("BatchNorm2d(3, track_running_stats=False)", (2, 3, 4, 3)),
    ("BatchNorm2d(3, bias=False)", (2, 3, 4, 3)),
    ("BatchNorm1d(4)", (6, 4)),
    ("BatchNorm1d(4, momentum=None, affine=False)", (3, 4, 7)),
]


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


# ---- dropout ----------------------------------------------------------------------------------------


@requires_cuda
@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 1.0])
def test_dropout_draws_the_same_mask_on_both_devices(p):
    """A seed gives the same mask on the GPU as on the CPU (the draws come from the global
    generator on the host), in forward and in backward, and advances the generator alike."""
    x = randn(4, 3, 5).astype(np.float32) + 2
    dy = randn(4, 3, 5).astype(np.float32)
    out = {}
    for dev in ("cpu", "cuda"):
        cn.manual_seed(7)
        xt = cn.tensor(x, device=dev).requires_grad_(True)
        y = nn.Dropout(p)(xt)
        y.backward(cn.tensor(dy, device=dev))
        assert y.device == cn.device(dev) and xt.grad.device == cn.device(dev)
        out[dev] = y.detach().cpu().numpy(), xt.grad.cpu().numpy(), cn.rand(3).numpy()
    for got, want in zip(out["cuda"], out["cpu"]):
        np.testing.assert_array_equal(got, want)
    if 0 < p < 1:
        kept = out["cuda"][0] != 0
        assert 0 < kept.mean() < 1
        np.testing.assert_allclose(out["cuda"][0][kept], x[kept] / (1 - p), rtol=1e-6)


# ---- in a model ------------------------------------------------------------------------------------------


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
