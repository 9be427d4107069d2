"""
switches of the compute backends
"""
from __future__ import annotations
import convnet._core
import typing
__all__: list[str] = ['conv2d_cpu_algorithm', 'get_conv_workspace_limit', 'get_cpu_capability', 'get_cudnn_allow_tf32', 'get_matmul_allow_tf32', 'set_conv_workspace_limit', 'set_cudnn_allow_tf32', 'set_matmul_allow_tf32']
def conv2d_cpu_algorithm(input: convnet._core.Tensor, weight: convnet._core.Tensor, stride: typing.Any = 1, padding: typing.Any = 0, dilation: typing.Any = 1, groups: typing.SupportsInt | typing.SupportsIndex = 1) -> str:
    """
    the algorithm conv2d runs on the CPU: 'gemm', 'winograd' or 'depthwise'
    """
def get_conv_workspace_limit() -> int:
    ...
def get_cpu_capability() -> str:
    ...
def get_cudnn_allow_tf32() -> bool:
    ...
def get_matmul_allow_tf32() -> bool:
    ...
def set_conv_workspace_limit(bytes: typing.SupportsInt | typing.SupportsIndex) -> None:
    ...
def set_cudnn_allow_tf32(on: bool) -> None:
    ...
def set_matmul_allow_tf32(on: bool) -> None:
    ...
