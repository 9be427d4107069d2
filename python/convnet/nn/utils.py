"""Gradient clipping and weight regularizers (as torch.nn.utils); the loops run in C++.

`parameters` is a tensor or an iterable of tensors (such as `model.parameters()`)."""

from .. import _core

__all__ = ["clip_grad_norm_", "clip_grad_value_", "l1_penalty", "max_norm_"]


def _tensors(parameters):
    return [parameters] if isinstance(parameters, _core.Tensor) else list(parameters)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scales the gradients in place so that their total norm of order `norm_type` (computed
    as if they were one vector; `float("inf")` for the largest element) is at most
    `max_norm`, and returns that total norm (before clipping) as a tensor. Raises
    RuntimeError for a non-finite total with `error_if_nonfinite`. `foreach` is accepted for
    PyTorch compatibility; there is one implementation."""
    return _core.nn_utils.clip_grad_norm_(_tensors(parameters), float(max_norm), float(norm_type),
                                          bool(error_if_nonfinite))


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamps the gradients in place to [-clip_value, clip_value]. `foreach` is accepted for
    PyTorch compatibility."""
    _core.nn_utils.clip_grad_value_(_tensors(parameters), float(clip_value))


def l1_penalty(parameters):
    """The sum of |w| over `parameters`, differentiable (its gradient is sign(w)):
    `loss = criterion(out, y) + 1e-4 * l1_penalty(model.parameters())`."""
    return _core.nn_utils.l1_penalty(_tensors(parameters))


def max_norm_(parameters_or_weight, max_norm, dim=0):
    """The max-norm constraint, in place: each slice along `dim` of each weight (a row of a
    Linear weight, an output filter of a Conv2d weight for dim=0) whose L2 norm exceeds
    `max_norm` is rescaled to norm `max_norm`, as `weight.copy_(torch.renorm(weight, 2, dim,
    max_norm))`. Call it after `optimizer.step()`; pass weights, not biases."""
    for w in _tensors(parameters_or_weight):
        _core.nn_utils.max_norm_(w, float(max_norm), dim)
