"""Mixed precision, as ``torch.amp``: :class:`autocast` and :class:`GradScaler`.

A training step::

    scaler = convnet.amp.GradScaler()
    for x, y in loader:
        optimizer.zero_grad()
        with convnet.autocast("cuda"):                  # bfloat16 by default
            loss = F.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(optimizer)                          # skipped when a gradient is inf/NaN
        scaler.update()

How convnet's autocast differs from PyTorch's: it changes only the arithmetic of the matrix
products. Under it, conv2d, conv_transpose2d, linear and matmul (and Conv2d, ConvTranspose2d,
Linear) on float32 CUDA tensors cast their operands to the 16-bit type on the fly, multiply
with float32 accumulation, and return float32; their backward multiplies the same way,
wherever it runs. Activations, gradients and the (master) weights stay float32, so every
other op runs in float32 as before. It has no effect on CPU tensors (``device_type="cpu"`` is
accepted and does nothing) nor on float64 tensors. The state is per thread.

bfloat16 has float32's range, so it needs no loss scaling; float16 does: its gradients
underflow below about 6e-8, which :class:`GradScaler` avoids by scaling the loss up and the
gradients back down.
"""

import functools
import warnings

import numpy as np

from . import _core

__all__ = ["autocast", "GradScaler", "is_autocast_enabled", "get_autocast_dtype"]

_FAST_DTYPES = (_core.dtype.bfloat16, _core.dtype.float16)


def is_autocast_enabled(device_type="cuda"):
    """Whether autocast is on for `device_type` on this thread (always False for "cpu")."""
    return device_type == "cuda" and _core.amp.get_autocast()[0]


def get_autocast_dtype(device_type="cuda"):
    """The 16-bit dtype autocast multiplies in for `device_type` on this thread."""
    return _core.amp.get_autocast()[1] if device_type == "cuda" else _core.dtype.bfloat16


class autocast:  # noqa: N801  (torch's name)
    """Runs the matrix products of the enclosed code in 16-bit (see the module's docstring).

    ``with autocast("cuda"):`` or ``@autocast("cuda", dtype=convnet.float16)``; `dtype` is
    convnet.bfloat16 (the default) or convnet.float16; ``enabled=False`` turns autocast off
    inside an autocast region. `cache_enabled` is accepted for PyTorch compatibility (convnet
    casts the weights on the fly, it keeps no cast copies).
    """

    def __init__(self, device_type="cuda", dtype=None, enabled=True, cache_enabled=None):
        if device_type not in ("cuda", "cpu"):
            raise ValueError(f"autocast: device_type must be 'cuda' or 'cpu', got {device_type!r}")
        dtype = _core.dtype.bfloat16 if dtype is None else dtype
        if dtype not in _FAST_DTYPES:
            raise ValueError(f"autocast: dtype must be convnet.bfloat16 or convnet.float16, got {dtype!r}")
        self.device_type = device_type
        self.fast_dtype = dtype
        self.enabled = bool(enabled)
        self._saved = []

    def __enter__(self):
        if self.device_type == "cuda":
            self._saved.append(_core.amp.get_autocast())
            _core.amp.set_autocast(self.enabled, self.fast_dtype)
        return self

    def __exit__(self, *exc):
        if self.device_type == "cuda":
            _core.amp.set_autocast(*self._saved.pop())
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def run(*args, **kwargs):
            with autocast(self.device_type, self.fast_dtype, self.enabled):
                return func(*args, **kwargs)

        return run


_READY, _UNSCALED, _STEPPED = 0, 1, 2


def _f32(v):
    """v rounded to float32 (inf past its range), as PyTorch keeps the scale (a float32 tensor)."""
    with np.errstate(over="ignore"):
        return float(np.float32(v))


