"""Module hooks (cpp/src/nn/module.cpp) against PyTorch: register_forward_pre_hook (may replace the
input), register_full_backward_hook (sees grad_input and grad_output, may replace grad_input;
grad_input None for an input that needs no gradient), on a C++ layer and on a Python module, and
their removal."""

import numpy as np
import pytest

import convnet as cn
from opcheck import randn, torch

pytestmark = pytest.mark.skipif(torch is None, reason="compares with PyTorch")


def _run(lib, tm, x_requires_grad, scale_grad_input, python_module):
    if lib is cn:
        inner = cn.nn.Linear(3, 2)
        inner.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    else:
        inner = tm
    if python_module:
        base = lib.nn.Module

        class Wrap(base):
            def __init__(self):
                super().__init__()
                self.lin = inner

            def forward(self, x):
                return self.lin(x).tanh()

        m = Wrap()
    else:
        m = inner
    log = []
    pre = m.register_forward_pre_hook(lambda mod, inp: (inp[0] * 2,))

    def bw(mod, gi, go):
        log.append((None if gi[0] is None else gi[0].detach().numpy().copy(), go[0].detach().numpy().copy()))
        if scale_grad_input and gi[0] is not None:
            return (gi[0] * 3,)
    m.register_full_backward_hook(bw)
    a = np.arange(6, dtype=np.float32).reshape(2, 3) / 7 - 0.3
    x = (cn.tensor(a) if lib is cn else torch.from_numpy(a.copy())).requires_grad_(x_requires_grad)
    (m(x) ** 2).sum().backward()
    grads = {n: p.grad.numpy().copy() for n, p in m.named_parameters()}
    xg = x.grad.numpy().copy() if x_requires_grad else None
    pre.remove()
    out_after = m(x).detach().numpy()
    return log, xg, grads, out_after


@pytest.mark.parametrize("python_module", [False, True])
@pytest.mark.parametrize("x_requires_grad,scale", [(True, False), (True, True), (False, False)])
def test_module_hooks_match_torch(python_module, x_requires_grad, scale):
    torch.manual_seed(0)
    tm = torch.nn.Linear(3, 2)
    mine = _run(cn, tm, x_requires_grad, scale, python_module)
    ref = _run(torch, tm, x_requires_grad, scale, python_module)
    assert len(mine[0]) == len(ref[0]) == 1
    for (gi, go), (tgi, tgo) in zip(mine[0], ref[0]):
        assert (gi is None) == (tgi is None)
        if gi is not None:
            np.testing.assert_allclose(gi, tgi, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(go, tgo, rtol=1e-5, atol=1e-6)
    if x_requires_grad:
        np.testing.assert_allclose(mine[1], ref[1], rtol=1e-5, atol=1e-6)
    for n in ref[2]:
        np.testing.assert_allclose(mine[2][n], ref[2][n], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mine[3], ref[3], rtol=1e-5, atol=1e-6)  # the pre-hook is gone
