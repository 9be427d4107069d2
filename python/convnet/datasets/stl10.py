"""STL-10, read from the official binary files (pure NumPy and the standard library).

Layout of stl10_binary/ (the unpacked stl10_binary.tar.gz):
  train_X.bin, test_X.bin, unlabeled_X.bin: images one after the other, 3 * 96 * 96 uint8 each: the red,
      green and blue planes, each 96x96 in column-major order (column by column);
  train_y.bin, test_y.bin: one uint8 label 1..10 per image;
  fold_indices.txt: 10 lines, each the 0-based indices into the training images of one fold of 1,000,
      separated by spaces.
"""

import os

import numpy as np

from .utils import ArrayImageDataset, default_root, extract_tar, fetch

__all__ = ["STL10", "STL10Error"]

IMAGE_BYTES = 3 * 96 * 96
_CHUNK_IMAGES = 1024


class STL10Error(ValueError):
    """An STL-10 file is truncated, corrupt, or does not match its companion file: the message names
    the file and what was expected."""


class STL10(ArrayImageDataset):
    """STL-10: 96x96 colour images in 10 classes (as torchvision's STL10): 5,000 labelled training
    images (in 10 predefined folds of 1,000), 8,000 test images and 100,000 unlabelled images.

    root: a folder holding `stl10_binary/` (or its files directly). None means `default_root()`.
    split: "train", "test", "unlabeled" or "train+unlabeled" (the training images, then the unlabelled
    ones).
    folds: None for all training images, or 0..9 for the training images of that fold
    (fold_indices.txt); only with the splits that hold training images.
    transform: applied to each uint8 (96, 96, 3) image by `__getitem__` (and by a DataLoader).
    download: fetch and unpack stl10_binary.tar.gz (2.6 GB) from the official site into `root` if the
    split's files are missing, checking its md5.

    Attributes: `data` uint8 (N, 96, 96, 3) (HWC, as convnet's other image sets; torchvision's STL10
    keeps (N, 3, 96, 96)), `targets` int64 (N,): 0..9, and -1 for the unlabelled images (as
    torchvision), `classes`. The unlabelled split takes 2.8 GB of memory.
    Raises STL10Error (a ValueError) naming the file if a file is truncated, its labels are out of range,
    or images and labels do not match.
    """

    file_error = STL10Error
    base_folder = "stl10_binary"
    url = "http://ai.stanford.edu/~acoates/stl10/"
    archive = ("stl10_binary.tar.gz", "91f7769df0f17e558f3565bffb0c7dfb")
    folds_file = "fold_indices.txt"
    splits = {"train": [("train_X.bin", "train_y.bin")], "test": [("test_X.bin", "test_y.bin")],
              "unlabeled": [("unlabeled_X.bin", None)],
              "train+unlabeled": [("train_X.bin", "train_y.bin"), ("unlabeled_X.bin", None)]}
    classes = ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"]

    def __init__(self, root=None, split="train", folds=None, transform=None, download=False):
        self.root = os.fspath(root) if root is not None else default_root()
        if split not in self.splits:
            raise ValueError(f"STL10: split must be one of {', '.join(map(repr, self.splits))}, got {split!r}")
        if folds is not None and (isinstance(folds, bool) or not isinstance(folds, int) or not 0 <= folds <= 9):
            raise ValueError(f"STL10: folds must be None or an int in 0..9, got {folds!r}")
        self.split, self.folds = split, folds
        self.transform = transform
        self._arrays = None
        names = [n for pair in self.splits[split] for n in pair if n] + ([self.folds_file] if folds is not None
                                                                          and split.startswith("train") else [])
        folder = self._locate(names)
        if folder is None and download:
            path = fetch("STL10", (self.url,), self.archive[0], self.archive[1], self.root,
                         "Or " + self._hint(names))
            extract_tar("STL10", path, self.root)
            folder = self._locate(names)
        if folder is None:
            raise FileNotFoundError(f"STL10: the files of the {split!r} split are not under {self.root}. Pass "
                                    f"download=True to fetch them, or {self._hint(names)}")
        self.folder = folder
        parts = []
        for images_name, labels_name in self.splits[split]:
            x_path = os.path.join(folder, images_name)
            count = _image_count(x_path)
            if labels_name is None:
                parts.append((x_path, None, np.full(count, -1, np.int64)))
                continue
            y_path = os.path.join(folder, labels_name)
            labels = _read_labels(y_path, count, x_path)
            select = None
            if folds is not None:
                select = _read_fold(os.path.join(folder, self.folds_file), folds, count)
                labels = labels[select]
            parts.append((x_path, select, labels))
        self.targets = np.concatenate([labels for _, _, labels in parts])
        self.data = np.empty((len(self.targets), 96, 96, 3), np.uint8)
        start = 0
        for x_path, select, labels in parts:
            _read_images(x_path, self.data[start:start + len(labels)], select)
            start += len(labels)

    def _locate(self, names):
        for folder in (os.path.join(self.root, self.base_folder), self.root):
            if all(os.path.isfile(os.path.join(folder, n)) for n in names):
                return folder
        return None

    def _hint(self, names):
        return (f"unpack {self.archive[0]} so that {os.path.join(self.root, self.base_folder)} holds "
                f"{', '.join(names)}, or set CONVNET_DATA to a folder that holds them.")


