"""DataLoader: batches from an array pair, a data set with `arrays()`, an in-memory image data set
(`convnet.datasets.ArrayImageDataset`: MNIST, CIFAR), or any map-style data set (`__len__` and
`__getitem__`).

Two paths:

- Arrays (a tuple of arrays, `TensorDataset`, a data set with `arrays()`, or an `ArrayImageDataset`
  whose transform is a convnet transform and whose `__getitem__` is not overridden): C++ gathers each
  batch's rows from the arrays and runs the image transform pipeline over the batch's uint8 images
  and collates them, with the GIL released.
  `num_workers=0` makes each batch when it is asked for, its images split over the OpenMP threads;
  `num_workers=n` starts n C++ threads for the epoch that make whole batches ahead (at most
  `prefetch_factor * n` beyond the one last delivered), delivered in order.
- A data set with `load(i)` (decoded uint8 image and label, as `ImageFolder`) whose transform is a
  convnet transform or None: `num_workers` Python threads call `load` (Pillow decodes with the GIL
  released) and run the transform over each batch in C++, at most `prefetch_factor * num_workers`
  batches ahead, delivered in order; with `num_workers=0` the main thread does it.
- Any other data set (arbitrary Python `__getitem__`, or a transform with Python callables): samples
  are read in the main thread, whatever `num_workers` is, and stacked; a convnet transform passed to
  the DataLoader itself still runs over the whole batch in C++.

Pinned memory: with `pin_memory=True` each batch is copied into page-locked host memory where it is
made (by the C++ workers on the array path), so that `x.to("cuda", non_blocking=True)` returns at once
and the copy overlaps the GPU's work. Without CUDA the option is ignored, with one warning (as torch).

Collation: by default a batch is a tuple of tensors, one per field. With `collate_fn` (as torch's),
the loader hands it the batch as a list of samples (tuples of fields, after the transforms, which still
run over the whole batch in C++ on the paths above) and yields what it returns; `default_collate` is
torch's default. `collate_fn` runs in the main thread, one batch after another in order, so that what
it draws from convnet's generator (`MixUp`, `CutMix`) is the same for any `num_workers`:
`DataLoader(ds, 64, collate_fn=lambda b: cutmix(*default_collate(b)))`.
`worker_init_fn(worker_id)` is called once per worker id at the start of each epoch (torch starts its
workers each epoch), in the main thread before the workers start: they are threads of this process,
so what it sets up is shared by all of them.

Randomness: each epoch the sampler draws its order, then the loader draws one seed `base` (from
(seed, epoch) when `seed` is given, else from convnet's generator); the sample at position k of the
epoch is transformed with `image_seed(base, k)`, so the batches are bit-identical for any
num_workers. A transform set on a Python data set draws from convnet's generator in `__getitem__`.
"""

import collections
import collections.abc
import itertools
import numbers
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .. import _core
from ..datasets.utils import ArrayImageDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

_tf = _core._transforms


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


def _as_tensor(a):
    """A tensor viewing the array (a copy when the array is read-only or not a batch dtype)."""
    a = _as_batch_array(a)
    return _core.from_numpy(a if a.flags.writeable else a.copy())


def _collate_array(a):
    """A stacked NumPy batch as a tensor of a dtype convnet has (float64 kept, as torch's collate)."""
    if a.dtype == np.float16:
        return a.astype(np.float32)
    if a.dtype.kind in "iu" and a.dtype != np.uint8:
        return a.astype(np.int64)
    return a


