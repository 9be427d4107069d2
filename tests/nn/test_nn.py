"""convnet.nn: the Module tree (Python subclasses over the C++ modules), state dicts,
every layer against torch.nn, nn.init statistics, summary, and save/load in the
safetensors layout."""

import collections
import math
import os

import numpy as np
import pytest

import convnet as cn
from convnet import nn
import convnet.functional as F
from opcheck import assert_close, load_from_torch, module_matches_torch, to_np


# ---- Module tree ---------------------------------------------------------------------


def _net_classes(lib):
    """Block and Net in convnet or in torch (lib): nested Python modules, a Sequential, a bare
    Parameter and a buffer."""

    class Block(lib.nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.conv = lib.nn.Conv2d(cin, cout, 3, padding=1)
            self.act = lib.nn.ReLU()

        def forward(self, x):
            return self.act(self.conv(x))

    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = lib.nn.Conv2d(1, 4, 3, padding=1)
            self.block = Block(4, 6)
            self.pool = lib.nn.MaxPool2d(2)
            self.head = lib.nn.Sequential(lib.nn.Flatten(), lib.nn.Linear(6 * 4 * 4, 10), lib.nn.Dropout(0.5),
                                          lib.nn.Linear(10, 3))
            self.scale = lib.nn.Parameter(lib.ones(3))
            self.register_buffer("offset", lib.full((3,), 0.25))
            self.calls = 0  # a plain attribute stays a Python attribute

        def forward(self, x):
            self.calls += 1
            return self.head(self.pool(self.block(self.conv1(x)))) * self.scale + self.offset

    return Block, Net


Block, Net = _net_classes(cn)


def _torch_net():
    torch = pytest.importorskip("torch")
    return torch, _net_classes(torch)[1]()


def test_python_subclass_registers_attributes_in_the_module_tree():
    m = Net()
    names = [n for n, _ in m.named_parameters()]
    assert "conv1.weight" in names and "block.conv.bias" in names and "head.3.weight" in names
    assert [n for n, _ in m.named_children()] == ["conv1", "block", "pool", "head"]
    assert [type(c).__name__ for c in m.children()] == ["Conv2d", "Block", "MaxPool2d", "Sequential"]
    assert isinstance(m.block, Block) and m.block.conv is m.block.children()[0]
    assert m.calls == 0 and "calls" not in [n for n, _ in m.state_dict().items()]
    x = cn.randn(2, 1, 8, 8)
    y = m(x)  # forward written in Python
    assert y.shape == (2, 3) and m.calls == 1
    assert repr(m).startswith("Net(\n  (conv1): Conv2d(1, 4")
    assert "(block): Block(\n    (conv): Conv2d(4, 6" in repr(m)
    # parameters() and named_parameters() hold the same tensors
    for p, (_, q) in zip(m.parameters(), m.named_parameters()):
        assert np.shares_memory(to_np(p), to_np(q))
    assert len(m.parameters(recurse=False)) == 1  # only `scale`
    assert [n for n, _ in m.named_parameters(prefix="model")][0] == "model.scale"


def test_order_of_parameters_buffers_modules_and_state_dict_matches_torch():
    torch, t = _torch_net()
    m = Net()
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [tuple(p.shape) for p in m.parameters()] == [tuple(p.shape) for p in t.parameters()]
    assert [n for n, _ in m.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in m.named_modules()] == [n for n, _ in t.named_modules()]
    assert list(m.state_dict().keys()) == list(t.state_dict().keys())


def test_python_module_matches_torch_given_the_same_weights():
    torch, t = _torch_net()
    m = Net()
    load_from_torch(m, t)
    m.eval()
    t.eval()
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8)).astype(np.float32)
    assert_close(to_np(m(cn.tensor(x))), t(torch.from_numpy(x)).detach().numpy(), 1e-5, "Net forward")


def test_buffers():
    m = Net()
    assert [n for n, _ in m.named_buffers()] == ["offset"]
    assert all("offset" != n for n, _ in m.named_parameters())
    assert np.array_equal(to_np(m.buffers()[0]), np.full(3, 0.25, np.float32))
    assert not m.offset.requires_grad
    m.offset = cn.zeros(3)  # assigning a tensor to a buffer's name replaces the buffer
    assert np.array_equal(to_np(m.state_dict()["offset"]), np.zeros(3))
    assert [n for n, _ in m.named_buffers()] == ["offset"]
    m.block.register_buffer("count", cn.zeros(1, dtype=cn.int64))
    assert [n for n, _ in m.named_buffers()] == ["offset", "block.count"]
    assert [n for n, _ in m.named_buffers(recurse=False)] == ["offset"]
    assert m.state_dict()["block.count"].dtype == cn.int64


