"""Data-parallel training across processes (as torch.nn.parallel.DistributedDataParallel)."""

import contextlib
import time
import weakref

import numpy as np

from .. import _core
from .. import distributed as dist
from .._tensor import no_grad

__all__ = ["DistributedDataParallel"]

_FIRST_BUCKET_BYTES = 1 << 20  # the first bucket (the last layers' gradients) small, as torch's


def _view(t):
    """A NumPy array on the memory of the CPU tensor `t` (no copy)."""
    return np.asarray(memoryview(t))


class _Bucket:
    """Gradients averaged by one all-reduce: a flat buffer and, per parameter, its slice."""

    def __init__(self, params, dtype):
        self.params = params  # [(index, Parameter)]
        self.offsets, n = [], 0
        for _, p in params:
            self.offsets.append(n)
            n += p.numel()
        self.flat = np.empty(n, dtype)
        self.ready = 0
        self.work = None


class _Reducer:
    """Copies each gradient into its bucket when autograd has accumulated it, starts a bucket's
    all-reduce (non-blocking) as soon as its last gradient arrives (buckets in a fixed order, the
    same on every rank, as MPI requires), and when the last bucket has started waits for them all
    and writes the averages back into the .grad tensors. GPU parameters (NCCL) have no buckets:
    each gradient is averaged in place as it arrives."""

    def __init__(self, params, bucket_bytes, names):
        self.names = names
        self.world = dist.get_world_size()
        self.buckets, self.where = [], {}
        self.on_device = bool(params) and params[0].device.type == "cuda"
        self.device_works = []
        current, size, cap = [], 0, min(_FIRST_BUCKET_BYTES, bucket_bytes)
        # gradients arrive roughly in reverse order of the parameters: the buckets follow it
        for i, p in reversed(list(enumerate(params))):
            if self.on_device:
                self.where[i] = None
                continue
            if current and (size + _view(p).nbytes > cap or current[-1][1].dtype != p.dtype):
                self._add_bucket(current)
                current, size, cap = [], 0, bucket_bytes
            current.append((i, p))
            size += _view(p).nbytes
        if current:
            self._add_bucket(current)
        self.overlap = True  # False starts every all-reduce after backward (benchmarks/ddp_scaling.py)
        self.wait_s = 0.0  # time spent waiting for all-reduces to finish, summed over steps
        self.reset(sync=False)

    def _add_bucket(self, params):
        b = len(self.buckets)
        for k, (i, _) in enumerate(params):
            self.where[i] = (b, k)
        self.buckets.append(_Bucket(params, _view(params[0][1]).dtype))

    def reset(self, sync):
        self.sync = sync
        self.launched = 0
        self.seen = set()
        for b in self.buckets:
            b.ready, b.work = 0, None

    @property
    def finished(self):
        return not self.sync or len(self.seen) == len(self.where)

    def unreduced(self):
        return [self.names[i] for i in sorted(self.where) if i not in self.seen]

    def grad_ready(self, index, param):
        if not self.sync:
            return
        if index in self.seen:
            raise RuntimeError(f"DistributedDataParallel: parameter {self.names[index]!r} received a gradient twice "
                               f"in one step (a second backward without a forward through the model in between); "
                               f"use no_sync() for gradient accumulation")
        self.seen.add(index)
        if self.on_device:  # NCCL: each gradient averaged in place as it arrives, in the same order on every rank
            self.device_works.append(dist.all_reduce(param.grad, dist.ReduceOp.AVG, async_op=True))
            if len(self.seen) == len(self.where):
                self._finish()
            return
        b, k = self.where[index]
        bucket = self.buckets[b]
        off = bucket.offsets[k]
        bucket.flat[off:off + param.numel()] = _view(param.grad).reshape(-1)
        bucket.ready += 1
        if bucket.ready == len(bucket.params):
            if self.overlap:
                self._launch_ready()
            if len(self.seen) == len(self.where):
                self._finish()
        elif self.overlap and self.launched:
            for started in self.buckets[:self.launched]:  # MPI progresses requests when it is called
                if started.work is not None:
                    started.work.is_completed()

    def _launch_ready(self):
        while self.launched < len(self.buckets) and self.buckets[self.launched].ready == len(
                self.buckets[self.launched].params):
            b = self.buckets[self.launched]
            b.work = dist._default_group("DistributedDataParallel").all_reduce(_core.from_numpy(b.flat), "sum")
            self.launched += 1

    def _finish(self):
        start = time.perf_counter()
        if self.on_device:
            for work in self.device_works:
                work.wait()
            self.device_works = []
            self.wait_s += time.perf_counter() - start
            return
        self._launch_ready()
        for b in self.buckets:
            b.work.wait()
        self.wait_s += time.perf_counter() - start
        for b in self.buckets:
            b.work = None
            b.flat /= self.world
            for (_, p), off in zip(b.params, b.offsets):
                g = _view(p.grad)
                g[...] = b.flat[off:off + g.size].reshape(g.shape)


