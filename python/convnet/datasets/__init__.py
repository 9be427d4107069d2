"""Data sets (as torchvision.datasets). Pure NumPy (Pillow for ImageFolder): nothing here needs
convnet's compiled core."""

from .cifar import CIFAR10, CIFAR100, CIFARError
from .folder import ImageFileError, ImageFolder
from .mnist import IDXError, KMNIST, MNIST, FashionMNIST
from .utils import default_root

__all__ = ["CIFAR10", "CIFAR100", "CIFARError", "FashionMNIST", "IDXError", "ImageFileError", "ImageFolder",
           "KMNIST", "MNIST", "default_root"]