def test_train_eval_propagate_and_dropout_is_identity_in_eval():
    m = Net()
    assert m.training and all(c.training for c in m.modules())
    assert m.eval() is m
    assert not m.training and all(not c.training for c in m.modules())
    x = cn.randn(4, 1, 8, 8)
    assert np.array_equal(to_np(m(x)), to_np(m(x)))  # deterministic: dropout is off
    drop = m.head[2]
    big = cn.ones(200, 500)
    assert np.array_equal(to_np(drop(big)), np.ones((200, 500), np.float32))
    m.train()
    assert drop.training and m.block.act.training
    y = to_np(drop(big))
    kept = y != 0
    assert np.all(y[kept] == 2.0)  # survivors scaled by 1 / (1 - p)
    assert abs(kept.mean() - 0.5) < 0.01
    m.train(False)
    assert not drop.training


def test_zero_grad():
    m = Net()
    m(cn.randn(2, 1, 8, 8)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not np.any(to_np(p.grad)) for p in m.parameters())
    m.zero_grad()  # set_to_none=True by default, as torch 2
    assert all(p.grad is None for p in m.parameters())


def test_requires_grad_false_freezes_parameters():
    m = Net()
    assert m.block.requires_grad_(False) is m.block
    frozen = {n for n, p in m.named_parameters() if not p.requires_grad}
    assert frozen == {"block.conv.weight", "block.conv.bias"}
    before = {n: to_np(p).copy() for n, p in m.named_parameters()}
    opt = cn.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    for _ in range(2):
        opt.zero_grad()
        F.mse_loss(m(cn.randn(2, 1, 8, 8)), cn.randn(2, 3)).backward()
        for n, p in m.named_parameters():
            assert (p.grad is None) == (n in frozen), n
        opt.step()
    for n, p in m.named_parameters():
        assert np.array_equal(to_np(p), before[n]) == (n in frozen), n
    m.requires_grad_()
    assert all(p.requires_grad for p in m.parameters())


def test_replacing_a_child_by_attribute_assignment():
    torch, t = _torch_net()
    m = Net()
    old = m.block
    m.block = Block(4, 6)
    assert m.block is not old
    t.block = type(t.block)(4, 6)
    # the new child takes the old one's place, as in torch
    assert [n for n, _ in m.named_children()] == ["conv1", "block", "pool", "head"]
    assert list(m.state_dict().keys()) == list(t.state_dict().keys())
    assert not any(np.shares_memory(to_np(p), to_np(q)) for p in m.block.parameters() for q in old.parameters())
    # a child of another shape: parameters follow
    m.head = nn.Sequential(nn.Flatten(), nn.Linear(96, 3))
    assert [tuple(p.shape) for n, p in m.named_parameters() if n.startswith("head.")] == [(3, 96), (3,)]
    assert m(cn.randn(1, 1, 8, 8)).shape == (1, 3)
    # a parameter replaced by a Parameter keeps its place
    m.conv1.weight = nn.Parameter(cn.zeros(4, 1, 3, 3))
    assert [n for n, _ in m.conv1.named_parameters()] == ["weight", "bias"]
    assert not np.any(to_np(m.conv1.weight))
    # None removes a child
    m.pool = None
    assert "pool" not in [n for n, _ in m.named_children()] and m.pool is None
    del m.block
    assert [n for n, _ in m.named_children()] == ["conv1", "head"]


def test_forward_hooks_on_python_and_builtin_modules_are_removable():
    m = Net()
    calls = []
    h_root = m.register_forward_hook(lambda mod, inp, out: calls.append(("root", type(mod).__name__)))
    h_block = m.block.register_forward_hook(lambda mod, inp, out: calls.append(("block", out.shape)))
    h_conv = m.head[1].register_forward_hook(lambda mod, inp, out: out * 0)  # replaces the output
    x = cn.randn(2, 1, 8, 8)
    m.eval()
    y = m(x)
    assert calls == [("block", (2, 6, 8, 8)), ("root", "Net")]
    assert np.allclose(to_np(y), to_np(m.head[3].bias) * to_np(m.scale) + 0.25)
    for h in (h_root, h_block, h_conv):
        h.remove()
    calls.clear()
    y = m(x)
    assert calls == []
    assert not np.allclose(to_np(y), to_np(m.head[3].bias) * to_np(m.scale) + 0.25)


