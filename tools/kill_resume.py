"""`kill -9` at random moments of `convnet train` with checkpoints, then resume, until the run ends.

A small run (LeNet-5 on the first few thousand MNIST images of $CONVNET_DATA, or a synthetic set
of the same layout where MNIST is absent; random-crop augmentation, momentum SGD with the cosine
schedule, `--checkpoint-dir` writing last.ckpt and best.ckpt after every epoch, a CSV log) is first
trained uninterrupted. Then the same command is started again and again, each time with
`--resume DIR/last.ckpt` once that file exists, and killed with SIGKILL after a delay drawn
uniformly between 0 and the uninterrupted run's duration; a start that outlives its delay ends the
run, whose final weights are compared with the uninterrupted run's, and the next run starts from
nothing. After each kill every checkpoint of the folder is loaded. A temporary file of the atomic
writer (`*.convnet-tmp-*`) is stale when it is still there after a later save into its folder.

    python tools/kill_resume.py [--kills 100] [--train 1000] [--epochs 10] [--threads 1] [--seed 0]

Prints the counts: kills, checkpoints loaded, unloadable, stale temporary files, completed runs
and the max |difference| of their final weights from the uninterrupted run's (0 when resume is
bit-identical). Exits with status 1 when any of unloadable, stale or difference is not 0.
"""

import argparse
import glob
import gzip
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

import convnet as cn

TMP_MARK = ".convnet-tmp-"


