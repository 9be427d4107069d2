"""Forward + backward speed of conv2d layers, convnet side by side with PyTorch.

Each case builds the same Conv2d in both libraries (same process, same thread count) and times
forward then backward (dx, dw, db) with a ones gradient, the two libraries' repetitions
interleaved (timing.alternating_medians) so that a drift of a shared machine touches both alike.
GFLOP/s counts 3 products (forward, dx, dw) of 2*N*K*(C/groups)*R*S*P*Q flops each; ratio is
PyTorch's time over convnet's (above 1: convnet is faster).

    python benchmarks/conv_layers.py [--threads 2] [--reps 7] [--only resnet18]
"""

import argparse

import numpy as np

from timing import alternating_medians

# (name, N, C, K, kernel, stride, padding, H=W)
CASES = [
    ("conv3x3 64->64 32x32 N32", 32, 64, 64, 3, 1, 1, 32),
    ("conv3x3 512->512 4x4 N64", 64, 512, 512, 3, 1, 1, 4),
    ("conv1x1 256->64 28x28 N32", 32, 256, 64, 1, 1, 0, 28),
    ("resnet18 64@32x32 N64", 64, 64, 64, 3, 1, 1, 32),
    ("resnet18 128@16x16 N64", 64, 128, 128, 3, 1, 1, 16),
    ("resnet18 256@8x8 N64", 64, 256, 256, 3, 1, 1, 8),
    ("resnet18 512@4x4 N64", 64, 512, 512, 3, 1, 1, 4),
    ("vgg11 3->64@32x32 N64", 64, 3, 64, 3, 1, 1, 32),
    ("vgg11 64->128@16x16 N64", 64, 64, 128, 3, 1, 1, 16),
    ("vgg11 128->256@8x8 N64", 64, 128, 256, 3, 1, 1, 8),
    ("vgg11 256->256@8x8 N64", 64, 256, 256, 3, 1, 1, 8),
    ("vgg11 256->512@4x4 N64", 64, 256, 512, 3, 1, 1, 4),
    ("vgg11 512->512@4x4 N64", 64, 512, 512, 3, 1, 1, 4),
    ("vgg11 512->512@2x2 N64", 64, 512, 512, 3, 1, 1, 2),
]


def make_step(lib, C, K, k, stride, pad, x_np):
    if lib == "convnet":
        import convnet as m
    else:
        import torch as m
    layer = m.nn.Conv2d(C, K, k, stride=stride, padding=pad)
    if lib == "convnet":
        x = m.tensor(x_np).requires_grad_()
        ones = m.ones(*layer(x).shape)
    else:
        x = m.from_numpy(x_np).requires_grad_()
        ones = m.ones_like(layer(x))

    def run():
        x.grad = None
        layer.weight.grad = None
        layer.bias.grad = None
        layer(x).backward(ones)

    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--only", default="", help="run the cases whose name contains this")
    args = ap.parse_args()
    import convnet
    import torch
    convnet.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    print(f"forward + backward, {args.threads} thread(s), median of {args.reps} interleaved runs")
    print(f"{'layer':28s} {'convnet ms':>10s} {'GFLOP/s':>8s} {'torch ms':>9s} {'GFLOP/s':>8s} {'ratio':>6s}")
    rng = np.random.default_rng(0)
    for name, N, C, K, k, stride, pad, H in CASES:
        if args.only not in name:
            continue
        x = rng.standard_normal((N, C, H, H)).astype(np.float32)
        P = (H + 2 * pad - k) // stride + 1
        flops = 3 * 2 * N * K * C * k * k * P * P
        fns = [make_step(lib, C, K, k, stride, pad, x) for lib in ("convnet", "torch")]
        iters = max(1, int(2e9 // flops))
        tc, tt = alternating_medians(fns, args.reps, iters)
        print(f"{name:28s} {tc * 1e3:10.2f} {flops / tc / 1e9:8.1f} {tt * 1e3:9.2f} "
              f"{flops / tt / 1e9:8.1f} {tt / tc:6.2f}", flush=True)


if __name__ == "__main__":
    main()
