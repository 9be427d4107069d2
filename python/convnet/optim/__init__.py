"""Optimizers (as torch.optim); updates run in C++. Schedules in `convnet.optim.lr_scheduler`."""

from .._core.optim import SGD, Optimizer, ParamGroup  # noqa: F401
from . import lr_scheduler  # noqa: F401

__all__ = ["Optimizer", "ParamGroup", "SGD", "lr_scheduler"]
