"""FashionMNIST, KMNIST, CIFAR10, CIFAR100 (python and binary layouts) and ImageFolder, on small files
that the tests write themselves in each exact published layout, and malformed variants of each."""

import gzip
import hashlib
import io
import json
import os
import pickle
import struct
import sys
import tarfile
import time
import zlib

import numpy as np
import pytest

import convnet.datasets.utils as dsutils
from convnet.datasets import CIFAR10, CIFAR100, KMNIST, FashionMNIST, ImageFolder

RNG = np.random.default_rng(0)


# ---- FashionMNIST and KMNIST: MNIST's IDX layout under their own names -------------------------------

def _idx(magic, dims, payload):
    return b"".join(int(v).to_bytes(4, "big") for v in (magic,) + tuple(dims)) + bytes(payload)


def _write_idx_pair(folder, split, images, labels):
    folder.mkdir(parents=True, exist_ok=True)
    n = len(images)
    (folder / f"{split}-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(2051, (n, 28, 28), images.tobytes())))
    (folder / f"{split}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(2049, (n,), bytes(labels))))


@pytest.mark.parametrize("cls,folders", [(FashionMNIST, ["fashion-mnist", "FashionMNIST/raw"]),
                                         (KMNIST, ["kmnist", "KMNIST/raw"])])
def test_mnist_relatives_read_their_folders(tmp_path, cls, folders):
    images = RNG.integers(0, 256, (4, 28, 28), dtype=np.uint8)
    for k, folder in enumerate(folders):
        root = tmp_path / str(k)
        _write_idx_pair(root / folder, "t10k", images, [9, 0, 3, 1])
        ds = cls(root, train=False)
        assert np.array_equal(ds.data, images) and ds.targets.tolist() == [9, 0, 3, 1]
        assert len(ds.classes) == 10 and ds[0][0].shape == (1, 28, 28)
    assert FashionMNIST.classes[9] == "Ankle boot" and KMNIST.classes[0] == "o"
    with pytest.raises(FileNotFoundError) as e:
        cls(tmp_path / "0", train=True)
    assert f"{cls.__name__}:" in str(e.value) and "train-images-idx3-ubyte.gz" in str(e.value)


def test_mnist_relative_errors_name_the_data_set_and_file(tmp_path):
    _write_idx_pair(tmp_path, "t10k", np.zeros((2, 28, 28), np.uint8), [1, 10])
    with pytest.raises(ValueError, match="FashionMNIST: .*t10k-labels-idx1-ubyte.gz holds label 10 at index 1"):
        FashionMNIST(tmp_path, train=False)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(2051, (2, 28, 28), b"\0" * 100)))
    with pytest.raises(ValueError, match="KMNIST: .*t10k-images-idx3-ubyte.gz is truncated"):
        KMNIST(tmp_path, train=False)


def _fake_urlopen(monkeypatch, files, calls):
    def urlopen(url, timeout=None):
        calls.append(url)
        name = url.rsplit("/", 1)[1]
        if name not in files:
            raise OSError(f"404 {url}")
        return io.BytesIO(files[name])
    monkeypatch.setattr(dsutils.urllib.request, "urlopen", urlopen)


def test_fashion_mnist_download_checks_md5_against_its_own_table(tmp_path, monkeypatch):
    src = tmp_path / "src"
    images = RNG.integers(0, 256, (2, 28, 28), dtype=np.uint8)
    _write_idx_pair(src, "t10k", images, [4, 5])
    files = {p.name: p.read_bytes() for p in src.iterdir()}
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        entry = FashionMNIST.resources[name]
        monkeypatch.setitem(FashionMNIST.resources, name, (hashlib.md5(files[name + ".gz"]).hexdigest(),) + entry[1:])
    calls = []
    _fake_urlopen(monkeypatch, files, calls)
    ds = FashionMNIST(tmp_path / "data", train=False, download=True)
    assert ds.targets.tolist() == [4, 5] and np.array_equal(ds.data, images)
    assert all(c.startswith(FashionMNIST.mirrors[0]) for c in calls) and len(calls) == 2


