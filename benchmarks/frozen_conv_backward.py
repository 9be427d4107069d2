"""Backward time of LeNet-5's convolutions with a trainable and a frozen weight.

A frozen layer (`requires_grad_(False)`) computes no weight gradient: its backward is
dx only. Each case times `y.backward(dy)` alone (the forward is outside the clock), as the
median of `--reps` runs of `--iters` backward passes, for convnet and, where installed,
PyTorch in the same process.

    python benchmarks/frozen_conv_backward.py [--threads 2] [--batch-sizes 64 256]
"""

import argparse
import statistics
import time

import numpy as np

# (name, in_channels, out_channels, kernel, padding, input size) as in LeNet-5 on 28x28 MNIST
CONVS = [("conv1 1->6 5x5 pad 2, 28x28", 1, 6, 5, 2, 28), ("conv2 6->16 5x5, 14x14", 6, 16, 5, 0, 14)]


def _timed_backward(layer, x, dy):
    """A pass of forward then backward that adds the backward's time to `run.elapsed`."""
    def run():
        x.grad = None
        layer.zero_grad()
        y = layer(x)
        t0 = time.perf_counter()
        y.backward(dy)
        run.elapsed += time.perf_counter() - t0
    return run


def convnet_backward(conv, x_np, frozen):
    import convnet as cn
    layer = cn.nn.Conv2d(*conv[1:4], padding=conv[4])
    layer.requires_grad_(not frozen)
    x = cn.tensor(x_np).requires_grad_()  # as when a layer before this one is trained
    return _timed_backward(layer, x, cn.ones(*layer(x).shape))


def torch_backward(conv, x_np, frozen):
    import torch
    layer = torch.nn.Conv2d(*conv[1:4], padding=conv[4])
    layer.requires_grad_(not frozen)
    x = torch.from_numpy(x_np).requires_grad_()
    return _timed_backward(layer, x, torch.ones_like(layer(x)))


def backward_ms(make, conv, x_np, frozen, iters, reps):
    """Median backward-only time per pass, in milliseconds."""
    run = make(conv, x_np, frozen)
    run.elapsed = 0.0
    run()
    times = []
    for _ in range(reps):
        run.elapsed = 0.0
        for _ in range(iters):
            run()
        times.append(run.elapsed / iters * 1e3)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args()
    import convnet as cn
    cn.set_num_threads(args.threads)
    libs = [("convnet", convnet_backward)]
    try:
        import torch
        torch.set_num_threads(args.threads)
        libs.append(("torch", torch_backward))
    except ImportError:
        pass
    print(f"backward only, {args.threads} thread(s), median of {args.reps} x {args.iters} passes (ms)")
    print(f"{'layer':32s} {'batch':>5s} {'library':8s} {'trainable':>10s} {'frozen':>8s} {'saved':>6s}")
    rng = np.random.default_rng(0)
    for conv in CONVS:
        for batch in args.batch_sizes:
            x = rng.standard_normal((batch, conv[1], conv[5], conv[5])).astype(np.float32)
            for lib, make in libs:
                full = backward_ms(make, conv, x, False, args.iters, args.reps)
                frozen = backward_ms(make, conv, x, True, args.iters, args.reps)
                print(f"{conv[0]:32s} {batch:5d} {lib:8s} {full:10.3f} {frozen:8.3f} {1 - frozen / full:6.0%}")


if __name__ == "__main__":
    main()
