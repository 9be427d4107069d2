"""Building blocks of the model zoo: cat/stack, ModuleList/ModuleDict, Identity, more activations
and losses. Every op goes through tests/opcheck.py (NumPy reference in tests/reference/blocks.py,
float64 finite differences, PyTorch parity); modules are compared with torch's names, reprs and
state_dict keys; bad input raises errors naming the op and the shapes."""

import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from convnet import nn
from opcheck import check_op, torch
from reference import blocks as R

tF = torch.nn.functional if torch is not None else None
rng = np.random.default_rng(4321)


def randn(*shape):
    return rng.standard_normal(shape)


def msg(*parts):
    """A regex that finds every literal part, in any order."""
    return "(?s)" + "".join(f"(?=.*{re.escape(p)})" for p in parts)


# ---- cat / stack -----------------------------------------------------------------------------------

CAT_CASES = [  # shapes of the parts, dim
    ([(2, 3), (4, 3)], 0),
    ([(2, 3), (2, 1), (2, 4)], 1),
    ([(2, 3), (2, 5)], -1),
    ([(2, 3, 4), (2, 2, 4), (2, 1, 4)], 1),
    ([(2, 3, 4), (2, 3, 2)], -1),
    ([(1, 2, 3, 2), (3, 2, 3, 2)], -4),
    ([(2, 0, 3), (2, 2, 3)], 1),          # an empty part
    ([(5,), (3,)], 0),
]


@pytest.mark.parametrize("shapes,dim", CAT_CASES, ids=str)
def test_cat(shapes, dim):
    xs = [randn(*s) for s in shapes]
    k = len(xs)
    check_op(f"cat(dim={dim})", lambda *ts: cn.cat(list(ts), dim), xs, tuple(range(k)),
             ref=lambda *a: R.cat(a, dim), ref_grad=lambda *a: R.cat_backward(a[:k], a[k], dim),
             torch_fn=lambda *ts: torch.cat(ts, dim))


def test_cat_gradient_only_to_inputs_that_require_it():
    a, b = cn.tensor(randn(2, 3)), cn.tensor(randn(2, 2))
    a.requires_grad_(True)
    y = cn.cat((a, b), dim=1)
    y.sum().backward()
    assert b.grad is None and np.array_equal(a.grad.numpy(), np.ones((2, 3), np.float32))


def test_cat_int_dtypes_promotion_aliases_and_empty_legacy_tensors():
    a = cn.tensor(np.arange(6).reshape(2, 3))
    b = cn.tensor(np.arange(3).reshape(1, 3))
    y = cn.cat([a, b])
    assert y.dtype == cn.int64 and np.array_equal(y.numpy(), np.concatenate([a.numpy(), b.numpy()]))
    z = cn.cat([cn.tensor([[1.5, 2.5]]), cn.tensor([[1, 2]])])
    assert z.dtype == cn.float32 and np.array_equal(z.numpy(), [[1.5, 2.5], [1, 2]])
    assert np.array_equal(cn.concat([a, b], dim=0).numpy(), y.numpy())
    assert np.array_equal(cn.concatenate([a, b], dim=0).numpy(), y.numpy())
    # 1-D empty tensors are skipped, as torch
    e = cn.cat([cn.zeros(0), cn.tensor(randn(2, 3)), cn.zeros(0)], dim=1)
    assert e.shape == (2, 3)


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_stack(dim):
    xs = [randn(2, 3) for _ in range(3)]
    check_op(f"stack(dim={dim})", lambda *ts: cn.stack(list(ts), dim), xs, (0, 1, 2),
             ref=lambda *a: R.stack(a, dim), ref_grad=lambda *a: R.stack_backward(a[:3], a[3], dim),
             torch_fn=lambda *ts: torch.stack(ts, dim))


def test_cat_errors():
    with pytest.raises(ValueError, match=msg("cat(dim=0)", "except in dimension 0", "(2, 3)", "(2, 4)",
                                             "tensor 1")):
        cn.cat([cn.zeros(2, 3), cn.zeros(2, 4)])
    with pytest.raises(ValueError, match=msg("cat", "tensor 1 has 3 dimension(s)", "(2, 3)", "(2, 3, 1)")):
        cn.cat([cn.zeros(2, 3), cn.zeros(2, 3, 1)], 1)
    with pytest.raises(IndexError, match=msg("cat", "dim 2 is out of range", "(2, 3)")):
        cn.cat([cn.zeros(2, 3), cn.zeros(2, 3)], 2)
    with pytest.raises(ValueError, match=msg("cat", "non-empty")):
        cn.cat([])
    with pytest.raises(ValueError, match=msg("cat", "zero-dimensional", "position 1")):
        cn.cat([cn.zeros(1), cn.tensor(1.0)])
    with pytest.raises(ValueError, match=msg("stack", "equal size", "(2, 3)", "(3, 2)")):
        cn.stack([cn.zeros(2, 3), cn.zeros(3, 2)])
    with pytest.raises(IndexError, match=msg("stack", "out of range", "(2, 3)")):
        cn.stack([cn.zeros(2, 3)], 3)


# ---- activations ------------------------------------------------------------------------------------

