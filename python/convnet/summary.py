"""convnet.summary: a Keras-style table of a model's layers, and the memory of a training step.

The memory figures come from what convnet keeps: parameters and buffers, one gradient per trainable
parameter, the optimizer's state (SGD with momentum one buffer per parameter, Adam two, …) and the
activations that autograd saves for backward, measured by running one training step (forward,
loss, backward) at two small batch sizes under the caching allocator's peak counter and scaling the
difference per sample. On the CPU the process's own memory outside convnet's allocator (the
interpreter, the libraries, the data) is added, so that the total compares with the peak resident
size of the process; `fit` compares the estimate with the memory available before its first step.
"""

import os
import re

import numpy as np

from . import _core
from ._tensor import no_grad

_nn = _core.nn


def _macs(module, inp, out):
    """Multiply–accumulate count of one forward of `module` (bias additions not counted)."""
    if isinstance(module, _nn.Conv2d):
        kh, kw = module.kernel_size
        return out.numel() * (module.in_channels // module.groups) * kh * kw
    if isinstance(module, _nn.Conv1d):
        return out.numel() * (module.in_channels // module.groups) * module.kernel_size[0]
    if isinstance(module, _nn.Conv3d):
        return out.numel() * (module.in_channels // module.groups) * int(np.prod(module.kernel_size))
    if isinstance(module, _nn.ConvTranspose2d):  # every input value meets out/groups * kh * kw weights
        kh, kw = module.kernel_size
        return inp.numel() * (module.out_channels // module.groups) * kh * kw
    if isinstance(module, _nn.Linear):
        return out.numel() * module.in_features
    return 0


class ModelSummary:
    """Rows of (name, type, output shape, parameters, MACs) and their totals; `str()` renders them."""

    def __init__(self, rows, total_params, trainable_params, total_macs, input_shape, memory=None):
        self.rows = rows
        self.memory = memory
        self.total_params = total_params
        self.trainable_params = trainable_params
        self.total_macs = total_macs
        self.input_shape = input_shape

    def __str__(self):
        head = ("Layer (type)", "Output shape", "Param #", "MACs")
        body = [(f"{n} ({t})", str(tuple(s)), f"{p:,}", f"{m:,}") for n, t, s, p, m in self.rows]
        widths = [max(len(r[i]) for r in [head] + body) for i in range(4)]
        fmt = "  ".join(["{:<%d}" % widths[0]] + ["{:>%d}" % w for w in widths[1:]])
        rule = "=" * (sum(widths) + 6)
        out = [rule, fmt.format(*head), rule]
        out += [fmt.format(*r) for r in body]
        out += [rule,
                f"Total params: {self.total_params:,}",
                f"Trainable params: {self.trainable_params:,}",
                f"Non-trainable params: {self.total_params - self.trainable_params:,}",
                f"Total MACs: {self.total_macs:,} (for input shape {tuple(self.input_shape)})",
                rule]
        if self.memory is not None:
            out += [str(self.memory), rule]
        return "\n".join(out)

    def __repr__(self):
        return str(self)


def summary(model, input_shape, batch_size=1, print_fn=print, optimizer=None, memory=True, device=None):
    """Runs one forward pass of zeros shaped (batch_size, *input_shape) and tabulates
    each leaf layer's output shape, parameter count and multiply–accumulate count.

    With `memory` (the default) the table ends with the memory of one training step at `batch_size`
    (`estimate_memory`): parameters, gradients, the state of `optimizer` (an optimizer or its name,
    "sgd" counting a momentum buffer), activations, and on the CPU the rest of the process.
    Returns the ModelSummary (its `memory` is the MemoryEstimate), also printed through `print_fn`
    unless it is None.
    """
    rows = []
    handles = []

    def hook_for(name):
        def hook(module, inputs, output):
            params = sum(p.numel() for p in module.parameters(recurse=False))
            rows.append((name or type(module).__name__, type(module).__name__, output.shape, params,
                         _macs(module, inputs[0], output)))
        return hook

    for name, m in model.named_modules():
        if not m.children():
            handles.append(m.register_forward_hook(hook_for(name)))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            model(_core.zeros(*((batch_size,) + tuple(input_shape))))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    params = model.parameters()
    total = int(np.sum([p.numel() for p in params])) if params else 0
    trainable = int(np.sum([p.numel() for p in params if p.requires_grad])) if params else 0
    mem = None
    if memory:
        try:
            mem = estimate_memory(model, input_shape, batch_size, optimizer=optimizer, device=device)
        except (TypeError, ValueError, RuntimeError, AttributeError) as e:
            # a model that cannot take a training step on zeros (its loss needs other targets): the
            # table without the memory, and the reason instead
            mem = _NotEstimated(f"{type(e).__name__}: {e}")
    s = ModelSummary(rows, total, trainable, int(np.sum([r[4] for r in rows])) if rows else 0,
                     (batch_size,) + tuple(input_shape), mem)
    if print_fn is not None:
        print_fn(str(s))
    return s


# Optimizer state per trainable parameter, in copies of the parameter, by optimizer class name:
# a number, or a function of the group's options.
_STATE_COPIES = {
    "sgd": lambda g: 1 if g.get("momentum", 0) else 0,
    "adam": lambda g: 3 if g.get("amsgrad", False) else 2,
    "adamw": lambda g: 3 if g.get("amsgrad", False) else 2,
    "nadam": 2, "radam": 2, "adamax": 2, "adadelta": 2, "lamb": 2,
    "rmsprop": lambda g: 1 + (1 if g.get("momentum", 0) else 0) + (1 if g.get("centered", False) else 0),
    "adagrad": 1, "lars": 1,
}

# The caching allocator takes more from the system than the peak bytes of live tensors: blocks are
# rounded to size classes, freed blocks wait in per-class lists and large blocks are carved from
# 64 MiB segments. benchmarks/memory.py measures this share on LeNet-5, resnet20 and VGG-11.
ALLOCATOR_OVERHEAD = 0.2
# The largest batch of estimate_memory's measurement.
_MEASURE_BATCH = 64


def _mib(b):
    return f"{b / 2**20:,.1f} MiB"


def _tensor_bytes(ts):
    return int(sum(t.numel() * t.element_size() if hasattr(t, "element_size") else t.numel() * _itemsize(t)
                   for t in ts))


def _itemsize(t):
    return {"float64": 8, "int64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "uint8": 1, "bool": 1}[t.dtype.name]


def _state_copies(optimizer, group):
    if optimizer is None:
        return 0
    name = (optimizer if isinstance(optimizer, str) else type(optimizer).__name__).lower()
    if name not in _STATE_COPIES:
        raise ValueError(f"estimate_memory: unknown optimizer {optimizer!r}; name one of "
                         f"{', '.join(sorted(_STATE_COPIES))} or pass the optimizer object")
    rule = _STATE_COPIES[name]
    return rule(group) if callable(rule) else rule


def _optimizer_bytes(model, optimizer):
    """Bytes of the optimizer's state once every trainable parameter has taken a step."""
    if optimizer is None:
        return 0
    if isinstance(optimizer, str):
        opts = {"momentum": 0.9} if optimizer.lower() == "sgd" else {}
        return _state_copies(optimizer, opts) * _tensor_bytes(p for p in model.parameters() if p.requires_grad)
    total = 0
    for g in optimizer.param_groups:
        opts = {k: g[k] for k in ("momentum", "amsgrad", "centered") if k in g}
        total += _state_copies(optimizer, opts) * _tensor_bytes(p for p in g["params"] if p.requires_grad)
    return total


def _rss_bytes():
    """The resident size of this process (VmRSS), or None where /proc is not there."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _trim_heap():
    """Returns the C heap's free memory to the system (glibc's malloc_trim), so that the resident size
    read next does not count what the measurement freed."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def parse_bytes(text):
    """Bytes from "123", "512M", "1.5G", "2GiB", "800k" (powers of 1024)."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([kmgt]?)(i?b)?\s*", str(text), re.IGNORECASE)
    if not m:
        raise ValueError(f"parse_bytes: expected a size such as 2G, 512M or 1048576, got {text!r}")
    return int(float(m.group(1)) * 1024 ** " kmgt".index(m.group(2).lower() or " "))


def _read_int(path):
    try:
        with open(path) as f:
            v = f.read().strip()
        return None if v in ("max", "") else int(v)
    except (OSError, ValueError):
        return None


def available_memory(device="cpu"):
    """(bytes available to this process, where the figure comes from).

    On the CPU: `CONVNET_MEMORY_AVAILABLE` when set (a size such as 2G: what `fit`'s check then
    assumes), else the least of MemAvailable in /proc/meminfo and the room left under the cgroup's
    limit (memory.max less memory.current in cgroup v2, memory.limit_in_bytes less
    memory.usage_in_bytes in v1). On a GPU: the driver's free memory plus the bytes the device's
    caching allocator holds in reserve. None when nothing can be read.
    """
    from . import _core

    dev = _core.device(device) if isinstance(device, str) else device
    if dev.type == "cuda":
        return _cuda_free(dev)
    env = os.environ.get("CONVNET_MEMORY_AVAILABLE")
    if env:
        return parse_bytes(env), "CONVNET_MEMORY_AVAILABLE"
    found = []
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found.append((int(line.split()[1]) * 1024, "MemAvailable in /proc/meminfo"))
    except OSError:
        pass
    for limit, usage in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                         ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                          "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        lim, use = _read_int(limit), _read_int(usage)
        if lim is not None and use is not None and lim < 2**60:
            found.append((max(lim - use, 0), f"the cgroup limit {limit}"))
    return min(found) if found else None


def _cuda_free(dev):
    import ctypes

    from . import cuda

    for lib in ("libcudart.so", "libcudart.so.13", "libcudart.so.12"):
        try:
            rt = ctypes.CDLL(lib)
            break
        except OSError:
            continue
    else:
        return None
    free, total = ctypes.c_size_t(), ctypes.c_size_t()
    prev = cuda.current_device()
    cuda.set_device(dev.index or 0)
    try:
        if rt.cudaMemGetInfo(ctypes.byref(free), ctypes.byref(total)) != 0:
            return None
    finally:
        cuda.set_device(prev)
    s = _core_stats(dev)
    return free.value + s["cached_bytes"], f"the free memory of {dev}"


def _core_stats(dev):
    from . import _core

    return _core.cuda.memory_stats(dev.index or 0) if dev.type == "cuda" else _core.memory_stats()


class MemoryEstimate:
    """The memory of one training step (forward, loss, backward, optimizer step) at `batch_size`.

    Attributes (bytes): `parameters` (parameters and buffers), `gradients`, `optimizer_state`,
    `activations` (what autograd keeps for backward and the step's scratch, with the allocator's
    overhead), `inputs` (one batch of inputs and targets), `runtime` (the rest of the process: the
    interpreter, libraries, data; 0 on a GPU), `total`; `activations_per_sample` and
    `activations_fixed` are the measured slope and intercept of the activations (before the
    allocator's overhead), `measured_at` the batch sizes of the measurement (one size below 4).
    `at(batch_size)` gives the estimate for another batch size; `max_batch_size(bytes)` the largest
    batch whose total fits in that many bytes.
    """

    def __init__(self, batch_size, parameters, gradients, optimizer_state, per_sample, fixed, input_per_sample,
                 runtime, measured_at, device):
        self.batch_size = batch_size
        self.parameters, self.gradients, self.optimizer_state = parameters, gradients, optimizer_state
        self.activations_per_sample, self.activations_fixed = per_sample, fixed
        self.input_per_sample = input_per_sample
        self.runtime = runtime
        self.measured_at = measured_at
        self.device = device

    def at(self, batch_size):
        return MemoryEstimate(batch_size, self.parameters, self.gradients, self.optimizer_state,
                              self.activations_per_sample, self.activations_fixed, self.input_per_sample,
                              self.runtime, self.measured_at, self.device)

    @property
    def activations(self):
        raw = self.activations_fixed + self.activations_per_sample * self.batch_size
        return int(raw * (1 + ALLOCATOR_OVERHEAD))

    @property
    def inputs(self):
        return self.input_per_sample * self.batch_size

    @property
    def total(self):
        return (self.runtime + self.parameters + self.gradients + self.optimizer_state + self.activations
                + self.inputs)

    def max_batch_size(self, budget):
        """The largest batch size whose `total` is at most `budget` bytes (0 if not even one fits)."""
        per = self.activations_per_sample * (1 + ALLOCATOR_OVERHEAD) + self.input_per_sample
        room = budget - self.at(0).total
        if room < per:
            return 0
        return int(room // per) if per > 0 else 2**31

    def __str__(self):
        lines = [f"Memory of a training step, batch size {self.batch_size} ({self.device}):",
                 f"  parameters and buffers: {_mib(self.parameters)}",
                 f"  gradients:              {_mib(self.gradients)}",
                 f"  optimizer state:        {_mib(self.optimizer_state)}",
                 f"  activations:            {_mib(self.activations)} "
                 f"({self.activations_per_sample / 2**10:,.1f} KiB per sample, measured at batch size(s) "
                 f"{' and '.join(map(str, self.measured_at))})",
                 f"  inputs:                 {_mib(self.inputs)}"]
        if self.device == "cpu":
            lines.append(f"  rest of the process:    {_mib(self.runtime)}")
        lines.append(f"  total:                  {_mib(self.total)}")
        return "\n".join(lines)

    def __repr__(self):
        return str(self)


def _default_target(out):
    from . import _core

    if out.ndim == 2:
        return _core.zeros(out.shape[0], dtype=_core.dtype.int64, device=out.device)
    return _core.zeros_like(out)


def _step_bytes(model, loss_fn, x, y, dev):
    """Peak bytes allocated by one forward + loss + backward of `model` on (x, y) beyond what was
    allocated before, and the bytes of the gradients that the step created."""
    from . import _core, functional as F

    if dev.type == "cpu":
        _core.empty_cache()
        _core.reset_peak_memory_stats()
    else:
        _core.cuda.empty_cache()
        _core.cuda.reset_peak_memory_stats(dev.index or 0)
    before = _core_stats(dev)["allocated_bytes"]
    out = model(x)
    if isinstance(out, (tuple, list)):  # auxiliary outputs (GoogLeNet in training mode): the main one
        out = out[0]
    if y is None:
        y = _default_target(out)
    if loss_fn is None:
        loss_fn = F.cross_entropy if y.dtype == _core.dtype.int64 else F.mse_loss
    loss_fn(out, y).backward()
    del out
    peak = _core_stats(dev)["peak_allocated_bytes"] - before
    grads = _tensor_bytes(p.grad for p in model.parameters() if p.grad is not None)
    return peak, grads


def estimate_memory(model, input_shape, batch_size=1, optimizer=None, loss=None, device=None, sample=None,
                    bound=False):
    """The MemoryEstimate of one training step of `model` at `batch_size`.

    The activations are measured, not modelled: one forward, loss and backward runs at two batch sizes
    (64 and 32, or `batch_size` and half of it when smaller, fewer when a probe at 4 shows that 64 would
    take more than a quarter of the available memory) under the allocator's peak counter, on
    zeros shaped (n, *input_shape) (or the first rows of `sample`, an (inputs, targets) pair of tensors
    such as a batch of the loader) with `loss` (cross-entropy on class 0 by default); the difference
    gives the bytes per sample, the rest the fixed part. The model's state is left as it was: its
    gradients, its buffers (batch-norm statistics), its train/eval mode and the random state are
    restored. `optimizer`: an optimizer, or the name of one ("sgd" counts a momentum buffer, "adam"
    two), or None for no state. `device`: where the step runs (default: where the model is).
    `bound`: only the probe at 4 runs, and all its memory counts per sample: an upper bound (the
    convolutions' scratch makes a small batch's share per sample larger), at a fraction of the cost.
    """
    from . import _core

    params = model.parameters()
    dev = _core.device(device) if isinstance(device, str) else device
    if dev is None:
        dev = params[0].device if params else _core.device("cpu")
    limit = batch_size if sample is None else min(batch_size, sample[0].shape[0])
    if sample is not None:
        xs, ys = sample
        input_shape = tuple(xs.shape[1:])
        input_per_sample = (_tensor_bytes([xs]) + _tensor_bytes([ys])) // max(xs.shape[0], 1)
    else:
        input_per_sample = 4 * int(np.prod(input_shape)) + 8

    def batch(n):
        if sample is None:
            return _core.zeros(n, *input_shape, device=dev), None
        return xs.narrow(0, 0, n).contiguous(), ys.narrow(0, 0, n).contiguous()

    runtime = 0
    if dev.type == "cpu":
        # the process outside the tensors, before the measurement touches anything: what the allocator
        # caches then (the untouched rest of its segments, or blocks freed by earlier work) counts here
        # only where it is resident
        _core.empty_cache()
        _trim_heap()
        rss = _rss_bytes()
        runtime = max(rss - _core.memory_stats()["allocated_bytes"], 0) if rss is not None else 0
    was_training = model.training
    saved_grads = [(p, p.grad) for p in params]
    saved_buffers = [(b, b.clone()) for b in model.buffers()]
    rng = _core.get_rng_state()
    measured = {}

    def measure(n):
        if n not in measured:
            for p in params:
                p.grad = None
            measured[n] = _step_bytes(model, loss, *batch(n), dev)
        return measured[n]

    try:
        model.train()
        # A probe at 4 gives a rough size per sample; the measurement then runs at up to 64 (where the
        # convolutions' scratch has stopped growing with the batch) and half that, within a quarter
        # of the available memory. Batches of 1 break batch norm: below 4, one size.
        probe = min(limit, 4)
        rough = max(measure(probe)[0] / probe, 1)
        avail = available_memory(dev)
        room = avail[0] // 4 if avail is not None else 2**62
        b2 = probe if bound else max(probe, min(limit, _MEASURE_BATCH, int(room // rough)))
        sizes = (b2 // 2, b2) if b2 >= 4 and not bound else (b2,)
        for n in sizes:
            measure(n)
    finally:
        for p, g in saved_grads:
            p.grad = g
        with no_grad():
            for b, v in saved_buffers:
                b.copy_(v)
        _core.set_rng_state(rng)
        model.train(was_training)
        if dev.type == "cpu":
            _core.empty_cache()
    if dev.type == "cpu":
        # the first steps also touch the BLAS and OpenMP threads' buffers: the resident size outside
        # the allocator's reserve afterwards, where that is larger
        _trim_heap()
        rss = _rss_bytes()
        s = _core.memory_stats()
        if rss is not None:
            runtime = max(runtime, rss - s["allocated_bytes"] - s["cached_bytes"])
    (p1, g1), (p2, _) = measured[sizes[0]], measured[sizes[-1]]
    b1 = sizes[0]
    per_sample = (p2 - p1) / (b2 - b1) if b2 > b1 else max(p2 - g1, 0) / b2
    fixed = max(p1 - per_sample * b1 - g1, 0)
    gradients = _tensor_bytes(p for p in params if p.requires_grad)
    parameters = _tensor_bytes(params) + _tensor_bytes(model.buffers())
    return MemoryEstimate(batch_size, parameters, gradients, _optimizer_bytes(model, optimizer), per_sample, fixed,
                          input_per_sample, runtime, sizes, str(dev))


class _NotEstimated:
    """Stands for the MemoryEstimate in a summary whose training step could not run."""

    def __init__(self, reason):
        self.reason = reason

    def __str__(self):
        return f"Memory of a training step: not estimated ({self.reason.splitlines()[0]})"


class InsufficientMemoryError(MemoryError):
    """A training step would need more memory than the machine (or the GPU) has available; raised by
    `fit` before its first step. The message gives both figures and the batch size that would fit."""


def check_memory(model, batch_size, optimizer=None, loss=None, device=None, sample=None, input_shape=None,
                 who="fit"):
    """Raises InsufficientMemoryError when the estimated training step of `model` at `batch_size`
    needs more memory than `available_memory(device)`; returns (the MemoryEstimate, the available bytes)."""
    from . import _core

    def need_and_budget(est, room):
        if est.device == "cpu":
            # what the process holds now (the runtime, with the allocator's resident cache, and the
            # tensors) is already in use
            held = est.runtime + _core.memory_stats()["allocated_bytes"]
        else:
            held = _core_stats(_core.device(est.device))["allocated_bytes"]
        return est.total - held, room + held

    # first the cheap upper bound (one probe at 4); the measurement proper only where that does not fit
    est = estimate_memory(model, input_shape, batch_size, optimizer=optimizer, loss=loss, device=device,
                          sample=sample, bound=True)
    avail = available_memory(device if device is not None else est.device)
    if avail is None:
        return est, None
    room, source = avail
    if need_and_budget(est, room)[0] <= room:
        return est, avail
    est = estimate_memory(model, input_shape, batch_size, optimizer=optimizer, loss=loss, device=device,
                          sample=sample)
    need, budget = need_and_budget(est, room)
    if need > room:
        fits = est.max_batch_size(budget)
        advice = (f"a batch size of at most {fits} fits" if fits > 0 else
                  "not even a batch of 1 fits: use a smaller model or convnet.utils.checkpoint")
        raise InsufficientMemoryError(
            f"{who}: a training step at batch size {batch_size} needs about {_mib(need)} more memory, but only "
            f"{_mib(room)} is available ({source}); {advice}.\n{est}\n"
            f"Pass check_memory=False to {who} to skip this check.")
    return est, avail
