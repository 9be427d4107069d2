"""Processes that train one model together (as torch.distributed), on the engines clusters run:
MPI (through mpi4py) for CPU tensors, NCCL for GPU tensors. No transport of convnet's own.

    import convnet.distributed as dist
    dist.init_process_group("mpi")          # under mpiexec -n N (or convnet train --nproc N)
    dist.all_reduce(t)                       # in place, on the tensor's own memory

The rank and world size come from the MPI launcher; `RANK` and `WORLD_SIZE`, where set, must agree
with it. Processes started without a launcher (as torchrun starts them) join through `RANK`,
`WORLD_SIZE`, `MASTER_ADDR` and `MASTER_PORT` (or `init_method="tcp://host:port"`): rank 0 opens an
MPI port and the others connect to it (MPI's dynamic processes; see `_rendezvous.py`, MPICH only).
A process started without a launcher and without a WORLD_SIZE above 1 is a world of one.

Every wait on the other ranks has a deadline (`timeout`, 30 minutes by default, or
$CONVNET_DIST_TIMEOUT seconds) and checks whether
the ranks on this machine are alive, so a lost or stuck rank ends the others with a
`DistributedError` naming it instead of a hang; an exception that ends a rank's program ends that
process (non-zero) after printing which rank raised it, which the launcher reports to the others.
Under MPICH's launcher started with `-disable-auto-cleanup` (as `convnet.distributed.run` does), the
launcher signals the survivors (SIGUSR1) when a rank dies and each raises a `DistributedError` naming
the lost rank; by default mpiexec kills them at once instead.

mpi4py is an optional dependency: `pip install convnet[mpi]` (mpi4py and the MPICH wheel, which
brings `mpiexec`).
"""

import datetime
import os

from .. import _core

__all__ = ["ReduceOp", "DistributedError", "init_process_group", "destroy_process_group", "is_initialized",
           "is_available", "get_rank", "get_world_size", "get_backend", "barrier", "all_reduce", "broadcast",
           "all_gather", "all_gather_object", "broadcast_object_list"]


class DistributedError(RuntimeError):
    """A collective could not complete: a rank was lost, is stuck past the timeout, or disagrees."""


class ReduceOp:
    """Reductions of `all_reduce` (as torch.distributed.ReduceOp)."""

    SUM = "sum"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    AVG = "avg"


_OPS = (ReduceOp.SUM, ReduceOp.PRODUCT, ReduceOp.MIN, ReduceOp.MAX, ReduceOp.AVG)
_DEFAULT_TIMEOUT = 1800.0
_group = None


