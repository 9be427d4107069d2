"""The conv3d op stem (cpp/src/ops/conv3d.cpp): conv3d over strides, paddings (per axis, "same",
"valid"), dilations, groups and bias, run by conv2d over depth slices. One table of cases drives the
NumPy reference, float64 finite differences, PyTorch parity (forward and the gradients of input,
weight and bias) and the GPU against the CPU (tests/opcheck.py); double backward, the error
messages and the module nn.Conv3d against torch.nn.Conv3d follow."""

import numpy as np
import pytest

from convnet import nn
import convnet as cn
import convnet.nn.functional as F
from reference import ops as R
from opcheck import (case_ids, check_case, check_double_backward, load_from_torch, module_matches_torch, msg,
                     on_devices, randn, requires_cuda, tF, torch)


def _same_pads(ws, dil):
    """The (before, after) pads of padding="same": the odd cell of an even total after."""
    d = dil if isinstance(dil, tuple) else (dil,) * 3
    return tuple((d[i] * (k - 1) // 2, d[i] * (k - 1) - d[i] * (k - 1) // 2) for i, k in enumerate(ws[2:]))


# (x shape, w shape, stride, padding, dilation, groups, bias, x passed as a transposed (H<->W) view):
# on both devices, then the CPU's own
CONV3D_CASES = on_devices([(c,) for c in [
    ((2, 3, 5, 6, 5), (4, 3, 3, 3, 3), 1, 1, 1, 1, True, False),
    ((1, 2, 6, 5, 7), (3, 2, 2, 3, 2), (2, 1, 2), (1, 0, 2), 1, 1, False, False),  # per-axis stride, padding
    ((1, 4, 4, 5, 5), (6, 2, 2, 3, 3), (1, 2, 1), 1, 1, 2, True, False),  # groups
]], cpu=[(c,) for c in [
    ((2, 2, 7, 6, 6), (2, 2, 3, 2, 3), 1, (2, 1, 0), (2, 1, 2), 1, True, False),  # dilation
    ((2, 4, 5, 5, 4), (4, 1, 3, 3, 3), 1, 1, 1, 4, False, False),  # depthwise
    ((2, 4, 4, 5, 3), (8, 1, 2, 1, 2), (2, 1, 1), (0, 1, 1), 1, 4, True, False),  # depthwise, 2 filters a channel
    ((3, 4, 4, 5), (2, 3, 2, 2, 3), 1, 0, 1, 1, True, False),  # unbatched (C, D, H, W)
    ((2, 3, 5, 5, 5), (4, 3, 1, 1, 1), 2, 0, 1, 1, True, False),  # 1x1x1, strided
    ((2, 3, 4, 6, 5), (4, 3, 3, 2, 2), (1, 2, 1), (1, 0, 1), 1, 1, True, True),  # non-contiguous (transposed) x
    ((1, 2, 5, 6, 4), (3, 2, 2, 3, 4), 1, "same", (1, 2, 1), 1, True, False),  # even kernels: one more after
    ((1, 2, 5, 4, 4), (2, 1, 3, 1, 3), 1, "same", (2, 1, 1), 2, False, False),
    ((2, 2, 4, 5, 4), (3, 2, 2, 2, 3), 1, "valid", 1, 1, True, False),
    ((2, 2, 3, 3, 3), (3, 2, 3, 3, 3), 3, 0, 1, 1, True, False),  # the kernel covers the whole input
    ((0, 2, 4, 4, 4), (3, 2, 3, 3, 3), 1, 1, 1, 1, True, False),  # no images
]])


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # torch's notice
@pytest.mark.parametrize("device,case", CONV3D_CASES, ids=case_ids("x{}-w{}-s{}-p{}-d{}-g{}-bias{}-transposed{}"))
def test_conv3d(device, case):
    xs, ws, stride, pad, dil, groups, bias, transposed = case
    inputs = [randn(*xs), randn(*ws) * 0.5] + ([randn(ws[0])] if bias else [])
    if transposed:  # stored (..., W, H): the op sees x.transpose(-1, -2), a non-contiguous view
        inputs[0] = np.ascontiguousarray(inputs[0].swapaxes(-1, -2))
    kw = dict(stride=stride, padding=pad, dilation=dil, groups=groups)

    def view(x):
        return x.transpose(-1, -2) if transposed else x

    def ref(x, w, b=None):
        x = x.swapaxes(-1, -2) if transposed else x
        y = R.conv3d(x[None] if x.ndim == 4 else x, w, b, stride, _same_pads(ws, dil) if pad == "same" else
                     0 if pad == "valid" else pad, dil, groups)
        return y[0] if x.ndim == 4 else y

    check_case(device, f"conv3d({kw}{', transposed x' if transposed else ''})",
               lambda x, w, b=None: F.conv3d(view(x), w, b, **kw), inputs, diff=tuple(range(len(inputs))), ref=ref,
               torch_fn=lambda x, w, b=None: tF.conv3d(view(x), w, b, **kw))


# (x shape, w shape, stride, padding, dilation, groups, bias): depth padding, groups and bias;
# strides, dilations and an even "same"
CONV3D_DOUBLE_CASES = [((1, 2, 3, 4, 3), (2, 1, 2, 2, 2), 1, (1, 0, 1), 1, 2, True),
                       ((1, 1, 4, 3, 4), (2, 1, 2, 2, 3), 1, "same", (2, 1, 1), 1, False)]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("xs,ws,stride,pad,dil,groups,bias", CONV3D_DOUBLE_CASES, ids=str)
def test_conv3d_double_backward(xs, ws, stride, pad, dil, groups, bias):
    """Second derivatives through the input, weight and bias gradients (create_graph), as gradient
    penalties take them: gradgradcheck and PyTorch's."""
    inputs = [randn(*xs), randn(*ws) * 0.5] + ([randn(ws[0])] if bias else [])
    kw = dict(stride=stride, padding=pad, dilation=dil, groups=groups)
    check_double_backward(f"conv3d({kw})", lambda *a: F.conv3d(*a, **kw), inputs, diff=range(len(inputs)),
                          torch_fn=lambda *a: tF.conv3d(*a, **kw))


def test_conv3d_gradient_penalty_matches_torch():
    """The gradient of ||d sum(y^2) / dx||^2 with respect to the weight, bias and input."""
    pytest.importorskip("torch")
    x, w, b = randn(2, 2, 4, 4, 3), randn(3, 2, 2, 3, 2) * 0.5, randn(3)
    kw = dict(stride=(2, 1, 1), padding=1, dilation=(1, 1, 2))
    grads = {}
    for lib, fn in ((cn, F.conv3d), (torch, tF.conv3d)):
        ts = [(lib.tensor(a) if lib is cn else torch.from_numpy(a.copy())).requires_grad_(True) for a in (x, w, b)]
        y = fn(*ts, **kw)
        (gx,) = lib.autograd.grad((y * y).sum(), [ts[0]], create_graph=True)
        (gx * gx).sum().backward()
        grads[lib.__name__] = [t.grad.detach().numpy() for t in ts]
    for name, got, want in zip(("input", "weight", "bias"), grads["convnet"], grads["torch"]):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, err_msg=f"gradient penalty: {name}")


# ---- errors -------------------------------------------------------------------------------------

def test_conv3d_wrong_channel_count():
    with pytest.raises(ValueError, match=msg("conv3d: ", "input has 4 channel(s), expected 3", "(2, 4, 5, 5, 5)")):
        F.conv3d(cn.randn(2, 4, 5, 5, 5), cn.randn(6, 3, 3, 3, 3))
    with pytest.raises(ValueError, match=msg("Conv3d(3, 8, kernel_size=(3, 3, 3), stride=(1, 1, 1)): conv3d: ",
                                             "input has 1 channel(s), expected 3", "(2, 1, 5, 5, 5)")):
        nn.Conv3d(3, 8, 3)(cn.randn(2, 1, 5, 5, 5))


def test_conv3d_kernel_larger_than_padded_input():
    with pytest.raises(ValueError, match=msg("conv3d: ", "kernel size (3, 3, 3) (with dilation)",
                                             "larger than the padded input (2, 8, 8)", "(1, 3, 2, 6, 6)")):
        F.conv3d(cn.randn(1, 3, 2, 6, 6), cn.randn(4, 3, 3, 3, 3), padding=(0, 1, 1))
    with pytest.raises(ValueError, match=msg("conv3d: ", "kernel size (1, 5, 3)", "padded input (4, 4, 4)")):
        F.conv3d(cn.randn(1, 1, 4, 4, 4), cn.randn(1, 1, 1, 3, 2), dilation=2)
    with pytest.raises(ValueError, match=msg("Conv3d(2, 2, kernel_size=(2, 4, 2)", "padded input (3, 3, 3)",
                                             "(2, 3, 3, 3)")):
        nn.Conv3d(2, 2, (2, 4, 2))(cn.randn(2, 3, 3, 3))


def test_conv3d_groups_not_dividing_channels():
    with pytest.raises(ValueError, match=msg("conv3d: ", "groups=3", "input has 4 channel(s), expected 6",
                                             "(2, 4, 5, 5, 5)")):
        F.conv3d(cn.randn(2, 4, 5, 5, 5), cn.randn(6, 2, 3, 3, 3), groups=3)
    with pytest.raises(ValueError, match=msg("conv3d: ", "out_channels (4) must be divisible by groups (3)")):
        F.conv3d(cn.randn(2, 6, 5, 5, 5), cn.randn(4, 2, 3, 3, 3), groups=3)
    with pytest.raises(ValueError, match=msg("Conv3d(in_channels=4, out_channels=6, kernel_size=(3, 3, 3))",
                                             "groups=4 must be positive and divide in_channels and out_channels")):
        nn.Conv3d(4, 6, 3, groups=4)


@pytest.mark.parametrize("x, w, kw, text", [
    ((2, 3, 5, 5), (4, 3, 3, 3, 3), {}, "input has 2 channel(s), expected 3; input shape (2, 3, 5, 5)"),
    ((5, 5, 5), (4, 3, 3, 3, 3), {}, "expected a 5-D input (N, C, D, H, W) or 4-D (C, D, H, W), got a 3-D input "
                                     "of shape (5, 5, 5)"),
    ((1, 3, 5, 5, 5), (4, 3, 3, 3), {}, "weight must be 5-D (out_channels, in_channels/groups, kD, kH, kW), got "
                                        "shape (4, 3, 3, 3)"),
    ((1, 3, 5, 5, 5), (4, 3, 3, 3, 3), {"stride": (1, 0, 1)}, "stride must be positive, got (1, 0, 1)"),
    ((1, 3, 5, 5, 5), (4, 3, 3, 3, 3), {"padding": (0, -1, 0)}, "padding must be non-negative, got (0, -1, 0)"),
    ((1, 3, 5, 5, 5), (4, 3, 3, 3, 3), {"dilation": 0}, "dilation must be positive, got (0, 0, 0)"),
    ((1, 3, 5, 5, 5), (4, 3, 3, 3, 3), {"groups": 0}, "groups must be positive, got 0"),
    ((1, 3, 5, 5, 5), (4, 3, 3, 3, 3), {"stride": 2, "padding": "same"},
     "padding='same' is not supported for strided convolutions"),
])
def test_conv3d_argument_errors(x, w, kw, text):
    with pytest.raises(ValueError, match=msg("conv3d: ", text)):
        F.conv3d(cn.randn(*x), cn.randn(*w), **kw)


def test_conv3d_dtype_bias_and_argument_type_errors():
    with pytest.raises(ValueError, match=msg("conv3d: ", "input dtype float64 must match weight dtype float32",
                                             "(1, 3, 4, 4, 4)")):
        F.conv3d(cn.randn(1, 3, 4, 4, 4, dtype=cn.float64), cn.randn(2, 3, 3, 3, 3))
    with pytest.raises(ValueError, match=msg("conv3d: ", "input dtype int64")):
        F.conv3d(cn.tensor(np.zeros((1, 3, 4, 4, 4), np.int64)), cn.randn(2, 3, 3, 3, 3))
    with pytest.raises(ValueError, match=msg("conv3d: ", "bias must have shape (2,), got (3,)")):
        F.conv3d(cn.randn(1, 3, 4, 4, 4), cn.randn(2, 3, 3, 3, 3), cn.randn(3))
    with pytest.raises(ValueError, match=msg("conv3d: padding must be an int, a triple, 'same' or 'valid'", "'full'")):
        F.conv3d(cn.randn(1, 3, 4, 4, 4), cn.randn(2, 3, 3, 3, 3), padding="full")
    with pytest.raises(TypeError, match=msg("conv3d: stride must be an int or a triple of ints", "(1, 1)")):
        F.conv3d(cn.randn(1, 3, 4, 4, 4), cn.randn(2, 3, 3, 3, 3), stride=(1, 1))
    with pytest.raises(TypeError, match=msg("Conv3d: kernel_size must be an int or a triple of ints", "3.5")):
        nn.Conv3d(3, 2, 3.5)


@pytest.mark.parametrize("args, kw, text", [
    ((3, 8, (3, 0, 3)), {}, "kernel_size must be positive"),
    ((0, 8, 3), {}, "channel counts must be positive"),
    ((3, 8, 3), {"stride": (1, -1, 1)}, "stride must be positive, got (1, -1, 1)"),
    ((3, 8, 3), {"padding": -1}, "padding must be non-negative, got (-1, -1, -1)"),
    ((3, 8, 3), {"dilation": (1, 1, 0)}, "dilation must be positive, got (1, 1, 0)"),
    ((3, 8, 3), {"padding": "full"}, "padding must be an int, a triple, 'same' or 'valid', got 'full'"),
    ((3, 8, 3), {"stride": (1, 2, 1), "padding": "same"}, "padding='same' is not supported for strided"),
    ((3, 8, 3), {"padding_mode": "reflect"}, "only padding_mode='zeros' is supported, got 'reflect'"),
])
def test_conv3d_module_constructor_errors(args, kw, text):
    with pytest.raises(ValueError, match=msg("Conv3d", text)):
        nn.Conv3d(*args, **kw)


# ---- the module ---------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("spec,shape", [
    ("Conv3d(3, 4, 3)", (2, 3, 5, 6, 5)),
    ("Conv3d(4, 6, (2, 3, 1), stride=(2, 1, 1), padding=(1, 0, 2), dilation=(1, 2, 1), groups=2, bias=False)",
     (2, 4, 5, 7, 4)),
    ("Conv3d(2, 3, 2, padding='same')", (1, 2, 4, 5, 4)),
    ("Conv3d(2, 3, 3, padding='valid', dilation=(2, 1, 1))", (1, 2, 6, 4, 4)),
    ("Conv3d(4, 4, 3, padding=1, groups=4)", (1, 4, 3, 4, 5)),
    ("Conv3d(2, 2, 1)", (2, 3, 4, 5)),  # unbatched
])
def test_conv3d_module_matches_torch(spec, shape):
    """Parameter names and shapes, state_dict keys, repr, forward and gradients with torch's parameters;
    then the other way: convnet's state_dict loaded into torch.nn.Conv3d gives the same output."""
    m, t = module_matches_torch(spec, shape, tol=1e-5)
    assert m.weight.shape == tuple(t.weight.shape) and m.kernel_size == t.kernel_size
    assert (m.in_channels, m.out_channels, m.groups) == (t.in_channels, t.out_channels, t.groups)
    assert m.stride == t.stride and m.padding == t.padding and m.dilation == t.dilation
    cn.manual_seed(7)
    fresh = eval("nn." + spec)
    t.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in fresh.state_dict().items()})
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    with torch.no_grad():
        want = t(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(fresh(cn.tensor(x)).detach().numpy(), want, rtol=1e-5, atol=1e-5)


def test_conv3d_initialization_matches_torch():
    """PyTorch's init (kaiming_uniform(a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and
    bias): the bounds, the spread, and the statistics of torch.nn.Conv3d's own draw."""
    pytest.importorskip("torch")
    cn.manual_seed(0)
    torch.manual_seed(0)
    m, t = nn.Conv3d(16, 32, (3, 2, 3), groups=2), torch.nn.Conv3d(16, 32, (3, 2, 3), groups=2)
    bound = 1 / np.sqrt(8 * 3 * 2 * 3)
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert w.shape == (32, 8, 3, 2, 3) and b.shape == (32,)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert np.abs(b).max() <= bound
    tw = t.weight.detach().numpy()
    assert abs(w.std() - bound / np.sqrt(3)) < 0.03 * bound and abs(w.std() - tw.std()) < 0.03 * bound
    assert abs(w.mean()) < 0.02 * bound and abs(tw.mean()) < 0.02 * bound
    assert m.bias.requires_grad and m.weight.requires_grad and list(m.state_dict()) == ["weight", "bias"]
    assert list(nn.Conv3d(2, 2, 1, bias=False).state_dict()) == ["weight"]


def test_conv3d_in_a_model_summary_and_onnx(tmp_path):
    """nn.Conv3d in a Sequential: the summary counts its MACs; an ONNX export runs in onnxruntime."""
    m = nn.Sequential(nn.Conv3d(2, 4, 3, padding=1), nn.ReLU(), nn.Conv3d(4, 2, (1, 2, 3), stride=(1, 2, 1),
                                                                          groups=2, bias=False))
    s = cn.summary(m, (2, 4, 6, 5), print_fn=None)
    assert s.total_macs == 4 * 4 * 6 * 5 * 2 * 27 + 2 * 4 * 3 * 3 * 2 * 6
    assert s.total_params == (4 * 2 * 27 + 4) + 2 * 2 * 6
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    x = np.random.default_rng(3).standard_normal((2, 2, 4, 6, 5)).astype(np.float32)
    m.eval()
    path = tmp_path / "conv3d.onnx"
    cn.onnx.export(m, cn.tensor(x), path)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = sess.run(None, {sess.get_inputs()[0].name: x})
    np.testing.assert_allclose(got, m(cn.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-4)


@requires_cuda
def test_conv3d_module_to_cuda():
    cn.manual_seed(1)
    m = nn.Conv3d(3, 4, (2, 3, 3), stride=(1, 2, 1), padding=1)
    x = randn(2, 3, 4, 6, 5).astype(np.float32)
    want = m(cn.tensor(x)).detach().numpy()
    m.to("cuda")
    assert m.weight.device == cn.device("cuda:0") and m.bias.device == cn.device("cuda:0")
    y = m(cn.tensor(x, device="cuda"))
    assert y.device == cn.device("cuda:0")
    np.testing.assert_allclose(y.detach().cpu().numpy(), want, rtol=1e-4, atol=1e-4)
    y.sum().backward()
    assert m.weight.grad.device == cn.device("cuda:0")
