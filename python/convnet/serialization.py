"""save/load of state dicts in the safetensors layout, written atomically.

Tensors on a GPU are copied to the host to be written, and the file records the device of each
(metadata "convnet.devices"). `load` puts each tensor back on that device where it exists, else on
the CPU, or everything on `map_location` when given (as torch.load)."""

import collections
import json
import os

from . import _core

_DEVICES_KEY = "convnet.devices"


def _map_location(map_location, who):
    """map_location as a convnet.device, or None (each tensor's saved device)."""
    if map_location is None or isinstance(map_location, _core.device):
        return map_location
    if isinstance(map_location, str):
        return _core.device(map_location)
    raise TypeError(f"{who}: map_location must be None, a device name such as 'cpu' or 'cuda:0', or a "
                    f"convnet.device, got {type(map_location).__name__}")


def _restore(t, saved, map_location):
    """Tensor t (loaded on the CPU) on map_location, or on `saved` (its device when it was written,
    a name, None for the CPU) when that device exists here, else on the CPU."""
    if map_location is None:
        if saved is None:
            return t
        d = _core.device(saved)
        if d.type != "cuda" or not _core.cuda.is_available() or d.index >= _core.cuda.device_count():
            return t
        map_location = d
    return t.to(map_location)


def save(obj, path):
    """Saves a state dict (a mapping of names to tensors) to `path` in the safetensors layout.

    The file is written to a temporary name in the same folder and renamed over
    `path` when complete, so a crash never leaves a half-written file.
    """
    if isinstance(obj, _core.nn.Module):
        raise TypeError("save: pass model.state_dict(), not the module itself")
    if not isinstance(obj, collections.abc.Mapping):
        raise TypeError(f"save: expected a mapping of names to tensors, got {type(obj).__name__}")
    items, devices = [], {}
    for name, value in obj.items():
        if not isinstance(name, str):
            raise TypeError(f"save: keys must be strings, got {name!r}")
        if not isinstance(value, _core.Tensor):
            value = _core.tensor(value, None)
        items.append((name, value.detach()))
        if value.device.type != "cpu":
            devices[name] = str(value.device)
    meta = {"format": "convnet"}
    if devices:
        meta[_DEVICES_KEY] = json.dumps(devices)
    _core._save_safetensors(items, os.fspath(path), meta)


def load(path, map_location=None):
    """Loads a state dict into an OrderedDict of tensors (in file order).

    `path` is a safetensors file (convnet's own, or one written by PyTorch or any other
    framework), or a PyTorch `.pth`/`.pt` file holding a state dict (a zip archive read
    through `torch.load(..., weights_only=True)`, so PyTorch must be installed for it).
    `map_location`: the device of every tensor ("cpu", "cuda", "cuda:N" or a convnet.device);
    None (default): the device each tensor was saved from where this machine has it, else the
    CPU (tensors of foreign files are on the CPU).
    """
    map_location = _map_location(map_location, "load")
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: {path}")
    if os.path.isfile(path):
        with open(path, "rb") as f:
            magic = f.read(4)
    else:
        magic = b""
    if magic == b"PK\x03\x04":
        return collections.OrderedDict((k, _restore(t, None, map_location)) for k, t in _load_torch(path).items())
    tensors, meta = _core._load_safetensors(path)
    devices = _saved_devices(meta, path)
    return collections.OrderedDict((k, _restore(t, devices.get(k), map_location)) for k, t in tensors)


def _saved_devices(meta, path):
    """The metadata's {tensor name: device name} ("convnet.devices"), checked."""
    try:
        devices = json.loads(meta.get(_DEVICES_KEY, "{}"))
    except json.JSONDecodeError as e:
        raise _core.SafetensorsError(f"load: {path}: __metadata__.{_DEVICES_KEY}: expected a JSON object of "
                                     f"device names, it is not valid JSON ({e})") from None
    if not isinstance(devices, dict) or not all(isinstance(d, str) and _is_device(d) for d in devices.values()):
        raise _core.SafetensorsError(f"load: {path}: __metadata__.{_DEVICES_KEY}: expected a JSON object of "
                                     f"device names such as \"cuda:0\", got {meta[_DEVICES_KEY][:80]!r}")
    return devices


def _is_device(name):
    try:
        _core.device(name)
    except (ValueError, RuntimeError, TypeError):
        return False
    return True


def _load_torch(path):
    try:
        import torch
    except ImportError:
        raise RuntimeError(f"load: {path} is not a valid safetensors file but a zip archive (a PyTorch file?); "
                           "reading that needs PyTorch installed (pip install torch), or save it as .safetensors"
                           ) from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise _core.SafetensorsError(f"load: {path} is not a valid safetensors file, and PyTorch could not read "
                                     f"it as a state dict: {e}") from None
    if not isinstance(obj, collections.abc.Mapping):
        raise _core.SafetensorsError(f"load: {path} holds a {type(obj).__name__}, expected a state dict "
                                     "(save model.state_dict(), not the model)")
    out = collections.OrderedDict()
    for name, value in obj.items():
        if not isinstance(value, torch.Tensor):
            raise _core.SafetensorsError(f"load: {path}: entry {name!r} is of type {type(value).__name__}, expected "
                                         "a tensor (is this a checkpoint holding more than a state dict?)")
        if value.dtype == torch.bfloat16 or value.dtype == torch.float16:
            value = value.float()
        out[name] = _core.tensor(value.detach().contiguous().numpy(), None)
    return out
