"""Data sets (as torchvision.datasets). Pure NumPy: nothing here needs convnet's compiled core."""

from .mnist import MNIST, default_root

__all__ = ["MNIST", "default_root"]
