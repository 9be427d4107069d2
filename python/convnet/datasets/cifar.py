"""CIFAR-10 and CIFAR-100 in either of the two published layouts (pure NumPy and the standard library).

Python layout (cifar-10-batches-py/, cifar-100-python/): each file is a pickled dict (written by
Python 2, so its keys are bytes) with b"data", a uint8 array (n, 3072) whose rows hold the red, green
and blue 32x32 planes one after the other, and b"labels" (CIFAR-10) or b"fine_labels" and
b"coarse_labels" (CIFAR-100), lists of n ints. The pickles are read with an unpickler that builds
only NumPy arrays, lists, dicts and strings: a file cannot run code.

Binary layout (cifar-10-batches-bin/, cifar-100-binary/): fixed-size records, one per image: the
label byte (CIFAR-10) or the coarse then the fine label byte (CIFAR-100), then the 3072 pixel bytes
in the same plane order.
"""

import io
import os
import pickle
import pickletools

import numpy as np

from .utils import ArrayImageDataset, default_root, extract_tar, fetch

__all__ = ["CIFAR10", "CIFAR100", "CIFARError"]

PIXELS = 3 * 32 * 32
MIRRORS = ("https://www.cs.toronto.edu/~kriz/",)


class CIFARError(ValueError):
    """A CIFAR batch file (pickle or binary records) is corrupt, truncated or of another kind: the
    message names the file and what was expected."""


class _ArraysOnly(pickle.Unpickler):
    """Builds NumPy arrays and plain containers only; any other global is refused."""

    allowed = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar"), ("_codecs", "encode")}  # protocol 2 from Python 3

    def find_class(self, module, name):
        if (module, name) in self.allowed:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"the pickle refers to {module}.{name}, which a CIFAR batch never holds")


# A CIFAR batch pickle memoizes a handful of objects; the unpickler sizes its memo by the largest index
# (a mutated LONG_BINPUT 175399797 made it allocate 1.4 GB), so larger indices are refused first.
_MAX_MEMO = 1 << 16


def _check_memo(raw, path, who):
    """Raises CIFARError if the pickle `raw` is malformed or uses memo indices past _MAX_MEMO."""
    try:
        for op, arg, _ in pickletools.genops(raw):
            if op.name in ("PUT", "BINPUT", "LONG_BINPUT", "GET", "BINGET", "LONG_BINGET") and arg > _MAX_MEMO:
                raise CIFARError(f"{who}: {path} is not a CIFAR batch pickle: it uses memo index {arg}, expected at "
                                 f"most {_MAX_MEMO}")
    except (ValueError, TypeError, IndexError, OverflowError) as e:
        if isinstance(e, CIFARError):
            raise
        raise CIFARError(f"{who}: {path} is not a readable CIFAR batch pickle ({type(e).__name__}: {e}); "
                         f"the file may be truncated or of another kind") from None


def _text_keys(d):
    return {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in d.items()}


