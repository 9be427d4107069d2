"""Module utilities as torch.nn: Module.apply, get_submodule, named_modules/modules/children,
Sequential's list interface (indexing, slices, assignment, deletion, insert/extend/pop) and
nn.init.trunc_normal_; each compared with what torch does on the same structure."""

import math

import numpy as np
import pytest

from convnet import nn
import convnet as cn
from opcheck import torch


def _net(lib):
    return lib.Sequential(lib.Conv2d(1, 2, 3), lib.ReLU(),
                          lib.Sequential(lib.Conv2d(2, 2, 1), lib.BatchNorm2d(2)), lib.Flatten(), lib.Linear(8, 3))


def _kinds(mods):
    return [type(m).__name__ for m in mods]


def test_apply_visits_children_first_then_the_module():
    seen = []
    net = _net(nn)
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    want = ["Conv2d", "ReLU", "Conv2d", "BatchNorm2d", "Sequential", "Flatten", "Linear", "Sequential"]
    assert seen == want
    if torch is not None:
        tseen = []
        _net(torch.nn).apply(lambda m: tseen.append(type(m).__name__))
        assert tseen == want


def test_apply_initializes_parameters():
    def init(m):
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.constant_(m.weight, 0.5)
            nn.init.zeros_(m.bias)

    net = _net(nn).apply(init)
    assert np.all(net[0].weight.detach().numpy() == 0.5) and not net[4].bias.detach().numpy().any()
    assert np.all(net[2][0].weight.detach().numpy() == 0.5)


def test_module_tree_walks_match_torch():
    net = _net(nn)
    assert [n for n, _ in net.named_modules()] == ["", "0", "1", "2", "2.0", "2.1", "3", "4"]
    assert _kinds(net.modules()) == ["Sequential", "Conv2d", "ReLU", "Sequential", "Conv2d", "BatchNorm2d",
                                     "Flatten", "Linear"]
    assert _kinds(net.children()) == ["Conv2d", "ReLU", "Sequential", "Flatten", "Linear"]
    assert [n for n, _ in net.named_children()] == ["0", "1", "2", "3", "4"]
    if torch is not None:
        tnet = _net(torch.nn)
        assert [n for n, _ in net.named_modules()] == [n for n, _ in tnet.named_modules()]
        assert _kinds(net.modules()) == _kinds(tnet.modules())


def test_get_submodule():
    net = _net(nn)
    assert net.get_submodule("") is net
    assert type(net.get_submodule("2.1")).__name__ == "BatchNorm2d"
    assert net.get_submodule("2.1") is net[2][1]
    with pytest.raises(AttributeError, match="Conv2d has no attribute `foo`"):
        net.get_submodule("0.foo")
    with pytest.raises(AttributeError, match="Sequential has no attribute `7`"):
        net.get_submodule("7")


def test_sequential_indexing_and_slices():
    net = _net(nn)
    assert len(net) == 5 and type(net[-1]).__name__ == "Linear" and net[0] is net[-5]
    head = net[:2]
    assert isinstance(head, nn.Sequential) and _kinds(head) == ["Conv2d", "ReLU"] and head[0] is net[0]
    tail = net[3:]
    assert [n for n, _ in tail.named_children()] == ["3", "4"]  # names kept, as torch
    assert _kinds(net[::2]) == ["Conv2d", "Sequential", "Linear"]
    x = cn.randn(2, 1, 4, 4)
    np.testing.assert_array_equal(net[:3](x).detach().numpy(), net[2](net[1](net[0](x))).detach().numpy())
    with pytest.raises(IndexError, match="index 5 is out of range"):
        net[5]
    with pytest.raises(IndexError):
        net[-6]


