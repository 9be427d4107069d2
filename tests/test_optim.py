"""convnet.optim.SGD against torch.optim.SGD: parameter trajectories of the same
model from the same weights on the same data, in float32 and float64."""

import numpy as np
import pytest

import convnet as cn
from convnet import nn
import convnet.functional as F

torch = pytest.importorskip("torch")
tnn = torch.nn

STEPS = 30
RTOL = {"float32": 1e-5, "float64": 1e-12}


def _np(t):
    return t.detach().numpy()


def _mlp():
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)), \
        tnn.Sequential(tnn.Linear(6, 8), tnn.ReLU(), tnn.Linear(8, 3))


def _convnet():
    return (nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(36, 5)),
            tnn.Sequential(tnn.Conv2d(1, 4, 3), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(36, 5)))


def _pair(make, dtype, seed=0):
    """The same model in both libraries with torch's (seeded) initial weights."""
    torch.manual_seed(seed)
    m, t = make()
    if dtype == "float64":
        m.to(cn.float64)
        t.double()
    m.load_state_dict({k: v.detach().numpy().copy() for k, v in t.state_dict().items()})
    return m, t


def _data(dtype, x_shape=(16, 6), y_shape=(16, 3), seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(y_shape).astype(dtype)


def _assert_same_params(m, t, rtol, what):
    tp = dict(t.named_parameters())
    names = [n for n, _ in m.named_parameters()]
    assert names == list(tp), what
    for n, p in m.named_parameters():
        got, want = _np(p).astype(np.float64), tp[n].detach().numpy().astype(np.float64)
        scale = max(float(np.max(np.abs(want))), 1e-3)
        err = float(np.max(np.abs(got - want)))
        assert err <= rtol * scale, f"{what}: {n} differs by {err:.3g} (> {rtol:g} x {scale:.3g})"


def _image_batch(dtype, shape=(8, 1, 8, 8), classes=5, seed=2):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape).astype(dtype), rng.integers(0, classes, shape[0])


