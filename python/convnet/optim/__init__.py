"""Optimizers (as torch.optim); updates run in C++. Schedules in `convnet.optim.lr_scheduler`."""

from .._core.optim import (LAMB, LARS, SGD, Adadelta, Adagrad, Adam, AdamW, NAdam, Optimizer,  # noqa: F401
                           ParamGroup, RAdam, RMSprop)
from . import lr_scheduler, swa_utils  # noqa: F401

__all__ = ["Adadelta", "Adagrad", "Adam", "AdamW", "LAMB", "LARS", "NAdam", "Optimizer", "ParamGroup", "RAdam",
           "RMSprop", "SGD", "lr_scheduler", "swa_utils"]
