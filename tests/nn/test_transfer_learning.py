"""Transfer-learning plumbing against PyTorch: freezing with requires_grad_(False) (no weight
gradients, no updates, gradients still flowing through a frozen layer), replacing the head by
attribute assignment, load_state_dict(strict=False) and fine-tuning with per-group rates."""

import sys

import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from convnet import nn

torch = pytest.importorskip("torch")
from opcheck import to_np  # noqa: E402
import torch_twins  # noqa: E402
from torch_twins import RTOL, _assert_same_params, _cross_entropy_steps, _image_batch  # noqa: E402
tnn = torch.nn


def _net(lib, classes=10):
    """A small convolutional backbone (`features`) and a linear head (`fc`), in convnet or in torch (lib)."""
    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.features = lib.nn.Sequential(lib.nn.Conv2d(1, 4, 3), lib.nn.ReLU(), lib.nn.Conv2d(4, 6, 3),
                                              lib.nn.ReLU(), lib.nn.MaxPool2d(2), lib.nn.Flatten())
            self.fc = lib.nn.Linear(54, classes)

        def forward(self, x):
            return self.fc(self.features(x))

    return Net()


def _pair(classes=10, seed=0):
    return torch_twins._pair(lambda: (_net(cn, classes), _net(torch, classes)), "float64", seed)


def _data(classes):
    return _image_batch("float64", shape=(8, 1, 10, 10), classes=classes, seed=1)


def _train(m, t, opt, topt, steps, classes=10):
    _cross_entropy_steps(m, t, opt, topt, *_data(classes), steps)


@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.05, momentum=0.9, weight_decay=1e-2)),
                                     ("Adam", dict(lr=0.01, weight_decay=1e-2)),
                                     ("AdamW", dict(lr=0.01))], ids=["SGD", "Adam", "AdamW"])
def test_frozen_backbone_gets_no_gradients_and_no_updates(name, kw):
    m, t = _pair()
    m.features.requires_grad_(False)
    t.features.requires_grad_(False)
    assert all(not p.requires_grad for p in m.features.parameters())
    frozen = {n: to_np(p).copy() for n, p in m.features.named_parameters()}
    # all parameters go to the optimizer, as is common; the frozen ones never get a gradient
    opt, topt = getattr(cn.optim, name)(m.parameters(), **kw), getattr(torch.optim, name)(t.parameters(), **kw)
    _train(m, t, opt, topt, 20)
    assert all(p.grad is None for p in m.features.parameters())
    for n, p in m.features.named_parameters():
        assert np.array_equal(to_np(p), frozen[n]), n
    assert sorted(opt.state_dict()["state"]) == sorted(topt.state_dict()["state"])
    _assert_same_params(m, t, RTOL["float64"], f"{name} with a frozen backbone")


@pytest.mark.parametrize("freeze", ["layer", "weight"])
def test_gradients_flow_through_a_frozen_conv(freeze):
    """The second conv frozen (or only its weight): the first conv still gets the same gradients
    as in torch, so the frozen conv's backward computes dx (and db) without dw."""
    m, t = _pair()
    if freeze == "layer":
        m.features[2].requires_grad_(False)
        t.features[2].requires_grad_(False)
    else:
        m.features[2].weight.requires_grad_(False)
        t.features[2].weight.requires_grad_(False)
    x, y = _data(10)
    F.cross_entropy(m(cn.tensor(x)), cn.tensor(y)).backward()
    torch.nn.functional.cross_entropy(t(torch.from_numpy(x)), torch.from_numpy(y)).backward()
    tp = dict(t.named_parameters())
    for n, p in m.named_parameters():
        if tp[n].grad is None:
            assert p.grad is None, n
        else:
            np.testing.assert_allclose(to_np(p.grad), tp[n].grad.numpy(), rtol=1e-10, atol=1e-14, err_msg=n)
    assert m.features[2].weight.grad is None
    assert (m.features[2].bias.grad is None) == (freeze == "layer")
    assert m.features[0].weight.grad is not None


def test_unfreezing_later_matches_torch():
    m, t = _pair()
    m.features.requires_grad_(False)
    t.features.requires_grad_(False)
    opt = cn.optim.Adam(m.parameters(), lr=0.01)
    topt = torch.optim.Adam(t.parameters(), lr=0.01)
    _train(m, t, opt, topt, 8)
    m.features.requires_grad_(True)
    t.features.requires_grad_(True)
    _train(m, t, opt, topt, 12)
    assert opt.state_dict()["state"][0]["step"].item() == 12  # state starts at the first update
    _assert_same_params(m, t, RTOL["float64"], "Adam after unfreezing")


