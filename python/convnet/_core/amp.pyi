"""
mixed precision
"""
from __future__ import annotations
import collections.abc
import convnet._core
import typing
__all__: list[str] = ['get_autocast', 'set_autocast', 'unscale_']
def get_autocast() -> tuple[bool, convnet._core.dtype]:
    """
    (enabled, dtype) of autocast for CUDA tensors on this thread
    """
def set_autocast(enabled: bool, dtype: convnet._core.dtype) -> None:
    ...
def unscale_(grads: collections.abc.Sequence[convnet._core.Tensor], inv_scale: typing.SupportsFloat | typing.SupportsIndex, found_inf: convnet._core.Tensor) -> None:
    ...
