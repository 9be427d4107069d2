"""Runs a worker script of tests/distributed as an MPI job (mpiexec -n N python script ...), with a
timeout; skips the calling test when mpi4py or mpiexec is missing."""

import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "distributed")  # the worker scripts


def mpiexec():
    pytest.importorskip("mpi4py", reason="mpi4py is not installed (pip install mpi4py mpich)")
    found = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")
    if found is None:
        pytest.skip("no mpiexec (pip install mpich)")
    return found


def run(nproc, script, *args, timeout=120, launcher=None):
    """(exit code, output, seconds) of `script` run as `nproc` processes with one thread each, by
    mpiexec or by `launcher` (a command that takes the script and its arguments)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    cmd = launcher or [mpiexec(), "-n", str(nproc), sys.executable]
    start = time.monotonic()
    try:
        p = subprocess.run([*cmd, os.path.join(HERE, script), *map(str, args)], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{script} under {nproc} process(es) did not finish within {timeout} s; output:\n"
                    f"{(e.stdout or b'').decode(errors='replace') if isinstance(e.stdout, bytes) else e.stdout}")
    return p.returncode, p.stdout, time.monotonic() - start


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_without_launcher(nproc, script, *args, ranks=None, timeout=120, env=None):
    """([(exit code, output) of each process], seconds) of `script` started as `nproc` plain processes
    (subprocess.Popen, no MPI launcher) that join through RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT,
    as torchrun starts them; `ranks` (default all) picks which of the ranks to start."""
    mpiexec()  # the processes need mpi4py and MPICH's mpiexec as their process manager
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "PMIX_", "OMPI_", "HYDRA_"))}
    base.update(OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", WORLD_SIZE=str(nproc), MASTER_ADDR="127.0.0.1",
                MASTER_PORT=str(free_port()))
    base.update(env or {})
    start = time.monotonic()
    procs = [subprocess.Popen([sys.executable, os.path.join(HERE, script), *map(str, args)],
                              env=dict(base, RANK=str(r)), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for r in (range(nproc) if ranks is None else ranks)]
    results = []
    for p in procs:
        try:
            out, _ = p.communicate(timeout=max(1.0, timeout - (time.monotonic() - start)))
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail(f"{script} as {nproc} processes without a launcher did not finish within {timeout} s")
        results.append((p.returncode, out))
    return results, time.monotonic() - start
