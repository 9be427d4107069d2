"""Runs a worker script of tests/distributed as an MPI job (mpiexec -n N python script ...), with a
timeout; skips the calling test when mpi4py or mpiexec is missing."""

import os
import shutil
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