def default_collate(batch):
    """Stacks a list of samples into a batch, as torch.utils.data.default_collate: tensors and NumPy
    arrays stack along a new first dimension, numbers become a tensor (int64 for ints, float64 for
    floats, bool for bools), dicts are collated per key, sequences per position (tuples of fields give
    a list, as torch's), strings stay a list."""
    if not len(batch):
        raise ValueError("default_collate: empty batch")
    elem = batch[0]
    if isinstance(elem, (_core.Tensor, np.ndarray, np.generic)):
        arrays = [e.numpy() if isinstance(e, _core.Tensor) else np.asarray(e) for e in batch]
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            raise ValueError(f"default_collate: the samples have different shapes {sorted(shapes)}; stack "
                             f"them with a collate_fn of your own")
        return _core.from_numpy(np.ascontiguousarray(_collate_array(np.stack(arrays))))
    if isinstance(elem, bool):
        return _core.from_numpy(np.array(batch, dtype=np.bool_))
    if isinstance(elem, numbers.Integral):
        return _core.from_numpy(np.array(batch, dtype=np.int64))
    if isinstance(elem, numbers.Real):
        return _core.from_numpy(np.array(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        return {k: default_collate([d[k] for d in batch]) for k in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if len({len(e) for e in batch}) > 1:
            raise RuntimeError("default_collate: each element in list of batch should be of equal size")
        fields = [default_collate(list(s)) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return fields
        try:
            return type(elem)(fields)
        except TypeError:
            return fields
    raise TypeError(f"default_collate: batch must contain tensors, NumPy arrays, numbers, dicts or lists; found "
                    f"{type(elem).__name__}")


def _pinned(out):
    if isinstance(out, _core.Tensor):
        return out.pin_memory()
    if isinstance(out, (tuple, list)):
        return type(out)(_pinned(o) for o in out)
    return out


def _native(t):
    from ..transforms import Compose, Transform
    return isinstance(t, Transform) and (not isinstance(t, Compose) or t.native)


def _pipeline(transforms):
    """One C++ pipeline running the convnet transforms in order."""
    from ..transforms import Compose
    return Compose(transforms)._pipeline()


_warned_no_cuda = False


def _pinning(pin_memory):
    """Whether batches are pinned: pin_memory where CUDA is available; otherwise False, with a
    warning the first time."""
    global _warned_no_cuda
    if not pin_memory:
        return False
    if _core.cuda.is_available():
        return True
    if not _warned_no_cuda:
        _warned_no_cuda = True
        warnings.warn("DataLoader: 'pin_memory' is True but no CUDA device is available; batches are not "
                      "pinned", UserWarning, stacklevel=3)
    return False


def _check_int(v, what, low):
    if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < low:
        bound = "a positive int" if low == 1 else "a non-negative int"
        raise ValueError(f"DataLoader: {what} must be {bound}, got {v!r}")
    return int(v)


class DataLoader:
    """Iterates over `dataset` in batches of `batch_size` as convnet tensors (as torch's DataLoader).

    dataset: a tuple of arrays, a data set with an `arrays()` method, an `ArrayImageDataset`, or a
    map-style data set whose items are tuples (or single arrays).
    shuffle: a RandomSampler (seeded by `seed` when given) instead of the sequential order; sampler: any
    iterable of indices with a length (exclusive with shuffle); batch_sampler: an iterable of lists of
    indices (exclusive with batch_size, shuffle, sampler and drop_last).
    num_workers, prefetch_factor: threads making batches ahead, at most prefetch_factor * num_workers
    (C++ threads on the array path, Python threads for data sets with `load`; see the module).
    seed: makes the shuffle and the augmentation of every epoch reproducible.
    pin_memory: batches in page-locked memory, for asynchronous copies to a GPU (see the module).
    transform: a transform applied to the first field of each sample (the image), after the data set's
    own; a convnet transform runs on the whole batch in C++.
    collate_fn: makes a batch from the list of (transformed) samples, as torch's (see the module);
    worker_init_fn: called with each worker's id at the start of an epoch (see the module).
    Batches: a tuple of tensors, one per field; images are float32 (N, C, H, W) after ToTensor (an
    ArrayImageDataset without a transform gives ToTensor's [0, 1] floats), uint8 (N, H, W, C) without.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None, num_workers=0, *,
                 drop_last=False, prefetch_factor=2, seed=None, transform=None, pin_memory=False, collate_fn=None,
                 worker_init_fn=None):
        if isinstance(dataset, tuple):
            dataset = TensorDataset(*dataset)
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(
                f"DataLoader: expected a tuple of arrays or a data set with __len__ and "
                f"__getitem__, got {type(dataset).__name__}")
        self.num_workers = _check_int(num_workers, "num_workers", 0)
        self.prefetch_factor = _check_int(prefetch_factor, "prefetch_factor", 1)
        if transform is not None and not callable(transform):
            raise TypeError(f"DataLoader: transform must be callable, got {type(transform).__name__}")
        for what, fn in (("collate_fn", collate_fn), ("worker_init_fn", worker_init_fn)):
            if fn is not None and not callable(fn):
                raise TypeError(f"DataLoader: {what} must be callable, got {type(fn).__name__}")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
        else:
            _check_int(batch_size, "batch_size", 1)
            if sampler is not None and shuffle:
                raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
            if sampler is None:
                sampler = RandomSampler(dataset, seed=seed) if shuffle else SequentialSampler(dataset)
            batch_sampler = BatchSampler(sampler, batch_size, bool(drop_last))
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.seed = seed
        self.transform = transform
        self.pin_memory = _pinning(pin_memory)
        self.collate_fn = collate_fn
        self.worker_init_fn = worker_init_fn
        self._epoch = 0
        self._columns = self._array_columns()

    def _array_columns(self):
        """(tensors, pipelines) for the array path, or None for the per-sample path."""
        ds, t = self.dataset, self.transform
        if t is not None and not _native(t):
            return None
        if isinstance(ds, ArrayImageDataset) and type(ds).__getitem__ is ArrayImageDataset.__getitem__:
            data = getattr(ds, "data", None)
            if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim in (3, 4)):
                return None
            if ds.transform is not None and not _native(ds.transform):
                return None
            from ..transforms import ToTensor
            stages = [s for s in (ds.transform, t) if s is not None] or [ToTensor()]
            return [_as_tensor(data), _as_tensor(np.asarray(ds.targets))], [_pipeline(stages), None]
        if not hasattr(ds, "arrays"):
            return None
        arrays = [_as_tensor(a) for a in ds.arrays()]
        return arrays, [_pipeline([t]) if t is not None else None] + [None] * (len(arrays) - 1)

    def __len__(self):
        return len(self.batch_sampler)

    def _epoch_base(self):
        """The seed of this epoch's augmentation."""
        if self.seed is not None:
            base = int(np.random.SeedSequence([int(self.seed), self._epoch, 1]).generate_state(1, np.uint64)[0] >> 1)
        else:
            base = _core._draw_seed()
        self._epoch += 1
        return base

    def __iter__(self):
        batches = [list(b) for b in self.batch_sampler]
        base = self._epoch_base()
        if self.worker_init_fn is not None:
            for worker_id in range(self.num_workers):
                self.worker_init_fn(worker_id)
        if self._columns is not None:
            return self._array_batches(batches, base)
        return self._sample_batches(batches, base)

    def _array_batches(self, batches, base):
        sizes = np.fromiter((len(b) for b in batches), np.int64, len(batches))
        indices = np.fromiter(itertools.chain.from_iterable(batches), np.int64, int(sizes.sum()))
        tensors, pipelines = self._columns
        collate = self.collate_fn
        it = _tf.BatchIterator(tensors, pipelines, indices, sizes, base, self.num_workers,
                               max(1, self.prefetch_factor * self.num_workers), self.pin_memory and collate is None)
        try:
            for batch in it:
                if collate is None:
                    yield batch
                    continue
                out = collate(list(zip(*(t.numpy() for t in batch))))
                yield _pinned(out) if self.pin_memory else out
        finally:
            it.close()

    def _per_sample(self):
        """(get item, C++ pipeline for field 0 or None, Python transform for field 0 or None, threaded)."""
        ds, t = self.dataset, self.transform
        load = getattr(ds, "load", None)
        own = getattr(ds, "transform", None)
        if callable(load) and (own is None or _native(own)) and (t is None or _native(t)):
            from ..transforms import ToTensor
            return load, _pipeline([s for s in (own, t) if s is not None] or [ToTensor()]), None, True
        if t is not None and _native(t):
            return ds.__getitem__, _pipeline([t]), None, False
        return ds.__getitem__, None, t, False

    def _sample_batches(self, batches, base):
        get, pipe, py_transform, threaded = self._per_sample()

        def item(i):
            try:
                return get(int(i))
            except Exception as e:
                msg = f"DataLoader: data set index {int(i)}: {e}"
                try:
                    err = type(e)(msg)
                except Exception:
                    raise RuntimeError(msg) from e
                raise err from e

        def make(idx, first):
            samples = [item(i) for i in idx]
            single = not isinstance(samples[0], (tuple, list))
            if single:
                samples = [(s,) for s in samples]
            fields = [[s[k] for s in samples] for k in range(len(samples[0]))]
            if pipe is not None:
                fields[0] = pipe.batch([np.asarray(a) for a in fields[0]], base, first, True, [int(i) for i in idx])
            elif py_transform is not None:
                fields[0] = [py_transform(a) for a in fields[0]]
            if self.collate_fn is not None:  # samples for the collate_fn, called in order by the main thread
                if isinstance(fields[0], _core.Tensor):
                    fields[0] = list(fields[0].numpy())
                return [f[0] for f in zip(*fields)] if single else list(zip(*fields))
            out = tuple(f if isinstance(f, _core.Tensor) else _core.from_numpy(_as_batch_array(
                np.stack([a.numpy() if isinstance(a, _core.Tensor) else np.asarray(a) for a in f])))
                        for f in fields)
            if self.pin_memory:
                out = tuple(t.pin_memory() for t in out)
            return out[0] if single else out

        def deliver(batch):
            if self.collate_fn is None:
                return batch
            out = self.collate_fn(batch)
            return _pinned(out) if self.pin_memory else out

        firsts = itertools.accumulate((len(b) for b in batches), initial=0)
        jobs = zip(batches, firsts)
        if not (threaded and self.num_workers > 0):
            for idx, first in jobs:
                yield deliver(make(idx, first))
            return
        pool = ThreadPoolExecutor(self.num_workers, thread_name_prefix="DataLoader")
        pending = collections.deque(pool.submit(make, *job)
                                    for job in itertools.islice(jobs, self.prefetch_factor * self.num_workers))
        try:
            while pending:
                batch = pending.popleft().result()
                job = next(jobs, None)
                if job is not None:
                    pending.append(pool.submit(make, *job))
                yield deliver(batch)
        finally:
            for f in pending:
                f.cancel()
            pool.shutdown(wait=True)
