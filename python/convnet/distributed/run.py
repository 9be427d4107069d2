"""Starts N processes of a program on this machine through the MPI launcher (as torchrun):

    python -m convnet.distributed.run -n 2 train.py ARGS...

Each process gets an equal share of the cores (OMP_NUM_THREADS, unless set). The launcher's output
passes through; when the job fails, the rank that ended it is named (the MPI launcher names a
process id). MPICH's mpiexec runs with -disable-auto-cleanup: when a rank dies it signals the others
instead of killing them, and each survivor ends with its own DistributedError naming the lost rank.
On a cluster, run `mpiexec -disable-auto-cleanup -n N -hosts ... python train.py` directly: the
program is the same.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

_WORLD_ENV = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "MV2_COMM_WORLD_SIZE")


def launched_world_size():
    """The number of processes of the MPI job this process belongs to, as its launcher says (1 when
    it was not started by an MPI launcher)."""
    for name in _WORLD_ENV:
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 1


def mpiexec():
    """The MPI launcher: the one installed beside this Python (pip install mpich), else on PATH."""
    here = os.path.dirname(sys.executable)
    found = shutil.which("mpiexec", path=here) or shutil.which("mpiexec")
    if found is None:
        raise RuntimeError("convnet.distributed: no mpiexec found; pip install mpi4py mpich "
                           "(or pip install convnet[mpi])")
    return found


def _rank_of(rundir, pid):
    for name in os.listdir(rundir):
        with open(os.path.join(rundir, name)) as f:
            fields = f.read().split()
        if fields and fields[0] == str(pid):
            return int(name[len("rank"):]), fields[1]
    return None


def _explain(rundir, output, rc):
    """What ended a failed job: the rank whose process the launcher reports, if it did."""
    failed = re.search(r"PID (\d+) RUNNING AT (\S+)\s*=\s*EXIT CODE: (\d+)", output)
    if failed:
        pid, host, code = int(failed.group(1)), failed.group(2), int(failed.group(3))
        found = _rank_of(rundir, pid)
        who = f"rank {found[0]} (pid {pid} on {host})" if found else f"a rank (pid {pid} on {host}, before it joined)"
        how = f"was killed by signal {code}" if code in (6, 9, 11, 15) else f"exited with code {code}"
        return f"convnet.distributed: {who} {how}; the launcher stopped the other ranks"
    aborted = re.search(r"MPI_Abort\([^)]*\) - process (\d+)", output)
    if aborted:
        return f"convnet.distributed: rank {aborted.group(1)} aborted the job"
    return f"convnet.distributed: the job failed (launcher exit code {rc})"


def launch(nproc, argv, threads=None):
    """Runs `argv` as `nproc` MPI processes on this machine with `threads` threads each (default:
    the cores shared out); returns the launcher's exit code."""
    if not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f"launch: nproc must be a positive integer, got {nproc!r}")
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    else:
        env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    with tempfile.TemporaryDirectory(prefix="convnet-dist-") as rundir:
        env["CONVNET_DIST_RUNDIR"] = rundir
        proc = subprocess.Popen([mpiexec(), "-disable-auto-cleanup", "-n", str(nproc), *argv], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        tail = b""
        while True:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
            tail = (tail + chunk)[-65536:]
        rc = proc.wait()
        if rc != 0:
            print(_explain(rundir, tail.decode(errors="replace"), rc), file=sys.stderr, flush=True)
    return rc


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m convnet.distributed.run",
                                 description="Run a program as N MPI processes on this machine.")
    ap.add_argument("-n", "--nproc", type=int, required=True, help="number of processes")
    ap.add_argument("--threads", type=int, default=0, help="threads per process (default: the cores shared out)")
    ap.add_argument("program", help="a Python script, or -m MODULE")
    ap.add_argument("args", nargs=argparse.REMAINDER)
    a = ap.parse_args(argv)
    cmd = [sys.executable, "-m", a.args[0], *a.args[1:]] if a.program == "-m" else [sys.executable, a.program, *a.args]
    return launch(a.nproc, cmd, a.threads)


if __name__ == "__main__":
    sys.exit(main())
