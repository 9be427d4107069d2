"""SGD, Adam, AdamW, RMSprop, Adagrad, NAdam, RAdam and Adadelta against torch.optim, LARS and
LAMB against NumPy references of the papers' rules (tests/reference/optim.py): parameter
trajectories of the same model from the same weights on the same data (float32 and float64),
parameter groups with their own options, state_dict layout, and resuming from a saved state
bit-identically."""

import numpy as np
import pytest

import convnet as cn
import convnet.functional as F

torch = pytest.importorskip("torch")
from opcheck import to_np  # noqa: E402
from torch_twins import (RTOL, _assert_same_params, _convnet, _cross_entropy_steps, _data, _image_batch,  # noqa: E402
                         _mlp, _mse_step, _pair)

SGD_STEPS = 30
STEPS = 25


# ---- SGD ------------------------------------------------------------------------------------------

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
    for step in range(SGD_STEPS):
        opt.zero_grad()
        topt.zero_grad()
        # a new mini-batch each step, so that the trajectory is not a fixed point
        xb, yb = x[step % 4 * 4:][:8], y[step % 4 * 4:][:8]
        loss, tloss = _mse_step(m, t, xb, yb)
        assert loss == pytest.approx(tloss, rel=100 * RTOL[dtype]), f"step {step}"
        losses.append(tloss)
        opt.step()
        topt.step()
    _assert_same_params(m, t, RTOL[dtype], f"SGD({kw}) {dtype} after {SGD_STEPS} steps")
    assert losses[-1] < losses[0]  # it trained


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sgd_trajectory_of_a_conv_net_matches_torch(dtype):
    m, t = _pair(_convnet, dtype)
    kw = dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    opt = cn.optim.SGD(m.parameters(), **kw)
    topt = torch.optim.SGD(t.parameters(), **kw)
    _cross_entropy_steps(m, t, opt, topt, *_image_batch(dtype), SGD_STEPS)
    _assert_same_params(m, t, RTOL[dtype], f"SGD conv net {dtype}")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sgd_param_groups_with_their_own_options_match_torch(dtype):
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
    for step in range(SGD_STEPS):
        if step == SGD_STEPS // 2:  # as an LR schedule does
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
    for step in range(SGD_STEPS):
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


def _two_heads(lib):
    """Two heads on one trunk and a parameter no output uses, in convnet or in torch (lib)."""
    class TwoHeads(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.trunk = lib.nn.Linear(6, 8)
            self.a = lib.nn.Linear(8, 3)
            self.b = lib.nn.Linear(8, 3)
            self.unused = lib.nn.Parameter(lib.ones(4))

        def forward(self, x, use_b):
            h = self.trunk(x).relu()
            return self.a(h) + self.b(h) if use_b else self.a(h)

    return TwoHeads()


@pytest.mark.parametrize("kw", [dict(lr=0.1), dict(lr=0.05, momentum=0.9, weight_decay=1e-2),
                                dict(lr=0.05, momentum=0.9, nesterov=True)],
                         ids=["plain", "momentum+wd", "nesterov"])
def test_params_without_grad_are_skipped(kw):
    m, t = _pair(lambda: (_two_heads(cn), _two_heads(torch)), "float64")
    opt = cn.optim.SGD(m.parameters(), **kw)
    topt = torch.optim.SGD(t.parameters(), **kw)
    x, y = _data(np.float64)
    b_before = to_np(m.b.weight).copy()
    for step in range(SGD_STEPS):
        use_b = step % 3 == 0  # head b gets a gradient on some steps only
        opt.zero_grad()
        topt.zero_grad()
        F.mse_loss(m(cn.tensor(x), use_b), cn.tensor(y)).backward()
        torch.nn.functional.mse_loss(t(torch.from_numpy(x), use_b), torch.from_numpy(y)).backward()
        assert (m.b.weight.grad is None) == (not use_b)
        assert m.unused.grad is None
        if step == 1:
            # skipped even with weight decay: b moved only on step 0
            moved = to_np(m.b.weight).copy()
            assert not np.array_equal(moved, b_before)
        opt.step()
        topt.step()
        if step == 1:
            assert np.array_equal(to_np(m.b.weight), moved)
    assert np.array_equal(to_np(m.unused), np.ones(4))
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
    for _ in range(SGD_STEPS):
        opt.zero_grad(set_to_none=False)
        topt.zero_grad(set_to_none=False)
        # zeroed where there is a gradient; None stays None (as torch)
        for p, tp in zip(m.parameters(), t.parameters()):
            assert (p.grad is None) == (tp.grad is None)
            assert p.grad is None or not np.any(to_np(p.grad))
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


# ---- Adam, AdamW, RMSprop, Adagrad ------------------------------------------------------------------

CONFIGS = [
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6)),
    ("Adam", dict(lr=0.01, weight_decay=1e-2)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=1e-2, maximize=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, betas=(0.85, 0.95))),
    ("AdamW", dict(lr=0.01, amsgrad=True, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.005, alpha=0.9, eps=1e-6)),
    ("RMSprop", dict(lr=0.01, weight_decay=1e-2)),
    ("RMSprop", dict(lr=0.005, momentum=0.9)),
    ("RMSprop", dict(lr=0.005, centered=True)),
    ("RMSprop", dict(lr=0.002, centered=True, momentum=0.5, weight_decay=1e-3, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05)),
    ("Adagrad", dict(lr=0.1, weight_decay=1e-2, maximize=True)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.1, eps=1e-8)),
    ("SGD", dict(lr=0.05, momentum=0.9, maximize=True)),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, momentum_decay=0.01, weight_decay=1e-2)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=1e-2)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=1e-2)),
    ("Adadelta", dict(lr=2.0, maximize=True)),
]