def _write_idx(path, array):
    head = bytes([0, 0, 8, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    with open(path, "wb") as f:
        f.write(gzip.compress(head + np.ascontiguousarray(array, np.uint8).tobytes(), compresslevel=1))


def make_data(folder, n_train, n_test, seed=0):
    """MNIST-layout IDX files in `folder`: the first n_train / n_test images of the MNIST files under
    $CONVNET_DATA, else a synthetic set (the digit is the brighter quadrant pattern). Returns the
    source ("mnist" or "synthetic")."""
    os.makedirs(folder, exist_ok=True)
    try:
        sets = [cn.datasets.MNIST(os.environ.get("CONVNET_DATA"), train=t) for t in (True, False)]
        parts = [(s.data[:n], s.targets[:n]) for s, n in zip(sets, (n_train, n_test))]
        source = "mnist"
    except FileNotFoundError:
        rng = np.random.default_rng(seed)
        parts = []
        for n in (n_train, n_test):
            y = rng.integers(0, 10, n)
            x = rng.integers(0, 64, (n, 28, 28), dtype=np.uint8)
            for c in range(10):
                r, q = divmod(c, 4)
                x[y == c, 7 * r:7 * r + 7, 7 * q:7 * q + 7] += 160
            parts.append((x, y))
        source = "synthetic"
    for split, (x, y) in zip(("train", "t10k"), parts):
        _write_idx(os.path.join(folder, f"{split}-images-idx3-ubyte.gz"), x)
        _write_idx(os.path.join(folder, f"{split}-labels-idx1-ubyte.gz"), np.asarray(y, np.uint8))
    return source


def train_command(data, run_dir, epochs, threads, seed, augment="crop", lr_schedule="cosine", batch_size=64):
    """The `convnet train` command of a run in `run_dir` (resuming from its last.ckpt when there is one).
    Early stopping (patience 2, best weights restored) adds its state to the checkpoints."""
    ckpt = os.path.join(run_dir, "ckpt")
    cmd = [sys.executable, "-m", "convnet", "train", "lenet5", "--dataset", "mnist", "--data", data,
           "--epochs", str(epochs), "--batch-size", str(batch_size), "--threads", str(threads), "--seed", str(seed),
           "--augment", augment, "--lr", "0.05", "--lr-schedule", lr_schedule, "--early-stopping", "2", "--checkpoint-dir", ckpt, "--csv-log",
           os.path.join(run_dir, "log.csv"), "--output", os.path.join(run_dir, "final.safetensors"), "--quiet"]
    last = os.path.join(ckpt, "last.ckpt")
    return cmd + (["--resume", last] if os.path.exists(last) else [])


def _env():
    return {**os.environ, "OMP_WAIT_POLICY": "passive"}


def run_to_end(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, env=_env())
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")


def max_difference(a_path, b_path):
    """max |a - b| over the tensors of two weights files (inf when their names or shapes differ)."""
    a, b = cn.load(a_path), cn.load(b_path)
    if a.keys() != b.keys():
        return float("inf")
    diff = 0.0
    for k in a:
        x, y = a[k].numpy(), b[k].numpy()
        if x.shape != y.shape:
            return float("inf")
        if x.size:
            diff = max(diff, float(np.max(np.abs(x.astype(np.float64) - y.astype(np.float64)))))
        if not np.array_equal(x.view(np.uint8), y.view(np.uint8)) and diff == 0.0:
            diff = float("nan")  # equal values, other bits (-0.0, NaN payloads)
    return diff


class Folder:
    """What a folder of a run holds between kills: its checkpoints (loaded to count the loadable
    ones) and the atomic writer's temporary files, with the folder's state when each was first seen."""

    def __init__(self, path):
        self.path = path
        self.seen = {}  # temporary file -> the folder's signature when it was first seen
        self.loaded = self.unloadable = 0
        self.stale = set()
        self.unloadable_files = []

    def _signature(self):
        """The files saved in the folder (name, modification time): changes with every save."""
        out = []
        for p in sorted(glob.glob(os.path.join(self.path, "*"))):
            if os.path.isdir(p):
                continue
            try:
                out.append((os.path.basename(p), os.stat(p).st_mtime_ns))
            except FileNotFoundError:
                pass
        return tuple(x for x in out if TMP_MARK not in x[0])

    def temporaries(self):
        return sorted(glob.glob(os.path.join(self.path, f"*{TMP_MARK}*")))

    def inspect(self):
        """After a kill or at a run's end: load every checkpoint; a temporary file seen at an
        earlier inspection is stale if a checkpoint was saved since (its writer was dead by then)."""
        for p in sorted(glob.glob(os.path.join(self.path, "*.ckpt"))):
            try:
                state = cn.load_checkpoint(p)
                assert isinstance(state["epoch"], int) and state["model"]
                self.loaded += 1
            except Exception as e:  # noqa: BLE001  (any failure to load is what is counted)
                self.unloadable += 1
                self.unloadable_files.append(f"{p}: {type(e).__name__}: {e}")
        signature = self._signature()
        for tmp in self.temporaries():
            first = self.seen.setdefault(tmp, signature)
            if first != signature:
                self.stale.add(tmp)


def kill_resume(kills=100, n_train=1000, n_test=200, epochs=10, threads=1, seed=0, augment="crop", workdir=None,
                log=print):
    """Runs the experiment; returns the counts as a dict."""
    rng = random.Random(seed)
    work = workdir or tempfile.mkdtemp(prefix="kill_resume-")
    data = os.path.join(work, "data")
    source = make_data(data, n_train, n_test, seed)
    reference = os.path.join(work, "reference")
    start = time.perf_counter()
    run_to_end(train_command(data, reference, epochs, threads, seed, augment))
    duration = time.perf_counter() - start
    log(f"data: {source}, {n_train} training images; uninterrupted run: {epochs} epochs in {duration:.1f} s")
    reference_weights = os.path.join(reference, "final.safetensors")

    counts = {"kills": 0, "starts": 0, "runs_completed": 0, "checkpoints_loaded": 0, "unloadable": 0,
              "temporaries_after_kill": 0, "stale_temporaries": 0, "max_abs_difference": 0.0}
    unloadable_files, stale_files, runs = [], [], 0

    def finish(folders):
        """At a run's end (its last process exited after its saves): no temporary file may be left."""
        for folder in folders:
            folder.inspect()
            stale = folder.stale | set(folder.temporaries())
            counts["checkpoints_loaded"] += folder.loaded
            counts["unloadable"] += folder.unloadable
            counts["stale_temporaries"] += len(stale)
            unloadable_files.extend(folder.unloadable_files)
            stale_files.extend(sorted(stale))

    while True:
        run_dir = os.path.join(work, f"run{runs}")
        folders = [Folder(os.path.join(run_dir, "ckpt")), Folder(run_dir)]  # checkpoints; CSV log and weights
        while True:
            cmd = train_command(data, run_dir, epochs, threads, seed, augment)
            counts["starts"] += 1
            if counts["kills"] >= kills:  # the last run goes to its end
                run_to_end(cmd)
                break
            delay = rng.uniform(0.0, duration)
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env())
            try:
                proc.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                counts["kills"] += 1
                for folder in folders:
                    folder.inspect()
                    counts["temporaries_after_kill"] += len(folder.temporaries())
                continue
            err = proc.stderr.read().decode(errors="replace")
            if proc.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-3000:]}")
            break
        finish(folders)
        diff = max_difference(reference_weights, os.path.join(run_dir, "final.safetensors"))
        counts["max_abs_difference"] = max(counts["max_abs_difference"], diff) if diff == diff else diff
        counts["runs_completed"] += 1
        runs += 1
        if counts["kills"] >= kills:
            break
        if workdir is None:
            shutil.rmtree(run_dir, ignore_errors=True)
    counts["unloadable_files"] = unloadable_files
    counts["stale_files"] = stale_files
    if workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return counts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=100)
    ap.add_argument("--train", type=int, default=1000, help="training images (default: 1000)")
    ap.add_argument("--test", type=int, default=200, help="test images (default: 200)")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0, help="seed of the training and of the kill times")
    ap.add_argument("--augment", default="crop", help="convnet train --augment (default: crop)")
    ap.add_argument("--workdir", help="keep every run here (default: a temporary folder, removed)")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    c = kill_resume(args.kills, args.train, args.test, args.epochs, args.threads, args.seed, args.augment,
                    args.workdir)
    print(f"kills: {c['kills']} (over {c['starts']} starts, {c['runs_completed']} run(s) completed)")
    print(f"checkpoints loaded: {c['checkpoints_loaded']}")
    print(f"unloadable checkpoints: {c['unloadable']}")
    print(f"temporary files found right after a kill: {c['temporaries_after_kill']}")
    print(f"stale temporary files after the next save: {c['stale_temporaries']}")
    print(f"max |difference| of the final weights from the uninterrupted run: {c['max_abs_difference']}")
    for line in c["unloadable_files"] + c["stale_files"]:
        print("  " + line)
    print(f"({time.perf_counter() - start:.0f} s)")
    return 0 if c["unloadable"] == 0 and c["stale_temporaries"] == 0 and c["max_abs_difference"] == 0.0 else 1


if __name__ == "__main__":
    sys.exit(main())
