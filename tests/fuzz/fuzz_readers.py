"""Atheris fuzz targets, one per file reader: each input is written to a file and read; the reader
may accept it or raise its own error type, anything else (a foreign exception, a crash, over 2 s
or 1 GB with the flags below) is a finding.

    python tests/fuzz/fuzz_readers.py TARGET CORPUS_DIR -max_total_time=30 -timeout=2 -rss_limit_mb=1024

TARGET: safetensors, checkpoint, idx, cifar_pickle, cifar_binary, image, onnx. test_fuzz.py writes
a seed corpus of valid files for each."""

import os
import sys
import tempfile

import atheris

with atheris.instrument_imports():
    import convnet as cn
    from convnet.datasets import CIFAR10, CIFARError, IDXError, ImageFileError
    from convnet.datasets.folder import decode_image
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
}


def main():
    name, reader, error = TARGETS[sys.argv[1]]
    path = os.path.join(tempfile.mkdtemp(), name)

    def one_input(data):
        with open(path, "wb") as f:
            f.write(data)
        try:
            reader(path)
        except error:
            pass

    atheris.Setup([sys.argv[0]] + sys.argv[2:], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
