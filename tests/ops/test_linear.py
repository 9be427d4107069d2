"""The linear op stem (cpp/src/ops/linear.cpp): linear and matmul, and the TF32 switches of the products. The cases run through tests/opcheck.py
(NumPy reference, float64 finite differences, PyTorch parity, the GPU against the CPU) and the
error cases check their messages."""

import numpy as np
import pytest

from convnet import nn
import convnet as cn
import convnet.functional as F
from reference import ops as R
from opcheck import (check_case, check_devices, check_double_backward, msg, on_devices, randn, requires_cuda, tF, torch,
                    without_gpu)


# (x shape, w shape, bias); the second list on the GPU only
LINEAR_CASES = on_devices([((5, 7), (3, 7), True), ((1, 4), (4, 4), True), ((3, 2, 6), (5, 6), True)],
                          cuda=[((5, 7), (4, 7), True), ((2, 3, 7), (4, 7), True), ((1, 7), (4, 7), True),
                                ((7,), (4, 7), True), ((0, 7), (4, 7), True),  # no rows
                                ((6, 3, 5), (2, 5), False)])


@pytest.mark.parametrize("device,xs,ws,bias", LINEAR_CASES, ids=str)
def test_linear(device, xs, ws, bias):
    inputs = [randn(*xs), randn(*ws)] + ([randn(ws[0])] if bias else [])
    check_case(device, f"linear(x {xs}, w {ws}, bias={bias})", lambda x, w, b=None: F.linear(x, w, b), inputs,
               range(len(inputs)), ref=R.linear,
               ref_grad=lambda x, w, *rest: R.linear_backward(x, w, rest[-1])[:len(inputs)],
               torch_fn=lambda x, w, b=None: tF.linear(x, w, b))


MATMUL_FORMS = {"@": lambda a, b: a @ b, "matmul": lambda a, b: cn.matmul(a, b)}

# (a shape, b shape, form: the operator or the function); the second list on the GPU only
MATMUL_CASES = on_devices([((3, 4), (4, 5), "@"), ((2, 3, 4), (2, 4, 5), "@"), ((2, 3, 4), (4, 2), "@"),
                           ((4,), (4, 3), "@"), ((3, 4), (4,), "@")],
                          cuda=[((4, 3), (3, 5), "matmul"), ((3,), (3, 5), "matmul"), ((4, 3), (3,), "matmul"),
                                ((2, 4, 3), (2, 3, 5), "matmul"), ((3, 4, 2), (2, 6), "matmul"),
                                ((3,), (3,), "matmul"), ((2, 0), (0, 3), "matmul")])  # an empty inner dimension


@pytest.mark.parametrize("device,sa,sb,form", MATMUL_CASES, ids=str)
def test_matmul(device, sa, sb, form):
    a, b = randn(*sa), randn(*sb)
    check_case(device, f"matmul {sa} {form} {sb}", MATMUL_FORMS[form], [a, b], (0, 1), ref=np.matmul,
               torch_fn=lambda x, y: x @ y)


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


@pytest.mark.cuda
def test_tf32_switches_default_off_and_round_trip_on_the_gpu():
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
def test_tf32_results_stay_close_on_the_gpu():
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


@without_gpu
def test_without_a_gpu_the_products_stay_on_the_cpu():
    y = F.conv2d(cn.ones(1, 2, 4, 4), cn.ones(3, 2, 3, 3))
    assert y.device == cn.device("cpu")


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


# (a shape, b shape) of matmul: matrix, batched, shared right operand, vectors
MATMUL_DOUBLE_CASES = [((3, 4), (4, 2)), ((2, 3, 4), (2, 4, 5)), ((2, 3, 4), (4, 2)), ((4,), (4, 3)), ((3, 4), (4,)),
                       ((1, 5), (5, 1))]


@pytest.mark.parametrize("sa,sb", MATMUL_DOUBLE_CASES, ids=str)
def test_matmul_double_backward(sa, sb):
    check_double_backward("matmul", lambda a, b: a @ b, [randn(*sa), randn(*sb)], diff=(0, 1),
                          torch_fn=lambda a, b: a @ b)


def test_bmm_and_linear_double_backward():
    check_double_backward("bmm", cn.bmm, [randn(2, 3, 2), randn(2, 2, 4)], diff=(0, 1),
                          torch_fn=lambda a, b: torch.bmm(a, b))
    check_double_backward("linear", F.linear, [randn(2, 3, 4), randn(5, 4), randn(5)], diff=(0, 1, 2),
                          torch_fn=tF.linear)
