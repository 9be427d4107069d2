"""Pieces shared by the data sets: the data folder, checked and atomic downloads, archive
extraction, and the base class of data sets held in memory as uint8 arrays.

Pure NumPy and the standard library: nothing here needs convnet's compiled core.
"""

import hashlib
import http.client
import operator
import os
import sys
import tarfile
import tempfile
import urllib.request

import numpy as np

__all__ = ["default_root", "cache_home", "fetch", "extract_tar", "float_chw", "ArrayImageDataset"]


def default_root():
    """The data folder: $CONVNET_DATA if set, else "./data"."""
    return os.environ.get("CONVNET_DATA") or "./data"


def cache_home():
    """convnet's cache folder (pretrained weights, file lists): $CONVNET_HOME if set, else
    $XDG_CACHE_HOME/convnet, else ~/.cache/convnet."""
    return os.path.expanduser(os.environ.get("CONVNET_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache"), "convnet"))


def _write_atomically(folder, filename, data):
    """Writes `data` to folder/filename through a temporary file and a rename: readers see
    the old state or the whole file, never a part."""
    target = os.path.join(folder, filename)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{filename}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return target


def fetch(who, mirrors, filename, md5, folder, hint, timeout=60):
    """Fetches `filename` from the first of `mirrors` (base URLs) that serves it with the published
    `md5`, and writes it atomically into `folder`. Raises RuntimeError listing every URL tried and
    why it failed, followed by `hint` (where to put the file by hand). `who` names the data set."""
    os.makedirs(folder, exist_ok=True)
    tried = []
    for base in mirrors:
        url = base + filename
        print(f"{who}: downloading {url}", file=sys.stderr)
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
        return _write_atomically(folder, filename, data)
    raise RuntimeError(f"{who}: could not download {filename} into {folder}. Tried:\n  " + "\n  ".join(tried)
                       + f"\n{hint}")


def extract_tar(who, path, folder):
    """Extracts the tar archive `path` into `folder`, refusing members that would land outside it."""
    try:
        with tarfile.open(path) as tar:
            tar.extractall(folder, filter="data")
    except (tarfile.TarError, OSError, EOFError) as e:
        raise ValueError(f"{who}: {path} is not a readable tar archive ({type(e).__name__}: {e}); "
                         f"delete it and download it again") from None


def float_chw(images, batched=False):
    """uint8 (H, W) / (H, W, C) images (one, or N of them if `batched`) -> float32 (C, H, W) in [0, 1]."""
    x = images.astype(np.float32) / np.float32(255)
    if images.ndim == (3 if batched else 2):
        return x[:, None] if batched else x[None]
    return np.ascontiguousarray(np.moveaxis(x, -1, -3))


class ArrayImageDataset:
    """A data set held in memory: `data` uint8 (N, H, W) or (N, H, W, C) images, `targets` int64 (N,).

    `ds[i]` is `(image, label)`: image float32 (C, H, W) in [0, 1], or `transform(uint8 image)` when
    a transform is set (the uint8 image is (H, W) or (H, W, C) as stored); label an int.
    `ds.arrays()` gives the whole set as float32 (N, C, H, W) in [0, 1] and int64 (N,); it exists only
    without a transform. A DataLoader reads `data` and `targets` directly: it gathers each batch's uint8
    images and runs a convnet transform (ToTensor without one) over the batch in C++.
    Subclasses set `data`, `targets`, `classes` and `self.transform`, and name themselves in `_who`.
    """

    file_error = ValueError  # the ValueError subclass its readers raise for a bad file

    classes = []
    transform = None

    @property
    def _who(self):
        return type(self).__name__

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        i = operator.index(index)
        n = len(self.data)
        if not -n <= i < n:
            raise IndexError(f"{self._who}: index {i} out of range for {n} images")
        img = self.data[i]
        label = int(self.targets[i])
        if self.transform is not None:
            return self.transform(img), label
        return float_chw(img, batched=False), label

    @property
    def arrays(self):
        """`arrays()`: (x float32 (N, C, H, W) in [0, 1], y int64 (N,)), computed once and cached.

        Not available (AttributeError) when a transform is set: the transform applies per item.
        """
        if self.transform is not None:
            raise AttributeError(f"{self._who}.arrays() is not available with a transform; index the data "
                                 f"set (ds[i]) to get transformed images")
        return self._all_arrays

    def _all_arrays(self):
        if getattr(self, "_arrays", None) is None:
            self._arrays = (float_chw(self.data, batched=True), self.targets)
        return self._arrays

    def _check_labels(self, labels, path, num_classes=None):
        """Raises self.file_error naming `path` if a label is outside 0..num_classes-1."""
        k = len(self.classes) if num_classes is None else num_classes
        bad = (labels < 0) | (labels >= k)
        if bad.any():
            j = int(np.argmax(bad))
            raise self.file_error(f"{self._who}: {path} holds label {int(labels[j])} at index {j}; "
                                  f"{self._who} labels are 0..{k - 1}")

    def __repr__(self):
        split = "" if not hasattr(self, "train") else f", train={self.train}"
        return (f"{self._who}(root={self.root!r}{split}, {len(self)} images"
                f"{', transform=' + repr(self.transform) if self.transform is not None else ''})")
