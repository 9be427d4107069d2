"""The loss curve of a seeded resnet20 run on a CIFAR-shaped task, to compare two builds of convnet.

    python tools/loss_curve.py [--epochs 8] [--images 4096] [--json FILE]
    python tools/loss_curve.py --compare BEFORE.json AFTER.json

The task: 10 classes, each a fixed random 3x32x32 template; an image is its class's template,
shifted by up to 4 pixels, plus Gaussian noise (sigma 0.5), so that the network has to learn
translation-tolerant features. The data, the initialization (convnet.manual_seed) and the order of
the batches are fixed by the seed, so two builds of the same library differ only where their
kernels round differently (Winograd against im2col, the order of sums): their curves should agree
within the noise such rounding makes grow over a run. Training: SGD, momentum 0.9, weight decay
5e-4, learning rate 0.05, batch 64, on 2 threads (--threads). Prints the mean training loss and accuracy of
each epoch and the loss and accuracy on 1024 held-out images; --compare prints the two curves side
by side with their relative difference.
"""

import argparse
import json
import time

import numpy as np


def make_task(n, seed):
    rng = np.random.default_rng(seed)
    templates = rng.standard_normal((10, 3, 40, 40)).astype(np.float32)
    y = rng.integers(0, 10, n)
    dy, dx = rng.integers(0, 9, n), rng.integers(0, 9, n)
    x = np.stack([templates[c, :, a:a + 32, b:b + 32] for c, a, b in zip(y, dy, dx)])
    x += 0.5 * rng.standard_normal(x.shape).astype(np.float32)
    return x, y.astype(np.int64)


def run(epochs, images, seed, threads):
    import convnet as cn
    cn.set_num_threads(threads)
    cn.manual_seed(seed)
    x, y = make_task(images + 1024, seed)
    xv, yv = cn.from_numpy(x[images:]), cn.from_numpy(y[images:])
    x, y = x[:images], y[:images]
    model = cn.models.resnet20(10)
    opt = cn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    order = np.random.default_rng(seed + 1)
    curve = []
    for epoch in range(epochs):
        model.train()
        perm = order.permutation(images)
        losses, correct, t0 = [], 0, time.perf_counter()
        for i in range(0, images - 63, 64):
            idx = perm[i:i + 64]
            xb, yb = cn.from_numpy(x[idx]), cn.from_numpy(y[idx])
            opt.zero_grad()
            out = model(xb)
            loss = cn.functional.cross_entropy(out, yb)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            correct += int((out.detach().numpy().argmax(1) == y[idx]).sum())
        model.eval()
        with cn.no_grad():
            out = model(xv)
            val_loss = cn.functional.cross_entropy(out, yv).item()
        row = {"epoch": epoch + 1, "loss": float(np.mean(losses)), "accuracy": correct / (len(losses) * 64),
               "val_loss": val_loss, "val_accuracy": float((out.numpy().argmax(1) == yv.numpy()).mean()),
               "seconds": time.perf_counter() - t0}
        print(json.dumps(row), flush=True)
        curve.append(row)
    return {"convnet": cn.__file__, "threads": threads, "epochs": epochs, "images": images, "seed": seed,
            "curve": curve}


def compare(a_path, b_path):
    a, b = (json.load(open(p)) for p in (a_path, b_path))
    print(f"before: {a['convnet']} ({a.get('threads', 2)} threads)\nafter:  {b['convnet']} ({b.get('threads', 2)} threads)")
    print("| epoch | loss before | loss after | rel. diff | val acc before | val acc after |")
    print("|---|---|---|---|---|---|")
    for ra, rb in zip(a["curve"], b["curve"]):
        rel = abs(rb["loss"] - ra["loss"]) / ra["loss"]
        print(f"| {ra['epoch']} | {ra['loss']:.4f} | {rb['loss']:.4f} | {rel:.1e} | "
              f"{ra['val_accuracy']:.3f} | {rb['val_accuracy']:.3f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--images", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2,
                    help="another thread count sums in another order: the size of the rounding noise")
    ap.add_argument("--json", help="write the curve to this file")
    ap.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"))
    args = ap.parse_args()
    if args.compare:
        return compare(*args.compare)
    out = run(args.epochs, args.images, args.seed, args.threads)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
