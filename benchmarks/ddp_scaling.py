"""Data-parallel scaling on this machine: training throughput of 1 process x 1 thread against 2
processes x 1 thread (DistributedDataParallel over MPI, the same batch per process), for LeNet-5 on
(B, 1, 28, 28) and resnet20 on (B, 3, 32, 32), with

- the scaling efficiency: images/s of 2 processes / (2 x images/s of 1),
- the share of a 2-process step spent waiting for the gradients' all-reduce after backward, with the
  all-reduces started during backward (overlap, the default) and all started after backward,
- how much of the all-reduce the overlap hides: 1 - wait(overlap) / wait(after backward),

and the same for PyTorch's DistributedDataParallel with its gloo backend in the same run (the same
architectures written in torch), with convnet's images/s over PyTorch's. Configurations alternate
(`--reps` rounds) and each figure is the median over the rounds. Synthetic data: this measures the
training step, not the loader.

    python benchmarks/ddp_scaling.py [--steps 30] [--reps 3] [--models lenet5 resnet20] [--no-torch]
"""

import argparse
import importlib.util
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

BATCH = {"lenet5": 64, "resnet20": 32}
SHAPE = {"lenet5": (1, 28, 28), "resnet20": (3, 32, 32)}


# --- one process of a run --------------------------------------------------------------------------

def _data(model, rank, steps):
    import numpy as np

    rng = np.random.default_rng(rank)
    x = rng.standard_normal((steps, BATCH[model]) + SHAPE[model]).astype(np.float32)
    y = rng.integers(0, 10, (steps, BATCH[model]))
    return x, y


def convnet_worker(model, steps, overlap):
    import convnet as cn
    import convnet.distributed as dist

    cn.set_num_threads(1)
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    cn.manual_seed(0)
    net = cn.models.get_model(model, num_classes=10)
    ddp = cn.nn.parallel.DistributedDataParallel(net)
    ddp._reducer.overlap = overlap
    opt = cn.optim.SGD(ddp.parameters(), lr=0.01, momentum=0.9)
    x, y = _data(model, rank, steps + 3)
    xs, ys = [cn.from_numpy(a) for a in x], [cn.from_numpy(a) for a in y]

    def step(i):
        opt.zero_grad()
        cn.nn.functional.cross_entropy(ddp(xs[i]), ys[i]).backward()
        opt.step()
    for i in range(3):
        step(steps + i)
    dist.barrier()
    ddp._reducer.wait_s = 0.0
    start = time.perf_counter()
    for i in range(steps):
        step(i)
    dist.barrier()
    elapsed = time.perf_counter() - start
    waits = [None] * world
    dist.all_gather_object(waits, ddp._reducer.wait_s)
    if rank == 0:
        print(json.dumps({"images_s": world * BATCH[model] * steps / elapsed,
                          "wait_share": statistics.mean(waits) / elapsed}), flush=True)
    dist.destroy_process_group()


def torch_model(model):
    import torch
    from torch import nn

    if model == "lenet5":
        return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
                             nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(),
                             nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))

    class Block(nn.Module):  # resnet20's basic block with the zero-padding shortcut (option A)
        def __init__(self, cin, planes, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.stride, self.pad = stride, (planes - cin) // 2

        def forward(self, x):
            out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
            if self.stride != 1 or self.pad:
                x = nn.functional.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, self.pad, self.pad))
            return torch.relu(out + x)

    layers, cin = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()], 16
    for planes, stride in ((16, 1), (32, 2), (64, 2)):
        for k in range(3):
            layers.append(Block(cin, planes, stride if k == 0 else 1))
            cin = planes
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def torch_worker(model, steps):
    import torch
    import torch.distributed as tdist

    torch.set_num_threads(1)
    tdist.init_process_group("gloo")
    rank, world = tdist.get_rank(), tdist.get_world_size()
    torch.manual_seed(0)
    ddp = torch.nn.parallel.DistributedDataParallel(torch_model(model))
    opt = torch.optim.SGD(ddp.parameters(), lr=0.01, momentum=0.9)
    x, y = _data(model, rank, steps + 3)
    xs, ys = [torch.from_numpy(a) for a in x], [torch.from_numpy(a) for a in y]

    def step(i):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(ddp(xs[i]), ys[i]).backward()
        opt.step()
    for i in range(3):
        step(steps + i)
    tdist.barrier()
    start = time.perf_counter()
    for i in range(steps):
        step(i)
    tdist.barrier()
    elapsed = time.perf_counter() - start
    if rank == 0:
        print(json.dumps({"images_s": world * BATCH[model] * steps / elapsed}), flush=True)
    tdist.destroy_process_group()


