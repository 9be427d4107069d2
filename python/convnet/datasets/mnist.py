"""MNIST and its drop-in relatives FashionMNIST and KMNIST, read from the official IDX files
(pure NumPy and the standard library).

This module imports nothing from convnet's compiled core, so it can be used (and
tested) on its own. The three data sets share one reader and differ only in their
mirrors, checksums, folder names and classes. Layout of the files (all integers big-endian):
  images: 16-byte header (magic 2051 = 0x00000803, count, 28, 28), then count*28*28 uint8 pixels
  labels:  8-byte header (magic 2049 = 0x00000801, count), then count uint8 labels 0..9
"""

import gzip
import os
import zlib

import numpy as np

from .utils import ArrayImageDataset, default_root, fetch

__all__ = ["MNIST", "FashionMNIST", "KMNIST", "IDXError", "MIRRORS", "FILES", "default_root", "read_idx"]

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


class IDXError(ValueError):
    """An MNIST-style IDX file (gzip-compressed or not) is corrupt, truncated or of the wrong kind:
    the message names the file, the field and what was expected."""


# A deflate stream expands at most about 1032-fold: a .gz file whose header declares more data than
# this many times its own size is truncated (checked before decompressing anything past the header).
_MAX_GZIP_RATIO = 1100
_CHUNK = 1 << 20


