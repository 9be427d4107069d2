"""Data sets (as torchvision.datasets). Pure NumPy (Pillow for ImageFolder): nothing here needs
convnet's compiled core."""

from .cifar import CIFAR10, CIFAR100, CIFARError
from .folder import ImageFileError, ImageFolder
from .matfile import MatError
from .mnist import IDXError, KMNIST, MNIST, FashionMNIST
from .stl10 import STL10, STL10Error
from .svhn import SVHN
from .utils import default_root

__all__ = ["CIFAR10", "CIFAR100", "CIFARError", "FashionMNIST", "IDXError", "ImageFileError", "ImageFolder",
           "KMNIST", "MNIST", "MatError", "STL10", "STL10Error", "SVHN", "default_root"]
