"""LeNet-5 training throughput, convnet vs PyTorch, side by side in one process.

Each measurement is `--steps` training steps (forward, cross-entropy, backward,
SGD with momentum) on random MNIST-shaped batches; the two libraries alternate
for `--reps` repetitions and the medians are compared. Peak resident memory of
each library is measured in a separate child process.

    python benchmarks/lenet5_train.py [--threads 2] [--batch-sizes 64 256]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np


def _step_fn(model, opt, cross_entropy, x, y):
    """One training step: forward, cross-entropy, backward, SGD."""
    def step():
        opt.zero_grad()
        loss = cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def _batch(batch):
    rng = np.random.default_rng(0)
    return rng.random((batch, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, batch).astype(np.int64)


def convnet_step_fn(batch, threads):
    import convnet as cn
    cn.set_num_threads(threads)
    cn.manual_seed(0)
    model = cn.models.lenet5()
    opt = cn.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = _batch(batch)
    return _step_fn(model, opt, cn.functional.cross_entropy, cn.from_numpy(x), cn.from_numpy(y))


def torch_step_fn(batch, threads):
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = _batch(batch)
    return _step_fn(model, opt, nn.functional.cross_entropy, torch.from_numpy(x), torch.from_numpy(y))


def time_steps(step, steps):
    t = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - t) / steps


def peak_memory(lib, batch, threads, steps):
    """Peak RSS (MiB) of a child process that imports one library and trains.

    Read from VmHWM in /proc/self/status: getrusage's ru_maxrss survives exec on Linux,
    so a child forked from this process (which holds both libraries) would report ours.
    """
    code = (f"import sys; sys.path[:0] = {sys.path!r}; import benchmarks.lenet5_train as b;"
            f"s = b.{lib}_step_fn({batch}, {threads}); [s() for _ in range({steps})];"
            "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root,
                         check=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    results = []
    for batch in args.batch_sizes:
        cn_step = convnet_step_fn(batch, args.threads)
        th_step = torch_step_fn(batch, args.threads)
        for s in (cn_step, th_step):  # warm up
            time_steps(s, 5)
        cn_t, th_t = [], []
        for _ in range(args.reps):
            cn_t.append(time_steps(cn_step, args.steps))
            th_t.append(time_steps(th_step, args.steps))
        cn_med, th_med = statistics.median(cn_t), statistics.median(th_t)
        r = {"batch": batch, "threads": args.threads,
             "convnet_img_s": batch / cn_med, "torch_img_s": batch / th_med,
             "convnet_ms_step": cn_med * 1e3, "torch_ms_step": th_med * 1e3,
             "ratio": th_med / cn_med,
             "convnet_peak_rss_mib": peak_memory("convnet", batch, args.threads, 20),
             "torch_peak_rss_mib": peak_memory("torch", batch, args.threads, 20)}
        results.append(r)
        print(f"batch {batch:4d}, {args.threads} threads: convnet {r['convnet_img_s']:8.0f} img/s "
              f"({r['convnet_ms_step']:.2f} ms/step, peak RSS {r['convnet_peak_rss_mib']:.0f} MiB) | "
              f"torch {r['torch_img_s']:8.0f} img/s ({r['torch_ms_step']:.2f} ms/step, peak RSS "
              f"{r['torch_peak_rss_mib']:.0f} MiB) | convnet/torch throughput ratio {r['ratio']:.2f}",
              flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
