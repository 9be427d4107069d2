"""Time and size of a training checkpoint (model, SGD-momentum state, random states), convnet's
`save_checkpoint`/`load_checkpoint` beside `torch.save`/`torch.load` of the same model and
optimizer state dicts.

Each model exists in both libraries with the same parameter shapes and takes one optimizer step,
so the momentum buffers exist; then the median of `--reps` writes and reads of its checkpoint to
a folder (default: a temporary one) is printed, with the file size.

    python benchmarks/checkpoint.py [--reps 7] [--dir /tmp]
"""

import argparse
import os
import tempfile

import numpy as np

from timing import median_seconds

# (name, [(in, out, kernel) convolutions], [(in, out) linear layers]); only the shapes matter
MODELS = [
    ("lenet5 (61,706 params)", [(1, 6, 5), (6, 16, 5)], [(400, 120), (120, 84), (84, 10)]),
    ("wide cnn (8.5M params)", [(3, 128, 3), (128, 256, 3), (256, 512, 3), (512, 512, 3)],
     [(512 * 16, 512), (512, 1000)]),
]


def _convnet_state(convs, linears):
    import convnet as cn
    layers = [cn.nn.Conv2d(i, o, k) for i, o, k in convs] + [cn.nn.Linear(i, o) for i, o in linears]
    model = cn.nn.Sequential(*layers)
    opt = cn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for p in model.parameters():
        p.grad = cn.ones(*p.shape)
    opt.step()
    return {"epoch": 1, "model": model.state_dict(), "optimizer": opt.state_dict(),
            "rng": {"convnet": cn.get_rng_state(), "numpy": np.random.get_state()}}


def _torch_state(convs, linears):
    import torch
    layers = [torch.nn.Conv2d(i, o, k) for i, o, k in convs] + [torch.nn.Linear(i, o) for i, o in linears]
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    opt.step()
    return {"epoch": 1, "model": model.state_dict(), "optimizer": opt.state_dict(),
            "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state()}}


def _median_ms(fn, reps):
    return median_seconds(fn, reps, warmup=False) * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--dir", default=None, help="folder for the files (default: a temporary one)")
    args = ap.parse_args()
    import convnet as cn
    try:
        import torch
    except ImportError:
        torch = None
    with tempfile.TemporaryDirectory(prefix="convnet-ckpt-bench-") as tmp:
        run(args, cn, torch, args.dir or tmp)


def run(args, cn, torch, folder):
    print(f"median of {args.reps} (ms); files in {folder}")
    print(f"{'model':26s} {'library':8s} {'write':>9s} {'read':>9s} {'size MB':>8s} {'write/torch':>12s}")
    for name, convs, linears in MODELS:
        rows = []
        state = _convnet_state(convs, linears)
        path = os.path.join(folder, "state.ckpt")
        write = _median_ms(lambda: cn.save_checkpoint(state, path), args.reps)
        read = _median_ms(lambda: cn.load_checkpoint(path), args.reps)
        rows.append(("convnet", write, read, os.path.getsize(path)))
        if torch is not None:
            tstate = _torch_state(convs, linears)
            tpath = os.path.join(folder, "state.pt")
            twrite = _median_ms(lambda: torch.save(tstate, tpath), args.reps)
            tread = _median_ms(lambda: torch.load(tpath, weights_only=False), args.reps)
            rows.append(("torch", twrite, tread, os.path.getsize(tpath)))
        for lib, w, r, size in rows:
            ratio = f"{w / rows[-1][1]:.2f}x" if len(rows) > 1 else ""
            print(f"{name:26s} {lib:8s} {w:9.2f} {r:9.2f} {size / 1e6:8.2f} {ratio:>12s}")


if __name__ == "__main__":
    main()
