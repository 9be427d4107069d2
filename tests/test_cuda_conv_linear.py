"""The matrix-product ops on the GPU against the CPU: conv2d, conv_transpose2d, linear and
matmul, forward and backward, over strides, paddings, dilations, groups, bias or none, odd
sizes, batches split into chunks, the module forms moved with .to("cuda"), and the TF32
switches."""

import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from opcheck import check_devices, requires_cuda, without_gpu

pytestmark = pytest.mark.cuda  # the device tests (run by the emulated CUDA build)

rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


@pytest.fixture
def small_workspace():
    """Column buffers of at most 4 KiB, so that every batch runs in several chunks."""
    old = cn.backends.cuda.conv_workspace_limit
    cn.backends.cuda.conv_workspace_limit = 4096
    yield
    cn.backends.cuda.conv_workspace_limit = old


# (x shape, w shape, stride, padding, dilation, groups)
CONV_CASES = [
    ((2, 3, 9, 8), (4, 3, 3, 3), 1, 0, 1, 1),
    ((1, 3, 7, 7), (5, 3, 3, 3), 1, 1, 1, 1),  # one image: no transposition
    ((3, 2, 10, 9), (4, 2, 3, 2), (2, 1), (1, 2), 1, 1),
    ((2, 3, 11, 11), (4, 3, 3, 3), 2, 2, 2, 1),  # dilation
    ((2, 4, 6, 5), (6, 2, 3, 3), 1, 1, 1, 2),  # groups
    ((2, 4, 7, 7), (8, 1, 3, 3), 2, 1, 1, 4),  # depthwise, 2 filters per channel
    ((3, 4, 5, 6), (6, 4, 1, 1), 1, 0, 1, 1),  # 1x1: the input is the column matrix
    ((2, 6, 5, 5), (4, 3, 1, 1), 1, 0, 1, 2),  # grouped 1x1
    ((2, 4, 7, 6), (3, 4, 1, 1), 2, 0, 1, 1),  # strided 1x1
    ((2, 3, 6, 6), (4, 3, 3, 3), 1, "same", 1, 1),
]


def conv_label(case):
    return "x{}-w{}-s{}-p{}-d{}-g{}".format(*case).replace(" ", "")


@pytest.mark.parametrize("case", CONV_CASES, ids=conv_label)
def test_conv2d(case):
    xs, ws, stride, padding, dilation, groups = case
    check_devices(f"conv2d {conv_label(case)}",
                  lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups),
                  [randn(*xs), randn(*ws), randn(ws[0])], diff=(0, 1, 2))


@pytest.mark.parametrize("case", CONV_CASES[:6:2], ids=conv_label)
def test_conv2d_without_bias(case):
    xs, ws, stride, padding, dilation, groups = case
    check_devices(f"conv2d no bias {conv_label(case)}",
                  lambda x, w: F.conv2d(x, w, None, stride, padding, dilation, groups),
                  [randn(*xs), randn(*ws)], diff=(0, 1))


@pytest.mark.parametrize("case", [CONV_CASES[0], CONV_CASES[4], CONV_CASES[6]], ids=conv_label)
def test_conv2d_in_chunks(case, small_workspace):
    xs, ws, stride, padding, dilation, groups = case
    xs = (5,) + xs[1:]
    check_devices(f"conv2d chunked {conv_label(case)}",
                  lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups),
                  [randn(*xs), randn(*ws), randn(ws[0])], diff=(0, 1, 2))


@requires_cuda
def test_conv2d_input_gradient_only_and_weight_gradient_only():
    x, w = randn(2, 3, 6, 6), randn(4, 3, 3, 3)
    dy = cn.tensor(randn(2, 4, 4, 4).astype(np.float32))
    for need_x in (True, False):
        grads = {}
        for dev in ("cpu", "cuda"):
            xt = cn.tensor(x.astype(np.float32), device=dev).requires_grad_(need_x)
            wt = cn.tensor(w.astype(np.float32), device=dev).requires_grad_(not need_x)
            F.conv2d(xt, wt).backward(dy.to(dev))
            grads[dev] = (xt if need_x else wt).grad.cpu().numpy()
            assert (wt if need_x else xt).grad is None
        np.testing.assert_allclose(grads["cuda"], grads["cpu"], rtol=1e-4, atol=1e-4)


