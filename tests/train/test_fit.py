"""fit / evaluate / predict on real MNIST and small arrays (the DataLoader: tests/data/test_loader.py;
the command line: test_cli.py; the callbacks: test_callbacks.py)."""

import numpy as np
import pytest

import convnet as cn
import convnet.nn as nn
from convnet.data import DataLoader


def _small_cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4 * 14 * 14, 10))


def _log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


@pytest.mark.slow  # a training on MNIST
def test_fit_learns_mnist_and_evaluate_agrees_with_numpy(mnist_root):
    from convnet.datasets import MNIST

    cn.manual_seed(0)
    x, y = MNIST(mnist_root, train=True).arrays()
    xt, yt = MNIST(mnist_root, train=False).arrays()
    x, y, xt, yt = x[:3000], y[:3000], xt[:1000], yt[:1000]
    model = _small_cnn()
    opt = cn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    hist = cn.fit(model, DataLoader((x, y), 64, shuffle=True, seed=1), opt, nn.CrossEntropyLoss(),
                  epochs=2, val_loader=DataLoader((xt, yt), 250), verbose=False)
    assert set(hist.history) >= {"loss", "accuracy", "val_loss", "val_accuracy", "time"}
    assert hist.epoch == [1, 2] and len(hist["loss"]) == 2
    assert hist["loss"][1] < hist["loss"][0]
    assert hist["val_accuracy"][1] > 0.85

    # evaluate against NumPy on predict's outputs (predict runs in eval mode, batched)
    res = cn.evaluate(model, DataLoader((xt, yt), 300))
    out = cn.predict(model, xt, batch_size=128)
    assert out.shape == (1000, 10) and out.dtype == np.float32
    ref_loss = -_log_softmax(out.astype(np.float64))[np.arange(1000), yt].mean()
    top5 = (np.argsort(-out, axis=1)[:, :5] == yt[:, None]).any(axis=1).mean()
    assert res["loss"] == pytest.approx(ref_loss, rel=1e-5)
    assert res["accuracy"] == pytest.approx((out.argmax(1) == yt).mean())
    assert res["top5"] == pytest.approx(top5)
    assert res["top5"] >= res["accuracy"]
    assert hist["val_accuracy"][1] == pytest.approx(res["accuracy"])


def test_fit_stops_on_non_finite_loss_naming_epoch_and_step():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 8)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    x[25] = np.nan  # in the second batch of 16
    model = nn.Sequential(nn.Linear(8, 3))
    opt = cn.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(cn.train.NonFiniteLossError, match=r"nan at epoch 1, step 2"):
        cn.fit(model, DataLoader((x, y), 16), opt, nn.CrossEntropyLoss(), epochs=1, verbose=False)


def test_fit_with_mse_and_a_python_module():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 1)

        def forward(self, x):
            return self.fc(x)

    rng = np.random.default_rng(1)
    x = rng.standard_normal((256, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.25).astype(np.float32)
    cn.manual_seed(0)
    model = Net()
    opt = cn.optim.SGD(model.parameters(), lr=0.1)
    hist = cn.fit(model, DataLoader((x, y), 32, shuffle=True, seed=0), opt, nn.MSELoss(), epochs=20,
                  verbose=False)
    assert "accuracy" not in hist.history
    assert hist["loss"][-1] < 1e-4
    np.testing.assert_allclose(model.fc.weight.detach().numpy(), [[1.0, -2.0, 0.5]], atol=1e-2)
    np.testing.assert_allclose(model.fc.bias.detach().numpy(), [0.25], atol=1e-2)


# ---- accumulate_grad_batches, clip_grad_norm, ema -------------------------------------------------

def _mlp64(seed=0):
    cn.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3)).to(cn.float64)


def _regression(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 6)), rng.standard_normal((n, 3))


def _batches64(x, y, b):
    """float64 batches (a DataLoader gives float32): fit takes any iterable of (inputs, targets)."""
    return [(cn.tensor(x[i:i + b]), cn.tensor(y[i:i + b])) for i in range(0, len(x), b)]


