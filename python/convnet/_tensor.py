"""Tensor construction and autograd switches."""

import copy
import functools

import numpy as np

from . import _core


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of `data` (array-like, NumPy array or Tensor) on
    `device` (default the CPU).

    Python floats become float32 and Python ints int64, as in PyTorch; NumPy
    arrays keep their dtype unless `dtype` is given.
    """
    t = _core.tensor(data, dtype, device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Integers drawn uniformly from [low, high) (randint(high, size) draws from [0, high)), of
    dtype int64 by default, from the global generator (convnet.manual_seed), as torch.randint."""
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint() missing the required argument 'size'")
    if generator is not None:
        raise ValueError("randint: generator is not supported; seed the global generator with convnet.manual_seed")
    low, high = int(low), int(high)
    if low >= high:
        raise ValueError(f"randint: expected low < high, got low={low}, high={high}")
    size = (size,) if isinstance(size, int) else tuple(size)
    u = _core.rand(*size, dtype=_core.dtype.float64).numpy()
    values = np.minimum(np.floor(u * (high - low)), high - low - 1).astype(np.int64) + low
    t = _core.tensor(values, _core.dtype.int64 if dtype is None else dtype, device)
    if requires_grad:
        t.requires_grad_(True)
    return t


class _ModeSwitch:
    """A context manager that sets a thread's mode (read by `_get`, set by `_set` to `_value()`) and
    restores it, and a decorator, with or without parentheses (@no_grad and @no_grad() alike)."""

    def __new__(cls, *args, **kwargs):
        if len(args) == 1 and not kwargs and callable(args[0]) and not isinstance(args[0], bool):
            return cls()(args[0])  # used as @cls without parentheses
        return super().__new__(cls)

    def _value(self):
        raise NotImplementedError

    def __enter__(self):
        self._prev = self._get()
        self._set(self._value())
        return self

    def __exit__(self, *exc):
        self._set(self._prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with copy.copy(self):
                return fn(*args, **kwargs)

        return wrapper


class _GradMode(_ModeSwitch):
    _enabled = False
    _get = staticmethod(_core.is_grad_enabled)
    _set = staticmethod(_core.set_grad_enabled)

    def _value(self):
        return self._enabled


class no_grad(_GradMode):
    """Context manager (and decorator) that disables gradient recording."""

    _enabled = False


class enable_grad(_GradMode):
    """Context manager (and decorator) that enables gradient recording."""

    _enabled = True


class inference_mode(_GradMode):
    """Context manager (and decorator) for inference: gradient recording off (mode=True), as
    torch.inference_mode; inference_mode(False) leaves it as it is."""

    def __init__(self, mode=True):
        self.mode = mode

    def _value(self):
        return False if self.mode else self._get()
