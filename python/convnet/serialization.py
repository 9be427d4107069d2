"""save/load of state dicts in the safetensors layout, written atomically."""

import collections
import os

from . import _core


def save(obj, path):
    """Saves a state dict (a mapping of names to tensors) to `path` in the safetensors layout.

    The file is written to a temporary name in the same folder and renamed over
    `path` when complete, so a crash never leaves a half-written file.
    """
    if isinstance(obj, _core.nn.Module):
        raise TypeError("save: pass model.state_dict(), not the module itself")
    if not isinstance(obj, collections.abc.Mapping):
        raise TypeError(f"save: expected a mapping of names to tensors, got {type(obj).__name__}")
    items = []
    for name, value in obj.items():
        if not isinstance(name, str):
            raise TypeError(f"save: keys must be strings, got {name!r}")
        if not isinstance(value, _core.Tensor):
            value = _core.tensor(value, None)
        items.append((name, value.detach()))
    _core._save_safetensors(items, os.fspath(path), {"format": "convnet"})


def load(path):
    """Loads a safetensors file into an OrderedDict of tensors (in file order)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: {path}")
    tensors, _ = _core._load_safetensors(path)
    return collections.OrderedDict(tensors)
