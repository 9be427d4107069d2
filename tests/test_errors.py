"""Bad input raises a Python exception that names the op or layer, the shapes and what was
expected, and never crashes the interpreter.

Each test asserts the exception type and, with `msg(...)`, that the message holds every given
fragment (in any order): the op or layer, the offending shape as convnet prints it ("(2, 4, 8, 8)",
"(5,)") and what was expected. `test_worst_inputs_do_not_crash_the_interpreter` runs the inputs
that once crashed the process in a child interpreter.
"""

import os
import re
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from convnet import nn
from convnet.data import DataLoader
from convnet.datasets import MNIST


def msg(*parts):
    """A regex (for pytest.raises(match=...)) that finds every literal part, in any order."""
    return "(?s)" + "".join(f"(?=.*{re.escape(p)})" for p in parts)


# ---- conv2d (functional and nn.Conv2d) ----------------------------------------------------------


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


# ---- pooling ----------------------------------------------------------------------------------


@pytest.mark.parametrize("op, layer", [(F.max_pool2d, "max_pool2d"), (F.avg_pool2d, "avg_pool2d")])
def test_pool2d_wrong_rank(op, layer):
    with pytest.raises(ValueError, match=msg(f"{layer}: ", "expected a 4-D input (N, C, H, W) or 3-D",
                                             "(8, 8)")):
        op(cn.randn(8, 8), 2)
    with pytest.raises(ValueError, match=msg(f"{layer}: ", "expected a 4-D input", "(1, 1, 1, 8, 8)")):
        op(cn.randn(1, 1, 1, 8, 8), 2)


@pytest.mark.parametrize("op, layer", [(F.max_pool2d, "max_pool2d"), (F.avg_pool2d, "avg_pool2d")])
def test_pool2d_window_larger_than_padded_input(op, layer):
    with pytest.raises(ValueError, match=msg(f"{layer}: ", "the window (5, 5) is larger than the "
                                             "padded input (3, 3)", "(1, 1, 3, 3)")):
        op(cn.randn(1, 1, 3, 3), 5)


@pytest.mark.parametrize("op, layer", [(F.max_pool2d, "max_pool2d"), (F.avg_pool2d, "avg_pool2d")])
@pytest.mark.parametrize("kw, text", [
    ({"kernel_size": 0}, "kernel_size must be positive"),
    ({"kernel_size": -2}, "kernel_size must be positive"),
    ({"kernel_size": 2, "stride": 0}, "stride must be positive"),
    ({"kernel_size": 2, "stride": -1}, "stride must be positive"),
    ({"kernel_size": 2, "padding": 2}, "padding must be non-negative and at most half the kernel size"),
    ({"kernel_size": 2, "padding": -1}, "padding must be non-negative"),
])
def test_pool2d_zero_or_negative_arguments(op, layer, kw, text):
    with pytest.raises(ValueError, match=msg(f"{layer}: ", text)):
        op(cn.randn(1, 1, 8, 8), **kw)


@pytest.mark.parametrize("op, layer", [(F.max_pool2d, "max_pool2d"), (F.avg_pool2d, "avg_pool2d")])
def test_pool2d_integer_input(op, layer):
    with pytest.raises(ValueError, match=msg(f"{layer}: ", "expected a float32 or float64 input, got int64")):
        op(cn.tensor(np.zeros((1, 1, 8, 8), np.int64)), 2)


@pytest.mark.parametrize("cls", [nn.MaxPool2d, nn.AvgPool2d])
@pytest.mark.parametrize("kw, text", [
    ({"kernel_size": 0}, "kernel_size must be positive, got (0, 0)"),
    ({"kernel_size": (2, -1)}, "kernel_size must be positive, got (2, -1)"),
    ({"kernel_size": 2, "stride": 0}, "stride must be positive, got (0, 0)"),
    ({"kernel_size": 2, "stride": -2}, "stride must be positive, got (-2, -2)"),
])
def test_pool2d_module_constructor_rejects_bad_sizes(cls, kw, text):
    with pytest.raises(ValueError, match=msg(cls.__name__, text)):
        cls(**kw)


