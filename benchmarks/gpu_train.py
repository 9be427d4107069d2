"""Training throughput on a GPU: convnet against PyTorch's CUDA build, side by side in one process.

Models (each convnet zoo model against the same architecture in torch, started from convnet's
weights, which checks that the two match layer for layer):
  lenet5    batch 256, 1x28x28 (MNIST from $CONVNET_DATA when there, else random data), 10 classes
  resnet18  batch 128, 3x32x32 random data, 10 classes (the ImageNet form; its adaptive pooling
            takes 32x32 inputs)
  vgg11     batch 128, 3x224x224 random data (the zoo's input size; --vgg-size 32 for CIFAR-sized
            inputs, which the adaptive 7x7 pooling before the classifier also takes), 10 classes
each in float32 and under bfloat16 autocast (convnet.autocast / torch.autocast). A step is zero_grad,
forward, cross-entropy, backward and SGD with momentum, on a batch already on the GPU. After warm-up
steps, --reps repetitions of --steps steps alternate between the libraries; the figures are medians.

float32 products are IEEE float32 in both libraries unless --tf32 (then TF32 in both).
Printed per model and precision: images/s of both and the ratio convnet/torch, the peak device
memory of both (convnet.cuda.max_memory_allocated, torch.cuda.max_memory_allocated), and the share
of GPU time spent in GEMM/convolution kernels (kernel names matching GEMM_KERNELS). The shares of both
libraries come from torch.profiler's CUDA activity trace (CUPTI records every kernel of the process,
convnet's cuBLAS and own kernels included). The same figure for convnet from Nsight Systems:

    nsys profile -t cuda -o /tmp/cn --force-overwrite true \\
        python benchmarks/gpu_train.py --only convnet --models resnet18 --precisions fp32 --reps 1
    nsys stats -r cuda_gpu_kern_sum -f csv /tmp/cn.nsys-rep

(the sum of "Total Time (ns)" over the kernels whose names match GEMM_KERNELS, over the total).

    python benchmarks/gpu_train.py [--models lenet5 resnet18 vgg11] [--precisions fp32 bf16]
                                   [--reps 5] [--steps 5] [--json out.json]

On a machine without a CUDA device it says so and exits with status 0.
"""

import argparse
import gzip
import json
import os
import re
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import alternating_medians  # noqa: E402

# GEMM and convolution kernels: cuBLAS/cuBLASLt and CUTLASS GEMMs (gemm, xmma, cutlass, sm90_...),
# cuDNN convolutions (conv, implicit_gemm, wgrad, dgrad, fprop), convnet's im2col/col2im passes; layout
# transposes, bias, batch norm and the rest are not counted, on either side.
GEMM_KERNELS = re.compile(r"gemm|xmma|cutlass|conv|wgrad|dgrad|fprop|im2col|col2im|sm\d\d_", re.IGNORECASE)

MODELS = {  # name: (batch, input shape)
    "lenet5": (256, (1, 28, 28)),
    "resnet18": (128, (3, 32, 32)),
    "vgg11": (128, (3, 224, 224)),
}


# ---- the torch models, with torchvision's layer names (convnet's zoo uses them too) -------------

def torch_model(name, num_classes):
    import torch.nn as nn

    class VGG11(nn.Module):
        def __init__(self):
            super().__init__()
            layers, c = [], 3
            for v in [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]:
                if v == "M":
                    layers.append(nn.MaxPool2d(2, 2))
                else:
                    layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU()]
                    c = v
            self.features = nn.Sequential(*layers)
            self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
            self.classifier = nn.Sequential(nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(0.5),
                                            nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5),
                                            nn.Linear(4096, num_classes))

        def forward(self, x):
            return self.classifier(self.avgpool(self.features(x)).flatten(1))

    if name == "lenet5":
        return nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes))
    if name == "resnet18":
        from twins import torch_resnet18
        return torch_resnet18(num_classes)
    return VGG11()


# ---- one configuration ------------------------------------------------------------------------

