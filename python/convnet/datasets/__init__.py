"""Data sets (as torchvision.datasets)."""

import os

from .mnist import MNIST  # noqa: F401


def default_root():
    """$CONVNET_DATA if set, else ./data."""
    return os.environ.get("CONVNET_DATA", "./data")


__all__ = ["MNIST", "default_root"]