def _act_input(shape=(2, 3, 4)):
    """Values away from the kinks (|x| >= 0.05 from 0, ±1 and 6), so finite differences are exact."""
    x = randn(*shape) * 3
    for k in (0.0, 1.0, -1.0, 6.0, -2.0, 3.0):
        near = np.abs(x - k) < 0.05
        x[near] += 0.1
    return x


ACTIVATIONS = [  # name, convnet fn, reference fn, reference backward, torch fn
    ("hardtanh()", lambda x: F.hardtanh(x), R.hardtanh, R.hardtanh_backward, lambda x: tF.hardtanh(x)),
    ("hardtanh(-2, 3)", lambda x: F.hardtanh(x, -2.0, 3.0), lambda x: R.hardtanh(x, -2, 3),
     lambda x, dy: R.hardtanh_backward(x, dy, -2, 3), lambda x: tF.hardtanh(x, -2.0, 3.0)),
    ("relu6", lambda x: F.relu6(x), lambda x: R.hardtanh(x, 0, 6), lambda x, dy: R.hardtanh_backward(x, dy, 0, 6),
     lambda x: tF.relu6(x)),
    ("elu", lambda x: F.elu(x), R.elu, R.elu_backward, lambda x: tF.elu(x)),
    ("elu(alpha=0.5)", lambda x: F.elu(x, alpha=0.5), lambda x: R.elu(x, 0.5),
     lambda x, dy: R.elu_backward(x, dy, 0.5), lambda x: tF.elu(x, alpha=0.5)),
    ("gelu", lambda x: F.gelu(x), R.gelu, R.gelu_backward, lambda x: tF.gelu(x)),
    ("gelu(tanh)", lambda x: F.gelu(x, approximate="tanh"), lambda x: R.gelu(x, "tanh"),
     lambda x, dy: R.gelu_backward(x, dy, "tanh"), lambda x: tF.gelu(x, approximate="tanh")),
    ("silu", lambda x: F.silu(x), R.silu, R.silu_backward, lambda x: tF.silu(x)),
    ("softplus", lambda x: F.softplus(x), R.softplus, R.softplus_backward, lambda x: tF.softplus(x)),
    ("softplus(beta=2, threshold=3)", lambda x: F.softplus(x, beta=2.0, threshold=3.0),
     lambda x: R.softplus(x, 2.0, 3.0), lambda x, dy: R.softplus_backward(x, dy, 2.0, 3.0),
     lambda x: tF.softplus(x, beta=2.0, threshold=3.0)),
]


@pytest.mark.parametrize("case", ACTIVATIONS, ids=lambda c: c[0])
def test_activation(case):
    name, fn, ref, ref_grad, tfn = case
    check_op(name, fn, [_act_input()], (0,), ref=ref, ref_grad=ref_grad, torch_fn=tfn)


@pytest.mark.parametrize("shape,channels", [((2, 3, 4, 5), 3), ((2, 3, 4, 5), 1), ((4, 6), 6), ((5,), 1),
                                            ((3, 2, 7), 2)])
def test_prelu(shape, channels):
    x, w = _act_input(shape), rng.uniform(0.05, 0.5, channels)
    check_op(f"prelu(weight ({channels},))", F.prelu, [x, w], (0, 1), ref=R.prelu, ref_grad=R.prelu_backward,
             torch_fn=tF.prelu)


ACTIVATION_MODULES = [  # convnet module, torch module (same arguments), repr
    (lambda: nn.ReLU6(), lambda: torch.nn.ReLU6(), "ReLU6()"),
    (lambda: nn.ReLU6(inplace=True), lambda: torch.nn.ReLU6(inplace=True), "ReLU6(inplace=True)"),
    (lambda: nn.Hardtanh(), lambda: torch.nn.Hardtanh(), "Hardtanh(min_val=-1.0, max_val=1.0)"),
    (lambda: nn.Hardtanh(-2.5, 0.5), lambda: torch.nn.Hardtanh(-2.5, 0.5), "Hardtanh(min_val=-2.5, max_val=0.5)"),
    (lambda: nn.ELU(), lambda: torch.nn.ELU(), "ELU(alpha=1.0)"),
    (lambda: nn.ELU(0.5, True), lambda: torch.nn.ELU(0.5, True), "ELU(alpha=0.5, inplace=True)"),
    (lambda: nn.GELU(), lambda: torch.nn.GELU(), "GELU(approximate='none')"),
    (lambda: nn.GELU(approximate="tanh"), lambda: torch.nn.GELU(approximate="tanh"), "GELU(approximate='tanh')"),
    (lambda: nn.SiLU(), lambda: torch.nn.SiLU(), "SiLU()"),
    (lambda: nn.Softplus(), lambda: torch.nn.Softplus(), "Softplus(beta=1.0, threshold=20.0)"),
    (lambda: nn.Softplus(2.0, 5.0), lambda: torch.nn.Softplus(2.0, 5.0), "Softplus(beta=2.0, threshold=5.0)"),
    (lambda: nn.Softplus(0.5, 1e-05), lambda: torch.nn.Softplus(0.5, 1e-05), "Softplus(beta=0.5, threshold=1e-05)"),
    (lambda: nn.PReLU(), lambda: torch.nn.PReLU(), "PReLU(num_parameters=1)"),
    (lambda: nn.PReLU(3, 0.1), lambda: torch.nn.PReLU(3, 0.1), "PReLU(num_parameters=3)"),
    (lambda: nn.Identity(), lambda: torch.nn.Identity(), "Identity()"),
]