def _params(model):
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("k,batch", [(4, 4), (2, 8), (3, 5)])
def test_accumulated_batches_step_as_one_big_batch(k, batch):
    """k accumulated batches of B step as one batch of k*B, the last short group of the epoch
    (40 samples) as a batch of its size: same weights within 1e-6 after 3 epochs."""
    x, y = _regression()
    runs = []
    for acc, b in ((k, batch), (1, k * batch)):
        model = _mlp64()
        opt = cn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        hist = cn.fit(model, _batches64(x, y, b), opt, loss="mse", epochs=3, verbose=False,
                      accumulate_grad_batches=acc)
        runs.append((_params(model), hist["loss"]))
    (got, got_loss), (want, want_loss) = runs
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=0, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(got_loss, want_loss, rtol=1e-6)


def test_clip_grad_norm_matches_torch_clipping_by_hand():
    torch = pytest.importorskip("torch")
    from torch_twins import _mlp, _pair

    m, t = _pair(_mlp, "float64")
    x, y = _regression(32, seed=4)
    y = y * 10  # large gradients, so that every step clips
    opt = cn.optim.SGD(m.parameters(), lr=0.05, momentum=0.9)
    topt = torch.optim.SGD(t.parameters(), lr=0.05, momentum=0.9)
    cn.fit(m, _batches64(x, y, 8), opt, loss="mse", epochs=2, verbose=False, clip_grad_norm=0.5)
    norms = []
    for _ in range(2):
        for i in range(0, 32, 8):
            topt.zero_grad()
            torch.nn.functional.mse_loss(t(torch.from_numpy(x[i:i + 8])), torch.from_numpy(y[i:i + 8])).backward()
            norms.append(float(torch.nn.utils.clip_grad_norm_(t.parameters(), 0.5)))
            topt.step()
    assert min(norms) > 0.5  # it clipped at every step
    tp = dict(t.named_parameters())
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.detach().numpy(), tp[name].detach().numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)


@pytest.mark.parametrize("k", [1, 3])
def test_fit_updates_an_ema_after_each_optimizer_step(k):
    from convnet.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    x, y = _regression(40, seed=6)
    model = _mlp64()
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.8))
    opt = cn.optim.SGD(model.parameters(), lr=0.05)
    val = _batches64(x[:16], y[:16], 8)
    hist = cn.fit(model, _batches64(x, y, 4), opt, loss="mse", epochs=2, val_loader=val, verbose=False,
                  accumulate_grad_batches=k, ema=ema)
    steps_per_epoch = -(-10 // k)
    assert int(ema.n_averaged.item()) == 2 * steps_per_epoch
    # the same steps by hand, the average updated after each
    ref = _mlp64()
    ref_ema = AveragedModel(ref, multi_avg_fn=get_ema_multi_avg_fn(0.8))
    ropt = cn.optim.SGD(ref.parameters(), lr=0.05)
    for _ in range(2):
        for g in range(0, 10, k):
            ropt.zero_grad()
            idx = range(g, min(g + k, 10))
            for b in idx:
                xb, yb = cn.tensor(x[4 * b:4 * b + 4]), cn.tensor(y[4 * b:4 * b + 4])
                (cn.functional.mse_loss(ref(xb), yb) * (1.0 / len(idx)) if len(idx) > 1
                 else cn.functional.mse_loss(ref(xb), yb)).backward()
            ropt.step()
            ref_ema.update_parameters(ref)
    got, want = ema.state_dict(), ref_ema.state_dict()
    for name in want:
        np.testing.assert_allclose(got[name].numpy(), want[name].numpy(), rtol=1e-12, err_msg=name)
    # validation ran on the averaged weights; the model keeps its own until copy_to
    assert hist["val_loss"][-1] == pytest.approx(cn.evaluate(ema, val, loss="mse")["loss"], rel=1e-12)
    assert not np.allclose(_params(model)["0.weight"], got["module.0.weight"].numpy())
    ema.copy_to(model)
    assert np.array_equal(_params(model)["0.weight"], got["module.0.weight"].numpy())


def test_fit_rejects_bad_accumulation_and_clipping():
    x, y = _regression(8)
    model = _mlp64()
    opt = cn.optim.SGD(model.parameters(), lr=0.05)
    with pytest.raises(ValueError, match="accumulate_grad_batches must be an int >= 1, got 0"):
        cn.fit(model, _batches64(x, y, 4), opt, loss="mse", verbose=False, accumulate_grad_batches=0)
    with pytest.raises(ValueError, match="clip_grad_norm must be None or a positive number"):
        cn.fit(model, _batches64(x, y, 4), opt, loss="mse", verbose=False, clip_grad_norm=-1.0)