def _ids(c):
    name, kw = c
    return name + "(" + ",".join(f"{k}={v}" for k, v in kw.items()) + ")"


def _optimizers(name, m, t, **kw):
    return getattr(cn.optim, name)(m, **kw), getattr(torch.optim, name)(t, **kw)


def _step(m, t, opt, topt, x, y, sign=1.0):
    """One training step in both libraries on batch (x, y); a maximizing optimizer gets the
    negated loss, so that every configuration trains."""
    opt.zero_grad()
    topt.zero_grad()
    loss = F.mse_loss(m(cn.tensor(x)), cn.tensor(y))
    (loss * sign).backward()
    tloss = torch.nn.functional.mse_loss(t(torch.from_numpy(x)), torch.from_numpy(y))
    (tloss * sign).backward()
    opt.step()
    topt.step()
    return loss.item(), tloss.item()


def _batch(x, y, step):
    # a new mini-batch each step, so that the trajectory is not a fixed point
    return x[step % 4 * 4:][:8], y[step % 4 * 4:][:8]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("config", CONFIGS, ids=_ids)
def test_trajectory_matches_torch(config, dtype):
    name, kw = config
    m, t = _pair(_mlp, dtype)
    opt, topt = _optimizers(name, m.parameters(), t.parameters(), **kw)
    sign = -1.0 if kw.get("maximize") else 1.0
    x, y = _data(dtype)
    losses = []
    for step in range(STEPS):
        loss, tloss = _step(m, t, opt, topt, *_batch(x, y, step), sign=sign)
        assert loss == pytest.approx(tloss, rel=100 * RTOL[dtype]), f"step {step}"
        losses.append(tloss)
    _assert_same_params(m, t, RTOL[dtype], f"{_ids(config)} {dtype} after {STEPS} steps")
    assert losses[-1] < losses[0]  # it trained


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSprop", "Adagrad", "NAdam", "RAdam", "Adadelta"])
def test_conv_net_trajectory_matches_torch(name, dtype):
    m, t = _pair(_convnet, dtype)
    opt, topt = _optimizers(name, m.parameters(), t.parameters(), lr=0.01, weight_decay=1e-3)
    _cross_entropy_steps(m, t, opt, topt, *_image_batch(dtype), STEPS)
    _assert_same_params(m, t, RTOL[dtype], f"{name} conv net {dtype}")