@pytest.mark.parametrize("case", ACTIVATION_MODULES, ids=lambda c: c[2])
def test_activation_modules_match_torch(case):
    make, make_torch, text = case
    m = make()
    assert repr(m) == text
    x = _act_input((2, 3, 4)).astype(np.float32)
    y = m(cn.tensor(x)).detach()
    assert y.shape == x.shape
    if torch is not None:
        tm = make_torch()
        assert repr(tm) == text
        want = tm(torch.from_numpy(x)).detach().numpy()
        np.testing.assert_allclose(y.numpy(), want, rtol=1e-5, atol=1e-6)


def test_prelu_module_learns_its_weight():
    m = nn.PReLU(3, init=0.2)
    names = [n for n, _ in m.named_parameters()]
    assert names == ["weight"] and np.allclose(m.weight.detach().numpy(), 0.2)
    x = _act_input((2, 3, 4)).astype(np.float32)
    m(cn.tensor(x)).sum().backward()
    _, dw = R.prelu_backward(x, np.full(3, 0.2), np.ones_like(x))
    np.testing.assert_allclose(m.weight.grad.numpy(), dw, rtol=1e-5)
    assert list(m.state_dict()) == ["weight"]


def test_identity_accepts_any_arguments_and_returns_its_input():
    m = nn.Identity(54, unused="x")
    x = cn.randn(2, 3)
    assert np.array_equal(m(x).numpy(), x.numpy())


def test_activation_errors():
    with pytest.raises(ValueError, match=msg("gelu", "approximate", "'none' or 'tanh'", "'fast'", "(2, 3)")):
        F.gelu(cn.zeros(2, 3), approximate="fast")
    with pytest.raises(ValueError, match=msg("GELU", "approximate", "'fast'")):
        nn.GELU("fast")
    with pytest.raises(ValueError, match=msg("prelu", "3 parameters", "4 channel(s)", "(2, 4, 5)", "(3,)")):
        F.prelu(cn.zeros(2, 4, 5), cn.zeros(3))
    with pytest.raises(ValueError, match=msg("PReLU", "3 parameters", "(2, 4, 5)")):
        nn.PReLU(3)(cn.zeros(2, 4, 5))
    with pytest.raises(ValueError, match=msg("hardtanh", "min_val", "max_val", "(2,)")):
        F.hardtanh(cn.zeros(2), 1.0, -1.0)
    with pytest.raises(ValueError, match=msg("Hardtanh", "max_val", "min_val")):
        nn.Hardtanh(1.0, 1.0)


# ---- ModuleList / ModuleDict -------------------------------------------------------------------------

def test_module_list_operations():
    a, b, c, d = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1), nn.Tanh()
    ml = nn.ModuleList([a, b])
    assert len(ml) == 2 and ml[0] is a and ml[-1] is b
    ml.append(c)
    ml.extend([d])
    assert [m for m in ml] == [a, b, c, d]
    assert [n for n, _ in ml.named_children()] == ["0", "1", "2", "3"]
    ml.insert(1, nn.Sigmoid())
    assert [type(m).__name__ for m in ml] == ["Linear", "Sigmoid", "ReLU", "Linear", "Tanh"]
    assert [n for n, _ in ml.named_children()] == ["0", "1", "2", "3", "4"]
    sub = ml[1:3]
    assert isinstance(sub, nn.ModuleList) and [type(m).__name__ for m in sub] == ["Sigmoid", "ReLU"]
    del ml[1]
    assert [type(m).__name__ for m in ml] == ["Linear", "ReLU", "Linear", "Tanh"]
    assert [n for n, _ in ml.named_children()] == ["0", "1", "2", "3"]
    ml[1] = nn.GELU()
    assert type(ml[1]).__name__ == "GELU" and len(ml) == 4
    assert ml.pop(-1) is d and len(ml) == 3
    ml += [nn.Identity()]
    assert len(ml) == 4 and type(ml[3]).__name__ == "Identity"
    both = ml + nn.ModuleList([nn.ReLU()])
    assert len(both) == 5 and len(ml) == 4
    del ml[0:2]
    assert [n for n, _ in ml.named_children()] == ["0", "1"]
    with pytest.raises(IndexError, match="index 5 is out of range"):
        ml[5]
    with pytest.raises(TypeError):
        nn.ModuleList(3)


