"""The embedding op stem (cpp/src/ops/embedding.cpp): table lookup, the gradient summed per row.
The cases run through tests/opcheck.py (NumPy reference, float64 finite differences, PyTorch
parity) and the error cases check their messages."""

import numpy as np
import pytest

from convnet import nn
import convnet as cn
import convnet.functional as F
from reference import layers as L
from opcheck import assert_close, check_case, check_double_backward, msg, on_devices, randn, rng, tF, torch


# (index shape, num_embeddings, embedding_dim): repeated indices in every case
EMBEDDING_CASES = on_devices([((5,), 4, 3), ((2, 3, 4), 3, 70)],  # wider than one column block of the backward
                             cpu=[((2, 7), 5, 6), ((3, 4), 6, 1), ((0,), 3, 2)])  # no lookups: zero gradient


@pytest.mark.parametrize("device,shape,num,dim", EMBEDDING_CASES)
def test_embedding(device, shape, num, dim):
    idx = rng().integers(0, num, size=shape).astype(np.int64)
    w = randn(num, dim)
    # double backward where there are lookups (PyTorch's own fails without)
    check_case(device, "embedding", lambda i, w: F.embedding(i, w), [idx, w], diff=(1,),
               ref=lambda i, w: L.embedding(i, w), ref_grad=lambda i, w, dy: L.embedding_backward(i, dy, num),
               torch_fn=lambda i, w: tF.embedding(i, w), double_backward=idx.size > 0)


# padding_idx: the row's gradient is 0 by definition (not the derivative: no finite differences)
@pytest.mark.parametrize("shape,num,dim,pad", [((3, 4), 6, 1, 0), ((2, 3, 4), 3, 70, 2), ((4, 6), 10, 5, -1)])
def test_embedding_padding_idx(shape, num, dim, pad):
    idx = rng().integers(0, num, size=shape).astype(np.int64)
    idx.reshape(-1)[0] = pad % num  # the padding row is looked up
    w = randn(num, dim)
    dy = randn(*shape, dim)
    for dtype in (np.float64, np.float32):
        wt = cn.tensor(w.astype(dtype)).requires_grad_(True)
        y = F.embedding(cn.tensor(idx), wt, pad)
        y.backward(cn.tensor(dy.astype(dtype)))
        assert_close(y.detach().numpy(), L.embedding(idx, w), 1e-6, f"embedding(padding_idx={pad}) forward")
        assert_close(wt.grad.numpy(), L.embedding_backward(idx, dy, num, pad % num), 1e-5,
                     f"embedding(padding_idx={pad}) weight grad vs NumPy")
        if torch is not None:
            tw = torch.from_numpy(w.astype(dtype)).requires_grad_(True)
            tF.embedding(torch.from_numpy(idx), tw, pad).backward(torch.from_numpy(dy.astype(dtype)))
            assert_close(wt.grad.numpy(), tw.grad.numpy(), 1e-5, f"embedding(padding_idx={pad}) weight grad vs torch")
    # the second derivative with respect to dy skips the padding row too (no finite differences)
    check_double_backward(f"embedding(padding_idx={pad})", lambda i, w: F.embedding(i, w, pad), [idx, w], diff=(1,),
                          torch_fn=lambda i, w: tF.embedding(i, w, pad), gradgrad=False)


def test_embedding_module():
    pytest.importorskip("torch")
    for args in [(10, 3), (7, 4, 2), (5, 2, -1)]:
        t, m = torch.nn.Embedding(*args), nn.Embedding(*args)
        assert repr(m) == repr(t)
        assert [n for n, _ in m.named_parameters()] == ["weight"]
        if len(args) == 3:  # the padding row starts at zero
            assert not m.weight.detach().numpy()[args[2]].any()
        m.load_state_dict({"weight": t.weight.detach().numpy()})
        idx = rng().integers(0, args[0], size=(3, 5))
        y, yt = m(cn.tensor(idx)), t(torch.from_numpy(idx))
        assert_close(y.detach().numpy(), yt.detach().numpy(), 1e-6, f"Embedding{args} forward")
        dy = randn(3, 5, args[1]).astype(np.float32)
        y.backward(cn.tensor(dy))
        yt.backward(torch.from_numpy(dy))
        assert_close(m.weight.grad.numpy(), t.weight.grad.numpy(), 1e-6, f"Embedding{args} weight grad")
    w = nn.Embedding(1000, 8).weight.detach().numpy()
    assert abs(w.mean()) < 0.05 and abs(w.std() - 1) < 0.05  # N(0, 1) as PyTorch


def test_embedding_errors():
    w = cn.randn(4, 3)
    with pytest.raises(IndexError, match=msg("embedding: index 4 is out of range", "4 rows", "(2,)")):
        F.embedding(cn.tensor(np.array([1, 4])), w)
    with pytest.raises(IndexError, match=msg("embedding: index -1 is out of range")):
        F.embedding(cn.tensor(np.array([-1])), w)
    with pytest.raises(ValueError, match=msg("embedding: expected int64 indices, got float32")):
        F.embedding(cn.randn(3), w)
    with pytest.raises(ValueError, match=msg("embedding: expected a 2-D weight", "(4,)")):
        F.embedding(cn.tensor(np.array([0])), cn.randn(4))
    with pytest.raises(ValueError, match=msg("embedding: padding_idx must be within num_embeddings (4)", "5")):
        F.embedding(cn.tensor(np.array([0])), w, padding_idx=5)
    with pytest.raises(ValueError, match=msg("Embedding(3, 2)", "padding_idx must be within num_embeddings", "3")):
        nn.Embedding(3, 2, padding_idx=3)
    with pytest.raises(IndexError, match=msg("Embedding(3, 2)", "index 3 is out of range")):
        nn.Embedding(3, 2)(cn.tensor(np.array([3])))
    with pytest.raises(ValueError, match=msg("max_norm", "not supported")):
        nn.Embedding(3, 2, max_norm=1.0)
