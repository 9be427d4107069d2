"""convnet.datasets.MNIST: the real files (where present) and small IDX files written here.

The real files are looked for in $CONVNET_DATA, else in <repo>/../shared/data (directly
or in its mnist/ folder); those tests skip with a reason where they are missing. The
malformed-file and download tests use tiny files in the exact IDX gzip layout and always run.
"""

import gzip
import hashlib
import io
import os
import pathlib
import subprocess
import sys
import urllib.error

import numpy as np
import pytest

import convnet.datasets.mnist as mnist
import convnet.datasets.utils as dsutils

from conftest import data_root as _data_root
from opcheck import msg

MNIST_PY = pathlib.Path(mnist.__file__)
MNIST = mnist.MNIST

TRAIN_HIST = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_HIST = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
DECOMPRESSED_MD5 = {"train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
                    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
                    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
                    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637"}
GZ_MD5 = {"train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
          "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
          "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
          "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c"}


# ---- the real files --------------------------------------------------------------------------------

def _real_folder():
    """The folder that holds the four real .gz files, or None."""
    root = _data_root()
    for folder in (root, root / "mnist", root / "MNIST" / "raw"):
        if all((folder / f"{name}.gz").is_file() for name in GZ_MD5):
            return folder
    return None


needs_data = pytest.mark.skipif(_real_folder() is None,
                                reason=f"MNIST files not found under {_data_root()} (set CONVNET_DATA)")


@pytest.fixture(scope="module")
def train_set():
    return MNIST(str(_data_root()), train=True)


@pytest.fixture(scope="module")
def test_set():
    return MNIST(str(_data_root()), train=False)


@needs_data
@pytest.mark.parametrize("split", ["train", "test"])
def test_real_counts_shapes_dtypes_histograms(split, train_set, test_set):
    ds, n, hist = (train_set, 60000, TRAIN_HIST) if split == "train" else (test_set, 10000, TEST_HIST)
    assert len(ds) == n
    assert ds.data.shape == (n, 28, 28) and ds.data.dtype == np.uint8
    assert ds.targets.shape == (n,) and ds.targets.dtype == np.int64
    assert np.bincount(ds.targets, minlength=10).tolist() == hist, f"{split} label histogram"
    assert ds.data.min() == 0 and ds.data.max() == 255
    assert len(ds.classes) == 10 and ds.classes[0] == "0 - zero" and ds.classes[9] == "9 - nine"


@needs_data
def test_real_first_labels(train_set, test_set):
    assert train_set.targets[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert test_set.targets[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


@needs_data
@pytest.mark.parametrize("split", ["train", "test"])
def test_real_parsed_bytes_match_published_md5(split, train_set, test_set):
    """The parsed arrays, with their IDX headers put back, are byte-identical to the official files."""
    ds, prefix = (train_set, "train") if split == "train" else (test_set, "t10k")
    n = len(ds).to_bytes(4, "big")
    images = (2051).to_bytes(4, "big") + n + (28).to_bytes(4, "big") * 2 + ds.data.tobytes()
    labels = (2049).to_bytes(4, "big") + n + ds.targets.astype(np.uint8).tobytes()
    assert hashlib.md5(images).hexdigest() == DECOMPRESSED_MD5[f"{prefix}-images-idx3-ubyte"]
    assert hashlib.md5(labels).hexdigest() == DECOMPRESSED_MD5[f"{prefix}-labels-idx1-ubyte"]
    for name in (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"):
        gz = (_real_folder() / f"{name}.gz").read_bytes()
        assert hashlib.md5(gz).hexdigest() == GZ_MD5[name], f"{name}.gz: md5 differs from the published one"


@needs_data
def test_real_items_and_arrays(test_set):
    x, y = test_set.arrays()
    assert x.shape == (10000, 1, 28, 28) and x.dtype == np.float32
    assert y.shape == (10000,) and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    assert test_set.arrays()[0] is x, "arrays() should be cached"
    for i in (0, 1234, 9999, -1):
        img, label = test_set[i]
        assert img.shape == (1, 28, 28) and img.dtype == np.float32
        assert type(label) is int and label == y[i]
        assert np.array_equal(img, x[i])
        assert np.array_equal(np.round(img[0] * 255).astype(np.uint8), test_set.data[i])
    with pytest.raises(IndexError):
        test_set[10000]


@needs_data
def test_real_transform_gets_uint8_image():
    ds = MNIST(str(_real_folder()), train=False, transform=lambda a: (a.dtype, a.shape, int(a.max())))
    (dtype, shape, top), label = ds[0]
    assert (dtype, shape, top, label) == (np.uint8, (28, 28), 255, 7)
    assert not hasattr(ds, "arrays"), "with a transform, a DataLoader must fall back to __getitem__"


@needs_data
def test_real_layouts(tmp_path):
    """root may hold the files directly, or in mnist/ or MNIST/raw/ (links here; nothing is copied)."""
    folder = _real_folder()
    assert len(MNIST(str(folder), train=False)) == 10000
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / f"{name}.gz").symlink_to(folder / f"{name}.gz")
    ds = MNIST(tmp_path, train=False)
    assert len(ds) == 10000 and np.bincount(ds.targets).tolist() == TEST_HIST


# ---- tiny files in the exact IDX layout ------------------------------------------------------------

def _idx_bytes(magic, dims, payload):
    return b"".join(int(v).to_bytes(4, "big") for v in (magic,) + tuple(dims)) + bytes(payload)


def _write(path, raw, gz=True):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


TINY_IMAGES = (np.arange(3 * 28 * 28) % 256).astype(np.uint8).reshape(3, 28, 28)
TINY_LABELS = np.array([3, 0, 9], np.uint8)


def _tiny(folder, split="t10k", gz=True, images=None, labels=None):
    """Writes a valid 3-image set (or the given raw file contents) and returns the two paths."""
    suffix = ".gz" if gz else ""
    ip = _write(folder / f"{split}-images-idx3-ubyte{suffix}",
                images if images is not None else _idx_bytes(2051, (3, 28, 28), TINY_IMAGES.tobytes()), gz)
    lp = _write(folder / f"{split}-labels-idx1-ubyte{suffix}",
                labels if labels is not None else _idx_bytes(2049, (3,), TINY_LABELS.tobytes()), gz)
    return ip, lp


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("layout", [".", "mnist", "MNIST/raw"])
def test_tiny_valid_file_parses(tmp_path, gz, layout):
    _tiny(tmp_path / layout, gz=gz)
    ds = MNIST(tmp_path, train=False)
    assert len(ds) == 3
    assert ds.data.dtype == np.uint8 and np.array_equal(ds.data, TINY_IMAGES)
    assert ds.targets.dtype == np.int64 and ds.targets.tolist() == [3, 0, 9]
    img, label = ds[2]
    assert label == 9 and img.shape == (1, 28, 28) and img.dtype == np.float32
    assert np.array_equal(img[0], TINY_IMAGES[2].astype(np.float32) / np.float32(255))
    x, y = ds.arrays()
    assert x.shape == (3, 1, 28, 28) and x.dtype == np.float32 and 0 <= x.min() and x.max() == 1.0
    assert y.dtype == np.int64 and y.tolist() == [3, 0, 9]
    assert np.array_equal(x[2], img)


def test_tiny_train_split_and_transform(tmp_path):
    _tiny(tmp_path, split="train")
    ds = MNIST(str(tmp_path), train=True, transform=lambda a: a.sum(dtype=np.int64))
    assert ds[1] == (int(TINY_IMAGES[1].sum(dtype=np.int64)), 0)
    with pytest.raises(AttributeError, match="transform"):
        ds.arrays()
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
        MNIST(str(tmp_path), train=False)


def _value_error(tmp_path, filename, match=None, **files):
    with pytest.raises(ValueError) as e:
        MNIST(tmp_path, train=False)
    msg = str(e.value)
    assert filename in msg, f"the error should name {filename}: {msg}"
    if match:
        assert match in msg.lower(), f"the error should say {match!r}: {msg}"
    return msg


def test_bad_magic(tmp_path):
    _tiny(tmp_path, images=_idx_bytes(2049, (3, 28, 28), TINY_IMAGES.tobytes()))
    _value_error(tmp_path, "t10k-images-idx3-ubyte.gz", "magic")


def test_swapped_files_bad_magic(tmp_path):
    _tiny(tmp_path, labels=_idx_bytes(2051, (3, 28, 28), TINY_IMAGES.tobytes()))
    msg = _value_error(tmp_path, "t10k-labels-idx1-ubyte.gz", "magic")
    assert "image file" in msg


def test_wrong_dims(tmp_path):
    _tiny(tmp_path, images=_idx_bytes(2051, (3, 27, 28), TINY_IMAGES.tobytes()[:3 * 27 * 28]))
    _value_error(tmp_path, "t10k-images-idx3-ubyte.gz", "dimensions")


def test_truncated_data(tmp_path):
    _tiny(tmp_path, images=_idx_bytes(2051, (3, 28, 28), TINY_IMAGES.tobytes())[:-5])
    _value_error(tmp_path, "t10k-images-idx3-ubyte.gz", "truncated")


def test_truncated_header(tmp_path):
    _tiny(tmp_path, labels=_idx_bytes(2049, (3,), b"")[:6])
    _value_error(tmp_path, "t10k-labels-idx1-ubyte.gz", "truncated")


def test_header_count_larger_than_data(tmp_path):
    _tiny(tmp_path, labels=_idx_bytes(2049, (5,), TINY_LABELS.tobytes()))
    _value_error(tmp_path, "t10k-labels-idx1-ubyte.gz", "truncated")


def test_trailing_bytes(tmp_path):
    _tiny(tmp_path, labels=_idx_bytes(2049, (3,), TINY_LABELS.tobytes() + b"\x01\x02"))
    _value_error(tmp_path, "t10k-labels-idx1-ubyte.gz", "header")


def test_truncated_gzip_stream(tmp_path):
    ip, _ = _tiny(tmp_path)
    ip.write_bytes(ip.read_bytes()[:-20])
    _value_error(tmp_path, "t10k-images-idx3-ubyte.gz", "gzip")


def test_not_gzip_data(tmp_path):
    _tiny(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(_idx_bytes(2051, (3, 28, 28), TINY_IMAGES.tobytes()))
    _value_error(tmp_path, "t10k-images-idx3-ubyte.gz", "not gzip")


def test_empty_file(tmp_path):
    _tiny(tmp_path, gz=False, labels=b"")
    _value_error(tmp_path, "t10k-labels-idx1-ubyte", "truncated")


def test_image_label_count_mismatch(tmp_path):
    _tiny(tmp_path, labels=_idx_bytes(2049, (2,), TINY_LABELS[:2].tobytes()))
    msg = _value_error(tmp_path, "t10k-images-idx3-ubyte.gz", "mismatch")
    assert "t10k-labels-idx1-ubyte.gz" in msg and "3" in msg and "2" in msg


def test_label_out_of_range(tmp_path):
    _tiny(tmp_path, labels=_idx_bytes(2049, (3,), bytes([1, 12, 3])))
    msg = _value_error(tmp_path, "t10k-labels-idx1-ubyte.gz", "0..9")
    assert "12" in msg


@pytest.mark.parametrize("missing", ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"])
def test_missing_file(tmp_path, missing):
    _tiny(tmp_path)
    (tmp_path / missing).unlink()
    with pytest.raises(FileNotFoundError) as e:
        MNIST(tmp_path, train=False)
    msg = str(e.value)
    assert str(tmp_path / missing) in msg
    assert "download=True" in msg and "CONVNET_DATA" in msg


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.gz"):
        MNIST(tmp_path / "nowhere")


def test_default_root(monkeypatch):
    monkeypatch.setenv("CONVNET_DATA", "/some/where")
    assert mnist.default_root() == "/some/where"
    monkeypatch.delenv("CONVNET_DATA")
    assert mnist.default_root() == "./data"


def test_package_imports_no_compiled_code():
    """convnet.datasets loads on its own, as a package outside convnet, with NumPy and the standard
    library only (Pillow is imported only when ImageFolder decodes an image)."""
    folder = MNIST_PY.parent
    code = ("import importlib.util, sys\n"
            f"spec = importlib.util.spec_from_file_location('ds', {str(folder / '__init__.py')!r}, "
            f"submodule_search_locations=[{str(folder)!r}])\n"
            "m = importlib.util.module_from_spec(spec); sys.modules['ds'] = m; spec.loader.exec_module(m)\n"
            "assert m.MNIST and m.CIFAR10 and m.ImageFolder\n"
            "bad = [k for k in sys.modules if k.split('.')[0] in ('convnet', 'torch', 'PIL')]\n"
            "assert not bad, bad\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


# ---- download (urlopen replaced: no network) -------------------------------------------------------

@pytest.fixture
def tiny_remote(tmp_path, monkeypatch):
    """Tiny .gz files served by a fake urlopen; FILES holds their md5s. Returns (files, calls)."""
    src = tmp_path / "remote"
    _tiny(src)
    files = {p.name: p.read_bytes() for p in src.iterdir()}
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        md5 = hashlib.md5(files[name + ".gz"]).hexdigest()
        monkeypatch.setitem(mnist.FILES, name, (md5,) + tuple(mnist.FILES[name][1:]))
    calls = []
    return files, calls


def _serve(monkeypatch, files, calls, broken=()):
    def fake_urlopen(url, timeout=None):
        calls.append(url)
        for base, how in broken:
            if url.startswith(base):
                if how == "network":
                    raise urllib.error.URLError("Temporary failure in name resolution")
                return io.BytesIO(b"<html>not the file</html>")
        return io.BytesIO(files[url.rsplit("/", 1)[1]])
    monkeypatch.setattr(dsutils.urllib.request, "urlopen", fake_urlopen)


def test_download_falls_back_to_second_mirror_and_writes_atomically(tmp_path, monkeypatch, tiny_remote):
    files, calls = tiny_remote
    _serve(monkeypatch, files, calls, broken=[(mnist.MIRRORS[0], "md5")])
    root = tmp_path / "data"
    ds = MNIST(root, train=False, download=True)
    assert ds.targets.tolist() == [3, 0, 9] and np.array_equal(ds.data, TINY_IMAGES)
    assert sorted(p.name for p in root.iterdir()) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"], \
        "only the two files, no temporary files left behind"
    assert calls == [m + f for f in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz") for m in mnist.MIRRORS]
    calls.clear()
    MNIST(root, train=False, download=True)
    assert calls == [], "files already present are not downloaded again"


@pytest.mark.parametrize("how", ["network", "md5"])
def test_download_failure_names_the_urls(tmp_path, monkeypatch, tiny_remote, how):
    files, calls = tiny_remote
    _serve(monkeypatch, files, calls, broken=[(m, how) for m in mnist.MIRRORS])
    root = tmp_path / "data"
    with pytest.raises(RuntimeError) as e:
        MNIST(root, train=False, download=True)
    msg = str(e.value)
    for m in mnist.MIRRORS:
        assert m + "t10k-images-idx3-ubyte.gz" in msg
    assert ("md5" if how == "md5" else "name resolution") in msg
    assert list(root.iterdir()) == [], "nothing is written when every mirror fails"


def test_mnist_missing_directory(tmp_path):
    missing = tmp_path / "no-such-folder"
    with pytest.raises(FileNotFoundError, match=msg("MNIST:", str(missing / "train-images-idx3-ubyte.gz"),
                                                    "not found", "download=True", "CONVNET_DATA")):
        MNIST(missing)
    with pytest.raises(FileNotFoundError, match=msg("MNIST:", "t10k-images-idx3-ubyte.gz", "not found")):
        MNIST(missing, train=False)
