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
import re

import numpy as np

from . import _core
from .serialization import _is_device, _map_location, _restore

__all__ = ["CheckpointError", "load_checkpoint", "save_checkpoint", "is_checkpoint"]


class CheckpointError(_core.SafetensorsError):
    """A checkpoint file is corrupt, truncated or not a training checkpoint: the message names the
    file, the field and what was expected. A SafetensorsError (so a ValueError)."""

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


def _decode(obj, tensors, file, map_location, where="state"):
    def bad(what):
        return CheckpointError(f"load_checkpoint: {file}: {where}: {what}")

    if isinstance(obj, list):
        return [_decode(v, tensors, file, map_location, f"{where}[{i}]") for i, v in enumerate(obj)]
    if not isinstance(obj, dict):
        return obj
    if "__tensor__" in obj or "__ndarray__" in obj:
        key = obj.get("__tensor__", obj.get("__ndarray__"))
        if not isinstance(key, str) or key not in tensors:
            raise bad(f"the metadata names tensor {key!r}, which the file does not hold")
        t = tensors[key]
        if "__ndarray__" in obj:
            dtype = obj.get("dtype")
            if not isinstance(dtype, str) or not _is_numpy_dtype(dtype):
                raise bad(f"expected a NumPy dtype name for array {key!r}, got {dtype!r}")
            return t.numpy().astype(dtype)
        device = obj.get("device")
        if device is not None and not (isinstance(device, str) and _is_device(device)):
            raise bad(f"expected a device name for tensor {key!r}, got {device!r}")
        return _restore(t, device, map_location)
    if "__tuple__" in obj:
        if not isinstance(obj["__tuple__"], list):
            raise bad(f"expected a list of the tuple's items, got {type(obj['__tuple__']).__name__}")
        return tuple(_decode(v, tensors, file, map_location, f"{where}[{i}]") for i, v in enumerate(obj["__tuple__"]))
    if "__items__" in obj:
        items = obj["__items__"]
        if not isinstance(items, list) or not all(
                isinstance(kv, list) and len(kv) == 2 and isinstance(kv[0], (str, int)) and not isinstance(kv[0], bool)
                for kv in items):
            raise bad("expected a list of [key, value] pairs with str or int keys")
        return {k: _decode(v, tensors, file, map_location, f"{where}[{k!r}]") for k, v in items}
    return {k: _decode(v, tensors, file, map_location, f"{where}.{k}") for k, v in obj.items()}


def _is_numpy_dtype(name):
    """Whether `name` is the name of a bool or numeric NumPy dtype, as save_checkpoint writes them.
    Other strings never reach np.dtype, whose parser evaluates some of them (a fuzzed "f,(" raised
    SyntaxError) and reads others as structured dtypes."""
    if not re.fullmatch(r"[a-z]+[0-9]*", name):
        return False
    try:
        dtype = np.dtype(name)
    except (TypeError, ValueError):
        return False
    return dtype.name == name and dtype.kind in "biufc"


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
    try:
        tensors, meta = _core._load_safetensors(path)
    except _core.SafetensorsError as e:
        raise CheckpointError(str(e).replace("load: ", "load_checkpoint: ", 1)) from None
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
        raise CheckpointError(f"load_checkpoint: {path} holds tensors but no training state (no "
                         f"'{_META_KEY}' metadata); load plain weights with convnet.load")
    try:
        state = json.loads(meta[_META_KEY])
    except (json.JSONDecodeError, RecursionError) as e:
        raise CheckpointError(f"load_checkpoint: {path}: __metadata__.{_META_KEY}: expected the training state "
                              f"as JSON, it is not valid JSON ({e})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"load_checkpoint: {path}: __metadata__.{_META_KEY}: expected a JSON object, got "
                              f"{type(state).__name__}")
    return _decode(state, tensors, path, map_location)
