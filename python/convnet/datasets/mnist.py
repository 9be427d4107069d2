"""MNIST from the official gzip IDX files (pure NumPy)."""

import gzip
import hashlib
import os
import tempfile
import urllib.request

import numpy as np

MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
           "https://storage.googleapis.com/cvdf-datasets/mnist/")

# name -> (md5 of the .gz file, magic, item dimensions)
FILES = {
    "train-images-idx3-ubyte": ("f68b3c2dcbeaaa9fbdd348bbdeb94873", 2051, (28, 28)),
    "train-labels-idx1-ubyte": ("d53e105ee54ea40749a09fcbcd1e9432", 2049, ()),
    "t10k-images-idx3-ubyte": ("9fb629c4189551a2d022fa330f9573f3", 2051, (28, 28)),
    "t10k-labels-idx1-ubyte": ("ec29112dd5afa0611ce80d1b7f02629c", 2049, ()),
}


def read_idx(path, magic, item_dims):
    """Reads one IDX file (gzip-compressed or raw) into a uint8 array, checking its header."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError) as e:
        raise ValueError(f"MNIST: {path} is not a readable gzip IDX file ({e})") from None
    header = 8 + 4 * len(item_dims)
    if len(raw) < header:
        raise ValueError(f"MNIST: {path} is truncated: {len(raw)} bytes, shorter than the {header}-byte header")
    got = int.from_bytes(raw[0:4], "big")
    if got != magic:
        raise ValueError(f"MNIST: {path} has magic number {got}, expected {magic}")
    count = int.from_bytes(raw[4:8], "big")
    dims = tuple(int.from_bytes(raw[8 + 4 * i:12 + 4 * i], "big") for i in range(len(item_dims)))
    if dims != tuple(item_dims):
        raise ValueError(f"MNIST: {path} holds items of size {dims}, expected {tuple(item_dims)}")
    need = header + count * int(np.prod(item_dims, dtype=np.int64))
    if len(raw) != need:
        raise ValueError(f"MNIST: {path} has {len(raw)} bytes but its header ({count} items) implies "
                         f"{need}: the file is truncated or corrupt")
    return np.frombuffer(raw, np.uint8, offset=header).reshape((count,) + tuple(item_dims))


def _download(folder, name, md5):
    os.makedirs(folder, exist_ok=True)
    errors = []
    for base in MIRRORS:
        url = base + name + ".gz"
        try:
            with urllib.request.urlopen(url, timeout=60) as r:
                data = r.read()
        except OSError as e:
            errors.append(f"{url}: {e}")
            continue
        if hashlib.md5(data).hexdigest() != md5:
            errors.append(f"{url}: md5 mismatch")
            continue
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=name, suffix=".part")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(folder, name + ".gz"))
        return
    raise RuntimeError(f"MNIST: could not download {name}.gz; tried:\n  " + "\n  ".join(errors))


class MNIST:
    """The MNIST digits: 60,000 training or 10,000 test images of 28×28 pixels.

    root: a folder holding the four official files (`train-images-idx3-ubyte.gz`, …),
    directly or under `mnist/` or `MNIST/raw/`. `download=True` fetches missing files
    from the standard mirrors and checks their md5. Items are `(image, label)` with
    the image float32 (1, 28, 28) in [0, 1], or `transform(uint8 (28, 28) array)`.
    """

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root, train=True, download=False, transform=None):
        self.root = os.fspath(root)
        self.train = train
        self.transform = transform
        prefix = "train" if train else "t10k"
        names = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
        folder = self._find_folder(names)
        if folder is None:
            folder = self.root
            if not download:
                missing = os.path.join(self.root, names[0] + ".gz")
                raise FileNotFoundError(
                    f"MNIST: {missing} not found. Pass download=True to fetch the official files, "
                    f"or place train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                    f"t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz in {self.root} "
                    f"(or point CONVNET_DATA at the folder that holds them)")
            for n in names:
                if self._path(folder, n) is None:
                    _download(folder, n, FILES[n][0])
        paths = [self._path(folder, n) for n in names]
        self.data = read_idx(paths[0], FILES[names[0]][1], FILES[names[0]][2])
        labels = read_idx(paths[1], FILES[names[1]][1], FILES[names[1]][2])
        if len(labels) != len(self.data):
            raise ValueError(f"MNIST: {paths[0]} holds {len(self.data)} images but {paths[1]} "
                             f"holds {len(labels)} labels")
        if labels.size and labels.max() > 9:
            raise ValueError(f"MNIST: {paths[1]} holds label {labels.max()}, expected 0..9")
        self.targets = labels.astype(np.int64)
        self._arrays = None

    @staticmethod
    def _path(folder, name):
        for candidate in (name + ".gz", name):
            p = os.path.join(folder, candidate)
            if os.path.exists(p):
                return p
        return None

    def _find_folder(self, names):
        for folder in (self.root, os.path.join(self.root, "mnist"), os.path.join(self.root, "MNIST", "raw")):
            if all(self._path(folder, n) for n in names):
                return folder
        return None

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        img = self.data[i]
        if self.transform is not None:
            return self.transform(img), int(self.targets[i])
        return (img.astype(np.float32) / 255.0)[None], int(self.targets[i])

    def arrays(self):
        """All images as float32 (N, 1, 28, 28) in [0, 1] and labels as int64 (N,)."""
        if self.transform is not None:
            raise ValueError("MNIST.arrays: not available with a transform; iterate the data set instead")
        if self._arrays is None:
            x = (self.data.astype(np.float32) * np.float32(1 / 255.0))[:, None]
            self._arrays = (x, self.targets)
        return self._arrays

    def __repr__(self):
        return f"MNIST(split={'train' if self.train else 'test'}, {len(self)} images, root={self.root!r})"
