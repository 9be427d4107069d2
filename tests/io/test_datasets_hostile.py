"""Hostile CIFAR batch files, images, SVHN .mat files and STL-10 files: mutants raise the reader's own
error (a ValueError naming the file), never SystemError, LookupError or another foreign exception
(issue 15, failure 3), and a size a file declares is checked against the file before anything is
allocated."""

import pickle
import random
import resource
import struct
import zlib

import numpy as np
import pytest

from convnet.datasets import CIFAR10, STL10, CIFARError, ImageFileError, MatError, STL10Error
from convnet.datasets.folder import decode_image
from convnet.datasets.matfile import read_mat
from mat5 import element, header, mat_file


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


@pytest.mark.parametrize("endian", ["<", ">"])
@pytest.mark.parametrize("compress", [False, True])
def test_mat_mutants(tmp_path, endian, compress):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (32, 32, 3, 2), dtype=np.uint8)
    good = mat_file([("X", x), ("y", np.array([[1.0], [10.0]]), "f8", "u1")], e=endian, compress=compress)
    path = _write(tmp_path / "train_32x32.mat", good)
    assert np.array_equal(read_mat(path)["X"], x)
    rejected = 0
    mutants = list(_mutants(good, 250, 7)) + [good[:k] for k in range(0, len(good), 61)]
    for raw in mutants:
        try:
            read_mat(_write(path, raw), ("X", "y"), "SVHN")
        except MatError as e:
            assert str(e).startswith(f"SVHN: {path}")
            rejected += 1
    assert rejected > 100


def _one_variable(body, e="<"):
    return header(e) + struct.pack(e + "II", 14, len(body)) + body


def test_mat_declared_sizes_are_checked_before_allocating(tmp_path):
    path = tmp_path / "test_32x32.mat"
    flags = element(6, struct.pack("<II", 9, 0))
    huge_dims = element(5, struct.pack("<4i", 32, 32, 3, 2_000_000_000))
    name = element(1, b"X")
    bomb = zlib.compress(struct.pack("<II", 14, 1 << 30))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cases = [
        # a variable declaring 4 GB in a file of a few hundred bytes
        (header() + struct.pack("<II", 14, 1 << 32 - 1), "its element declares 2147483648 bytes but the file has"),
        # dimensions of 6 * 10^12 values over 8 bytes of data
        (_one_variable(flags + huge_dims + name + element(2, bytes(8))),
         "real part holds 8 bytes, expected 6144000000000 values of 1 byte"),
        # a real part claiming more bytes than its variable's element holds
        (_one_variable(flags + element(5, struct.pack("<2i", 1, 16)) + name + struct.pack("<II", 2, 16)),
         "real part declares 16 byte"),
        # a compressed variable whose inflated size is beyond what deflate can produce from its bytes
        (header() + struct.pack("<II", 15, len(bomb)) + bomb,
         f"declares 1073741824 bytes, more than 1100 times its {len(bomb)} compressed bytes"),
        # a compressed variable that is not zlib data
        (header() + struct.pack("<II", 15, 16) + b"not zlib at all!", "compressed data is corrupt"),
        (header() + struct.pack("<II", 14, 8) + struct.pack("<II", 7, 0), "array flags has data type 7"),
        (header() + struct.pack("<II", 3, 0), "data type 3, expected miMATRIX"),
        (b"MATLAB 5.0" + bytes(20), "not a MAT-file: it has 30 bytes"),
        (bytes(128), "endian indicator"),
    ]
    for raw, message in cases:
        with pytest.raises(MatError, match=message):
            read_mat(_write(path, raw))
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000, "no large allocation (KB)"
    # a cell array where SVHN expects numbers
    cell = _one_variable(element(6, struct.pack("<II", 1, 0)) + element(5, struct.pack("<2i", 1, 1)) + name)
    with pytest.raises(MatError, match="variable 'X': it is a MATLAB cell array, expected a numeric array"):
        read_mat(_write(path, cell), ("X",))
    assert read_mat(path) == {}, "read with no names, a cell array is skipped"


def test_stl10_mutants(tmp_path):
    folder = tmp_path / "stl10_binary"
    folder.mkdir()
    rng = np.random.default_rng(0)
    (folder / "train_X.bin").write_bytes(rng.integers(0, 256, 3 * 3 * 96 * 96, dtype=np.uint8).tobytes())
    good_y = bytes([1, 10, 4])
    good_folds = b"0 2\n1\n" + b"2 1 0\n" * 8
    for name, good in (("train_y.bin", good_y), ("fold_indices.txt", good_folds)):
        for raw in _mutants(good, 80, 3):
            _write(folder / "train_y.bin", good_y)
            _write(folder / "fold_indices.txt", good_folds)
            _write(folder / name, raw)
            try:
                STL10(tmp_path, split="train", folds=int(raw[0]) % 10 if raw else 0)
            except STL10Error as e:
                assert name in str(e)
