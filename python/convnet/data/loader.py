"""DataLoader: batches from an array pair, a data set with `arrays()`, or any
map-style data set (`__len__` and `__getitem__`)."""

import numpy as np

from .. import _core


class TensorDataset:
    """Samples are the i-th rows of each array (NumPy arrays or tensors)."""

    def __init__(self, *arrays):
        arrays = [a.numpy() if isinstance(a, _core.Tensor) else np.asarray(a) for a in arrays]
        if not arrays:
            raise ValueError("TensorDataset: at least one array is required")
        n = len(arrays[0])
        for i, a in enumerate(arrays):
            if len(a) != n:
                raise ValueError(
                    f"TensorDataset: array {i} has {len(a)} rows, expected {n} (shape {a.shape})")
        self._arrays = tuple(arrays)

    def __len__(self):
        return len(self._arrays[0])

    def __getitem__(self, i):
        return tuple(a[i] for a in self._arrays)

    def arrays(self):
        return self._arrays


def _as_batch_array(a):
    a = np.ascontiguousarray(a)
    if a.dtype == np.float64 or a.dtype == np.float16:
        return a.astype(np.float32)
    if a.dtype.kind in "iu" and a.dtype != np.uint8:
        return a.astype(np.int64)
    return a


class DataLoader:
    """Iterates over `dataset` in batches of `batch_size` as convnet tensors.

    dataset: a tuple `(x, y)` of arrays, a data set with an `arrays()` method,
    or a map-style data set whose items are `(x, y)` pairs. With `shuffle`, each
    epoch draws a new permutation: from `seed` and the epoch number when a seed is
    given, otherwise from convnet's global generator (`convnet.manual_seed`).
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if isinstance(dataset, tuple):
            dataset = TensorDataset(*dataset)
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(
                f"DataLoader: expected a tuple of arrays or a data set with __len__ and "
                f"__getitem__, got {type(dataset).__name__}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        self._epoch = 0
        self._arrays = None
        if hasattr(dataset, "arrays"):
            self._arrays = tuple(_as_batch_array(a) for a in dataset.arrays())

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self):
        n = len(self.dataset)
        if not self.shuffle:
            return None
        if self.seed is not None:
            rng = np.random.default_rng([self.seed, self._epoch])
        else:
            rng = np.random.default_rng(_core._draw_seed())
        return rng.permutation(n)

    def __iter__(self):
        order = self._order()
        self._epoch += 1
        n = len(self.dataset)
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            end = min(start + self.batch_size, n)
            idx = order[start:end] if order is not None else None
            if self._arrays is not None:
                parts = [a[idx] if idx is not None else a[start:end] for a in self._arrays]
            else:
                rows = idx if idx is not None else range(start, end)
                samples = [self.dataset[int(i)] for i in rows]
                parts = [_as_batch_array(np.stack([np.asarray(s[k]) for s in samples]))
                         for k in range(len(samples[0]))]
            yield tuple(_core.from_numpy(np.ascontiguousarray(p)) for p in parts)
