"""Forward + backward time of the toolbox's building blocks, convnet beside PyTorch.

Each case runs forward then backward of sum(op(inputs) * dy) on float32 inputs; the time is the
median of `--reps` runs of `--iters` passes, and the ratio is convnet / torch (below 1: convnet
faster).

    python benchmarks/blocks.py [--threads 2] [--iters 10] [--reps 5]
"""

import argparse

import numpy as np

from timing import median_seconds


def cases(lib):
    """(name, input shapes, fn(*tensors) -> tensor, index of the int64 target or None)."""
    if lib == "convnet":
        import convnet as cn
        F, cat = cn.functional, cn.cat
    else:
        import torch
        F, cat = torch.nn.functional, torch.cat
    w = np.linspace(0.5, 2, 1000).astype(np.float32)
    wt = (lambda a: __import__("convnet").tensor(a)) if lib == "convnet" else (lambda a: __import__("torch").from_numpy(a))
    return [
        ("cat 4 x (64,32,16,16), dim 1", [(64, 32, 16, 16)] * 4, lambda *xs: cat(list(xs), 1), None),
        ("gelu (64,64,32,32)", [(64, 64, 32, 32)], lambda x: F.gelu(x), None),
        ("silu (64,64,32,32)", [(64, 64, 32, 32)], lambda x: F.silu(x), None),
        ("cross_entropy (256,1000) weight+smoothing", [(256, 1000), "target"],
         lambda x, t: F.cross_entropy(x, t, weight=wt(w), label_smoothing=0.1), 1),
        ("bce_with_logits (256,1000)", [(256, 1000), (256, 1000)],
         lambda x, t: F.binary_cross_entropy_with_logits(x, t), None),
    ]


def time_case(lib, case, iters, reps):
    name, shapes, fn, target = case
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 1000, 256) if s == "target" else rng.uniform(0, 1, s).astype(np.float32)
              for s in shapes]
    if lib == "convnet":
        import convnet as cn
        def make(a, i):
            t = cn.tensor(a)
            return t if i == target else t.requires_grad_()
    else:
        import torch
        def make(a, i):
            t = torch.from_numpy(a)
            return t if i == target else t.requires_grad_()
    xs = [make(a, i) for i, a in enumerate(arrays)]

    def run():
        y = fn(*xs)
        y.sum().backward()

    return median_seconds(run, reps, iters) * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    import convnet as cn
    cn.set_num_threads(args.threads)
    libs = ["convnet"]
    try:
        import torch
        torch.set_num_threads(args.threads)
        libs.append("torch")
    except ImportError:
        pass
    print(f"forward + backward, {args.threads} thread(s), median of {args.reps} x {args.iters} passes (ms)")
    print(f"{'case':44s} " + " ".join(f"{lib:>9s}" for lib in libs) + ("     ratio" if len(libs) == 2 else ""))
    per_lib = {lib: cases(lib) for lib in libs}
    for k, case in enumerate(per_lib["convnet"]):
        ms = [time_case(lib, per_lib[lib][k], args.iters, args.reps) for lib in libs]
        line = f"{case[0]:44s} " + " ".join(f"{m:9.2f}" for m in ms)
        if len(ms) == 2:
            line += f" {ms[0] / ms[1]:9.2f}"
        print(line)


if __name__ == "__main__":
    main()
