"""DataLoader throughput beside training throughput: can the loader keep the model fed?

Loader (images/s, median of `--reps` epochs over random uint8 data, at 0, 1 and 2 workers):
  mnist    uint8 (N, 28, 28): ToTensor, Normalize
  cifar    uint8 (N, 32, 32, 3): RandomCrop(32, padding=4), RandomHorizontalFlip, ToTensor, Normalize
  alexnet  uint8 (N, 256, 256, 3): RandomCrop(224), RandomHorizontalFlip, ToTensor, Lighting(0.1),
           Normalize
Training (images/s of forward, cross-entropy, backward and an SGD step, median of `--reps`):
  LeNet-5 on (B, 1, 28, 28); resnet20 on (B, 3, 32, 32) when convnet.models has it, else a small
  CIFAR CNN. The ratio loader / training says how many times faster than the model the loader runs
  (above 1: the loader keeps up). Peak RSS is the process's VmHWM after the convnet loaders and at
  the end.
Side by side (where torch is installed): torch.utils.data.DataLoader on the CIFAR recipe written in
torch ops per sample (torchvision is not a dependency), at the same worker counts (processes there).

    python benchmarks/loader.py [--threads 1] [--batch 128] [--reps 5] [--recipes cifar alexnet]
                                [--no-training] [--json out.json]
"""

import argparse
import importlib.util
import json

import numpy as np

import convnet as cn
from convnet import transforms as T
from convnet.data import DataLoader

from timing import median_seconds

CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def recipes(n_small, n_large):
    rng = np.random.default_rng(0)
    return {
        "mnist": (rng.integers(0, 256, (n_small, 28, 28), dtype=np.uint8),
                  T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,))])),
        "cifar": (rng.integers(0, 256, (n_small, 32, 32, 3), dtype=np.uint8),
                  T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                             T.Normalize(CIFAR_MEAN, CIFAR_STD)])),
        "alexnet": (rng.integers(0, 256, (n_large, 256, 256, 3), dtype=np.uint8),
                    T.Compose([T.RandomCrop(224), T.RandomHorizontalFlip(), T.ToTensor(), T.Lighting(0.1),
                               T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])),
    }


def _drain(loader):
    for _ in loader:
        pass


def loader_rate(images, transform, batch, workers, reps):
    """Median images/s of whole epochs."""
    labels = np.zeros(len(images), np.int64)
    dl = DataLoader((images, labels), batch, shuffle=True, num_workers=workers, seed=0, transform=transform)
    next(iter(dl))  # warm up
    return len(images) / median_seconds(lambda: _drain(dl), reps, warmup=False)


class TorchCifar:
    """The CIFAR recipe per sample in torch ops (torchvision is not installed here), for torch's
    DataLoader: ToTensor, pad 4, random 32 crop, random mirror, Normalize."""

    def __init__(self, images):
        import torch
        self.torch = torch
        self.x = torch.from_numpy(images)
        self.mean = torch.tensor(CIFAR_MEAN).view(3, 1, 1)
        self.std = torch.tensor(CIFAR_STD).view(3, 1, 1)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        torch = self.torch
        img = torch.nn.functional.pad(self.x[i].permute(2, 0, 1).float().div_(255), (4, 4, 4, 4))
        top, left = torch.randint(0, 9, (2,)).tolist()
        img = img[:, top:top + 32, left:left + 32]
        if torch.rand(1).item() < 0.5:
            img = img.flip(-1)
        return (img - self.mean) / self.std, 0


def torch_loader_rate(images, batch, workers, reps):
    """Median images/s of torch.utils.data.DataLoader epochs over TorchCifar (worker processes)."""
    import torch
    torch.set_num_threads(1)
    dl = torch.utils.data.DataLoader(TorchCifar(images), batch, shuffle=True, num_workers=workers,
                                     persistent_workers=workers > 0)
    next(iter(dl))
    return len(images) / median_seconds(lambda: _drain(dl), reps, warmup=False)