def _decay_groups(model, **extra):
    """Weight decay on the weights only, none on the biases (as for norm parameters)."""
    named = list(model.named_parameters())
    return [{"params": [p for n, p in named if not n.endswith("bias")], **extra},
            {"params": [p for n, p in named if n.endswith("bias")], "weight_decay": 0.0, "lr": 0.003}]


GROUP_CONFIGS = [
    ("Adam", dict(lr=0.01, weight_decay=1e-2), dict(betas=(0.8, 0.9))),
    ("AdamW", dict(lr=0.01, weight_decay=0.1), dict(amsgrad=True)),
    ("RMSprop", dict(lr=0.005, weight_decay=1e-2, momentum=0.9), dict(centered=True)),
    ("Adagrad", dict(lr=0.1, weight_decay=1e-2), dict(lr_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=1e-2), dict(momentum_decay=0.02)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1), dict(decoupled_weight_decay=True)),
    ("Adadelta", dict(lr=1.0, weight_decay=1e-2), dict(rho=0.8)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("config", GROUP_CONFIGS, ids=lambda c: c[0])
def test_param_groups_with_their_own_options_match_torch(config, dtype):
    name, kw, extra = config
    m, t = _pair(_mlp, dtype)
    opt, topt = _optimizers(name, _decay_groups(m, **extra), _decay_groups(t, **extra), **kw)
    g0, g1 = opt.param_groups
    assert g1["weight_decay"] == 0.0 and g1["lr"] == 0.003 and g0["weight_decay"] == kw["weight_decay"]
    for k, v in extra.items():
        assert g0[k] == v and g1[k] == topt.param_groups[1][k], k
    x, y = _data(dtype)
    for step in range(STEPS):
        if step == STEPS // 2:  # as an LR schedule does
            for g, tg in zip(opt.param_groups, topt.param_groups):
                g["lr"] = tg["lr"] = tg["lr"] * 0.5
        _step(m, t, opt, topt, *_batch(x, y, step))
    _assert_same_params(m, t, RTOL[dtype], f"{name} param groups {dtype}")


def test_weight_decay_is_coupled_in_adam_and_decoupled_in_adamw():
    """One step from a zero gradient: Adam's decay goes through the moments (a full step of
    size lr against the sign of w), AdamW's shrinks w by lr * weight_decay."""
    w0 = np.array([[0.5, -2.0, 1.0]], dtype=np.float64)
    for name, want in [("Adam", w0 - 0.1 * np.sign(w0)), ("AdamW", w0 * (1 - 0.1 * 0.5))]:
        w = cn.tensor(w0.copy(), dtype=cn.float64).requires_grad_()
        opt = getattr(cn.optim, name)([w], lr=0.1, weight_decay=0.5)
        w.grad = cn.zeros(1, 3, dtype=cn.float64)
        opt.step()
        np.testing.assert_allclose(to_np(w), want, rtol=1e-6, err_msg=name)


@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSprop", "Adagrad", "SGD", "NAdam", "RAdam", "Adadelta"])
def test_defaults_match_torch(name):
    kw = {"lr": 0.1} if name == "SGD" else {}
    opt = getattr(cn.optim, name)([cn.zeros(2, requires_grad=True)], **kw)
    topt = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kw)
    shared = set(opt.defaults) & set(topt.defaults)
    assert set(opt.defaults) - shared <= {"decoupled_weight_decay"}  # torch's AdamW fixes it
    assert len(shared) >= 4
    for k in shared:
        assert opt.defaults[k] == topt.defaults[k], k
        assert isinstance(opt.defaults[k], bool) == isinstance(topt.defaults[k], bool), k
    assert set(opt.param_groups[0].keys()) - {"decoupled_weight_decay"} <= set(topt.param_groups[0])


RESUME_CONFIGS = [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=1e-3)),
    ("AdamW", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.005, momentum=0.9, centered=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=1e-3)),
    ("RAdam", dict(lr=0.01, weight_decay=1e-3, decoupled_weight_decay=True)),
    ("Adadelta", dict(lr=1.0, weight_decay=1e-3)),
    ("LARS", dict(lr=0.5, momentum=0.9, weight_decay=1e-3, trust_coefficient=0.02)),
    ("LAMB", dict(lr=0.01, weight_decay=1e-2)),
]


