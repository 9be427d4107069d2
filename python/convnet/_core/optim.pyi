"""
Optimizers
"""
from __future__ import annotations
import collections.abc
import typing
__all__: list[str] = ['Adadelta', 'Adagrad', 'Adam', 'AdamW', 'LAMB', 'LARS', 'NAdam', 'Optimizer', 'ParamGroup', 'RAdam', 'RMSprop', 'SGD']
class ParamGroup:
    def __contains__(self, arg0: str) -> bool:
        ...
    def __getitem__(self, arg0: str) -> typing.Any:
        ...
    def __repr__(self) -> str:
        ...
    def __setitem__(self, arg0: str, arg1: typing.Any) -> None:
        ...
    def keys(self) -> list[str]:
        ...
class Optimizer:
    def add_param_group(self, param_group: dict) -> None:
        ...
    def load_state_dict(self, state_dict: typing.Any) -> None:
        ...
    def state_dict(self) -> dict:
        """
        The optimizer's state as PyTorch lays it out; a copy that later steps leave unchanged.
        """
    def step(self, closure: typing.Any = None) -> typing.Any:
        ...
    def zero_grad(self, set_to_none: bool = True) -> None:
        ...
    @property
    def defaults(self) -> dict:
        ...
    @property
    def param_groups(self) -> list:
        ...
class SGD(Optimizer):
    """
    SGD(params, lr=0.001, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False)
    
    Stochastic gradient descent with PyTorch's update rule. params: tensors or dicts of parameter groups.
    """
    def __init__(self, params: collections.abc.Iterable, lr: typing.SupportsFloat | typing.SupportsIndex = 0.001, momentum: typing.SupportsFloat | typing.SupportsIndex = 0.0, dampening: typing.SupportsFloat | typing.SupportsIndex = 0.0, weight_decay: typing.SupportsFloat | typing.SupportsIndex = 0.0, nesterov: bool = False, *, maximize: bool = False) -> None:
        ...
class Adam(Optimizer):
    """
    Adam(params, lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, amsgrad=False, maximize=False, decoupled_weight_decay=False)
    
    Adam with PyTorch's update rule.
    """
    def __init__(self, params: collections.abc.Iterable, lr: typing.SupportsFloat | typing.SupportsIndex = 0.001, betas: tuple[typing.SupportsFloat | typing.SupportsIndex, typing.SupportsFloat | typing.SupportsIndex] = (0.9, 0.999), eps: typing.SupportsFloat | typing.SupportsIndex = 1e-08, weight_decay: typing.SupportsFloat | typing.SupportsIndex = 0.0, amsgrad: bool = False, *, maximize: bool = False, decoupled_weight_decay: bool = False) -> None:
        ...
class AdamW(Adam):
    """
    AdamW(params, lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01, amsgrad=False, maximize=False)
    
    Adam with decoupled weight decay.
    """
    def __init__(self, params: collections.abc.Iterable, lr: typing.SupportsFloat | typing.SupportsIndex = 0.001, betas: tuple[typing.SupportsFloat | typing.SupportsIndex, typing.SupportsFloat | typing.SupportsIndex] = (0.9, 0.999), eps: typing.SupportsFloat | typing.SupportsIndex = 1e-08, weight_decay: typing.SupportsFloat | typing.SupportsIndex = 0.01, amsgrad: bool = False, *, maximize: bool = False) -> None:
        ...
class RMSprop(Optimizer):
    """
    RMSprop(params, lr=0.01, alpha=0.99, eps=1e-08, weight_decay=0, momentum=0, centered=False, maximize=False)
    
    RMSprop with PyTorch's update rule.
    """
    def __init__(self, params: collections.abc.Iterable, lr: typing.SupportsFloat | typing.SupportsIndex = 0.01, alpha: typing.SupportsFloat | typing.SupportsIndex = 0.99, eps: typing.SupportsFloat | typing.SupportsIndex = 1e-08, weight_decay: typing.SupportsFloat | typing.SupportsIndex = 0.0, momentum: typing.SupportsFloat | typing.SupportsIndex = 0.0, centered: bool = False, *, maximize: bool = False) -> None:
        ...
class Adagrad(Optimizer):
    """
    Adagrad(params, lr=0.01, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, maximize=False)
    
    Adagrad with PyTorch's update rule.
    """
    def __init__(self, params: collections.abc.Iterable, lr: typing.SupportsFloat | typing.SupportsIndex = 0.01, lr_decay: typing.SupportsFloat | typing.SupportsIndex = 0.0, weight_decay: typing.SupportsFloat | typing.SupportsIndex = 0.0, initial_accumulator_value: typing.SupportsFloat | typing.SupportsIndex = 0.0, eps: typing.SupportsFloat | typing.SupportsIndex = 1e-10, *, maximize: bool = False) -> None:
        ...