def test_modules_and_to_float64_work_on_python_modules():
    m = Net()
    mods = m.modules()
    assert mods[0] is m and mods[2] is m.block and len(mods) == 11
    assert m.to(cn.float64) is m
    assert all(p.dtype == cn.float64 and p.requires_grad for p in m.parameters())
    m.block.register_buffer("count", cn.zeros(1, dtype=cn.int64))
    m.to(cn.float64)
    # floating buffers follow, others keep their dtype (as torch)
    assert m.offset.dtype == cn.float64 and m.block.count.dtype == cn.int64
    assert m(cn.randn(2, 1, 8, 8, dtype=cn.float64)).dtype == cn.float64


# ---- state dicts ----------------------------------------------------------------------


def test_state_dict_round_trip_and_strict_loading():
    a, b = Net(), Net()
    sd = a.state_dict()
    assert all(not v.requires_grad for v in sd.values())
    x = cn.randn(2, 1, 8, 8)
    a.eval()
    b.eval()
    assert not np.array_equal(to_np(a(x)), to_np(b(x)))
    r = b.load_state_dict(sd)
    assert list(r.missing_keys) == [] and list(r.unexpected_keys) == []
    assert np.array_equal(to_np(a(x)), to_np(b(x)))
    for k, v in b.state_dict().items():
        assert np.array_equal(to_np(v), to_np(sd[k])), k
    # values are copied in, not shared
    assert not np.shares_memory(to_np(a.conv1.weight), to_np(b.conv1.weight))
    # strict: missing and unexpected keys raise, naming them
    partial = collections.OrderedDict(sd)
    del partial["head.1.bias"]
    partial["extra"] = cn.zeros(1)
    with pytest.raises(RuntimeError, match=r'missing key\(s\): "head.1.bias".*unexpected key\(s\): "extra"'):
        b.load_state_dict(partial)
    r = b.load_state_dict(partial, strict=False)
    assert list(r.missing_keys) == ["head.1.bias"] and list(r.unexpected_keys) == ["extra"]
    bad = dict(sd)
    bad["conv1.weight"] = cn.zeros(4, 1, 5, 5)
    with pytest.raises(ValueError, match="size mismatch for conv1.weight"):
        b.load_state_dict(bad)


def _torch_lenet(torch):
    tnn = torch.nn
    return tnn.Sequential(
        tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Flatten(),
        tnn.Linear(400, 120), tnn.ReLU(),
        tnn.Linear(120, 84), tnn.ReLU(),
        tnn.Linear(84, 10),
    )


def test_lenet5_with_torch_weights_matches_torch_outputs_and_gradients():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    t = _torch_lenet(torch)
    m = cn.models.lenet5()
    assert list(m.state_dict().keys()) == list(t.state_dict().keys())
    load_from_torch(m, t)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 8)
    out = m(cn.tensor(x))
    tout = t(torch.from_numpy(x))
    assert_close(to_np(out), tout.detach().numpy(), 1e-5, "lenet5 logits")
    F.cross_entropy(out, cn.tensor(y)).backward()
    torch.nn.functional.cross_entropy(tout, torch.from_numpy(y)).backward()
    tgrads = dict(t.named_parameters())
    for n, p in m.named_parameters():
        assert_close(to_np(p.grad), tgrads[n].grad.numpy(), 1e-5, f"lenet5 grad of {n}")


# ---- every layer against torch.nn --------------------------------------------------------