def test_sequential_assignment_deletion_insert_extend_pop():
    net = _net(nn)
    tanh = nn.Tanh()
    net[1] = tanh
    assert net[1] is tanh and [n for n, _ in net.named_children()] == ["0", "1", "2", "3", "4"]
    net[-1] = nn.Linear(8, 5)
    assert net(cn.randn(2, 1, 4, 4)).shape == (2, 5)
    del net[1]
    assert _kinds(net) == ["Conv2d", "Sequential", "Flatten", "Linear"]
    assert [n for n, _ in net.named_children()] == ["0", "1", "2", "3"]  # renumbered, as torch
    del net[1:3]
    assert _kinds(net) == ["Conv2d", "Linear"]
    net.insert(1, nn.ReLU())
    net.insert(-1, nn.Flatten())
    assert _kinds(net) == ["Conv2d", "ReLU", "Flatten", "Linear"]
    net.extend([nn.Sigmoid(), nn.Tanh()])
    assert _kinds(net) == ["Conv2d", "ReLU", "Flatten", "Linear", "Sigmoid", "Tanh"]
    assert type(net.pop(1)).__name__ == "ReLU" and len(net) == 5
    assert [k for k in net.state_dict()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    if torch is not None:
        t = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Linear(8, 3))
        t.insert(1, torch.nn.ReLU())
        t.insert(-1, torch.nn.Flatten())
        t.extend([torch.nn.Sigmoid(), torch.nn.Tanh()])
        t.pop(1)
        assert _kinds(t) == _kinds(net) and list(t.state_dict()) == list(net.state_dict())


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (0.0, 0.02, -0.04, 0.04), (1.0, 2.0, 0.5, 4.0),
                                          (0.0, 1.0, 3.0, 4.0)])  # far in the tail
def test_trunc_normal_(mean, std, a, b):
    cn.manual_seed(0)
    t = cn.empty(20000)
    assert nn.init.trunc_normal_(t, mean, std, a, b) is t
    v = t.numpy().astype(np.float64)
    assert v.min() >= a and v.max() <= b
    # the truncated normal's moments and CDF
    erf = np.vectorize(math.erf)
    cdf = lambda z: 0.5 * (1 + erf(z / math.sqrt(2)))  # noqa: E731
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    al, be = (a - mean) / std, (b - mean) / std
    Z = cdf(be) - cdf(al)
    want_mean = mean + std * (pdf(al) - pdf(be)) / Z
    want_std = std * math.sqrt(1 + (al * pdf(al) - be * pdf(be)) / Z - ((pdf(al) - pdf(be)) / Z) ** 2)
    assert abs(v.mean() - want_mean) < 4 * want_std / math.sqrt(v.size)
    assert abs(v.std() - want_std) < 0.05 * want_std
    s = np.sort(v)
    F = (cdf((s - mean) / std) - cdf(al)) / Z
    ks = max(np.max(np.arange(1, s.size + 1) / s.size - F), np.max(F - np.arange(s.size) / s.size))
    assert ks < 1.95 / math.sqrt(s.size)  # Kolmogorov-Smirnov at p = 0.001
    cn.manual_seed(0)
    again = cn.empty(20000, dtype=cn.float64)
    nn.init.trunc_normal_(again, mean, std, a, b)  # the same draws for a seed, in either dtype
    np.testing.assert_allclose(again.numpy(), v, rtol=1e-6, atol=1e-7)


def test_trunc_normal_errors():
    with pytest.raises(ValueError, match="trunc_normal_: expected std > 0 and a < b"):
        nn.init.trunc_normal_(cn.empty(3), a=1.0, b=0.0)
    with pytest.raises(ValueError, match="trunc_normal_: expected a float32 or float64 tensor, got int64"):
        nn.init.trunc_normal_(cn.zeros(3, dtype=cn.int64))


def test_summary_counts_conv1d_macs():
    m = nn.Sequential(nn.Conv1d(3, 8, 3, padding=1, groups=1), nn.GroupNorm(2, 8), nn.Conv1d(8, 4, 5, groups=2))
    s = cn.summary(m, (3, 16), print_fn=None)
    assert s.total_macs == 8 * 16 * 3 * 3 + 4 * 12 * 4 * 5
    assert s.total_params == (8 * 3 * 3 + 8) + 16 + (4 * 4 * 5 + 4)
