"""Depthwise convolution, pooling and batch norm, convnet against PyTorch side by side.

Each case runs forward + backward (a ones gradient) of the same functional call in convnet and
PyTorch, alternating between the two in one process (2 threads each unless --threads), and
prints the medians and the ratio PyTorch time / convnet time (> 1: convnet is faster).

    python benchmarks/dw_pool_bn.py [--threads 2] [--reps 7] [--only depthwise]
"""

import argparse

import numpy as np

from timing import alternating_medians


def depthwise(n, c, hw, stride, k=3):
    pad = (k - 1) // 2
    return (f"depthwise {k}x{k} s{stride}, ({n},{c},{hw},{hw})", [(n, c, hw, hw), (c, 1, k, k)],
            lambda F, x, w: F.conv2d(x, w, None, stride=stride, padding=pad, groups=c))


def batch_norm(shape):
    c = shape[1]
    return (f"batch_norm2d train, {shape}", [shape, (c,), (c,)],
            lambda F, x, g, b: F.batch_norm(x, None, None, g, b, training=True))


CASES = [
    depthwise(32, 128, 28, 1),
    # MobileNetV2 (CIFAR: 32x32 input, stride-1 stem), batch 64: its depthwise layers
    depthwise(64, 96, 32, 1),
    depthwise(64, 144, 32, 2),
    depthwise(64, 192, 16, 1),
    depthwise(64, 192, 16, 2),
    depthwise(64, 384, 8, 1),
    depthwise(64, 576, 8, 2),
    depthwise(64, 960, 4, 1),
    ("max_pool2d 2x2/2, (64,64,32,32)", [(64, 64, 32, 32)], lambda F, x: F.max_pool2d(x, 2, 2)),
    ("max_pool2d 3x3/2 p1, (64,64,32,32)", [(64, 64, 32, 32)], lambda F, x: F.max_pool2d(x, 3, 2, 1)),
    ("max_pool2d 3x3/1 p1, (64,64,32,32)", [(64, 64, 32, 32)], lambda F, x: F.max_pool2d(x, 3, 1, 1)),
    ("avg_pool2d 2x2/2, (64,64,32,32)", [(64, 64, 32, 32)], lambda F, x: F.avg_pool2d(x, 2, 2)),
    ("avg_pool2d 3x3/2 p1, (64,64,32,32)", [(64, 64, 32, 32)], lambda F, x: F.avg_pool2d(x, 3, 2, 1)),
    ("adaptive_avg_pool2d 1, (64,1280,4,4)", [(64, 1280, 4, 4)], lambda F, x: F.adaptive_avg_pool2d(x, 1)),
    ("adaptive_avg_pool2d 1, (64,512,8,8)", [(64, 512, 8, 8)], lambda F, x: F.adaptive_avg_pool2d(x, 1)),
    batch_norm((64, 64, 32, 32)),
    batch_norm((64, 256, 8, 8)),
]


def step(lib, fn, arrays):
    """A function running forward + backward of fn on lib's tensors made from arrays."""
    if lib == "convnet":
        import convnet as cn
        import convnet.functional as F
        ts = [cn.tensor(a).requires_grad_() for a in arrays]
        ones = cn.ones(*fn(F, *ts).shape)
    else:
        import torch
        import torch.nn.functional as F
        ts = [torch.from_numpy(a).requires_grad_() for a in arrays]
        ones = torch.ones_like(fn(F, *ts))

    def run():
        for t in ts:
            t.grad = None
        fn(F, *ts).backward(ones)

    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--only", default="", help="run the cases whose name contains this")
    args = ap.parse_args()
    import convnet as cn
    import torch
    cn.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    print(f"forward + backward, {args.threads} thread(s), median of {args.reps} alternating runs (ms); "
          f"ratio = torch / convnet")
    print(f"{'case':42s} {'convnet':>9s} {'torch':>9s} {'ratio':>6s}")
    rng = np.random.default_rng(0)
    for name, shapes, fn in CASES:
        if args.only not in name:
            continue
        arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        run_cn, run_torch = step("convnet", fn, arrays), step("torch", fn, arrays)
        # enough passes per repetition for about 50 ms
        iters = max(1, int(0.05 / max(1e-6, alternating_medians([run_cn], 1, 1)[0])))
        t_cn, t_torch = alternating_medians([run_cn, run_torch], args.reps, iters)
        print(f"{name:42s} {t_cn * 1e3:9.3f} {t_torch * 1e3:9.3f} {t_torch / t_cn:6.2f}", flush=True)


if __name__ == "__main__":
    main()