def test_pool2d_module_forward_errors():
    with pytest.raises(ValueError, match=msg("MaxPool2d(kernel_size=(2, 2)", "expected a 4-D input", "(8,)")):
        nn.MaxPool2d(2)(cn.randn(8))
    with pytest.raises(ValueError, match=msg("MaxPool2d(kernel_size=(5, 5)", "larger than the padded input (3, 3)",
                                             "(1, 1, 3, 3)")):
        nn.MaxPool2d(5)(cn.randn(1, 1, 3, 3))
    with pytest.raises(ValueError, match=msg("AvgPool2d(kernel_size=(2, 2)", "padding must be non-negative")):
        nn.AvgPool2d(2, padding=-1)(cn.randn(1, 1, 8, 8))


def test_adaptive_avg_pool2d_errors():
    with pytest.raises(ValueError, match=msg("adaptive_avg_pool2d: ", "expected a 4-D input",
                                             "(8, 8)")):
        F.adaptive_avg_pool2d(cn.randn(8, 8), 2)
    for size, text in [(0, "(0, 0)"), ((-1, 2), "(-1, 2)")]:
        with pytest.raises(ValueError, match=msg("adaptive_avg_pool2d: ", "output_size must be positive", text)):
            F.adaptive_avg_pool2d(cn.randn(1, 1, 8, 8), size)
        with pytest.raises(ValueError, match=msg("AdaptiveAvgPool2d", "output_size must be positive", text)):
            nn.AdaptiveAvgPool2d(size)
    with pytest.raises(ValueError, match=msg("adaptive_avg_pool2d: ", "input spatial size must be positive",
                                             "(1, 1, 0, 8)")):
        F.adaptive_avg_pool2d(cn.randn(1, 1, 0, 8), 2)
    with pytest.raises(ValueError, match=msg("adaptive_avg_pool2d: ", "float32 or float64", "int64")):
        F.adaptive_avg_pool2d(cn.tensor(np.zeros((1, 1, 4, 4), np.int64)), 2)


# ---- linear ---------------------------------------------------------------------------------------


def test_linear_mismatched_input():
    with pytest.raises(ValueError, match=msg("Linear(in_features=10, out_features=3, bias=True): linear: ",
                                             "input has 12 feature(s), expected 10",
                                             "(4, 12)")):
        nn.Linear(10, 3)(cn.randn(4, 12))
    with pytest.raises(ValueError, match=msg("linear: ", "expected 12", "(4, 10)")):
        F.linear(cn.randn(4, 10), cn.randn(3, 12))
    # the failing layer of a Sequential is named, with the shape that reached it
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(10, 2))
    with pytest.raises(ValueError, match=msg("Linear(in_features=10, out_features=2, bias=True): linear: ", "input has 144 feature(s)",
                                             "(2, 144)")):
        model(cn.randn(2, 1, 8, 8))


def test_linear_weight_and_bias_shapes():
    with pytest.raises(ValueError, match=msg("linear", "weight must be 2-D (out_features, in_features)", "(10,)")):
        F.linear(cn.randn(4, 10), cn.randn(10))
    with pytest.raises(ValueError, match=msg("linear: ", "bias must have shape (3,), got (4,)")):
        F.linear(cn.randn(4, 10), cn.randn(3, 10), cn.randn(4))


@pytest.mark.parametrize("make_x, dtype_name", [
    (lambda: cn.randn(4, 10, dtype=cn.float64), "float64"),
    (lambda: cn.tensor(np.zeros((4, 10), np.int64)), "int64"),
])
def test_linear_wrong_dtype(make_x, dtype_name):
    with pytest.raises(ValueError, match=msg("Linear(in_features=10, out_features=3, bias=True): linear: ",
                                             f"input dtype {dtype_name} does not match weight dtype float32",
                                             "(4, 10)")):
        nn.Linear(10, 3)(make_x())


