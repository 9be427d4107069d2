"""The conv2d op stem (cpp/src/ops/conv2d.cpp): conv2d over strides, paddings, dilations and groups. The cases run through tests/opcheck.py
(NumPy reference, float64 finite differences, PyTorch parity, the GPU against the CPU) and the
error cases check their messages."""

import numpy as np
import pytest

from convnet import nn
import convnet as cn
import convnet.functional as F
from reference import ops as R
from opcheck import (DEVICES, case_ids, check_case, check_double_backward, check_op, conv_inputs, drawn_cases, msg,
                    on_devices, randn, requires_cuda, tF, torch)


def _draw_conv(r):
    """A convolution whose dilated kernel fits the padded input, or None."""
    groups = int(r.choice([1, 1, 2, 3]))
    C = groups * int(r.integers(1, 3))
    K = groups * int(r.integers(1, 3))
    R_, S = int(r.integers(1, 4)), int(r.integers(1, 4))
    stride = (int(r.integers(1, 4)), int(r.integers(1, 3)))
    pad = (int(r.integers(0, 3)), int(r.integers(0, 3)))
    dil = (int(r.integers(1, 3)), int(r.integers(1, 3)))
    H, W = int(r.integers(3, 9)), int(r.integers(3, 9))
    if H + 2 * pad[0] < dil[0] * (R_ - 1) + 1 or W + 2 * pad[1] < dil[1] * (S - 1) + 1:
        return None
    N, bias = int(r.integers(1, 3)), bool(r.integers(0, 2))
    return (N, C, H, W), (K, C // groups, R_, S), stride, pad, dil, groups, bias, False


# (x shape, w shape, stride, padding, dilation, groups, bias, in chunks: the GPU's column buffers at 4 KiB);
# drawn cases and chosen paths on both devices, then the GPU's own
CONV_CASES = on_devices([(c,) for c in drawn_cases(24, 7, _draw_conv) + [
    # depthwise and 1×1 paths
    ((2, 4, 6, 6), (4, 1, 3, 3), (1, 1), (1, 1), (1, 1), 4, True, False),
    ((2, 5, 5, 7), (3, 5, 1, 1), (1, 1), (0, 0), (1, 1), 1, True, False),
    ((1, 3, 7, 7), (6, 3, 1, 1), (2, 2), (0, 0), (1, 1), 1, False, False),
    # no images: the 3x3 stride-1 path, a strided one and the 1x1 path
    ((0, 3, 6, 6), (4, 3, 3, 3), (1, 1), (1, 1), (1, 1), 1, True, False),
    ((0, 4, 7, 7), (2, 2, 3, 3), (2, 2), (1, 1), (1, 1), 2, True, False),
    ((0, 5, 5, 5), (3, 5, 1, 1), (1, 1), (0, 0), (1, 1), 1, False, False),
]], cuda=[(c,) for c in [
    ((2, 3, 9, 8), (4, 3, 3, 3), 1, 0, 1, 1, True, False),
    ((1, 3, 7, 7), (5, 3, 3, 3), 1, 1, 1, 1, True, False),  # one image: no transposition
    ((3, 2, 10, 9), (4, 2, 3, 2), (2, 1), (1, 2), 1, 1, True, False),
    ((2, 3, 11, 11), (4, 3, 3, 3), 2, 2, 2, 1, True, False),  # dilation
    ((2, 4, 6, 5), (6, 2, 3, 3), 1, 1, 1, 2, True, False),  # groups
    ((2, 4, 7, 7), (8, 1, 3, 3), 2, 1, 1, 4, True, False),  # depthwise, 2 filters per channel
    ((3, 4, 5, 6), (6, 4, 1, 1), 1, 0, 1, 1, True, False),  # 1x1: the input is the column matrix
    ((2, 6, 5, 5), (4, 3, 1, 1), 1, 0, 1, 2, True, False),  # grouped 1x1
    ((2, 4, 7, 6), (3, 4, 1, 1), 2, 0, 1, 1, True, False),  # strided 1x1
    ((2, 3, 9, 8), (4, 3, 3, 3), 1, 0, 1, 1, False, False),
    ((3, 2, 10, 9), (4, 2, 3, 2), (2, 1), (1, 2), 1, 1, False, False),
    ((2, 4, 6, 5), (6, 2, 3, 3), 1, 1, 1, 2, False, False),
    ((5, 3, 9, 8), (4, 3, 3, 3), 1, 0, 1, 1, True, True),
    ((5, 4, 6, 5), (6, 2, 3, 3), 1, 1, 1, 2, True, True),
    ((5, 4, 5, 6), (6, 4, 1, 1), 1, 0, 1, 1, True, True),
]])


@pytest.mark.parametrize("device,case", CONV_CASES, ids=case_ids("x{}-w{}-s{}-p{}-d{}-g{}-bias{}-chunked{}"))
def test_conv2d(device, case, request):
    xs, ws, stride, pad, dil, groups, bias, chunked = case
    inputs, diff = conv_inputs(xs, ws, ws[0] if bias else None, request, chunked)

    def fn(x, w, b=None):
        return F.conv2d(x, w, b, stride=stride, padding=pad, dilation=dil, groups=groups)

    def ref_grad(x, w, *rest):
        dy = rest[-1]
        dx, dw, db = R.conv2d_backward(x, w, dy, stride, pad, dil, groups)
        return (dx, dw, db) if bias else (dx, dw)

    check_case(device, f"conv2d(stride={stride}, padding={pad}, dilation={dil}, groups={groups})", fn, inputs,
               diff, ref=lambda x, w, b=None: R.conv2d(x, w, b, stride, pad, dil, groups), ref_grad=ref_grad,
               torch_fn=lambda x, w, b=None: tF.conv2d(x, w, b, stride, pad, dil, groups))


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # torch's notice
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("k", [3, 4])
def test_conv2d_same_padding(device, k):
    x, w, b = randn(2, 3, 7, 6), randn(4, 3, k, k), randn(4)
    check_case(device, f"conv2d(padding='same', kernel {k})", lambda x, w, b: F.conv2d(x, w, b, padding="same"),
               [x, w, b], (0, 1, 2), torch_fn=lambda x, w, b: tF.conv2d(x, w, b, padding="same"))
    out = F.conv2d(cn.tensor(x), cn.tensor(w), cn.tensor(b), padding="valid")
    assert out.shape == (2, 4, 8 - k, 7 - k)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_conv2d_same_padding_still_matches_torch_with_even_kernels():
    x, w = randn(2, 3, 6, 7), randn(4, 3, 2, 4) * 0.5
    check_op("conv2d(padding='same', even kernel)", lambda x, w: F.conv2d(x, w, padding="same"), [x, w], (0, 1),
             torch_fn=lambda x, w: tF.conv2d(x, w, padding="same"))


@requires_cuda
def test_conv2d_input_gradient_only_and_weight_gradient_only_on_the_gpu():
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


@pytest.mark.cuda
def test_workspace_limit_is_validated_on_the_gpu():
    with pytest.raises(ValueError, match="conv_workspace_limit"):
        cn.backends.cuda.conv_workspace_limit = -1
    assert cn.backends.cuda.conv_workspace_limit == 256 << 20


def test_conv2d_wrong_channel_count():
    with pytest.raises(ValueError, match=msg("conv2d: ", "input has 4 channel(s), expected 3",
                                             "(2, 4, 8, 8)")):
        F.conv2d(cn.randn(2, 4, 8, 8), cn.randn(6, 3, 3, 3))
    with pytest.raises(ValueError, match=msg("Conv2d(3, 8, kernel_size=(3, 3)", "input has 1 channel(s), expected 3",
                                             "(2, 1, 8, 8)")):
        nn.Conv2d(3, 8, 3)(cn.randn(2, 1, 8, 8))


def test_conv2d_same_padding_error_shows_the_callers_shape():
    # an even kernel with padding='same' pads the input first; the message still shows what was passed
    with pytest.raises(ValueError, match=msg("conv2d: ", "input has 4 channel(s), expected 3",
                                             "(2, 4, 8, 8)")):
        F.conv2d(cn.randn(2, 4, 8, 8), cn.randn(6, 3, 2, 2), padding="same")


@pytest.mark.parametrize("shape", [(8, 8), (8,), (1, 2, 3, 8, 8)])
def test_conv2d_wrong_rank(shape):
    shape_text = "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"
    with pytest.raises(ValueError, match=msg("conv2d: ", "expected a 4-D input (N, C, H, W)",
                                             f"{len(shape)}-D input of shape {shape_text}")):
        F.conv2d(cn.randn(*shape), cn.randn(6, 3, 3, 3))
    with pytest.raises(ValueError, match=msg("Conv2d(", "expected a 4-D input", shape_text)):
        nn.Conv2d(3, 6, 3)(cn.randn(*shape))


def test_conv2d_weight_wrong_rank():
    with pytest.raises(ValueError, match=msg("conv2d", "weight must be 4-D", "(6, 3, 3)")):
        F.conv2d(cn.randn(2, 3, 8, 8), cn.randn(6, 3, 3))


def test_conv2d_kernel_larger_than_padded_input():
    with pytest.raises(ValueError, match=msg("conv2d: ", "kernel size (7, 7)", "larger than the padded input (6, 6)",
                                             "(2, 3, 4, 4)")):
        F.conv2d(cn.randn(2, 3, 4, 4), cn.randn(6, 3, 7, 7), padding=1)
    with pytest.raises(ValueError, match=msg("Conv2d(3, 8, kernel_size=(5, 5)",
                                             "larger than the padded input (3, 3)", "(1, 3, 3, 3)")):
        nn.Conv2d(3, 8, 5)(cn.randn(1, 3, 3, 3))
    # dilation counts: a 3x3 kernel with dilation 3 spans 7 pixels
    with pytest.raises(ValueError, match=msg("conv2d: ", "kernel size (7, 7) (with dilation)", "(1, 3, 6, 6)")):
        F.conv2d(cn.randn(1, 3, 6, 6), cn.randn(2, 3, 3, 3), dilation=3)


@pytest.mark.parametrize("kw, text", [
    ({"stride": 0}, "stride must be positive"),
    ({"stride": -1}, "stride must be positive"),
    ({"stride": (1, 0)}, "stride must be positive"),
    ({"padding": -1}, "padding must be non-negative"),
    ({"dilation": 0}, "dilation must be positive"),
    ({"groups": 0}, "groups must be positive, got 0"),
    ({"groups": -3}, "groups must be positive, got -3"),
])
def test_conv2d_zero_or_negative_arguments(kw, text):
    with pytest.raises(ValueError, match=msg("conv2d: ", text)):
        F.conv2d(cn.randn(2, 3, 8, 8), cn.randn(6, 3, 3, 3), **kw)


def test_conv2d_groups_not_dividing_channels():
    # weight (6, 2, 3, 3) with groups=3 expects 6 input channels
    with pytest.raises(ValueError, match=msg("conv2d: ", "groups=3", "input has 4 channel(s), expected 6",
                                             "(2, 4, 8, 8)")):
        F.conv2d(cn.randn(2, 4, 8, 8), cn.randn(6, 2, 3, 3), groups=3)
    with pytest.raises(ValueError, match=msg("conv2d: ", "out_channels (4) must be divisible by groups (3)")):
        F.conv2d(cn.randn(2, 6, 8, 8), cn.randn(4, 2, 3, 3), groups=3)


@pytest.mark.parametrize("args, kw, text", [
    ((3, 8, 0), {}, "kernel_size must be positive"),
    ((3, 8, -3), {}, "kernel_size must be positive"),
    ((3, 8, (3, 0)), {}, "kernel_size must be positive"),
    ((3, 8, 3), {"stride": 0}, "stride must be positive, got (0, 0)"),
    ((3, 8, 3), {"stride": (1, -1)}, "stride must be positive, got (1, -1)"),
    ((0, 8, 3), {}, "channel counts must be positive"),
    ((3, -8, 3), {}, "channel counts must be positive"),
    ((3, 8, 3), {"padding": -1}, "padding must be non-negative, got (-1, -1)"),
    ((3, 8, 3), {"dilation": 0}, "dilation must be positive, got (0, 0)"),
    ((4, 6, 3), {"groups": 4}, "groups=4 must be positive and divide in_channels and out_channels"),
    ((4, 6, 3), {"groups": 0}, "groups=0 must be positive"),
    ((4, 6, 3), {"padding": "full"}, "padding must be an int, a pair, 'same' or 'valid', got 'full'"),
    ((4, 6, 3), {"stride": 2, "padding": "same"}, "padding='same' is not supported for strided convolutions"),
])
def test_conv2d_module_constructor_rejects_bad_sizes(args, kw, text):
    with pytest.raises(ValueError, match=msg(f"Conv2d(in_channels={args[0]}, out_channels={args[1]}", text)):
        nn.Conv2d(*args, **kw)


def test_conv2d_kernel_size_of_wrong_type():
    with pytest.raises(TypeError, match=msg("Conv2d", "kernel_size must be an int or a pair of ints", "3.5")):
        nn.Conv2d(4, 6, 3.5)


def test_conv2d_int64_input():
    x = cn.tensor(np.zeros((2, 3, 8, 8), np.int64))
    with pytest.raises(ValueError, match=msg("conv2d: ", "input dtype int64 must match weight dtype float32",
                                             "(2, 3, 8, 8)")):
        F.conv2d(x, cn.randn(6, 3, 3, 3))
    with pytest.raises(ValueError, match=msg("Conv2d(", "input dtype int64", "(2, 3, 8, 8)")):
        nn.Conv2d(3, 6, 3)(x)


def test_conv2d_mixed_float32_float64():
    with pytest.raises(ValueError, match=msg("Conv2d(", "input dtype float64 must match weight dtype float32",
                                             "(2, 3, 8, 8)")):
        nn.Conv2d(3, 6, 3)(cn.randn(2, 3, 8, 8, dtype=cn.float64))
    with pytest.raises(ValueError, match=msg("conv2d: ", "input dtype float32 must match weight dtype float64")):
        F.conv2d(cn.randn(2, 3, 8, 8), cn.randn(6, 3, 3, 3, dtype=cn.float64))


def test_conv2d_bias_of_wrong_shape():
    with pytest.raises(ValueError, match=msg("conv2d: ", "bias must have shape (6,), got (5,)")):
        F.conv2d(cn.randn(2, 3, 8, 8), cn.randn(6, 3, 3, 3), cn.randn(5))


# ---- conv1d: conv2d over (N, C, 1, L) ---------------------------------------------------------------

def _draw_conv1d(r):
    groups = int(r.choice([1, 1, 2, 3]))
    C, K = groups * int(r.integers(1, 3)), groups * int(r.integers(1, 3))
    k, s, p, d = int(r.integers(1, 5)), int(r.integers(1, 4)), int(r.integers(0, 3)), int(r.integers(1, 3))
    L = int(r.integers(1, 12))
    if L + 2 * p < d * (k - 1) + 1:
        return None
    return (int(r.integers(1, 3)), C, L), (K, C // groups, k), s, p, d, groups, bool(r.integers(0, 2))


# (x shape, w shape, stride, padding, dilation, groups, bias): drawn, unbatched, then "same"
CONV1D_CASES = on_devices([(c,) for c in [((2, 3, 9), (4, 3, 3), 1, 1, 1, 1, True),
                                          ((2, 4, 10), (6, 2, 3), 2, 0, 2, 2, False)]],
                          cpu=[(c,) for c in drawn_cases(10, 17, _draw_conv1d) + [
                              ((3, 7), (2, 3, 2), 1, 0, 1, 1, True),  # unbatched (C, L)
                              ((2, 4, 8), (4, 1, 3), 1, 1, 1, 4, True),  # depthwise
                              ((2, 3, 9), (5, 3, 4), 1, "same", 1, 1, True),  # even kernel: one more on the right
                              ((1, 2, 7), (3, 2, 3), 1, "same", 2, 1, False),
                              ((1, 2, 7), (3, 2, 3), 1, "valid", 1, 1, True)]])


@pytest.mark.parametrize("device,case", CONV1D_CASES, ids=case_ids("x{}-w{}-s{}-p{}-d{}-g{}-bias{}"))
def test_conv1d(device, case):
    xs, ws, s, p, d, g, bias = case
    inputs = [randn(*xs), randn(*ws) * 0.5] + ([randn(ws[0])] if bias else [])

    def fn(x, w, b=None):
        return F.conv1d(x, w, b, s, p, d, g)

    def torch_fn(x, w, b=None):
        return tF.conv1d(x, w, b, s, p, d, g)

    check_case(device, f"conv1d(stride={s}, padding={p}, dilation={d}, groups={g})", fn, inputs,
               diff=tuple(range(len(inputs))), torch_fn=torch_fn)


@pytest.mark.parametrize("spec,shape", [("Conv1d(3, 4, 3)", (2, 3, 9)),
                                        ("Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2, bias=False)",
                                         (2, 4, 11)),
                                        ("Conv1d(2, 3, (4,), padding='same')", (2, 2, 7)),
                                        ("Conv1d(2, 2, 1)", (2, 5))])
def test_conv1d_module(spec, shape):
    from opcheck import module_matches_torch
    m, t = module_matches_torch(spec, shape, tol=1e-5)
    assert m.weight.shape == tuple(t.weight.shape) and m.kernel_size == t.kernel_size
    assert m.stride == t.stride and m.padding == t.padding and m.dilation == t.dilation


def test_conv1d_initialization_matches_torch_bounds():
    m = nn.Conv1d(6, 4, 5, groups=2)
    bound = 1 / np.sqrt(3 * 5)  # kaiming_uniform(a=sqrt(5)) and the bias: 1/sqrt(fan_in)
    assert np.abs(m.weight.detach().numpy()).max() <= bound and np.abs(m.bias.detach().numpy()).max() <= bound


def test_conv1d_errors():
    with pytest.raises(ValueError, match=msg("conv1d: ", "3-D input (N, C, L)", "(1, 2, 3, 4)")):
        F.conv1d(cn.randn(1, 2, 3, 4), cn.randn(2, 2, 3))
    with pytest.raises(ValueError, match=msg("conv1d: weight must be 3-D", "(2, 2, 3, 3)")):
        F.conv1d(cn.randn(1, 2, 5), cn.randn(2, 2, 3, 3))
    with pytest.raises(ValueError, match=msg("Conv1d(3, 4, kernel_size=(3,), stride=(1,)): conv1d: ",
                                             "input has 2 channel(s), expected 3", "(1, 2, 5)")):
        nn.Conv1d(3, 4, 3)(cn.randn(1, 2, 5))
    with pytest.raises(ValueError, match=msg("Conv1d(in_channels=3, out_channels=4, kernel_size=3)",
                                             "padding='same' is not supported for strided")):
        nn.Conv1d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match=msg("Conv1d(in_channels=3, out_channels=4, kernel_size=3)", "groups=2")):
        nn.Conv1d(3, 4, 3, groups=2)
    with pytest.raises(TypeError, match=msg("Conv1d: kernel_size must be an int or a 1-tuple", "(3, 3)")):
        nn.Conv1d(3, 4, (3, 3))


def _conv_double_case(r):
    groups = int(r.choice([1, 1, 2]))
    C, K = groups * int(r.integers(1, 3)), groups * int(r.integers(1, 3))
    R_, S = (int(v) for v in r.integers(1, 4, size=2))
    stride, pad, dil = int(r.integers(1, 3)), int(r.integers(0, 2)), int(r.integers(1, 3))
    H, W = int(r.integers(dil * (R_ - 1) + 1, 7)), int(r.integers(dil * (S - 1) + 1, 7))
    return (int(r.integers(1, 3)), C, H, W), (K, C // groups, R_, S), stride, pad, dil, groups, bool(r.integers(0, 2))


# randomized (x shape, w shape, stride, padding, dilation, groups, bias)
CONV_DOUBLE_CASES = drawn_cases(8, 13, _conv_double_case)


@pytest.mark.parametrize("xs,ws,stride,pad,dil,groups,bias", CONV_DOUBLE_CASES, ids=str)
def test_conv2d_double_backward(xs, ws, stride, pad, dil, groups, bias):
    """Second derivatives through dx, dw and db (create_graph), as gradient penalties take them."""
    inputs = [randn(*xs), randn(*ws) * 0.5] + ([randn(ws[0])] if bias else [])
    kw = dict(stride=stride, padding=pad, dilation=dil, groups=groups)
    check_double_backward(f"conv2d({kw})", lambda *a: F.conv2d(*a, **kw), inputs, diff=range(len(inputs)),
                          torch_fn=lambda *a: tF.conv2d(*a, **kw))
