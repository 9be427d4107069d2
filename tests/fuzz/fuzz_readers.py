"""Atheris fuzz targets, one per file reader: each input is written to a file and read; the reader
may accept it or raise its own error type, anything else (a foreign exception, a crash, over 2 s
or 1 GB with the flags below) is a finding.

    python tests/fuzz/fuzz_readers.py TARGET CORPUS_DIR -max_total_time=30 -timeout=2 -rss_limit_mb=1024

TARGET: safetensors, checkpoint, idx, cifar_pickle, cifar_binary, image, onnx, mat. test_fuzz.py writes
a seed corpus of valid files for each.

    python tests/fuzz/fuzz_readers.py TARGET --replay FILE_OR_DIR...

reads each file once through the same target without atheris (tests/build/test_sanitizers.py
replays the seed corpus and its mutants under ASan+UBSan) and prints `replayed N inputs`; a foreign
exception propagates."""

import contextlib
import os
import sys
import tempfile

try:
    import atheris
except ImportError:  # --replay needs no atheris
    atheris = None

with atheris.instrument_imports() if atheris and "--replay" not in sys.argv else contextlib.nullcontext():
    import convnet as cn
    from convnet.datasets import CIFAR10, CIFARError, IDXError, ImageFileError, MatError
    from convnet.datasets.folder import decode_image
    from convnet.datasets.matfile import read_mat
    from convnet.datasets.mnist import read_idx
    from convnet.onnx import OnnxError

# target -> (file name, reader, the error type it may raise)
TARGETS = {
    "safetensors": ("f.safetensors", cn.load, cn.SafetensorsError),
    "checkpoint": ("f.ckpt", cn.load_checkpoint, cn.CheckpointError),
    "idx": ("train-images-idx3-ubyte.gz", lambda p: read_idx(p, 2051, (28, 28)), IDXError),
    "cifar_pickle": ("data_batch_1", lambda p: CIFAR10.__new__(CIFAR10)._read_python(p), CIFARError),
    "cifar_binary": ("data_batch_1.bin", lambda p: CIFAR10.__new__(CIFAR10)._read_binary(p), CIFARError),
    "image": ("f.png", decode_image, ImageFileError),
    "onnx": ("f.onnx", cn.onnx.load, OnnxError),
    "mat": ("f.mat", read_mat, MatError),
}


def one_input_fn(target):
    """The function that reads one input (bytes) as `target`'s file."""
    name, reader, error = TARGETS[target]
    path = os.path.join(tempfile.mkdtemp(), name)

    def one_input(data):
        with open(path, "wb") as f:
            f.write(data)
        try:
            reader(path)
        except error:
            pass

    return one_input


def replay(target, paths):
    """Every file of `paths` (files or folders) read once; returns how many."""
    one_input = one_input_fn(target)
    files = []
    for p in paths:
        files += sorted(os.path.join(p, f) for f in os.listdir(p)) if os.path.isdir(p) else [p]
    for f in files:
        with open(f, "rb") as fh:
            one_input(fh.read())
    return len(files)


def main():
    target = sys.argv[1]
    if len(sys.argv) > 2 and sys.argv[2] == "--replay":
        print(f"replayed {replay(target, sys.argv[3:])} inputs")
        return
    atheris.Setup([sys.argv[0]] + sys.argv[2:], one_input_fn(target))
    atheris.Fuzz()


if __name__ == "__main__":
    main()
