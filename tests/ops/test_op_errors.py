"""Error messages of the ops and modules: a functional op names itself ("linear: ..."), a module
puts its repr once in front of the error of the op it runs, and the pooling argument rules are
PyTorch's (checked case by case against torch where it is installed)."""

import itertools

import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from convnet import nn


def error_of(fn):
    """The (type, message) of the exception fn raises."""
    with pytest.raises((ValueError, IndexError)) as info:
        fn()
    return type(info.value), str(info.value)


# ---- functional ops name themselves -------------------------------------------------------------

# (op name, a call with bad input, a fragment of the message after the name)
FUNCTIONAL_CASES = [
    ("linear", lambda: F.linear(cn.randn(2, 3), cn.randn(2, 4)), "input has 3 feature(s), expected 4"),
    ("linear", lambda: F.linear(cn.randn(2, 4), cn.randn(2, 4), cn.randn(3)), "bias must have shape (2,)"),
    ("conv2d", lambda: F.conv2d(cn.randn(2, 1, 8, 8), cn.randn(8, 3, 3, 3)), "input has 1 channel(s), expected 3"),
    ("conv2d", lambda: F.conv2d(cn.randn(8, 8), cn.randn(8, 3, 3, 3)), "expected a 4-D input"),
    ("conv_transpose2d", lambda: F.conv_transpose2d(cn.randn(1, 2, 5, 5), cn.randn(3, 4, 3, 3)),
     "input has 2 channel(s), expected 3"),
    ("max_pool2d", lambda: F.max_pool2d(cn.randn(1, 1, 3, 3), 5), "larger than the padded input"),
    ("avg_pool2d", lambda: F.avg_pool2d(cn.randn(8), 2), "expected a 4-D input"),
    ("adaptive_avg_pool2d", lambda: F.adaptive_avg_pool2d(cn.randn(8, 8), 2), "expected a 4-D input"),
    ("adaptive_max_pool2d", lambda: F.adaptive_max_pool2d(cn.randn(1, 1, 4, 4), (0, 2)),
     "output_size must be positive"),
    ("lp_pool2d", lambda: F.lp_pool2d(cn.randn(1, 1, 2, 2), 2, 3), "window (3, 3) is larger than the input"),
    ("batch_norm", lambda: F.batch_norm(cn.randn(2, 3, 4), cn.zeros(4), cn.ones(4)),
     "running_mean must have shape (3,)"),
    ("local_response_norm", lambda: F.local_response_norm(cn.randn(4, 5), 2), "3 or more dimensions"),
    ("pad", lambda: F.pad(cn.randn(1, 1, 4, 4), (1, 1, 1)), "expected 2 pads"),
    ("interpolate", lambda: F.interpolate(cn.randn(2, 4, 4), scale_factor=2), "expected a 4-D input"),
]


@pytest.mark.parametrize("name, call, fragment", FUNCTIONAL_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(FUNCTIONAL_CASES)])
def test_functional_op_names_itself(name, call, fragment):
    _, text = error_of(call)
    assert text.startswith(f"{name}: "), text
    assert fragment in text, text
    assert "(" + name not in text.split(": ", 1)[1], f"the op's name appears twice: {text}"


def test_linear_message_in_full():
    _, text = error_of(lambda: F.linear(cn.randn(2, 3), cn.randn(2, 4)))
    assert text == "linear: input has 3 feature(s), expected 4; input shape (2, 3)"


# ---- a module adds its repr once ----------------------------------------------------------------

# (module, bad input, the same op called functionally on the module's tensors)
MODULE_CASES = [
    (lambda: nn.Linear(4, 2), (2, 3), lambda m, x: F.linear(x, m.weight, m.bias)),
    (lambda: nn.Linear(4, 2, bias=False), (2, 3), lambda m, x: F.linear(x, m.weight)),
    (lambda: nn.Conv2d(3, 8, 3), (2, 1, 8, 8), lambda m, x: F.conv2d(x, m.weight, m.bias)),
    (lambda: nn.Conv2d(4, 6, 3, groups=2, padding=1), (1, 3, 5, 5),
     lambda m, x: F.conv2d(x, m.weight, m.bias, padding=1, groups=2)),
    (lambda: nn.ConvTranspose2d(3, 4, 3), (1, 2, 5, 5), lambda m, x: F.conv_transpose2d(x, m.weight, m.bias)),
    (lambda: nn.MaxPool2d(5), (1, 1, 3, 3), lambda m, x: F.max_pool2d(x, 5)),
    (lambda: nn.AvgPool2d(2), (8,), lambda m, x: F.avg_pool2d(x, 2)),
    (lambda: nn.AdaptiveAvgPool2d(2), (8, 8), lambda m, x: F.adaptive_avg_pool2d(x, 2)),
    (lambda: nn.LPPool2d(2, 3), (1, 1, 2, 2), lambda m, x: F.lp_pool2d(x, 2, 3)),
    (lambda: nn.LocalResponseNorm(2), (4, 5), lambda m, x: F.local_response_norm(x, 2)),
    (lambda: nn.ZeroPad2d((-3, 0, 0, 0)), (1, 1, 4, 3), lambda m, x: F.pad(x, (-3, 0, 0, 0))),
    (lambda: nn.Upsample(scale_factor=2), (2, 4, 4), lambda m, x: F.interpolate(x, scale_factor=2)),
    (lambda: nn.PReLU(3), (2, 4, 5), lambda m, x: F.prelu(x, m.weight)),
    (lambda: nn.Flatten(5), (2, 3), lambda m, x: F.flatten(x, 5)),
]


@pytest.mark.parametrize("make, shape, functional", MODULE_CASES,
                         ids=[f"{i}" for i in range(len(MODULE_CASES))])
