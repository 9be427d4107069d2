"""Training on the GPU: optimizer steps and gradient clipping on CUDA against the CPU, optimizer
state on the parameters' device, a LeNet-5 trajectory on MNIST, fit/evaluate/predict with
device=, pinned DataLoader batches, checkpoints and weights files of GPU models, and
`convnet train --device cuda`."""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import convnet as cn
import convnet.nn as nn
from conftest import ROOT, image_folder
from convnet import callbacks as C
from convnet.data import DataLoader
from opcheck import assert_close, requires_cuda, without_gpu

pytestmark = pytest.mark.cuda  # the device tests (run by the emulated CUDA build)

SHAPES = [(5, 3), (7,), (2, 3, 3, 3), (1,)]
STEPS = 5

OPTIMIZERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=1e-3, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, weight_decay=1e-2, amsgrad=True)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, maximize=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.005, momentum=0.9, weight_decay=1e-2)),
    ("RMSprop", dict(lr=0.005, centered=True, momentum=0.5, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=1e-2, initial_accumulator_value=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=1e-2)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.01, weight_decay=1e-2)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Adadelta", dict(lr=1.0, weight_decay=1e-2, maximize=True)),
    ("LARS", dict(lr=0.5, weight_decay=1e-3, trust_coefficient=0.02)),
    ("LARS", dict(lr=0.1, momentum=0.0, layer_adaptation=False)),
    ("LAMB", dict(lr=0.01, weight_decay=1e-2)),
]


def _ids(c):
    name, kw = c
    return name + "(" + ",".join(f"{k}={v}" for k, v in kw.items()) + ")"


def _run_optimizer(name, kw, dtype, device, steps=STEPS):
    """Parameters of SHAPES in two groups (the second with half the rate) after `steps` steps on
    gradients drawn from a fixed generator; parameter 1 has no gradient at step 2 (its state then
    lags one step). Returns the parameters and the state dict, on the host."""
    rng = np.random.default_rng(0)
    params = [cn.tensor(rng.standard_normal(s).astype(dtype), device=device, requires_grad=True)
              for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]
    opt = getattr(cn.optim, name)([{"params": params[:2]}, {"params": params[2:], "lr": kw["lr"] / 2}], **kw)
    for step in range(steps):
        for i, (p, g) in enumerate(zip(params, grads[step])):
            p.grad = None if (step == 2 and i == 1) else cn.tensor(g, device=device)
        opt.step()
    state = opt.state_dict()["state"]
    for entries in state.values():
        for k, v in entries.items():
            assert v.device == cn.device("cpu" if k in ("step", "mu_product") else device), f"{k} on {v.device}"
    return ([p.detach().cpu().numpy() for p in params],
            {i: {k: v.cpu().numpy() for k, v in e.items()} for i, e in state.items()})


@requires_cuda
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("config", OPTIMIZERS, ids=_ids)
def test_optimizer_steps_on_cuda_match_cpu(config, dtype):
    name, kw = config
    want_p, want_s = _run_optimizer(name, kw, dtype, "cpu")
    got_p, got_s = _run_optimizer(name, kw, dtype, "cuda")
    for i, (g, w) in enumerate(zip(got_p, want_p)):
        assert_close(g, w, 1e-5, f"{name}{kw} parameter {i} ({np.dtype(dtype).name})")
    assert got_s.keys() == want_s.keys()
    for i in want_s:
        assert got_s[i].keys() == want_s[i].keys()
        for k in want_s[i]:
            assert_close(got_s[i][k], want_s[i][k], 1e-5, f"{name}{kw} state {k} of parameter {i}")