# (convnet module, torch module factory name and arguments, input shape)
LAYERS = [
    ("Conv2d(3, 4, 3)", (2, 3, 9, 8)),
    ("Conv2d(3, 6, (3, 2), stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=3, bias=False)", (2, 3, 9, 8)),
    ("Conv2d(4, 4, 3, padding='same', groups=4)", (1, 4, 7, 6)),
    ("Conv2d(2, 3, 1, padding='valid')", (2, 2, 5, 5)),
    ("MaxPool2d(2)", (2, 3, 8, 6)),
    ("MaxPool2d(3, stride=2, padding=1, ceil_mode=True)", (2, 3, 8, 7)),
    ("MaxPool2d((2, 3), stride=1, dilation=2)", (1, 2, 7, 8)),
    ("AvgPool2d(2)", (2, 3, 8, 6)),
    ("AvgPool2d(3, stride=2, padding=1)", (2, 3, 9, 7)),
    ("AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)", (2, 3, 8, 7)),
    ("AdaptiveAvgPool2d(1)", (2, 3, 6, 6)),
    ("Linear(5, 4)", (3, 5)),
    ("Linear(5, 4, bias=False)", (2, 3, 5)),
    ("Flatten()", (2, 3, 4, 5)),
    ("Flatten(0, 2)", (2, 3, 4, 5)),
    ("ReLU()", (4, 7)),
    ("LeakyReLU()", (4, 7)),
    ("LeakyReLU(0.2)", (3, 2, 5)),
    ("Sigmoid()", (4, 7)),
    ("Tanh()", (4, 7)),
    ("Softmax(dim=1)", (3, 7)),
    ("Softmax(dim=0)", (3, 4, 2)),
    ("LogSoftmax(dim=-1)", (3, 7)),
    ("LogSoftmax(dim=1)", (2, 5, 3)),
    ("Dropout(0.3)", (4, 7)),  # compared in eval mode
    ("Dropout(0.0)", (4, 7)),
]


@pytest.mark.parametrize("spec,shape", LAYERS, ids=[s for s, _ in LAYERS])
def test_layer_matches_torch(spec, shape):
    """Class name, parameter names, forward, input and parameter gradients (Dropout in eval mode)."""
    module_matches_torch(spec, shape, same_repr=False)


def test_sequential_matches_torch_and_behaves_like_a_list():
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    torch.manual_seed(0)
    t = tnn.Sequential(tnn.Conv2d(2, 3, 3), tnn.Tanh(), tnn.AvgPool2d(2), tnn.Flatten(), tnn.Linear(12, 4),
                       tnn.LogSoftmax(dim=1))
    m = nn.Sequential(nn.Conv2d(2, 3, 3), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(12, 4),
                      nn.LogSoftmax(dim=1))
    load_from_torch(m, t)
    x = np.random.default_rng(0).standard_normal((2, 2, 6, 6)).astype(np.float32)
    assert_close(to_np(m(cn.tensor(x))), t(torch.from_numpy(x)).detach().numpy(), 1e-5, "Sequential forward")

    assert len(m) == 6
    assert isinstance(m[0], nn.Conv2d) and isinstance(m[-1], nn.LogSoftmax) and m[-6] is m[0]
    assert [type(c).__name__ for c in m] == ["Conv2d", "Tanh", "AvgPool2d", "Flatten", "Linear", "LogSoftmax"]
    assert all(a is b for a, b in zip(m, m.children()))
    with pytest.raises(IndexError):
        m[6]
    with pytest.raises(IndexError):
        m[-7]
    assert m.append(nn.ReLU()) is m and len(m) == 7 and [n for n, _ in m.named_children()][-1] == "6"
    named = nn.Sequential(collections.OrderedDict([("conv", nn.Conv2d(1, 2, 3)), ("act", nn.ReLU())]))
    assert [n for n, _ in named.named_parameters()] == ["conv.weight", "conv.bias"]
    assert isinstance(named[1], nn.ReLU) and len(named) == 2
    with pytest.raises(TypeError, match="Sequential: expected Module arguments"):
        nn.Sequential(nn.ReLU(), 3)


# ---- nn.init ---------------------------------------------------------------------------------


def _stats(t):
    a = to_np(t).astype(np.float64).ravel()
    return a.min(), a.max(), a.mean(), a.std()


def _check_uniform(t, lo, hi, what):
    mn, mx, mean, std = _stats(t)
    width = hi - lo
    assert lo <= mn and mx <= hi, f"{what}: values [{mn}, {mx}] outside [{lo}, {hi}]"
    n = t.numel()
    # the extremes of n uniform draws lie within a few width/n of the bounds
    assert mn - lo < 20 * width / n and hi - mx < 20 * width / n, f"{what}: [{mn}, {mx}] vs [{lo}, {hi}]"
    sd = width / math.sqrt(12)
    assert abs(mean - (lo + hi) / 2) < 6 * sd / math.sqrt(n), f"{what}: mean {mean}"
    assert abs(std / sd - 1) < 6 * math.sqrt(0.2 / n) + 1e-6, f"{what}: std {std}, expected {sd}"


