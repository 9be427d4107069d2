"""Modules (as torch.nn). The built-in layers are C++ classes; `Module` can be
subclassed in Python, and what a subclass assigns as attributes (modules,
`Parameter`s) is registered in the C++ module tree."""

from .. import _core
from .._core.nn import (  # noqa: F401
    AdaptiveAvgPool2d,
    AvgPool2d,
    Conv2d,
    ELU,
    GELU,
    Dropout,
    Flatten,
    Hardtanh,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MaxPool2d,
    Module,
    PReLU,
    ReLU,
    ReLU6,
    RemovableHandle,
    Sequential,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from . import _methods, functional, init, utils  # noqa: F401
from .container import ModuleDict, ModuleList  # noqa: F401
from .loss import (  # noqa: F401
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    MultiMarginLoss,
    NLLLoss,
    SmoothL1Loss,
)


class Parameter(_core.Tensor):
    """A tensor that a Module registers as a parameter when assigned as an attribute.

    It shares `data`'s memory and requires grad by default.
    """

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = _core.empty(0)
        super().__init__(data)
        self.requires_grad_(requires_grad)


__all__ = [
    "AdaptiveAvgPool2d", "AvgPool2d", "Conv2d", "CrossEntropyLoss", "Dropout", "Flatten",
    "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "MaxPool2d", "Module", "NLLLoss", "Parameter",
    "ReLU", "Sequential", "Sigmoid", "Softmax", "Tanh", "functional", "init", "utils",
]

# Normalization, transposed convolution, padding, adaptive/LP pooling, upsampling.
from .._core.nn import (  # noqa: E402,F401
    AdaptiveMaxPool2d,
    BatchNorm1d,
    BatchNorm2d,
    ConvTranspose2d,
    LocalResponseNorm,
    LPPool2d,
    Upsample,
    ZeroPad2d,
)

__all__ += [
    "AdaptiveMaxPool2d", "BatchNorm1d", "BatchNorm2d", "ConvTranspose2d", "LocalResponseNorm",
    "LPPool2d", "Upsample", "ZeroPad2d",
]

__all__ += [
    "ELU", "GELU", "Hardtanh", "Identity", "ModuleDict", "ModuleList", "PReLU", "ReLU6", "SiLU",
    "Softplus",
]
# 1-D layers, normalization over samples, embedding, pixel shuffle, unfold/fold, unpooling.
from .._core.nn import (  # noqa: E402,F401
    AdaptiveAvgPool1d,
    AvgPool1d,
    AvgPool3d,
    Conv1d,
    Conv3d,
    Dropout2d,
    Embedding,
    Fold,
    GroupNorm,
    InstanceNorm2d,
    LayerNorm,
    MaxPool1d,
    MaxPool3d,
    MaxUnpool2d,
    PixelShuffle,
    PixelUnshuffle,
    Unfold,
)

__all__ += [
    "AdaptiveAvgPool1d", "AvgPool1d", "AvgPool3d", "Conv1d", "Conv3d", "Dropout2d", "Embedding", "Fold", "GroupNorm", "InstanceNorm2d",
    "LayerNorm", "MaxPool1d", "MaxPool3d", "MaxUnpool2d", "PixelShuffle", "PixelUnshuffle", "Unfold",
]
__all__ += ["BCELoss", "BCEWithLogitsLoss", "KLDivLoss", "L1Loss", "MultiMarginLoss", "SmoothL1Loss"]

# Data parallelism across processes (convnet.distributed).
from . import parallel  # noqa: E402,F401
from .sync_batchnorm import SyncBatchNorm  # noqa: E402,F401

__all__ += ["SyncBatchNorm", "parallel"]
