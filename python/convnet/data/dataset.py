"""Map-style data sets and their combinations (as torch.utils.data): `Dataset`, `Subset`,
`ConcatDataset` and `random_split`.

A combination keeps the fast paths of a DataLoader where its parts have them:

- parts with `arrays()` (TensorDataset, a data set without a transform): the combination has
  `arrays()` too (the rows gathered or concatenated once, when a DataLoader is made), so its batches
  are gathered and transformed in C++;
- in-memory image data sets (`convnet.datasets.ArrayImageDataset`: MNIST, CIFAR, SVHN, STL10) with the
  same transform: the combination is an ArrayImageDataset whose `data` and `targets` are the rows
  gathered on first use, so the DataLoader runs the parts' convnet transform over whole batches in C++;
- data sets with `load(i)` (ImageFolder) with the same transform: the combination has `load`, so a
  DataLoader decodes on its worker threads.

Gathering copies the rows the combination covers (a Subset of a quarter of CIFAR-10 holds a quarter
of its images again); a combination reads its parts' rows when it is first used, so changing a part's
`data` afterwards is not seen.
"""

import bisect
import itertools
import math
import numbers
import operator
import warnings

import numpy as np

from ..datasets.utils import ArrayImageDataset

__all__ = ["Dataset", "Subset", "ConcatDataset", "random_split"]


class Dataset:
    """Base class of map-style data sets: `__getitem__(i)` returns sample i, `__len__` their number.
    `a + b` is `ConcatDataset([a, b])`."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} does not implement __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


def _plain_image_set(ds):
    """Whether a DataLoader takes `ds` through its ArrayImageDataset path (its own __getitem__)."""
    return isinstance(ds, ArrayImageDataset) and type(ds).__getitem__ is ArrayImageDataset.__getitem__


def _has_arrays(ds):
    return callable(getattr(ds, "arrays", None))


class Subset(Dataset):
    """The samples of `dataset` at `indices` (a sequence of ints), in that order: `subset[i]` is
    `dataset[indices[i]]` (as torch.utils.data.Subset).

    A Subset of an in-memory image data set (MNIST, CIFAR, SVHN, STL10) is itself one (`data`,
    `targets`, `classes`, `transform` are the parent's, gathered on first use); a Subset of a data
    set with `arrays()` or `load(i)` has them too. See the module for what this gives a DataLoader.
    """

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices
        if type(self) is Subset and _plain_image_set(dataset):
            self.__class__ = _ImageSubset

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        if isinstance(index, list):
            return [self.dataset[self.indices[i]] for i in index]
        return self.dataset[self.indices[index]]

    def _index_array(self):
        """The indices as int64, checked against the parent's length."""
        idx = np.asarray(self.indices, dtype=np.int64).reshape(-1)
        n = len(self.dataset)
        bad = (idx < -n) | (idx >= n)
        if bad.any():
            raise IndexError(f"Subset: index {int(idx[np.argmax(bad)])} out of range for a data set of {n} samples")
        return idx

    @property
    def arrays(self):
        """`arrays()`: the parent's arrays at the indices; only when the parent has `arrays()`."""
        if not _has_arrays(self.dataset):
            raise AttributeError(f"Subset of {type(self.dataset).__name__} has no arrays(): its data set has none")
        return lambda: tuple(np.asarray(a)[self._index_array()] for a in self.dataset.arrays())

    @property
    def load(self):
        """`load(i)`: the parent's `load(indices[i])` (decoded, untransformed); only when it has `load`."""
        load = getattr(self.dataset, "load", None)
        if not callable(load):
            raise AttributeError(f"Subset of {type(self.dataset).__name__} has no load(): its data set has none")
        return lambda index: load(self.indices[index])

    @property
    def transform(self):
        """The parent's transform (applied by the parent's `__getitem__`)."""
        return getattr(self.dataset, "transform", None)

    def __repr__(self):
        return f"Subset({len(self)} of {self.dataset!r})"


class _ImageSubset(Subset, ArrayImageDataset):
    """A Subset of an ArrayImageDataset, itself one (see Subset)."""

    _who = "Subset"

    @property
    def data(self):
        if getattr(self, "_data", None) is None:
            self._data = np.ascontiguousarray(self.dataset.data[self._index_array()])
        return self._data

    @property
    def targets(self):
        if getattr(self, "_targets", None) is None:
            self._targets = np.asarray(self.dataset.targets)[self._index_array()]
        return self._targets

    @property
    def classes(self):
        return self.dataset.classes

    # ArrayImageDataset's, not Subset's: a DataLoader recognizes the class by them
    __getitem__ = ArrayImageDataset.__getitem__
    arrays = ArrayImageDataset.arrays
    __len__ = Subset.__len__
    __repr__ = Subset.__repr__


def _common_transform(datasets):
    """(True, transform) if every data set has the same transform object (or none), else (False, None)."""
    ts = [getattr(d, "transform", None) for d in datasets]
    return all(t is ts[0] for t in ts), ts[0]


class ConcatDataset(Dataset):
    """The samples of `datasets` one after the other (as torch.utils.data.ConcatDataset):
    `cumulative_sizes[k]` is the number of samples in the first k + 1 data sets.

    The concatenation of in-memory image data sets with the same transform (and images of one shape)
    is itself one (`data` and `targets` concatenated on first use, `classes` the first's); of data sets
    that all have `arrays()` or all have `load(i)` (with the same transform) has them too. See the
    module for what this gives a DataLoader.
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for k, d in enumerate(self.datasets):
            if not hasattr(d, "__len__") or not hasattr(d, "__getitem__"):
                raise TypeError(f"ConcatDataset: data set {k} ({type(d).__name__}) is not a map-style data set "
                                f"(it needs __len__ and __getitem__)")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))
        if type(self) is ConcatDataset and all(_plain_image_set(d) for d in self.datasets) \
                and _common_transform(self.datasets)[0] \
                and len({(d.data.shape[1:], d.data.dtype) for d in self.datasets}) == 1:
            self.__class__ = _ImageConcat

    def __len__(self):
        return self.cumulative_sizes[-1]

    def _locate(self, index):
        """(data set number, index within it) of sample `index` (negative counts from the end)."""
        i = operator.index(index)
        n = len(self)
        if i < 0:
            if -i > n:
                raise ValueError("ConcatDataset: absolute value of index should not exceed dataset length")
            i += n
        if i >= n:
            raise IndexError(f"ConcatDataset: index {i} out of range for {n} samples")
        k = bisect.bisect_right(self.cumulative_sizes, i)
        return k, i - (self.cumulative_sizes[k - 1] if k else 0)

    def __getitem__(self, index):
        k, i = self._locate(index)
        return self.datasets[k][i]

    @property
    def arrays(self):
        """`arrays()`: the data sets' arrays concatenated; only when every data set has `arrays()`."""
        if not all(_has_arrays(d) for d in self.datasets):
            raise AttributeError("ConcatDataset has no arrays(): not all of its data sets have one")

        def arrays():
            parts = [d.arrays() for d in self.datasets]
            if len({len(p) for p in parts}) != 1:
                raise ValueError(f"ConcatDataset: the data sets' arrays() give {[len(p) for p in parts]} arrays; "
                                 f"expected the same number from each")
            return tuple(np.concatenate([np.asarray(p[j]) for p in parts]) for j in range(len(parts[0])))
        return arrays

    @property
    def load(self):
        """`load(i)`: the `load` of the data set holding sample i; only when every data set has `load`
        and they share one transform."""
        if not (all(callable(getattr(d, "load", None)) for d in self.datasets)
                and _common_transform(self.datasets)[0]):
            raise AttributeError("ConcatDataset has no load(): not all of its data sets have one with the same "
                                 "transform")

        def load(index):
            k, i = self._locate(index)
            return self.datasets[k].load(i)
        return load

    @property
    def transform(self):
        """The data sets' transform when they share one, else None (each applies its own)."""
        same, t = _common_transform(self.datasets)
        return t if same else None

    def __repr__(self):
        return f"ConcatDataset({', '.join(repr(d) for d in self.datasets)})"


class _ImageConcat(ConcatDataset, ArrayImageDataset):
    """A ConcatDataset of ArrayImageDatasets, itself one (see ConcatDataset)."""

    _who = "ConcatDataset"

    @property
    def data(self):
        if getattr(self, "_data", None) is None:
            self._data = np.concatenate([d.data for d in self.datasets])
        return self._data

    @property
    def targets(self):
        if getattr(self, "_targets", None) is None:
            self._targets = np.concatenate([np.asarray(d.targets, dtype=np.int64) for d in self.datasets])
        return self._targets

    @property
    def classes(self):
        return self.datasets[0].classes

    __getitem__ = ArrayImageDataset.__getitem__
    arrays = ArrayImageDataset.arrays
    __len__ = ConcatDataset.__len__
    __repr__ = ConcatDataset.__repr__


def _split_lengths(n, lengths):
    """Counts from `lengths` (counts, or fractions summing to 1 split as torch does: floor(n * f) each,
    then the remainder given out one by one from the first split on)."""
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths should not be empty")
    for i, v in enumerate(lengths):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"random_split: lengths[{i}] is {v!r}; expected an int or a fraction")
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:
        counts = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1")
            counts.append(int(math.floor(n * frac)))
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, c in enumerate(counts):
            if c == 0:
                warnings.warn(f"random_split: length of split at index {i} is 0. This might result in an empty "
                              f"dataset.", UserWarning, stacklevel=3)
        return counts
    for i, v in enumerate(lengths):
        if not isinstance(v, numbers.Integral) or v < 0:
            raise ValueError(f"random_split: lengths[{i}] is {v!r}; lengths are non-negative counts, or fractions "
                             f"that sum to 1")
    if total != n:
        raise ValueError(f"random_split: sum of input lengths ({total}) does not equal the length of the input "
                         f"dataset ({n})")
    return [int(v) for v in lengths]