def _data(name, batch, shape):
    """Inputs (float32) and integer labels of one batch, as NumPy arrays."""
    rng = np.random.default_rng(0)
    if name == "lenet5":
        try:
            from convnet.datasets import MNIST

            x, y = MNIST(os.environ.get("CONVNET_DATA", "./data"), train=True).arrays()
            x = ((x[:batch].astype(np.float32) / 255 - 0.1307) / 0.3081).reshape(batch, *shape)
            return x, y[:batch].astype(np.int64), "MNIST"
        except (OSError, ValueError, RuntimeError):
            pass
    return rng.standard_normal((batch, *shape), dtype=np.float32), rng.integers(0, 10, batch), "random"


def _convnet_step(cn, model, opt, x, y, bf16):
    def step():
        opt.zero_grad()
        if bf16:
            with cn.autocast("cuda", dtype=cn.bfloat16):
                loss = cn.functional.cross_entropy(model(x), y)
        else:
            loss = cn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def _torch_step(torch, model, opt, x, y, bf16):
    def step():
        opt.zero_grad()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def _gemm_share(torch, run):
    """(share of GPU kernel time in GEMM/conv kernels, kernel time in ms) while `run()` runs,
    from torch.profiler's trace of every CUDA kernel of the process."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        run()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "trace.json")
        prof.export_chrome_trace(path)
        opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
        with opener(path, "rt") as f:
            events = json.load(f)
    events = events["traceEvents"] if isinstance(events, dict) else events
    kernels = [e for e in events if e.get("cat") == "kernel" and "dur" in e]
    total = sum(e["dur"] for e in kernels)
    gemm = sum(e["dur"] for e in kernels if GEMM_KERNELS.search(e.get("name", "")))
    return (gemm / total if total else float("nan")), total / 1e3


def run_config(cn, torch, name, precision, args):
    batch, shape = MODELS[name]
    if name == "vgg11":
        shape = (3, args.vgg_size, args.vgg_size)
    bf16 = precision == "bf16"
    x_np, y_np, source = _data(name, batch, shape)
    out = {"model": name, "precision": precision, "batch": batch, "input": "x".join(map(str, shape)),
           "data": source}
    sync = []
    steps = {}

    if args.only in (None, "convnet"):
        cn.manual_seed(0)
        model = cn.models.get_model(name, num_classes=10).to("cuda")
        opt = cn.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x, y = cn.tensor(x_np, device="cuda"), cn.tensor(y_np.astype(np.int64), device="cuda")
        steps["convnet"] = _convnet_step(cn, model, opt, x, y, bf16)
        sync.append(cn.cuda.synchronize)
        out["parameters"] = sum(p.numel() for p in model.parameters())
        init = {k: v.cpu().numpy() for k, v in model.state_dict().items()}
    if torch is not None and args.only in (None, "torch"):
        torch.manual_seed(0)
        tmodel = torch_model(name, 10)
        if args.only is None:
            tmodel.load_state_dict({k: torch.from_numpy(v) for k, v in init.items()}, strict=True)
        tmodel = tmodel.cuda()
        topt = torch.optim.SGD(tmodel.parameters(), lr=0.01, momentum=0.9)
        tx, ty = torch.from_numpy(x_np).cuda(), torch.from_numpy(y_np.astype(np.int64)).cuda()
        steps["torch"] = _torch_step(torch, tmodel, topt, tx, ty, bf16)
        sync.append(torch.cuda.synchronize)

    def synced(step):
        def run():
            for _ in range(args.steps):
                step()
            for s in sync:
                s()
        return run

    libs = list(steps)
    if len(libs) == 2:
        out["first_loss"] = {lib: float(steps[lib]().item()) for lib in libs}
    if "convnet" in steps:
        cn.cuda.reset_peak_memory_stats()
    if "torch" in steps:
        torch.cuda.reset_peak_memory_stats()
    for lib in libs:  # warm-up (cuBLAS heuristics, allocator caches)
        for _ in range(args.warmup):
            steps[lib]()
    medians = alternating_medians([synced(steps[lib]) for lib in libs], args.reps, warmup=False)
    for lib, t in zip(libs, medians):
        out[f"{lib}_img_s"] = batch * args.steps / t
        out[f"{lib}_ms_step"] = t / args.steps * 1e3
    if "convnet" in steps:
        out["convnet_peak_mib"] = cn.cuda.max_memory_allocated() / 2**20
    if "torch" in steps:
        out["torch_peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
    if len(libs) == 2:
        out["ratio"] = out["convnet_img_s"] / out["torch_img_s"]
    if torch is not None and not args.no_profile:
        for lib in libs:
            try:
                out[f"{lib}_gemm_share"], out[f"{lib}_kernel_ms"] = _gemm_share(torch, synced(steps[lib]))
            except Exception as e:  # the throughput figures stand without the profile
                print(f"gpu_train: profiling {lib} failed: {e!r}", flush=True)
    return out


def _fmt(r):
    s = f"{r['model']:8s} {r['precision']:4s} batch {r['batch']} ({r['input']}, {r['data']}):"
    for lib in ("convnet", "torch"):
        if f"{lib}_img_s" in r:
            s += (f"\n  {lib:7s} {r[f'{lib}_img_s']:9.0f} img/s ({r[f'{lib}_ms_step']:7.2f} ms/step), "
                  f"peak {r[f'{lib}_peak_mib']:8.0f} MiB")
            if f"{lib}_gemm_share" in r:
                s += f", GEMM/conv {100 * r[f'{lib}_gemm_share']:5.1f}% of {r[f'{lib}_kernel_ms']:.1f} ms GPU time"
    if "ratio" in r:
        s += f"\n  convnet/torch throughput {r['ratio']:.2f}"
    if "first_loss" in r:
        s += f"; first-step loss convnet {r['first_loss']['convnet']:.4f}, torch {r['first_loss']['torch']:.4f}"
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    ap.add_argument("--precisions", nargs="+", choices=["fp32", "bf16"], default=["fp32", "bf16"])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--steps", type=int, default=5, help="steps per repetition")
    ap.add_argument("--warmup", type=int, default=3, help="steps before timing")
    ap.add_argument("--vgg-size", type=int, default=224, help="vgg11 input size (224: the zoo's; 32 also works)")
    ap.add_argument("--tf32", action="store_true", help="float32 convolutions and matmuls of both in TF32")
    ap.add_argument("--only", choices=["convnet", "torch"], help="measure one library (for nsys)")
    ap.add_argument("--no-profile", action="store_true", help="skip the GEMM/conv share")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()

    import convnet as cn

    if not cn.cuda.is_available():
        print("gpu_train: no CUDA device (convnet.cuda.is_available() is False): nothing to measure")
        return 0
    try:
        import torch

        if not torch.cuda.is_available():
            print(f"gpu_train: torch {torch.__version__} has no CUDA device: measuring convnet alone")
            torch = None
    except ImportError:
        print("gpu_train: torch is not installed: measuring convnet alone")
        torch = None
    if torch is None:
        args.only = "convnet"
    # one TF32 policy for both libraries' float32 products (torch starts with TF32 convolutions)
    if hasattr(cn, "backends"):
        cn.backends.cuda.matmul.allow_tf32 = cn.backends.cudnn.allow_tf32 = args.tf32
    elif args.tf32:
        print("gpu_train: this convnet has no TF32 switches (convnet.backends); float32 stays IEEE")
    if torch is not None:
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = args.tf32
    print(f"device: {cn.cuda.get_device_name(0)}; float32 products in "
          f"{'TF32' if args.tf32 else 'IEEE float32'}"
          + (f"; torch {torch.__version__} (CUDA {torch.version.cuda})" if torch is not None else ""), flush=True)
    results = []
    for name in args.models:
        for precision in args.precisions:
            r = run_config(cn, torch, name, precision, args)
            results.append(r)
            print(_fmt(r), flush=True)
            cn.cuda.empty_cache()
            if torch is not None:
                torch.cuda.empty_cache()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