# ---- CIFAR: both layouts written byte for byte ------------------------------------------------------

def _planes(images):
    """uint8 (n, 32, 32, 3) -> the published row layout: red plane, green plane, blue plane."""
    rows = np.empty((len(images), 3072), np.uint8)
    for k, img in enumerate(images):
        for c in range(3):
            for y in range(32):
                rows[k, c * 1024 + y * 32:c * 1024 + y * 32 + 32] = img[y, :, c]
    return rows


def _pickle_batch(path, images, **labels):
    """A batch as the original files hold it: a protocol-2 pickle of a dict with bytes keys."""
    d = {b"batch_label": b"testing batch 1 of 1", b"data": _planes(images),
         b"filenames": [b"img_%d.png" % i for i in range(len(images))]}
    for k, v in labels.items():
        d[k.encode()] = list(v)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(d, protocol=2))


def _binary_batch(path, images, *label_columns):
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = _planes(images)
    path.write_bytes(b"".join(bytes(int(col[k]) for col in label_columns) + rows[k].tobytes()
                              for k in range(len(images))))


def _cifar10(root, layout, n_train=2, n_test=3):
    """Writes a small CIFAR-10 tree; returns {train: (images, labels), test: (...)}."""
    out = {}
    folder = root / ("cifar-10-batches-py" if layout == "python" else "cifar-10-batches-bin")
    suffix = "" if layout == "python" else ".bin"
    train_images, train_labels = [], []
    for b, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        n = n_test if name == "test_batch" else n_train
        images = RNG.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
        labels = RNG.integers(0, 10, n)
        if layout == "python":
            _pickle_batch(folder / name, images, labels=labels)
        else:
            _binary_batch(folder / (name + suffix), images, labels)
        if name == "test_batch":
            out[False] = (images, labels)
        else:
            train_images.append(images)
            train_labels.append(labels)
    out[True] = (np.concatenate(train_images), np.concatenate(train_labels))
    return out


@pytest.mark.parametrize("layout", ["python", "binary"])
@pytest.mark.parametrize("train", [True, False])
def test_cifar10_reads_both_layouts(tmp_path, layout, train):
    truth = _cifar10(tmp_path, layout)
    ds = CIFAR10(tmp_path, train=train)
    images, labels = truth[train]
    assert ds.layout == layout
    assert ds.data.shape == (len(images), 32, 32, 3) and ds.data.dtype == np.uint8
    assert np.array_equal(ds.data, images)
    assert ds.targets.dtype == np.int64 and ds.targets.tolist() == labels.tolist()
    x, y = ds[1]
    assert x.shape == (3, 32, 32) and x.dtype == np.float32 and y == labels[1]
    np.testing.assert_array_equal(x, images[1].transpose(2, 0, 1).astype(np.float32) / np.float32(255))
    xa, ya = ds.arrays()
    assert xa.shape == (len(images), 3, 32, 32) and np.array_equal(xa[1], x)
    assert ds.classes[0] == "airplane" and ds.class_to_idx["truck"] == 9


@pytest.mark.parametrize("layout", ["python", "binary"])
def test_cifar100_fine_and_coarse_labels(tmp_path, layout):
    images = RNG.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    fine, coarse = np.array([99, 0, 42, 7]), np.array([19, 4, 0, 13])
    for split in ("train", "test"):
        if layout == "python":
            _pickle_batch(tmp_path / "cifar-100-python" / split, images, fine_labels=fine, coarse_labels=coarse)
        else:   # each record: coarse label byte, fine label byte, pixels
            _binary_batch(tmp_path / "cifar-100-binary" / f"{split}.bin", images, coarse, fine)
    for train in (True, False):
        ds = CIFAR100(tmp_path, train=train, layout=layout)
        assert np.array_equal(ds.data, images)
        assert ds.targets.tolist() == fine.tolist() and ds.coarse_targets.tolist() == coarse.tolist()
    assert len(ds.classes) == 100 and ds.classes[99] == "worm"