def _check_normal(t, mean_want, std_want, what):
    _, _, mean, std = _stats(t)
    n = t.numel()
    assert abs(mean - mean_want) < 6 * std_want / math.sqrt(n), f"{what}: mean {mean}, expected {mean_want}"
    assert abs(std / std_want - 1) < 6 / math.sqrt(2 * n), f"{what}: std {std}, expected {std_want}"
    a = (to_np(t).astype(np.float64).ravel() - mean_want) / std_want
    # normal, not uniform: the share within one sigma and the kurtosis
    assert abs(np.mean(np.abs(a) < 1) - 0.6827) < 6 * math.sqrt(0.6827 * 0.3173 / n), what
    assert abs(np.mean(a ** 4) - 3) < 6 * math.sqrt(96 / n), what  # 1.8 for a uniform


def test_init_basic_distributions():
    cn.manual_seed(0)
    t = cn.empty(400, 500)
    assert nn.init.normal_(t, 0.5, 2.0) is not None
    _check_normal(t, 0.5, 2.0, "normal_(0.5, 2)")
    _check_normal(nn.init.normal_(cn.empty(200000)), 0.0, 1.0, "normal_()")
    _check_uniform(nn.init.uniform_(t, -0.3, 0.7), -0.3, 0.7, "uniform_(-0.3, 0.7)")
    _check_uniform(nn.init.uniform_(cn.empty(200000)), 0.0, 1.0, "uniform_()")
    assert np.array_equal(to_np(nn.init.zeros_(t)), np.zeros((400, 500)))
    assert np.array_equal(to_np(nn.init.ones_(t)), np.ones((400, 500)))
    assert np.array_equal(to_np(nn.init.constant_(t, -1.25)), np.full((400, 500), -1.25))
    d = nn.init.normal_(cn.empty(100000, dtype=cn.float64), -1.0, 0.1)
    assert d.dtype == cn.float64
    _check_normal(d, -1.0, 0.1, "normal_ float64")
    # in place on a parameter, recording no autograd history
    lin = nn.Linear(3, 2)
    w = nn.init.constant_(lin.weight, 0.5)
    assert w.is_leaf and w.requires_grad and np.all(to_np(lin.weight) == 0.5)


def test_init_is_reproducible_from_the_seed():
    cn.manual_seed(7)
    a = to_np(nn.init.normal_(cn.empty(1000))).copy()
    b = to_np(nn.init.kaiming_uniform_(cn.empty(30, 40))).copy()
    cn.manual_seed(7)
    assert np.array_equal(a, to_np(nn.init.normal_(cn.empty(1000))))
    assert np.array_equal(b, to_np(nn.init.kaiming_uniform_(cn.empty(30, 40))))


@pytest.mark.parametrize("nl,param", [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                                      ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
                                      ("leaky_relu", math.sqrt(5)), ("selu", None)])
def test_calculate_gain_matches_torch(nl, param):
    torch = pytest.importorskip("torch")
    want = torch.nn.init.calculate_gain(nl, param)
    got = nn.init.calculate_gain(nl) if param is None else nn.init.calculate_gain(nl, param)
    assert got == pytest.approx(want, rel=1e-12)


def test_calculate_gain_rejects_unknown_nonlinearity():
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        nn.init.calculate_gain("swish")


@pytest.mark.parametrize("shape", [(5, 7), (8, 3, 5, 5), (4, 6, 3, 2)])
def test_fans_match_torch(shape):
    torch = pytest.importorskip("torch")
    want = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert tuple(nn.init._calculate_fan_in_and_fan_out(cn.empty(*shape))) == tuple(want)


# weights (K, C, R, S) = (256, 64, 5, 5): fan_in 1600, fan_out 6400
XAVIER_KAIMING_SHAPE = (256, 64, 5, 5)


@pytest.mark.parametrize("gain", [1.0, 5.0 / 3])
def test_xavier(gain):
    fan_in, fan_out = 64 * 25, 256 * 25
    cn.manual_seed(1)
    t = cn.empty(*XAVIER_KAIMING_SHAPE)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    _check_uniform(nn.init.xavier_uniform_(t, gain=gain), -bound, bound, f"xavier_uniform_(gain={gain})")
    _check_normal(nn.init.xavier_normal_(t, gain=gain), 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)),
                  f"xavier_normal_(gain={gain})")