class GradScaler:
    """Loss scaling for float16 training, with PyTorch's API and schedule.

    ``scale(loss)`` multiplies by the scale (init_scale = 65536); ``unscale_(optimizer)``
    divides the optimizer's gradients by it in place and records whether any is inf or NaN;
    ``step(optimizer)`` unscales if not done yet and runs ``optimizer.step()`` unless an inf
    or NaN was found; ``update()`` multiplies the scale by backoff_factor (0.5) after a
    skipped step, and by growth_factor (2) after growth_interval (2000) steps in a row
    without one. With ``enabled=False`` every method passes through. As in PyTorch, a scaler
    for device "cuda" disables itself (with a warning) where CUDA is not available.
    """

    def __init__(self, device="cuda", init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        self._device = str(device)
        if enabled and self._device.startswith("cuda") and not _core.cuda.is_available():
            warnings.warn("GradScaler is enabled, but CUDA is not available. Disabling.")
            enabled = False
        self._enabled = bool(enabled)
        if self._enabled:
            if not growth_factor > 1.0:
                raise ValueError(f"GradScaler: growth_factor must be > 1.0, got {growth_factor}")
            if not backoff_factor < 1.0:
                raise ValueError(f"GradScaler: backoff_factor must be < 1.0, got {backoff_factor}")
            if int(growth_interval) <= 0:
                raise ValueError(f"GradScaler: growth_interval must be a positive int, got {growth_interval}")
        self._scale = _f32(init_scale)
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._growth_tracker = 0
        self._states = {}

    def _state(self, optimizer):
        return self._states.setdefault(id(optimizer), {"stage": _READY, "found_inf": {}})

    def scale(self, outputs):
        """outputs (a tensor, or a list or tuple of them, nested) multiplied by the scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, _core.Tensor):
            return outputs * self._scale
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        raise TypeError(f"GradScaler.scale: expected a tensor or a list or tuple of tensors, got "
                        f"{type(outputs).__name__}")

    def unscale_(self, optimizer):
        """Divides the gradients of `optimizer`'s parameters by the scale, in place, and records
        whether any of them is inf or NaN (one kernel per gradient, no synchronization)."""
        if not self._enabled:
            return
        state = self._state(optimizer)
        if state["stage"] == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if state["stage"] == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inv_scale = _f32(1.0 / self._scale)
        grads = {}
        for group in optimizer.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is not None:
                    grads.setdefault(str(g.device), []).append(g)
        found = {}
        for dev, gs in grads.items():
            found[dev] = _core.zeros(1, device=dev)
            _core.amp.unscale_(gs, inv_scale, found[dev])
        state["found_inf"] = found
        state["stage"] = _UNSCALED

    def _found_inf(self, state):
        if "found" not in state:  # read once (a synchronization per device)
            state["found"] = any(f.item() != 0 for f in state["found_inf"].values())
        return state["found"]

    def step(self, optimizer, *args, **kwargs):
        """Unscales (unless unscale_ was called) and runs optimizer.step(*args, **kwargs),
        unless a gradient is inf or NaN; returns what optimizer.step returned, or None."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        state = self._state(optimizer)
        if state["stage"] == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] == _READY:
            self.unscale_(optimizer)
        if not state["found_inf"]:
            raise RuntimeError("GradScaler.step: no inf checks were recorded for this optimizer "
                               "(none of its parameters has a gradient)")
        ret = None
        if not self._found_inf(state):
            ret = optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return ret

    def update(self, new_scale=None):
        """Sets the scale for the next iteration: `new_scale` (a float or a one-element tensor)
        when given, else the schedule of the class docstring. Starts a new iteration."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = _f32(new_scale.item() if isinstance(new_scale, _core.Tensor) else new_scale)
        else:
            checked = [s for s in self._states.values() if s["found_inf"]]
            if not checked:
                raise RuntimeError("GradScaler.update: no inf checks were recorded prior to update "
                                   "(call step() or unscale_() first)")
            if any(self._found_inf(s) for s in checked):
                self._scale = _f32(self._scale * self._backoff_factor)
                self._growth_tracker = 0
            elif self._growth_tracker + 1 == self._growth_interval:
                grown = _f32(self._scale * self._growth_factor)
                if np.isfinite(grown):
                    self._scale = grown
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
        self._states = {}

    def get_scale(self):
        """The current scale (1.0 when disabled)."""
        return self._scale if self._enabled else 1.0

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = int(new_interval)

    def is_enabled(self):
        return self._enabled

    def state_dict(self):
        """PyTorch's keys: scale, growth_factor, backoff_factor, growth_interval,
        _growth_tracker ({} when disabled)."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._scale = _f32(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])