@pytest.mark.parametrize("args", [(0, 3), (10, -3), (-1, -1)])
def test_linear_constructor_rejects_zero_or_negative_sizes(args):
    with pytest.raises(ValueError, match=msg(f"Linear(in_features={args[0]}, out_features={args[1]})",
                                             "feature counts must be positive")):
        nn.Linear(*args)


# ---- losses -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss, nn.CrossEntropyLoss(), nn.NLLLoss()])
@pytest.mark.parametrize("labels, bad, pos", [([0, 1, 2, 3], 3, 3), ([0, -1, 2, 1], -1, 1), ([0, 1, 17, 1], 17, 2)])
def test_labels_out_of_range(loss, labels, bad, pos):
    op = "nll_loss" if loss in (F.nll_loss,) or isinstance(loss, nn.NLLLoss) else "cross_entropy"
    with pytest.raises(ValueError, match=msg(f"{op}: target {bad} at position {pos}", "out of range for 3 classes",
                                             "expected 0 <= target < 3", "(4, 3)")):
        loss(cn.randn(4, 3), cn.tensor(labels))


def test_labels_out_of_range_in_spatial_targets():
    target = cn.tensor(np.full((2, 4), 5, np.int64))
    with pytest.raises(ValueError, match=msg("cross_entropy: target 5", "out of range for 3 classes", "(2, 3, 4)")):
        F.cross_entropy(cn.randn(2, 3, 4), target)


def test_ignore_index_is_not_out_of_range():
    loss = F.cross_entropy(cn.randn(4, 3), cn.tensor([0, -100, 2, 1]))
    assert np.isfinite(loss.item())


@pytest.mark.parametrize("op", [F.cross_entropy, F.nll_loss])
def test_float_labels(op):
    with pytest.raises(ValueError, match=msg(f"{op.__name__}: target must hold int64 class indices",
                                             "got dtype float32", "(4,)", ".long()")):
        op(cn.randn(4, 3), cn.tensor([0.0, 1.0, 2.0, 1.0]))


@pytest.mark.parametrize("op", [F.cross_entropy, F.nll_loss])
def test_classification_target_and_input_shapes(op):
    name = op.__name__
    with pytest.raises(ValueError, match=msg(f"{name}: target shape (3,) does not match input shape (4, 3)",
                                             "expected target shape (4,)")):
        op(cn.randn(4, 3), cn.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=msg(f"{name}: target shape (4, 1)", "expected target shape (4,)")):
        op(cn.randn(4, 3), cn.tensor([[0], [1], [2], [1]]))
    with pytest.raises(ValueError, match=msg(f"{name}: input must have shape (N, C)", "got (3,)")):
        op(cn.randn(3), cn.tensor(1))
    with pytest.raises(ValueError, match=msg(f"{name}: input must be float32 or float64, got int64", "(4, 3)")):
        op(cn.tensor(np.zeros((4, 3), np.int64)), cn.tensor([0, 1, 2, 1]))
    with pytest.raises(ValueError, match=msg(name, "reduction must be", '"avg"')):
        op(cn.randn(4, 3), cn.tensor([0, 1, 2, 1]), reduction="avg")


def test_mse_loss_errors():
    with pytest.raises(ValueError, match=msg("mse_loss: input shape (4, 3) and target shape (4, 2) must be equal")):
        F.mse_loss(cn.randn(4, 3), cn.randn(4, 2))
    with pytest.raises(ValueError, match=msg("mse_loss", "both be float32 or both float64", "float32 and float64",
                                             "(4, 3)")):
        F.mse_loss(cn.randn(4, 3), cn.randn(4, 3, dtype=cn.float64))
    with pytest.raises(ValueError, match=msg("mse_loss", "both be float32 or both float64", "int64 and int64")):
        F.mse_loss(cn.tensor(np.zeros((4, 3), np.int64)), cn.tensor(np.zeros((4, 3), np.int64)))


