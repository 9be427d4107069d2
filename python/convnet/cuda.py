"""CUDA devices, as ``torch.cuda``: availability, the current device, synchronization
and the caching allocator's statistics. In a build without CUDA, ``is_available()``
is False and ``device_count()`` 0; the rest raises "convnet was built without CUDA".
"""

from . import _core

_c = _core.cuda


def is_available():
    """True when convnet was built with CUDA and a GPU is present."""
    return _c.is_available()


def device_count():
    return _c.device_count()


def current_device():
    return _c.current_device()


def set_device(device):
    """Makes `device` (an index, "cuda:N" or a convnet.device) the current one."""
    _c.set_device(device)


def get_device_name(device=None):
    return _c.get_device_name(device)


def synchronize(device=None):
    """Waits until all work queued on the device has finished."""
    _c.synchronize(device)


def memory_allocated(device=None):
    """Bytes held by live tensors on the device (rounded to the allocator's size classes)."""
    return _c.memory_stats(device)["allocated_bytes"]


def max_memory_allocated(device=None):
    """The high-water mark of memory_allocated since start or reset_peak_memory_stats."""
    return _c.memory_stats(device)["peak_allocated_bytes"]


def memory_reserved(device=None):
    """Bytes taken from the driver: in live tensors plus cached for reuse."""
    s = _c.memory_stats(device)
    return s["allocated_bytes"] + s["cached_bytes"]


def reset_peak_memory_stats(device=None):
    _c.reset_peak_memory_stats(device)


def empty_cache():
    """Returns the allocator's cached blocks to the driver."""
    _c.empty_cache()


def manual_seed(seed):
    """Seeds the generator; convnet draws every device's random numbers from the one
    global generator, so this is convnet.manual_seed."""
    _core.manual_seed(seed)


manual_seed_all = manual_seed

__all__ = [
    "is_available", "device_count", "current_device", "set_device", "get_device_name", "synchronize",
    "memory_allocated", "max_memory_allocated", "memory_reserved", "reset_peak_memory_stats",
    "empty_cache", "manual_seed", "manual_seed_all",
]
