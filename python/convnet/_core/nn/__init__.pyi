"""
Modules
"""
from __future__ import annotations
import collections.abc
import convnet._core
import typing
from . import init
__all__: list[str] = ['AdaptiveAvgPool1d', 'AdaptiveAvgPool2d', 'AdaptiveMaxPool2d', 'AvgPool1d', 'AvgPool2d', 'AvgPool3d', 'BatchNorm1d', 'BatchNorm2d', 'Conv1d', 'Conv2d', 'Conv3d', 'ConvTranspose2d', 'Dropout', 'Dropout2d', 'ELU', 'Embedding', 'Flatten', 'Fold', 'GELU', 'GroupNorm', 'Hardtanh', 'Identity', 'InstanceNorm2d', 'LPPool2d', 'LayerNorm', 'LeakyReLU', 'Linear', 'LocalResponseNorm', 'LogSoftmax', 'MaxPool1d', 'MaxPool2d', 'MaxPool3d', 'MaxUnpool2d', 'Module', 'PReLU', 'PixelShuffle', 'PixelUnshuffle', 'ReLU', 'ReLU6', 'RemovableHandle', 'Sequential', 'SiLU', 'Sigmoid', 'Softmax', 'Softplus', 'Tanh', 'Unfold', 'Upsample', 'ZeroPad2d', 'init']
class RemovableHandle:
    def remove(self) -> None:
        ...
class Module:
    """
    Base class of all modules (as torch.nn.Module): parameters, buffers and child modules registered by attribute assignment, train()/eval(), state_dict()/load_state_dict(), forward hooks.
    
    Subclass it in Python and define forward(x); the module is part of the C++ module tree.
    """
    def __call__(self, *args, **kwargs) -> typing.Any:
        ...
    def __delattr__(self, arg0: str) -> None:
        ...
    def __getattr__(self, arg0: str) -> typing.Any:
        ...
    def __init__(self) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def __setattr__(self, arg0: str, arg1: typing.Any) -> None:
        ...
    def add_module(self, name: str, module: Module) -> None:
        ...
    def apply(self, fn):
        """
        Calls fn on every submodule (children first, recursively) and then on this module, as
            torch.nn.Module.apply (typically to initialize parameters); returns this module.
        """
    def buffers(self, recurse: bool = True) -> list[convnet._core.Tensor]:
        ...
    def children(self) -> list[Module]:
        ...
    def cpu(self) -> typing.Any:
        ...
    def cuda(self, device: typing.Any = None) -> typing.Any:
        ...
    def eval(self) -> typing.Any:
        ...
    def extra_repr(self) -> str:
        ...
    def forward(self, input: convnet._core.Tensor) -> convnet._core.Tensor:
        ...
    def get_submodule(self, target):
        """
        The submodule at the dotted path `target` ("" is this module), as
            torch.nn.Module.get_submodule; AttributeError names the first missing step.
        """
    def load_state_dict(self, state_dict: dict, strict: bool = True) -> typing.Any:
        ...
    def modules(self) -> list[Module]:
        ...
    def named_buffers(self, recurse: bool = True) -> list[tuple[str, convnet._core.Tensor]]:
        ...
    def named_children(self) -> list[tuple[str, Module]]:
        ...
    def named_modules(self) -> list[tuple[str, Module]]:
        ...
    def named_parameters(self, prefix: str = '', recurse: bool = True) -> list:
        ...
    def parameters(self, recurse: bool = True) -> list[convnet._core.Tensor]:
        ...
    def register_buffer(self, name: str, tensor: convnet._core.Tensor) -> None:
        ...
    def register_forward_hook(self, hook: collections.abc.Callable) -> RemovableHandle:
        ...
    def register_forward_pre_hook(self, hook: collections.abc.Callable) -> RemovableHandle:
        ...
    def register_full_backward_hook(self, hook: collections.abc.Callable) -> RemovableHandle:
        ...
    def register_module(self, name: str, module: Module) -> None:
        ...
    def register_parameter(self, name: str, param: convnet._core.Tensor | None) -> None:
        ...
    def requires_grad_(self, requires_grad: bool = True) -> typing.Any:
        ...
    def state_dict(self) -> typing.Any:
        ...
    def to(self, device: typing.Any = None, dtype: typing.Any = None, *, non_blocking: bool = False) -> typing.Any:
        ...
    def train(self, mode: bool = True) -> typing.Any:
        ...
    def zero_grad(self, set_to_none: bool = True) -> None:
        ...
    @property
    def training(self) -> bool:
        ...