# ---- softmax, matmul, elementwise, reshape --------------------------------------------------------


@pytest.mark.parametrize("op", [F.softmax, F.log_softmax])
@pytest.mark.parametrize("dim", [2, -3, 5])
def test_softmax_dim_out_of_range(op, dim):
    with pytest.raises(IndexError, match=msg(f"{op.__name__}: dimension {dim} out of range", "(2, 3)")):
        op(cn.randn(2, 3), dim=dim)
    with pytest.raises(IndexError, match=msg("softmax: dimension", "(2, 3)")):
        nn.Softmax(dim=dim)(cn.randn(2, 3))


def test_softmax_integer_input():
    with pytest.raises(ValueError, match=msg("softmax", "float32 or float64", "int64")):
        F.softmax(cn.tensor([1, 2, 3]), dim=0)


def test_matmul_shape_mismatch():
    with pytest.raises(ValueError, match=msg("matmul: shapes (2, 3) and (4, 5) cannot be multiplied", "3 vs 4")):
        cn.matmul(cn.randn(2, 3), cn.randn(4, 5))
    with pytest.raises(ValueError, match=msg("matmul: shapes (2, 3) and (4, 5) cannot be multiplied")):
        cn.randn(2, 3) @ cn.randn(4, 5)
    with pytest.raises(ValueError, match=msg("matmul: batch sizes differ", "(2, 3, 4)", "(3, 4, 5)")):
        cn.matmul(cn.randn(2, 3, 4), cn.randn(3, 4, 5))
    with pytest.raises(ValueError, match=msg("matmul: unsupported ranks", "(2, 3, 4, 5)", "(5, 2)", "expected")):
        cn.matmul(cn.randn(2, 3, 4, 5), cn.randn(5, 2))
    with pytest.raises(ValueError, match=msg("matmul: unsupported ranks", "()", "(5, 2)")):
        cn.matmul(cn.tensor(1.0), cn.randn(5, 2))
    with pytest.raises(ValueError, match=msg("matmul: expected two float32 or two float64", "float32 and float64",
                                             "(2, 3) and (3, 4)")):
        cn.matmul(cn.randn(2, 3), cn.randn(3, 4, dtype=cn.float64))


@pytest.mark.parametrize("name, fn", [
    ("add", lambda a, b: a + b), ("sub", lambda a, b: a - b), ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b), ("add", cn._core.add), ("mul", cn._core.mul),
])
def test_elementwise_broadcast_mismatch(name, fn):
    with pytest.raises(ValueError, match=msg(f"{name}: shapes (2, 3) and (4,) cannot be broadcast together",
                                             "dimension 1: 3 vs 4")):
        fn(cn.randn(2, 3), cn.randn(4))


def test_elementwise_mixed_float_dtypes_promote():
    # as PyTorch: arithmetic promotes float32 with float64 instead of failing
    assert (cn.randn(2, 3) + cn.randn(2, 3, dtype=cn.float64)).dtype == cn.float64


def test_reshape_size_mismatch():
    with pytest.raises(ValueError, match=msg("reshape: shape (4, 2) is invalid for input of shape (2, 3)",
                                             "6 elements")):
        cn.randn(2, 3).reshape(4, 2)
    with pytest.raises(ValueError, match=msg("reshape: shape (-1, 4) is invalid for input of shape (2, 3)")):
        cn.randn(2, 3).reshape(-1, 4)
    with pytest.raises(ValueError, match=msg("reshape: only one dimension can be -1", "(-1, -1)")):
        cn.randn(2, 3).reshape(-1, -1)
    with pytest.raises(ValueError, match=msg("reshape: invalid shape (-2, -3)")):
        cn.randn(2, 3).reshape(-2, -3)


