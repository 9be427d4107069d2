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
    """Loads a state dict into an OrderedDict of tensors (in file order).

    `path` is a safetensors file (convnet's own, or one written by PyTorch or any other
    framework), or a PyTorch `.pth`/`.pt` file holding a state dict (a zip archive read
    through `torch.load(..., weights_only=True)`, so PyTorch must be installed for it).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: {path}")
    if os.path.isfile(path):
        with open(path, "rb") as f:
            magic = f.read(4)
    else:
        magic = b""
    if magic == b"PK\x03\x04":
        return _load_torch(path)
    tensors, _ = _core._load_safetensors(path)
    return collections.OrderedDict(tensors)


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
        raise RuntimeError(f"load: {path} is not a valid safetensors file, and PyTorch could not read it "
                           f"as a state dict: {e}") from None
    if not isinstance(obj, collections.abc.Mapping):
        raise ValueError(f"load: {path} holds a {type(obj).__name__}, expected a state dict "
                         "(save model.state_dict(), not the model)")
    out = collections.OrderedDict()
    for name, value in obj.items():
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"load: {path}: entry {name!r} is of type {type(value).__name__}, expected a tensor "
                             "(is this a checkpoint holding more than a state dict?)")
        if value.dtype == torch.bfloat16 or value.dtype == torch.float16:
            value = value.float()
        out[name] = _core.tensor(value.detach().contiguous().numpy(), None)
    return out