# --- the runs ---------------------------------------------------------------------------------------

def _result(cmds, env):
    env = dict(os.environ, OMP_NUM_THREADS="1", **env)
    procs = [subprocess.Popen(c, env=dict(env, **e), stdout=subprocess.PIPE, text=True) for c, e in cmds]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    if any(p.returncode for p in procs):
        raise RuntimeError(f"{cmds[0][0]} failed")
    return json.loads(next(o for o in outs if o.strip()).strip().splitlines()[-1])


def run_convnet(n, model, steps, overlap):
    mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or "mpiexec"
    cmd = [mpiexec, "-n", str(n), sys.executable, __file__, "--worker", "convnet", model, str(steps), str(int(overlap))]
    return _result([(cmd, {})], {})


def run_torch(n, model, steps):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, __file__, "--worker", "torch", model, str(steps), "1"]
    return _result([(cmd, {"RANK": str(r)}) for r in range(n)],
                   {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": str(n)})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--models", nargs="+", default=["lenet5", "resnet20"])
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--worker", nargs=4, metavar=("LIB", "MODEL", "STEPS", "OVERLAP"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        lib, model, steps, overlap = args.worker
        if lib == "convnet":
            convnet_worker(model, int(steps), overlap == "1")
        else:
            torch_worker(model, int(steps))
        return
    torch = not args.no_torch and importlib.util.find_spec("torch") is not None
    print(f"{os.cpu_count()} cores; per-process batch {BATCH}; {args.steps} steps; median of {args.reps} "
          f"alternating rounds")
    for model in args.models:
        runs = {"cn1": lambda: run_convnet(1, model, args.steps, True),
                "cn2": lambda: run_convnet(2, model, args.steps, True),
                "cn2_after": lambda: run_convnet(2, model, args.steps, False)}
        if torch:
            runs.update(t1=lambda: run_torch(1, model, args.steps), t2=lambda: run_torch(2, model, args.steps))
        results = {k: [] for k in runs}
        for _ in range(args.reps):
            for k, fn in runs.items():
                results[k].append(fn())

        def med(k, field):
            return statistics.median(r[field] for r in results[k])
        cn1, cn2 = med("cn1", "images_s"), med("cn2", "images_s")
        wait, wait_after = med("cn2", "wait_share"), med("cn2_after", "wait_share")
        hidden = 1 - wait / wait_after if wait_after > 0 else float("nan")
        print(f"{model}: convnet 1x1 {cn1:.0f} img/s, 2x1 {cn2:.0f} img/s, efficiency {cn2 / (2 * cn1):.0%}; "
              f"all-reduce wait {wait:.1%} of the step with overlap, {wait_after:.1%} started after backward "
              f"(overlap hides {hidden:.0%}; 2x1 after backward {med('cn2_after', 'images_s'):.0f} img/s)")
        if torch:
            t1, t2 = med("t1", "images_s"), med("t2", "images_s")
            print(f"{model}: PyTorch DDP (gloo) 1x1 {t1:.0f} img/s, 2x1 {t2:.0f} img/s, efficiency "
                  f"{t2 / (2 * t1):.0%}; convnet / PyTorch: {cn1 / t1:.2f} at 1 process, {cn2 / t2:.2f} at 2")


if __name__ == "__main__":
    main()