def _params_np(m):
    return {n: to_np(p).copy() for n, p in m.named_parameters()}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("config", RESUME_CONFIGS, ids=lambda c: c[0])
def test_state_dict_round_trip_resumes_bit_identically(config, dtype):
    name, kw = config
    m, _ = _pair(_mlp, dtype)
    opt = getattr(cn.optim, name)(m.parameters(), **kw)
    x, y = _data(dtype)

    def train(model, optimizer, steps, start):
        for step in range(start, start + steps):
            optimizer.zero_grad()
            xb, yb = _batch(x, y, step)
            F.mse_loss(model(cn.tensor(xb)), cn.tensor(yb)).backward()
            optimizer.step()

    train(m, opt, 10, 0)
    saved_opt = opt.state_dict()
    saved_model = {k: to_np(v).copy() for k, v in m.state_dict().items()}
    snapshot = {i: {k: to_np(v).copy() for k, v in s.items()} for i, s in saved_opt["state"].items()}
    train(m, opt, 15, 10)
    # the saved state is a copy: later steps left it alone
    for i, s in saved_opt["state"].items():
        for k, v in s.items():
            assert np.array_equal(to_np(v), snapshot[i][k]), (i, k)

    m2, _ = _pair(_mlp, dtype, seed=5)
    m2.load_state_dict(saved_model)
    opt2 = getattr(cn.optim, name)(m2.parameters(), **{**kw, "lr": 0.5})  # options come from the state
    opt2.load_state_dict(saved_opt)
    assert opt2.param_groups[0]["lr"] == kw["lr"]
    train(m2, opt2, 15, 10)
    want, got = _params_np(m), _params_np(m2)
    for n in want:
        assert np.array_equal(got[n], want[n]), f"{name} {dtype}: {n} differs after resuming"


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "NAdam", "RAdam", "Adadelta"])
def test_state_dict_layout_matches_torch(name):
    kw = dict(lr=0.01, momentum=0.9) if name in ("SGD", "RMSprop") else dict(lr=0.01)
    if name == "Adam":
        kw["amsgrad"] = True
    m, t = _pair(_mlp, "float64")
    # the last layer in a group of its own; the first layer's bias never gets a gradient
    groups = [{"params": [m[0].weight, m[0].bias]}, {"params": m[2].parameters(), "lr": 0.02}]
    tgroups = [{"params": [t[0].weight, t[0].bias]}, {"params": t[2].parameters(), "lr": 0.02}]
    opt, topt = _optimizers(name, groups, tgroups, **kw)
    if name == "Adagrad":  # its state exists from the start
        assert opt.state_dict()["state"].keys() == topt.state_dict()["state"].keys()
    x, y = _data(np.float64)
    for step in range(3):
        _step(m, t, opt, topt, *_batch(x, y, step))
        m[0].bias.grad = None
        t[0].bias.grad = None
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd.keys() == tsd.keys()
    assert sd["state"].keys() == tsd["state"].keys()
    for i, ts in tsd["state"].items():
        assert sd["state"][i].keys() == ts.keys(), i
        for k, tv in ts.items():
            v = sd["state"][i][k]
            assert isinstance(v, cn.Tensor) and tuple(v.shape) == tuple(tv.shape), (i, k)
            assert str(v.dtype).split(".")[-1] == str(tv.dtype).split(".")[-1], (i, k)
            np.testing.assert_allclose(to_np(v), tv.numpy(), rtol=1e-9, atol=1e-15, err_msg=f"{i} {k}")
    assert len(sd["param_groups"]) == len(tsd["param_groups"])
    for g, tg in zip(sd["param_groups"], tsd["param_groups"]):
        assert g["params"] == tg["params"]
        for k in set(g) & set(tg):
            assert g[k] == tg[k], k
        assert set(g) - set(tg) <= {"decoupled_weight_decay"}


