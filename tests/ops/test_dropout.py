"""The dropout op stem (cpp/src/ops/dropout.cpp): dropout. The cases run through tests/opcheck.py
(NumPy reference, float64 finite differences, PyTorch parity, the GPU against the CPU) and the
error cases check their messages."""

import numpy as np
import pytest

from convnet import nn
import convnet as cn
import convnet.functional as F
from reference import ops as R
from opcheck import check_double_backward, msg, randn, requires_cuda, torch


def test_dropout():
    cn.manual_seed(3)
    x = cn.ones(200, 100, requires_grad=True)
    y = F.dropout(x, 0.3)
    kept = y.detach().numpy() != 0
    assert abs(kept.mean() - 0.7) < 0.01
    assert np.allclose(y.detach().numpy()[kept], 1 / 0.7)
    y.sum().backward()
    mask = np.zeros((200, 100))
    mask[kept] = 1.0
    assert np.allclose(x.grad.numpy(), R.dropout_backward(np.ones((200, 100)), mask, 0.3))
    assert F.dropout(x, 0.3, training=False) is not None
    assert np.array_equal(F.dropout(x, 0.3, training=False).detach().numpy(), x.detach().numpy())


@pytest.mark.parametrize("p", [0.3, 0.6])
def test_dropout_double_backward(p):
    """dx = dy * mask: second derivatives through create_graph against PyTorch's of x * mask, with the
    mask that the same seed draws."""
    def fn(x):
        cn.manual_seed(5)
        return F.dropout(x, p)

    x = randn(4, 5)
    mask = fn(cn.ones(4, 5, dtype=cn.float64)).numpy()
    assert 0 < (mask == 0).sum() < mask.size
    check_double_backward(f"dropout(p={p})", fn, [x], torch_fn=lambda x: x * torch.from_numpy(mask))


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


# ---- dropout2d: whole channels ----------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(8, 50, 3, 4), (50, 6, 5)])  # batched, and unbatched (C, H, W)
def test_dropout2d_drops_whole_channels(shape):
    cn.manual_seed(5)
    x = cn.tensor(randn(*shape).astype(np.float32) + 3).requires_grad_(True)
    y = F.dropout2d(x, 0.4)
    planes = (y.detach().numpy() / x.detach().numpy()).reshape(*shape[:-2], -1)
    scale = planes[..., 0]
    assert np.allclose(planes, scale[..., None], atol=1e-6)  # one draw per channel
    assert np.all((scale == 0) | np.isclose(scale, 1 / 0.6, rtol=1e-5))
    assert abs((scale != 0).mean() - 0.6) < 0.1
    dy = randn(*shape).astype(np.float32)
    y.backward(cn.tensor(dy))
    np.testing.assert_allclose(x.grad.numpy(), dy * np.repeat(scale[..., None], planes.shape[-1], -1).reshape(shape),
                               rtol=1e-6)


def test_dropout2d_module():
    torch = pytest.importorskip("torch")
    m = nn.Dropout2d(0.3)
    assert repr(m) == repr(torch.nn.Dropout2d(0.3)) and repr(nn.Dropout2d()) == repr(torch.nn.Dropout2d())
    x = cn.randn(2, 3, 4, 4)
    m.eval()
    np.testing.assert_array_equal(m(x).numpy(), x.numpy())
    m.train()
    assert F.dropout2d(x, 0.0).numpy().tolist() == x.numpy().tolist()
    assert not F.dropout2d(x, 1.0).numpy().any()
    with pytest.raises(ValueError, match=msg("Dropout2d: probability has to be between 0 and 1", "1.5")):
        nn.Dropout2d(1.5)
    with pytest.raises(ValueError, match=msg("dropout2d: ", "2 or more dimensions", "(5,)")):
        F.dropout2d(cn.randn(5), 0.5)


@requires_cuda
def test_dropout2d_draws_the_same_channels_on_both_devices():
    x = randn(3, 4, 2, 5).astype(np.float32) + 2
    out = {}
    for dev in ("cpu", "cuda"):
        cn.manual_seed(11)
        out[dev] = nn.Dropout2d(0.5)(cn.tensor(x, device=dev)).cpu().numpy()
    np.testing.assert_array_equal(out["cuda"], out["cpu"])
