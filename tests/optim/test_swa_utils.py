"""convnet.optim.swa_utils against torch.optim.swa_utils: AveragedModel (SWA and EMA, per tensor
and multi-tensor averaging functions, with and without buffers), its outputs and state dict,
and update_bn, on the same model trained on the same data."""

import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from convnet.optim import swa_utils as swa

torch = pytest.importorskip("torch")
from opcheck import to_np  # noqa: E402
from torch_twins import _pair  # noqa: E402

tswa = torch.optim.swa_utils
STEPS = 12


def _bn_net():
    tnn = torch.nn
    return (cn.nn.Sequential(cn.nn.Conv2d(1, 4, 3), cn.nn.BatchNorm2d(4), cn.nn.ReLU(), cn.nn.Flatten(),
                             cn.nn.Linear(144, 5)),
            tnn.Sequential(tnn.Conv2d(1, 4, 3), tnn.BatchNorm2d(4), tnn.ReLU(), tnn.Flatten(), tnn.Linear(144, 5)))


def _batches(n=STEPS, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((6, 1, 8, 8)).astype(np.float64), rng.integers(0, 5, 6)) for _ in range(n)]


def _train_step(m, t, opt, topt, x, y):
    opt.zero_grad()
    topt.zero_grad()
    F.cross_entropy(m(cn.tensor(x)), cn.tensor(y)).backward()
    torch.nn.functional.cross_entropy(t(torch.from_numpy(x)), torch.from_numpy(y)).backward()
    opt.step()
    topt.step()


def _assert_close(got, want, what, rtol=1e-10):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    scale = max(float(np.max(np.abs(want))), 1e-3)
    err = float(np.max(np.abs(got - want))) if got.size else 0.0
    assert got.shape == want.shape and err <= rtol * scale, f"{what}: differs by {err:.3g}"


AVERAGES = {
    "swa": lambda lib: dict(),
    "ema-multi": lambda lib: dict(multi_avg_fn=lib.get_ema_multi_avg_fn(0.8)),
    "ema-per-tensor": lambda lib: dict(avg_fn=lib.get_ema_avg_fn(0.8)),
    "ema-buffers": lambda lib: dict(multi_avg_fn=lib.get_ema_multi_avg_fn(0.7), use_buffers=True),
    "swa-buffers": lambda lib: dict(use_buffers=True),
    "swa-per-tensor": lambda lib: dict(avg_fn=lib.get_swa_avg_fn()),
}


@pytest.mark.parametrize("name", list(AVERAGES))
def test_averaged_model_matches_torch(name):
    m, t = _pair(_bn_net, "float64")
    am, at = swa.AveragedModel(m, **AVERAGES[name](swa)), tswa.AveragedModel(t, **AVERAGES[name](tswa))
    opt = cn.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(t.parameters(), lr=0.1, momentum=0.9)
    data = _batches()
    for step, (x, y) in enumerate(data):
        _train_step(m, t, opt, topt, x, y)
        if step % 2 == 0:
            am.update_parameters(m)
            at.update_parameters(t)
    assert int(am.n_averaged.item()) == int(at.n_averaged) == STEPS // 2
    tsd = at.state_dict()
    sd = am.state_dict()
    assert list(sd) == list(tsd)  # "module.<name>" for each parameter and buffer, then n_averaged
    for k, v in tsd.items():
        _assert_close(to_np(sd[k]), v.detach().numpy(), f"{name}: {k}")
    # the averages differ from the model's weights, which calling the averaged model leaves alone
    before = {k: to_np(v).copy() for k, v in m.state_dict().items()}
    assert not np.allclose(before["0.weight"], to_np(sd["module.0.weight"]))
    x = torch.from_numpy(data[0][0])
    for mode in ("train", "eval"):
        getattr(am, mode)()
        getattr(at, mode)()
        _assert_close(to_np(am(cn.tensor(data[0][0]))), at(x).detach().numpy(), f"{name}: {mode} output")
    m.eval()
    t.eval()
    _assert_close(to_np(m(cn.tensor(data[0][0]))), t(x).detach().numpy(), f"{name}: the model's own output")
    for k, v in m.state_dict().items():  # batch-norm statistics included: the averages took them
        assert np.array_equal(to_np(v), before[k]), k


def test_update_bn_matches_torch():
    m, t = _pair(_bn_net, "float64")
    am, at = swa.AveragedModel(m), tswa.AveragedModel(t)
    opt = cn.optim.SGD(m.parameters(), lr=0.1)
    topt = torch.optim.SGD(t.parameters(), lr=0.1)
    data = _batches()
    for x, y in data:
        _train_step(m, t, opt, topt, x, y)
        am.update_parameters(m)
        at.update_parameters(t)
    own = {k: to_np(v).copy() for k, v in m.state_dict().items()}
    loader = [(cn.tensor(x), cn.tensor(y)) for x, y in data[:5]]
    tloader = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in data[:5]]
    swa.update_bn(loader, am)
    tswa.update_bn(tloader, at)
    sd, tsd = am.state_dict(), at.state_dict()
    for k in ("module.1.running_mean", "module.1.running_var", "module.1.num_batches_tracked"):
        _assert_close(to_np(sd[k]), tsd[k].numpy(), k)
    # the model's own statistics and weights are untouched, and its momentum restored
    for k, v in m.state_dict().items():
        assert np.array_equal(to_np(v), own[k]), k
    assert m[1].momentum == 0.1 and m.training
    # on a plain model, with batches that are bare tensors
    swa.update_bn([cn.tensor(x) for x, _ in data[:5]], m)
    tswa.update_bn([torch.from_numpy(x) for x, _ in data[:5]], t)
    _assert_close(to_np(m[1].running_var), t[1].running_var.numpy(), "plain model running_var")


def test_averaged_model_state_dict_round_trip_and_copy_to():
    m, t = _pair(_bn_net, "float32")
    am = swa.AveragedModel(m, multi_avg_fn=swa.get_ema_multi_avg_fn(0.5), use_buffers=True)
    opt = cn.optim.SGD(m.parameters(), lr=0.1)
    for x, y in _batches(4):
        opt.zero_grad()
        F.cross_entropy(m(cn.tensor(x.astype(np.float32))), cn.tensor(y)).backward()
        opt.step()
        am.update_parameters(m)
    sd = am.state_dict()
    m2, _ = _pair(_bn_net, "float32", seed=3)
    am2 = swa.AveragedModel(m2, multi_avg_fn=swa.get_ema_multi_avg_fn(0.5), use_buffers=True)
    am2.load_state_dict(sd)
    for k, v in am2.state_dict().items():
        assert np.array_equal(to_np(v), to_np(sd[k])), k
    am2.copy_to(m2)
    for k, v in m2.state_dict().items():
        assert np.array_equal(to_np(v), to_np(sd["module." + k])), k
    with pytest.raises(KeyError, match=r"missing keys \['n_averaged'\]"):
        am2.load_state_dict({k: v for k, v in sd.items() if k != "n_averaged"})
    with pytest.raises(ValueError, match="only one of avg_fn and multi_avg_fn"):
        swa.AveragedModel(m, avg_fn=swa.get_ema_avg_fn(), multi_avg_fn=swa.get_ema_multi_avg_fn())
    with pytest.raises(ValueError, match="invalid decay value 1.5"):
        swa.get_ema_multi_avg_fn(1.5)
