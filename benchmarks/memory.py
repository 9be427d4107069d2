"""The memory estimate of a training step (`convnet.summary.estimate_memory`) against the measured
peak resident size, fit's check of an over-memory run, and the saving of activation checkpointing.

1. For LeNet-5 (MNIST shape), resnet20 and VGG-11 (CIFAR-10 shape; VGG-11's convolutions with a
   512 -> 10 classifier, the usual CIFAR form) at two batch sizes each: one fresh child process
   estimates the step (SGD with momentum), another runs `--steps` training steps of the same model
   on random data and reports its peak RSS (VmHWM of the child itself, as benchmarks/cpu_suite.py
   measures RSS). The ratio estimate / measured is printed (the target is within 15%).
2. Over-memory: a child runs `convnet.fit` on resnet20 at batch 20,000 with the machine's real
   MemAvailable and cgroup limit (about 40 GB would be needed), and another at batch 256 with
   CONVNET_MEMORY_AVAILABLE=200M; each must stop before the first step with InsufficientMemoryError,
   whose message is printed with the number of steps that ran (0) and the child's peak RSS.
3. Checkpointing: resnet20 at batch 128, peak RSS and the allocator's peak with and without
   `checkpoint_sequential` over the network's 15 layers in 5 segments (the stem, each stage's three
   blocks, and the head, which runs plainly), with the step time of each.

    python benchmarks/memory.py [--threads 2] [--steps 3] [--only estimate|overmem|checkpoint]
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

CASES = [("lenet5", 64), ("lenet5", 512), ("resnet20", 32), ("resnet20", 128), ("vgg11", 32), ("vgg11", 128)]


def peak_rss():
    return [int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM")][0]


def build(name):
    import convnet as cn

    cn.manual_seed(0)
    if name == "vgg11":  # configuration A's convolutions; 32x32 inputs leave (512, 1, 1) for the classifier
        layers, c = [], 3
        for v in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"):
            layers += [cn.nn.MaxPool2d(2)] if v == "M" else [cn.nn.Conv2d(c, v, 3, padding=1), cn.nn.ReLU()]
            c = c if v == "M" else v
        return cn.nn.Sequential(*layers, cn.nn.Flatten(), cn.nn.Linear(512, 10)), (3, 32, 32)
    return cn.models.get_model(name), cn.models.INPUT_SHAPES[name]


def data(shape, batch):
    rng = np.random.default_rng(0)
    return (rng.standard_normal((batch, *shape)).astype(np.float32), rng.integers(0, 10, batch).astype(np.int64))


def child_estimate(name, batch):
    import convnet as cn
    from convnet.summary import estimate_memory

    model, shape = build(name)
    x, y = data(shape, batch)
    opt = cn.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    t = time.perf_counter()
    e = estimate_memory(model, shape, batch, optimizer=opt)
    return {"total": e.total, "seconds": time.perf_counter() - t, "parts": {
        k: getattr(e, k) for k in ("runtime", "parameters", "gradients", "optimizer_state", "activations", "inputs")},
        "per_sample": e.activations_per_sample, "x_bytes": x.nbytes}


def train_steps(model, x, y, steps, forward=None):
    import convnet as cn

    opt = cn.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    xt, yt = cn.from_numpy(x), cn.from_numpy(y)
    forward = forward or model
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        opt.zero_grad()
        cn.nn.functional.cross_entropy(forward(xt), yt).backward()
        opt.step()
        times.append(time.perf_counter() - t)
    return times


def child_train(name, batch, steps):
    model, shape = build(name)
    x, y = data(shape, batch)
    train_steps(model, x, y, steps)
    return {"peak_rss": peak_rss()}


def child_overmem(batch, fake):
    import convnet as cn
    from convnet.summary import InsufficientMemoryError

    if fake:
        os.environ["CONVNET_MEMORY_AVAILABLE"] = fake
    model, shape = build("resnet20")
    x, y = data(shape, batch)
    steps = []

    class CountSteps(cn.callbacks.Callback):
        def on_train_batch_end(self, step, logs):
            steps.append(step)

    cb = CountSteps()
    t = time.perf_counter()
    try:
        cn.fit(model, cn.data.DataLoader((x, y), batch_size=batch), cn.optim.SGD(model.parameters(), lr=0.1,
               momentum=0.9), epochs=1, verbose=False, callbacks=[cb])
        return {"stopped": False, "steps": len(steps)}
    except InsufficientMemoryError as e:
        return {"stopped": True, "steps": len(steps), "message": str(e).splitlines()[0],
                "seconds": time.perf_counter() - t, "peak_rss": peak_rss()}


def child_checkpoint(batch, steps, segments):
    import convnet as cn
    from convnet.utils.checkpoint import checkpoint_sequential

    model, shape = build("resnet20")
    x, y = data(shape, batch)
    layers = [model.conv1, model.bn1, model.relu, *model.layer1.children(), *model.layer2.children(),
              *model.layer3.children(), model.avgpool, cn.nn.Flatten(), model.fc]
    forward = None if segments == 0 else (lambda t: checkpoint_sequential(layers, segments, t))
    cn.reset_peak_memory_stats()
    times = train_steps(model, x, y, steps, forward)
    return {"peak_rss": peak_rss(), "allocator_peak": cn.memory_stats()["peak_allocated_bytes"],
            "step_seconds": float(np.median(times[1:] if len(times) > 1 else times))}


def run_child(threads, *args, env=None):
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--threads", str(threads), "--child",
                          *map(str, args)],
                         capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def mib(b):
    return b / 2**20


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--only", choices=("estimate", "overmem", "checkpoint"))
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        import convnet as cn

        cn.set_num_threads(args.threads)
        kind, rest = args.child[0], args.child[1:]
        if kind == "estimate":
            r = child_estimate(rest[0], int(rest[1]))
        elif kind == "train":
            r = child_train(rest[0], int(rest[1]), int(rest[2]))
        elif kind == "overmem":
            r = child_overmem(int(rest[0]), rest[1] if len(rest) > 1 else None)
        else:
            r = child_checkpoint(int(rest[0]), int(rest[1]), int(rest[2]))
        print(json.dumps(r))
        return
    env = {k: v for k, v in os.environ.items() if k != "CONVNET_MEMORY_AVAILABLE"}
    if args.only in (None, "estimate"):
        print(f"estimate vs measured peak RSS ({args.threads} threads, SGD momentum, {args.steps} steps)")
        print(f"{'model':<10}{'batch':>6}{'estimate MiB':>14}{'measured MiB':>14}{'ratio':>8}  activations/sample")
        for name, batch in CASES:
            e = run_child(args.threads, "estimate", name, batch, env=env)
            m = run_child(args.threads, "train", name, batch, args.steps, env=env)
            print(f"{name:<10}{batch:>6}{mib(e['total']):>14.1f}{mib(m['peak_rss']):>14.1f}"
                  f"{e['total'] / m['peak_rss']:>8.3f}  {e['per_sample'] / 1024:.0f} KiB "
                  f"(parts MiB: {', '.join(f'{k} {mib(v):.1f}' for k, v in e['parts'].items())}; "
                  f"estimated in {e['seconds']:.2f} s)")
    if args.only in (None, "overmem"):
        print("\nover-memory runs of fit (resnet20)")
        for batch, fake in ((20000, None), (256, "200M")):
            r = run_child(args.threads, "overmem", batch, *([fake] if fake else []), env=env)
            what = f"CONVNET_MEMORY_AVAILABLE={fake}" if fake else "the machine's available memory"
            print(f"batch {batch}, {what}: stopped={r['stopped']}, steps run {r['steps']}"
                  + (f", after {r['seconds']:.2f} s, child peak RSS {mib(r['peak_rss']):.0f} MiB\n  {r['message']}"
                     if r["stopped"] else ""))
    if args.only in (None, "checkpoint"):
        print("\nresnet20, batch 128: checkpoint_sequential over its stages")
        for segments in (0, 5):
            r = run_child(args.threads, "checkpoint", 128, args.steps + 1, segments, env=env)
            label = "plain" if segments == 0 else f"{segments} segments"
            print(f"{label:<12} peak RSS {mib(r['peak_rss']):7.1f} MiB, "
                  f"allocator peak {mib(r['allocator_peak']):7.1f} MiB, "
                  f"step {r['step_seconds'] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