def is_available():
    """True when mpi4py (and so an MPI library) can be imported."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def _seconds(timeout):
    if timeout is None:
        return float(os.environ.get("CONVNET_DIST_TIMEOUT", _DEFAULT_TIMEOUT))
    if isinstance(timeout, datetime.timedelta):
        timeout = timeout.total_seconds()
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
        raise ValueError(f"init_process_group: timeout must be a positive number of seconds or a timedelta, "
                         f"got {timeout!r}")
    return float(timeout)


def init_process_group(backend="mpi", init_method=None, timeout=None, world_size=-1, rank=-1):
    """Joins this process to the job's group. `backend`: "mpi" (CPU tensors) or "nccl" (one GPU per
    process, `cuda:<local rank>`; bootstrapped through MPI). Under an MPI launcher, `world_size` and
    `rank` (or $WORLD_SIZE and $RANK) are checked against the launcher's. Without one, a `world_size`
    (or $WORLD_SIZE) above 1 joins the processes through rank 0 at `init_method` ("tcp://HOST:PORT";
    None or "env://": $MASTER_ADDR and $MASTER_PORT), each with its `rank` (or $RANK), within
    `timeout`."""
    global _group
    if _group is not None:
        raise RuntimeError("init_process_group: the default process group is already initialized; "
                           "call destroy_process_group() first")
    if init_method is not None and init_method != "env://" and not init_method.startswith("tcp://"):
        raise ValueError(f"init_process_group: init_method {init_method!r} is not supported; use None or 'env://' "
                         f"($MASTER_ADDR and $MASTER_PORT), 'tcp://HOST:PORT', or start the processes with an MPI "
                         f"launcher (mpiexec -n N ..., or convnet train --nproc N)")
    if backend not in ("mpi", "nccl"):
        raise ValueError(f"init_process_group: backend must be 'mpi' or 'nccl', got {backend!r}")
    from ._mpi import MPIGroup, joined_world
    from .run import launched_world_size

    seconds = _seconds(timeout)
    expected_size = world_size if world_size != -1 else int(os.environ.get("WORLD_SIZE", -1))
    expected_rank = rank if rank != -1 else int(os.environ.get("RANK", -1))
    if launched_world_size() == 1 and expected_size > 1:
        if not 0 <= expected_rank < expected_size:
            raise ValueError(f"init_process_group: rank {expected_rank} (argument or $RANK) is not a rank of a world "
                             f"of {expected_size}")
        from ._rendezvous import master_address

        address = master_address(init_method)
        group = MPIGroup(seconds, joined_world(expected_rank, expected_size, address, seconds))
    else:
        group = MPIGroup(seconds)
    if expected_size == -1:
        expected_size = group.size
    if expected_rank == -1:
        expected_rank = group.rank
    if (expected_size, expected_rank) != (group.size, group.rank):
        group.close()
        raise ValueError(
            f"init_process_group: world_size {expected_size} and rank {expected_rank} (arguments or $WORLD_SIZE/"
            f"$RANK) differ from the MPI launcher's {group.size} and {group.rank}; a world of several processes "
            f"is started by an MPI launcher (mpiexec -n {expected_size} ..., or convnet train --nproc "
            f"{expected_size}) or joins through $MASTER_ADDR and $MASTER_PORT")
    if backend == "nccl":
        from ._nccl import NCCLGroup

        try:
            group = NCCLGroup(group)
        except Exception:
            group.close()
            raise
    _group = group
    group.install_handlers(launched=launched_world_size() > 1)


def destroy_process_group():
    """Leaves the group (after a last barrier, so no rank's messages are lost)."""
    global _group
    if _group is None:
        return
    group, _group = _group, None
    group.close()


def is_initialized():
    return _group is not None


def _default_group(who):
    if _group is None:
        raise RuntimeError(f"{who}: the default process group has not been initialized; "
                           f"call convnet.distributed.init_process_group() first")
    return _group


def get_rank():
    """This process's rank (0 when no group is initialized, as a world of one)."""
    return _group.rank if _group is not None else 0


def get_world_size():
    """The number of processes (1 when no group is initialized)."""
    return _group.size if _group is not None else 1


def get_backend():
    return _default_group("get_backend").backend


def barrier():
    _default_group("barrier").barrier()


def _check_tensor(who, t):
    if not isinstance(t, _core.Tensor):
        raise TypeError(f"{who}: expected a convnet Tensor, got {type(t).__name__}")


def all_reduce(tensor, op=ReduceOp.SUM, async_op=False):
    """Reduces `tensor` across ranks in place (every rank ends with the result). With `async_op`
    returns a Work whose `wait()` completes it; the tensor must not be touched until then."""
    _check_tensor("all_reduce", tensor)
    if op not in _OPS:
        raise ValueError(f"all_reduce: op must be one of {_OPS}, got {op!r}")
    work = _default_group("all_reduce").all_reduce(tensor, op)
    return work if async_op else work.wait()


def broadcast(tensor, src=0, async_op=False):
    """Copies rank `src`'s `tensor` into every rank's `tensor`, in place."""
    _check_tensor("broadcast", tensor)
    group = _default_group("broadcast")
    if not 0 <= src < group.size:
        raise ValueError(f"broadcast: src {src} is not a rank of a world of {group.size}")
    work = group.broadcast(tensor, src)
    return work if async_op else work.wait()


def all_gather(tensor_list, tensor, async_op=False):
    """Fills `tensor_list` (world_size tensors shaped as `tensor`) with every rank's `tensor`."""
    _check_tensor("all_gather", tensor)
    group = _default_group("all_gather")
    if len(tensor_list) != group.size:
        raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} tensor(s), expected the world size "
                         f"{group.size}")
    for i, t in enumerate(tensor_list):
        _check_tensor("all_gather", t)
        if tuple(t.shape) != tuple(tensor.shape) or t.dtype != tensor.dtype:
            raise ValueError(f"all_gather: tensor_list[{i}] has shape {tuple(t.shape)} and dtype {t.dtype}, "
                             f"expected {tuple(tensor.shape)} and {tensor.dtype} as the input")
    work = group.all_gather(tensor_list, tensor)
    return work if async_op else work.wait()


def all_gather_object(object_list, obj):
    """Fills `object_list` with every rank's picklable `obj`."""
    group = _default_group("all_gather_object")
    object_list[:] = group.all_gather_object(obj)


def broadcast_object_list(object_list, src=0):
    """Replaces `object_list`'s entries by rank `src`'s."""
    group = _default_group("broadcast_object_list")
    object_list[:] = group.broadcast_object(list(object_list), src)