class Conv2d(Module):
    """
    Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True, padding_mode='zeros')
    
    2-D convolution over NCHW input (as torch.nn.Conv2d). kernel_size, stride, padding and dilation are ints or pairs; padding may be 'same' (stride 1) or 'valid'.
    Input (N, in_channels, H, W) -> output (N, out_channels, P, Q), P = floor((H + 2*padding - dilation*(kernel-1) - 1) / stride) + 1.
    weight (out_channels, in_channels/groups, kH, kW) and bias (out_channels) start Kaiming-uniform as PyTorch's.
    """
    def __init__(self, in_channels: typing.SupportsInt | typing.SupportsIndex, out_channels: typing.SupportsInt | typing.SupportsIndex, kernel_size: typing.Any, stride: typing.Any = 1, padding: typing.Any = 0, dilation: typing.Any = 1, groups: typing.SupportsInt | typing.SupportsIndex = 1, bias: bool = True, padding_mode: str = 'zeros') -> None:
        ...
    def reset_parameters(self) -> None:
        ...
    @property
    def dilation(self) -> tuple[int, int]:
        ...
    @property
    def groups(self) -> int:
        ...
    @property
    def in_channels(self) -> int:
        ...
    @property
    def kernel_size(self) -> tuple[int, int]:
        ...
    @property
    def out_channels(self) -> int:
        ...
    @property
    def padding(self) -> typing.Any:
        ...
    @property
    def stride(self) -> tuple[int, int]:
        ...
class ConvTranspose2d(Module):
    """
    ConvTranspose2d(in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=True, dilation=1, padding_mode='zeros')
    
    Transposed 2-D convolution (as torch.nn.ConvTranspose2d): P = (H-1)*stride - 2*padding + dilation*(kernel-1) + output_padding + 1.
    weight (in_channels, out_channels/groups, kH, kW).
    """
    def __init__(self, in_channels: typing.SupportsInt | typing.SupportsIndex, out_channels: typing.SupportsInt | typing.SupportsIndex, kernel_size: typing.Any, stride: typing.Any = 1, padding: typing.Any = 0, output_padding: typing.Any = 0, groups: typing.SupportsInt | typing.SupportsIndex = 1, bias: bool = True, dilation: typing.Any = 1, padding_mode: str = 'zeros') -> None:
        ...
    def reset_parameters(self) -> None:
        ...
    @property
    def dilation(self) -> tuple[int, int]:
        ...
    @property
    def groups(self) -> int:
        ...
    @property
    def in_channels(self) -> int:
        ...
    @property
    def kernel_size(self) -> tuple[int, int]:
        ...
    @property
    def out_channels(self) -> int:
        ...
    @property
    def output_padding(self) -> tuple[int, int]:
        ...
    @property
    def padding(self) -> tuple[int, int]:
        ...
    @property
    def stride(self) -> tuple[int, int]:
        ...
class Linear(Module):
    """
    Linear(in_features, out_features, bias=True)
    
    y = x @ weight.T + bias over the last dimension (as torch.nn.Linear). weight (out_features, in_features), bias (out_features).
    """
    def __init__(self, in_features: typing.SupportsInt | typing.SupportsIndex, out_features: typing.SupportsInt | typing.SupportsIndex, bias: bool = True) -> None:
        ...
    def reset_parameters(self) -> None:
        ...
    @property
    def in_features(self) -> int:
        ...
    @property
    def out_features(self) -> int:
        ...
class MaxPool2d(Module):
    """
    MaxPool2d(kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False)
    
    2-D max pooling (as torch.nn.MaxPool2d); stride None means the kernel size.
    """
    def __init__(self, kernel_size: typing.Any, stride: typing.Any = None, padding: typing.Any = 0, dilation: typing.Any = 1, return_indices: bool = False, ceil_mode: bool = False) -> None:
        ...
    def forward(self, input: convnet._core.Tensor) -> typing.Any:
        ...
    @property
    def ceil_mode(self) -> bool:
        ...
    @property
    def dilation(self) -> tuple[int, int]:
        ...
    @property
    def kernel_size(self) -> tuple[int, int]:
        ...
    @property
    def padding(self) -> tuple[int, int]:
        ...
    @property
    def return_indices(self) -> bool:
        ...
    @property
    def stride(self) -> tuple[int, int]:
        ...
