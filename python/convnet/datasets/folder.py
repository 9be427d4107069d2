"""ImageFolder: one sub-folder per class, each image decoded with Pillow (an optional dependency,
imported only when an image is decoded)."""

import operator
import os
import struct

import numpy as np

from .utils import float_chw

__all__ = ["ImageFolder", "ImageFileError", "IMG_EXTENSIONS"]

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


class ImageFileError(ValueError):
    """An image file cannot be decoded (truncated, corrupt, not an image): the message names the file."""


def _pillow():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("ImageFolder: decoding images needs Pillow, which is not installed; "
                          "pip install pillow (or pip install convnet[images])") from None
    return Image


def decode_image(path, who="ImageFolder"):
    """The image at `path` as uint8 (H, W, 3) RGB. Raises ImageFileError (a ValueError) naming the
    file if Pillow cannot identify or fully decode it (truncated, corrupt, not an image)."""
    Image = _pillow()
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError, ZeroDivisionError,
            OverflowError, struct.error, Image.DecompressionBombError) as e:  # what Pillow raises on corrupt data
        raise ImageFileError(f"{who}: {path} cannot be decoded as an image ({type(e).__name__}: {e}); "
                             f"the file may be truncated or corrupt") from None


class ImageFolder:
    """A data set laid out as root/<class>/<image> (as torchvision's ImageFolder).

    Classes are the sub-folder names in sorted order (`classes`, `class_to_idx`); `samples` lists
    (path, class index) for every file with one of `extensions` (case-insensitive), sorted by class
    then path, searched recursively within each class folder. Images are decoded with Pillow and
    converted to RGB.

    `ds[i]` is `(image, label)`: image float32 (3, H, W) in [0, 1], or `transform(uint8 (H, W, 3) image)`.
    `ds.load(i)` is the decoded uint8 (H, W, 3) image and its label (what a DataLoader's workers call
    before applying a convnet transform).
    """

    def __init__(self, root, transform=None, extensions=IMG_EXTENSIONS):
        self.root = os.fspath(root)
        self.transform = transform
        self.extensions = tuple(e.lower() for e in extensions)
        if not os.path.isdir(self.root):
            raise FileNotFoundError(f"ImageFolder: {self.root} is not a folder; expected root/<class>/<image> "
                                    f"with one sub-folder per class")
        self.classes = sorted(e.name for e in os.scandir(self.root) if e.is_dir())
        if not self.classes:
            raise FileNotFoundError(f"ImageFolder: {self.root} has no sub-folders; expected one sub-folder "
                                    f"per class holding its images")
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self.samples = []
        empty = []
        for c in self.classes:
            found = []
            for folder, _, names in os.walk(os.path.join(self.root, c), followlinks=True):
                found += [os.path.join(folder, n) for n in names if n.lower().endswith(self.extensions)]
            if not found:
                empty.append(c)
            self.samples += [(p, self.class_to_idx[c]) for p in sorted(found)]
        if empty:
            raise FileNotFoundError(f"ImageFolder: no image files in the class folder(s) "
                                    f"{', '.join(os.path.join(self.root, c) for c in empty)}; "
                                    f"the extensions looked for are {', '.join(self.extensions)}")
        self.targets = np.array([t for _, t in self.samples], np.int64)

    def __len__(self):
        return len(self.samples)

    def _index(self, index):
        i = operator.index(index)
        n = len(self.samples)
        if not -n <= i < n:
            raise IndexError(f"ImageFolder: index {i} out of range for {n} images")
        return i

    def load(self, index):
        """(uint8 (H, W, 3) image, label) of sample `index`, decoded but not transformed."""
        path, label = self.samples[self._index(index)]
        return decode_image(path), label

    def __getitem__(self, index):
        img, label = self.load(index)
        if self.transform is not None:
            return self.transform(img), label
        return float_chw(img), label

    def __repr__(self):
        return (f"ImageFolder(root={self.root!r}, {len(self)} images, {len(self.classes)} classes"
                f"{', transform=' + repr(self.transform) if self.transform is not None else ''})")
