"""Batching of data sets (as torch.utils.data)."""

from .loader import DataLoader, TensorDataset  # noqa: F401

__all__ = ["DataLoader", "TensorDataset"]