def test_module_puts_its_repr_once_around_the_ops_error(make, shape, functional):
    m = make()
    x = cn.randn(*shape)
    op_type, op_text = error_of(lambda: functional(m, x))
    for call in (lambda: m(x), lambda: m.forward(x)):
        kind, text = error_of(call)
        assert kind is op_type
        assert text == f"{m!r}: {op_text}"
        assert text.count(repr(m)) == 1


def test_the_failing_layer_of_a_container_is_named_once():
    lin = nn.Linear(10, 2)
    model = nn.Sequential(nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten()), lin)
    _, text = error_of(lambda: model(cn.randn(2, 1, 8, 8)))
    assert text == f"{lin!r}: linear: input has 144 feature(s), expected 10; input shape (2, 144)"
    assert "Sequential" not in text and "Conv2d" not in text


def test_batch_norm_module_names_itself_once():
    m = nn.BatchNorm2d(3)
    for shape, fragment in [((2, 4, 5, 5), "input has 4 channel(s), expected 3; input shape (2, 4, 5, 5)"),
                            ((2, 3, 5), "expected a 4-D input (N, C, H, W), got shape (2, 3, 5)")]:
        _, text = error_of(lambda: m(cn.randn(*shape)))
        assert text == f"{m!r}: {fragment}"


# ---- pooling argument rules against PyTorch -----------------------------------------------------

# (op, input (H, W), kernel_size, stride, padding, dilation, ceil_mode); dilation is max pooling's only.
POOL_CASES = [
    ("max_pool2d", (8, 8), 3, 1, 2, 2, False),   # pad 2 > kernel 3 // 2: rejected by PyTorch despite dilation
    ("max_pool2d", (8, 8), 3, 1, 1, 2, False),
    ("max_pool2d", (8, 8), 3, 2, 1, 3, True),
    ("max_pool2d", (8, 8), 2, 2, 1, 1, False),
    ("max_pool2d", (8, 8), 2, 2, 2, 2, False),   # pad 2 > effective kernel 3 // 2
    ("max_pool2d", (8, 8), 1, 1, 1, 3, False),   # a 1-wide window takes no padding, dilated or not
    ("max_pool2d", (8, 8), 4, 3, 2, 2, True),
    ("max_pool2d", (7, 5), (3, 2), (2, 1), (1, 1), (1, 2), True),
    ("max_pool2d", (1, 2), 2, 2, 0, 1, True),    # ceil_mode: a window overhanging the input counts
    ("max_pool2d", (2, 3), 3, 3, 1, 2, True),
    ("max_pool2d", (1, 2), 2, 2, 0, 1, False),   # too small without ceil_mode
    ("max_pool2d", (3, 3), 5, 1, 0, 1, False),
    ("max_pool2d", (8, 8), 3, 1, -1, 1, False),
    ("max_pool2d", (8, 8), 3, 1, 1, 0, False),
    ("avg_pool2d", (8, 8), 3, 1, 1, 1, False),
    ("avg_pool2d", (8, 8), 3, 1, 2, 1, False),
    ("avg_pool2d", (8, 8), 4, 3, 2, 1, True),
    ("avg_pool2d", (1, 2), 2, 2, 0, 1, True),
    ("avg_pool2d", (2, 3), 4, 3, 1, 1, True),
    ("avg_pool2d", (5, 6), (3, 2), (2, 3), (1, 0), 1, True),
    ("avg_pool2d", (3, 3), 5, 1, 0, 1, False),
]


@pytest.mark.parametrize("op, hw, k, s, p, d, ceil", POOL_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(POOL_CASES)])
def test_pooling_accepts_what_pytorch_accepts(op, hw, k, s, p, d, ceil):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((2, 3) + hw)
    kw = dict(kernel_size=k, stride=s, padding=p, ceil_mode=ceil)
    if op == "max_pool2d":
        kw["dilation"] = d
    xt = torch.tensor(x, requires_grad=True)
    try:
        want = getattr(torch.nn.functional, op)(xt, **kw)
    except RuntimeError:
        want = None
    xc = cn.tensor(x).requires_grad_()
    if want is None:
        _, text = error_of(lambda: getattr(F, op)(xc, **kw))
        assert text.startswith(f"{op}: "), text
        return
    got = getattr(F, op)(xc, **kw)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-12)
    dy = np.random.default_rng(1).standard_normal(tuple(want.shape))
    (want * torch.tensor(dy)).sum().backward()
    (got * cn.tensor(dy)).sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_pooling_rules_over_a_grid_match_pytorch():
    """Accept/reject and output shape over every small combination of the arguments."""
    torch = pytest.importorskip("torch")
    mismatches = []
    for op in ("max_pool2d", "avg_pool2d"):
        dilations = (1, 2, 3) if op == "max_pool2d" else (1,)
        for h, k, s, p, d, ceil in itertools.product((1, 2, 3, 5, 8), (1, 2, 3, 4), (1, 2, 3), (0, 1, 2, 3),
                                                     dilations, (False, True)):
            kw = dict(kernel_size=k, stride=s, padding=p, ceil_mode=ceil)
            if op == "max_pool2d":
                kw["dilation"] = d
            try:
                want = tuple(getattr(torch.nn.functional, op)(torch.zeros(1, 1, h, h + 1), **kw).shape)
            except RuntimeError:
                want = None
            try:
                got = tuple(getattr(F, op)(cn.zeros(1, 1, h, h + 1), **kw).shape)
            except ValueError:
                got = None
            if got != want:
                mismatches.append((op, h, kw, want, got))
    assert not mismatches, mismatches[:10]