def test_module_dict_operations():
    a, b = nn.Linear(2, 2), nn.ReLU()
    md = nn.ModuleDict({"fc": a, "act": b})
    assert list(md) == ["fc", "act"] and md.keys() == ["fc", "act"] and len(md) == 2
    assert md["fc"] is a and "act" in md and "x" not in md
    md["out"] = nn.Linear(2, 1)
    md.update([("extra", nn.Tanh())])
    assert md.keys() == ["fc", "act", "out", "extra"]
    md["fc"] = nn.Linear(2, 5)  # replaced in place, keeps its position
    assert md.keys() == ["fc", "act", "out", "extra"] and md["fc"].out_features == 5
    assert [k for k, _ in md.items()] == md.keys() and len(md.values()) == 4
    assert md.pop("act") is b and md.keys() == ["fc", "out", "extra"]
    del md["extra"]
    assert md.keys() == ["fc", "out"]
    with pytest.raises(KeyError):
        md["missing"]
    with pytest.raises(ValueError, match="has length 3; 2 is required"):
        md.update([("a", nn.ReLU(), 1)])
    md.clear()
    assert len(md) == 0


def test_containers_register_children_under_torch_names():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(4, 4) for _ in range(2)])
            self.heads = nn.ModuleDict({"cls": nn.Linear(4, 3), "reg": nn.Linear(4, 1)})
            self.act = nn.PReLU()

        def forward(self, x):
            for blk in self.blocks:
                x = self.act(blk(x))
            return cn.cat([self.heads["cls"](x), self.heads["reg"](x)], dim=1)

    net = Net()
    keys = list(net.state_dict())
    want = ["blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias", "heads.cls.weight",
            "heads.cls.bias", "heads.reg.weight", "heads.reg.bias", "act.weight"]
    assert keys == want
    assert len(net.parameters()) == 9
    net.eval()
    assert not net.blocks[1].training and not net.heads["reg"].training
    out = net(cn.randn(5, 4))
    assert out.shape == (5, 4)
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    if torch is not None:
        class TNet(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.blocks = torch.nn.ModuleList([torch.nn.Linear(4, 4) for _ in range(2)])
                self.heads = torch.nn.ModuleDict({"cls": torch.nn.Linear(4, 3), "reg": torch.nn.Linear(4, 1)})
                self.act = torch.nn.PReLU()

        tnet = TNet()
        assert list(tnet.state_dict()) == keys
        # torch's weights load into ours and give torch's output
        net.load_state_dict({k: v.numpy() for k, v in tnet.state_dict().items()})
        x = randn(3, 4).astype(np.float32)
        h = torch.from_numpy(x)
        for blk in tnet.blocks:
            h = tnet.act(blk(h))
        want_out = torch.cat([tnet.heads["cls"](h), tnet.heads["reg"](h)], 1).detach().numpy()
        np.testing.assert_allclose(net(cn.tensor(x)).detach().numpy(), want_out, rtol=1e-5, atol=1e-6)


def test_container_reprs_match_torch():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()])
    want = ("ModuleList(\n  (0-2): 3 x Linear(in_features=2, out_features=2, bias=True)\n  (3): ReLU()\n)")
    assert repr(ml) == want
    assert repr(nn.ModuleList()) == "ModuleList()" and repr(nn.ModuleDict()) == "ModuleDict()"
    md = nn.ModuleDict({"a": nn.ReLU(), "b": nn.Linear(1, 1)})
    assert repr(md) == "ModuleDict(\n  (a): ReLU()\n  (b): Linear(in_features=1, out_features=1, bias=True)\n)"
    seq = nn.Sequential(nn.ModuleList([nn.ReLU(), nn.ReLU()]), nn.Identity())
    nested = "Sequential(\n  (0): ModuleList(\n    (0-1): 2 x ReLU()\n  )\n  (1): Identity()\n)"
    assert repr(seq) == nested
    if torch is not None:
        tml = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)] + [torch.nn.ReLU()])
        assert repr(tml) == want
        tseq = torch.nn.Sequential(torch.nn.ModuleList([torch.nn.ReLU(), torch.nn.ReLU()]), torch.nn.Identity())
        assert repr(tseq) == nested


# ---- losses ----------------------------------------------------------------------------------------

REDUCTIONS = ["mean", "sum", "none"]


def _targets(shape, C, ignore=None):
    t = rng.integers(0, C, shape)
    if ignore is not None:
        t.reshape(-1)[::3] = ignore
    return t


CE_CASES = [  # input shape, weight?, ignore_index?, label_smoothing
    ((4, 5), False, None, 0.0),
    ((4, 5), True, None, 0.0),
    ((4, 5), True, 2, 0.0),
    ((4, 5), False, None, 0.2),
    ((4, 5), True, None, 0.3),
    ((6, 4), True, -100, 0.1),
    ((2, 3, 2, 3), True, -100, 0.25),
    ((2, 3, 4), False, 1, 0.1),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CE_CASES, ids=str)
def test_cross_entropy_weight_ignore_index_label_smoothing(case, reduction):
    shape, weighted, ignore, eps = case
    C = shape[1]
    x = randn(*shape)
    ii = -100 if ignore is None else ignore
    t = _targets(shape[:1] + shape[2:], C, ii if ignore is not None else None)
    w = rng.uniform(0.2, 2.0, C) if weighted else None
    inputs = [x, t] + ([w] if weighted else [])

    def fn(x, t, w=None):
        return F.cross_entropy(x, t, weight=w, ignore_index=ii, reduction=reduction, label_smoothing=eps)

    def tfn(x, t, w=None):
        return tF.cross_entropy(x, t, weight=w, ignore_index=ii, reduction=reduction, label_smoothing=eps)

    check_op(f"cross_entropy(weight={weighted}, ignore_index={ii}, label_smoothing={eps}, {reduction})", fn,
             inputs, (0,), ref=lambda x, t, w=None: R.cross_entropy(x, t, w, ii, reduction, eps),
             ref_grad=lambda x, t, *rest: R.cross_entropy_backward(x, t, rest[-1], rest[0] if weighted else None,
                                                                   ii, reduction, eps),
             torch_fn=tfn)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted,ignore", [(True, None), (True, 1), (False, 0)])
