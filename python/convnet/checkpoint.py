"""Training checkpoints: a nested state (dicts, lists, tuples, numbers, strings, None, convnet
tensors and NumPy arrays) in one safetensors file, written atomically.

Each tensor (and NumPy array) of the state is stored as a named tensor of the file, under its path
in the state (`model.conv1.weight`, `optimizer.state.0.momentum_buffer`, …), so that other tools
open the weights; everything else is JSON in the file's metadata under `convnet.checkpoint`, with
references to those tensors. Python floats pass through JSON's shortest round-trip form, so they
come back bit for bit. Tensors on a GPU are copied to the host to be written and record their
device; `load_checkpoint` restores them as `convnet.load` does (`map_location`)."""

import json
import os

import numpy as np

from . import _core
from .serialization import _map_location, _restore

__all__ = ["load_checkpoint", "save_checkpoint", "is_checkpoint"]

_META_KEY = "convnet.checkpoint"
# NumPy dtypes stored as another safetensors dtype (the core has no 32-bit integers), restored on load
_WIDENED = {"uint32": "int64", "int32": "int64", "uint16": "int64", "int16": "int64", "int8": "int64",
            "float16": "float32"}


def _join(path, key):
    return f"{path}.{key}" if path else str(key)


def _encode(obj, path, tensors):
    if isinstance(obj, _core.Tensor):
        tensors.append((path, obj.detach()))
        if obj.device.type != "cpu":
            return {"__tensor__": path, "device": str(obj.device)}
        return {"__tensor__": path}
    if isinstance(obj, np.ndarray):
        name = obj.dtype.name
        arr = np.ascontiguousarray(obj.astype(_WIDENED[name]) if name in _WIDENED else obj)
        tensors.append((path, _core.from_numpy(arr).clone()))
        return {"__ndarray__": path, "dtype": name}
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, _join(path, i), tensors) for i, v in enumerate(obj)]
        return {"__tuple__": items} if isinstance(obj, tuple) else items
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj) and not any(k.startswith("__") for k in obj):
            return {k: _encode(v, _join(path, k), tensors) for k, v in obj.items()}
        for k in obj:
            if not isinstance(k, (str, int, bool)) or isinstance(k, bool):
                raise TypeError(f"save_checkpoint: dict keys must be str or int, got {k!r} at {path}")
        return {"__items__": [[k, _encode(v, _join(path, k), tensors)] for k, v in obj.items()]}
    raise TypeError(f"save_checkpoint: cannot store a {type(obj).__name__} (at {path or 'the top'}); "
                    f"a state holds dicts, lists, tuples, numbers, strings, None, tensors and arrays")


def _decode(obj, tensors, file, map_location):
    if isinstance(obj, list):
        return [_decode(v, tensors, file, map_location) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tensor__" in obj or "__ndarray__" in obj:
        key = obj.get("__tensor__", obj.get("__ndarray__"))
        if key not in tensors:
            raise ValueError(f"load_checkpoint: {file}: the metadata names tensor {key!r}, "
                             f"which the file does not hold")
        t = tensors[key]
        if "__ndarray__" in obj:
            return t.numpy().astype(obj["dtype"])
        return _restore(t, obj.get("device"), map_location)
    if "__tuple__" in obj:
        return tuple(_decode(v, tensors, file, map_location) for v in obj["__tuple__"])
    if "__items__" in obj:
        return {k: _decode(v, tensors, file, map_location) for k, v in obj["__items__"]}
    return {k: _decode(v, tensors, file, map_location) for k, v in obj.items()}


def save_checkpoint(state, path):
    """Writes the nested `state` to `path` (a temporary file in the same folder, then a rename)."""
    if not isinstance(state, dict):
        raise TypeError(f"save_checkpoint: expected a dict, got {type(state).__name__}")
    tensors = []
    meta = json.dumps(_encode(state, "", tensors), allow_nan=True)
    names = [k for k, _ in tensors]
    if len(set(names)) != len(names):
        dup = next(k for k in names if names.count(k) > 1)
        raise ValueError(f"save_checkpoint: two tensors of the state have the same path {dup!r}")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    _core._save_safetensors(tensors, path, {"format": "convnet", _META_KEY: meta})


def _read(path):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load_checkpoint: no such file: {path}")
    tensors, meta = _core._load_safetensors(path)
    return path, dict(tensors), meta


def is_checkpoint(path):
    """Whether the safetensors file at `path` is a training checkpoint (not plain weights)."""
    return _META_KEY in _read(path)[2]


def load_checkpoint(path, map_location=None):
    """The nested state that `save_checkpoint` wrote to `path`. `map_location`: the device of every
    tensor ("cpu", "cuda", "cuda:N" or a convnet.device); None (default): the device each tensor
    was saved from where this machine has it, else the CPU."""
    map_location = _map_location(map_location, "load_checkpoint")
    path, tensors, meta = _read(path)
    if _META_KEY not in meta:
        raise ValueError(f"load_checkpoint: {path} holds tensors but no training state (no "
                         f"'{_META_KEY}' metadata); load plain weights with convnet.load")
    try:
        state = json.loads(meta[_META_KEY])
    except json.JSONDecodeError as e:
        raise ValueError(f"load_checkpoint: {path}: the training state is not valid JSON ({e})") from None
    return _decode(state, tensors, path, map_location)
