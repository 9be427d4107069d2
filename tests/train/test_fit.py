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