def random_split(dataset, lengths, generator=None, *, seed=None):
    """Splits `dataset` at random into non-overlapping Subsets of the given `lengths` (as
    torch.utils.data.random_split).

    lengths: counts that sum to len(dataset), or fractions that sum to 1: each split gets
    floor(len * fraction) samples and the remainder is handed out one sample at a time from the first
    split on (torch's rule, so the sizes equal torch's).
    generator / seed: the permutation is drawn from the NumPy Generator `generator`, or from one
    seeded with `seed` (the same seed gives the same split); with neither, from convnet's generator
    (`convnet.manual_seed` makes it reproducible). The permutation itself differs from torch's
    (another generator), the sizes do not.
    """
    counts = _split_lengths(len(dataset), lengths)
    if seed is not None and generator is not None:
        raise ValueError("random_split: pass seed or generator, not both")
    if generator is not None:
        if not isinstance(generator, np.random.Generator):
            raise TypeError(f"random_split: generator must be a numpy.random.Generator, got "
                            f"{type(generator).__name__}")
        rng = generator
    else:
        if seed is None:
            from .. import _core
            seed = _core._draw_seed()
        rng = np.random.default_rng(operator.index(seed))
    order = rng.permutation(sum(counts)).tolist()
    return [Subset(dataset, order[end - c:end]) for end, c in zip(itertools.accumulate(counts), counts)]