def test_new_head_strict_false_and_fine_tuning_match_torch():
    # a "pretrained" 10-class model
    pre, tpre = _pair(10)
    _train(pre, tpre, cn.optim.SGD(pre.parameters(), lr=0.1), torch.optim.SGD(tpre.parameters(), lr=0.1), 5)
    sd = {k: to_np(v).copy() for k, v in pre.state_dict().items()}
    tsd = tpre.state_dict()

    # a new 3-class head put in by attribute assignment
    m, t = _pair(10, seed=7)
    m.fc = nn.Linear(54, 3)
    torch.manual_seed(3)
    t.fc = tnn.Linear(54, 3).double()
    m.fc.to(cn.float64)
    m.fc.load_state_dict({k: v.detach().numpy().copy() for k, v in t.fc.state_dict().items()})
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert tuple(m.fc.weight.shape) == (3, 54) and tuple(m(cn.tensor(_data(3)[0])).shape) == (8, 3)

    # the old head does not fit: strict or not, a size mismatch is an error
    with pytest.raises(ValueError, match="size mismatch for fc.weight"):
        m.load_state_dict(sd, strict=False)
    backbone = {k: v for k, v in sd.items() if not k.startswith("fc.")}
    backbone["old_head.scale"] = np.ones(1)
    tbackbone = {k: v for k, v in tsd.items() if not k.startswith("fc.")}
    tbackbone["old_head.scale"] = torch.ones(1, dtype=torch.float64)
    with pytest.raises(RuntimeError, match='missing key\\(s\\): "fc.weight", "fc.bias"'):
        m.load_state_dict(backbone)
    r = m.load_state_dict(backbone, strict=False)
    tr = t.load_state_dict(tbackbone, strict=False)
    assert r.missing_keys == tr.missing_keys == ["fc.weight", "fc.bias"]
    assert r.unexpected_keys == tr.unexpected_keys == ["old_head.scale"]
    for k, v in backbone.items():
        if k != "old_head.scale":
            assert np.array_equal(to_np(m.state_dict()[k]), v), k

    # fine-tune: a small rate for the backbone, a large one for the head
    def groups(model):
        return [{"params": model.features.parameters(), "lr": 1e-3}, {"params": model.fc.parameters()}]

    opt = cn.optim.SGD(groups(m), lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(groups(t), lr=0.1, momentum=0.9)
    _train(m, t, opt, topt, 20, classes=3)
    _assert_same_params(m, t, RTOL["float64"], "fine-tuning a new head")


@pytest.mark.parametrize("fmt", ["pth", "safetensors"])
def test_weights_saved_by_torch_load_by_name(tmp_path, fmt):
    """A state dict saved by PyTorch (torch.save to .pth, or safetensors.torch.save_file) loads
    through convnet.load into the matching convnet model and gives PyTorch's outputs."""
    torch.manual_seed(3)
    t = _net(torch, 5)
    path = tmp_path / f"weights.{fmt}"
    if fmt == "pth":
        torch.save(t.state_dict(), path)
    else:
        safetensors_torch = pytest.importorskip("safetensors.torch")
        safetensors_torch.save_file({k: v.contiguous() for k, v in t.state_dict().items()}, str(path))
    m = _net(cn, 5)
    result = m.load_state_dict(cn.load(path))
    assert not result.missing_keys and not result.unexpected_keys
    x = np.random.default_rng(2).standard_normal((3, 1, 10, 10)).astype(np.float32)
    with torch.no_grad():
        expected = t(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(to_np(m(cn.tensor(x))), expected, rtol=1e-5, atol=1e-6)


def test_loading_a_pth_file_that_is_not_a_state_dict_names_the_problem(tmp_path):
    path = tmp_path / "model.pth"
    torch.save({"epoch": 3, "weights": torch.zeros(2)}, path)
    with pytest.raises(ValueError, match="'epoch' is of type int, expected a tensor"):
        cn.load(path)


def test_loading_a_pth_file_does_not_need_torch(tmp_path, monkeypatch):
    path = tmp_path / "weights.pth"
    t = _net(torch, 2)
    torch.save(t.state_dict(), path)
    monkeypatch.setitem(sys.modules, "torch", None)  # as if torch were not installed
    loaded = cn.load(path)
    assert list(loaded) == list(t.state_dict())
    for k, v in t.state_dict().items():
        np.testing.assert_array_equal(loaded[k].numpy(), v.numpy(), err_msg=k)
