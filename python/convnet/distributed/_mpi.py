"""The MPI process group: mpi4py collectives on the memory of convnet CPU tensors (their buffer
protocol, no copy), non-blocking requests polled against a deadline."""

import atexit
import faulthandler
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np

from . import DistributedError
from ._watchdog import alive as _alive

_PEER_CHECK_S = 0.5  # how often a wait checks that the ranks on this machine are alive
_SPIN_S = 0.01  # how long a wait polls without pausing where every rank on this machine has a core
_EXIT_GRACE_S = 2.0  # how long a rank reported dead may still show as a running process


def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise RuntimeError("convnet.distributed: the 'mpi' backend needs mpi4py and an MPI library: "
                           "pip install mpi4py mpich (or pip install convnet[mpi])") from e
    return MPI


def joined_world(rank, size, address, timeout):
    """The communicator of `size` processes started without an MPI launcher, joined through rank 0
    at `address` (see _rendezvous.py). MPI must not be initialized yet in this process."""
    if "mpi4py.MPI" in sys.modules and sys.modules["mpi4py.MPI"].Is_initialized():
        raise RuntimeError("init_process_group: MPI was initialized in this process before init_process_group "
                           "(by importing mpi4py.MPI); processes joined through $MASTER_ADDR need it uninitialized "
                           "until then")
    from . import _rendezvous

    _rendezvous.start_process_manager()
    try:
        MPI = _import_mpi()
    finally:
        for k in ("PMI_FD", "PMI_RANK", "PMI_SIZE"):  # not for processes this one starts
            os.environ.pop(k, None)
    return _rendezvous.connect(MPI, rank, size, address, timeout)


class Work:
    """A collective in flight (as torch's Work): `wait()` completes it, `is_completed()` polls."""

    def __init__(self, group, request, what, done=None, keep=None):
        self._group, self._request, self._what, self._done = group, request, what, done
        self._keep = keep  # the buffers MPI reads or writes until the request completes
        self._finished = False

    def is_completed(self):
        if not self._finished and self._request.Test():
            self._finish()
        return self._finished

    def _finish(self):
        self._finished = True
        if self._done is not None:
            self._done()
        self._keep = None

    def wait(self):
        if not self._finished:
            self._group.wait(self._request, self._what)
            self._finish()


def _buffer(t, who):
    if t.device.type != "cpu":
        raise ValueError(f"{who}: the 'mpi' backend takes CPU tensors, got a tensor on {t.device}; use "
                         f"backend='nccl' for GPU tensors")
    return np.asarray(memoryview(t))


