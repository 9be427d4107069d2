"""The `convnet` command line: `convnet train lenet5 --dataset mnist --epochs 10`, `convnet evaluate`,
`convnet summary`."""

import argparse
import os
import sys
import time


def _default_data():
    return os.environ.get("CONVNET_DATA", "./data")


_ARRAY_DATASETS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "kmnist": "KMNIST",
                   "cifar10": "CIFAR10"}
AUGMENTATIONS = ("none", "affine", "crop", "flip", "crop-flip", "rotate", "trivialaugment", "randaugment",
                 "autoaugment")


class _Subset:
    """The samples `indices` of a map-style data set."""

    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, indices

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, i):
        return self.dataset[int(self.indices[i])]


def _augmentation(name, size):
    """The random transforms of `--augment NAME` for images of `size` pixels (uint8 layout)."""
    from . import transforms as T

    return {
        "none": [],
        "affine": [T.RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1))],
        "rotate": [T.RandomRotation(15)],
        "crop": [T.RandomCrop(size, padding=size // 8)],
        "flip": [T.RandomHorizontalFlip()],
        "crop-flip": [T.RandomCrop(size, padding=size // 8), T.RandomHorizontalFlip()],
        "trivialaugment": [T.TrivialAugmentWide()],
        "randaugment": [T.RandAugment()],
        "autoaugment": [T.AutoAugment()],
    }[name]


def _mix_collate(args, num_classes):
    """The training loader's collate_fn for --mixup / --cutmix ALPHA (with both, one of the two per
    batch, chosen from convnet's generator), or None."""
    from . import _core
    from . import transforms as T
    from .data import default_collate

    mixers = [cls(alpha=alpha, num_classes=num_classes)
              for cls, alpha in ((T.MixUp, getattr(args, "mixup", 0)), (T.CutMix, getattr(args, "cutmix", 0))) if alpha]
    if not mixers:
        return None

    def collate(batch):
        return mixers[_core._draw_seed() % len(mixers)](*default_collate(batch))
    return collate


def _datasets(args, train_augment):
    """(train set, test set, classes, input shape). Array data sets without augmentation are
    normalized once as arrays (the fast path of `convnet train lenet5`); otherwise each image goes
    through a transform pipeline ending in ToTensor and Normalize. `folder:PATH` reads
    PATH/train and PATH/val (or PATH/test) when they exist, else PATH split 90/10 (seeded)."""
    import numpy as np

    from . import datasets
    from . import transforms as T

    name = args.dataset
    if name in _ARRAY_DATASETS:
        cls = getattr(datasets, _ARRAY_DATASETS[name])
        train, test = (cls(args.data, train=t, download=args.download) for t in (True, False))
        mean = cls.mean if isinstance(cls.mean, tuple) else (cls.mean,)
        std = cls.std if isinstance(cls.std, tuple) else (cls.std,)
        shape = (len(mean),) + train.data.shape[1:3]
        sets = []
        for ds, aug in ((train, train_augment), (test, "none")):
            if aug == "none":
                x, y = ds.arrays()
                m = np.asarray(mean, np.float32).reshape(-1, 1, 1)
                s = np.asarray(std, np.float32).reshape(-1, 1, 1)
                sets.append(((x - m) / s, y))
            else:
                ds.transform = T.Compose(_augmentation(aug, shape[1]) + [T.ToTensor(), T.Normalize(mean, std)])
                sets.append(ds)
        return sets[0], sets[1], list(train.classes), shape
    if name.startswith("folder:"):
        import os

        root = name[len("folder:"):]
        size = args.image_size
        channels = 1 if args.grayscale else 3
        base = [T.Resize((size, size))] + ([T.Grayscale(1)] if args.grayscale else [])
        tail = [T.ToTensor(), T.Normalize((0.5,) * channels, (0.5,) * channels)]
        train_tf = T.Compose(base + _augmentation(train_augment, size) + tail)
        test_tf = T.Compose(base + tail)
        val_dir = next((os.path.join(root, d) for d in ("val", "test") if os.path.isdir(os.path.join(root, d))), None)
        if os.path.isdir(os.path.join(root, "train")) and val_dir:
            train = datasets.ImageFolder(os.path.join(root, "train"), transform=train_tf)
            test = datasets.ImageFolder(val_dir, transform=test_tf)
            classes = train.classes
        else:
            full_train = datasets.ImageFolder(root, transform=train_tf)
            full_test = datasets.ImageFolder(root, transform=test_tf)
            order = np.random.default_rng(args.seed).permutation(len(full_train))
            n_val = max(1, len(order) // 10)
            train, test = _Subset(full_train, order[n_val:]), _Subset(full_test, order[:n_val])
            classes = full_train.classes
        return train, test, list(classes), (channels, size, size)
    raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(_ARRAY_DATASETS)} or folder:PATH")


def _device(cn, name):
    """The convnet.device of `--device NAME` ("auto": the GPU where there is one)."""
    if name == "auto":
        name = "cuda" if cn.cuda.is_available() else "cpu"
    return cn.device(name)


def _loaders(args, train_augment="none", test_batch_size=1000, pin_memory=False):
    """Train and test loaders. The training set is shuffled by a DistributedSampler (seeded by
    --seed), which in a run of several processes gives each rank its share, with --batch-size
    split over the ranks; the test set is shared out too there (each rank evaluates its part and
    evaluate sums the counts)."""
    from . import distributed as dist
    from .data import DataLoader, DistributedSampler, TensorDataset

    rank, world = dist.get_rank(), dist.get_world_size()
    if args.batch_size % world:
        raise ValueError(f"--batch-size {args.batch_size} is not divisible by the {world} processes")
    train, test, classes, shape = _datasets(args, train_augment)
    train, test = (TensorDataset(*ds) if isinstance(ds, tuple) else ds for ds in (train, test))
    sampler = DistributedSampler(train, num_replicas=world, rank=rank, shuffle=True, seed=args.seed)
    train_loader = DataLoader(train, batch_size=args.batch_size // world, sampler=sampler, seed=args.seed,
                              pin_memory=pin_memory, collate_fn=_mix_collate(args, len(classes)))
    test_sampler = DistributedSampler(test, num_replicas=world, rank=rank, shuffle=False) if world > 1 else None
    test_loader = DataLoader(test, batch_size=test_batch_size, sampler=test_sampler, pin_memory=pin_memory)
    return train_loader, test_loader, classes, shape


def _model(cn, name, num_classes, shape):
    """The zoo model `name` for `num_classes` classes (and `in_channels` when the model takes it)."""
    import inspect

    factory = cn.models._REGISTRY.get(name) if hasattr(cn.models, "_REGISTRY") else None
    kwargs = {"num_classes": num_classes}
    if factory is not None and "in_channels" in inspect.signature(factory).parameters:
        kwargs["in_channels"] = shape[0]
    return cn.models.get_model(name, **kwargs)


def cmd_train(args):
    import convnet as cn
    from convnet import callbacks as C

    from . import distributed as dist
    from .distributed.run import launched_world_size

    if args.threads:
        cn.set_num_threads(args.threads)
    world = launched_world_size()
    device = _device(cn, args.device)
    if world > 1:  # one of the processes of mpiexec -n N (or --nproc N): one GPU each
        dist.init_process_group("nccl" if device.type == "cuda" else "mpi")
        if device.type == "cuda" and ":" not in args.device:
            device = cn.device(f"cuda:{dist._default_group('convnet train').local_rank}")
    rank = dist.get_rank()
    cn.manual_seed(args.seed)
    train_loader, test_loader, classes, shape = _loaders(args, args.augment, pin_memory=device.type == "cuda")
    net = _model(cn, args.model, len(classes), shape).to(device)
    model = cn.nn.parallel.DistributedDataParallel(net) if world > 1 else net
    optimizer = cn.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum,
                             weight_decay=args.weight_decay)
    say = print if rank == 0 else (lambda *a, **k: None)
    schedule, callbacks = _schedule(cn, args, optimizer, len(train_loader))
    ema = None
    if args.ema is not None:
        from convnet.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(args.ema), use_buffers=True)
    if args.checkpoint_dir:
        callbacks.append(C.ModelCheckpoint(dirpath=args.checkpoint_dir, monitor="val_accuracy",
                                           save_best_only=True, save_last=True))
    if args.early_stopping:
        callbacks.append(C.EarlyStopping(monitor="val_loss", patience=args.early_stopping,
                                         restore_best_weights=True, verbose=not args.quiet))
    if args.csv_log:
        callbacks.append(C.CSVLogger(args.csv_log))
    if args.tensorboard:
        callbacks.append(C.TensorBoard(args.tensorboard))
    name = args.dataset if args.dataset.startswith("folder:") else _ARRAY_DATASETS[args.dataset]
    say(f"training {args.model} on {name} ({len(train_loader.dataset)} images) for {args.epochs} "
        f"epoch(s), batch {args.batch_size}"
        + (f" x {args.accumulate_grad_batches} accumulated" if args.accumulate_grad_batches > 1 else "")
        + f", lr {args.lr} ({args.lr_schedule}), momentum "
        f"{args.momentum}, weight decay {args.weight_decay}, "
        + (f"augment {args.augment}, " if args.augment != "none" else "")
        + "".join(f"{k} {getattr(args, k)}, " for k in ("mixup", "cutmix") if getattr(args, k))
        + (f"gradient norm clipped at {args.clip_grad_norm}, " if args.clip_grad_norm else "")
        + (f"EMA of the weights (decay {args.ema}), " if args.ema is not None else "")
        + (f"on {device}" if device.type != "cpu" else f"{cn.get_num_threads()} thread(s)")
        + (f" in each of {world} processes" if world > 1 else ""))
    if args.resume:
        say(f"resuming from {args.resume}")
    start = time.perf_counter()
    history = cn.fit(model, train_loader, optimizer, cn.nn.CrossEntropyLoss(), epochs=args.epochs,
                     val_loader=test_loader, verbose=not args.quiet, callbacks=callbacks,
                     scheduler=schedule, scheduler_monitor="val_accuracy", resume_from=args.resume, device=device,
                     accumulate_grad_batches=args.accumulate_grad_batches, clip_grad_norm=args.clip_grad_norm,
                     ema=ema)
    wall = time.perf_counter() - start
    if ema is not None:  # the averaged weights are the result
        ema.copy_to(net)
    result = cn.evaluate(model, test_loader)
    say(f"test accuracy {result['accuracy'] * 100:.2f}% (top-5 {result['top5'] * 100:.2f}%), "
        f"test loss {result['loss']:.4f}, {args.epochs} epoch(s) in {wall:.1f} s")
    if history["val_accuracy"]:
        best = max(history["val_accuracy"])
        say(f"best test accuracy over epochs {best * 100:.2f}% "
            f"(epoch {history.epoch[history['val_accuracy'].index(best)]})")
    out = args.output or f"{args.model}_{args.dataset.replace(':', '_').replace('/', '_')}.safetensors"
    if rank == 0:
        cn.save(net.state_dict(), out)
    say(f"weights saved to {out}")
    if args.plot and rank == 0:
        cn.viz.plot_history(history, args.plot)
        say(f"training curves saved to {args.plot}")
    return 0


def _schedule(cn, args, optimizer, steps_per_epoch):
    """(the schedule fit steps each epoch, or None; callbacks stepping a per-batch one) for
    --lr-schedule. plateau divides the rate by 1/gamma (10) when the validation accuracy has not
    improved for --patience epochs."""
    S = cn.optim.lr_scheduler
    name, epochs = args.lr_schedule, args.epochs
    if name == "cosine":
        return S.CosineAnnealingLR(optimizer, T_max=epochs), []
    if name == "step":
        return S.StepLR(optimizer, step_size=args.step_size or max(1, epochs // 3), gamma=args.gamma), []
    if name == "multistep":
        milestones = args.milestones or [max(1, epochs // 2), max(1, epochs * 3 // 4)]
        return S.MultiStepLR(optimizer, milestones=milestones, gamma=args.gamma), []
    if name == "plateau":
        return S.ReduceLROnPlateau(optimizer, mode="max", factor=args.gamma, patience=args.patience), []
    if name == "onecycle":
        from convnet.callbacks import LRSchedulerCallback

        one = S.OneCycleLR(optimizer, max_lr=args.lr, epochs=epochs, steps_per_epoch=steps_per_epoch)
        return None, [LRSchedulerCallback(one, interval="step")]
    return None, []


def cmd_evaluate(args):
    import numpy as np

    import convnet as cn

    if args.threads:
        cn.set_num_threads(args.threads)
    device = _device(cn, args.device)
    # the weights first: a wrong path is reported as such before the data are looked for
    if cn.checkpoint.is_checkpoint(args.weights):
        weights = cn.load_checkpoint(args.weights)["model"]
    else:
        weights = cn.load(args.weights)
    _, test_loader, classes, shape = _loaders(args, test_batch_size=args.batch_size,
                                              pin_memory=device.type == "cuda")
    model = _model(cn, args.model, len(classes), shape).to(device)
    model.load_state_dict(weights)
    outputs, targets = [], []
    for x, y in test_loader:
        outputs.append(cn.predict(model, x))
        targets.append(y.numpy())
    out, y = np.concatenate(outputs), np.concatenate(targets)
    top1, top5 = cn.metrics.accuracy(out, y, topk=(1, min(5, out.shape[1])))
    loss = cn.evaluate(model, test_loader)["loss"]
    print(f"{args.model} on {args.dataset} ({len(y)} test images): top-1 {top1 * 100:.2f}%, "
          f"top-5 {top5 * 100:.2f}%, loss {loss:.4f}")
    per_class = cn.metrics.per_class_accuracy(out, y, num_classes=len(classes))
    cm = cn.metrics.confusion_matrix(out, y, num_classes=len(classes))
    width = max(len(c) for c in classes)
    print(f"{'class':<{width}}  accuracy  images")
    for c, acc, n in zip(classes, per_class, cm.sum(1)):
        print(f"{c:<{width}}  {acc * 100:7.2f}%  {n:6d}")
    if args.confusion_matrix:
        cn.viz.plot_confusion_matrix(cm, classes, args.confusion_matrix)
        print(f"confusion matrix saved to {args.confusion_matrix}")
    return 0


def cmd_summary(args):
    import convnet as cn

    kwargs = {} if args.num_classes is None else {"num_classes": args.num_classes}
    model = cn.models.get_model(args.model, **kwargs)
    shape = args.input_shape or cn.models.INPUT_SHAPES[args.model]
    cn.summary(model, tuple(shape))
    return 0


def _data_arguments(p, training):
    p.add_argument("--dataset", default="mnist",
                   help="mnist, fashion-mnist, kmnist, cifar10, or folder:PATH (PATH/<class>/<image>, "
                        "with train/ and val/ sub-folders or split 90/10) (default: mnist)")
    p.add_argument("--data", default=_default_data(),
                   help="folder holding the data set files (default: $CONVNET_DATA or ./data)")
    p.add_argument("--download", action="store_true",
                   help="fetch missing data set files from the standard mirrors into --data")
    p.add_argument("--batch-size", type=int, default=64 if training else 1000,
                   help="images per training batch (default: 64)" if training else
                   "images per batch (default: 1000)")
    p.add_argument("--image-size", type=int, default=32, help="folder:PATH images are resized to this")
    p.add_argument("--grayscale", action="store_true", help="folder:PATH images converted to one channel")
    p.add_argument("--device", default="cpu",
                   help="cpu, cuda, cuda:N, or auto (the GPU where there is one) (default: cpu)")


def cmake_dir():
    """The folder holding convnetConfig.cmake in an installed package (pass it as convnet_DIR)."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib", "cmake", "convnet")


class _PrintCMakeDir(argparse.Action):
    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        path = cmake_dir()
        if not os.path.isfile(os.path.join(path, "convnetConfig.cmake")):
            parser.exit(1, f"convnet --cmake-dir: no convnetConfig.cmake in {path}; this copy of convnet "
                           f"was not installed with pip (pip install .)\n")
        print(path)
        parser.exit()


def main(argv=None):
    ap = argparse.ArgumentParser(prog="convnet", description="Train and inspect convolutional networks.")
    ap.add_argument("--cmake-dir", action=_PrintCMakeDir,
                    help="print the folder to pass as convnet_DIR to CMake (find_package(convnet)) and exit")
    sub = ap.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model from the zoo and save its weights")
    t.add_argument("model", help="model name, e.g. lenet5")
    _data_arguments(t, training=True)
    t.add_argument("--augment", choices=AUGMENTATIONS, default="none",
                   help="random transforms of the training images (default: none)")
    t.add_argument("--mixup", type=float, default=0.0, metavar="ALPHA",
                   help="MixUp of the training batches with lam ~ Beta(ALPHA, ALPHA) (default: off)")
    t.add_argument("--cutmix", type=float, default=0.0, metavar="ALPHA",
                   help="CutMix of the training batches (with --mixup: one of the two per batch)")
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--lr", type=float, default=0.02)
    t.add_argument("--lr-schedule", choices=["cosine", "constant", "step", "multistep", "onecycle", "plateau"],
                   default="cosine",
                   help="cosine annealing to 0 over the epochs (default); a constant rate; step: times --gamma "
                        "every --step-size epochs; multistep: times --gamma at each of --milestones; onecycle: "
                        "the 1cycle policy up to --lr, stepped per batch; plateau: times --gamma (divided by 10) "
                        "when the validation accuracy has not improved for --patience epochs")
    t.add_argument("--step-size", type=int, default=0, metavar="EPOCHS",
                   help="step schedule: epochs between decays (default: a third of the epochs)")
    t.add_argument("--gamma", type=float, default=0.1, help="step/multistep/plateau: the decay factor (default 0.1)")
    t.add_argument("--milestones", type=int, nargs="+", metavar="EPOCH",
                   help="multistep schedule: the epochs to decay at (default: at 1/2 and 3/4 of the epochs)")
    t.add_argument("--patience", type=int, default=5,
                   help="plateau schedule: epochs without improvement before a decay (default 5)")
    t.add_argument("--accumulate-grad-batches", type=int, default=1, metavar="K",
                   help="sum the gradients of K batches before each optimizer step (default 1)")
    t.add_argument("--clip-grad-norm", type=float, metavar="MAX",
                   help="clip the total L2 norm of the gradients to MAX before each step")
    t.add_argument("--ema", type=float, metavar="DECAY",
                   help="keep an exponential moving average of the weights (e.g. 0.999), updated after each "
                        "step; validated each epoch, it is the model evaluated and saved at the end")
    t.add_argument("--momentum", type=float, default=0.9)
    t.add_argument("--weight-decay", type=float, default=5e-4)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=0, help="CPU threads (default: all cores)")
    t.add_argument("--output", help="where to save the weights (default: MODEL_DATASET.safetensors)")
    t.add_argument("--checkpoint-dir",
                   help="write DIR/last.ckpt after every epoch and DIR/best.ckpt at each best test accuracy")
    t.add_argument("--resume", metavar="CKPT", help="continue the training saved in a checkpoint "
                   "(with the same arguments: its epochs count towards --epochs)")
    t.add_argument("--early-stopping", type=int, metavar="PATIENCE", default=0,
                   help="stop when the test loss has not improved for PATIENCE epochs, keeping the best weights")
    t.add_argument("--csv-log", metavar="PATH", help="write the per-epoch metrics as CSV")
    t.add_argument("--plot", metavar="PNG", help="draw the loss and accuracy curves into a PNG")
    t.add_argument("--tensorboard", metavar="DIR", help="write TensorBoard event files (metrics, learning "
                   "rates, weight histograms, first-layer filters) into DIR (needs tensorboardX)")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    t.add_argument("--nproc", type=int, default=1,
                   help="train with N processes on this machine (data parallel, through mpiexec; each gets "
                        "its share of the cores and of --batch-size); on a cluster run mpiexec -n N -hosts ... "
                        "convnet train ... instead")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="top-1/top-5 and per-class accuracy of saved weights")
    e.add_argument("model")
    e.add_argument("--weights", required=True, help="a weights file (convnet train --output) or a checkpoint")
    _data_arguments(e, training=False)
    e.add_argument("--threads", type=int, default=0, help="CPU threads (default: all cores)")
    e.add_argument("--seed", type=int, default=0, help="seed of the folder:PATH 90/10 split")
    e.add_argument("--confusion-matrix", metavar="PNG", help="draw the confusion matrix into a PNG")
    e.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("summary", help="print a model's layers, parameters and MACs")
    s.add_argument("model")
    s.add_argument("--input-shape", type=int, nargs="+",
                   help="C H W of one input (default: what the model is built for, e.g. 3 224 224)")
    s.add_argument("--num-classes", type=int, help="default: the model's own (1000 for ImageNet models)")
    s.set_defaults(func=cmd_summary)

    args = ap.parse_args(argv)
    if args.command == "train" and args.nproc > 1:
        from .distributed.run import launch, launched_world_size

        if launched_world_size() == 1:
            return launch(args.nproc, [sys.executable, "-m", "convnet", *(sys.argv[1:] if argv is None else argv)],
                          args.threads)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError) as e:
        print(f"convnet {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
