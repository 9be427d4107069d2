"""Where a training step's time goes, layer by layer: each distinct layer shape of ResNet-18
(CIFAR) and VGG-11 (CIFAR) at batch 64, forward and backward timed in isolation for convnet
and PyTorch alternating in one process (timing.alternating_medians); backward is the time of
forward+backward less that of forward. Each row is multiplied by how often the shape occurs in
the network, so the column sums estimate the convolutions' and the other layers' share of a step.

    python benchmarks/layer_profile.py [--model resnet18|vgg11] [--threads 2] [--reps 3]
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import alternating_medians  # noqa: E402

# (name, count, op, input shape (N,C,H,W), op arguments)
RESNET18 = [
    ("conv 3→64 3×3 32²", 1, "conv", (64, 3, 32, 32), (64, 3, 1, 1)),
    ("conv 64→64 3×3 32²", 4, "conv", (64, 64, 32, 32), (64, 3, 1, 1)),
    ("conv 64→128 3×3/2 →16²", 1, "conv", (64, 64, 32, 32), (128, 3, 2, 1)),
    ("conv 64→128 1×1/2 →16²", 1, "conv", (64, 64, 32, 32), (128, 1, 2, 0)),
    ("conv 128→128 3×3 16²", 3, "conv", (64, 128, 16, 16), (128, 3, 1, 1)),
    ("conv 128→256 3×3/2 →8²", 1, "conv", (64, 128, 16, 16), (256, 3, 2, 1)),
    ("conv 128→256 1×1/2 →8²", 1, "conv", (64, 128, 16, 16), (256, 1, 2, 0)),
    ("conv 256→256 3×3 8²", 3, "conv", (64, 256, 8, 8), (256, 3, 1, 1)),
    ("conv 256→512 3×3/2 →4²", 1, "conv", (64, 256, 8, 8), (512, 3, 2, 1)),
    ("conv 256→512 1×1/2 →4²", 1, "conv", (64, 256, 8, 8), (512, 1, 2, 0)),
    ("conv 512→512 3×3 4²", 3, "conv", (64, 512, 4, 4), (512, 3, 1, 1)),
    ("bn+relu 64×32²", 5, "bn_relu", (64, 64, 32, 32), None),
    ("bn+relu 128×16²", 5, "bn_relu", (64, 128, 16, 16), None),
    ("bn+relu 256×8²", 5, "bn_relu", (64, 256, 8, 8), None),
    ("bn+relu 512×4²", 5, "bn_relu", (64, 512, 4, 4), None),
    ("add 64×32²", 2, "add", (64, 64, 32, 32), None),
    ("add 128×16²", 2, "add", (64, 128, 16, 16), None),
]
VGG11 = [
    ("conv 3→64 3×3 32²", 1, "conv_relu", (64, 3, 32, 32), (64, 3, 1, 1)),
    ("conv 64→128 3×3 16²", 1, "conv_relu", (64, 64, 16, 16), (128, 3, 1, 1)),
    ("conv 128→256 3×3 8²", 1, "conv_relu", (64, 128, 8, 8), (256, 3, 1, 1)),
    ("conv 256→256 3×3 8²", 1, "conv_relu", (64, 256, 8, 8), (256, 3, 1, 1)),
    ("conv 256→512 3×3 4²", 1, "conv_relu", (64, 256, 4, 4), (512, 3, 1, 1)),
    ("conv 512→512 3×3 4²", 1, "conv_relu", (64, 512, 4, 4), (512, 3, 1, 1)),
    ("conv 512→512 3×3 2²", 2, "conv_relu", (64, 512, 2, 2), (512, 3, 1, 1)),
    ("maxpool 64×32²", 1, "pool", (64, 64, 32, 32), None),
    ("maxpool 128×16²", 1, "pool", (64, 128, 16, 16), None),
    ("maxpool 256×8²", 1, "pool", (64, 256, 8, 8), None),
    ("maxpool 512×4²", 1, "pool", (64, 512, 4, 4), None),
]


def layer_fns(lib, op, shape, args):
    """(forward, forward+backward) closures of one layer on random inputs."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape, dtype=np.float32)
    if lib == "convnet":
        import convnet as cn
        F, t = cn.functional, cn.from_numpy
    else:
        import torch
        F, t = torch.nn.functional, torch.from_numpy
    xt = t(x).requires_grad_()
    if op.startswith("conv"):
        k, r, stride, pad = args
        wt = t((rng.standard_normal((k, shape[1], r, r)) * 0.05).astype(np.float32)).requires_grad_()
        bt = t(np.zeros(k, np.float32)).requires_grad_() if op == "conv_relu" else None
        f = (lambda: F.relu(F.conv2d(xt, wt, bt, stride, pad))) if op == "conv_relu" else \
            (lambda: F.conv2d(xt, wt, None, stride, pad))
    elif op == "bn_relu":
        c = shape[1]
        rm, rv = t(np.zeros(c, np.float32)), t(np.ones(c, np.float32))
        g, b = t(np.ones(c, np.float32)).requires_grad_(), t(np.zeros(c, np.float32)).requires_grad_()
        f = lambda: F.relu(F.batch_norm(xt, rm, rv, g, b, True, 0.1, 1e-5))  # noqa: E731
    elif op == "add":
        yt = t(x.copy()).requires_grad_()
        f = lambda: xt + yt  # noqa: E731
    else:
        f = lambda: F.max_pool2d(xt, 2, 2)  # noqa: E731
    dy = {}

    def fwd_bwd():
        y = f()
        if "g" not in dy:
            dy["g"] = t(rng.standard_normal(tuple(y.shape), dtype=np.float32))
        y.backward(dy["g"])
        xt.grad = None
    fwd_bwd()
    return f, fwd_bwd


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=("resnet18", "vgg11"), default="resnet18")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--iters", type=int, default=3)
    args = ap.parse_args()
    import convnet as cn
    import torch
    cn.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    rows = RESNET18 if args.model == "resnet18" else VGG11
    print(f"{args.model} (CIFAR), batch 64, {args.threads} threads; ms per occurrence × count; "
          "ratio = PyTorch time / convnet time (> 1: convnet faster)")
    print("| layer | × | convnet fwd | convnet bwd | torch fwd | torch bwd | ratio fwd | ratio bwd |")
    print("|---|---|---|---|---|---|---|---|")
    tot = np.zeros(4)
    for name, count, op, shape, a in rows:
        cf, cfb = layer_fns("convnet", op, shape, a)
        tf, tfb = layer_fns("torch", op, shape, a)
        t = np.array(alternating_medians([cf, tf, cfb, tfb], args.reps, args.iters)) * 1e3
        c_f, t_f, c_b, t_b = t[0], t[1], max(t[2] - t[0], 0.0), max(t[3] - t[1], 0.0)
        tot += count * np.array([c_f, c_b, t_f, t_b])
        ratio = lambda t, c: f"{t / c:.2f}" if c > 0.05 else "—"  # noqa: E731  (below the noise)
        print(f"| {name} | {count} | {c_f:.1f} | {c_b:.1f} | {t_f:.1f} | {t_b:.1f} | "
              f"{ratio(t_f, c_f)} | {ratio(t_b, c_b)} |", flush=True)
    print(f"| total (× count) | | {tot[0]:.0f} | {tot[1]:.0f} | {tot[2]:.0f} | {tot[3]:.0f} | "
          f"{tot[2] / tot[0]:.2f} | {tot[3] / tot[1]:.2f} |")


if __name__ == "__main__":
    main()
