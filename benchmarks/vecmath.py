"""Forward + backward of the activations, softmax and losses that run on cpu/vecmath.h,
convnet beside PyTorch, alternating in one process (float32, --threads each). Prints the
CPU capability and, per case, the medians and the ratio torch time / convnet time (above 1:
convnet faster). Run it with each build's interpreter to compare builds in one sitting.

    python benchmarks/vecmath.py [--threads 2] [--reps 15]
"""

import argparse

import numpy as np

from timing import alternating_medians


def cases(lib):
    if lib == "convnet":
        import convnet as cn
        F, tensor = cn.nn.functional, cn.tensor
    else:
        import torch
        F, tensor = torch.nn.functional, torch.from_numpy
    w = np.linspace(0.5, 2, 1000).astype(np.float32)
    act = (64, 64, 32, 32)
    return [
        ("gelu (64,64,32,32)", [act], lambda x: F.gelu(x)),
        ("silu (64,64,32,32)", [act], lambda x: F.silu(x)),
        ("sigmoid (64,64,32,32)", [act], lambda x: F.sigmoid(x)),
        ("tanh (64,64,32,32)", [act], lambda x: F.tanh(x)),
        ("softmax dim 1 (64,64,32,32)", [act], lambda x: F.softmax(x, 1)),
        ("cross_entropy (256,1000) weight+smoothing", [(256, 1000), "target"],
         lambda x, t: F.cross_entropy(x, t, weight=tensor(w), label_smoothing=0.1)),
        ("bce_with_logits (256,1000)", [(256, 1000), (256, 1000)],
         lambda x, t: F.binary_cross_entropy_with_logits(x, t)),
    ]


def runner(lib, case):
    name, shapes, fn = case
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 1000, 256) if s == "target" else rng.normal(0, 2, s).astype(np.float32)
              for s in shapes]
    # the first input needs its gradient; the others (targets) do not
    if lib == "convnet":
        import convnet as cn
        xs = [cn.tensor(a) for a in arrays]
    else:
        import torch
        xs = [torch.from_numpy(a) for a in arrays]
    xs[0].requires_grad_()

    def run():
        fn(*xs).sum().backward()

    return run


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=15)
    a = p.parse_args()
    import convnet as cn
    import torch
    cn.set_num_threads(a.threads)
    torch.set_num_threads(a.threads)
    cap = cn.backends.cpu.get_cpu_capability() if hasattr(getattr(cn, "backends", None), "cpu") else "n/a"
    print(f"convnet {cn.__file__}\ncapability {cap}, threads {a.threads}")
    for cc, tc in zip(cases("convnet"), cases("torch")):
        t_cn, t_torch = alternating_medians([runner("convnet", cc), runner("torch", tc)], a.reps, iters=3)
        print(f"{cc[0]:45s} convnet {t_cn * 1e3:8.2f} ms  torch {t_torch * 1e3:8.2f} ms  ratio {t_torch / t_cn:5.2f}")


if __name__ == "__main__":
    main()