class MPIGroup:
    backend = "mpi"

    def __init__(self, timeout, comm=None):
        """The group of MPI_COMM_WORLD, or of `comm` (which it takes over)."""
        MPI = _import_mpi()
        self.MPI = MPI
        self.timeout = timeout
        self.comm = MPI.COMM_WORLD.Dup() if comm is None else comm
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.host = socket.gethostname()
        self.peers = self.comm.allgather((self.host, os.getpid()))
        self.local_rank = [h for h, _ in self.peers[:self.rank]].count(self.host)
        local_ranks = [h for h, _ in self.peers].count(self.host)
        self._spin_s = _SPIN_S if local_ranks <= len(os.sched_getaffinity(0)) else 0.0
        self._ops = {"sum": MPI.SUM, "avg": MPI.SUM, "product": MPI.PROD, "min": MPI.MIN, "max": MPI.MAX}
        self._excepthook = self._sighandler = self._watchdog = None
        rundir = os.environ.get("CONVNET_DIST_RUNDIR")
        if rundir:  # for convnet's launcher, which names a lost rank by its pid
            with open(os.path.join(rundir, f"rank{self.rank}"), "w") as f:
                f.write(f"{os.getpid()} {self.host}\n")

    # waiting
    def _lost_peer(self, grace=0.0):
        """(rank, host, pid) of a rank on this machine whose process has ended, looking for `grace`
        seconds; None when all run."""
        deadline = time.monotonic() + grace
        while True:
            for r, (host, pid) in enumerate(self.peers):
                if r != self.rank and host == self.host and not _alive(pid):
                    return r, host, pid
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.01)

    def wait(self, request, what):
        """Completes `request`, raising DistributedError when a rank on this machine is gone or the
        timeout passes. MPI progresses a collective only inside its calls, so a rank that pauses
        between polls delays every round of the collective for all: where each rank on this machine
        has a core of its own, it polls without pausing for the first 10 ms (an all-reduce of LeNet-5's
        gradients takes 60 us; with pauses, milliseconds). After that, or from the start where the ranks
        share cores, it pauses between polls (20 us growing to 1 ms), leaving the cores to the ranks
        still computing."""
        try:
            if request.Test():
                return
            start = time.monotonic()
            check, pause = start + _PEER_CHECK_S, 2e-5
            while not request.Test():
                now = time.monotonic()
                if now >= check:
                    lost = self._lost_peer()
                    if lost is not None:
                        r, host, pid = lost
                        raise DistributedError(f"convnet.distributed: rank {self.rank}: rank {r} (pid {pid} on "
                                               f"{host}) is gone; {what} cannot complete")
                    check = now + _PEER_CHECK_S
                if now - start > self.timeout:
                    raise DistributedError(f"convnet.distributed: rank {self.rank}: {what} did not complete within "
                                           f"the timeout of {self.timeout:g} s; a rank is stuck or lost")
                if now - start < self._spin_s:
                    continue
                time.sleep(pause)
                pause = min(2 * pause, 1e-3)
        except self.MPI.Exception as e:
            raise DistributedError(f"convnet.distributed: rank {self.rank}: {what} failed: {e}") from None

    # collectives
    def barrier(self):
        self.wait(self.comm.Ibarrier(), "barrier")

    def all_reduce(self, t, op):
        buf = _buffer(t, "all_reduce")
        done = None
        if op == "avg":
            if not np.issubdtype(buf.dtype, np.floating):
                raise ValueError(f"all_reduce: ReduceOp.AVG needs a floating-point tensor, got {t.dtype}")
            size = self.size

            def done():
                buf[...] /= size
        request = self.comm.Iallreduce(self.MPI.IN_PLACE, buf, op=self._ops[op])
        return Work(self, request, f"all_reduce of a {str(t.dtype).split('.')[-1]} tensor of shape {tuple(t.shape)}", done, (t, buf))

    def broadcast(self, t, src):
        buf = _buffer(t, "broadcast")
        return Work(self, self.comm.Ibcast(buf, root=src), f"broadcast of shape {tuple(t.shape)} from rank {src}",
                    keep=(t, buf))

    def all_gather(self, out, t):
        send = _buffer(t, "all_gather")
        recv = np.empty((self.size,) + send.shape, send.dtype)

        def done():
            for o, part in zip(out, recv):
                _buffer(o, "all_gather")[...] = part
        return Work(self, self.comm.Iallgather(send, recv), f"all_gather of shape {tuple(t.shape)}", done,
                    (t, send, recv))

    def all_gather_object(self, obj):
        self.barrier()
        return self.comm.allgather(obj)

    def broadcast_object(self, obj, src):
        self.barrier()
        return self.comm.bcast(obj, root=src)

    # lifetime
    def install_handlers(self, launched):
        """An exception that ends this rank's program ends this process at once (exit code 1, without
        MPI_Finalize, which would wait for the others), so that the launcher stops the job or tells the
        other ranks; the launcher's notice that a rank died (SIGUSR1 from MPICH's mpiexec started with
        -disable-auto-cleanup) raises a DistributedError naming it (`launched`: under an MPI launcher)."""
        if self.size == 1:
            return
        previous = sys.excepthook

        def hook(kind, value, tb):
            previous(kind, value, tb)
            sys.stderr.write(f"convnet.distributed: rank {self.rank} (pid {os.getpid()} on {self.host}) stopped "
                             f"on {kind.__name__}; leaving the job of {self.size} processes\n")
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(1)
        self._excepthook = (previous, hook)
        sys.excepthook = hook
        if threading.current_thread() is threading.main_thread():
            self._sighandler = (signal.signal(signal.SIGUSR1, self._on_lost_rank),)
            if launched:
                self._start_watchdog()

    def _start_watchdog(self):
        """MPICH's mpiexec kills the survivors a fraction of a millisecond after its SIGUSR1, as it reaps
        the dead rank: faulthandler writes into a pipe at once (in C) and the watchdog (_watchdog.py, a
        process out of the launcher's reach) names the lost rank on this rank's stderr."""
        read, write = os.pipe()
        pids = [str(pid if host == self.host else 0) for host, pid in self.peers]
        self._watchdog = subprocess.Popen(
            [sys.executable, os.path.join(os.path.dirname(__file__), "_watchdog.py"), str(read), str(self.rank),
             self.host, *pids], pass_fds=(read,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            start_new_session=True)
        os.close(read)
        self._notice = os.fdopen(write, "w")
        faulthandler.register(signal.SIGUSR1, file=self._notice, all_threads=False, chain=True)
        atexit.register(self._stop_watchdog)

    def _stop_watchdog(self):
        if self._watchdog is not None:
            faulthandler.unregister(signal.SIGUSR1)
            os.write(self._notice.fileno(), b"bye")
            self._notice.close()
            self._watchdog.wait()
            self._watchdog = None
            atexit.unregister(self._stop_watchdog)

    def _on_lost_rank(self, signum, frame):
        lost = self._lost_peer(grace=_EXIT_GRACE_S)
        who = f"rank {lost[0]} (pid {lost[2]} on {lost[1]})" if lost else "a rank on another machine"
        raise DistributedError(f"convnet.distributed: rank {self.rank}: {who} is gone: the MPI launcher reported "
                               f"that its process ended")

    def close(self):
        if self._excepthook is not None and sys.excepthook is self._excepthook[1]:
            sys.excepthook = self._excepthook[0]
        self._excepthook = None
        self._stop_watchdog()
        if self._sighandler is not None:
            previous = self._sighandler[0]
            signal.signal(signal.SIGUSR1, signal.SIG_DFL if previous is None else previous)
            self._sighandler = None
        if self.comm is not None:
            self.barrier()
            self.comm.Free()
            self.comm = None

