"""The CPU speed suite: convnet beside PyTorch (and onnxruntime for inference) on the networks
people train, in one process, with the ratios that issue 12 sets targets for.

Every timed case alternates the two libraries in one process (timing.alternating_medians) and
reports medians of `--reps` repetitions; ratio = convnet throughput / the other library's
(> 1: convnet faster), except peak RSS, where ratio = convnet's peak / PyTorch's (< 1: convnet
smaller). A training step is forward, cross-entropy, backward and SGD (momentum 0.9). The models
are the CIFAR variants (32×32 inputs, 10 classes) built from convnet's zoo, mirrored layer for
layer in torch.nn; the weights are copied from convnet to PyTorch, and the first step's losses
must agree to 1e-3 (the "check" column). Inputs are random with a fixed seed.

The conv cases also report GFLOP/s and their share of the FMA peak, which the suite measures
with a small C loop of independent FMA chains (512-bit where the CPU has avx512f, else 256-bit;
OpenMP on `--threads` threads) compiled with the system `cc`. Peak RSS runs each library alone
in its own child process. OpenMP's wait policy is passive unless said otherwise (see --help).

    python benchmarks/cpu_suite.py [--threads 2] [--reps 5] [--quick] [--cases a,b] [--json FILE]
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import alternating_medians  # noqa: E402

NUM_CLASSES = 10
SEED = 0


# ---------------------------------------------------------------- models (convnet and torch.nn)

def _torch_nn():
    import torch
    return torch.nn


def resnet18_cifar(lib):
    """ResNet-18 for CIFAR: the zoo's ResNet with a 3×3 stride-1 stem and no max pool."""
    if lib == "convnet":
        import convnet as cn
        m = cn.models.resnet18(num_classes=NUM_CLASSES)
        m.conv1 = cn.nn.Conv2d(3, 64, 3, padding=1, bias=False)
        m.maxpool = cn.nn.Identity()
        return m
    from twins import torch_resnet18
    return torch_resnet18(NUM_CLASSES, cifar_stem=True)


_VGG11 = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]


def vgg11_cifar(lib):
    """VGG-11 for CIFAR: the zoo's features (no batch norm); 32×32 leaves 512×1×1, so no
    average pool and one Linear 512→10 as the classifier."""
    if lib == "convnet":
        import convnet as cn
        m = cn.models.vgg11(num_classes=NUM_CLASSES)
        m.avgpool = cn.nn.Identity()
        m.classifier = cn.nn.Linear(512, NUM_CLASSES)
        return m
    nn = _torch_nn()

    class VGG11(nn.Module):
        def __init__(self):
            super().__init__()
            layers, c = [], 3
            for v in _VGG11:
                if v == "M":
                    layers.append(nn.MaxPool2d(2, 2))
                else:
                    layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU()]
                    c = v
            self.features = nn.Sequential(*layers)
            self.classifier = nn.Linear(512, NUM_CLASSES)

        def forward(self, x):
            return self.classifier(self.features(x).flatten(1))

    return VGG11()


