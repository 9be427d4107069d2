"""Optimizers (as torch.optim); updates run in C++. Schedules in `convnet.optim.lr_scheduler`."""

from .._core.optim import SGD, Adagrad, Adam, AdamW, Optimizer, ParamGroup, RMSprop  # noqa: F401
from . import lr_scheduler  # noqa: F401

__all__ = ["Adagrad", "Adam", "AdamW", "Optimizer", "ParamGroup", "RMSprop", "SGD", "lr_scheduler"]
