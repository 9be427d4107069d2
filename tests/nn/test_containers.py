"""Containers: ModuleList, ModuleDict and Sequential (children under torch's names, reprs), and a
Module subclass used before Module.__init__()."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from convnet import nn
import convnet as cn
from opcheck import randn, torch


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


BEFORE_INIT = [  # the base class, what __init__ does before super().__init__(), the error it must raise
    ("Module", "self.fc = nn.Linear(2, 2)", "cannot assign module before Module.__init__() call"),
    ("Module", "self.w = nn.Parameter(cn.zeros(2))", "cannot assign parameters before Module.__init__() call"),
    ("Module", "self.parameters()", "cannot call parameters() before Module.__init__() call"),
    ("Module", "self.state_dict()", "cannot call state_dict() before Module.__init__() call"),
    ("Module", "self.train()", "cannot call train() before Module.__init__() call"),
    ("Module", "self.missing", "cannot access attribute 'missing' before Module.__init__() call"),
    ("Module", "self(cn.zeros(1))", "cannot call the module before Module.__init__() call"),
    ("Module", "self.register_buffer('b', cn.zeros(1))", "cannot call register_buffer() before Module.__init__() call"),
    ("Module", "repr(self)", "cannot call __repr__() before Module.__init__() call"),
    ("Sequential", "self.append(nn.ReLU())", "cannot call append() before Module.__init__() call"),
]


@pytest.mark.parametrize("base,statement,error", BEFORE_INIT, ids=[f"{b}: {s}" for b, s, _ in BEFORE_INIT])
def test_module_used_before_init_raises_attribute_error(base, statement, error):
    # in a child interpreter: before the fix, these statements crashed the process
    code = textwrap.dedent(f"""
        import convnet as cn
        from convnet import nn

        class Net(nn.{base}):
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
    assert f"AttributeError: {error}" in r.stdout, r.stdout + r.stderr
    assert "Net.__init__ must call super().__init__() first" in r.stdout


def test_plain_attributes_before_init_are_allowed_as_torch():
    class Net(nn.Module):
        def __init__(self):
            self.width = 3
            super().__init__()
            self.fc = nn.Linear(self.width, 2)

    net = Net()
    assert net.width == 3 and list(net.state_dict()) == ["fc.weight", "fc.bias"]