@pytest.mark.parametrize("a,mode,nl", [(0, "fan_in", "leaky_relu"), (0, "fan_in", "relu"),
                                       (0.2, "fan_out", "leaky_relu"), (0, "fan_out", "relu"),
                                       (math.sqrt(5), "fan_in", "leaky_relu"), (0, "fan_in", "tanh"),
                                       (0, "fan_out", "linear")])
def test_kaiming(a, mode, nl):
    torch = pytest.importorskip("torch")
    fan = {"fan_in": 64 * 25, "fan_out": 256 * 25}[mode]
    std = torch.nn.init.calculate_gain(nl, a) / math.sqrt(fan)
    cn.manual_seed(2)
    t = cn.empty(*XAVIER_KAIMING_SHAPE)
    bound = math.sqrt(3) * std
    what = f"kaiming_uniform_(a={a}, mode={mode}, nonlinearity={nl})"
    _check_uniform(nn.init.kaiming_uniform_(t, a=a, mode=mode, nonlinearity=nl), -bound, bound, what)
    _check_normal(nn.init.kaiming_normal_(t, a=a, mode=mode, nonlinearity=nl), 0.0, std,
                  what.replace("uniform", "normal"))


def test_kaiming_rejects_a_bad_mode_and_fans_need_two_dims():
    with pytest.raises(ValueError, match="mode must be"):
        nn.init.kaiming_uniform_(cn.empty(3, 4), mode="fan_avg")
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(cn.empty(5))


def test_default_init_of_conv2d_and_linear_matches_torch():
    cn.manual_seed(3)
    # Linear(100, 3000): weights kaiming_uniform(a=sqrt(5)) -> U(±1/sqrt(fan_in)); bias U(±1/sqrt(fan_in))
    lin = nn.Linear(100, 3000)
    _check_uniform(lin.weight, -0.1, 0.1, "Linear.weight default init")
    _check_uniform(lin.bias, -0.1, 0.1, "Linear.bias default init")
    # Conv2d(16, 2000, 3): fan_in = 16*3*3 = 144
    conv = nn.Conv2d(16, 2000, 3)
    _check_uniform(conv.weight, -1 / 12, 1 / 12, "Conv2d.weight default init")
    _check_uniform(conv.bias, -1 / 12, 1 / 12, "Conv2d.bias default init")
    # grouped: fan_in = (in_channels / groups) * R * S = 4 * 5 * 5 = 100
    g = nn.Conv2d(8, 4000, 5, groups=2)
    assert g.weight.shape == (4000, 4, 5, 5)
    _check_uniform(g.weight, -0.1, 0.1, "grouped Conv2d.weight default init")
    _check_uniform(g.bias, -0.1, 0.1, "grouped Conv2d.bias default init")
    # reset_parameters draws again
    before = to_np(lin.weight).copy()
    lin.reset_parameters()
    assert not np.array_equal(before, to_np(lin.weight))
    _check_uniform(lin.weight, -0.1, 0.1, "Linear.weight after reset_parameters")


def test_default_init_bounds_equal_torchs():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    cn.manual_seed(0)
    for tm, m in [(torch.nn.Linear(50, 4000), nn.Linear(50, 4000)),
                  (torch.nn.Conv2d(6, 4000, 5), nn.Conv2d(6, 4000, 5))]:
        for (n, p), (tn, tp) in zip(m.named_parameters(), tm.named_parameters()):
            assert n == tn
            a, b = to_np(p).ravel(), tp.detach().numpy().ravel()
            # same bound and spread as torch's own init, drawn from other generators
            assert np.abs(a).max() == pytest.approx(np.abs(b).max(), rel=6e-3), n
            assert a.std() == pytest.approx(b.std(), rel=12 * math.sqrt(0.2 / a.size)), n


# ---- summary ----------------------------------------------------------------------------------


