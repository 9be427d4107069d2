"""Hostile CIFAR batch files and images: mutants raise the reader's own error (a ValueError naming
the file), never SystemError, LookupError or another foreign exception (issue 15, failure 3)."""

import pickle
import random

import numpy as np
import pytest

from convnet.datasets import CIFAR10, CIFARError, ImageFileError
from convnet.datasets.folder import decode_image


def _reader():
    return CIFAR10.__new__(CIFAR10)  # the readers need no files on disk


def _mutants(good, count, seed):
    rng = random.Random(seed)
    for _ in range(count):
        b = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        if rng.random() < 0.2:
            b = b[:rng.randrange(len(b))]
        yield bytes(b)


@pytest.mark.parametrize("protocol", [2, 4])
def test_cifar_pickle_mutants(tmp_path, protocol):
    batch = {b"batch_label": b"testing batch 1 of 1", b"labels": [3, 1, 4],
             b"data": np.arange(3 * 3072, dtype=np.uint8).reshape(3, 3072), b"filenames": [b"a.png"] * 3}
    good = pickle.dumps(batch, protocol=protocol)
    data, labels = _reader()._read_python(_write(tmp_path / "good", good))
    assert data.shape == (3, 3072) and labels[:, 0].tolist() == [3, 1, 4]
    rejected = 0
    for raw in _mutants(good, 400, protocol):
        try:
            _reader()._read_python(_write(tmp_path / "data_batch_1", raw))
        except CIFARError as e:
            assert "data_batch_1" in str(e)
            rejected += 1
    assert rejected > 50  # most mutants only change pixels


def test_cifar_pickle_with_a_bad_codec_name(tmp_path):
    # protocol-2 pickles of bytes call _codecs.encode(str, encoding): a mutated name was a LookupError
    good = pickle.dumps({b"data": b"\x01\x02"}, protocol=2)
    assert b"latin1" in good
    path = _write(tmp_path / "test_batch", good.replace(b"latin1", b"latinX"))
    with pytest.raises(CIFARError, match="test_batch"):
        _reader()._read_python(path)


def test_cifar_binary_mutants(tmp_path):
    good = bytes([7]) + bytes(3072)
    for raw in _mutants(good * 2, 50, 0):
        try:
            _reader()._read_binary(_write(tmp_path / "data_batch_1.bin", raw))
        except CIFARError as e:
            assert "data_batch_1.bin" in str(e)


def test_image_mutants(tmp_path):
    PIL = pytest.importorskip("PIL.Image")
    path = tmp_path / "good.png"
    PIL.fromarray(np.arange(16 * 16 * 3, dtype=np.uint8).reshape(16, 16, 3)).save(path)
    good = path.read_bytes()
    for raw in _mutants(good, 200, 1):
        try:
            decode_image(_write(tmp_path / "m.png", raw))
        except ImageFileError as e:
            assert "m.png" in str(e)


def _write(path, raw):
    path.write_bytes(raw)
    return path


def test_cifar_pickle_with_a_huge_memo_index(tmp_path):
    # found by the fuzz harness: LONG_BINPUT 175399797 made the unpickler allocate a 1.4 GB memo
    path = _write(tmp_path / "data_batch_2", b"\x80\x02}r" + (175399797).to_bytes(4, "little") + b".")
    with pytest.raises(CIFARError, match="data_batch_2 is not a CIFAR batch pickle: it uses memo index 175399797"):
        _reader()._read_python(path)