# (x shape, w shape, stride, padding, output_padding, groups, dilation)
TRANSPOSE_CASES = [
    ((2, 3, 4, 5), (3, 4, 3, 3), 1, 0, 0, 1, 1),
    ((2, 3, 4, 4), (3, 2, 3, 3), 2, 1, 1, 1, 1),  # output_padding
    ((1, 4, 3, 5), (4, 3, 2, 3), (2, 3), (0, 1), (1, 2), 2, 1),  # groups, one image
    ((2, 2, 4, 4), (2, 3, 3, 3), 2, 1, 0, 1, 2),  # dilation
    ((3, 4, 3, 3), (4, 2, 1, 1), 1, 0, 0, 2, 1),
]


def transpose_label(case):
    return "x{}-w{}-s{}-p{}-op{}-g{}-d{}".format(*case).replace(" ", "")


@pytest.mark.parametrize("case", TRANSPOSE_CASES, ids=transpose_label)
def test_conv_transpose2d(case):
    xs, ws, stride, padding, out_pad, groups, dilation = case
    check_devices(f"conv_transpose2d {transpose_label(case)}",
                  lambda x, w, b: F.conv_transpose2d(x, w, b, stride, padding, out_pad, groups, dilation),
                  [randn(*xs), randn(*ws), randn(ws[1] * groups)], diff=(0, 1, 2))


def test_conv_transpose2d_without_bias_in_chunks(small_workspace):
    check_devices("conv_transpose2d no bias, chunked",
                  lambda x, w: F.conv_transpose2d(x, w, None, stride=2, padding=1, output_padding=1),
                  [randn(4, 3, 4, 4), randn(3, 2, 3, 3)], diff=(0, 1))


@pytest.mark.parametrize("xs", [(5, 7), (2, 3, 7), (1, 7), (7,)])
def test_linear(xs):
    check_devices(f"linear x{xs}", lambda x, w, b: F.linear(x, w, b), [randn(*xs), randn(4, 7), randn(4)],
                  diff=(0, 1, 2))


def test_empty_batches():
    check_devices("conv2d of no images", lambda x, w, b: F.conv2d(x, w, b, padding=1),
                  [randn(0, 3, 5, 5), randn(4, 3, 3, 3), randn(4)], diff=(0, 1, 2))
    check_devices("linear of no rows", lambda x, w, b: F.linear(x, w, b), [randn(0, 7), randn(4, 7), randn(4)],
                  diff=(0, 1, 2))
    check_devices("matmul over an empty dimension", lambda a, b: cn.matmul(a, b), [randn(2, 0), randn(0, 3)],
                  diff=(0, 1))


def test_linear_without_bias():
    check_devices("linear no bias", lambda x, w: F.linear(x, w), [randn(6, 3, 5), randn(2, 5)], diff=(0, 1))


@pytest.mark.parametrize("shapes", [((4, 3), (3, 5)), ((3,), (3, 5)), ((4, 3), (3,)), ((2, 4, 3), (2, 3, 5)),
                                    ((3, 4, 2), (2, 6)), ((3,), (3,))],
                         ids=lambda s: "x".join(str(t) for t in s).replace(" ", ""))
def test_matmul(shapes):
    a, b = shapes
    check_devices(f"matmul {a} @ {b}", lambda x, y: cn.matmul(x, y), [randn(*a), randn(*b)], diff=(0, 1))


@requires_cuda
@pytest.mark.parametrize("make, x_shape", [(lambda: cn.nn.Conv2d(3, 4, 3, stride=2, padding=1), (2, 3, 7, 7)),
                                           (lambda: cn.nn.Conv2d(4, 6, 3, groups=2, bias=False), (2, 4, 6, 5)),
                                           (lambda: cn.nn.ConvTranspose2d(4, 3, 3, stride=2, output_padding=1),
                                            (2, 4, 4, 4)),
                                           (lambda: cn.nn.Linear(4, 5), (3, 4))],
                         ids=["conv", "grouped-conv", "conv-transpose", "linear"])