@pytest.mark.parametrize("make", [
    lambda s: cn.zeros(s), lambda s: cn.ones(s), lambda s: cn.randn(*s), lambda s: cn.empty(*s),
    lambda s: cn.full(s, 1.0),
])
def test_factories_reject_negative_and_overflowing_sizes(make):
    with pytest.raises(ValueError, match=msg("tensor: negative dimension in shape (2, -3)")):
        make((2, -3))
    # (2**62 elements, whose byte count once wrapped around to 0, run in a child interpreter below)
    with pytest.raises(ValueError, match=msg("tensor: shape (1099511627776, 1099511627776) has too many elements")):
        make((2 ** 40, 2 ** 40))
    assert make((2 ** 40, 0)).shape == (2 ** 40, 0)  # empty, however long the other dimension


# ---- autograd ------------------------------------------------------------------------------------------


def test_backward_of_non_scalar_without_grad():
    x = cn.randn(3, requires_grad=True)
    with pytest.raises(ValueError, match=msg("backward: grad can be implicitly created only for scalar outputs",
                                             "(3,)", "pass grad= of the same shape")):
        (x * 2).backward()
    with pytest.raises(ValueError, match=msg("backward: grad has shape (4,)", "expected shape (3,)")):
        (x * 2).backward(cn.randn(4))
    with pytest.raises(ValueError, match=msg("backward: the tensor does not require grad", "shape ()")):
        cn.randn(3).sum().backward()


# ---- NumPy interop: non-contiguous, read-only, foreign byte order -----------------------------------------


NON_CONTIGUOUS = {
    "transposed": lambda: np.arange(12, dtype=np.float32).reshape(3, 4).T,
    "strided": lambda: np.arange(24, dtype=np.float32).reshape(4, 6)[:, ::2],
    "reversed": lambda: np.arange(12, dtype=np.float32)[::-1],
    "fortran": lambda: np.asfortranarray(np.arange(12, dtype=np.float64).reshape(3, 4)),
    "nchw_from_nhwc": lambda: np.random.default_rng(0).random((2, 5, 5, 3), np.float32).transpose(0, 3, 1, 2),
}


@pytest.mark.parametrize("kind", sorted(NON_CONTIGUOUS))
def test_tensor_copies_non_contiguous_arrays_correctly(kind):
    a = NON_CONTIGUOUS[kind]()
    assert not a.flags.c_contiguous
    t = cn.tensor(a)
    assert t.shape == a.shape
    np.testing.assert_array_equal(t.numpy(), a)
    a[...] = 0  # a copy: the tensor does not see later writes
    assert t.numpy().any()


def test_ops_on_a_tensor_from_a_non_contiguous_array():
    a = NON_CONTIGUOUS["nchw_from_nhwc"]()
    w = cn.randn(4, 3, 3, 3)
    got = F.conv2d(cn.tensor(a), w).numpy()
    want = F.conv2d(cn.tensor(np.ascontiguousarray(a)), w).numpy()
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kind", sorted(NON_CONTIGUOUS))
def test_from_numpy_rejects_non_contiguous_arrays_clearly(kind):
    with pytest.raises(ValueError, match=msg("from_numpy: the array is not C-contiguous",
                                             "numpy.ascontiguousarray(a)", "convnet.tensor(a)")):
        cn.from_numpy(NON_CONTIGUOUS[kind]())


def test_read_only_arrays():
    a = np.arange(6, dtype=np.float32)
    a.flags.writeable = False
    # from_numpy would share memory that the tensor may write: refused, with what to do instead
    with pytest.raises(ValueError, match=msg("from_numpy: the array is read-only", "a.copy()", "convnet.tensor(a)")):
        cn.from_numpy(a)
    # tensor copies, so read-only input is fine (also a buffer over immutable bytes)
    np.testing.assert_array_equal(cn.tensor(a).numpy(), a)
    b = np.frombuffer(bytes(range(8)), np.uint8)
    np.testing.assert_array_equal(cn.tensor(b).numpy(), b)