@requires_cuda
@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_state_dict_moves_between_devices_and_resumes(name):
    kw = {"lr": 0.05, **({"momentum": 0.9} if name in ("SGD", "RMSprop") else {})}
    rng = np.random.default_rng(1)
    w0 = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in SHAPES] for _ in range(4)]

    def run(devices):
        """Two steps on devices[0], then the state moves to a new optimizer of parameters on
        devices[1] for two more steps."""
        ps = [cn.tensor(w, device=devices[0], requires_grad=True) for w in w0]
        opt = getattr(cn.optim, name)(ps, **kw)
        for step in range(4):
            if step == 2:
                ps = [cn.tensor(p.detach().cpu().numpy(), device=devices[1], requires_grad=True) for p in ps]
                state = opt.state_dict()
                opt = getattr(cn.optim, name)(ps, **kw)
                opt.load_state_dict(state)
                for e in opt.state_dict()["state"].values():
                    for k, v in e.items():
                        assert v.device == cn.device("cpu" if k == "step" else devices[1]), k
            for p, g in zip(ps, grads[step]):
                p.grad = cn.tensor(g, device=p.device)
            opt.step()
        return [p.detach().cpu().numpy() for p in ps]

    want = run(("cpu", "cpu"))
    for devices in (("cpu", "cuda"), ("cuda", "cpu"), ("cuda", "cuda")):
        for g, w in zip(run(devices), want):
            assert_close(g, w, 1e-5, f"{name} {devices}")


@requires_cuda
def test_state_follows_a_model_moved_after_some_steps():
    cn.manual_seed(0)
    lin = nn.Linear(4, 3)
    opt = cn.optim.Adam(lin.parameters(), lr=0.1)
    for p in lin.parameters():
        p.grad = cn.ones(*p.shape)
    opt.step()
    lin.to("cuda")
    for p in lin.parameters():
        p.grad = cn.ones(*p.shape, device="cuda")
    opt.step()
    for e in opt.state_dict()["state"].values():
        assert e["exp_avg"].device == cn.device("cuda:0") and e["step"].item() == 2


@requires_cuda
def test_a_gradient_on_another_device_is_an_error():
    p = cn.zeros(3, device="cuda", requires_grad=True)
    p.grad = cn.ones(3)
    with pytest.raises(ValueError, match=r"SGD: a gradient \(float32 \(3,\) on cpu\) does not match its "
                                         r"parameter \(float32 \(3,\) on cuda:0\)"):
        cn.optim.SGD([p], lr=0.1).step()


def _grads(device, dtype, scale=1.0):
    rng = np.random.default_rng(2)
    ps = []
    for s in [(300, 7), (5,), (2, 2, 3, 3), (1000,)]:
        p = cn.tensor(np.zeros(s, dtype), device=device, requires_grad=True)
        p.grad = cn.tensor((rng.standard_normal(s) * scale).astype(dtype), device=device)
        ps.append(p)
    return ps


@requires_cuda
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("norm_type,max_norm", [(2, 1.0), (2, 1e4), (1, 5.0), (float("inf"), 0.5),
                                                (0.5, 3.0), (3, 2.0), (0, 10.0)])
def test_clip_grad_norm_on_cuda_matches_cpu(norm_type, max_norm, dtype):
    want_ps, got_ps = _grads("cpu", dtype), _grads("cuda", dtype)
    want = cn.nn.utils.clip_grad_norm_(want_ps, max_norm, norm_type)
    got = cn.nn.utils.clip_grad_norm_(got_ps, max_norm, norm_type)
    assert got.device == cn.device("cuda:0") and got.dtype == want.dtype
    assert_close(got.item(), want.item(), 1e-6, f"total norm of order {norm_type}")
    for g, w in zip(got_ps, want_ps):
        assert_close(g.grad.cpu().numpy(), w.grad.numpy(), 1e-6, f"clipped gradient (order {norm_type})")


@requires_cuda
def test_clip_grad_norm_nonfinite_and_clip_grad_value_on_cuda():
    ps = _grads("cuda", np.float32)
    ps[1].grad = cn.tensor([1.0, float("inf"), 0, 0, 0], device="cuda")
    with pytest.raises(RuntimeError, match="non-finite"):
        cn.nn.utils.clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
    assert cn.nn.utils.clip_grad_norm_(ps, 1.0).item() == float("inf")
    want_ps, got_ps = _grads("cpu", np.float32, 3.0), _grads("cuda", np.float32, 3.0)
    cn.nn.utils.clip_grad_value_(want_ps, 0.7)
    cn.nn.utils.clip_grad_value_(got_ps, 0.7)
    for g, w in zip(got_ps, want_ps):
        np.testing.assert_array_equal(g.grad.cpu().numpy(), w.grad.numpy())
        assert np.abs(g.grad.cpu().numpy()).max() <= np.float32(0.7)