def _hook(reducer_ref, index):
    def hook(param):
        reducer = reducer_ref()
        if reducer is not None:
            reducer.grad_ready(index, param)
    return hook


class DistributedDataParallel(_core.nn.Module):
    """Wraps `module` for data-parallel training: at construction every rank checks that its
    parameters and buffers have rank 0's names, shapes and dtypes (a ValueError names the first that
    differs) and takes rank 0's values; in training each rank runs forward and backward on its own
    batch, and the gradients are averaged across ranks during backward: gradients go into buckets
    of about `bucket_cap_mb` (the first 1 MB), and a bucket's all-reduce starts as soon as its last
    gradient is accumulated, while the rest of backward runs. After backward every rank holds the
    same averaged gradients, so the same optimizer steps keep the replicas equal. Buffers (batch
    norm statistics) are broadcast from rank 0 before each forward in training when
    `broadcast_buffers`. `no_sync()` skips the averaging for gradient accumulation.

    `module` is the wrapped model; `state_dict()` keys start with "module." as torch's.
    `device_ids`/`output_device` are accepted for torch's signature (one device per process: the
    module's own). Every parameter that requires grad must get a gradient in each synchronized step
    (`find_unused_parameters=True` is not supported)."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=25, find_unused_parameters=False,
                 gradient_as_bucket_view=False):
        super().__init__()
        if not dist.is_initialized():
            raise RuntimeError("DistributedDataParallel: the default process group has not been initialized; "
                               "call convnet.distributed.init_process_group() first")
        if process_group is not None:
            raise ValueError("DistributedDataParallel: only the default process group is supported")
        if find_unused_parameters:
            raise ValueError("DistributedDataParallel: find_unused_parameters=True is not supported; every "
                             "parameter that requires grad must receive a gradient in each step")
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.require_backward_grad_sync = True
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        self._check_replicas(module)
        with no_grad():
            for _, t in list(module.named_parameters()) + list(module.named_buffers()):
                dist.broadcast(t, 0)
        bucket_bytes = max(int(bucket_cap_mb * (1 << 20)), 1)
        self._reducer = _Reducer([p for _, p in named], bucket_bytes, [n for n, _ in named])
        ref = weakref.ref(self._reducer)
        self._hooks = [p.register_post_accumulate_grad_hook(_hook(ref, i)) for i, (_, p) in enumerate(named)]

    @staticmethod
    def _check_replicas(module):
        mine = [(kind, n, tuple(t.shape), str(t.dtype)) for kind, items in
                (("parameter", module.named_parameters()), ("buffer", module.named_buffers())) for n, t in items]
        everyone = [None] * dist.get_world_size()
        dist.all_gather_object(everyone, mine)
        reference = everyone[0]
        for rank, theirs in enumerate(everyone[1:], 1):
            for a, b in zip(reference, theirs):
                if a != b:
                    raise ValueError(f"DistributedDataParallel: the replicas differ: rank 0 has {a[0]} {a[1]!r} of "
                                     f"shape {a[2]} ({a[3]}), rank {rank} has {b[0]} {b[1]!r} of shape {b[2]} "
                                     f"({b[3]})")
            if len(reference) != len(theirs):
                extra = (reference if len(reference) > len(theirs) else theirs)[min(len(reference), len(theirs))]
                raise ValueError(f"DistributedDataParallel: the replicas differ: rank 0 has {len(reference)} "
                                 f"parameters and buffers, rank {rank} has {len(theirs)} (first unmatched: {extra[0]} "
                                 f"{extra[1]!r})")

    def forward(self, *args, **kwargs):
        reducer = self._reducer
        if not reducer.finished:
            raise RuntimeError("DistributedDataParallel: the previous step's gradient averaging did not finish: "
                               "these parameters received no gradient: " + ", ".join(reducer.unreduced()[:10]) +
                               "; every parameter that requires grad must take part in the loss")
        training = self.training and _core.is_grad_enabled()
        if self.training and self.broadcast_buffers and dist.get_world_size() > 1:
            with no_grad():
                for _, b in self.module.named_buffers():
                    dist.broadcast(b, 0)
        reducer.reset(sync=training and self.require_backward_grad_sync and dist.get_world_size() > 1)
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Steps inside accumulate their gradients locally; the first step outside averages the sum."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    def __repr__(self):
        return f"DistributedDataParallel(\n  (module): {self.module!r}\n)"