def test_foreign_byte_order():
    a = np.arange(4, dtype=">f4")
    with pytest.raises(ValueError, match=msg("from_numpy: the array is not in native byte order")):
        cn.from_numpy(a)
    t = cn.tensor(a)  # converted while copying
    assert t.dtype == cn.float32
    np.testing.assert_array_equal(t.numpy(), [0, 1, 2, 3])


def test_unsupported_data_for_tensor():
    with pytest.raises(TypeError, match=msg("tensor: unsupported data of dtype", "<U1")):
        cn.tensor(np.array(["a", "b"]))
    with pytest.raises(TypeError, match=msg("from_numpy: unsupported NumPy dtype int32",
                                             "supported: float32, float64, int64, uint8, bool")):
        cn.from_numpy(np.zeros(3, np.int32))


# ---- weights files ---------------------------------------------------------------------------------------


@pytest.fixture
def weights_file(tmp_path):
    path = tmp_path / "model.safetensors"
    cn.save(nn.Linear(30, 20).state_dict(), path)
    return path


def test_load_truncated_file(weights_file, tmp_path):
    raw = weights_file.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(raw[:-100])  # the data section ends early
    with pytest.raises(cn.SafetensorsError, match=msg(f"load: {cut} is not a valid safetensors file",
                                               "the file is truncated", 'entry "weight"', "ends at byte 2400",
                                               "which has 2380 bytes")):
        cn.load(cut)
    cut.write_bytes(raw[:40])  # cut inside the JSON header
    n = struct.unpack("<Q", raw[:8])[0]
    with pytest.raises(cn.SafetensorsError, match=msg(f"load: {cut} is not a valid safetensors file",
                                               f"the header claims {n} bytes but the file has 40 bytes")):
        cn.load(cut)
    for size in (0, 3):
        cut.write_bytes(raw[:size])
        with pytest.raises(cn.SafetensorsError, match=msg(f"load: {cut}", f"it has {size} bytes, fewer than the 8-byte "
                                                   "header length")):
            cn.load(cut)


@pytest.mark.parametrize("length", [2 ** 62, 2 ** 64 - 1, 1000])
def test_load_bogus_header_length(tmp_path, length):
    path = tmp_path / "bogus.safetensors"
    path.write_bytes(struct.pack("<Q", length) + b"{}")
    with pytest.raises(cn.SafetensorsError, match=msg(f"load: {path} is not a valid safetensors file",
                                               f"the header claims {length} bytes but the file has 10 bytes")):
        cn.load(path)


@pytest.mark.parametrize("header, text", [
    (b"", "the header is not a JSON object"),
    (b"[1, 2]", "the header is not a JSON object"),
    (b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]', "bad JSON header (unexpected end"),
    (b'{"\\uZZZZ": 1}', "bad JSON header (bad \\u escape"),
    (b'{"a": {"dtype": "F32", "shape": [-], "data_offsets": [0, 0]}}', "bad JSON header (expected digits"),
    (b'{"a": {"dtype": "I16", "shape": [2], "data_offsets": [0, 4]}}', 'entry "a" has unsupported dtype I16'),
    (b'{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}', 'entry "a" has 8 bytes of data but shape (3,)'),
    (b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}', "the file is truncated"),
    (b'{"a": {"dtype": "F32"}}', 'entry "a" lacks dtype, shape or data_offsets'),
    # 2**40 x 2**40 elements in 0 bytes: once wrapped around to 0 elements and crashed on use
    (b'{"a": {"dtype": "F32", "shape": [1099511627776, 1099511627776], "data_offsets": [0, 0]}}',
     'entry "a" is too large'),
])
def test_load_malformed_header(tmp_path, header, text):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(8))
    with pytest.raises(cn.SafetensorsError, match=msg(f"load: {path} is not a valid safetensors file", text)):
        cn.load(path)


