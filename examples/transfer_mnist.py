"""Transfer learning on MNIST: train a small CNN on digits 0–4, freeze its convolutions, replace
its head and fine-tune on digits 5–9.

Prints the accuracy on 5–9 before and after fine-tuning, checks that the frozen weights did not
change, and times backward with and without the frozen convolutions (no weight gradients are
computed for frozen layers).

    CONVNET_DATA=../shared/data python examples/transfer_mnist.py [--epochs 2] [--threads 2]
"""

import argparse
import statistics
import time

import numpy as np

import convnet as cn
import convnet.nn as nn
from convnet.data import DataLoader
from convnet.datasets import MNIST


class SmallCNN(nn.Module):
    def __init__(self, num_classes=5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten())
        self.fc = nn.Linear(64 * 7 * 7, num_classes)

    def forward(self, x):
        return self.fc(self.features(x))


def digits(ds, lo, hi):
    """Images (normalized) and labels shifted to 0..hi-lo of the digits lo..hi."""
    x, y = ds.arrays()
    keep = (y >= lo) & (y <= hi)
    return (x[keep] - np.float32(MNIST.mean)) / np.float32(MNIST.std), y[keep] - lo


def train(model, x, y, epochs, seed):
    params = [p for p in model.parameters() if p.requires_grad]
    opt = cn.optim.SGD(params, lr=0.02, momentum=0.9)
    cn.fit(model, DataLoader((x, y), 64, shuffle=True, seed=seed), opt, nn.CrossEntropyLoss(),
           epochs=epochs, verbose=False)


def accuracy(model, x, y):
    return cn.evaluate(model, DataLoader((x, y), 1000))["accuracy"]


def backward_ms(model, x, y, reps=15):
    """Median time of one backward pass of a batch (forward not counted)."""
    times = []
    for _ in range(reps):
        model.zero_grad()
        loss = cn.functional.cross_entropy(model(x), y)
        t = time.perf_counter()
        loss.backward()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=None, help="MNIST folder (default: $CONVNET_DATA)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        cn.set_num_threads(args.threads)
    cn.manual_seed(0)
    train_ds, test_ds = MNIST(args.data, train=True), MNIST(args.data, train=False)
    xa, ya = digits(train_ds, 0, 4)
    xa_test, ya_test = digits(test_ds, 0, 4)
    xb, yb = digits(train_ds, 5, 9)
    xb_test, yb_test = digits(test_ds, 5, 9)

    model = SmallCNN(num_classes=5)
    train(model, xa, ya, args.epochs, seed=1)
    print(f"trained on digits 0-4: test accuracy on 0-4 {accuracy(model, xa_test, ya_test) * 100:.2f}%")

    model.features.requires_grad_(False)
    model.fc = nn.Linear(64 * 7 * 7, 5)  # a new head for digits 5-9
    frozen = {k: v.detach().numpy().copy() for k, v in model.features.state_dict().items()}
    before = accuracy(model, xb_test, yb_test)

    batch_x, batch_y = cn.tensor(xb[:256]), cn.tensor(yb[:256])
    t_frozen = backward_ms(model, batch_x, batch_y)
    model.features.requires_grad_(True)
    t_full = backward_ms(model, batch_x, batch_y)
    model.features.requires_grad_(False)

    train(model, xb, yb, args.epochs, seed=2)
    after = accuracy(model, xb_test, yb_test)
    unchanged = all(np.array_equal(frozen[k], v.detach().numpy())
                    for k, v in model.features.state_dict().items())
    print(f"digits 5-9 with the new, untrained head: test accuracy {before * 100:.2f}%")
    print(f"digits 5-9 after fine-tuning the head for {args.epochs} epoch(s): test accuracy {after * 100:.2f}%")
    print(f"frozen convolution weights unchanged: {unchanged}")
    print(f"backward of a batch of 256: {t_frozen:.2f} ms with frozen convolutions, {t_full:.2f} ms "
          f"with all layers trainable ({t_full / t_frozen:.1f}x)")
    if not unchanged:
        raise SystemExit("frozen weights changed")


if __name__ == "__main__":
    main()