# MobileNetV2 for CIFAR: the paper's table 2 with the second stage at stride 1 (and the stem
# at stride 1), so 32×32 inputs end at 4×4.
_MBV2_CIFAR = [(1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
               (6, 160, 3, 2), (6, 320, 1, 1)]


def mobilenetv2_cifar(lib):
    """MobileNetV2 for CIFAR from the zoo's blocks (conv_bn_relu6, InvertedResidual): stem
    stride 1, second stage stride 1, no dropout, Linear 1280→10."""
    if lib == "convnet":
        import convnet as cn
        from convnet.models.mobilenet import InvertedResidual, conv_bn_relu6
        nn = cn.nn
        ConvBNReLU6, Block = conv_bn_relu6, InvertedResidual
    else:
        nn = _torch_nn()

        def ConvBNReLU6(cin, cout, kernel_size=3, stride=1, groups=1):
            return nn.Sequential(nn.Conv2d(cin, cout, kernel_size, stride, (kernel_size - 1) // 2,
                                           groups=groups, bias=False),
                                 nn.BatchNorm2d(cout), nn.ReLU6())

        class Block(nn.Module):
            def __init__(self, cin, cout, stride, expand_ratio):
                super().__init__()
                hidden = int(round(cin * expand_ratio))
                self.use_res_connect = stride == 1 and cin == cout
                layers = [ConvBNReLU6(cin, hidden, 1)] if expand_ratio != 1 else []
                layers += [ConvBNReLU6(hidden, hidden, 3, stride, groups=hidden),
                           nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
                self.conv = nn.Sequential(*layers)

            def forward(self, x):
                return x + self.conv(x) if self.use_res_connect else self.conv(x)

    class MobileNetV2(nn.Module):
        def __init__(self):
            super().__init__()
            features, cin = [ConvBNReLU6(3, 32, stride=1)], 32
            for t, c, n, s in _MBV2_CIFAR:
                for i in range(n):
                    features.append(Block(cin, c, s if i == 0 else 1, t))
                    cin = c
            features.append(ConvBNReLU6(cin, 1280, 1))
            self.features = nn.Sequential(*features)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.classifier = nn.Linear(1280, NUM_CLASSES)

        def forward(self, x):
            return self.classifier(self.avgpool(self.features(x)).flatten(1))

    return MobileNetV2()


def lenet5(lib):
    if lib == "convnet":
        import convnet as cn
        return cn.models.lenet5(NUM_CLASSES)
    nn = _torch_nn()
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, NUM_CLASSES))


MODELS = {"resnet18": (resnet18_cifar, (3, 32, 32)), "vgg11": (vgg11_cifar, (3, 32, 32)),
          "mobilenetv2": (mobilenetv2_cifar, (3, 32, 32)), "lenet5": (lenet5, (1, 28, 28))}


def copy_weights(cn_model, th_model):
    """Loads convnet's state_dict into the torch mirror (every key must match)."""
    import torch
    sd = {k: torch.from_numpy(np.array(v.numpy())) for k, v in cn_model.state_dict().items()}
    th_sd = th_model.state_dict()
    missing = sorted(set(th_sd) ^ set(sd))
    if missing:
        raise RuntimeError(f"copy_weights: state_dict keys differ: {missing[:6]}")
    th_model.load_state_dict({k: v.reshape(th_sd[k].shape).to(th_sd[k].dtype) for k, v in sd.items()})


# ---------------------------------------------------------------- steps

def batch_arrays(shape, batch):
    rng = np.random.default_rng(SEED)
    return (rng.standard_normal((batch, *shape), dtype=np.float32),
            rng.integers(0, NUM_CLASSES, batch).astype(np.int64))