@pytest.mark.parametrize("name, content", [
    ("image.png", b"\x89PNG\r\n\x1a\n" + bytes(13) + b"IHDR" + bytes(100)),
    ("random.bin", np.random.default_rng(0).bytes(4096)),
    ("notes.txt", b"these are not the weights you are looking for\n"),
    ("model.pt", b"PK\x03\x04" + bytes(60)),  # a PyTorch zip checkpoint
])
def test_load_foreign_file(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(cn.SafetensorsError, match=msg(f"load: {path} is not a valid safetensors file")):
        cn.load(path)


def test_load_missing_file_or_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match=msg("load: no such file", "nope.safetensors")):
        cn.load(tmp_path / "nope.safetensors")
    with pytest.raises(RuntimeError, match=msg(f"load: {tmp_path} is a directory, expected a safetensors file")):
        cn.load(tmp_path)


def test_load_state_dict_wrong_shape():
    model = nn.Linear(3, 2)
    state = model.state_dict()
    state["weight"] = cn.randn(2, 4)
    with pytest.raises(ValueError, match=msg("load_state_dict: size mismatch for weight",
                                             "copying a tensor of shape (2, 4)",
                                             "the shape in the current model is (2, 3)")):
        model.load_state_dict(state)


def test_load_state_dict_missing_and_unexpected_keys_strict():
    model = nn.Sequential(nn.Linear(3, 2))
    state = model.state_dict()
    del state["0.bias"]
    with pytest.raises(RuntimeError, match=msg("load_state_dict: error(s) in loading state_dict for Sequential",
                                               'missing key(s): "0.bias"')):
        model.load_state_dict(state)
    state = model.state_dict()
    state["0.extra"] = cn.randn(1)
    with pytest.raises(RuntimeError, match=msg("load_state_dict", 'unexpected key(s): "0.extra"')):
        model.load_state_dict(state)
    # not strict: reported, not raised
    result = model.load_state_dict({"0.weight": cn.randn(2, 3)}, strict=False)
    assert list(result.missing_keys) == ["0.bias"]


def test_load_state_dict_from_a_file_of_another_model(tmp_path):
    path = tmp_path / "other.safetensors"
    cn.save(nn.Linear(5, 2).state_dict(), path)
    with pytest.raises(ValueError, match=msg("load_state_dict: size mismatch for weight", "(2, 5)", "(2, 3)")):
        nn.Linear(3, 2).load_state_dict(cn.load(path))


# ---- data ------------------------------------------------------------------------------------------------


def test_dataloader_mismatched_lengths():
    with pytest.raises(ValueError, match=msg("TensorDataset: array 1 has 9 rows, expected 10", "(9,)")):
        DataLoader((np.zeros((10, 3), np.float32), np.zeros(9, np.int64)), batch_size=4)
    with pytest.raises(ValueError, match=msg("DataLoader: batch_size must be a positive int, got 0")):
        DataLoader((np.zeros((10, 3), np.float32), np.zeros(10, np.int64)), batch_size=0)


def test_mnist_missing_directory(tmp_path):
    missing = tmp_path / "no-such-folder"
    with pytest.raises(FileNotFoundError, match=msg("MNIST:", str(missing / "train-images-idx3-ubyte.gz"),
                                                    "not found", "download=True", "CONVNET_DATA")):
        MNIST(missing)
    with pytest.raises(FileNotFoundError, match=msg("MNIST:", "t10k-images-idx3-ubyte.gz", "not found")):
        MNIST(missing, train=False)


# ---- no input crashes the interpreter --------------------------------------------------------------------