def _mnist_subset(root, n):
    from convnet.datasets import MNIST

    ds = MNIST(root, train=True)
    x, y = ds.arrays()
    x = ((x[:n].astype(np.float32) / 255 - 0.1307) / 0.3081).reshape(n, 1, 28, 28)
    return x, y[:n].astype(np.int64)


@requires_cuda
def test_lenet5_trajectory_on_cuda_matches_cpu(mnist_root):
    x, y = _mnist_subset(mnist_root, 160)

    def train(device):
        cn.manual_seed(0)
        model = cn.models.lenet5().to(device)
        opt = cn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
        losses = []
        for step in range(10):
            xb = cn.tensor(x[step * 16:(step + 1) * 16], device=device)
            yb = cn.tensor(y[step * 16:(step + 1) * 16], device=device)
            opt.zero_grad()
            loss = cn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses, {k: v.cpu().numpy() for k, v in model.state_dict().items()}

    want_l, want_w = train("cpu")
    got_l, got_w = train("cuda")
    assert_close(got_l, want_l, 1e-4, "LeNet-5 losses")
    for k in want_w:
        assert_close(got_w[k], want_w[k], 1e-4, f"LeNet-5 {k} after 10 steps")


def _tiny_data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + 2 * (x[:, 2] > 0)
    return x, y


def _tiny_fit(device, epochs=2, **kw):
    cn.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 4))
    opt = cn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = _tiny_data()
    train = DataLoader((x, y), batch_size=16, shuffle=True, seed=1, pin_memory=device != "cpu")
    val = DataLoader(_tiny_data(32, 1), batch_size=16)
    history = cn.fit(model, train, opt, epochs=epochs, val_loader=val, verbose=False, device=device, **kw)
    return model, opt, history


@requires_cuda
def test_fit_evaluate_predict_on_cuda_match_cpu():
    model_c, _, hist_c = _tiny_fit("cpu")
    model_g, opt_g, hist_g = _tiny_fit("cuda")
    assert all(p.device == cn.device("cuda:0") for p in model_g.parameters())
    assert all(v.device == cn.device("cuda:0") for e in opt_g.state_dict()["state"].values()
               for v in e.values() if v.ndim)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert_close(hist_g[key], hist_c[key], 1e-4, f"history {key}")
    x, y = _tiny_data(40, 2)
    assert_close(cn.predict(model_g, x), cn.predict(model_c, x), 1e-4, "predict")
    ev_g = cn.evaluate(model_g, DataLoader((x, y), batch_size=16))
    ev_c = cn.evaluate(model_c, DataLoader((x, y), batch_size=16))
    for key in ev_c:
        assert_close(ev_g[key], ev_c[key], 1e-4, f"evaluate {key}")
    # device=None keeps the model where it is; "auto" picks the GPU
    assert cn.train._device(None, model_g) == cn.device("cuda:0")
    assert cn.train._device("auto", model_c) == cn.device("cuda")


@requires_cuda
def test_fit_reports_a_nonfinite_loss_on_cuda():
    cn.manual_seed(0)
    model = nn.Linear(6, 4)
    x, y = _tiny_data()
    x[40] = np.nan
    with pytest.raises(cn.train.NonFiniteLossError, match="epoch 1, step 3"):
        cn.fit(model, DataLoader((x, y), batch_size=16), cn.optim.SGD(model.parameters(), lr=0.1),
               verbose=False, device="cuda")


def test_fit_amp_argument_is_checked():
    model = nn.Linear(6, 4)
    x, y = _tiny_data()
    loader = DataLoader((x, y), batch_size=16)
    with pytest.raises(ValueError, match="amp must be"):
        cn.fit(model, loader, cn.optim.SGD(model.parameters(), lr=0.1), verbose=False, amp="int8")


@requires_cuda
@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_fit_with_amp_on_cuda_trains(amp):
    _, _, hist = _tiny_fit("cuda", epochs=3, amp=amp)
    assert hist["loss"][-1] < hist["loss"][0]
    _, _, hist32 = _tiny_fit("cuda", epochs=3)
    assert_close(hist["loss"], hist32["loss"], 0.05, f"amp={amp} losses vs float32")


