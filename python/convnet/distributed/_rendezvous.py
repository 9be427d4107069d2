"""Processes started without an MPI launcher (as torchrun starts them: RANK, WORLD_SIZE, MASTER_ADDR,
MASTER_PORT) joined into one MPI communicator by MPI's dynamic processes: rank 0 opens an MPI port
(`MPI_Open_port`), hands its name to the others through a TCP rendezvous at MASTER_ADDR:MASTER_PORT
(only that string travels over it), each rank in turn `Connect`s while the ranks already joined
`Accept`, and every intercommunicator is merged (`Intercomm.Merge`) after the ranks before it, so the
communicator's ranks are the RANKs.

MPICH singletons all share the namespace "singinit", so two of them cannot connect (MPICH 5.0.x
fails MPI_Comm_connect with "Local and remote groups ... must not contain the same processes"). So,
before MPI is initialized, each process gets a process manager of its own: MPICH's `mpiexec` in its
singleton-init mode (`mpiexec -pmi_args PORT ...`, what MPICH itself starts when a singleton needs
one), whose connection becomes the process's PMI_FD. The process manager names the process's world
uniquely and exits with it, killing the process's process group: so the process becomes a process
group leader first if it is not one (torchrun's workers are).
"""

import os
import signal
import socket
import subprocess
import sys
import time

from . import DistributedError

_PM_HANDSHAKE_S = 30.0


def _line(sock, deadline, what):
    """One newline-ended line from `sock`, waiting until `deadline`."""
    data = b""
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise DistributedError(f"convnet.distributed: {what}: no answer before the deadline")
        sock.settimeout(left)
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            continue
        if not chunk:
            raise DistributedError(f"convnet.distributed: {what}: the connection closed")
        data += chunk
    return data.decode().strip()


def _end_with_parent():
    """In the process manager before it starts: SIGKILL when this process ends (it would wait forever
    for a process that ended without MPI_Finalize)."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def start_process_manager():
    """Gives this process (whose MPI is not initialized yet) an MPICH process manager of its own, as
    MPICH's singleton init does: sets PMI_FD, PMI_RANK and PMI_SIZE for MPI_Init. Returns the
    manager's Popen."""
    from .run import mpiexec

    if os.getpgid(0) != os.getpid():
        # the process manager ends with this process and then kills this process's group (MPICH's
        # cleanup): make it a group of its own, as torchrun starts its workers
        os.setpgid(0, 0)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    pm = subprocess.Popen([mpiexec(), "-pmi_args", str(port), "default_interface", "default_key", str(os.getpid())],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          start_new_session=True, preexec_fn=_end_with_parent)
    deadline = time.monotonic() + _PM_HANDSHAKE_S
    try:
        listener.settimeout(0.2)
        while True:
            try:
                conn, _ = listener.accept()
                break
            except socket.timeout:
                if pm.poll() is not None or time.monotonic() > deadline:
                    raise DistributedError(
                        "convnet.distributed: rendezvous without an MPI launcher needs MPICH's mpiexec (hydra) as "
                        "the process manager of each process, and it did not connect (exit code "
                        f"{pm.poll()}); start the job with mpiexec instead") from None
    finally:
        listener.close()
    with conn:
        hello = _line(conn, deadline, "the MPICH process manager's singleton handshake")
        if not hello.startswith("cmd=singinit"):
            raise DistributedError(f"convnet.distributed: unexpected answer of the MPICH process manager: {hello!r}")
        conn.sendall(b"cmd=singinit pmi_version=1 pmi_subversion=1 stdio=no authtype=none\n")
        info = dict(kv.split("=", 1) for kv in _line(conn, deadline, "the process manager's handshake").split())
        if info.get("versionok") != "yes":
            raise DistributedError(f"convnet.distributed: the MPICH process manager refused PMI 1.1: {info}")
        conn.settimeout(None)  # blocking again, for MPI's PMI client
        fd = os.dup(conn.fileno())
    os.set_inheritable(fd, False)
    os.environ.update(PMI_FD=str(fd), PMI_RANK="0", PMI_SIZE="1")
    return pm


