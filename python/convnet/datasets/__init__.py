"""Data sets (as torchvision.datasets). Pure NumPy (Pillow for ImageFolder): nothing here needs
convnet's compiled core."""

from .cifar import CIFAR10, CIFAR100
from .folder import ImageFolder
from .mnist import KMNIST, MNIST, FashionMNIST
from .utils import default_root

__all__ = ["CIFAR10", "CIFAR100", "FashionMNIST", "ImageFolder", "KMNIST", "MNIST", "default_root"]
