"""MNIST handwritten digits, read from the official IDX files (pure NumPy and the standard library).

This module imports nothing from convnet's compiled core, so it can be used (and
tested) on its own. Layout of the files (all integers big-endian):
  images: 16-byte header (magic 2051 = 0x00000803, count, 28, 28), then count*28*28 uint8 pixels
  labels:  8-byte header (magic 2049 = 0x00000801, count), then count uint8 labels 0..9
"""

import gzip
import hashlib
import http.client
import operator
import os
import sys
import tempfile
import urllib.request
import zlib

import numpy as np

__all__ = ["MNIST", "MIRRORS", "FILES", "default_root", "read_idx"]

# Tried in order by download=True.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

# base name -> (md5 of the .gz file, md5 of the decompressed file, magic, dimensions of one item)
FILES = {
    "train-images-idx3-ubyte": ("f68b3c2dcbeaaa9fbdd348bbdeb94873", "6bbc9ace898e44ae57da46a324031adb",
                                2051, (28, 28)),
    "train-labels-idx1-ubyte": ("d53e105ee54ea40749a09fcbcd1e9432", "a25bea736e30d166cdddb491f175f624",
                                2049, ()),
    "t10k-images-idx3-ubyte": ("9fb629c4189551a2d022fa330f9573f3", "2646ac647ad5339dbf082846283269ea",
                               2051, (28, 28)),
    "t10k-labels-idx1-ubyte": ("ec29112dd5afa0611ce80d1b7f02629c", "27ae3e4e09519cfbb04c329615203637",
                               2049, ()),
}

_GZIP_SIGNATURE = b"\x1f\x8b"
_IDX_UBYTE = 0x08
_KIND = {2051: "an image file", 2049: "a label file"}


def default_root():
    """The data folder: $CONVNET_DATA if set, else "./data"."""
    return os.environ.get("CONVNET_DATA") or "./data"


def _search_folders(root):
    """Where the files may lie: root itself, root/mnist, root/MNIST/raw (torchvision's layout)."""
    return [root, os.path.join(root, "mnist"), os.path.join(root, "MNIST", "raw")]


def _find(root, name):
    """Path of `name`.gz or `name` (uncompressed) in the first folder that has it, else None."""
    for folder in _search_folders(root):
        for filename in (name + ".gz", name):
            path = os.path.join(folder, filename)
            if os.path.isfile(path):
                return path
    return None