def read_idx(path, magic, item_dims, who="MNIST"):
    """Reads one unsigned-byte IDX file, gzip-compressed or not, into a uint8 array (count, *item_dims).

    The gzip stream is read incrementally: the header is checked first (magic number, item
    dimensions), and no more data is decompressed than the header declares (plus one byte, to
    find trailing data), so a decompression bomb fails fast. Raises IDXError (a ValueError) naming
    the file and what is wrong with it: not gzip data (a .gz name whose content is not gzip),
    corrupt or truncated gzip data, a wrong magic number, wrong item dimensions, or a size that
    does not match the header's count. `who` names the data set in the messages.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        file_size = os.fstat(f.fileno()).st_size
        signature = f.read(2)
        f.seek(0)
        if signature == _GZIP_SIGNATURE:
            with gzip.GzipFile(fileobj=f, mode="rb") as stream:
                return _read_idx_stream(stream, path, magic, item_dims, who, file_size * _MAX_GZIP_RATIO)
        if path.endswith(".gz"):
            first = f.read(4)
            raise IDXError(f"{who}: {path} is not gzip data (it does not start with the gzip signature "
                           f"1f 8b; its first bytes are {first.hex(' ') or 'missing: the file is empty'})")
        return _read_idx_stream(f, path, magic, item_dims, who, file_size)


def _read_idx_stream(stream, path, magic, item_dims, who, max_size):
    """read_idx over an open byte stream holding at most `max_size` bytes."""
    def read(n):
        chunks, got = [], 0
        try:
            while got < n:
                chunk = stream.read(min(_CHUNK, n - got))
                if not chunk:
                    break
                chunks.append(chunk)
                got += len(chunk)
        except (OSError, EOFError, zlib.error) as e:
            raise IDXError(f"{who}: {path} holds corrupt or truncated gzip data ({e}); "
                           f"replace it with the official file") from None
        return b"".join(chunks)

    ndim = 1 + len(item_dims)
    header = 4 + 4 * ndim
    head = read(4)
    if len(head) < 4:
        raise IDXError(f"{who}: {path} is truncated: {len(head)} byte(s), too short for an IDX header")
    got = int.from_bytes(head, "big")
    if got != magic:
        hint = f"; it looks like {_KIND[got]}" if got in _KIND else ""
        raise IDXError(f"{who}: {path} has a bad magic number {got} (0x{got:08x}), expected {magic} "
                       f"(0x{magic:08x}: {_KIND.get(magic, 'an IDX file')} of unsigned bytes with {ndim} "
                       f"dimension(s)){hint}")
    head += read(header - 4)
    if len(head) < header:
        raise IDXError(f"{who}: {path} is truncated: {len(head)} bytes, shorter than its {header}-byte header")
    count = int.from_bytes(head[4:8], "big")
    dims = tuple(int.from_bytes(head[8 + 4 * i:12 + 4 * i], "big") for i in range(len(item_dims)))
    if dims != tuple(item_dims):
        raise IDXError(f"{who}: {path} has wrong dimensions: its header says items of "
                       f"{'x'.join(map(str, dims))}, expected {'x'.join(map(str, item_dims))}")
    item = int(np.prod(item_dims, dtype=np.int64))
    need = count * item
    if header + need > max_size:
        raise IDXError(f"{who}: {path} is truncated: its header declares {count} item(s) ({need} bytes of data), "
                       f"more than a file of its size can hold")
    raw = read(need)
    if len(raw) < need:
        raise IDXError(f"{who}: {path} is truncated: its header declares {count} item(s) "
                       f"({need} bytes of data) but the file holds {len(raw)} bytes of data")
    if read(1):
        raise IDXError(f"{who}: {path} does not match its header: it declares {count} item(s) "
                       f"({need} bytes of data) but more bytes follow")
    # a writable copy (np.frombuffer over bytes would be read-only)
    return np.frombuffer(raw, np.uint8, count=need).reshape((count,) + tuple(item_dims)).copy()


class MNIST(ArrayImageDataset):
    """The MNIST digits: 60,000 training or 10,000 test images of 28x28 pixels (as torchvision's MNIST).

    root: a folder holding the official files `train-images-idx3-ubyte.gz`,
    `train-labels-idx1-ubyte.gz`, `t10k-images-idx3-ubyte.gz`, `t10k-labels-idx1-ubyte.gz`
    (or uncompressed, without .gz), directly or in `root/mnist/` or `root/MNIST/raw/`
    (FashionMNIST: `root/fashion-mnist/` or `root/FashionMNIST/raw/`; KMNIST: `root/kmnist/` or
    `root/KMNIST/raw/`). None means `default_root()` ($CONVNET_DATA, else ./data).
    train: the 60,000 training images if True, else the 10,000 test images.
    download: fetch missing files from the standard mirrors into `root`, checking their md5.
    transform: applied to each uint8 (28, 28) image by `__getitem__` (and by a DataLoader).

    Attributes: `data` uint8 (N, 28, 28), `targets` int64 (N,), `classes`.
    `ds[i]` is `(image, label)`: image float32 (1, 28, 28) in [0, 1] (or `transform(uint8 image)`),
    label an int. `ds.arrays()` gives the whole set as float32 (N, 1, 28, 28) in [0, 1] and int64 (N,)
    for batched loading; it exists only without a transform (a DataLoader runs a convnet transform over
    each batch of `data` in C++; see ArrayImageDataset).
    """

    mirrors = MIRRORS
    resources = FILES
    file_error = IDXError
    folder = "mnist"            # the lower-case folder name looked for under root
    # mean and standard deviation of the training pixels scaled to [0, 1], for normalizing
    mean = 0.1307
    std = 0.3081
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
               "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root=None, train=True, download=False, transform=None):
        self.root = os.fspath(root) if root is not None else default_root()
        self.train = bool(train)
        self.transform = transform
        self._arrays = None
        split = "train" if self.train else "t10k"
        image_name, label_name = f"{split}-images-idx3-ubyte", f"{split}-labels-idx1-ubyte"
        who = self._who
        names = sorted(self.resources, key=lambda n: (not n.startswith("train"), "labels" in n))
        hint = (f"Place {', '.join(n + '.gz' for n in names)} in {self.root} yourself (or in "
                f"{', '.join(self._search_folders()[1:])}), or set CONVNET_DATA to a folder that holds them.")

        paths = {}
        for name in (image_name, label_name):
            path = self._find(name)
            if path is None and download:
                path = fetch(who, self.mirrors, name + ".gz", self.resources[name][0], self.root, hint)
            if path is None:
                others = ", ".join(self._search_folders()[1:])
                raise FileNotFoundError(
                    f"{who}: {os.path.join(self.root, name + '.gz')} not found (also looked for {name} "
                    f"uncompressed, and in {others}). Pass download=True to fetch the official files, or "
                    f"place {', '.join(n + '.gz' for n in names)} in {self.root}, or set CONVNET_DATA to a "
                    f"folder that holds them.")
            paths[name] = path
        self.images_path, self.labels_path = paths[image_name], paths[label_name]

        res = self.resources
        self.data = read_idx(self.images_path, res[image_name][2], res[image_name][3], who)
        labels = read_idx(self.labels_path, res[label_name][2], res[label_name][3], who)
        if len(labels) != len(self.data):
            raise IDXError(f"{who}: image/label count mismatch: {self.images_path} holds {len(self.data)} "
                             f"images but {self.labels_path} holds {len(labels)} labels")
        self._check_labels(labels, self.labels_path)
        self.targets = labels.astype(np.int64)

    def _search_folders(self):
        """Where the files may lie: root itself, root/<folder>, root/<ClassName>/raw (torchvision's layout)."""
        return [self.root, os.path.join(self.root, self.folder), os.path.join(self.root, self._who, "raw")]

    def _find(self, name):
        """Path of `name`.gz or `name` (uncompressed) in the first folder that has it, else None."""
        for folder in self._search_folders():
            for filename in (name + ".gz", name):
                path = os.path.join(folder, filename)
                if os.path.isfile(path):
                    return path
        return None


def _resources(md5s):
    """FILES-style entries for four .gz md5s (train images, train labels, test images, test labels)."""
    return {name: (md5,) + FILES[name][1:] for name, md5 in zip(FILES, md5s)}


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 28x28 grey images of 10 kinds of clothing, in MNIST's exact file layout
    (as torchvision's FashionMNIST). Arguments and attributes as MNIST's."""

    mirrors = ("https://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
               "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/")
    resources = _resources(("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
                            "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"))
    folder = "fashion-mnist"
    mean = 0.2860
    std = 0.3530
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]


class KMNIST(MNIST):
    """Kuzushiji-MNIST: 28x28 grey images of 10 cursive Japanese characters, in MNIST's exact file
    layout (as torchvision's KMNIST). Arguments and attributes as MNIST's."""

    mirrors = ("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",)
    resources = _resources(("bdb82020997e1d708af4cf47b453dcf7", "e144d726b3acfaa3e44228e80efcd344",
                            "5c965bf0a639b31b8f53240b1b52f4d7", "7320c461ea6c1c855c0b718fb2a4b134"))
    folder = "kmnist"
    mean = 0.1918
    std = 0.3483
    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]
