"""The `convnet` command line: `convnet train lenet5 --dataset mnist --epochs 10`."""

import argparse
import os
import sys
import time


def _default_data():
    return os.environ.get("CONVNET_DATA", "./data")


def _mnist_loaders(root, batch_size, seed, download):
    """Train and test loaders over MNIST scaled to [0, 1], then normalized by the training mean and std."""
    import numpy as np

    from .data import DataLoader
    from .datasets import MNIST

    loaders = []
    for train in (True, False):
        ds = MNIST(root, train=train, download=download)
        x, y = ds.arrays()
        x = (x - np.float32(MNIST.mean)) / np.float32(MNIST.std)
        loaders.append(DataLoader((x, y), batch_size=batch_size if train else 1000, shuffle=train,
                                  seed=seed if train else None))
    return loaders


def cmd_train(args):
    import convnet as cn

    if args.dataset != "mnist":
        raise SystemExit(f"convnet train: unsupported dataset {args.dataset!r} (supported: mnist)")
    if args.threads:
        cn.set_num_threads(args.threads)
    cn.manual_seed(args.seed)
    train_loader, test_loader = _mnist_loaders(args.data, args.batch_size, args.seed, args.download)
    model = cn.models.get_model(args.model, num_classes=10)
    optimizer = cn.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum,
                             weight_decay=args.weight_decay)
    callbacks = []
    if args.lr_schedule == "cosine":
        schedule = cn.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
        callbacks.append(lambda epoch, metrics: schedule.step())
    print(f"training {args.model} on MNIST ({len(train_loader.dataset)} images) for {args.epochs} "
          f"epoch(s), batch {args.batch_size}, lr {args.lr} ({args.lr_schedule}), momentum "
          f"{args.momentum}, weight decay {args.weight_decay}, "
          f"{cn.get_num_threads()} thread(s)")
    start = time.perf_counter()
    history = cn.fit(model, train_loader, optimizer, cn.nn.CrossEntropyLoss(), epochs=args.epochs,
                     val_loader=test_loader, verbose=not args.quiet, callbacks=callbacks)
    wall = time.perf_counter() - start
    result = cn.evaluate(model, test_loader)
    print(f"test accuracy {result['accuracy'] * 100:.2f}% (top-5 {result['top5'] * 100:.2f}%), "
          f"test loss {result['loss']:.4f}, {args.epochs} epoch(s) in {wall:.1f} s")
    best = max(history["val_accuracy"])
    print(f"best test accuracy over epochs {best * 100:.2f}% "
          f"(epoch {history['val_accuracy'].index(best) + 1})")
    out = args.output or f"{args.model}_{args.dataset}.safetensors"
    cn.save(model.state_dict(), out)
    print(f"weights saved to {out}")
    return 0


def cmd_summary(args):
    import convnet as cn

    model = cn.models.get_model(args.model, num_classes=args.num_classes)
    cn.summary(model, tuple(args.input_shape))
    return 0


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
    t.add_argument("--dataset", default="mnist", help="data set (mnist)")
    t.add_argument("--data", default=_default_data(),
                   help="folder holding the data set files (default: $CONVNET_DATA or ./data)")
    t.add_argument("--download", action="store_true",
                   help="fetch missing data set files from the standard mirrors into --data")
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--lr", type=float, default=0.02)
    t.add_argument("--lr-schedule", choices=["cosine", "constant"], default="cosine",
                   help="cosine annealing to 0 over the epochs (default), or a constant rate")
    t.add_argument("--momentum", type=float, default=0.9)
    t.add_argument("--weight-decay", type=float, default=5e-4)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=0, help="CPU threads (default: all cores)")
    t.add_argument("--output", help="where to save the weights (default: MODEL_DATASET.safetensors)")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    t.set_defaults(func=cmd_train)

    s = sub.add_parser("summary", help="print a model's layers, parameters and MACs")
    s.add_argument("model")
    s.add_argument("--input-shape", type=int, nargs="+", default=[1, 28, 28])
    s.add_argument("--num-classes", type=int, default=10)
    s.set_defaults(func=cmd_summary)

    args = ap.parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError) as e:
        print(f"convnet {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