def _cross_entropy_steps(m, t, opt, topt, x, y, steps):
    """`steps` training steps of both libraries on one batch of images x with labels y."""
    for _ in range(steps):
        opt.zero_grad()
        topt.zero_grad()
        F.cross_entropy(m(cn.tensor(x)), cn.tensor(y)).backward()
        torch.nn.functional.cross_entropy(t(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        opt.step()
        topt.step()


def _mse_step(m, t, x, y):
    loss = F.mse_loss(m(cn.tensor(x)), cn.tensor(y))
    loss.backward()
    tloss = torch.nn.functional.mse_loss(t(torch.from_numpy(x)), torch.from_numpy(y))
    tloss.backward()
    return loss.item(), tloss.item()


SGD_CONFIGS = [
    dict(lr=0.1),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.1),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.1, weight_decay=5e-4),
    dict(lr=0.05, momentum=0.9, weight_decay=5e-4),
    dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=1e-2),
    dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kw", SGD_CONFIGS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_sgd_trajectory_matches_torch(kw, dtype):
    m, t = _pair(_mlp, dtype)
    opt = cn.optim.SGD(m.parameters(), **kw)
    topt = torch.optim.SGD(t.parameters(), **kw)
    x, y = _data(dtype)
    losses = []
    for step in range(STEPS):
        opt.zero_grad()
        topt.zero_grad()
        # a new mini-batch each step, so that the trajectory is not a fixed point
        xb, yb = x[step % 4 * 4:][:8], y[step % 4 * 4:][:8]
        loss, tloss = _mse_step(m, t, xb, yb)
        assert loss == pytest.approx(tloss, rel=100 * RTOL[dtype]), f"step {step}"
        losses.append(tloss)
        opt.step()
        topt.step()
    _assert_same_params(m, t, RTOL[dtype], f"SGD({kw}) {dtype} after {STEPS} steps")
    assert losses[-1] < losses[0]  # it trained


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sgd_trajectory_of_a_conv_net_matches_torch(dtype):
    m, t = _pair(_convnet, dtype)
    kw = dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    opt = cn.optim.SGD(m.parameters(), **kw)
    topt = torch.optim.SGD(t.parameters(), **kw)
    _cross_entropy_steps(m, t, opt, topt, *_image_batch(dtype), STEPS)
    _assert_same_params(m, t, RTOL[dtype], f"SGD conv net {dtype}")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_param_groups_with_their_own_options_match_torch(dtype):
    m, t = _pair(_mlp, dtype)

    def groups(model):
        return [{"params": model[0].parameters(), "lr": 0.02},
                {"params": list(model[2].parameters()), "momentum": 0.5, "weight_decay": 1e-3}]

    opt = cn.optim.SGD(groups(m), lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(groups(t), lr=0.1, momentum=0.9)
    assert len(opt.param_groups) == 2
    g0, g1 = opt.param_groups
    assert g0["lr"] == 0.02 and g0["momentum"] == 0.9 and g0["nesterov"] is False
    assert g1["lr"] == 0.1 and g1["momentum"] == 0.5 and g1["weight_decay"] == 1e-3
    assert len(g0["params"]) == 2 and "dampening" in g1
    x, y = _data(dtype)
    for step in range(STEPS):
        if step == STEPS // 2:  # as an LR schedule does
            for g, tg in zip(opt.param_groups, topt.param_groups):
                g["lr"] = tg["lr"] = tg["lr"] * 0.5
            assert opt.param_groups[0]["lr"] == 0.01
        opt.zero_grad()
        topt.zero_grad()
        _mse_step(m, t, x, y)
        opt.step()
        topt.step()
    _assert_same_params(m, t, RTOL[dtype], f"SGD param groups {dtype}")


def test_add_param_group_matches_torch():
    m, t = _pair(_mlp, "float64")
    opt = cn.optim.SGD(m[0].parameters(), lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(t[0].parameters(), lr=0.1, momentum=0.9)
    x, y = _data(np.float64)
    for step in range(STEPS):
        if step == 10:
            opt.add_param_group({"params": m[2].parameters(), "lr": 0.03})
            topt.add_param_group({"params": t[2].parameters(), "lr": 0.03})
            assert opt.param_groups[1]["momentum"] == 0.9  # defaults fill the rest
        opt.zero_grad()
        topt.zero_grad()
        _mse_step(m, t, x, y)
        opt.step()
        topt.step()
    _assert_same_params(m, t, RTOL["float64"], "SGD add_param_group")
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [m[0].weight]})


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Linear(6, 8)
        self.a = nn.Linear(8, 3)
        self.b = nn.Linear(8, 3)
        self.unused = nn.Parameter(cn.ones(4))

    def forward(self, x, use_b):
        h = F.relu(self.trunk(x))
        return self.a(h) + self.b(h) if use_b else self.a(h)


