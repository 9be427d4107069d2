"""ImageFolder: one sub-folder per class, each image decoded with Pillow (an optional dependency,
imported only when an image is decoded).

File list cache: listing a tree of many files (a million ImageNet images, or a network file system)
takes seconds to minutes, so ImageFolder keeps the list it found in
`cache_home()/imagefolder/<hash of the root and extensions>.json`, written atomically, with the
modification time (ns) of every folder of the tree. A later ImageFolder over the same root takes the
list from the cache when every folder still has its recorded time (adding, removing or renaming an
entry changes its folder's time), which costs one stat per folder instead of a listing; otherwise it
lists the tree again and rewrites the cache. A folder changed less than `RACY_SECONDS` before the listing
could change again within its time stamp's resolution unseen, so such a listing is not cached.
A cache that cannot be read or written is ignored.
"""

import hashlib
import json
import operator
import os
import struct
import time

import numpy as np

from .utils import _write_atomically, cache_home, float_chw

__all__ = ["ImageFolder", "ImageFileError", "IMG_EXTENSIONS"]

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
RACY_SECONDS = 2.0
_CACHE_FORMAT = 1


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
    then path, searched recursively within each class folder (following links). Images are decoded
    with Pillow and converted to RGB.

    cache: take the file list from the cache when the tree has not changed since it was written, and
    write it after a listing (see the module; `cache_path` is its file, `cache_hit` whether it was used).

    `ds[i]` is `(image, label)`: image float32 (3, H, W) in [0, 1], or `transform(uint8 (H, W, 3) image)`.
    `ds.load(i)` is the decoded uint8 (H, W, 3) image and its label (what a DataLoader's workers call
    before applying a convnet transform).
    """

    def __init__(self, root, transform=None, extensions=IMG_EXTENSIONS, cache=True):
        self.root = os.fspath(root)
        self.transform = transform
        self.extensions = tuple(e.lower() for e in extensions)
        if not os.path.isdir(self.root):
            raise FileNotFoundError(f"ImageFolder: {self.root} is not a folder; expected root/<class>/<image> "
                                    f"with one sub-folder per class")
        self.cache_path = _cache_path(self.root, self.extensions) if cache else None
        listing = _read_cache(self.cache_path, self.root, self.extensions) if cache else None
        self.cache_hit = listing is not None
        if listing is None:
            listing = _list_tree(self.root, self.extensions)
            if cache:
                _write_cache(self.cache_path, self.root, self.extensions, listing)
        self.classes, files, _ = listing
        if not self.classes:
            raise FileNotFoundError(f"ImageFolder: {self.root} has no sub-folders; expected one sub-folder "
                                    f"per class holding its images")
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        empty = [c for c, found in zip(self.classes, files) if not found]
        if empty:
            raise FileNotFoundError(f"ImageFolder: no image files in the class folder(s) "
                                    f"{', '.join(os.path.join(self.root, c) for c in empty)}; "
                                    f"the extensions looked for are {', '.join(self.extensions)}")
        prefix = os.path.join(self.root, "")   # root and a separator: prefix + rel is os.path.join(root, rel)
        self.samples = [(prefix + rel, k) for k, found in enumerate(files) for rel in found]
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


def _list_tree(root, extensions):
    """(classes, files of each class (paths relative to root, sorted), [(folder relative to root, mtime_ns)])."""
    folders = [(".", os.stat(root).st_mtime_ns)]
    classes = sorted(e.name for e in os.scandir(root) if e.is_dir())
    files = []
    for c in classes:
        top = os.path.join(root, c)
        found = []
        for folder, _, names in os.walk(top, followlinks=True):
            rel = os.path.join(c, folder[len(top) + 1:]) if folder != top else c
            folders.append((rel, os.stat(folder).st_mtime_ns))
            rel += os.sep
            found += [rel + n for n in names if n.lower().endswith(extensions)]
        found.sort()
        files.append(found)
    return classes, files, folders


def _cache_path(root, extensions):
    key = json.dumps([os.path.realpath(root), list(extensions)])
    return os.path.join(cache_home(), "imagefolder", hashlib.sha256(key.encode()).hexdigest()[:32] + ".json")


def _read_cache(path, root, extensions):
    """The listing stored at `path` if it is for this root and extensions and every folder it lists still
    has its recorded modification time; else None."""
    try:
        with open(path, "rb") as f:
            d = json.load(f)
        if (d["format"], d["root"], d["extensions"]) != (_CACHE_FORMAT, os.path.realpath(root), list(extensions)):
            return None
        classes, joined, folders = d["classes"], d["files"], [tuple(x) for x in d["folders"]]
        if len(joined) != len(classes) or not all(_inside(c) for c in classes):
            return None
        files = [j.split("\0") if j else [] for j in joined]
        # every file of a class lies in its folder: the NUL-separated string holds a "<class>/" per file
        if not all(j.startswith(c + os.sep) and j.count("\0" + c + os.sep) == len(found) - 1
                   for c, j, found in zip(classes, joined, files) if j):
            return None
        prefix = os.path.join(root, "")
        for rel, mtime in folders:
            if os.stat(prefix + rel).st_mtime_ns != mtime:
                return None
        return classes, files, folders
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _inside(name):
    """Whether `name` is the name of a folder inside the root (a cache names no class outside it)."""
    return isinstance(name, str) and name not in ("", ".", "..") and os.sep not in name


def _write_cache(path, root, extensions, listing):
    """Stores `listing` at `path`, unless one of its folders changed within RACY_SECONDS of now."""
    classes, files, folders = listing
    if max(m for _, m in folders) > time.time_ns() - int(RACY_SECONDS * 1e9):
        return
    # each class's files as one string, separated by NUL (which no path holds): far quicker to parse
    d = {"format": _CACHE_FORMAT, "root": os.path.realpath(root), "extensions": list(extensions),
         "classes": classes, "files": ["\0".join(found) for found in files], "folders": folders}
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        _write_atomically(os.path.dirname(path), os.path.basename(path), json.dumps(d).encode())
    except OSError:
        pass
