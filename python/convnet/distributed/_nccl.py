"""The NCCL process group: NCCL's collectives (libnccl from the nvidia-nccl-cu13 wheel, through
ctypes) on the device memory of convnet GPU tensors, one GPU per process (`cuda:<local rank>`).
The MPI group bootstraps it (rank 0's NCCL id is broadcast over MPI) and keeps serving barrier()
and the object collectives. A collective waits for the work queued on the tensor's device, runs
on a stream of its own, and `wait()` waits for that stream, polling NCCL's asynchronous error
and the deadline as the MPI waits do.
"""

import ctypes
import glob
import os
import time

from .. import _core
from . import DistributedError

_DTYPES = {"int8": 0, "uint8": 1, "int32": 2, "int64": 4, "float16": 6, "float32": 7, "float64": 8,
           "bfloat16": 9}
_OPS = {"sum": 0, "product": 1, "max": 2, "min": 3, "avg": 4}


class _UniqueId(ctypes.Structure):
    _fields_ = [("internal", ctypes.c_byte * 128)]


def _load(name, candidates):
    for path in candidates:
        try:
            return ctypes.CDLL(path)
        except OSError:
            continue
    raise RuntimeError(f"convnet.distributed: the 'nccl' backend needs {name}; pip install nvidia-nccl-cu13")


def _libnccl():
    import importlib.util

    spec = importlib.util.find_spec("nvidia")
    found = []
    for root in (spec.submodule_search_locations if spec else []):
        found += sorted(glob.glob(os.path.join(root, "nccl", "lib", "libnccl.so*")))
        found += sorted(glob.glob(os.path.join(root, "cu13", "lib", "libnccl.so*")))
    return _load("libnccl.so.2", found + ["libnccl.so.2"])


class Work:
    def __init__(self, group, what, keep):
        self._group, self._what, self._keep = group, what, keep
        self._finished = False

    def is_completed(self):
        if not self._finished and self._group.cudart.cudaStreamQuery(self._group.stream) == 0:
            self._finished, self._keep = True, None
        return self._finished

    def wait(self):
        if not self._finished:
            self._group.wait_stream(self._what)
            self._finished, self._keep = True, None


class NCCLGroup:
    backend = "nccl"

    def __init__(self, mpi):
        if not _core.cuda.is_available():
            raise RuntimeError("init_process_group: backend 'nccl' needs a GPU (convnet.cuda.is_available() is "
                               "False); use backend='mpi' for CPU tensors")
        self.mpi, self.rank, self.size, self.timeout = mpi, mpi.rank, mpi.size, mpi.timeout
        self.nccl = _libnccl()
        self.cudart = _load("the CUDA runtime", ["libcudart.so.13", "libcudart.so.12", "libcudart.so"])
        self.device = mpi.local_rank % _core.cuda.device_count()
        _core.cuda.set_device(self.device)
        self.cudart.cudaSetDevice(self.device)
        uid = _UniqueId()
        if self.rank == 0:
            self._check(self.nccl.ncclGetUniqueId(ctypes.byref(uid)), "ncclGetUniqueId")
        raw = mpi.broadcast_object(bytes(uid.internal), 0)
        ctypes.memmove(uid.internal, raw, 128)
        self.comm = ctypes.c_void_p()
        self._check(self.nccl.ncclCommInitRank(ctypes.byref(self.comm), self.size, uid, self.rank),
                    "ncclCommInitRank")
        self.stream = ctypes.c_void_p()
        self._check_cuda(self.cudart.cudaStreamCreateWithFlags(ctypes.byref(self.stream), 1), "cudaStreamCreate")

    @property
    def local_rank(self):
        return self.mpi.local_rank

    def install_handlers(self, launched):
        self.mpi.install_handlers(launched)

    def _check(self, code, call):
        if code != 0:
            self.nccl.ncclGetErrorString.restype = ctypes.c_char_p
            raise DistributedError(f"convnet.distributed: rank {self.rank}: {call} failed: "
                                   f"{self.nccl.ncclGetErrorString(code).decode()}")

    def _check_cuda(self, code, call):
        if code != 0:
            raise DistributedError(f"convnet.distributed: rank {self.rank}: {call} failed with CUDA error {code}")

    def wait_stream(self, what):
        start = time.monotonic()
        while True:
            code = self.cudart.cudaStreamQuery(self.stream)
            if code == 0:
                return
            if code != 600:  # cudaErrorNotReady
                self._check_cuda(code, what)
            failed = ctypes.c_int(0)
            self.nccl.ncclCommGetAsyncError(self.comm, ctypes.byref(failed))
            self._check(failed.value, what)
            if time.monotonic() - start > self.timeout:
                self.nccl.ncclCommAbort(self.comm)
                raise DistributedError(f"convnet.distributed: rank {self.rank}: {what} did not complete within the "
                                       f"timeout of {self.timeout:g} s; a rank is stuck or lost")
            time.sleep(1e-4)

    def _args(self, t, who):
        if t.device.type != "cuda":
            raise ValueError(f"{who}: the 'nccl' backend takes GPU tensors, got a tensor on {t.device}")
        name = str(t.dtype).split(".")[-1]
        if name not in _DTYPES:
            raise ValueError(f"{who}: NCCL has no {name} type")
        _core.cuda.synchronize(t.device)  # the tensor's pending kernels run on convnet's stream
        return ctypes.c_void_p(t.data_ptr()), ctypes.c_size_t(t.numel()), _DTYPES[name]

    def all_reduce(self, t, op):
        ptr, n, dtype = self._args(t, "all_reduce")
        self._check(self.nccl.ncclAllReduce(ptr, ptr, n, dtype, _OPS[op], self.comm, self.stream), "ncclAllReduce")
        return Work(self, f"all_reduce of shape {tuple(t.shape)}", t)

    def broadcast(self, t, src):
        ptr, n, dtype = self._args(t, "broadcast")
        self._check(self.nccl.ncclBroadcast(ptr, ptr, n, dtype, src, self.comm, self.stream), "ncclBroadcast")
        return Work(self, f"broadcast of shape {tuple(t.shape)}", t)

    def all_gather(self, out, t):
        ptr, n, dtype = self._args(t, "all_gather")
        gathered = _core.empty([self.size] + list(t.shape), dtype=t.dtype, device=t.device)
        self._check(self.nccl.ncclAllGather(ptr, ctypes.c_void_p(gathered.data_ptr()), n, dtype, self.comm,
                                            self.stream), "ncclAllGather")
        work = Work(self, f"all_gather of shape {tuple(t.shape)}", (t, gathered))
        work.wait()
        for r, o in enumerate(out):
            o.copy_(gathered[r])
        return work

    def barrier(self):
        self.mpi.barrier()

    def all_gather_object(self, obj):
        return self.mpi.all_gather_object(obj)

    def broadcast_object(self, obj, src):
        return self.mpi.broadcast_object(obj, src)

    def close(self):
        if self.comm is not None:
            self.wait_stream("destroy_process_group")
            self.nccl.ncclCommDestroy(self.comm)
            self.cudart.cudaStreamDestroy(self.stream)
            self.comm = None
        self.mpi.close()