def test_modules_moved_to_the_gpu(make, x_shape):
    cn.manual_seed(1)
    cpu = make()
    gpu = make()
    gpu.load_state_dict(cpu.state_dict())
    assert gpu.to("cuda") is gpu
    x = randn(*x_shape)
    ys = {}
    for name, m in (("cpu", cpu), ("cuda", gpu)):
        xt = cn.tensor(x.astype(np.float32), device=name)
        y = m(xt)
        assert y.device == cn.device(name) and y.dtype == cn.float32
        dy = cn.tensor(np.linspace(-1, 1, int(np.prod(y.shape)), dtype=np.float32).reshape(y.shape), device=name)
        y.backward(dy)
        ys[name] = (y.detach().cpu().numpy(), [p.grad.cpu().numpy() for p in m.parameters()])
    np.testing.assert_allclose(ys["cuda"][0], ys["cpu"][0], rtol=1e-4, atol=1e-5)
    for g_gpu, g_cpu in zip(ys["cuda"][1], ys["cpu"][1]):
        np.testing.assert_allclose(g_gpu, g_cpu, rtol=1e-4, atol=1e-4)
    for p in gpu.parameters():
        assert p.grad.device == cn.device("cuda:0")


@requires_cuda
def test_inputs_on_two_devices_are_refused():
    x = cn.ones(1, 2, 5, 5, device="cuda")
    w = cn.ones(3, 2, 3, 3)
    with pytest.raises(ValueError, match=r"conv2d: expected all tensors on one device, got cuda:0 .* and cpu"):
        F.conv2d(x, w)
    with pytest.raises(ValueError, match="linear: expected all tensors on one device"):
        F.linear(cn.ones(2, 3, device="cuda"), cn.ones(4, 3))
    with pytest.raises(ValueError, match="matmul: expected all tensors on one device"):
        cn.matmul(cn.ones(2, 3), cn.ones(3, 4, device="cuda"))


def test_tf32_switches_default_off_and_round_trip():
    assert cn.backends.cuda.matmul.allow_tf32 is False
    assert cn.backends.cudnn.allow_tf32 is False
    try:
        cn.backends.cuda.matmul.allow_tf32 = True
        assert cn.backends.cuda.matmul.allow_tf32 is True and cn.backends.cudnn.allow_tf32 is False
        cn.backends.cudnn.allow_tf32 = True
        assert cn.backends.cudnn.allow_tf32 is True
    finally:
        cn.backends.cuda.matmul.allow_tf32 = False
        cn.backends.cudnn.allow_tf32 = False
    assert not cn.backends.cuda.matmul.allow_tf32 and not cn.backends.cudnn.allow_tf32


@requires_cuda
def test_tf32_results_stay_close():
    try:
        cn.backends.cuda.matmul.allow_tf32 = True
        cn.backends.cudnn.allow_tf32 = True
        for name, fn, inputs in [
            ("conv2d", lambda x, w, b: F.conv2d(x, w, b, padding=1),
             [randn(2, 3, 6, 6), randn(4, 3, 3, 3), randn(4)]),
            ("conv_transpose2d", lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2),
             [randn(2, 3, 4, 4), randn(3, 2, 3, 3), randn(2)]),
            ("linear", lambda x, w, b: F.linear(x, w, b), [randn(5, 16), randn(3, 16), randn(3)]),
            ("matmul", lambda a, b, _: cn.matmul(a, b), [randn(2, 4, 16), randn(2, 16, 3), randn(1)]),
        ]:
            check_devices(f"{name} with TF32", fn, inputs, diff=(0, 1), rtol=1e-2, dtypes=(np.float32,))
    finally:
        cn.backends.cuda.matmul.allow_tf32 = False
        cn.backends.cudnn.allow_tf32 = False


def test_workspace_limit_is_validated():
    with pytest.raises(ValueError, match="conv_workspace_limit"):
        cn.backends.cuda.conv_workspace_limit = -1
    assert cn.backends.cuda.conv_workspace_limit == 256 << 20


@without_gpu
def test_without_a_gpu_the_products_stay_on_the_cpu():
    y = F.conv2d(cn.ones(1, 2, 4, 4), cn.ones(3, 2, 3, 3))
    assert y.device == cn.device("cpu")
