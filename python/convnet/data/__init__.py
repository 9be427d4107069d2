"""Batching of data sets (as torch.utils.data)."""

from .loader import DataLoader, TensorDataset, default_collate  # noqa: F401
from .sampler import (BatchSampler, DistributedSampler, RandomSampler, Sampler, SequentialSampler,  # noqa: F401
                      SubsetRandomSampler, WeightedRandomSampler)

__all__ = ["DataLoader", "TensorDataset", "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler", "DistributedSampler", "default_collate"]