@requires_cuda
@pytest.mark.parametrize("num_workers", [0, 2])
def test_pinned_batches_copy_asynchronously_with_the_same_values(num_workers):
    x, y = _tiny_data(50)
    plain = list(DataLoader((x, y), batch_size=16, num_workers=num_workers))
    pinned = list(DataLoader((x, y), batch_size=16, num_workers=num_workers, pin_memory=True))
    assert len(plain) == len(pinned) == 4
    on_gpu = []
    for (xp, yp), (xb, yb) in zip(pinned, plain):
        assert xp.is_pinned() and yp.is_pinned() and not xb.is_pinned()
        on_gpu.append((xp.to("cuda", non_blocking=True), yp.to("cuda", non_blocking=True)))
    del pinned
    cn.cuda.synchronize()
    for (xg, yg), (xb, yb) in zip(on_gpu, plain):
        np.testing.assert_array_equal(xg.cpu().numpy(), xb.numpy())
        np.testing.assert_array_equal(yg.cpu().numpy(), yb.numpy())


@requires_cuda
def test_pinned_batches_of_a_python_data_set():
    class Squares:
        def __len__(self):
            return 10

        def __getitem__(self, i):
            return np.full((2, 3), i, np.float32), i * i

    batches = list(DataLoader(Squares(), batch_size=4, pin_memory=True))
    assert all(t.is_pinned() for b in batches for t in b)
    np.testing.assert_array_equal(batches[2][1].to("cuda", non_blocking=True).cpu().numpy(), [64, 81])


