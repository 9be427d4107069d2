"""Hostile MNIST/IDX files: the gzip stream is read incrementally, the header checked first, and
no more is decompressed than the header declares (issue 15, failure 2: a decompression bomb)."""

import gzip
import time

import numpy as np
import pytest

from convnet.datasets import IDXError
from convnet.datasets.mnist import read_idx

ZEROS = gzip.compress(b"\0" * (64 << 20), compresslevel=1)  # one 64 MiB gzip member of zeros


def _bomb(path, head, gib=3):
    """A small .gz file (multi-member) that decompresses to `head` then `gib` GiB of zeros."""
    path.write_bytes(gzip.compress(head) + ZEROS * (gib * 16))
    return path


def test_bomb_with_a_wrong_magic_fails_at_once(tmp_path):
    path = _bomb(tmp_path / "train-images-idx3-ubyte.gz", b"\xde\xad\xbe\xef" + bytes(12))
    assert path.stat().st_size < 16 << 20
    t = time.perf_counter()
    with pytest.raises(IDXError, match="bad magic number 3735928559") as info:
        read_idx(path, 2051, (28, 28))
    assert time.perf_counter() - t < 1.0
    assert str(path) in str(info.value) and isinstance(info.value, ValueError)


def test_bomb_behind_a_valid_header_reads_only_what_it_declares(tmp_path):
    head = (2051).to_bytes(4, "big") + (2).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    path = _bomb(tmp_path / "t10k-images-idx3-ubyte.gz", head)
    t = time.perf_counter()
    with pytest.raises(IDXError, match="declares 2 item.*more bytes follow"):
        read_idx(path, 2051, (28, 28))
    assert time.perf_counter() - t < 1.0


def test_declared_count_beyond_what_the_file_can_hold(tmp_path):
    head = (2051).to_bytes(4, "big") + (0xFFFFFFFF).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(head + bytes(784)))
    with pytest.raises(IDXError, match="more than a file of its size can hold"):
        read_idx(path, 2051, (28, 28))
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(head + bytes(784))
    with pytest.raises(IDXError, match="more than a file of its size can hold"):
        read_idx(path, 2051, (28, 28))


def test_mutants_raise_only_idx_errors(tmp_path):
    rng = np.random.default_rng(0)
    labels = (2049).to_bytes(4, "big") + (5).to_bytes(4, "big") + bytes(range(5))
    good = gzip.compress(labels)
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    outcomes = {"ok": 0, "IDXError": 0}
    for _ in range(300):
        b = bytearray(good)
        for _ in range(rng.integers(1, 4)):
            i = int(rng.integers(len(b)))
            b[i] ^= 1 << int(rng.integers(8))
        if rng.random() < 0.3:
            b = b[:int(rng.integers(len(b)))]
        path.write_bytes(bytes(b))
        try:
            read_idx(path, 2049, ())
            outcomes["ok"] += 1
        except IDXError:
            outcomes["IDXError"] += 1
    assert outcomes["IDXError"] > 100