WORST_INPUTS = r"""
import struct, sys, tempfile, os
import numpy as np
import convnet as cn
import convnet.functional as F
from convnet import nn

folder = tempfile.mkdtemp()

def craft(name, data):
    path = os.path.join(folder, name)
    with open(path, "wb") as f:
        f.write(data)
    return path

huge = b'{"a": {"dtype": "F32", "shape": [1099511627776, 1099511627776], "data_offsets": [0, 0]}}'
readonly = np.arange(4, dtype=np.float32)
readonly.flags.writeable = False
cases = [
    ("huge_shape_file", lambda: cn.load(craft("huge.st", struct.pack("<Q", len(huge)) + huge))["a"][3].sum()),
    ("png", lambda: cn.load(craft("x.png", b"\x89PNG\r\n\x1a\n" + bytes(64)))),
    ("random", lambda: cn.load(craft("r.bin", np.random.default_rng(1).bytes(1000)))),
    ("bogus_length", lambda: cn.load(craft("b.st", struct.pack("<Q", 2 ** 64 - 1) + b"{}"))),
    ("huge_randn", lambda: cn.randn(2 ** 62)),
    ("huge_zeros", lambda: cn.zeros(2 ** 62)),
    ("huge_empty", lambda: cn.empty(2 ** 40, 2 ** 40).numpy()),
    ("huge_padding", lambda: F.conv2d(cn.randn(1, 1, 4, 4), cn.randn(1, 1, 3, 3), padding=10 ** 9)),
    ("stride0", lambda: F.conv2d(cn.randn(1, 3, 8, 8), cn.randn(2, 3, 3, 3), stride=0)),
    ("pool_stride0", lambda: F.max_pool2d(cn.randn(1, 1, 8, 8), 2, stride=0)),
    ("labels", lambda: F.cross_entropy(cn.randn(4, 3), cn.tensor([0, 1, 2, 1000000]))),
    ("neg_labels", lambda: F.nll_loss(cn.randn(4, 3), cn.tensor([0, -7, 2, 1]))),
    ("readonly", lambda: cn.from_numpy(readonly)),
    ("matmul", lambda: cn.randn(2, 3) @ cn.randn(4, 5)),
]
for name, fn in cases:
    try:
        fn()
        print(name, "NO ERROR")
    except Exception as e:
        print(name, type(e).__name__, str(e).splitlines()[0][:200])
    sys.stdout.flush()
print("survived")
"""


def test_worst_inputs_do_not_crash_the_interpreter():
    env = dict(os.environ)
    package_parent = os.path.dirname(os.path.dirname(cn.__file__))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(WORST_INPUTS)], capture_output=True, text=True,
                          timeout=300, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"the interpreter died (return code {proc.returncode}):\n{out}"
    expected = {
        "huge_shape_file": "SafetensorsError load: ",
        "png": "SafetensorsError load: ",
        "random": "SafetensorsError load: ",
        "bogus_length": "SafetensorsError load: ",
        "huge_randn": "ValueError tensor: shape (4611686018427387904,) has too many elements",
        "huge_zeros": "ValueError tensor: shape (4611686018427387904,) has too many elements",
        "huge_empty": "ValueError tensor: shape (1099511627776, 1099511627776) has too many elements",
        "huge_padding": "ValueError tensor: shape (1, 1, 2000000002, 2000000002) has too many elements",
        "stride0": "ValueError conv2d: ",
        "pool_stride0": "ValueError max_pool2d: ",
        "labels": "ValueError cross_entropy: target 1000000 at position 3 is out of range for 3 classes",
        "neg_labels": "ValueError nll_loss: target -7 at position 1 is out of range for 3 classes",
        "readonly": "ValueError from_numpy: the array is read-only",
        "matmul": "ValueError matmul: shapes (2, 3) and (4, 5) cannot be multiplied",
    }
    lines = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
    for name, text in expected.items():
        assert name in lines, f"{name}: no result\n{out}"
        assert lines[name].startswith(text), f"{name}: {lines[name]!r}, expected {text!r}"
    assert "is not a valid safetensors file" in lines["png"] and "is too large" in lines["huge_shape_file"]
    assert proc.stdout.rstrip().endswith("survived")
