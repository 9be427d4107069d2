"""Forward + backward time of the normalization, transposed-convolution and resizing layers.

Each case builds the same layer in convnet and, where installed, PyTorch (same process, same
thread count), and times forward then backward with a ones gradient, as the median of `--reps`
runs of `--iters` passes; the last column is convnet's time over torch's.

    python benchmarks/norm_pool_layers.py [--threads 2] [--batch 32]
"""

import argparse

import numpy as np

from timing import median_seconds

# (name, module expression (in both libraries' nn), input shape without the batch)
CASES = [
    ("BatchNorm2d(64) train", "BatchNorm2d(64)", (64, 28, 28)),
    ("LocalResponseNorm(5)", "LocalResponseNorm(5)", (64, 28, 28)),
    ("ConvTranspose2d(64, 32, 4, s2, p1)", "ConvTranspose2d(64, 32, 4, stride=2, padding=1)", (64, 14, 14)),
    ("AdaptiveMaxPool2d((6, 6))", "AdaptiveMaxPool2d((6, 6))", (64, 27, 27)),
    ("Upsample x2 bilinear", "Upsample(scale_factor=2, mode='bilinear')", (32, 28, 28)),
    ("Upsample x2 nearest", "Upsample(scale_factor=2)", (32, 28, 28)),
    ("ZeroPad2d(2)", "ZeroPad2d(2)", (64, 28, 28)),
]


def step_ms(lib, expr, x_np, iters, reps):
    if lib == "convnet":
        import convnet as cn
        layer = eval("cn.nn." + expr)
        x = cn.tensor(x_np).requires_grad_()
        ones = cn.ones(*layer(x).shape)
    else:
        import torch
        layer = eval("torch.nn." + expr)
        x = torch.from_numpy(x_np).requires_grad_()
        ones = torch.ones_like(layer(x))

    def run():
        x.grad = None
        layer(x).backward(ones)

    return median_seconds(run, reps, iters) * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
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
    print(f"forward + backward, batch {args.batch}, {args.threads} thread(s), "
          f"median of {args.reps} x {args.iters} passes (ms)")
    print(f"{'layer':38s} {'convnet':>9s} {'torch':>9s} {'ratio':>6s}")
    rng = np.random.default_rng(0)
    for name, expr, shape in CASES:
        x = rng.standard_normal((args.batch,) + shape).astype(np.float32)
        ms = {lib: step_ms(lib, expr, x, args.iters, args.reps) for lib in libs}
        t = ms.get("torch")
        print(f"{name:38s} {ms['convnet']:9.3f} " + (f"{t:9.3f} {ms['convnet'] / t:6.2f}" if t else ""))


if __name__ == "__main__":
    main()