def read_idx(path, magic, item_dims):
    """Reads one unsigned-byte IDX file, gzip-compressed or not, into a uint8 array (count, *item_dims).

    Raises ValueError naming the file and what is wrong with it: not gzip data (a .gz
    name whose content is not gzip), corrupt or truncated gzip data, a wrong magic
    number, wrong item dimensions, or a size that does not match the header's count.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == _GZIP_SIGNATURE:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise ValueError(f"MNIST: {path} holds corrupt or truncated gzip data ({e}); "
                             f"replace it with the official file") from None
    elif path.endswith(".gz"):
        raise ValueError(f"MNIST: {path} is not gzip data (it does not start with the gzip signature "
                         f"1f 8b; its first bytes are {raw[:4].hex(' ') or 'missing: the file is empty'})")

    ndim = 1 + len(item_dims)
    header = 4 + 4 * ndim
    if len(raw) < 4:
        raise ValueError(f"MNIST: {path} is truncated: {len(raw)} byte(s), too short for an IDX header")
    got = int.from_bytes(raw[:4], "big")
    if got != magic:
        hint = f"; it looks like {_KIND[got]}" if got in _KIND else ""
        raise ValueError(f"MNIST: {path} has a bad magic number {got} (0x{got:08x}), expected {magic} "
                         f"(0x{magic:08x}: {_KIND.get(magic, 'an IDX file')} of unsigned bytes with {ndim} "
                         f"dimension(s)){hint}")
    if len(raw) < header:
        raise ValueError(f"MNIST: {path} is truncated: {len(raw)} bytes, shorter than its {header}-byte header")
    count = int.from_bytes(raw[4:8], "big")
    dims = tuple(int.from_bytes(raw[8 + 4 * i:12 + 4 * i], "big") for i in range(len(item_dims)))
    if dims != tuple(item_dims):
        raise ValueError(f"MNIST: {path} has wrong dimensions: its header says items of "
                         f"{'x'.join(map(str, dims))}, expected {'x'.join(map(str, item_dims))}")
    item = int(np.prod(item_dims, dtype=np.int64))
    need = count * item
    have = len(raw) - header
    if have < need:
        raise ValueError(f"MNIST: {path} is truncated: its header declares {count} item(s) "
                         f"({need} bytes of data) but the file holds {have} bytes of data")
    if have > need:
        raise ValueError(f"MNIST: {path} does not match its header: it declares {count} item(s) "
                         f"({need} bytes of data) but {have - need} more byte(s) follow")
    # a writable copy (np.frombuffer over bytes would be read-only)
    return np.frombuffer(raw, np.uint8, count=need, offset=header).reshape((count,) + tuple(item_dims)).copy()


def _download(folder, name, md5, timeout=60):
    """Fetches `name`.gz from the mirrors into `folder`, checks its md5, writes it atomically."""
    filename = name + ".gz"
    os.makedirs(folder, exist_ok=True)
    tried = []
    for base in MIRRORS:
        url = base + filename
        print(f"MNIST: downloading {url}", file=sys.stderr)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                data = response.read()
        except (OSError, ValueError, http.client.HTTPException) as e:   # URLError, HTTPError, timeouts
            tried.append(f"{url}: {type(e).__name__}: {e}")
            continue
        got = hashlib.md5(data).hexdigest()
        if got != md5:
            tried.append(f"{url}: md5 {got} of the {len(data)} bytes received does not match the published {md5}")
            continue
        target = os.path.join(folder, filename)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{filename}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)   # atomic: readers see the old state or the whole file
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
        return target
    raise RuntimeError(f"MNIST: could not download {filename} into {folder}. Tried:\n  " + "\n  ".join(tried)
                       + f"\nPlace the official {filename} in {folder} yourself, or set CONVNET_DATA to a "
                       f"folder that holds it.")


class MNIST:
    """The MNIST digits: 60,000 training or 10,000 test images of 28x28 pixels (as torchvision's MNIST).

    root: a folder holding the official files `train-images-idx3-ubyte.gz`,
    `train-labels-idx1-ubyte.gz`, `t10k-images-idx3-ubyte.gz`, `t10k-labels-idx1-ubyte.gz`
    (or uncompressed, without .gz), directly or in `root/mnist/` or `root/MNIST/raw/`.
    None means `default_root()` ($CONVNET_DATA, else ./data).
    train: the 60,000 training images if True, else the 10,000 test images.
    download: fetch missing files from the standard mirrors into `root`, checking their md5.
    transform: applied to each uint8 (28, 28) image by `__getitem__`.

    Attributes: `data` uint8 (N, 28, 28), `targets` int64 (N,), `classes`.
    `ds[i]` is `(image, label)`: image float32 (1, 28, 28) in [0, 1] (or `transform(uint8 image)`),
    label an int. `ds.arrays()` gives the whole set as float32 (N, 1, 28, 28) in [0, 1] and int64 (N,)
    for batched loading; it exists only without a transform, so that a DataLoader falls back to
    `__getitem__` (and applies the transform) when one is given.
    """

    mirrors = MIRRORS
    resources = FILES
    # mean and standard deviation of the training pixels scaled to [0, 1], for normalizing
    mean = 0.1307
    std = 0.3081
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
               "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root=None, train=True, download=False, transform=None):
        self.root = os.fspath(root) if root is not None else default_root()
        self.train = bool(train)
        self.transform = transform
        split = "train" if self.train else "t10k"
        image_name, label_name = f"{split}-images-idx3-ubyte", f"{split}-labels-idx1-ubyte"

        paths = {}
        for name in (image_name, label_name):
            path = _find(self.root, name)
            if path is None and download:
                path = _download(self.root, name, FILES[name][0])
            if path is None:
                others = ", ".join(_search_folders(self.root)[1:])
                raise FileNotFoundError(
                    f"MNIST: {os.path.join(self.root, name + '.gz')} not found (also looked for {name} "
                    f"uncompressed, and in {others}). Pass download=True to fetch the official files, or "
                    f"place train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz "
                    f"and t10k-labels-idx1-ubyte.gz in {self.root}, or set CONVNET_DATA to a folder that "
                    f"holds them.")
            paths[name] = path
        self.images_path, self.labels_path = paths[image_name], paths[label_name]

        self.data = read_idx(self.images_path, FILES[image_name][2], FILES[image_name][3])
        labels = read_idx(self.labels_path, FILES[label_name][2], FILES[label_name][3])
        if len(labels) != len(self.data):
            raise ValueError(f"MNIST: image/label count mismatch: {self.images_path} holds {len(self.data)} "
                             f"images but {self.labels_path} holds {len(labels)} labels")
        if labels.size and labels.max() > 9:
            bad = int(np.argmax(labels > 9))
            raise ValueError(f"MNIST: {self.labels_path} holds label {int(labels[bad])} at index {bad}; "
                             f"MNIST labels are 0..9")
        self.targets = labels.astype(np.int64)
        self._arrays = None

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        i = operator.index(index)
        n = len(self.data)
        if not -n <= i < n:
            raise IndexError(f"MNIST: index {i} out of range for {n} images")
        img = self.data[i]
        label = int(self.targets[i])
        if self.transform is not None:
            return self.transform(img), label
        return img[None].astype(np.float32) / np.float32(255), label

    @property
    def arrays(self):
        """`arrays()`: (x float32 (N, 1, 28, 28) in [0, 1], y int64 (N,)), computed once and cached.

        Not available (AttributeError) when a transform is set: the transform applies per item.
        """
        if self.transform is not None:
            raise AttributeError("MNIST.arrays() is not available with a transform; index the data set "
                                 "(ds[i]) to get transformed images")
        return self._all_arrays

    def _all_arrays(self):
        if self._arrays is None:
            x = self.data[:, None].astype(np.float32) / np.float32(255)
            self._arrays = (x, self.targets)
        return self._arrays

    def __repr__(self):
        return (f"MNIST(root={self.root!r}, train={self.train}, {len(self)} images"
                f"{', transform=' + repr(self.transform) if self.transform is not None else ''})")