def test_cifar_layout_choice(tmp_path):
    _cifar10(tmp_path, "binary")
    assert CIFAR10(tmp_path, train=False).layout == "binary"
    with pytest.raises(FileNotFoundError, match="no python files"):
        CIFAR10(tmp_path, train=False, layout="python")
    with pytest.raises(ValueError, match="layout must be"):
        CIFAR10(tmp_path, layout="hdf5")


def test_cifar_missing_files_say_where_to_put_them(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        CIFAR10(tmp_path)
    msg = str(e.value)
    for part in ("download=True", "cifar-10-python.tar.gz", str(tmp_path / "cifar-10-batches-py"),
                 "data_batch_1", "cifar-10-batches-bin", "test_batch.bin", "CONVNET_DATA"):
        assert part in msg, f"{part!r} missing from: {msg}"


def _cifar_error(tmp_path, cls=CIFAR10, **kw):
    with pytest.raises(ValueError) as e:
        cls(tmp_path, train=False, **kw)
    return str(e.value)


def test_cifar_python_malformed(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    images = RNG.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    _pickle_batch(folder / "test_batch", images, labels=[1, 2, 3])
    good = (folder / "test_batch").read_bytes()
    path = str(folder / "test_batch")
    cases = [
        (good[:len(good) // 2], "not a readable CIFAR batch pickle"),
        (b"", "not a readable CIFAR batch pickle"),
        (pickle.dumps([1, 2, 3], protocol=2), "holds a pickled list"),
        (pickle.dumps({b"data": _planes(images)}, protocol=2), "lacks the key(s) b'labels'"),
        (pickle.dumps({b"data": _planes(images)[:, :100], b"labels": [1, 2, 3]}, protocol=2), "(n, 3072)"),
        (pickle.dumps({b"data": _planes(images), b"labels": [1, 2]}, protocol=2), "3 images but b'labels' holds 2"),
        (pickle.dumps({b"data": _planes(images), b"labels": [1, 10, 2]}, protocol=2), "label 10 at index 1"),
    ]
    for raw, expected in cases:
        (folder / "test_batch").write_bytes(raw)
        msg = _cifar_error(tmp_path)
        assert path in msg and expected in msg, msg


def test_cifar_pickle_cannot_run_code(tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "test_batch").write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}, protocol=2))
    msg = _cifar_error(tmp_path)
    assert "system" in msg and "never holds" in msg
    assert not marker.exists()


def test_cifar_binary_malformed(tmp_path):
    folder = tmp_path / "cifar-100-binary"
    images = RNG.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    _binary_batch(folder / "test.bin", images, [1, 2], [3, 4])
    good = (folder / "test.bin").read_bytes()
    path = str(folder / "test.bin")
    for raw, expected in [(good[:-1], "is truncated"), (good + b"\0", "2 whole record(s) and 1 byte(s)"),
                          (b"", "is empty"), (bytes([20]) + good[1:], "label 20 at index 0; CIFAR100 labels are 0..19"),
                          (good[:1] + bytes([100]) + good[2:], "label 100 at index 0; CIFAR100 labels are 0..99")]:
        (folder / "test.bin").write_bytes(raw)
        msg = _cifar_error(tmp_path, CIFAR100)
        assert path in msg and expected in msg, msg


@pytest.mark.parametrize("layout", ["python", "binary"])
def test_cifar_download_unpacks_the_archive(tmp_path, monkeypatch, layout):
    src = tmp_path / "src"
    truth = _cifar10(src, layout)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(src / CIFAR10.folders[layout], arcname=CIFAR10.folders[layout])
    name, _ = CIFAR10.archives[layout]
    monkeypatch.setitem(CIFAR10.archives, layout, (name, hashlib.md5(buf.getvalue()).hexdigest()))
    calls = []
    _fake_urlopen(monkeypatch, {name: buf.getvalue()}, calls)
    root = tmp_path / "data"
    ds = CIFAR10(root, train=False, download=True, layout=layout)
    assert calls == [CIFAR10.mirrors[0] + name]
    assert np.array_equal(ds.data, truth[False][0]) and ds.targets.tolist() == truth[False][1].tolist()
    calls.clear()
    CIFAR10(root, train=True, download=True, layout=layout)
    assert calls == []


def test_cifar_download_bad_md5_writes_nothing(tmp_path, monkeypatch):
    calls = []
    _fake_urlopen(monkeypatch, {"cifar-10-python.tar.gz": b"not the archive"}, calls)
    with pytest.raises(RuntimeError) as e:
        CIFAR10(tmp_path / "data", download=True)
    assert "md5" in str(e.value) and "cifar-10-batches-py" in str(e.value)
    assert list((tmp_path / "data").iterdir()) == []


# ---- ImageFolder: PNG written byte for byte, JPEG through Pillow --------------------------------------

def _png(path, img):
    """A PNG file by the specification: signature, IHDR, one IDAT of filter-0 rows, IEND."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    h, w = img.shape[:2]
    color = 0 if img.ndim == 2 else 2   # grey or RGB, 8 bits per sample
    rows = b"".join(b"\0" + img[y].tobytes() for y in range(h))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def _folder(root):
    """cat/: two RGB PNGs and a grey PNG; dog/: a JPEG (in a sub-folder) and a PNG; plus a stray text file."""
    imgs = {"cat/b.png": RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8),
            "cat/a.PNG": RNG.integers(0, 256, (6, 4, 3), dtype=np.uint8),
            "cat/grey.png": RNG.integers(0, 256, (3, 3), dtype=np.uint8),
            "dog/x.png": RNG.integers(0, 256, (8, 8, 3), dtype=np.uint8)}
    for rel, img in imgs.items():
        _png(root / rel, img)
    yy, xx = np.meshgrid(np.arange(16) * 8, np.arange(16) * 4, indexing="ij")
    smooth = np.stack([yy, xx, np.full((16, 16), 99)], axis=-1).astype(np.uint8)
    return imgs, smooth


def test_image_folder_png_and_jpeg(tmp_path):
    PIL = pytest.importorskip("PIL.Image")
    imgs, smooth = _folder(tmp_path)
    (tmp_path / "dog" / "deep").mkdir()
    PIL.fromarray(smooth).save(tmp_path / "dog" / "deep" / "j.jpg", quality=95)
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    ds = ImageFolder(tmp_path)
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    rel = [os.path.relpath(p, tmp_path) for p, _ in ds.samples]
    assert rel == ["cat/a.PNG", "cat/b.png", "cat/grey.png", "dog/deep/j.jpg", "dog/x.png"]
    assert ds.targets.tolist() == [0, 0, 0, 1, 1]
    for i in (0, 1, 4):
        img, label = ds.load(i)
        assert img.dtype == np.uint8 and np.array_equal(img, imgs[rel[i]]) and label == ds.targets[i]
    grey, _ = ds.load(2)
    assert grey.shape == (3, 3, 3) and all(np.array_equal(grey[..., c], imgs["cat/grey.png"]) for c in range(3))
    jpg, label = ds.load(3)
    assert jpg.shape == (16, 16, 3) and label == 1
    assert np.abs(jpg.astype(int) - smooth).mean() < 3, "JPEG decodes close to what was encoded"
    x, y = ds[1]
    assert x.shape == (3, 5, 7) and x.dtype == np.float32 and y == 0
    np.testing.assert_array_equal(x, imgs["cat/b.png"].transpose(2, 0, 1) / np.float32(255))
    assert ImageFolder(tmp_path, transform=lambda a: a.shape)[0] == ((6, 4, 3), 0)


def test_image_folder_malformed_files_name_the_file(tmp_path):
    pytest.importorskip("PIL.Image")
    _folder(tmp_path)
    good = (tmp_path / "dog" / "x.png").read_bytes()
    for raw in (good[:60], b"", b"this is text, not a PNG"):
        (tmp_path / "dog" / "x.png").write_bytes(raw)
        ds = ImageFolder(tmp_path)
        with pytest.raises(ValueError) as e:
            ds[3]
        assert str(tmp_path / "dog" / "x.png") in str(e.value) and "cannot be decoded" in str(e.value)


def test_image_folder_layout_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        ImageFolder(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="has no sub-folders"):
        ImageFolder(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "readme.txt").write_text("x")
    _png(tmp_path / "a" / "1.png", np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(FileNotFoundError, match=f"no image files in the class folder.*{tmp_path / 'b'}"):
        ImageFolder(tmp_path)
    with pytest.raises(IndexError):
        ImageFolder(tmp_path / "a" / "..", extensions=(".png", ".txt"))[2]


def test_image_folder_without_pillow_says_how_to_install(tmp_path, monkeypatch):
    _png(tmp_path / "a" / "1.png", np.zeros((2, 2, 3), np.uint8))
    ds = ImageFolder(tmp_path)   # listing needs no Pillow
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match="pip install pillow"):
        ds.load(0)


# ---- SVHN: MATLAB 5 .mat files ----------------------------------------------------------------------

def _svhn_arrays(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
    y = rng.integers(1, 11, (n, 1)).astype(np.float64)
    y[0] = 10
    return x, y


def _svhn_expected(x, y):
    """torchvision's SVHN conversion (labels 10 -> 0; images (N, 3, 32, 32) from (32, 32, 3, N)), then
    convnet's HWC layout."""
    labels = y.astype(np.int64).squeeze()
    np.place(labels, labels == 10, 0)
    return np.transpose(x, (3, 2, 0, 1)).transpose(0, 2, 3, 1), labels


@pytest.mark.parametrize("endian", ["<", ">"])
@pytest.mark.parametrize("compress", [False, True])
def test_svhn_reads_hand_written_mat_files(tmp_path, endian, compress):
    from mat5 import mat_file
    from convnet.datasets import SVHN
    x, y = _svhn_arrays(7)
    # as MATLAB writes them: y a double array stored as uint8, another variable before X
    raw = mat_file([("note", np.arange(3.0)), ("X", x), ("y", y, "f8", "u1")], e=endian, compress=compress)
    (tmp_path / "test_32x32.mat").write_bytes(raw)
    ds = SVHN(tmp_path, split="test")
    data, labels = _svhn_expected(x, y)
    assert ds.data.shape == (7, 32, 32, 3) and ds.data.flags.c_contiguous
    np.testing.assert_array_equal(ds.data, data)
    assert ds.targets.dtype == np.int64 and ds.targets.tolist() == labels.tolist() and ds.targets[0] == 0
    img, label = ds[3]
    np.testing.assert_array_equal(img, x[:, :, :, 3].transpose(2, 0, 1) / np.float32(255))
    assert label == labels[3]


@pytest.mark.parametrize("compress", [False, True])
def test_mat_reader_against_scipy(tmp_path, compress):
    sio = pytest.importorskip("scipy.io")
    from mat5 import mat_file
    from convnet.datasets.matfile import read_mat
    from convnet.datasets import SVHN
    x, y = _svhn_arrays(5, 1)
    extra = {"w": np.arange(12, dtype=np.int16).reshape(3, 4), "v": np.linspace(0, 1, 6, dtype=np.float32),
             "t": "text", "s": {"a": 1.0}}
    sio.savemat(tmp_path / "train_32x32.mat", {"X": x, "y": y, **extra}, do_compression=compress)
    got, ref = read_mat(tmp_path / "train_32x32.mat"), sio.loadmat(tmp_path / "train_32x32.mat")
    assert sorted(got) == ["X", "v", "w", "y"], "text and structs are skipped"
    for k, a in got.items():
        assert a.dtype == ref[k].dtype and a.shape == ref[k].shape and np.array_equal(a, ref[k]), k
    ds = SVHN(tmp_path)
    data, labels = _svhn_expected(x, y)
    np.testing.assert_array_equal(ds.data, data)
    assert ds.targets.tolist() == labels.tolist()
    # and scipy reads the hand-written files as the reader does (mat_dtype: the array's class, as read_mat)
    for e in "<>":
        (tmp_path / "h.mat").write_bytes(mat_file([("X", x), ("y", y, "f8", "u1")], e=e, compress=compress))
        got, ref = read_mat(tmp_path / "h.mat"), sio.loadmat(tmp_path / "h.mat", mat_dtype=True)
        for k in ("X", "y"):
            assert got[k].dtype == ref[k].dtype.newbyteorder("=") and np.array_equal(got[k], ref[k]), (e, k)


def test_svhn_errors_name_the_file(tmp_path):
    from mat5 import mat_file
    from convnet.datasets import SVHN, MatError
    with pytest.raises(FileNotFoundError, match="train_32x32.mat not found.*download=True"):
        SVHN(tmp_path)
    with pytest.raises(ValueError, match="split must be one of"):
        SVHN(tmp_path, split="valid")
    x, y = _svhn_arrays(4)
    path = tmp_path / "extra_32x32.mat"
    cases = [([("X", x)], "has no variable 'y'"),
             ([("X", x[:, :, :2]), ("y", y)], r"X is a uint8 array of dimensions 32x32x2x4, expected uint8 32x32x3xN"),
             ([("X", x.astype(np.float64)), ("y", y)], "X is a float64 array"),
             ([("X", x), ("y", y[:3])], "y has dimensions 3x1, expected 4x1"),
             ([("X", x), ("y", np.array([[1.0], [11.0], [2.0], [3.0]]))], "y holds 11.0 at index 1"),
             ([("X", x), ("y", np.array([[1.0], [2.5], [2.0], [3.0]]))], "y holds 2.5 at index 1")]
    for variables, message in cases:
        path.write_bytes(mat_file(variables))
        with pytest.raises(MatError, match=f"SVHN: {path}: .*{message}" if "no variable" not in message
                           else f"SVHN: {path} {message}"):
            SVHN(tmp_path, split="extra")
    path.write_bytes(b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(124, b" ") + b"\x00\x02IM" + bytes(64))
    with pytest.raises(MatError, match=f"SVHN: {path} is a MATLAB 7.3 MAT-file \\(HDF5\\)"):
        SVHN(tmp_path, split="extra")
    good = mat_file([("X", x), ("y", y)], compress=True)
    path.write_bytes(good[:-10])
    with pytest.raises(MatError, match=f"SVHN: {path}: the variable at byte 12499: .*file has 38 left \\(truncated"):
        SVHN(tmp_path, split="extra")


def test_svhn_download_checks_md5(tmp_path, monkeypatch):
    from mat5 import mat_file
    from convnet.datasets import SVHN
    x, y = _svhn_arrays(2)
    payload = mat_file([("X", x), ("y", y)], compress=True)
    served = []
    _fake_urlopen(monkeypatch, {"test_32x32.mat": payload}, served)
    monkeypatch.setitem(SVHN.split_list, "test", ("test_32x32.mat", hashlib.md5(payload).hexdigest()))
    ds = SVHN(tmp_path / "d", split="test", download=True)
    assert served == ["http://ufldl.stanford.edu/housenumbers/test_32x32.mat"] and len(ds) == 2
    monkeypatch.setitem(SVHN.split_list, "test", ("test_32x32.mat", "0" * 32))
    with pytest.raises(RuntimeError, match="does not match the published"):
        SVHN(tmp_path / "e", split="test", download=True)
    assert not (tmp_path / "e" / "test_32x32.mat").exists()


# ---- STL10: binary files -------------------------------------------------------------------------------

def _stl10_files(folder, seed=0, n_train=20, n_test=6, n_unlabeled=5):
    """stl10_binary/ in the published layout: images as 3 column-major 96x96 planes, labels 1..10,
    10 folds of training indices. Returns the images as (N, 3, 96, 96) (torchvision's) and the labels."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for split, n in (("train", n_train), ("test", n_test), ("unlabeled", n_unlabeled)):
        chw = rng.integers(0, 256, (n, 3, 96, 96), dtype=np.uint8)
        (folder / f"{split}_X.bin").write_bytes(chw.transpose(0, 1, 3, 2).tobytes())   # column-major planes
        labels = rng.integers(1, 11, n).astype(np.uint8)
        if split != "unlabeled":
            (folder / f"{split}_y.bin").write_bytes(labels.tobytes())
        out[split] = (chw, labels.astype(np.int64) - 1)
    folds = [rng.choice(n_train, 4, replace=False) for _ in range(10)]
    (folder / "fold_indices.txt").write_text("".join(" ".join(map(str, f)) + " \n" for f in folds))
    return out, folds


def test_stl10_splits_and_folds(tmp_path):
    from convnet.datasets import STL10
    arrays, folds = _stl10_files(tmp_path / "stl10_binary")
    hwc = {k: (v[0].transpose(0, 2, 3, 1), v[1]) for k, v in arrays.items()}
    for split in ("train", "test"):
        ds = STL10(tmp_path, split=split)
        np.testing.assert_array_equal(ds.data, hwc[split][0])
        assert ds.targets.tolist() == hwc[split][1].tolist()
    ds = STL10(tmp_path, split="unlabeled")
    np.testing.assert_array_equal(ds.data, hwc["unlabeled"][0])
    assert ds.targets.tolist() == [-1] * 5
    ds = STL10(tmp_path, split="train", folds=3)
    np.testing.assert_array_equal(ds.data, hwc["train"][0][folds[3]])
    assert ds.targets.tolist() == hwc["train"][1][folds[3]].tolist()
    ds = STL10(tmp_path, split="train+unlabeled", folds=9)
    np.testing.assert_array_equal(ds.data, np.concatenate([hwc["train"][0][folds[9]], hwc["unlabeled"][0]]))
    assert ds.targets.tolist() == hwc["train"][1][folds[9]].tolist() + [-1] * 5
    img, label = STL10(tmp_path / "stl10_binary", split="test")[1]
    np.testing.assert_array_equal(img, arrays["test"][0][1] / np.float32(255))   # torchvision's (3, 96, 96)
    assert label == arrays["test"][1][1]


def test_stl10_download_unpacks_the_archive(tmp_path, monkeypatch):
    from convnet.datasets import STL10
    arrays, _ = _stl10_files(tmp_path / "src" / "stl10_binary")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(tmp_path / "src" / "stl10_binary", arcname="stl10_binary")
    monkeypatch.setattr(STL10, "archive", ("stl10_binary.tar.gz", hashlib.md5(buf.getvalue()).hexdigest()))
    calls = []
    _fake_urlopen(monkeypatch, {"stl10_binary.tar.gz": buf.getvalue()}, calls)
    ds = STL10(tmp_path / "data", split="test", download=True)
    assert calls == ["http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz"]
    np.testing.assert_array_equal(ds.data, arrays["test"][0].transpose(0, 2, 3, 1))
    calls.clear()
    assert len(STL10(tmp_path / "data", split="unlabeled", download=True)) == 5 and calls == []


def test_stl10_errors_name_the_file(tmp_path):
    from convnet.datasets import STL10, STL10Error
    folder = tmp_path / "stl10_binary"
    _stl10_files(folder)
    with pytest.raises(ValueError, match="folds must be None or an int in 0..9"):
        STL10(tmp_path, folds=10)
    with pytest.raises(ValueError, match="split must be one of"):
        STL10(tmp_path, split="val")
    good = (folder / "test_X.bin").read_bytes()
    (folder / "test_X.bin").write_bytes(good[:-100])
    with pytest.raises(STL10Error, match="test_X.bin is truncated.*27648-byte images"):
        STL10(tmp_path, split="test")
    (folder / "test_X.bin").write_bytes(good)
    (folder / "test_y.bin").write_bytes(bytes([1, 2, 3]))
    with pytest.raises(STL10Error, match="test_y.bin holds 3 labels but .*test_X.bin holds 6 images"):
        STL10(tmp_path, split="test")
    (folder / "test_y.bin").write_bytes(bytes([1, 2, 3, 0, 4, 5]))
    with pytest.raises(STL10Error, match="test_y.bin holds label 0 at index 3; STL-10 label files hold 1..10"):
        STL10(tmp_path, split="test")
    for text, message in (("1 2\n3 4\n", "has 2 line.*fold 5"), ("1 2\n" * 5 + "1 x2\n", "line 6 holds 'x2'"),
                          ("1 2\n" * 5 + "1 20\n", "line 6 holds index 20; the training file holds 20 images"),
                          ("1 " * 300, "line 1 is longer than")):
        (folder / "fold_indices.txt").write_text(text)
        with pytest.raises(STL10Error, match=f"fold_indices.txt: {message}" if "has 2" not in message
                           else f"fold_indices.txt {message}"):
            STL10(tmp_path, split="train", folds=5)
    (folder / "unlabeled_X.bin").unlink()
    with pytest.raises(FileNotFoundError, match="'unlabeled' split.*unlabeled_X.bin"):
        STL10(tmp_path, split="unlabeled")


# ---- ImageFolder's file list cache -----------------------------------------------------------------

def _age(root, seconds=60):
    """Sets every folder's modification time `seconds` in the past (a tree written just now is not cached)."""
    t = time.time() - seconds
    for folder, _, _ in os.walk(root):
        os.utime(folder, (t, t))


def test_image_folder_cache_hit_and_invalidation(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVNET_HOME", str(tmp_path / "home"))
    root = tmp_path / "tree"
    for rel in ("b/x/1.png", "b/x/y/2.png", "a/3.png", "a/deep/er/4.jpg", "c/5.png"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"")
    fresh = ImageFolder(root)
    assert not fresh.cache_hit and not os.path.exists(fresh.cache_path), "a tree changed just now is not cached"
    _age(root)
    first = ImageFolder(root)
    assert not first.cache_hit and os.path.isfile(first.cache_path)
    assert os.path.dirname(first.cache_path) == str(tmp_path / "home" / "imagefolder")
    hit = ImageFolder(root)
    assert hit.cache_hit and hit.samples == first.samples == fresh.samples and hit.classes == ["a", "b", "c"]
    assert [os.path.relpath(p, root) for p, _ in hit.samples] == ["a/3.png", "a/deep/er/4.jpg", "b/x/1.png",
                                                                  "b/x/y/2.png", "c/5.png"]
    assert not ImageFolder(root, extensions=(".png",)).cache_hit, "another extension list is another listing"
    assert ImageFolder(root, cache=False).cache_path is None

    def changed(change):
        change()
        ds = ImageFolder(root)
        assert not ds.cache_hit
        assert ds.samples == ImageFolder(root, cache=False).samples
        _age(root)
        assert not ImageFolder(root).cache_hit and ImageFolder(root).cache_hit, "rewritten once the tree is still"
        return [os.path.relpath(p, root) for p, _ in ds.samples]

    assert "b/x/y/new.png" in changed(lambda: (root / "b/x/y/new.png").write_bytes(b""))   # a deep folder
    assert "a/deep/er/4.jpg" not in changed(lambda: (root / "a/deep/er/4.jpg").unlink())
    assert "d/6.png" in changed(lambda: ((root / "d").mkdir(), (root / "d/6.png").write_bytes(b"")))   # a class
    assert "c/5b.png" in changed(lambda: (root / "c/5.png").rename(root / "c/5b.png"))
    # a corrupt cache, or one naming paths outside the root, is ignored and rewritten
    cache = ImageFolder(root).cache_path
    for bad in (b"{not json", b'{"format": 1}', json.dumps({"format": 1, "root": os.path.realpath(root),
                "extensions": list(ImageFolder(root).extensions), "classes": ["../../etc"], "files": [[]],
                "folders": []}).encode()):
        with open(cache, "wb") as f:
            f.write(bad)
        ds = ImageFolder(root)
        assert not ds.cache_hit and ds.classes == ["a", "b", "c", "d"]
        assert ImageFolder(root).cache_hit


def test_image_folder_cache_folder_not_writable(tmp_path, monkeypatch):
    (tmp_path / "home").write_text("a file where the cache folder would be")
    monkeypatch.setenv("CONVNET_HOME", str(tmp_path / "home"))
    _png(tmp_path / "tree" / "a" / "1.png", np.zeros((2, 2, 3), np.uint8))
    _age(tmp_path / "tree")
    ds = ImageFolder(tmp_path / "tree")
    assert len(ds) == 1 and not ds.cache_hit