def test_nll_loss_weight_ignore_index(weighted, ignore, reduction):
    x = np.log(rng.dirichlet(np.ones(4), 6))
    ii = -100 if ignore is None else ignore
    t = _targets((6,), 4, ignore)
    w = rng.uniform(0.2, 2.0, 4)
    inputs = [x, t] + ([w] if weighted else [])

    def fn(x, t, w=None):
        return F.nll_loss(x, t, weight=w, ignore_index=ii, reduction=reduction)

    check_op(f"nll_loss(weight={weighted}, ignore_index={ii}, {reduction})", fn, inputs, (0,),
             ref=lambda x, t, w=None: R.nll_loss(x, t, w, ii, reduction),
             ref_grad=lambda x, t, *rest: R.nll_loss_backward(x, t, rest[-1], rest[0] if weighted else None, ii,
                                                              reduction),
             torch_fn=lambda x, t, w=None: tF.nll_loss(x, t, weight=w, ignore_index=ii, reduction=reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape", [None, (3, 4), (4,)])
def test_binary_cross_entropy(weight_shape, reduction):
    x = rng.uniform(0.05, 0.95, (3, 4))
    t = rng.uniform(0, 1, (3, 4))
    inputs = [x, t] + ([rng.uniform(0.5, 2, weight_shape)] if weight_shape else [])
    check_op(f"binary_cross_entropy(weight {weight_shape}, {reduction})",
             lambda x, t, w=None: F.binary_cross_entropy(x, t, w, reduction=reduction), inputs, (0, 1),
             ref=lambda x, t, w=None: R.binary_cross_entropy(x, t, w, reduction),
             ref_grad=lambda x, t, *rest: R.binary_cross_entropy_backward(
                 x, t, rest[-1], rest[0] if weight_shape else None, reduction),
             torch_fn=lambda x, t, w=None: tF.binary_cross_entropy(x, t, w, reduction=reduction))


def test_binary_cross_entropy_clamps_the_log_at_minus_100():
    x = np.array([0.0, 1.0, 0.5, 1.0])
    t = np.array([1.0, 0.0, 1.0, 1.0])
    got = F.binary_cross_entropy(cn.tensor(x), cn.tensor(t), reduction="none").numpy()
    np.testing.assert_allclose(got, R.binary_cross_entropy(x, t, reduction="none"), rtol=1e-6)
    assert got[0] == 100 and got[1] == 100
    if torch is not None:
        want = tF.binary_cross_entropy(torch.tensor(x, dtype=torch.float32), torch.tensor(t, dtype=torch.float32),
                                       reduction="none").numpy()
        np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape,pos_shape", [(None, None), ((3, 4), None), (None, (4,)), ((4,), (3, 4))])
def test_binary_cross_entropy_with_logits(weight_shape, pos_shape, reduction):
    x = randn(3, 4) * 3
    x[0, 0], x[1, 1] = 40.0, -40.0  # the stable form holds at large |x|
    t = rng.uniform(0, 1, (3, 4))
    w = rng.uniform(0.5, 2, weight_shape) if weight_shape else None
    pw = rng.uniform(0.5, 3, pos_shape) if pos_shape else None

    def fn(x, t):
        return F.binary_cross_entropy_with_logits(x, t, None if w is None else cn.tensor(w), reduction=reduction,
                                                  pos_weight=None if pw is None else cn.tensor(pw))

    def tfn(x, t):
        return tF.binary_cross_entropy_with_logits(
            x, t, None if w is None else torch.from_numpy(w).to(x.dtype), reduction=reduction,
            pos_weight=None if pw is None else torch.from_numpy(pw).to(x.dtype))

    check_op(f"binary_cross_entropy_with_logits(weight {weight_shape}, pos_weight {pos_shape}, {reduction})",
             fn, [x, t], (0, 1), ref=lambda x, t: R.binary_cross_entropy_with_logits(x, t, w, reduction, pw),
             ref_grad=lambda x, t, dy: R.binary_cross_entropy_with_logits_backward(x, t, dy, w, reduction, pw),
             torch_fn=tfn)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_l1_loss(reduction):
    x, t = randn(3, 5), randn(3, 5)
    check_op(f"l1_loss({reduction})", lambda x, t: F.l1_loss(x, t, reduction=reduction), [x, t], (0, 1),
             ref=lambda x, t: R.l1_loss(x, t, reduction),
             ref_grad=lambda x, t, dy: R.l1_loss_backward(x, t, dy, reduction),
             torch_fn=lambda x, t: tF.l1_loss(x, t, reduction=reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("beta", [1.0, 0.5, 0.0])
def test_smooth_l1_loss(beta, reduction):
    x, t = randn(3, 5), randn(3, 5)
    d = x - t
    x[np.abs(np.abs(d) - beta) < 0.02] += 0.05  # away from the kink at |d| = beta
    check_op(f"smooth_l1_loss(beta={beta}, {reduction})",
             lambda x, t: F.smooth_l1_loss(x, t, reduction=reduction, beta=beta), [x, t], (0, 1),
             ref=lambda x, t: R.smooth_l1_loss(x, t, reduction, beta),
             ref_grad=lambda x, t, dy: R.smooth_l1_loss_backward(x, t, dy, reduction, beta),
             torch_fn=lambda x, t: tF.smooth_l1_loss(x, t, reduction=reduction, beta=beta))


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss")  # torch's notice
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(log_target, reduction):
    x = np.log(rng.dirichlet(np.ones(5), 4))
    p = rng.dirichlet(np.ones(5), 4)
    t = np.log(p) if log_target else p
    check_op(f"kl_div(log_target={log_target}, {reduction})",
             lambda x, t: F.kl_div(x, t, reduction=reduction, log_target=log_target), [x, t], (0, 1),
             ref=lambda x, t: R.kl_div(x, t, reduction, log_target),
             ref_grad=lambda x, t, dy: R.kl_div_backward(x, t, dy, reduction, log_target),
             torch_fn=lambda x, t: tF.kl_div(x, t, reduction=reduction, log_target=log_target))


def test_kl_div_zero_target_contributes_nothing():
    x = np.log(np.array([[0.2, 0.3, 0.5]]))
    t = np.array([[0.0, 0.4, 0.6]])
    got = F.kl_div(cn.tensor(x), cn.tensor(t), reduction="none").numpy()
    assert got[0, 0] == 0
    np.testing.assert_allclose(got, R.kl_div(x, t, "none"), rtol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p,margin,weighted", [(1, 1.0, False), (2, 1.0, False), (1, 0.5, True), (2, 2.0, True)])
def test_multi_margin_loss(p, margin, weighted, reduction):
    x = randn(5, 4)
    t = rng.integers(0, 4, 5)
    w = rng.uniform(0.5, 2, 4)
    inputs = [x, t] + ([w] if weighted else [])

    def fn(x, t, w=None):
        return F.multi_margin_loss(x, t, p=p, margin=margin, weight=w, reduction=reduction)

    check_op(f"multi_margin_loss(p={p}, margin={margin}, weight={weighted}, {reduction})", fn, inputs, (0,),
             ref=lambda x, t, w=None: R.multi_margin_loss(x, t, p, margin, w, reduction),
             ref_grad=lambda x, t, *rest: R.multi_margin_loss_backward(x, t, rest[-1], p, margin,
                                                                       rest[0] if weighted else None, reduction),
             torch_fn=lambda x, t, w=None: tF.multi_margin_loss(x, t, p=p, margin=margin, weight=w,
                                                                reduction=reduction))


def test_multi_margin_loss_single_sample_shapes():
    x = cn.tensor(randn(4))
    assert F.multi_margin_loss(x, cn.tensor(np.int64(1)), reduction="none").shape == ()
    assert F.multi_margin_loss(x, cn.tensor(np.array([1])), reduction="none").shape == (1,)


LOSS_MODULES = [  # convnet module, torch module, inputs maker
    (lambda: nn.BCELoss(), lambda: torch.nn.BCELoss(), "prob"),
    (lambda: nn.BCELoss(weight=cn.tensor(np.linspace(0.5, 2, 4))), lambda: torch.nn.BCELoss(
        weight=torch.linspace(0.5, 2, 4, dtype=torch.float64)), "prob"),
    (lambda: nn.BCEWithLogitsLoss(pos_weight=cn.tensor(np.full(4, 2.0))),
     lambda: torch.nn.BCEWithLogitsLoss(pos_weight=torch.full((4,), 2.0, dtype=torch.float64)), "real"),
    (lambda: nn.L1Loss(reduction="sum"), lambda: torch.nn.L1Loss(reduction="sum"), "real"),
    (lambda: nn.SmoothL1Loss(beta=0.5), lambda: torch.nn.SmoothL1Loss(beta=0.5), "real"),
    (lambda: nn.KLDivLoss(reduction="batchmean"), lambda: torch.nn.KLDivLoss(reduction="batchmean"), "dist"),
    (lambda: nn.MultiMarginLoss(p=2, margin=0.5), lambda: torch.nn.MultiMarginLoss(p=2, margin=0.5), "class"),
    (lambda: nn.CrossEntropyLoss(weight=cn.tensor(np.linspace(0.5, 2, 4)), label_smoothing=0.1),
     lambda: torch.nn.CrossEntropyLoss(weight=torch.linspace(0.5, 2, 4, dtype=torch.float64), label_smoothing=0.1),
     "class"),
    (lambda: nn.NLLLoss(None, None, 2), lambda: torch.nn.NLLLoss(None, None, 2), "class"),
    (lambda: nn.MSELoss(None, False), lambda: torch.nn.MSELoss(None, False), "real"),
]


def _loss_inputs(kind):
    if kind == "prob":
        return rng.uniform(0.05, 0.95, (3, 4)), rng.uniform(0, 1, (3, 4))
    if kind == "dist":
        return np.log(rng.dirichlet(np.ones(4), 3)), rng.dirichlet(np.ones(4), 3)
    if kind == "class":
        return randn(3, 4), rng.integers(0, 4, 3)
    return randn(3, 4), randn(3, 4)


@pytest.mark.filterwarnings("ignore:size_average and reduce args will be deprecated")  # torch's notice
@pytest.mark.parametrize("case", LOSS_MODULES, ids=["BCELoss", "BCELoss(weight)", "BCEWithLogitsLoss(pos_weight)",
                                                    "L1Loss(sum)", "SmoothL1Loss(beta)", "KLDivLoss(batchmean)",
                                                    "MultiMarginLoss(p=2)", "CrossEntropyLoss(weight, smoothing)",
                                                    "NLLLoss(ignore_index)", "MSELoss(reduce=False)"])
def test_loss_modules_match_torch(case):
    make, make_torch, kind = case
    m = make()
    x, t = _loss_inputs(kind)
    xt = cn.tensor(x)
    xt.requires_grad_(True)
    loss = m(xt, cn.tensor(t))
    loss.sum().backward()
    if torch is None:
        return
    tm = make_torch()
    assert repr(m) == repr(tm)
    assert list(m.state_dict()) == list(tm.state_dict())
    assert m.reduction == tm.reduction
    tx = torch.from_numpy(x)
    tx.requires_grad_(True)
    tloss = tm(tx, torch.from_numpy(t))
    tloss.sum().backward()
    np.testing.assert_allclose(loss.detach().numpy(), tloss.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_loss_errors():
    x4, t4 = cn.zeros(2, 4), cn.zeros(2, 4)
    with pytest.raises(ValueError, match=msg("cross_entropy", "weight has shape (3,)", "expected (4,)", "(2, 4)")):
        F.cross_entropy(x4, cn.tensor(np.array([0, 1])), weight=cn.ones(3))
    with pytest.raises(ValueError, match=msg("cross_entropy", "label_smoothing", "1.5")):
        F.cross_entropy(x4, cn.tensor(np.array([0, 1])), label_smoothing=1.5)
    with pytest.raises(ValueError, match=msg("nll_loss", "weight has shape (5,)", "expected (4,)")):
        F.nll_loss(x4, cn.tensor(np.array([0, 1])), weight=cn.ones(5))
    with pytest.raises(ValueError, match=msg("binary_cross_entropy", "input shape (2, 4)", "target shape (2, 3)")):
        F.binary_cross_entropy(cn.rand(2, 4), cn.zeros(2, 3))
    with pytest.raises(ValueError, match=msg("binary_cross_entropy", "between 0 and 1", "(2, 4)")):
        F.binary_cross_entropy(cn.full((2, 4), 1.5), t4)
    with pytest.raises(ValueError, match=msg("binary_cross_entropy_with_logits", "(3,)", "(2, 4)")):
        F.binary_cross_entropy_with_logits(x4, t4, pos_weight=cn.ones(3))
    with pytest.raises(ValueError, match=msg("binary_cross_entropy_with_logits", "weight", "(2, 2, 4)",
                                             "cannot be broadcast", "(2, 4)")):
        F.binary_cross_entropy_with_logits(x4, t4, weight=cn.ones(2, 2, 4))
    with pytest.raises(ValueError, match=msg("l1_loss", "(2, 4)", "(4, 2)")):
        F.l1_loss(x4, cn.zeros(4, 2))
    with pytest.raises(ValueError, match=msg("smooth_l1_loss", "beta", "-1")):
        F.smooth_l1_loss(x4, t4, beta=-1.0)
    with pytest.raises(ValueError, match=msg("kl_div", "batchmean", "'avg'".replace("'", '"'))):
        F.kl_div(x4, t4, reduction="avg")
    with pytest.raises(ValueError, match=msg("multi_margin_loss", "p must be 1 or 2", "3")):
        F.multi_margin_loss(x4, cn.tensor(np.array([0, 1])), p=3)
    with pytest.raises(ValueError, match=msg("multi_margin_loss", "target 4", "out of range", "(2, 4)")):
        F.multi_margin_loss(x4, cn.tensor(np.array([0, 4])))
    with pytest.raises(ValueError, match=msg("multi_margin_loss", "target shape (3,)", "(2, 4)")):
        F.multi_margin_loss(x4, cn.tensor(np.array([0, 1, 2])))
    with pytest.raises(ValueError, match=msg("BCELoss", "reduction", "'avg'")):
        nn.BCELoss(reduction="avg")


def test_legacy_size_average_and_reduce_map_to_reduction():
    x, t = cn.tensor(randn(3, 4)), cn.tensor(randn(3, 4))
    assert nn.L1Loss(size_average=False).reduction == "sum"
    assert nn.L1Loss(reduce=False).reduction == "none"
    assert nn.L1Loss(True, True).reduction == "mean"
    s = F.l1_loss(x, t, size_average=False).item()
    assert abs(s - F.l1_loss(x, t, reduction="sum").item()) < 1e-5
    assert F.l1_loss(x, t, reduce=False).shape == (3, 4)


def test_l1_loss_weight_as_torch():
    x, t, w = randn(3, 4), randn(3, 4), rng.uniform(0.1, 2, (3, 4))
    got = F.l1_loss(cn.tensor(x), cn.tensor(t), weight=cn.tensor(w)).item()
    want = (np.abs(x - t) * w).sum() / w.sum()
    assert abs(got - want) < 1e-5 * abs(want)
    if torch is not None:
        tw = tF.l1_loss(torch.from_numpy(x), torch.from_numpy(t), weight=torch.from_numpy(w)).item()
        assert abs(tw - want) < 1e-10


# ---- using a Module subclass before Module.__init__() ----------------------------------------------

BEFORE_INIT = {  # what __init__ does before super().__init__(), and the error it must raise
    "self.fc = nn.Linear(2, 2)": "cannot assign module before Module.__init__() call",
    "self.w = nn.Parameter(cn.zeros(2))": "cannot assign parameters before Module.__init__() call",
    "self.parameters()": "cannot call parameters() before Module.__init__() call",
    "self.state_dict()": "cannot call state_dict() before Module.__init__() call",
    "self.train()": "cannot call train() before Module.__init__() call",
    "self.missing": "cannot access attribute 'missing' before Module.__init__() call",
    "self(cn.zeros(1))": "cannot call the module before Module.__init__() call",
    "self.register_buffer('b', cn.zeros(1))": "cannot call register_buffer() before Module.__init__() call",
    "repr(self)": "cannot call __repr__() before Module.__init__() call",
}


@pytest.mark.parametrize("statement", list(BEFORE_INIT))
def test_module_used_before_init_raises_attribute_error(statement):
    # in a child interpreter: before the fix, these statements crashed the process
    code = textwrap.dedent(f"""
        import convnet as cn
        from convnet import nn

        class Net(nn.Module):
            def __init__(self):
                {statement}
                super().__init__()

        try:
            Net()
        except AttributeError as e:
            print("AttributeError:", e)
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"{statement!r}: the interpreter exited with {r.returncode}: {r.stderr[-2000:]}"
    assert f"AttributeError: {BEFORE_INIT[statement]}" in r.stdout, r.stdout + r.stderr
    assert "Net.__init__ must call super().__init__() first" in r.stdout


def test_sequential_subclass_used_before_init_raises_attribute_error():
    code = textwrap.dedent("""
        from convnet import nn

        class Stack(nn.Sequential):
            def __init__(self):
                self.append(nn.ReLU())
                super().__init__()

        try:
            Stack()
        except AttributeError as e:
            print("AttributeError:", e)
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"the interpreter exited with {r.returncode}: {r.stderr[-2000:]}"
    assert "AttributeError: cannot call append() before Module.__init__() call" in r.stdout, r.stdout + r.stderr


def test_plain_attributes_before_init_are_allowed_as_torch():
    class Net(nn.Module):
        def __init__(self):
            self.width = 3
            super().__init__()
            self.fc = nn.Linear(self.width, 2)

    net = Net()
    assert net.width == 3 and list(net.state_dict()) == ["fc.weight", "fc.bias"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape,weighted,eps", [((4, 5), False, 0.0), ((4, 5), True, 0.2), ((2, 3, 2, 2), True, 0.0)])
def test_cross_entropy_with_class_probabilities(shape, weighted, eps, reduction):
    x = randn(*shape)
    p = rng.dirichlet(np.ones(shape[1]), shape[:1] + shape[2:])
    t = np.ascontiguousarray(np.moveaxis(p, -1, 1))  # opcheck perturbs inputs through flat views
    w = rng.uniform(0.2, 2.0, shape[1]) if weighted else None

    def fn(x, t):
        return F.cross_entropy(x, t, weight=None if w is None else cn.tensor(w), reduction=reduction,
                               label_smoothing=eps)

    def tfn(x, t):
        return tF.cross_entropy(x, t, weight=None if w is None else torch.from_numpy(w).to(x.dtype),
                                reduction=reduction, label_smoothing=eps)

    check_op(f"cross_entropy(probabilities, weight={weighted}, label_smoothing={eps}, {reduction})", fn, [x, t],
             (0, 1), ref=lambda x, t: R.cross_entropy_probs(x, t, w, reduction, eps),
             ref_grad=lambda x, t, dy: R.cross_entropy_probs_backward(x, t, dy, w, reduction, eps), torch_fn=tfn)


def test_prelu_weight_gradient_does_not_depend_on_the_thread_count():
    x = cn.tensor(randn(16, 8, 12, 12).astype(np.float32))
    m = nn.PReLU(8)
    before = cn.get_num_threads()
    grads = []
    try:
        for threads in (1, 2, 3):
            cn.set_num_threads(threads)
            m.zero_grad()
            m(x).sum().backward()
            grads.append(m.weight.grad.numpy().copy())
    finally:
        cn.set_num_threads(before)
    assert all(np.array_equal(grads[0], g) for g in grads[1:])
