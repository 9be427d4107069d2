"""The pool3d op stem (cpp/src/ops/pool3d.cpp): max and average pooling over NCDHW volumes. The
cases run through tests/opcheck.py (float64 finite differences, PyTorch parity, the GPU against the
CPU) and the error cases check their messages."""

import numpy as np
import pytest

from convnet import nn
import convnet as cn
import convnet.functional as F
from opcheck import check_case, drawn_cases, module_matches_torch, msg, on_devices, randn, tF, torch


def _draw(r):
    k = tuple(int(v) for v in r.integers(1, 4, size=3))
    s = tuple(int(v) for v in r.integers(1, 3, size=3))
    p = tuple(int(r.integers(0, kk // 2 + 1)) for kk in k)
    d = tuple(int(v) for v in r.integers(1, 3, size=3))
    size = tuple(int(r.integers(d[i] * (k[i] - 1) + 1, 7)) for i in range(3))
    return (int(r.integers(1, 3)), int(r.integers(1, 3))) + size, k, s, p, d, bool(r.integers(0, 2))


# (input shape, kernel, stride, padding, dilation, ceil_mode): chosen, then drawn
POOL3D_CASES = on_devices([((2, 2, 4, 4, 4), 2, 2, 0, 1, False), ((1, 3, 5, 6, 5), 3, 2, 1, 1, True),
                           ((2, 4, 5, 5), (2, 3, 2), (1, 2, 1), (1, 1, 0), 1, False),  # unbatched (C,D,H,W)
                           ((1, 1, 7, 5, 6), 2, 1, 1, (2, 1, 2), False)], cpu=drawn_cases(8, 51, _draw))


@pytest.mark.parametrize("device,shape,k,s,p,d,ceil", POOL3D_CASES)
def test_max_pool3d(device, shape, k, s, p, d, ceil):
    x = randn(*shape)
    check_case(device, f"max_pool3d(kernel={k}, stride={s}, padding={p}, dilation={d}, ceil_mode={ceil})",
               lambda x: F.max_pool3d(x, k, s, p, d, ceil_mode=ceil), [x],
               torch_fn=lambda x: tF.max_pool3d(x, k, s, p, d, ceil_mode=ceil), double_backward=True)


@pytest.mark.parametrize("device,shape,k,s,p,d,ceil", POOL3D_CASES)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool3d(device, shape, k, s, p, d, ceil, count_include_pad):
    x = randn(*shape)
    cip = count_include_pad
    check_case(device, f"avg_pool3d(kernel={k}, stride={s}, padding={p}, ceil_mode={ceil}, count_include_pad={cip})",
               lambda x: F.avg_pool3d(x, k, s, p, ceil, cip), [x],
               torch_fn=lambda x: tF.avg_pool3d(x, k, s, p, ceil, cip), double_backward=True)


def test_max_pool3d_indices_and_ties_as_torch():
    pytest.importorskip("torch")
    x = np.round(randn(2, 3, 5, 6, 4) * 2) / 2  # many ties
    x[0, 0, 1, 2, 3] = np.nan
    for args in [(2, 2, 0, 1, False), (3, 2, 1, 1, True), ((2, 3, 2), 1, (1, 1, 0), (2, 1, 1), False)]:
        y, i = F.max_pool3d(cn.tensor(x), *args[:4], ceil_mode=args[4], return_indices=True)
        ty, ti = tF.max_pool3d(torch.from_numpy(x), *args[:4], ceil_mode=args[4], return_indices=True)
        np.testing.assert_array_equal(i.numpy(), ti.numpy())
        np.testing.assert_array_equal(y.numpy(), ty.numpy())


@pytest.mark.parametrize("spec,shape", [("MaxPool3d(2)", (2, 3, 4, 4, 4)),
                                        ("MaxPool3d((2, 3, 1), stride=1, padding=(1, 1, 0), dilation=2, "
                                         "ceil_mode=True)", (1, 2, 5, 6, 3)),
                                        ("AvgPool3d(3, 2)", (1, 2, 5, 5, 5)),
                                        ("AvgPool3d((2, 2, 3), padding=1, ceil_mode=True, count_include_pad=False)",
                                         (2, 5, 4, 6))])
def test_pool3d_modules(spec, shape):
    module_matches_torch(spec, shape)


def test_pool3d_errors():
    with pytest.raises(ValueError, match=msg("max_pool3d: ", "5-D input", "(2, 3, 4)")):
        F.max_pool3d(cn.randn(2, 3, 4), 2)
    with pytest.raises(ValueError, match=msg("avg_pool3d: ", "padding must be non-negative and at most half",
                                             "(2, 0, 0)")):
        F.avg_pool3d(cn.randn(1, 1, 4, 4, 4), 2, padding=(2, 0, 0))
    with pytest.raises(ValueError, match=msg("MaxPool3d(kernel_size=5, ", "output size is too small",
                                             "(1, 1, 3, 3, 3)")):
        nn.MaxPool3d(5)(cn.randn(1, 1, 3, 3, 3))
    with pytest.raises(ValueError, match=msg("max_pool3d: kernel_size, stride and dilation must be positive")):
        F.max_pool3d(cn.randn(1, 1, 4, 4, 4), 2, stride=0)
    with pytest.raises(TypeError, match=msg("max_pool3d: kernel_size must be an int or a triple", "(2, 2)")):
        F.max_pool3d(cn.randn(1, 1, 4, 4, 4), (2, 2))
    with pytest.raises(ValueError, match=msg("avg_pool3d", "float32 or float64", "int64")):
        F.avg_pool3d(cn.tensor(np.zeros((1, 1, 2, 2, 2), np.int64)), 2)