def test_summary_of_lenet5():
    printed = []
    model = cn.models.lenet5()
    s = cn.summary(model, (1, 28, 28), print_fn=printed.append)
    assert type(s).__name__ == "ModelSummary"
    assert s.total_params == 61706 and s.trainable_params == 61706
    assert tuple(s.input_shape) == (1, 1, 28, 28)
    conv1 = 6 * 1 * 25 * 28 * 28
    conv2 = 16 * 6 * 25 * 10 * 10
    assert (conv1, conv2) == (117600, 240000)
    fc = [400 * 120, 120 * 84, 84 * 10]
    rows = {name: (typ, tuple(shape), params, macs) for name, typ, shape, params, macs in s.rows}
    assert rows["0"] == ("Conv2d", (1, 6, 28, 28), 156, conv1)
    assert rows["3"] == ("Conv2d", (1, 16, 10, 10), 2416, conv2)
    assert rows["7"] == ("Linear", (1, 120), 48120, fc[0])
    assert rows["9"] == ("Linear", (1, 84), 10164, fc[1])
    assert rows["11"] == ("Linear", (1, 10), 850, fc[2])
    assert rows["2"] == ("MaxPool2d", (1, 6, 14, 14), 0, 0) and rows["6"] == ("Flatten", (1, 400), 0, 0)
    assert len(s.rows) == 12
    assert s.total_macs == conv1 + conv2 + sum(fc) == 416520
    text = str(s)
    assert printed == [text] and repr(s) == text
    assert "Total params: 61,706" in text and "Trainable params: 61,706" in text
    assert "Non-trainable params: 0" in text and "Total MACs: 416,520" in text
    assert "0 (Conv2d)" in text and "117,600" in text and "240,000" in text
    assert model.training  # the mode is restored
    # frozen parameters are non-trainable; the batch size scales the MACs
    model[0].requires_grad_(False)
    model.eval()
    s2 = cn.summary(model, (1, 28, 28), batch_size=2, print_fn=None)
    assert s2.total_params == 61706 and s2.trainable_params == 61706 - 156
    assert s2.total_macs == 2 * 416520 and not model.training
    assert "Non-trainable params: 156" in str(s2)


def test_summary_of_a_python_module():
    s = cn.summary(Net(), (1, 8, 8), print_fn=None)
    names = [r[0] for r in s.rows]
    assert names == ["conv1", "block.conv", "block.act", "pool", "head.0", "head.1", "head.2", "head.3"]
    assert s.total_params == sum(p.numel() for p in Net().parameters())


# ---- save / load --------------------------------------------------------------------------------


def _sample_state():
    rng = np.random.default_rng(0)
    f32 = rng.standard_normal((3, 4)).astype(np.float32)
    f32.ravel()[:4] = [np.nan, np.inf, -0.0, np.finfo(np.float32).tiny / 2]  # odd bit patterns survive
    return collections.OrderedDict([
        ("w.f32", f32),
        ("w.f64", rng.standard_normal((2, 3, 2))),
        ("steps.i64", np.array([0, -1, 2 ** 62, -(2 ** 63)], np.int64)),
        ("img.u8", rng.integers(0, 256, (2, 5, 5), dtype=np.uint8)),
        ("mask", rng.integers(0, 2, 7).astype(bool)),
        ("scalar", np.array(3.5, np.float64)),
        ("empty", np.zeros((0, 3), np.float32)),
    ])


def _bits(a):
    return np.ascontiguousarray(a).tobytes()


def test_save_load_round_trip_is_bit_exact(tmp_path):
    state = _sample_state()
    path = tmp_path / "state.safetensors"
    cn.save({k: cn.tensor(v) for k, v in state.items()}, path)
    got = cn.load(path)
    assert isinstance(got, collections.OrderedDict) and list(got.keys()) == list(state.keys())
    for k, v in state.items():
        t = got[k]
        assert isinstance(t, cn.Tensor)
        assert t.dtype == cn.tensor(v).dtype and t.shape == v.shape, k
        assert _bits(t.numpy()) == _bits(v), k
    # str paths work too, and NumPy values are accepted
    cn.save(state, str(path))
    assert all(_bits(cn.load(str(path))[k].numpy()) == _bits(v) for k, v in state.items())
    assert sorted(os.listdir(tmp_path)) == ["state.safetensors"]  # no temporary file left behind