class TTwoHeads(tnn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = tnn.Linear(6, 8)
        self.a = tnn.Linear(8, 3)
        self.b = tnn.Linear(8, 3)
        self.unused = tnn.Parameter(torch.ones(4))

    def forward(self, x, use_b):
        h = torch.relu(self.trunk(x))
        return self.a(h) + self.b(h) if use_b else self.a(h)


@pytest.mark.parametrize("kw", [dict(lr=0.1), dict(lr=0.05, momentum=0.9, weight_decay=1e-2),
                                dict(lr=0.05, momentum=0.9, nesterov=True)],
                         ids=["plain", "momentum+wd", "nesterov"])
def test_params_without_grad_are_skipped(kw):
    torch.manual_seed(0)
    t = TTwoHeads().double()
    m = TwoHeads()
    m.to(cn.float64)
    m.load_state_dict({k: v.detach().numpy().copy() for k, v in t.state_dict().items()})
    opt = cn.optim.SGD(m.parameters(), **kw)
    topt = torch.optim.SGD(t.parameters(), **kw)
    x, y = _data(np.float64)
    b_before = _np(m.b.weight).copy()
    for step in range(STEPS):
        use_b = step % 3 == 0  # head b gets a gradient on some steps only
        opt.zero_grad()
        topt.zero_grad()
        F.mse_loss(m(cn.tensor(x), use_b), cn.tensor(y)).backward()
        torch.nn.functional.mse_loss(t(torch.from_numpy(x), use_b), torch.from_numpy(y)).backward()
        assert (m.b.weight.grad is None) == (not use_b)
        assert m.unused.grad is None
        if step == 1:
            # skipped even with weight decay: b moved only on step 0
            moved = _np(m.b.weight).copy()
            assert not np.array_equal(moved, b_before)
        opt.step()
        topt.step()
        if step == 1:
            assert np.array_equal(_np(m.b.weight), moved)
    assert np.array_equal(_np(m.unused), np.ones(4))
    _assert_same_params(m, t, RTOL["float64"], f"SGD({kw}) with grad-less params")


def test_zero_grad_and_accumulation_match_torch():
    m, t = _pair(_mlp, "float64")
    opt = cn.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(t.parameters(), lr=0.1, momentum=0.9)
    x, y = _data(np.float64)
    _mse_step(m, t, x, y)
    opt.zero_grad()  # set_to_none=True by default, as torch 2
    topt.zero_grad()
    assert all(p.grad is None for p in m.parameters()) and all(p.grad is None for p in t.parameters())
    for _ in range(STEPS):
        opt.zero_grad(set_to_none=False)
        topt.zero_grad(set_to_none=False)
        # zeroed where there is a gradient; None stays None (as torch)
        for p, tp in zip(m.parameters(), t.parameters()):
            assert (p.grad is None) == (tp.grad is None)
            assert p.grad is None or not np.any(_np(p.grad))
        # two half batches accumulate into one gradient
        _mse_step(m, t, x[:8], y[:8])
        _mse_step(m, t, x[8:], y[8:])
        opt.step()
        topt.step()
    _assert_same_params(m, t, RTOL["float64"], "SGD with accumulated gradients")


def test_step_with_a_closure_returns_its_loss():
    m, _ = _pair(_mlp, "float32")
    opt = cn.optim.SGD(m.parameters(), lr=0.1)
    x, y = _data(np.float32)

    def closure():
        opt.zero_grad()
        loss = F.mse_loss(m(cn.tensor(x)), cn.tensor(y))
        loss.backward()
        return loss

    first = opt.step(closure).item()
    assert opt.step(closure).item() < first
    assert opt.step() is None


def test_defaults_and_invalid_arguments():
    m, _ = _pair(_mlp, "float32")
    opt = cn.optim.SGD(m.parameters())
    tdefaults = torch.optim.SGD([torch.zeros(1, requires_grad=True)]).defaults
    assert opt.defaults["lr"] == tdefaults["lr"]
    for k in ("momentum", "dampening", "weight_decay"):
        assert opt.defaults[k] == tdefaults[k], k
    for kw, msg in [(dict(lr=-1.0), "invalid learning rate"), (dict(momentum=-0.5), "invalid momentum"),
                    (dict(weight_decay=-1.0), "invalid weight_decay"),
                    (dict(nesterov=True), "Nesterov momentum requires"),
                    (dict(nesterov=True, momentum=0.9, dampening=0.1), "Nesterov momentum requires")]:
        with pytest.raises(ValueError, match=msg):
            cn.optim.SGD(m.parameters(), **{"lr": 0.1, **kw})
        with pytest.raises(ValueError):
            torch.optim.SGD([torch.zeros(1, requires_grad=True)], **{"lr": 0.1, **kw})
    with pytest.raises(ValueError, match="empty parameter list"):
        cn.optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        cn.optim.SGD([m[0].weight * 2], lr=0.1)
    with pytest.raises(ValueError, match="floating point"):
        cn.optim.SGD([cn.arange(3)], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        cn.optim.SGD([{"params": m[0].parameters()}, {"params": [m[0].bias]}], lr=0.1)
    with pytest.raises(TypeError, match="params must be tensors or dicts"):
        cn.optim.SGD([1.0], lr=0.1)
