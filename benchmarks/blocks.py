"""Forward + backward time of the toolbox's building blocks, convnet beside PyTorch.

Each case runs forward then backward of sum(op(inputs)) on float32 inputs; the time is the
median of `--reps` runs of `--iters` passes, convnet's and torch's runs interleaved, and the ratio
is convnet / torch (below 1: convnet faster).

`--tiny` runs the op-call overhead cases instead: ops on a handful of elements, where the time is
the framework's own work per call (argument checks, allocation, autograd records), not arithmetic.

    python benchmarks/blocks.py [--threads 2] [--iters 10] [--reps 5]
    python benchmarks/blocks.py --tiny [--iters 2000] [--reps 9]
"""

import argparse

import numpy as np

from timing import alternating_medians


def cases(lib, tiny=False):
    """(name, input shapes, fn(*tensors) -> tensor, indices of the inputs that take no gradient;
    "target" in shapes is an int64 class index vector)."""
    if lib == "convnet":
        import convnet as cn
        F, cat = cn.functional, cn.cat
    else:
        import torch
        F, cat = torch.nn.functional, torch.cat
    w = np.linspace(0.5, 2, 1000).astype(np.float32)
    wt = (lambda a: __import__("convnet").tensor(a)) if lib == "convnet" else (lambda a: __import__("torch").from_numpy(a))
    r = np.random.default_rng(1)
    rows, cols = wt(r.integers(0, 4096, 1024)), wt(r.integers(0, 1000, (256, 10)))
    mask = wt(r.uniform(0, 1, (256, 1000)) > 0.5)

    def setitem(x, key, value):
        y = x * 1
        y[key] = value
        return y
    if tiny:
        bn = (cn.nn.BatchNorm2d(2) if lib == "convnet" else torch.nn.BatchNorm2d(2)).eval()
        return [
            ("conv2d (1,1,4,4) * (1,1,3,3) + bias", [(1, 1, 4, 4), (1, 1, 3, 3), (1,)],
             lambda x, w, b: F.conv2d(x, w, b), ()),
            ("linear (1,4) -> (1,2)", [(1, 4), (2, 4), (2,)], lambda x, w, b: F.linear(x, w, b), ()),
            ("max_pool2d (1,1,4,4), 2", [(1, 1, 4, 4)], lambda x: F.max_pool2d(x, 2), ()),
            ("batch_norm eval (1,2,2,2)", [(1, 2, 2, 2), (2,), (2,), (2,), (2,)],
             lambda x, rm, rv, w, b: F.batch_norm(x, rm, rv, w, b, False, 0.1, 1e-5), (1, 2)),
            ("BatchNorm2d(2) module, eval (1,2,2,2)", [(1, 2, 2, 2)], lambda x: bn(x), ()),
            ("relu (4,)", [(4,)], lambda x: F.relu(x), ()),
            ("x[0, 1:] (4,4)", [(4, 4)], lambda x: x[0, 1:], ()),
            ("x.permute(1, 0) (4,4)", [(4, 4)], lambda x: x.permute(1, 0), ()),
            ("y = x * 1; y[0] = 1 (4,4)", [(4, 4)], lambda x: setitem(x, 0, 1.0), ()),
        ]
    return [
        ("cat 4 x (64,32,16,16), dim 1", [(64, 32, 16, 16)] * 4, lambda *xs: cat(list(xs), 1), ()),
        ("gelu (64,64,32,32)", [(64, 64, 32, 32)], lambda x: F.gelu(x), ()),
        ("silu (64,64,32,32)", [(64, 64, 32, 32)], lambda x: F.silu(x), ()),
        ("cross_entropy (256,1000) weight+smoothing", [(256, 1000), "target"],
         lambda x, t: F.cross_entropy(x, t, weight=wt(w), label_smoothing=0.1), (1,)),
        ("bce_with_logits (256,1000)", [(256, 1000), (256, 1000)],
         lambda x, t: F.binary_cross_entropy_with_logits(x, t), ()),
        ("permute(0,2,3,1).contiguous() (64,64,32,32)", [(64, 64, 32, 32)],
         lambda x: x.permute(0, 2, 3, 1).contiguous(), ()),
        ("x[:, ::2, 1:] * 2 (64,64,32,32)", [(64, 64, 32, 32)], lambda x: x[:, ::2, 1:] * 2, ()),
        ("x[rows] 1024 of (4096,256)", [(4096, 256)], lambda x: x[rows], ()),
        ("x[mask] (256,1000)", [(256, 1000)], lambda x: x[mask], ()),
        ("x.gather(1, (256,10)) (256,1000)", [(256, 1000)], lambda x: x.gather(1, cols), ()),
        ("y[:, 10:20] = 0 (256,1000)", [(256, 1000)], lambda x: setitem(x, (slice(None), slice(10, 20)), 0.0), ()),
        ("y[rows] = v (4096,256)", [(4096, 256), (256,)], lambda x, v: setitem(x, rows, v), ()),
    ]


def runner(lib, case):
    """A function that runs one forward + backward pass of the case."""
    name, shapes, fn, nograd = case
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 1000, 256) if s == "target" else rng.uniform(0, 1, s).astype(np.float32)
              for s in shapes]
    if lib == "convnet":
        import convnet as cn
        def make(a, i):
            t = cn.tensor(a)
            return t if i in nograd else t.requires_grad_()
    else:
        import torch
        def make(a, i):
            t = torch.from_numpy(a)
            return t if i in nograd else t.requires_grad_()
    xs = [make(a, i) for i, a in enumerate(arrays)]

    def run():
        y = fn(*xs)
        y.sum().backward()

    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tiny", action="store_true", help="the op-call overhead cases")
    ap.add_argument("--iters", type=int, default=None, help="passes per run (default 10, --tiny 2000)")
    ap.add_argument("--reps", type=int, default=None, help="runs (default 5, --tiny 9)")
    args = ap.parse_args()
    iters = args.iters or (2000 if args.tiny else 10)
    reps = args.reps or (9 if args.tiny else 5)
    import convnet as cn
    cn.set_num_threads(args.threads)
    libs = ["convnet"]
    try:
        import torch
        torch.set_num_threads(args.threads)
        libs.append("torch")
    except ImportError:
        pass
    unit, scale = ("us", 1e6) if args.tiny else ("ms", 1e3)
    print(f"forward + backward, {args.threads} thread(s), median of {reps} x {iters} passes ({unit}); "
          f"convnet {cn.__version__} from {cn.__file__}")
    print(f"{'case':44s} " + " ".join(f"{lib:>9s}" for lib in libs) + ("     ratio" if len(libs) == 2 else ""))
    per_lib = {lib: cases(lib, args.tiny) for lib in libs}
    for k, case in enumerate(per_lib["convnet"]):
        times = alternating_medians([runner(lib, per_lib[lib][k]) for lib in libs], reps, iters)
        line = f"{case[0]:44s} " + " ".join(f"{t * scale:9.2f}" for t in times)
        if len(times) == 2:
            line += f" {times[0] / times[1]:9.2f}"
        print(line)


if __name__ == "__main__":
    main()