def test_saved_file_reads_in_safetensors(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    safetensors = pytest.importorskip("safetensors")
    state = _sample_state()
    path = tmp_path / "a.safetensors"
    cn.save({k: cn.tensor(v) for k, v in state.items()}, path)
    got = st.load_file(str(path))
    assert set(got) == set(state)
    for k, v in state.items():
        assert got[k].dtype == v.dtype and got[k].shape == v.shape and _bits(got[k]) == _bits(v), k
    with safetensors.safe_open(str(path), framework="numpy") as f:
        assert f.metadata() == {"format": "convnet"}


def test_file_written_by_safetensors_loads(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    state = dict(_sample_state())
    del state["empty"]  # safetensors refuses zero-sized tensors in some versions
    path = tmp_path / "b.safetensors"
    st.save_file(state, str(path), metadata={"producer": "safetensors"})
    got = cn.load(path)
    assert set(got) == set(state)
    for k, v in state.items():
        assert got[k].shape == v.shape and _bits(got[k].numpy()) == _bits(v), k


def test_model_weights_survive_save_and_load(tmp_path):
    a, b = cn.models.lenet5(), cn.models.lenet5()
    path = tmp_path / "lenet.safetensors"
    cn.save(a.state_dict(), path)
    b.load_state_dict(cn.load(path))
    x = cn.randn(2, 1, 28, 28)
    assert np.array_equal(to_np(a(x)), to_np(b(x)))


def test_torch_state_dict_via_safetensors_loads_into_convnet(tmp_path):
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")
    torch.manual_seed(0)
    t = _torch_lenet(torch)
    path = tmp_path / "torch_lenet.safetensors"
    st.save_file(t.state_dict(), str(path))
    m = cn.models.lenet5()
    m.load_state_dict(cn.load(path))
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    assert_close(to_np(m(cn.tensor(x))), t(torch.from_numpy(x)).detach().numpy(), 1e-5, "lenet5 from safetensors")


@pytest.mark.parametrize("bad,err", [
    (None, TypeError),  # replaced by a Module below
    ([("a", np.ones(2))], TypeError),
    ({"a": np.ones(2), 3: np.ones(2)}, TypeError),
    ({"a": np.ones(2, np.float32), "b": object()}, Exception),
    ({"a": np.ones(2, np.complex64)}, TypeError),
])
def test_failed_save_leaves_an_existing_file_untouched(tmp_path, bad, err):
    if bad is None:
        bad = cn.models.lenet5()
    path = tmp_path / "keep.safetensors"
    cn.save({"x": cn.arange(5)}, path)
    before = path.read_bytes()
    with pytest.raises(err):
        cn.save(bad, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["keep.safetensors"]


def test_save_into_a_missing_folder_fails_cleanly(tmp_path):
    with pytest.raises(RuntimeError, match="cannot open"):
        cn.save({"x": cn.ones(2)}, tmp_path / "nowhere" / "x.safetensors")
    assert os.listdir(tmp_path) == []
    (tmp_path / "folder").mkdir()
    with pytest.raises(RuntimeError, match="cannot rename"):
        cn.save({"x": cn.ones(2)}, tmp_path / "folder")  # a folder is not replaced
    assert os.listdir(tmp_path) == ["folder"] and os.listdir(tmp_path / "folder") == []


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        cn.load(tmp_path / "missing.safetensors")
    p = tmp_path / "junk.safetensors"
    p.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ")
    with pytest.raises(cn.SafetensorsError, match="not a valid safetensors file"):
        cn.load(p)
    good = tmp_path / "good.safetensors"
    cn.save({"w": cn.ones(100)}, good)
    data = good.read_bytes()
    trunc = tmp_path / "trunc.safetensors"
    trunc.write_bytes(data[:-8])
    with pytest.raises(cn.SafetensorsError, match="truncated"):
        cn.load(trunc)


def test_absent_optional_parameters_read_as_none_as_in_torch():
    torch = pytest.importorskip("torch")
    cases = [("Conv2d(2, 3, 3, bias=False)", "bias"), ("Linear(4, 2, bias=False)", "bias"),
             ("ConvTranspose2d(2, 3, 3, bias=False)", "bias"),
             ("BatchNorm2d(3, affine=False)", "weight"), ("BatchNorm2d(3, affine=False)", "bias"),
             ("BatchNorm1d(3, track_running_stats=False)", "running_mean")]
    for spec, attr in cases:
        m, t = eval("nn." + spec), eval("torch.nn." + spec)
        assert getattr(t, attr) is None and getattr(m, attr) is None, f"{spec}.{attr}"
        assert list(m.state_dict()) == list(t.state_dict()), spec
    m = nn.Module()
    m.register_parameter("scale", None)
    assert m.scale is None and m.parameters() == []
    m.scale = nn.Parameter(cn.ones(2))
    assert m.scale.shape == (2,) and len(m.parameters()) == 1
    with pytest.raises(AttributeError, match="has no attribute 'missing'"):
        m.missing