def train_step(lib, model, x, y):
    """A closure running one training step and returning the loss as a float."""
    if lib == "convnet":
        import convnet as cn
        opt, ce = cn.optim.SGD(model.parameters(), lr=0.01, momentum=0.9), cn.functional.cross_entropy
        x, y = cn.from_numpy(x), cn.from_numpy(y)
    else:
        import torch
        opt, ce = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9), torch.nn.functional.cross_entropy
        x, y = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        opt.zero_grad()
        loss = ce(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()
    return step


def infer_fn(lib, model, x):
    model.eval()
    if lib == "convnet":
        import convnet as cn
        xt = cn.from_numpy(x)

        def run():
            with cn.no_grad():
                return model(xt).numpy()
    else:
        import torch
        xt = torch.from_numpy(x)

        def run():
            with torch.no_grad():
                return model(xt).numpy()
    return run


def build_pair(name):
    """(convnet model, torch model with the same weights)."""
    import convnet as cn
    import torch
    build, _ = MODELS[name]
    cn.manual_seed(SEED)
    cm = build("convnet")
    tm = build("torch")
    copy_weights(cm, tm)
    return cm, tm


# ---------------------------------------------------------------- the FMA peak

_FMA_C = r"""
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#if defined(WIDE)
typedef __m512 vec;
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define ADD _mm512_add_ps
#define LANES 16
#define CHAINS 16
static float hsum(vec v) { return _mm512_reduce_add_ps(v); }
#else
typedef __m256 vec;
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
#define ADD _mm256_add_ps
#define LANES 8
#define CHAINS 12
static float hsum(vec v) { float t[8]; _mm256_storeu_ps(t, v); return t[0] + t[7]; }
#endif
int main(int argc, char** argv) {
  long iters = atol(argv[1]);
  int threads = atoi(argv[2]);
  volatile float sink = 0;
  double t0 = omp_get_wtime();
#pragma omp parallel num_threads(threads)
  {
    vec acc[CHAINS];
    vec b = SET1(0.999999f), c = SET1(1e-7f);
    for (int j = 0; j < CHAINS; ++j) acc[j] = SET1((float)(j + omp_get_thread_num()));
    for (long i = 0; i < iters; ++i) {
#pragma GCC unroll 16
      for (int j = 0; j < CHAINS; ++j) acc[j] = FMA(acc[j], b, c);
    }
    vec s = acc[0];
    for (int j = 1; j < CHAINS; ++j) s = ADD(s, acc[j]);
#pragma omp atomic
    sink += hsum(s);
  }
  double t = omp_get_wtime() - t0;
  printf("%.3f\n", 2.0 * LANES * CHAINS * (double)iters * threads / t / 1e9);
  return sink == 12345.f;
}
"""


def fma_peak(threads, quick):
    """(GFLOP/s, description) of independent FMA chains on `threads` threads, best of a few runs."""
    wide = "avx512f" in open("/proc/cpuinfo").read()
    with tempfile.TemporaryDirectory() as d:
        src, exe = os.path.join(d, "fma.c"), os.path.join(d, "fma")
        with open(src, "w") as f:
            f.write(_FMA_C)
        flags = ["-O2", "-fopenmp", "-mfma"] + (["-mavx512f", "-DWIDE"] if wide else ["-mavx2"])
        subprocess.run(["cc", *flags, src, "-o", exe], check=True)
        iters = 20_000_000 if quick else 50_000_000
        best = max(float(subprocess.run([exe, str(iters), str(threads)], capture_output=True, text=True,
                                        check=True).stdout) for _ in range(2 if quick else 3))
    return best, f"{'512' if wide else '256'}-bit FMA, {threads} threads"


# ---------------------------------------------------------------- cases

def conv_case(cin, cout, k, hw, n, groups):
    """fwd+bwd (input and weight gradients, no bias) of one convolution, stride 1, 'same' padding."""
    def make(lib):
        rng = np.random.default_rng(SEED)
        x = rng.standard_normal((n, cin, hw, hw), dtype=np.float32)
        w = (rng.standard_normal((cout, cin // groups, k, k)) / np.sqrt(cin // groups * k * k)).astype(np.float32)
        dy = rng.standard_normal((n, cout, hw, hw), dtype=np.float32)
        if lib == "convnet":
            import convnet as cn
            F, t = cn.functional, cn.from_numpy
        else:
            import torch
            F, t = torch.nn.functional, torch.from_numpy
        xt, wt, dyt = t(x).requires_grad_(), t(w).requires_grad_(), t(dy)

        def run():
            xt.grad = None
            wt.grad = None
            F.conv2d(xt, wt, None, 1, k // 2, 1, groups).backward(dyt)
            return xt.grad, wt.grad
        return run
    flops = 3 * 2 * n * cout * (cin // groups) * k * k * hw * hw  # forward, dx, dw
    return make, flops


def train_case(name, batch):
    shape = MODELS[name][1]

    def setup():
        cm, tm = build_pair(name)
        x, y = batch_arrays(shape, batch)
        return train_step("convnet", cm, x, y), train_step("torch", tm, x, y)
    return setup


def infer_case(name, batch, against):
    shape = MODELS[name][1]

    def setup():
        cm, tm = build_pair(name)
        x, _ = batch_arrays(shape, batch)
        cn_run = infer_fn("convnet", cm, x)
        if against == "torch":
            return cn_run, infer_fn("torch", tm, x)
        import convnet as cn
        import onnxruntime as ort
        path = os.path.join(tempfile.mkdtemp(), f"{name}.onnx")
        cn.onnx.export(cm, cn.from_numpy(x), path)
        so = ort.SessionOptions()
        so.intra_op_num_threads = ARGS.threads
        so.inter_op_num_threads = 1
        # its worker threads wait as the OpenMP ones do (--omp-wait-policy): a spinning pool
        # would keep a core busy through convnet's alternating calls
        so.add_session_config_entry("session.intra_op.allow_spinning",
                                    "1" if ARGS.omp_wait_policy == "active" else "0")
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        inp = sess.get_inputs()[0].name
        return cn_run, lambda: sess.run(None, {inp: x})[0]
    return setup


# name: (kind, description, target, setup or (make, flops), throughput unit, items per call)
def all_cases():
    c = {}
    c["resnet18_train"] = ("train", "ResNet-18 (CIFAR) train, batch 64", 1.3, train_case("resnet18", 64), "img/s", 64)
    c["vgg11_train"] = ("train", "VGG-11 (CIFAR) train, batch 64", 1.3, train_case("vgg11", 64), "img/s", 64)
    c["mobilenetv2_train"] = ("train", "MobileNetV2 (CIFAR) train, batch 64", 1.3,
                              train_case("mobilenetv2", 64), "img/s", 64)
    c["conv3x3"] = ("conv", "conv 3×3 64→64, 32×32, N=32, fwd+bwd", 1.2, conv_case(64, 64, 3, 32, 32, 1), "GFLOP/s", None)
    c["depthwise"] = ("conv", "depthwise 3×3, 128 ch, 28×28, N=32, fwd+bwd", 2.0,
                      conv_case(128, 128, 3, 28, 32, 128), "GFLOP/s", None)
    c["conv1x1"] = ("conv", "conv 1×1 256→64, 28×28, N=32, fwd+bwd", None, conv_case(256, 64, 1, 28, 32, 1), "GFLOP/s", None)
    c["lenet5_train_64"] = ("train", "LeNet-5 train, batch 64", 2.5, train_case("lenet5", 64), "img/s", 64)
    c["lenet5_train_256"] = ("train", "LeNet-5 train, batch 256", 2.5, train_case("lenet5", 256), "img/s", 256)
    c["resnet18_infer_1"] = ("infer", "ResNet-18 (CIFAR) inference, batch 1", 1.5,
                             infer_case("resnet18", 1, "torch"), "img/s", 1)
    c["lenet5_infer_64"] = ("infer", "LeNet-5 inference, batch 64", None, infer_case("lenet5", 64, "torch"), "img/s", 64)
    c["ort_lenet5_64"] = ("ort", "LeNet-5 inference, batch 64, vs onnxruntime", 1.0,
                          infer_case("lenet5", 64, "ort"), "img/s", 64)
    c["ort_resnet18_1"] = ("ort", "ResNet-18 (CIFAR) inference, batch 1, vs onnxruntime", 1.0,
                           infer_case("resnet18", 1, "ort"), "img/s", 1)
    c["peak_rss"] = ("rss", "peak RSS, ResNet-18 (CIFAR) 10 train steps, batch 64", 0.5, None, "MiB", None)
    return c


def calibrate(fns, budget):
    """Calls per repetition so that the slowest of `fns` takes about `budget` seconds; each has
    run once before (the check), so this call is already warm and counts as the warm-up."""
    worst = 0.0
    for fn in fns:
        t0 = time.perf_counter()
        fn()
        worst = max(worst, time.perf_counter() - t0)
    return max(1, int(budget / max(worst, 1e-6)))


def check_line(kind, a, b):
    """The sanity check of a pair: first-step losses (training) or outputs (inference) agree."""
    if kind == "train":
        la, lb = a(), b()
        ok = abs(la - lb) <= 1e-3 * max(1.0, abs(lb))
        return ok, f"loss {la:.5f} vs {lb:.5f}"
    if kind in ("infer", "ort"):
        oa, ob = np.asarray(a()), np.asarray(b())
        err = float(np.max(np.abs(oa - ob)))
        return err <= 1e-3 * max(1.0, float(np.max(np.abs(ob)))), f"max |Δout| {err:.1e}"
    return True, ""


def run_timed(name, spec, peak):
    import convnet as cn
    import torch
    kind, desc, target, setup, unit, items = spec
    cn.set_num_threads(ARGS.threads)
    torch.set_num_threads(ARGS.threads)
    flops = None
    if kind == "conv":
        make, flops = setup
        fa, fb = make("convnet"), make("torch")
        ok, note = True, ""
        ga, gb = fa(), fb()
        for u, v, what in zip(ga, gb, ("dx", "dw")):
            u, v = np.asarray(u.numpy()), v.numpy()
            err = float(np.max(np.abs(u - v)) / max(1e-30, np.max(np.abs(v))))
            ok &= err <= 1e-3
            note += f"{what} rel err {err:.0e} "
    else:
        fa, fb = setup()
        ok, note = check_line(kind, fa, fb)
    iters = calibrate((fa, fb), ARGS.budget)
    ta, tb = alternating_medians([fa, fb], ARGS.reps, iters, warmup=False)
    r = {"case": name, "description": desc, "unit": unit, "target": target, "check_ok": bool(ok),
         "check": note.strip(), "convnet_s": ta, "other_s": tb,
         "other": "onnxruntime" if kind == "ort" else "torch", "reps": ARGS.reps, "iters": iters}
    if flops:
        r["convnet"], r["other_value"] = flops / ta / 1e9, flops / tb / 1e9
        if peak:
            r["convnet_peak_share"], r["other_peak_share"] = r["convnet"] / peak, r["other_value"] / peak
    else:
        r["convnet"], r["other_value"] = items / ta, items / tb
    r["ratio"] = tb / ta
    return r


def rss_child(lib, threads, steps):
    """Runs in the child: `steps` ResNet-18 (CIFAR) training steps, batch 64, with one library
    imported; prints a JSON line with the peak RSS and minor page faults per steady-state step."""
    import resource
    if lib == "convnet":
        import convnet as cn
        cn.set_num_threads(threads)
        cn.manual_seed(SEED)
    else:
        import torch
        torch.set_num_threads(threads)
        torch.manual_seed(SEED)
    model = resnet18_cifar(lib)
    x, y = batch_arrays((3, 32, 32), 64)
    step = train_step(lib, model, x, y)
    faults = []
    for _ in range(steps):
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        step()
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
    hwm = [int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")][0]
    out = {"peak_rss_mib": hwm / 1024, "minflt_per_step": faults}
    if lib == "convnet":
        out.update(cn.memory_stats())
    print(json.dumps(out))


def run_rss(spec):
    """Peak RSS of each library alone in a child process (VmHWM of the child itself: a child
    forked from this process, which holds both libraries, would otherwise inherit our peak)."""
    kind, desc, target, _, unit, _ = spec
    res = {}
    for lib in ("convnet", "torch"):
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--rss-child", lib,
                              "--threads", str(ARGS.threads)], capture_output=True, text=True, check=True)
        res[lib] = json.loads(out.stdout.strip().splitlines()[-1])
    a, b = res["convnet"]["peak_rss_mib"], res["torch"]["peak_rss_mib"]
    steady = lambda f: statistics.median(f[len(f) // 2:])  # noqa: E731
    note = (f"minor faults/step (steady) convnet {steady(res['convnet']['minflt_per_step']):.0f}, "
            f"torch {steady(res['torch']['minflt_per_step']):.0f}; convnet allocator peak "
            f"{res['convnet']['peak_allocated_bytes'] / 2**20:.0f} MiB, cached "
            f"{res['convnet']['cached_bytes'] / 2**20:.0f} MiB")
    return {"case": "peak_rss", "description": desc, "unit": unit, "target": target, "check_ok": True,
            "check": note, "convnet": a, "other_value": b, "other": "torch", "ratio": a / b, "children": res}


def verdict(r):
    if r["target"] is None:
        return "—"
    ok = r["ratio"] <= r["target"] if r["case"] == "peak_rss" else r["ratio"] >= r["target"]
    return "PASS" if ok else "MISS"


def header(peak, peak_desc):
    import convnet as cn
    import torch
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
               platform.processor())
    cap = cn.backends.cpu.get_cpu_capability() if hasattr(cn.backends, "cpu") and hasattr(
        cn.backends.cpu, "get_cpu_capability") else "n/a (convnet.backends.cpu.get_cpu_capability missing)"
    lines = [f"convnet: {cn.__file__}", f"convnet CPU capability: {cap}", f"CPU: {cpu}, {os.cpu_count()} logical CPUs",
             f"torch {torch.__version__}", f"threads: {ARGS.threads}, reps: {ARGS.reps}{' (quick)' if ARGS.quick else ''}",
             f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}; load average {os.getloadavg()[0]:.1f} "
             f"on {os.cpu_count()} CPUs at start (above the thread count, OpenMP threads spinning at barriers "
             "lose their time slices: with OMP_WAIT_POLICY=active short ops then slow down many times over)"]
    if peak:
        lines.append(f"FMA peak: {peak:.1f} GFLOP/s ({peak_desc})")
    return lines


def table(results):
    rows = ["| case | convnet | other | unit | ratio | target | | check |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        other = r["other"] if r["other"] != "torch" else "PyTorch"
        cv, ov = f"{r['convnet']:.1f}", f"{r['other_value']:.1f}"
        if "convnet_peak_share" in r:
            cv += f" ({100 * r['convnet_peak_share']:.0f}% peak)"
            ov += f" ({100 * r['other_peak_share']:.0f}% peak)"
        tgt = "—" if r["target"] is None else (f"≤ {r['target']}" if r["case"] == "peak_rss" else f"≥ {r['target']}")
        chk = ("ok" if r["check_ok"] else "MISMATCH") + (f": {r['check']}" if r["check"] else "")
        rows.append(f"| {r['description']} | {cv} | {other} {ov} | {r['unit']} | {r['ratio']:.2f} | {tgt} | "
                    f"{verdict(r)} | {chk} |")
    return rows


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=None, help="repetitions per case (default 5; 3 with --quick)")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions and shorter ones")
    ap.add_argument("--cases", help="comma-separated case names (default: all): " + ",".join(all_cases()))
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--omp-wait-policy", choices=("passive", "active"),
                    default=os.environ.get("OMP_WAIT_POLICY", "passive").lower(),
                    help="OMP_WAIT_POLICY of both libraries (default: the environment's, else passive: on a "
                         "machine shared beyond its cores, spinning threads make the figures scheduler noise)")
    ap.add_argument("--rss-child", choices=("convnet", "torch"), help=argparse.SUPPRESS)
    ARGS = ap.parse_args()
    os.environ["OMP_WAIT_POLICY"] = ARGS.omp_wait_policy  # before either library loads its OpenMP runtime
    if ARGS.rss_child:
        rss_child(ARGS.rss_child, ARGS.threads, 10)
        return
    ARGS.reps = ARGS.reps or (3 if ARGS.quick else 5)
    ARGS.budget = 0.15 if ARGS.quick else 0.5  # seconds per repetition of the fast cases
    cases = all_cases()
    names = list(cases) if not ARGS.cases else ARGS.cases.split(",")
    unknown = [n for n in names if n not in cases]
    if unknown:
        ap.error(f"unknown case(s) {unknown}; known: {','.join(cases)}")
    t_start = time.perf_counter()
    peak, peak_desc = (None, None)
    if any(cases[n][0] == "conv" for n in names):
        peak, peak_desc = fma_peak(ARGS.threads, ARGS.quick)
    for line in header(peak, peak_desc):
        print(line, flush=True)
    results = []
    for n in names:
        t0 = time.perf_counter()
        r = run_rss(cases[n]) if cases[n][0] == "rss" else run_timed(n, cases[n], peak)
        r["wall_s"] = time.perf_counter() - t0
        results.append(r)
        print(f"  {n}: ratio {r['ratio']:.2f} ({verdict(r)}), {r['wall_s']:.0f} s", flush=True)
    print()
    print("\n".join(table(results)))
    print(f"\nratio: convnet throughput / the other's (> 1: convnet faster); peak RSS: convnet / PyTorch "
          f"(< 1: convnet smaller). Total {time.perf_counter() - t_start:.0f} s; load average at the end "
          f"{os.getloadavg()[0]:.1f}.")
    if ARGS.json:
        with open(ARGS.json, "w") as f:
            json.dump({"header": header(peak, peak_desc), "fma_peak_gflops": peak, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