class AvgPool2d(Module):
    """
    AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None)
    
    2-D average pooling (as torch.nn.AvgPool2d); stride None means the kernel size.
    """
    def __init__(self, kernel_size: typing.Any, stride: typing.Any = None, padding: typing.Any = 0, ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: typing.Any = None) -> None:
        ...
    @property
    def ceil_mode(self) -> bool:
        ...
    @property
    def count_include_pad(self) -> bool:
        ...
    @property
    def kernel_size(self) -> tuple[int, int]:
        ...
    @property
    def padding(self) -> tuple[int, int]:
        ...
    @property
    def stride(self) -> tuple[int, int]:
        ...
class AdaptiveAvgPool2d(Module):
    """
    AdaptiveAvgPool2d(output_size)
    
    Average pooling to a fixed (H, W) output size.
    """
    def __init__(self, output_size: typing.Any) -> None:
        ...
    @property
    def output_size(self) -> typing.Any:
        ...
class AdaptiveMaxPool2d(Module):
    """
    AdaptiveMaxPool2d(output_size, return_indices=False)
    
    Max pooling to a fixed (H, W) output size; None keeps the input's size on that axis.
    """
    def __init__(self, output_size: typing.Any, return_indices: bool = False) -> None:
        ...
    @property
    def output_size(self) -> typing.Any:
        ...
class LPPool2d(Module):
    """
    LPPool2d(norm_type, kernel_size, stride=None, ceil_mode=False)
    
    (sum over each window of x^p)^(1/p) (as torch.nn.LPPool2d).
    """
    def __init__(self, norm_type: typing.SupportsFloat | typing.SupportsIndex, kernel_size: typing.Any, stride: typing.Any = None, ceil_mode: bool = False) -> None:
        ...
    @property
    def ceil_mode(self) -> bool:
        ...
    @property
    def kernel_size(self) -> tuple[int, int]:
        ...
    @property
    def norm_type(self) -> float:
        ...
    @property
    def stride(self) -> tuple[int, int]:
        ...
