"""Batching of data sets (as torch.utils.data)."""

from .dataset import ConcatDataset, Dataset, Subset, random_split  # noqa: F401
from .loader import DataLoader, TensorDataset, default_collate  # noqa: F401
from .sampler import (BatchSampler, DistributedSampler, RandomSampler, Sampler, SequentialSampler,  # noqa: F401
                      SubsetRandomSampler, WeightedRandomSampler)

__all__ = ["DataLoader", "TensorDataset", "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler", "DistributedSampler", "Dataset", "Subset", "ConcatDataset",
           "random_split", "default_collate"]