def _image_count(path):
    size = os.path.getsize(path)
    if size % IMAGE_BYTES:
        raise STL10Error(f"STL10: {path} is truncated or not an STL-10 image file: {size} bytes is not a whole "
                         f"number of {IMAGE_BYTES}-byte images (3x96x96; {size // IMAGE_BYTES} whole image(s) and "
                         f"{size % IMAGE_BYTES} byte(s) left over)")
    return size // IMAGE_BYTES


def _read_labels(path, count, images_path):
    """Labels 0..9 from a file of `count` uint8 labels 1..10."""
    size = os.path.getsize(path)
    if size != count:
        raise STL10Error(f"STL10: {path} holds {size} labels but {images_path} holds {count} images; expected one "
                         f"uint8 label per image")
    raw = np.fromfile(path, np.uint8, count)
    bad = (raw < 1) | (raw > 10)
    if bad.any():
        j = int(np.argmax(bad))
        raise STL10Error(f"STL10: {path} holds label {raw[j]} at index {j}; STL-10 label files hold 1..10")
    return raw.astype(np.int64) - 1


def _read_fold(path, fold, count):
    """The indices of line `fold` of fold_indices.txt, checked to lie in 0..count-1."""
    limit = 8 * count + 64   # one line: at most count indices of up to 7 characters and a separator
    with open(path, "rb") as f:
        for k in range(fold + 1):
            line = f.readline(limit)
            if not line:
                raise STL10Error(f"STL10: {path} has {k} line(s); expected 10 lines, one per fold (fold {fold} "
                                 f"was asked for)")
            if len(line) == limit and not line.endswith(b"\n"):
                raise STL10Error(f"STL10: {path}: line {k + 1} is longer than {limit} bytes; expected at most "
                                 f"{count} indices")
    words = line.split()
    if not all(w.isdigit() for w in words):
        bad = next(w for w in words if not w.isdigit())
        raise STL10Error(f"STL10: {path}: line {fold + 1} holds {bad[:20].decode('latin-1')!r}; expected 0-based "
                         f"image indices separated by spaces")
    idx = [int(w) for w in words]
    bad = next((i for i in idx if i >= count), None)
    if bad is not None:
        raise STL10Error(f"STL10: {path}: line {fold + 1} holds index {bad}; the training file holds {count} "
                         f"images (indices 0..{count - 1})")
    return np.array(idx, np.int64)


def _read_images(path, out, select=None):
    """Fills `out` uint8 (n, 96, 96, 3) from the images of `path` (all of them, or those at `select`)."""
    with open(path, "rb") as f:
        if select is not None:
            raw = np.fromfile(f, np.uint8).reshape(-1, 3, 96, 96)
            out[:] = raw[select].transpose(0, 3, 2, 1)
            return
        buf = np.empty((_CHUNK_IMAGES, 3, 96, 96), np.uint8)
        for s in range(0, len(out), _CHUNK_IMAGES):
            k = min(_CHUNK_IMAGES, len(out) - s)
            got = f.readinto(memoryview(buf[:k]).cast("B"))
            if got != k * IMAGE_BYTES:
                raise STL10Error(f"STL10: {path} ended early: {s * IMAGE_BYTES + got} bytes read, expected "
                                 f"{len(out) * IMAGE_BYTES}")
            out[s:s + k] = buf[:k].transpose(0, 3, 2, 1)   # (channel, column, row) -> (row, column, channel)