def master_address(init_method):
    """(host, port) of rank 0's rendezvous: from "tcp://host:port", or $MASTER_ADDR and $MASTER_PORT."""
    if init_method is not None and init_method.startswith("tcp://"):
        host, sep, port = init_method[len("tcp://"):].rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"init_process_group: init_method {init_method!r} is not tcp://HOST:PORT")
        return host.strip("[]"), int(port)
    missing = [k for k in ("MASTER_ADDR", "MASTER_PORT") if not os.environ.get(k)]
    if missing:
        raise ValueError(f"init_process_group: {' and '.join(missing)} must be set to reach rank 0 (or pass "
                         f"init_method='tcp://HOST:PORT'), or start the processes with mpiexec")
    port = os.environ["MASTER_PORT"]
    if not port.isdigit():
        raise ValueError(f"init_process_group: MASTER_PORT must be a port number, got {port!r}")
    return os.environ["MASTER_ADDR"], int(port)


def _serve(address, size, deadline):
    """Rank 0: the other ranks' rendezvous connections, by rank."""
    server = socket.create_server(("", address[1]), reuse_port=False)
    waiting = {}
    try:
        while len(waiting) < size - 1:
            left = deadline - time.monotonic()
            missing = sorted(set(range(1, size)) - set(waiting))
            if left <= 0:
                raise DistributedError(
                    f"convnet.distributed: rank 0: rank(s) {', '.join(map(str, missing))} of {size} did not arrive at "
                    f"{address[0]}:{address[1]} within the timeout")
            server.settimeout(left)
            try:
                conn, _ = server.accept()
            except socket.timeout:
                continue
            try:
                rank, world = map(int, _line(conn, deadline, "a rank's rendezvous").split())
            except (ValueError, DistributedError):
                conn.close()
                continue
            if world != size or not 0 < rank < size or rank in waiting:
                why = (f"world size {world} differs from rank 0's {size}" if world != size else
                       f"rank {rank} is taken" if rank in waiting else f"rank {rank} is not in 1..{size - 1}")
                conn.sendall(f"error {why}\n".encode())
                conn.close()
                raise DistributedError(f"convnet.distributed: rank 0: a process joining at {address[0]}:{address[1]}: "
                                       f"{why}")
            waiting[rank] = conn
    except BaseException:
        for conn in waiting.values():
            conn.close()
        raise
    finally:
        server.close()
    return waiting


def _reach(address, rank, size, deadline):
    """Rank > 0: rank 0's rendezvous connection (retried until rank 0 listens)."""
    while True:
        try:
            conn = socket.create_connection(address, timeout=max(0.1, min(5.0, deadline - time.monotonic())))
            conn.sendall(f"{rank} {size}\n".encode())
            return conn
        except OSError as e:
            if time.monotonic() > deadline:
                raise DistributedError(f"convnet.distributed: rank {rank}: rank 0 could not be reached at "
                                       f"{address[0]}:{address[1]} within the timeout ({e})") from None
            time.sleep(0.1)


def connect(MPI, rank, size, address, timeout):
    """The intracommunicator of the `size` processes, rank `rank` of it."""
    deadline = time.monotonic() + timeout
    comm = MPI.COMM_SELF.Dup()
    if rank == 0:
        waiting = _serve(address, size, deadline)
        port = MPI.Open_port()
        try:
            for r in range(1, size):
                waiting.pop(r).sendall(f"port {port}\n".encode())
                comm = _grow(MPI, comm, comm.Accept(port, root=0), high=False)
        finally:
            for conn in waiting.values():
                conn.close()
            MPI.Close_port(port)
        return comm
    with _reach(address, rank, size, deadline) as conn:
        answer = _line(conn, deadline, f"rank {rank}: waiting for rank 0 at {address[0]}:{address[1]}")
    kind, _, value = answer.partition(" ")
    if kind != "port":
        raise DistributedError(f"convnet.distributed: rank {rank}: rank 0 refused this process: {value}")
    comm = _grow(MPI, comm, MPI.COMM_SELF.Connect(value, root=0), high=True)
    for _ in range(rank + 1, size):
        comm = _grow(MPI, comm, comm.Accept(None, root=0), high=False)
    return comm


def _grow(MPI, comm, inter, high):
    merged = inter.Merge(high=high)
    inter.Disconnect()
    comm.Free()
    return merged