def test_load_state_dict_rejects_mismatches():
    m, _ = _pair(_mlp, "float32")
    opt = cn.optim.Adam(m.parameters(), lr=0.01)
    x, y = _data(np.float32)
    F.mse_loss(m(cn.tensor(x)), cn.tensor(y)).backward()
    opt.step()
    good = opt.state_dict()

    def changed(f):
        sd = opt.state_dict()
        f(sd)
        return sd

    two = cn.optim.Adam([{"params": m[0].parameters()}, {"params": m[2].parameters()}])
    with pytest.raises(ValueError, match="Adam.load_state_dict: loaded state dict has 1 parameter group"):
        two.load_state_dict(good)
    with pytest.raises(ValueError, match="loaded parameter group 0 has 4 parameter"):
        cn.optim.Adam(m[0].parameters()).load_state_dict(good)
    cases = [
        (lambda sd: sd["state"][0].update(exp_avg=cn.zeros(3)), ValueError,
         r'state "exp_avg" of parameter number 0 has shape \(3,\), the parameter has shape \(8, 6\)'),
        (lambda sd: sd["state"][1].update(momentum_buffer=cn.zeros(8)), ValueError,
         'unexpected state "momentum_buffer" for parameter number 1'),
        (lambda sd: sd["state"][1].update(step=cn.zeros(2)), ValueError, 'state "step" .* must have one element'),
        (lambda sd: sd["state"].update({9: {}}), ValueError, "parameter number 9, which no loaded parameter group"),
        (lambda sd: sd["param_groups"][0].pop("betas"), ValueError, 'has no option "beta1"'),
        (lambda sd: sd["param_groups"][0].update(betas=0.9), TypeError, "option 'betas' must be a pair"),
        (lambda sd: sd["param_groups"][0].update(params=[0, 0, 1, 2]), ValueError, "appears more than once"),
        (lambda sd: sd.pop("state"), ValueError, "no 'state' entry"),
    ]
    before = to_np(opt.state_dict()["state"][0]["exp_avg"]).copy()
    for f, err, msg in cases:
        with pytest.raises(err, match=msg):
            opt.load_state_dict(changed(f))
    with pytest.raises(TypeError, match="expected a dict"):
        opt.load_state_dict([1, 2])
    # a failed load leaves the optimizer as it was
    assert np.array_equal(to_np(opt.state_dict()["state"][0]["exp_avg"]), before)
    # state from NumPy arrays and float64 tensors is converted to the parameter's dtype
    sd = changed(lambda sd: sd["state"][0].update(exp_avg=np.ones((8, 6))))
    opt.load_state_dict(sd)
    assert opt.state_dict()["state"][0]["exp_avg"].dtype == cn.float32


def test_invalid_arguments_raise_as_torch_does():
    cases = [
        ("Adam", dict(lr=-1.0), "Adam: invalid learning rate"),
        ("Adam", dict(eps=-1.0), "invalid epsilon value"),
        ("Adam", dict(betas=(1.0, 0.999)), "invalid beta parameter at index 0: 1"),
        ("AdamW", dict(betas=(0.9, -0.1)), "AdamW: invalid beta parameter at index 1"),
        ("AdamW", dict(weight_decay=-1.0), "invalid weight_decay value"),
        ("RMSprop", dict(alpha=-0.5), "RMSprop: invalid alpha value"),
        ("RMSprop", dict(momentum=-0.5), "invalid momentum value"),
        ("RMSprop", dict(eps=-1.0), "invalid epsilon value"),
        ("Adagrad", dict(lr_decay=-1.0), "Adagrad: invalid lr_decay value"),
        ("Adagrad", dict(initial_accumulator_value=-1.0), "invalid initial_accumulator_value"),
        ("Adagrad", dict(eps=-1.0), "invalid epsilon value"),
        ("NAdam", dict(momentum_decay=-1.0), "NAdam: invalid momentum_decay value"),
        ("NAdam", dict(betas=(0.9, 1.0)), "NAdam: invalid beta parameter at index 1"),
        ("RAdam", dict(lr=-1.0), "RAdam: invalid learning rate"),
        ("RAdam", dict(weight_decay=-1.0), "RAdam: invalid weight_decay value"),
        ("Adadelta", dict(rho=1.5), "Adadelta: invalid rho value"),
        ("Adadelta", dict(eps=-1.0), "Adadelta: invalid epsilon value"),
    ]
    for name, kw, msg in cases:
        with pytest.raises(ValueError, match=msg):
            getattr(cn.optim, name)([cn.zeros(2, requires_grad=True)], **kw)
        with pytest.raises(ValueError):
            getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kw)
    for name in ("Adam", "AdamW", "RMSprop", "Adagrad", "NAdam", "RAdam", "Adadelta", "LARS", "LAMB"):
        with pytest.raises(ValueError, match=f"{name}: optimizer got an empty parameter list"):
            getattr(cn.optim, name)([])
    with pytest.raises(TypeError, match="option 'betas' must be a pair"):
        cn.optim.Adam([{"params": [cn.zeros(2, requires_grad=True)], "betas": "x"}])


