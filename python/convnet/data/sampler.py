"""Samplers: the order in which a DataLoader visits a data set's indices (as torch.utils.data).

Randomness: a sampler with a `seed` draws epoch e's order from NumPy's generator seeded with
(seed, e), counting its own epochs (DistributedSampler: the epoch given to `set_epoch`, as torch);
with a NumPy `generator` it draws from that generator; otherwise it draws one seed per epoch from
convnet's generator (`convnet.manual_seed`).
"""

import math
import numbers
import os

import numpy as np

from .. import _core

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler", "DistributedSampler"]


def _positive_int(v, who, what, allow_none=False):
    if v is None and allow_none:
        return None
    if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v <= 0:
        raise ValueError(f"{who}: {what} should be a positive integer value, but got {what}={v!r}")
    return int(v)


class Sampler:
    """Base class: `__iter__` yields data set indices, `__len__` says how many."""

    def __iter__(self):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError


class _EpochRng:
    """NumPy generators for successive epochs from a seed, a NumPy generator, or convnet's generator."""

    def __init__(self, seed, generator, who):
        if seed is not None and generator is not None:
            raise ValueError(f"{who}: pass seed or generator, not both")
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(f"{who}: generator must be a numpy.random.Generator, got {type(generator).__name__}")
        self.seed, self.generator, self.epoch = seed, generator, 0

    def next(self):
        if self.generator is not None:
            return self.generator
        seed = [int(self.seed), self.epoch] if self.seed is not None else _core._draw_seed()
        self.epoch += 1
        return np.random.default_rng(seed)


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation of the indices each epoch; with `replacement`, `num_samples` indices drawn
    uniformly with replacement. Without replacement, `num_samples` larger than the data set takes whole
    permutations one after another (as torch)."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None, seed=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a boolean value, but got "
                            f"replacement={replacement!r}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = _positive_int(num_samples, "RandomSampler", "num_samples", allow_none=True)
        self._rng = _EpochRng(seed, generator, "RandomSampler")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n, m = len(self.data_source), self.num_samples
        rng = self._rng.next()
        if self.replacement:
            order = rng.integers(0, n, size=m)
        else:
            order = np.concatenate([rng.permutation(n) for _ in range(-(-m // n))])[:m] if n else np.zeros(0, int)
        return iter(order.tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order each epoch."""

    def __init__(self, indices, generator=None, seed=None):
        self.indices = indices
        self._rng = _EpochRng(seed, generator, "SubsetRandomSampler")

    def __iter__(self):
        rng = self._rng.next()
        return iter([self.indices[i] for i in rng.permutation(len(self.indices)).tolist()])

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """`num_samples` indices drawn with probability proportional to `weights` (one per sample), with
    or without replacement. Weighting each sample by 1 / (count of its class) balances the classes."""

    def __init__(self, weights, num_samples, replacement=True, generator=None, seed=None):
        num_samples = _positive_int(num_samples, "WeightedRandomSampler", "num_samples")
        if not isinstance(replacement, bool):
            raise ValueError(f"WeightedRandomSampler: replacement should be a boolean value, but got "
                             f"replacement={replacement!r}")
        w = np.asarray(weights.numpy() if isinstance(weights, _core.Tensor) else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights should be a 1d sequence but given weights have "
                             f"shape {w.shape}")
        if not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative and not all zero")
        if not replacement and num_samples > np.count_nonzero(w):
            raise ValueError(f"WeightedRandomSampler: cannot draw {num_samples} samples without replacement from "
                             f"{np.count_nonzero(w)} non-zero weights")
        self.weights = w
        self.num_samples = num_samples
        self.replacement = replacement
        self._rng = _EpochRng(seed, generator, "WeightedRandomSampler")

    def __iter__(self):
        rng = self._rng.next()
        p = self.weights / self.weights.sum()
        return iter(rng.choice(len(p), size=self.num_samples, replace=self.replacement, p=p).tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of `sampler` (any iterable of indices) into lists of `batch_size`; the last,
    shorter one is dropped with `drop_last`."""

    def __init__(self, sampler, batch_size, drop_last):
        self.batch_size = _positive_int(batch_size, "BatchSampler", "batch_size")
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last should be a boolean value, but got drop_last={drop_last!r}")
        self.sampler = sampler
        self.drop_last = drop_last

    def __iter__(self):
        batch = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class DistributedSampler(Sampler):
    """The share of replica `rank` out of `num_replicas` (as torch.utils.data.DistributedSampler): the
    indices (shuffled from `seed + epoch` when `shuffle`) are padded by repeating the first ones up to a
    multiple of num_replicas (or, with drop_last, cut down to one), and replica r takes every
    num_replicas-th starting at r. The shares are disjoint (apart from the padding) and together cover
    the set. Call `set_epoch(e)` before each epoch so that the shuffles differ. num_replicas and rank
    default to $WORLD_SIZE and $RANK (1 and 0 when unset)."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None:
            num_replicas = int(os.environ.get("WORLD_SIZE", 1))
        if rank is None:
            rank = int(os.environ.get("RANK", 0))
        num_replicas = _positive_int(num_replicas, "DistributedSampler", "num_replicas")
        if not isinstance(rank, numbers.Integral) or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas, self.rank = num_replicas, int(rank)
        self.shuffle, self.seed, self.drop_last = shuffle, int(seed), drop_last
        self.epoch = 0
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch):
        self.epoch = int(epoch)

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            pad = self.total_size - len(indices)
            if pad <= len(indices):
                indices += indices[:pad]
            else:
                indices += (indices * math.ceil(pad / len(indices)))[:pad]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self):
        return self.num_samples
