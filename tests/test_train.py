"""fit / evaluate / predict, the DataLoader and the command line, on real MNIST and small arrays."""

import os
import subprocess
import sys

import numpy as np
import pytest

import convnet as cn
import convnet.nn as nn
from convnet.data import DataLoader

from conftest import ROOT


def _small_cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4 * 14 * 14, 10))


def _log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


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


def test_dataloader_batches_shuffling_and_drop_last():
    x = np.arange(10 * 2, dtype=np.float64).reshape(10, 2)
    y = np.arange(10)
    dl = DataLoader((x, y), batch_size=4)
    batches = list(dl)
    assert len(dl) == 3 and [tuple(b[0].shape) for b in batches] == [(4, 2), (4, 2), (2, 2)]
    assert batches[0][0].dtype == cn.float32 and batches[0][1].dtype == cn.int64
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in batches]), y)
    assert len(DataLoader((x, y), 4, drop_last=True)) == 2
    assert [b[1].shape[0] for b in DataLoader((x, y), 4, drop_last=True)] == [4, 4]

    a = DataLoader((x, y), 3, shuffle=True, seed=7)
    b = DataLoader((x, y), 3, shuffle=True, seed=7)
    ea1, ea2 = [np.concatenate([t[1].numpy() for t in a]) for _ in range(2)]
    eb1 = np.concatenate([t[1].numpy() for t in b])
    np.testing.assert_array_equal(ea1, eb1)  # same seed, same first epoch
    assert not np.array_equal(ea1, ea2)  # a new permutation each epoch
    np.testing.assert_array_equal(np.sort(ea1), y)  # every sample once
    # rows stay paired with their labels
    for xb, yb in DataLoader((x, y), 3, shuffle=True, seed=3):
        np.testing.assert_array_equal(xb.numpy()[:, 0], 2 * yb.numpy())


def test_dataloader_over_a_map_style_dataset():
    class Squares:
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.full((1, 2, 2), i, np.float32), i * i

    xs, ys = zip(*[(xb.numpy(), yb.numpy()) for xb, yb in DataLoader(Squares(), batch_size=2)])
    assert [a.shape for a in xs] == [(2, 1, 2, 2), (2, 1, 2, 2), (1, 1, 2, 2)]
    np.testing.assert_array_equal(np.concatenate(ys), [0, 1, 4, 9, 16])


def _run_cli(*args, env=None):
    full_env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in [os.environ.get("PYTHONPATH")] if p))
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "convnet", *args], capture_output=True, text=True,
                          env=full_env, cwd=ROOT, timeout=600)


def test_cli_trains_lenet5_one_epoch_and_saves_weights(mnist_root, tmp_path):
    out = tmp_path / "w.safetensors"
    r = _run_cli("train", "lenet5", "--dataset", "mnist", "--epochs", "1", "--data", str(mnist_root),
                 "--output", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    line = [l for l in r.stdout.splitlines() if l.startswith("test accuracy")][0]
    acc = float(line.split()[2].rstrip("%"))
    assert acc > 95.0, r.stdout
    weights = cn.load(str(out))
    assert sum(int(np.prod(t.shape)) for t in weights.values()) == 61706
    model = cn.models.lenet5()
    model.load_state_dict(weights)
    from convnet.datasets import MNIST
    xt, yt = MNIST(mnist_root, train=False).arrays()
    xt = (xt - np.float32(MNIST.mean)) / np.float32(MNIST.std)  # as the command line trains
    pred = cn.predict(model, xt).argmax(1)
    assert (pred == yt).mean() * 100 == pytest.approx(acc, abs=0.006)


def test_cli_reports_missing_data_and_prints_summary(tmp_path):
    r = _run_cli("train", "lenet5", "--epochs", "1", "--data", str(tmp_path / "nowhere"))
    assert r.returncode == 2
    assert "train-images-idx3-ubyte" in r.stderr and "download" in r.stderr
    r = _run_cli("summary", "lenet5")
    assert r.returncode == 0, r.stderr
    assert "Total params: 61,706" in r.stdout


def test_cli_summary_of_a_zoo_model_uses_its_input_and_classes():
    r = _run_cli("summary", "resnet18")
    assert r.returncode == 0, r.stderr
    assert "Total params: 11,689,512" in r.stdout and "(1, 3, 224, 224)" in r.stdout
    r = _run_cli("summary", "resnet20", "--num-classes", "100")
    assert r.returncode == 0, r.stderr
    assert f"Total params: {269_722 + 90 * 65:,}" in r.stdout and "(1, 3, 32, 32)" in r.stdout
    r = _run_cli("summary", "nosuchnet")
    assert r.returncode != 0 and "unknown model 'nosuchnet'" in r.stderr