@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSprop", "Adagrad", "NAdam", "RAdam", "Adadelta"])
def test_params_without_grad_are_left_alone(name):
    """No update, no decay and no state for a parameter without a gradient (as torch)."""
    m, t = _pair(_mlp, "float64")
    opt, topt = _optimizers(name, m.parameters(), t.parameters(), lr=0.01, weight_decay=0.1)
    x, y = _data(np.float64)
    frozen = to_np(m[2].weight).copy()
    for step in range(5):
        opt.zero_grad()
        topt.zero_grad()
        F.mse_loss(m(cn.tensor(x)), cn.tensor(y)).backward()
        torch.nn.functional.mse_loss(t(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        m[2].weight.grad = None
        t[2].weight.grad = None
        opt.step()
        topt.step()
    assert np.array_equal(to_np(m[2].weight), frozen)
    assert opt.state_dict()["state"].keys() == topt.state_dict()["state"].keys()
    _assert_same_params(m, t, RTOL["float64"], f"{name} with a grad-less weight")


# ---- LARS and LAMB against the papers' rules -------------------------------------------------------

LAYERWISE_CONFIGS = [
    ("LARS", dict(lr=0.5)),
    ("LARS", dict(lr=0.5, momentum=0.0, trust_coefficient=0.01)),
    ("LARS", dict(lr=1.0, momentum=0.8, weight_decay=1e-2, trust_coefficient=0.02, eps=1e-6)),
    ("LARS", dict(lr=0.1, weight_decay=1e-3, layer_adaptation=False)),
    ("LAMB", dict(lr=0.01)),
    ("LAMB", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-8, weight_decay=1e-2)),
    ("LAMB", dict(lr=0.01, weight_decay=0.1, layer_adaptation=False)),
]


class _ReferenceTwin:
    """A NumPy reference (tests/reference/optim.py) stepping a torch model's parameters in
    place, with torch.optim's zero_grad/step, for _step."""

    def __init__(self, name, groups, **kw):
        from reference import optim as ref

        self.params = [p for g in groups for p in g["params"]]
        arrays = [{**g, "params": [p.data.numpy() for p in g["params"]]} for g in groups]
        self.ref = getattr(ref, name.capitalize())(arrays, **kw)

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        self.ref.step([None if p.grad is None else p.grad.numpy() for p in self.params])


def _no_adaptation_groups(model, **extra):
    """Biases in a group of their own without weight decay or layer adaptation (as the
    papers leave out biases and batch-norm parameters)."""
    named = list(model.named_parameters())
    return [{"params": [p for n, p in named if not n.endswith("bias")], **extra},
            {"params": [p for n, p in named if n.endswith("bias")], "weight_decay": 0.0,
             "layer_adaptation": False}]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("groups", [False, True], ids=["one group", "biases excluded"])
@pytest.mark.parametrize("config", LAYERWISE_CONFIGS, ids=_ids)
def test_layerwise_trajectory_matches_the_papers_rule(config, groups, dtype):
    name, kw = config
    m, t = _pair(_mlp, dtype)
    cgroups = _no_adaptation_groups(m) if groups else [{"params": list(m.parameters())}]
    tgroups = _no_adaptation_groups(t) if groups else [{"params": list(t.parameters())}]
    opt = getattr(cn.optim, name)(cgroups, **kw)
    twin = _ReferenceTwin(name, tgroups, **kw)
    if groups:
        assert opt.param_groups[1]["layer_adaptation"] is False and opt.param_groups[1]["weight_decay"] == 0
        assert opt.param_groups[0]["layer_adaptation"] is kw.get("layer_adaptation", True)
    x, y = _data(dtype)
    losses = []
    for step in range(STEPS):
        if step == 7:  # a parameter without a gradient is left alone
            opt.zero_grad()
            twin.zero_grad()
            _mse_step(m, t, *_batch(x, y, step))
            m[2].weight.grad = None
            t[2].weight.grad = None
            opt.step()
            twin.step()
            continue
        loss, tloss = _step(m, t, opt, twin, *_batch(x, y, step))
        assert loss == pytest.approx(tloss, rel=100 * RTOL[dtype]), f"step {step}"
        losses.append(tloss)
    _assert_same_params(m, t, RTOL[dtype], f"{_ids(config)} {dtype} after {STEPS} steps")
    assert losses[-1] < losses[0]  # it trained


def test_layerwise_trust_ratio_scales_each_tensor():
    """One LARS step without momentum: each tensor moves by lr * eta * |w| / (|g| + wd |w|) * (g +
    wd w), so its relative change is the same for every tensor whatever the gradient's scale;
    LAMB's first step moves every tensor by lr * |w| in norm."""
    rng = np.random.default_rng(3)
    w0 = [rng.standard_normal(s) for s in [(4, 3), (5,)]]
    scales = [1e-3, 1e3]
    ws = [cn.tensor(w.copy(), dtype=cn.float64).requires_grad_() for w in w0]
    opt = cn.optim.LARS(ws, lr=0.1, momentum=0.0, trust_coefficient=0.01, eps=0.0)
    for w, s in zip(ws, scales):
        w.grad = cn.tensor(s * np.sign(to_np(w)), dtype=cn.float64)
    opt.step()
    for w, before in zip(ws, w0):
        rel = np.linalg.norm(to_np(w) - before) / np.linalg.norm(before)
        assert rel == pytest.approx(0.1 * 0.01, rel=1e-6)
    ws = [cn.tensor(w.copy(), dtype=cn.float64).requires_grad_() for w in w0]
    opt = cn.optim.LAMB(ws, lr=0.05)
    for w, s in zip(ws, scales):
        w.grad = cn.tensor(s * rng.standard_normal(w.shape), dtype=cn.float64)
    opt.step()
    for w, before in zip(ws, w0):
        assert np.linalg.norm(to_np(w) - before) == pytest.approx(0.05 * np.linalg.norm(before), rel=1e-6)


@pytest.mark.parametrize("name", ["LARS", "LAMB"])
def test_layerwise_defaults_and_invalid_arguments(name):
    opt = getattr(cn.optim, name)([cn.zeros(2, requires_grad=True)])
    d = opt.defaults
    assert d["lr"] == 1e-3 and d["weight_decay"] == 0.0 and d["layer_adaptation"] is True
    if name == "LARS":
        assert d["momentum"] == 0.9 and d["trust_coefficient"] == 1e-3 and d["eps"] == 1e-8
        bad = [(dict(momentum=-0.1), "LARS: invalid momentum value"),
               (dict(trust_coefficient=0.0), "LARS: invalid trust_coefficient value"),
               (dict(lr=-1.0), "LARS: invalid learning rate")]
    else:
        assert d["betas"] == (0.9, 0.999) and d["eps"] == 1e-6
        bad = [(dict(betas=(1.0, 0.9)), "LAMB: invalid beta parameter at index 0"),
               (dict(weight_decay=-1.0), "LAMB: invalid weight_decay value")]
    for kw, msg in bad:
        with pytest.raises(ValueError, match=msg):
            getattr(cn.optim, name)([cn.zeros(2, requires_grad=True)], **kw)