class NAdam(Optimizer):
    """
    NAdam(params, lr=0.002, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, momentum_decay=0.004, decoupled_weight_decay=False, maximize=False)
    
    Adam with Nesterov momentum, PyTorch's update rule (mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))).
    """
    def __init__(self, params: collections.abc.Iterable, lr: typing.SupportsFloat | typing.SupportsIndex = 0.002, betas: tuple[typing.SupportsFloat | typing.SupportsIndex, typing.SupportsFloat | typing.SupportsIndex] = (0.9, 0.999), eps: typing.SupportsFloat | typing.SupportsIndex = 1e-08, weight_decay: typing.SupportsFloat | typing.SupportsIndex = 0.0, momentum_decay: typing.SupportsFloat | typing.SupportsIndex = 0.004, decoupled_weight_decay: bool = False, *, maximize: bool = False) -> None:
        ...
class RAdam(Optimizer):
    """
    RAdam(params, lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, decoupled_weight_decay=False, maximize=False)
    
    Rectified Adam with PyTorch's update rule (momentum SGD while the variance estimate is unreliable, rho_t <= 5).
    """
    def __init__(self, params: collections.abc.Iterable, lr: typing.SupportsFloat | typing.SupportsIndex = 0.001, betas: tuple[typing.SupportsFloat | typing.SupportsIndex, typing.SupportsFloat | typing.SupportsIndex] = (0.9, 0.999), eps: typing.SupportsFloat | typing.SupportsIndex = 1e-08, weight_decay: typing.SupportsFloat | typing.SupportsIndex = 0.0, decoupled_weight_decay: bool = False, *, maximize: bool = False) -> None:
        ...
class Adadelta(Optimizer):
    """
    Adadelta(params, lr=1.0, rho=0.9, eps=1e-06, weight_decay=0, maximize=False)
    
    Adadelta with PyTorch's update rule.
    """
    def __init__(self, params: collections.abc.Iterable, lr: typing.SupportsFloat | typing.SupportsIndex = 1.0, rho: typing.SupportsFloat | typing.SupportsIndex = 0.9, eps: typing.SupportsFloat | typing.SupportsIndex = 1e-06, weight_decay: typing.SupportsFloat | typing.SupportsIndex = 0.0, *, maximize: bool = False) -> None:
        ...
class LARS(Optimizer):
    """
    LARS(params, lr=0.001, momentum=0.9, weight_decay=0, trust_coefficient=0.001, eps=1e-08, layer_adaptation=True)
    
    Layer-wise adaptive rate scaling (You et al. 2017, algorithm 1): each tensor's rate is lr * trust_coefficient * |w| / (|g| + weight_decay * |w| + eps) (lr where |w| or |g| is 0); v = momentum * v + rate * (g + weight_decay * w); w -= v. Parameter groups with "layer_adaptation": False (biases and norm layers, usually with "weight_decay": 0) take the unscaled rate.
    """
    def __init__(self, params: collections.abc.Iterable, lr: typing.SupportsFloat | typing.SupportsIndex = 0.001, momentum: typing.SupportsFloat | typing.SupportsIndex = 0.9, weight_decay: typing.SupportsFloat | typing.SupportsIndex = 0.0, trust_coefficient: typing.SupportsFloat | typing.SupportsIndex = 0.001, eps: typing.SupportsFloat | typing.SupportsIndex = 1e-08, layer_adaptation: bool = True) -> None:
        ...
class LAMB(Optimizer):
    """
    LAMB(params, lr=0.001, betas=(0.9, 0.999), eps=1e-06, weight_decay=0, layer_adaptation=True)
    
    Layer-wise adaptive moments (You et al. 2019, algorithm 2): u = m_hat / (sqrt(v_hat) + eps) + weight_decay * w with Adam's bias-corrected moments; each tensor steps by lr * |w| / |u| * u (lr * u where |w| or |u| is 0, or in a group with "layer_adaptation": False).
    """
    def __init__(self, params: collections.abc.Iterable, lr: typing.SupportsFloat | typing.SupportsIndex = 0.001, betas: tuple[typing.SupportsFloat | typing.SupportsIndex, typing.SupportsFloat | typing.SupportsIndex] = (0.9, 0.999), eps: typing.SupportsFloat | typing.SupportsIndex = 1e-06, weight_decay: typing.SupportsFloat | typing.SupportsIndex = 0.0, layer_adaptation: bool = True) -> None:
        ...