def test_pin_memory_without_cuda_warns_once_and_is_ignored(monkeypatch):
    import convnet.data.loader as L

    monkeypatch.setattr(L._core.cuda, "is_available", lambda: False)
    monkeypatch.setattr(L, "_warned_no_cuda", False)
    x, y = _tiny_data(20)
    with pytest.warns(UserWarning, match="'pin_memory' is True but no CUDA device is available"):
        loader = DataLoader((x, y), batch_size=8, pin_memory=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DataLoader((x, y), batch_size=8, pin_memory=True)
    assert not loader.pin_memory and not any(t.is_pinned() for b in loader for t in b)


@requires_cuda
def test_checkpoints_of_a_cuda_run_resume_on_cuda(tmp_path):
    def run(epochs, resume=None):
        model, opt, hist = _tiny_fit("cuda", epochs=epochs, callbacks=[
            C.ModelCheckpoint(dirpath=tmp_path, save_last=True)], resume_from=resume)
        return model, opt, hist

    _, _, _ = run(1)
    state = cn.load_checkpoint(tmp_path / "last.ckpt")
    assert state["model"]["0.weight"].device == cn.device("cuda:0")
    assert state["optimizer"]["state"][0]["momentum_buffer"].device == cn.device("cuda:0")
    on_cpu = cn.load_checkpoint(tmp_path / "last.ckpt", map_location="cpu")
    assert on_cpu["model"]["0.weight"].device == cn.device("cpu")
    np.testing.assert_array_equal(on_cpu["model"]["0.weight"].numpy(), state["model"]["0.weight"].cpu().numpy())
    resumed, opt, hist = run(3, resume=tmp_path / "last.ckpt")
    straight, _, hist_straight = _tiny_fit("cuda", epochs=3)
    assert hist.epoch == [1, 2, 3]
    assert all(v.device == cn.device("cuda:0") for e in opt.state_dict()["state"].values()
               for k, v in e.items() if k != "step")
    for k, v in straight.state_dict().items():
        assert_close(resumed.state_dict()[k].cpu().numpy(), v.cpu().numpy(), 1e-6, f"resumed {k}")


@requires_cuda
def test_weights_of_a_cuda_model_save_and_load_with_map_location(tmp_path):
    cn.manual_seed(0)
    model = nn.Linear(3, 2).to("cuda")
    cn.save(model.state_dict(), tmp_path / "w.safetensors")
    back = cn.load(tmp_path / "w.safetensors")
    assert back["weight"].device == cn.device("cuda:0")
    cpu = cn.load(tmp_path / "w.safetensors", map_location="cpu")
    assert cpu["weight"].device == cn.device("cpu")
    np.testing.assert_array_equal(cpu["weight"].numpy(), model.weight.detach().cpu().numpy())
    fresh = nn.Linear(3, 2)
    fresh.load_state_dict(back)
    np.testing.assert_array_equal(fresh.weight.detach().numpy(), cpu["weight"].numpy())
    with pytest.raises(TypeError, match="map_location: expected a device"):
        cn.load(tmp_path / "w.safetensors", map_location=3)


def test_saved_devices_missing_here_load_on_the_cpu(tmp_path, monkeypatch):
    import convnet.serialization as S

    # a file written on a machine with a GPU
    cn._core._save_safetensors([("w", cn.ones(2))], str(tmp_path / "w.safetensors"),
                               {"format": "convnet", "convnet.devices": '{"w": "cuda:0"}'})
    monkeypatch.setattr(S._core.cuda, "is_available", lambda: False)
    assert cn.load(tmp_path / "w.safetensors")["w"].device == cn.device("cpu")
    np.testing.assert_array_equal(cn.load(tmp_path / "w.safetensors")["w"].numpy(), [1, 1])


@requires_cuda
def test_cli_train_and_evaluate_on_cuda(tmp_path):
    image_folder(tmp_path / "imgs", classes=("top", "left"), n_per_class=6, size=12, rgb=False)
    common = ["--dataset", f"folder:{tmp_path / 'imgs'}", "--grayscale", "--image-size", "28", "--batch-size",
              "4", "--threads", "1", "--device", "cuda"]
    run = lambda *a: subprocess.run([sys.executable, "-m", "convnet", *a], capture_output=True, text=True,  # noqa: E731
                                    env=dict(os.environ), cwd=ROOT, timeout=600)
    r = run("train", "lenet5", *common, "--quiet", "--epochs", "1", "--output", str(tmp_path / "w.safetensors"),
            "--checkpoint-dir", str(tmp_path / "ck"))
    assert r.returncode == 0, r.stderr
    assert "on cuda:0" in r.stdout and "test accuracy" in r.stdout
    assert cn.load(tmp_path / "w.safetensors", map_location="cpu")["0.weight"].shape == (6, 1, 5, 5)
    r = run("evaluate", "lenet5", "--weights", str(tmp_path / "ck" / "last.ckpt"), *common)
    assert r.returncode == 0, r.stderr
    assert "top-1" in r.stdout
    r = run("train", "lenet5", *common[:-1], "gpu", "--epochs", "1")
    assert r.returncode == 2 and "expected \"cpu\", \"cuda\" or \"cuda:N\"" in r.stderr


@without_gpu
def test_fit_on_cuda_without_a_gpu_fails_clearly():
    model = nn.Linear(6, 4)
    with pytest.raises(RuntimeError, match="built without CUDA|no CUDA device"):
        cn.fit(model, DataLoader(_tiny_data(), batch_size=16), cn.optim.SGD(model.parameters(), lr=0.1),
               verbose=False, device="cuda")


@requires_cuda
def test_clip_grad_norm_with_fp16_amp_clips_the_unscaled_gradients():
    """With the GradScaler's loss scale (65536) the scaled gradients' norm (about 2e4) is far above
    the limit (1e-3, below the unscaled norm of about 0.3): the run must clip after unscaling to follow
    the float32 run with the same clipping (clipping the scaled gradients would leave steps 65536
    times too small). The data are small enough that no scaled gradient overflows float16, so the
    scaler skips no step."""
    rng = np.random.default_rng(5)
    x, y = 0.1 * rng.standard_normal((32, 6)).astype(np.float32), 0.1 * rng.standard_normal((32, 3)).astype(np.float32)
    results = {}
    for amp in (None, "fp16"):
        cn.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))
        opt = cn.optim.SGD(model.parameters(), lr=100.0)
        cn.fit(model, DataLoader((x, y), 8), opt, loss="mse", epochs=2, verbose=False, amp=amp,
               clip_grad_norm=1e-3, device="cuda")
        results[amp] = {k: v.cpu().numpy() for k, v in model.state_dict().items()}
    cn.manual_seed(0)
    start = {k: v.numpy() for k, v in nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3)).state_dict().items()}
    for name in start:
        moved = np.abs(results[None][name] - start[name]).max()
        assert moved > 1e-3, name
        np.testing.assert_allclose(results["fp16"][name], results[None][name], atol=0.02 * moved, err_msg=name)