class CIFAR10(ArrayImageDataset):
    """CIFAR-10: 50,000 training or 10,000 test colour images of 32x32 pixels in 10 classes
    (as torchvision's CIFAR10).

    root: a folder holding `cifar-10-batches-py/` (data_batch_1 … data_batch_5, test_batch) or
    `cifar-10-batches-bin/` (data_batch_1.bin … data_batch_5.bin, test_batch.bin), or those files
    directly. None means `default_root()` ($CONVNET_DATA, else ./data).
    train: the training batches if True, else the test batch.
    download: fetch and unpack the archive of `layout` (python when None) from the official site
    into `root` if neither layout is there, checking its md5.
    transform: applied to each uint8 (32, 32, 3) image by `__getitem__` (and by a DataLoader).
    layout: "python" or "binary" to insist on one layout; None takes the python layout if present,
    else the binary one.

    Attributes: `data` uint8 (N, 32, 32, 3) (HWC, as torchvision), `targets` int64 (N,), `classes`.
    `ds[i]` and `ds.arrays()` as for MNIST: float32 (3, 32, 32) in [0, 1], or `transform(uint8 image)`.
    """

    file_error = CIFARError

    folders = {"python": "cifar-10-batches-py", "binary": "cifar-10-batches-bin"}
    files = {"python": {True: [f"data_batch_{i}" for i in range(1, 6)], False: ["test_batch"]},
             "binary": {True: [f"data_batch_{i}.bin" for i in range(1, 6)], False: ["test_batch.bin"]}}
    archives = {"python": ("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a"),
                "binary": ("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530")}
    label_keys = ("labels",)          # keys of the label lists in a python-layout dict: the target first
    mirrors = MIRRORS
    mean = (0.4914, 0.4822, 0.4465)   # per-channel statistics of the training pixels in [0, 1]
    std = (0.2470, 0.2435, 0.2616)
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

    def __init__(self, root=None, train=True, download=False, transform=None, layout=None):
        self.root = os.fspath(root) if root is not None else default_root()
        self.train = bool(train)
        self.transform = transform
        self._arrays = None
        if layout not in (None, "python", "binary"):
            raise ValueError(f"{self._who}: layout must be 'python', 'binary' or None, got {layout!r}")
        found = self._locate(layout)
        if found is None and download:
            name, md5 = self.archives[layout or "python"]
            archive = fetch(self._who, self.mirrors, name, md5, self.root, "Or " + self._hint(layout))
            extract_tar(self._who, archive, self.root)
            found = self._locate(layout)
        if found is None:
            raise FileNotFoundError(f"{self._who}: no {' or '.join(self._layouts(layout))} files for the "
                                    f"{'training' if self.train else 'test'} split under {self.root}. "
                                    f"Pass download=True to fetch them, or {self._hint(layout)}")
        self.layout, folder = found
        self.paths = [os.path.join(folder, f) for f in self.files[self.layout][self.train]]
        read = self._read_python if self.layout == "python" else self._read_binary
        parts = [read(p) for p in self.paths]
        planes = np.concatenate([d for d, _ in parts]) if parts else np.empty((0, PIXELS), np.uint8)
        labels = np.concatenate([l for _, l in parts], axis=0)
        self.data = np.ascontiguousarray(planes.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        self.targets = labels[:, 0].astype(np.int64)
        self._extra_labels(labels)

    def _extra_labels(self, labels):
        """Labels beyond the target (CIFAR-100's coarse labels)."""

    @staticmethod
    def _layouts(layout):
        return [layout] if layout else ["python", "binary"]

    def _hint(self, layout):
        ways = [f"unpack {self.archives[l][0]} so that {os.path.join(self.root, self.folders[l])} holds "
                f"{', '.join(self.files[l][True] + self.files[l][False])}" for l in self._layouts(layout)]
        return "put the files in place yourself: " + "; or ".join(ways) + \
            ". Or set CONVNET_DATA to a folder that holds them."

    def _locate(self, layout):
        """(layout, folder) of the first layout whose files for this split are all present, else None."""
        for l in self._layouts(layout):
            for folder in (os.path.join(self.root, self.folders[l]), self.root):
                if all(os.path.isfile(os.path.join(folder, f)) for f in self.files[l][self.train]):
                    return l, folder
        return None

    def _read_python(self, path):
        """(data uint8 (n, 3072), labels int64 (n, len(label_keys))) from one pickled batch."""
        who = self._who
        with open(path, "rb") as f:
            raw = f.read()
        _check_memo(raw, path, who)
        try:
            d = _ArraysOnly(io.BytesIO(raw), encoding="bytes").load()
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
                LookupError, MemoryError, ImportError, SystemError, OverflowError, RecursionError) as e:
            raise CIFARError(f"{who}: {path} is not a readable CIFAR batch pickle ({type(e).__name__}: {e}); "
                             f"the file may be truncated or of another kind") from None
        if not isinstance(d, dict):
            raise CIFARError(f"{who}: {path} holds a pickled {type(d).__name__}, expected a dict with "
                             f"b'data' and {' and '.join('b' + repr(k) for k in self.label_keys)}")
        d = _text_keys(d)
        missing = [k for k in ("data",) + self.label_keys if k not in d]
        if missing:
            raise CIFARError(f"{who}: {path} lacks the key(s) {', '.join('b' + repr(k) for k in missing)}; "
                             f"its keys are {sorted(d)}")
        data = d["data"]
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != PIXELS:
            desc = f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
            raise CIFARError(f"{who}: {path}: b'data' is a {desc}, expected a uint8 array (n, {PIXELS})")
        cols = []
        for k in self.label_keys:
            try:
                lab = np.asarray(d[k], dtype=np.int64).reshape(-1)
            except (TypeError, ValueError) as e:
                raise CIFARError(f"{who}: {path}: b'{k}' is not a list of ints ({e})") from None
            if len(lab) != len(data):
                raise CIFARError(f"{who}: {path}: b'data' holds {len(data)} images but b'{k}' holds "
                                 f"{len(lab)} labels")
            cols.append(lab)
        labels = np.stack(cols, axis=1)
        self._check_label_columns(labels, path)
        return data, labels

    def _read_binary(self, path):
        """(data uint8 (n, 3072), labels int64 (n, len(label_keys))) from one file of binary records."""
        who = self._who
        nl = len(self.label_keys)
        record = nl + PIXELS
        raw = np.fromfile(path, dtype=np.uint8)
        if raw.size == 0:
            raise CIFARError(f"{who}: {path} is empty; expected {record}-byte records "
                             f"({nl} label byte(s) then {PIXELS} pixel bytes)")
        if raw.size % record:
            raise CIFARError(f"{who}: {path} is truncated or not a CIFAR binary file: {raw.size} bytes is not "
                             f"a whole number of {record}-byte records ({raw.size // record} whole record(s) "
                             f"and {raw.size % record} byte(s) left over)")
        rec = raw.reshape(-1, record)
        # the binary files put the target label last (CIFAR-100: coarse, then fine)
        labels = rec[:, nl - 1::-1].astype(np.int64)
        self._check_label_columns(labels, path)
        return rec[:, nl:], labels

    def _check_label_columns(self, labels, path):
        self._check_labels(labels[:, 0], path)


