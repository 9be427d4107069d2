"""
Gradient clipping and regularizers
"""
from __future__ import annotations
import collections.abc
import convnet._core
import typing
__all__: list[str] = ['clip_grad_norm_', 'clip_grad_value_', 'l1_penalty', 'max_norm_']
def clip_grad_norm_(parameters: collections.abc.Sequence[convnet._core.Tensor], max_norm: typing.SupportsFloat | typing.SupportsIndex, norm_type: typing.SupportsFloat | typing.SupportsIndex = 2.0, error_if_nonfinite: bool = False) -> convnet._core.Tensor:
    ...
def clip_grad_value_(parameters: collections.abc.Sequence[convnet._core.Tensor], clip_value: typing.SupportsFloat | typing.SupportsIndex) -> None:
    ...
def l1_penalty(parameters: collections.abc.Sequence[convnet._core.Tensor]) -> convnet._core.Tensor:
    ...
def max_norm_(weight: convnet._core.Tensor, max_norm: typing.SupportsFloat | typing.SupportsIndex, dim: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    ...
