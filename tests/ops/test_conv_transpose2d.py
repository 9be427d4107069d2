"""The conv_transpose2d op stem (cpp/src/ops/conv_transpose2d.cpp): conv_transpose2d and nn.ConvTranspose2d. The cases run through tests/opcheck.py
(NumPy reference, float64 finite differences, PyTorch parity, the GPU against the CPU) and the
error cases check their messages."""

import numpy as np
import pytest

from convnet import nn
import convnet as cn
import convnet.functional as F
from reference import norm_pool as NP
from opcheck import (assert_close, case_ids, check_case, conv_inputs, drawn_cases, module_matches_torch, msg,
                    on_devices, randn, tF, to_np, torch)


def _draw_transpose(r):
    """A transposed convolution with a non-empty output, or None."""
    groups = int(r.choice([1, 1, 2, 3]))
    C, K = groups * int(r.integers(1, 3)), groups * int(r.integers(1, 3))
    R_, S = int(r.integers(1, 4)), int(r.integers(1, 4))
    stride = (int(r.integers(1, 4)), int(r.integers(1, 3)))
    dil = (int(r.integers(1, 3)), int(r.integers(1, 3)))
    pad = (int(r.integers(0, 3)), int(r.integers(0, 2)))
    op = (int(r.integers(0, max(stride[0], dil[0]))), int(r.integers(0, max(stride[1], dil[1]))))
    H, W = int(r.integers(1, 6)), int(r.integers(1, 6))
    P = (H - 1) * stride[0] - 2 * pad[0] + dil[0] * (R_ - 1) + op[0] + 1
    Q = (W - 1) * stride[1] - 2 * pad[1] + dil[1] * (S - 1) + op[1] + 1
    if P < 1 or Q < 1:
        return None
    N, bias = int(r.integers(1, 3)), bool(r.integers(0, 2))
    return (N, C, H, W), (C, K // groups, R_, S), stride, pad, op, groups, dil, bias, False


# (x shape, w shape, stride, padding, output_padding, groups, dilation, bias, in chunks: the GPU's column
# buffers at 4 KiB); drawn cases and chosen paths on both devices, then the GPU's own
TRANSPOSE_CASES = on_devices([(c,) for c in drawn_cases(20, 11, _draw_transpose) + [
    ((2, 4, 4, 4), (4, 1, 3, 3), (2, 2), (1, 1), (1, 1), 4, (1, 1), True, False),  # depthwise
    ((2, 3, 4, 5), (3, 2, 1, 1), (1, 1), (0, 0), (0, 0), 1, (1, 1), True, False),  # 1x1
    ((1, 2, 3, 3), (2, 3, 1, 1), (1, 1), (0, 0), (1, 1), 1, (2, 2), False, False),  # 1x1 with output_padding
    ((1, 2, 3, 4), (2, 3, 4, 4), (2, 2), (1, 1), (0, 0), 1, (1, 1), True, False),  # DCGAN-style upsampling
]], cuda=[(c,) for c in [
    ((2, 3, 4, 5), (3, 4, 3, 3), 1, 0, 0, 1, 1, True, False),
    ((2, 3, 4, 4), (3, 2, 3, 3), 2, 1, 1, 1, 1, True, False),  # output_padding
    ((1, 4, 3, 5), (4, 3, 2, 3), (2, 3), (0, 1), (1, 2), 2, 1, True, False),  # groups, one image
    ((2, 2, 4, 4), (2, 3, 3, 3), 2, 1, 0, 1, 2, True, False),  # dilation
    ((3, 4, 3, 3), (4, 2, 1, 1), 1, 0, 0, 2, 1, True, False),
    ((4, 3, 4, 4), (3, 2, 3, 3), 2, 1, 1, 1, 1, False, True),
]])


@pytest.mark.parametrize("device,case", TRANSPOSE_CASES,
                         ids=case_ids("x{}-w{}-s{}-p{}-op{}-g{}-d{}-bias{}-chunked{}"))
def test_conv_transpose2d(device, case, request):
    xs, ws, stride, pad, op, groups, dil, bias, chunked = case
    inputs, diff = conv_inputs(xs, ws, ws[1] * groups if bias else None, request, chunked)
    kw = dict(stride=stride, padding=pad, output_padding=op, groups=groups, dilation=dil)

    def ref_grad(x, w, *rest):
        dx, dw, db = NP.conv_transpose2d_backward(x, w, rest[-1], **kw)
        return (dx, dw, db) if bias else (dx, dw)

    check_case(device, f"conv_transpose2d({kw})", lambda x, w, b=None: F.conv_transpose2d(x, w, b, **kw), inputs,
               diff, ref=lambda x, w, b=None: NP.conv_transpose2d(x, w, b, **kw), ref_grad=ref_grad,
               torch_fn=lambda x, w, b=None: tF.conv_transpose2d(x, w, b, **kw), double_backward=True)


def test_conv_transpose2d_unbatched_and_threads():
    x, w, b = randn(3, 4, 5).astype(np.float32), randn(3, 2, 3, 3).astype(np.float32), randn(2).astype(np.float32)
    y = F.conv_transpose2d(cn.tensor(x), cn.tensor(w), cn.tensor(b), stride=2)
    assert_close(to_np(y), NP.conv_transpose2d(x[None], w, b, stride=2)[0], 1e-5, "unbatched conv_transpose2d")
    # one result for any thread count split: compare a big batch at 1 and several threads
    xb = cn.tensor(randn(8, 3, 6, 6).astype(np.float32)).requires_grad_(True)
    wt = cn.tensor(w).requires_grad_(True)
    outs = []
    before = cn.get_num_threads()
    try:
        for t in (1, 3):
            cn.set_num_threads(t)
            xb.grad = None
            wt.grad = None
            y = F.conv_transpose2d(xb, wt, stride=2, padding=1, output_padding=1)
            y.sum().backward()
            outs.append((to_np(y), xb.grad.numpy(), wt.grad.numpy()))
    finally:
        cn.set_num_threads(before)
    for a, b_ in zip(outs[0], outs[1]):
        assert_close(a, b_, 1e-5, "conv_transpose2d at 1 and 3 threads")


CONV_T_MODULES = [
    ("ConvTranspose2d(3, 4, 3)", (2, 3, 5, 5)),
    ("ConvTranspose2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), output_padding=(1, 0), groups=2, bias=False)",
     (2, 4, 4, 5)),
    ("ConvTranspose2d(2, 2, 4, stride=2, padding=1, dilation=2)", (1, 2, 3, 3)),
]


@pytest.mark.parametrize("spec,shape", CONV_T_MODULES, ids=[s for s, _ in CONV_T_MODULES])
def test_conv_transpose2d_module(spec, shape):
    m, t = module_matches_torch(spec, shape)
    assert tuple(m.weight.shape) == tuple(t.weight.shape)
    assert (m.stride, m.padding, m.output_padding, m.dilation, m.groups) == (
        t.stride, t.padding, t.output_padding, t.dilation, t.groups)


def test_conv_transpose2d_default_init_matches_torch_bounds():
    """Kaiming-uniform(a=sqrt(5)) over fan_in = out/groups * kh * kw and a bias in +-1/sqrt(fan_in)."""
    cn.manual_seed(0)
    m = nn.ConvTranspose2d(16, 8, 3, groups=2)
    fan_in = 8 // 2 * 9
    w, b = to_np(m.weight), to_np(m.bias)
    bound = 1 / np.sqrt(fan_in)  # kaiming_uniform with a=sqrt(5): gain sqrt(1/3), bound gain*sqrt(3/fan_in)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert np.abs(b).max() <= bound and np.abs(b).max() > 0.5 * bound
    if torch is not None:
        t = torch.nn.ConvTranspose2d(16, 8, 3, groups=2)
        tb = float(t.weight.detach().abs().max())
        assert tb <= bound and abs(tb - np.abs(w).max()) < 0.2 * bound


def test_conv_transpose2d_without_bias_reads_none():
    assert nn.ConvTranspose2d(2, 3, 3, bias=False).bias is None
    assert nn.Conv2d(2, 3, 3, bias=False).bias is None and nn.Linear(2, 3, bias=False).bias is None
    assert tuple(nn.ConvTranspose2d(2, 3, 3).bias.shape) == (3,)


def test_conv_transpose2d_summary_counts_macs():
    from convnet.summary import summary
    model = nn.Sequential(nn.ConvTranspose2d(3, 4, 3, stride=2), nn.ReLU())
    s = summary(model, (3, 5, 5), print_fn=None)
    assert s.rows[0][4] == 3 * 5 * 5 * 4 * 3 * 3
    assert s.total_macs == 3 * 5 * 5 * 4 * 3 * 3


def test_conv_transpose2d_errors():
    w = cn.randn(3, 2, 3, 3)
    with pytest.raises(ValueError, match=msg("conv_transpose2d: ", "input has 4 channel(s), expected 3",
                                             "(1, 4, 5, 5)")):
        F.conv_transpose2d(cn.randn(1, 4, 5, 5), w)
    with pytest.raises(ValueError, match=msg("conv_transpose2d: ", "4-D", "(5, 5)")):
        F.conv_transpose2d(cn.randn(5, 5), w)
    with pytest.raises(ValueError, match=msg("conv_transpose2d: ", "output_padding must be smaller than either stride or "
                                             "dilation")):
        F.conv_transpose2d(cn.randn(1, 3, 5, 5), w, stride=2, output_padding=2)
    with pytest.raises(ValueError, match=msg("conv_transpose2d: ", "bias must have shape (2,)", "(3,)")):
        F.conv_transpose2d(cn.randn(1, 3, 5, 5), w, cn.randn(3))
    with pytest.raises(ValueError, match=msg("conv_transpose2d: ", "output size", "must be positive", "(1, 3, 1, 1)")):
        F.conv_transpose2d(cn.randn(1, 3, 1, 1), w, padding=2)
    with pytest.raises(ValueError, match=msg("conv_transpose2d: ", "divisible by groups")):
        F.conv_transpose2d(cn.randn(1, 3, 5, 5), w, groups=2)
    with pytest.raises(ValueError, match=msg("conv_transpose2d", "weight must be 4-D", "(3, 2)")):
        F.conv_transpose2d(cn.randn(1, 3, 5, 5), cn.randn(3, 2))
    with pytest.raises(ValueError, match=msg("ConvTranspose2d(in_channels=3, out_channels=4", "groups=2")):
        nn.ConvTranspose2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match=msg("ConvTranspose2d", "output_padding (2, 2)")):
        nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=2)

