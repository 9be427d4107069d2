"""Tensor construction and autograd switches."""

import functools

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


class _GradMode:
    _enabled = False

    def __enter__(self):
        self._prev = _core.is_grad_enabled()
        _core.set_grad_enabled(self._enabled)
        return self

    def __exit__(self, *exc):
        _core.set_grad_enabled(self._prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Context manager (and decorator) that disables gradient recording."""

    _enabled = False


class enable_grad(_GradMode):
    """Context manager (and decorator) that enables gradient recording."""

    _enabled = True