class _BatchNorm(Module):
    def reset_parameters(self) -> None:
        ...
    def reset_running_stats(self) -> None:
        ...
    @property
    def affine(self) -> bool:
        ...
    @property
    def eps(self) -> float:
        ...
    @eps.setter
    def eps(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def momentum(self) -> float | None:
        ...
    @momentum.setter
    def momentum(self, arg0: typing.SupportsFloat | typing.SupportsIndex | None) -> None:
        ...
    @property
    def num_features(self) -> int:
        ...
    @property
    def track_running_stats(self) -> bool:
        ...
class BatchNorm1d(_BatchNorm):
    """
    BatchNorm1d(num_features, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True, *, bias=True)
    
    Batch normalization of (N, C) or (N, C, L) input (as torch.nn.BatchNorm1d).
    """
    def __init__(self, num_features: typing.SupportsInt | typing.SupportsIndex, eps: typing.SupportsFloat | typing.SupportsIndex = 1e-05, momentum: typing.SupportsFloat | typing.SupportsIndex | None = 0.1, affine: bool = True, track_running_stats: bool = True, *, bias: bool = True) -> None:
        ...
class BatchNorm2d(_BatchNorm):
    """
    BatchNorm2d(num_features, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True, *, bias=True)
    
    Batch normalization over the channels of (N, C, H, W) input (as torch.nn.BatchNorm2d): batch statistics in training (running_mean/running_var move by momentum; None: cumulative average), running statistics in eval. Buffers running_mean, running_var, num_batches_tracked.
    """
    def __init__(self, num_features: typing.SupportsInt | typing.SupportsIndex, eps: typing.SupportsFloat | typing.SupportsIndex = 1e-05, momentum: typing.SupportsFloat | typing.SupportsIndex | None = 0.1, affine: bool = True, track_running_stats: bool = True, *, bias: bool = True) -> None:
        ...
class LocalResponseNorm(Module):
    """
    LocalResponseNorm(size, alpha=0.0001, beta=0.75, k=1.0)
    
    x / (k + alpha/size * sum of x^2 over `size` neighbouring channels)^beta (as torch.nn.LocalResponseNorm).
    """
    def __init__(self, size: typing.SupportsInt | typing.SupportsIndex, alpha: typing.SupportsFloat | typing.SupportsIndex = 0.0001, beta: typing.SupportsFloat | typing.SupportsIndex = 0.75, k: typing.SupportsFloat | typing.SupportsIndex = 1.0) -> None:
        ...
    @property
    def alpha(self) -> float:
        ...
    @property
    def beta(self) -> float:
        ...
    @property
    def k(self) -> float:
        ...
    @property
    def size(self) -> int:
        ...
class ZeroPad2d(Module):
    """
    ZeroPad2d(padding)
    
    Zero padding (left, right, top, bottom) of the last two dimensions; negative values crop.
    """
    def __init__(self, padding: typing.Any) -> None:
        ...
    @property
    def padding(self) -> tuple[int, int, int, int]:
        ...
class Upsample(Module):
    """
    Upsample(size=None, scale_factor=None, mode='nearest', align_corners=None, recompute_scale_factor=None)
    
    Resizes (N, C, H, W) input by nearest or bilinear interpolation (as torch.nn.Upsample).
    """
    def __init__(self, size: typing.Any = None, scale_factor: typing.Any = None, mode: str = 'nearest', align_corners: typing.Any = None, recompute_scale_factor: typing.Any = None) -> None:
        ...
    @property
    def align_corners(self) -> bool | None:
        ...
    @property
    def mode(self) -> str:
        ...
    @property
    def scale_factor(self) -> typing.Any:
        ...
    @property
    def size(self) -> typing.Any:
        ...
class Flatten(Module):
    """
    Flatten(start_dim=1, end_dim=-1)
    
    Merges dimensions start_dim..end_dim into one (a view).
    """
    def __init__(self, start_dim: typing.SupportsInt | typing.SupportsIndex = 1, end_dim: typing.SupportsInt | typing.SupportsIndex = -1) -> None:
        ...
    @property
    def end_dim(self) -> int:
        ...
    @property
    def start_dim(self) -> int:
        ...
class ReLU(Module):
    """
    ReLU(inplace=False)
    
    max(x, 0) element-wise.
    """
    def __init__(self, inplace: bool = False) -> None:
        ...
class LeakyReLU(Module):
    """
    LeakyReLU(negative_slope=0.01, inplace=False)
    
    x if x >= 0 else negative_slope * x.
    """
    def __init__(self, negative_slope: typing.SupportsFloat | typing.SupportsIndex = 0.01, inplace: bool = False) -> None:
        ...
    @property
    def negative_slope(self) -> float:
        ...
class Sigmoid(Module):
    """
    Sigmoid()
    
    1 / (1 + exp(-x)) element-wise.
    """
    def __init__(self) -> None:
        ...
class Tanh(Module):
    """
    Tanh()
    
    tanh(x) element-wise.
    """
    def __init__(self) -> None:
        ...
class Softmax(Module):
    """
    Softmax(dim)
    
    exp(x) / sum(exp(x)) along dim.
    """
    def __init__(self, dim: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def dim(self) -> int:
        ...
class LogSoftmax(Module):
    """
    LogSoftmax(dim)
    
    log(softmax(x)) along dim, computed stably.
    """
    def __init__(self, dim: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def dim(self) -> int:
        ...
class Dropout(Module):
    """
    Dropout(p=0.5, inplace=False)
    
    In training, zeroes each element with probability p and scales the rest by 1/(1-p); the identity in eval mode. Draws from convnet.manual_seed's generator.
    """
    def __init__(self, p: typing.SupportsFloat | typing.SupportsIndex = 0.5, inplace: bool = False) -> None:
        ...
    @property
    def p(self) -> float:
        ...
class Identity(Module):
    def __init__(self, *args, **kwargs) -> None:
        ...
class Hardtanh(Module):
    def __init__(self, min_val: typing.SupportsFloat | typing.SupportsIndex = -1.0, max_val: typing.SupportsFloat | typing.SupportsIndex = 1.0, inplace: bool = False) -> None:
        ...
    @property
    def inplace(self) -> bool:
        ...
    @property
    def max_val(self) -> float:
        ...
    @property
    def min_val(self) -> float:
        ...
class ReLU6(Hardtanh):
    def __init__(self, inplace: bool = False) -> None:
        ...
class ELU(Module):
    def __init__(self, alpha: typing.SupportsFloat | typing.SupportsIndex = 1.0, inplace: bool = False) -> None:
        ...
    @property
    def alpha(self) -> float:
        ...
    @property
    def inplace(self) -> bool:
        ...
class GELU(Module):
    def __init__(self, approximate: str = 'none') -> None:
        ...
    @property
    def approximate(self) -> str:
        ...
class SiLU(Module):
    def __init__(self, inplace: bool = False) -> None:
        ...
    @property
    def inplace(self) -> bool:
        ...
class Softplus(Module):
    def __init__(self, beta: typing.SupportsFloat | typing.SupportsIndex = 1.0, threshold: typing.SupportsFloat | typing.SupportsIndex = 20.0) -> None:
        ...
    @property
    def beta(self) -> float:
        ...
    @property
    def threshold(self) -> float:
        ...
class PReLU(Module):
    def __init__(self, num_parameters: typing.SupportsInt | typing.SupportsIndex = 1, init: typing.SupportsFloat | typing.SupportsIndex = 0.25) -> None:
        ...
    def reset_parameters(self) -> None:
        ...
    @property
    def num_parameters(self) -> int:
        ...
class Sequential(Module):
    """
    Sequential(*modules)
    
    Calls the modules in order; children are named '0', '1', ...; indexable and iterable.
    """
    def __delitem__(self, idx):
        """
        Removes a child or a slice of them; the rest are renumbered "0", "1", ... (as torch).
        """
    def __getitem__(self, idx):
        """
        A child by position (negative counts from the end), or a new Sequential of a slice that
            keeps the children's names (as torch).
        """
    def __init__(self, *args) -> None:
        ...
    def __iter__(self) -> collections.abc.Iterator:
        ...
    def __len__(self) -> int:
        ...
    def __setitem__(self, idx, module):
        ...
    def append(self, module: Module) -> typing.Any:
        ...
    def extend(self, modules):
        ...
    def insert(self, index, module):
        ...
    def pop(self, key):
        ...
class Conv1d(Module):
    """
    Conv1d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True, padding_mode='zeros')
    
    1-D convolution over (N, C, L) input (as torch.nn.Conv1d), run as conv2d over (N, C, 1, L). weight (out_channels, in_channels/groups, kL).
    """
    def __init__(self, in_channels: typing.SupportsInt | typing.SupportsIndex, out_channels: typing.SupportsInt | typing.SupportsIndex, kernel_size: typing.Any, stride: typing.Any = 1, padding: typing.Any = 0, dilation: typing.Any = 1, groups: typing.SupportsInt | typing.SupportsIndex = 1, bias: bool = True, padding_mode: str = 'zeros') -> None:
        ...
    def reset_parameters(self) -> None:
        ...
    @property
    def dilation(self) -> tuple[int]:
        ...
    @property
    def groups(self) -> int:
        ...
    @property
    def in_channels(self) -> int:
        ...
    @property
    def kernel_size(self) -> tuple[int]:
        ...
    @property
    def out_channels(self) -> int:
        ...
    @property
    def padding(self) -> typing.Any:
        ...
    @property
    def stride(self) -> tuple[int]:
        ...
class MaxPool1d(Module):
    """
    MaxPool1d(kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False)
    
    1-D max pooling over (N, C, L) input; with return_indices, also the index of each maximum along L.
    """
    def __init__(self, kernel_size: typing.Any, stride: typing.Any = None, padding: typing.Any = 0, dilation: typing.Any = 1, return_indices: bool = False, ceil_mode: bool = False) -> None:
        ...
    def forward(self, input: convnet._core.Tensor) -> typing.Any:
        ...
    @property
    def ceil_mode(self) -> bool:
        ...
    @property
    def dilation(self) -> int:
        ...
    @property
    def kernel_size(self) -> int:
        ...
    @property
    def padding(self) -> int:
        ...
    @property
    def return_indices(self) -> bool:
        ...
    @property
    def stride(self) -> int:
        ...
class AvgPool1d(Module):
    """
    AvgPool1d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True)
    
    1-D average pooling over (N, C, L) input.
    """
    def __init__(self, kernel_size: typing.Any, stride: typing.Any = None, padding: typing.Any = 0, ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        ...
    @property
    def ceil_mode(self) -> bool:
        ...
    @property
    def count_include_pad(self) -> bool:
        ...
    @property
    def kernel_size(self) -> tuple[int]:
        ...
    @property
    def padding(self) -> tuple[int]:
        ...
    @property
    def stride(self) -> tuple[int]:
        ...
class AdaptiveAvgPool1d(Module):
    """
    AdaptiveAvgPool1d(output_size)
    
    Average pooling of (N, C, L) input to a fixed length.
    """
    def __init__(self, output_size: typing.Any) -> None:
        ...
    @property
    def output_size(self) -> int:
        ...
class MaxPool3d(Module):
    def __init__(self, kernel_size: typing.Any, stride: typing.Any = None, padding: typing.Any = 0, dilation: typing.Any = 1, return_indices: bool = False, ceil_mode: bool = False) -> None:
        ...
class AvgPool3d(Module):
    def __init__(self, kernel_size: typing.Any, stride: typing.Any = None, padding: typing.Any = 0, ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: typing.Any = None) -> None:
        ...
class Conv3d(Module):
    """
    Conv3d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True, padding_mode='zeros')
    
    3-D convolution over (N, C, D, H, W) input (as torch.nn.Conv3d), run as conv2d over the depth slices each kernel depth reads. weight (out_channels, in_channels/groups, kD, kH, kW).
    """
    def __init__(self, in_channels: typing.SupportsInt | typing.SupportsIndex, out_channels: typing.SupportsInt | typing.SupportsIndex, kernel_size: typing.Any, stride: typing.Any = 1, padding: typing.Any = 0, dilation: typing.Any = 1, groups: typing.SupportsInt | typing.SupportsIndex = 1, bias: bool = True, padding_mode: str = 'zeros') -> None:
        ...
    def reset_parameters(self) -> None:
        ...
    @property
    def dilation(self) -> tuple[int, int, int]:
        ...
    @property
    def groups(self) -> int:
        ...
    @property
    def in_channels(self) -> int:
        ...
    @property
    def kernel_size(self) -> tuple[int, int, int]:
        ...
    @property
    def out_channels(self) -> int:
        ...
    @property
    def padding(self) -> typing.Any:
        ...
    @property
    def stride(self) -> tuple[int, int, int]:
        ...
class MaxUnpool2d(Module):
    """
    MaxUnpool2d(kernel_size, stride=None, padding=0)
    
    unpool(x, indices, output_size=None): the inverse of MaxPool2d(return_indices=True), zeros except at the indices (as torch.nn.MaxUnpool2d).
    """
    def __init__(self, kernel_size: typing.Any, stride: typing.Any = None, padding: typing.Any = 0) -> None:
        ...
    def forward(self, input: convnet._core.Tensor, indices: convnet._core.Tensor, output_size: typing.Any = None) -> convnet._core.Tensor:
        ...
    @property
    def kernel_size(self) -> tuple[int, int]:
        ...
    @property
    def padding(self) -> tuple[int, int]:
        ...
    @property
    def stride(self) -> tuple[int, int]:
        ...
class Unfold(Module):
    """
    Unfold(kernel_size, dilation=1, padding=0, stride=1)
    
    Sliding blocks of (N, C, H, W) input as the columns of (N, C*kH*kW, L).
    """
    def __init__(self, kernel_size: typing.Any, dilation: typing.Any = 1, padding: typing.Any = 0, stride: typing.Any = 1) -> None:
        ...
class Fold(Module):
    """
    Fold(output_size, kernel_size, dilation=1, padding=0, stride=1)
    
    Sums the columns of (N, C*kH*kW, L) back into (N, C, H, W) blocks: Unfold's adjoint.
    """
    def __init__(self, output_size: typing.Any, kernel_size: typing.Any, dilation: typing.Any = 1, padding: typing.Any = 0, stride: typing.Any = 1) -> None:
        ...
class PixelShuffle(Module):
    """
    PixelShuffle(upscale_factor)
    
    (*, C*r*r, H, W) -> (*, C, H*r, W*r).
    """
    def __init__(self, upscale_factor: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def upscale_factor(self) -> int:
        ...
class PixelUnshuffle(Module):
    """
    PixelUnshuffle(downscale_factor)
    
    (*, C, H*r, W*r) -> (*, C*r*r, H, W).
    """
    def __init__(self, downscale_factor: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def downscale_factor(self) -> int:
        ...
class Dropout2d(Module):
    """
    Dropout2d(p=0.5, inplace=False)
    
    In training, zeroes whole channels of (N, C, H, W) input with probability p and scales the rest by 1/(1-p).
    """
    def __init__(self, p: typing.SupportsFloat | typing.SupportsIndex = 0.5, inplace: bool = False) -> None:
        ...
    @property
    def inplace(self) -> bool:
        ...
    @property
    def p(self) -> float:
        ...
class Embedding(Module):
    """
    Embedding(num_embeddings, embedding_dim, padding_idx=None)
    
    A table of embedding_dim-vectors indexed by int64 tensors; weight from N(0, 1), the padding_idx row zero and without gradient.
    """
    def __init__(self, num_embeddings: typing.SupportsInt | typing.SupportsIndex, embedding_dim: typing.SupportsInt | typing.SupportsIndex, padding_idx: typing.SupportsInt | typing.SupportsIndex | None = None, max_norm: typing.Any = None, norm_type: typing.SupportsFloat | typing.SupportsIndex = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> None:
        ...
    def reset_parameters(self) -> None:
        ...
    @property
    def embedding_dim(self) -> int:
        ...
    @property
    def num_embeddings(self) -> int:
        ...
    @property
    def padding_idx(self) -> int | None:
        ...
class GroupNorm(Module):
    """
    GroupNorm(num_groups, num_channels, eps=1e-05, affine=True, *, bias=True)
    
    Normalizes each sample's channels in num_groups groups by their mean and variance, then per-channel weight and bias.
    """
    def __init__(self, num_groups: typing.SupportsInt | typing.SupportsIndex, num_channels: typing.SupportsInt | typing.SupportsIndex, eps: typing.SupportsFloat | typing.SupportsIndex = 1e-05, affine: bool = True, *, bias: bool = True) -> None:
        ...
    def reset_parameters(self) -> None:
        ...
    @property
    def affine(self) -> bool:
        ...
    @property
    def eps(self) -> float:
        ...
    @eps.setter
    def eps(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def num_channels(self) -> int:
        ...
    @property
    def num_groups(self) -> int:
        ...
class LayerNorm(Module):
    """
    LayerNorm(normalized_shape, eps=1e-05, elementwise_affine=True, bias=True)
    
    Normalizes over the trailing normalized_shape of each sample, then element-wise weight and bias.
    """
    def __init__(self, normalized_shape: typing.Any, eps: typing.SupportsFloat | typing.SupportsIndex = 1e-05, elementwise_affine: bool = True, bias: bool = True) -> None:
        ...
    def reset_parameters(self) -> None:
        ...
    @property
    def elementwise_affine(self) -> bool:
        ...
    @property
    def eps(self) -> float:
        ...
    @eps.setter
    def eps(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def normalized_shape(self) -> tuple:
        ...
class InstanceNorm2d(Module):
    """
    InstanceNorm2d(num_features, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False, *, bias=True)
    
    Normalizes each (sample, channel) plane of (N, C, H, W) input by its own statistics (track_running_stats=True is not supported).
    """
    def __init__(self, num_features: typing.SupportsInt | typing.SupportsIndex, eps: typing.SupportsFloat | typing.SupportsIndex = 1e-05, momentum: typing.SupportsFloat | typing.SupportsIndex = 0.1, affine: bool = False, track_running_stats: bool = False, *, bias: bool = True) -> None:
        ...
    def reset_parameters(self) -> None:
        ...
    @property
    def affine(self) -> bool:
        ...
    @property
    def eps(self) -> float:
        ...
    @eps.setter
    def eps(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def momentum(self) -> float:
        ...
    @momentum.setter
    def momentum(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def num_features(self) -> int:
        ...
    @property
    def track_running_stats(self) -> bool:
        ...