class CIFAR100(CIFAR10):
    """CIFAR-100: 50,000 training or 10,000 test colour images of 32x32 pixels in 100 classes, grouped
    into 20 superclasses (as torchvision's CIFAR100). Arguments as CIFAR10's; the folders are
    `cifar-100-python/` (train, test) and `cifar-100-binary/` (train.bin, test.bin).

    `targets` are the 100 fine labels; `coarse_targets` int64 (N,) the 20 superclass labels.
    """

    folders = {"python": "cifar-100-python", "binary": "cifar-100-binary"}
    files = {"python": {True: ["train"], False: ["test"]},
             "binary": {True: ["train.bin"], False: ["test.bin"]}}
    archives = {"python": ("cifar-100-python.tar.gz", "eb9058c3a382ffc7106e4002c42a8d85"),
                "binary": ("cifar-100-binary.tar.gz", "03b5dce01913d631647c71ecec9e9cb8")}
    label_keys = ("fine_labels", "coarse_labels")
    mean = (0.5071, 0.4865, 0.4409)
    std = (0.2673, 0.2564, 0.2762)
    num_coarse = 20
    classes = [
        "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
        "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
        "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
        "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
        "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle",
        "mountain", "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear",
        "pickup_truck", "pine_tree", "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon",
        "ray", "road", "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail",
        "snake", "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone",
        "television", "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale",
        "willow_tree", "wolf", "woman", "worm"]

    def _extra_labels(self, labels):
        self.coarse_targets = labels[:, 1].astype(np.int64)

    def _check_label_columns(self, labels, path):
        self._check_labels(labels[:, 0], path)
        self._check_labels(labels[:, 1], path, self.num_coarse)