def small_cifar_cnn():
    nn = cn.nn
    return nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(128 * 4 * 4, 10))


def cifar_model():
    """resnet20 from the zoo where it exists and builds, else a small CIFAR CNN."""
    try:
        return "resnet20", cn.models.resnet20()
    except AttributeError:  # no resnet20, or a build without the layers it needs (BatchNorm2d)
        return "small CIFAR CNN", small_cifar_cnn()


def train_rate(model, shape, batch, steps, reps):
    """Median images/s of training steps on random input of `shape` per image."""
    rng = np.random.default_rng(0)
    x = cn.from_numpy(rng.random((batch,) + shape, dtype=np.float32))
    y = cn.from_numpy(rng.integers(0, 10, batch).astype(np.int64))
    opt = cn.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        opt.zero_grad()
        loss = cn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    return batch / median_seconds(step, reps, steps)


def peak_rss_mib():
    with open("/proc/self/status") as f:
        return int(next(l.split()[1] for l in f if l.startswith("VmHWM"))) / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1, help="OpenMP threads (the 0-worker loader and training)")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--recipes", nargs="+", default=["mnist", "cifar", "alexnet"])
    ap.add_argument("--no-training", action="store_true", help="measure the loader only")
    ap.add_argument("--no-torch", action="store_true", help="skip torch's DataLoader on the CIFAR recipe")
    ap.add_argument("--n-torch", type=int, default=2000, help="images for torch's (slower) loader")
    ap.add_argument("--n-small", type=int, default=10000, help="images in the MNIST and CIFAR sets")
    ap.add_argument("--n-large", type=int, default=512, help="images in the AlexNet set")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    cn.set_num_threads(args.threads)
    cn.manual_seed(0)
    results = {"threads": args.threads, "batch": args.batch, "loader_img_s": {}, "train_img_s": {}}
    sets = recipes(args.n_small, args.n_large)
    for name, (images, transform) in sets.items():
        if name not in args.recipes:
            continue
        rates = {w: loader_rate(images, transform, args.batch, w, args.reps) for w in args.workers}
        results["loader_img_s"][name] = rates
        print(f"loader {name:8s} {images.shape[1:]}: " +
              ", ".join(f"{w} workers {r:9.0f} img/s" for w, r in rates.items()), flush=True)
    results["peak_rss_mib_loaders"] = peak_rss_mib()
    print(f"peak RSS after the convnet loaders {results['peak_rss_mib_loaders']:.0f} MiB", flush=True)
    if "cifar" in args.recipes and not args.no_torch and importlib.util.find_spec("torch"):
        small = sets["cifar"][0][:args.n_torch]
        trates = {w: torch_loader_rate(small, args.batch, w, args.reps) for w in args.workers}
        results["torch_loader_img_s"] = {"cifar": trates}
        w = max(args.workers)
        print(f"torch  cifar    {small.shape[1:]}: " +
              ", ".join(f"{k} workers {r:9.0f} img/s" for k, r in trates.items()) +
              f" (torch.utils.data.DataLoader, the recipe in torch ops per sample, {len(small)} images); "
              f"convnet/torch at {w} workers {results['loader_img_s']['cifar'][w] / trates[w]:.1f}", flush=True)
    models = {"mnist": (lambda: ("LeNet-5", cn.models.lenet5()), (1, 28, 28)),
              "cifar": (cifar_model, (3, 32, 32))}
    for key, (build, shape) in models.items():
        if args.no_training or key not in args.recipes:
            continue
        label, model = build()
        rate = train_rate(model, shape, args.batch, args.steps, args.reps)
        results["train_img_s"][key] = {"model": label, "img_s": rate}
        best = max(results["loader_img_s"][key].values())
        print(f"training {label} on {shape}: {rate:8.0f} img/s; loader ({key} recipe, best of "
              f"{args.workers} workers) / training = {best / rate:.1f}", flush=True)
    results["peak_rss_mib"] = peak_rss_mib()
    print(f"peak RSS of the whole run {results['peak_rss_mib']:.0f} MiB")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
