"""SVHN, the Street View House Numbers in their cropped-digits form, read from the official MATLAB 5
files (pure NumPy and the standard library: `matfile.read_mat`, no SciPy).

Each of train_32x32.mat, test_32x32.mat and extra_32x32.mat holds two variables: `X`, uint8
(32, 32, 3, N) (row, column, channel, image; column-major), and `y`, (N, 1) labels 1..10 where 10 is
the digit 0 (stored as double values, possibly in a smaller integer storage type).
"""

import os

import numpy as np

from .matfile import MatError, read_mat
from .utils import ArrayImageDataset, default_root, fetch

__all__ = ["SVHN"]

_CHUNK_IMAGES = 4096


class SVHN(ArrayImageDataset):
    """SVHN digits: 73,257 training, 26,032 test or 531,131 extra colour images of 32x32 pixels
    (as torchvision's SVHN).

    root: a folder holding `train_32x32.mat`, `test_32x32.mat` or `extra_32x32.mat` (directly or in
    root/svhn/). None means `default_root()` ($CONVNET_DATA, else ./data).
    split: "train", "test" or "extra".
    download: fetch the split's file from the official site into `root` if it is missing, checking its md5.
    transform: applied to each uint8 (32, 32, 3) image by `__getitem__` (and by a DataLoader).

    Attributes: `data` uint8 (N, 32, 32, 3) (HWC, as convnet's other image sets; torchvision's SVHN keeps
    (N, 3, 32, 32)), `targets` int64 (N,) with the digit 0 as label 0 (the files' 10, mapped as
    torchvision does), `classes`. `ds[i]` and `ds.arrays()` as for CIFAR10.
    Raises MatError (a ValueError) naming the file if it is truncated, corrupt, or its variables are not
    the expected arrays.
    """

    file_error = MatError
    url = "http://ufldl.stanford.edu/housenumbers/"
    split_list = {"train": ("train_32x32.mat", "e26dedcc434d2e4c54c9b2d4a06d8373"),
                  "test": ("test_32x32.mat", "eb5a983be6a315427106f1b164d9cef3"),
                  "extra": ("extra_32x32.mat", "a93ce644f1a588dc4d68dda5feec44a7")}
    classes = [str(d) for d in range(10)]

    def __init__(self, root=None, split="train", transform=None, download=False):
        self.root = os.fspath(root) if root is not None else default_root()
        if split not in self.split_list:
            raise ValueError(f"SVHN: split must be one of {', '.join(map(repr, self.split_list))}, got {split!r}")
        self.split = split
        self.transform = transform
        self._arrays = None
        filename, md5 = self.split_list[split]
        folders = (self.root, os.path.join(self.root, "svhn"))
        path = next((p for p in (os.path.join(d, filename) for d in folders) if os.path.isfile(p)), None)
        hint = f"Place {filename} in {self.root} yourself, or set CONVNET_DATA to a folder that holds it."
        if path is None and download:
            path = fetch("SVHN", (self.url,), filename, md5, self.root, hint)
        if path is None:
            raise FileNotFoundError(f"SVHN: {os.path.join(self.root, filename)} not found (also looked in "
                                    f"{folders[1]}). Pass download=True to fetch it from {self.url}, or place "
                                    f"{filename} in {self.root}, or set CONVNET_DATA to a folder that holds it.")
        self.path = path
        self.data, self.targets = self._read(path)

    def _read(self, path):
        """(uint8 (N, 32, 32, 3) images, int64 (N,) labels 0..9) from one SVHN .mat file."""
        found = read_mat(path, ("X", "y"), "SVHN")
        missing = [k for k in ("X", "y") if k not in found]
        if missing:
            raise MatError(f"SVHN: {path} has no variable {' or '.join(map(repr, missing))}; an SVHN file holds "
                           f"X (32x32x3xN uint8 images) and y (N labels)")
        x, y = found["X"], found["y"]
        if x.dtype != np.uint8 or x.ndim != 4 or x.shape[:3] != (32, 32, 3):
            raise MatError(f"SVHN: {path}: X is a {x.dtype} array of dimensions {'x'.join(map(str, x.shape))}, "
                           f"expected uint8 32x32x3xN")
        n = x.shape[3]
        if y.size != n or (y.ndim == 2 and 1 not in y.shape) or y.ndim > 2:
            raise MatError(f"SVHN: {path}: y has dimensions {'x'.join(map(str, y.shape))}, expected {n}x1 "
                           f"(one label per image of X)")
        y = y.reshape(-1)
        bad = (y != np.floor(y)) | (y < 1) | (y > 10) if y.dtype.kind == "f" else (y < 1) | (y > 10)
        if bad.any():
            j = int(np.argmax(bad))
            raise MatError(f"SVHN: {path}: y holds {y[j]} at index {j}; SVHN labels are 1..10 (10 for the digit 0)")
        labels = y.astype(np.int64) % 10
        return _hwc_in_place(x), labels


def _hwc_in_place(x):
    """uint8 (32, 32, 3, N) column-major -> (N, 32, 32, 3) C order in the same memory (chunk by chunk:
    each image's 3072 bytes stay where they are)."""
    planes = x.T                                      # (N, 3, 32, 32): image, channel, column, row
    out = planes.reshape(len(planes), 32, 32, 3)      # the same bytes as (N, row, column, channel)
    for s in range(0, len(planes), _CHUNK_IMAGES):
        out[s:s + _CHUNK_IMAGES] = planes[s:s + _CHUNK_IMAGES].transpose(0, 3, 2, 1).copy()
    return out
