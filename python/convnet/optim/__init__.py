"""Optimizers (as torch.optim); updates run in C++."""

from .._core.optim import SGD, Optimizer, ParamGroup  # noqa: F401

__all__ = ["Optimizer", "ParamGroup", "SGD"]
