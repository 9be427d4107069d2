"""Speaks for a rank that MPICH's launcher kills: when a rank dies, MPICH's mpiexec signals the others
(SIGUSR1, with -disable-auto-cleanup) and kills them a fraction of a millisecond later as it reaps
the dead process, too soon for Python code in them to report anything. Each rank therefore starts
this script as a process of its own session (out of the launcher's reach), holding the read end of
a pipe whose write end the rank's SIGUSR1 handler writes into at once (faulthandler, in C). On that
write, or when the pipe closes without the rank's "bye" (written at its normal end) while another
rank on this machine is already gone, it names the lost ranks on the rank's stderr; else it exits
silently.

    python _watchdog.py FD RANK HOST PID...    (PID... of ranks 0..N-1; HOST: this machine's name)
Also imported by _mpi.py for `alive`.
"""

import os
import sys
import time

_PF_EXITING = 0x4  # /proc/PID/stat flags: the process has begun to exit


def alive(pid):
    """Whether process `pid` on this machine runs (a zombie, or a process that has begun to exit,
    does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[0] not in "ZX" and not int(fields[6]) & _PF_EXITING
    except (OSError, IndexError, ValueError):
        return True


def main(fd, rank, host, pids):
    first = os.read(fd, 4096)
    if first.startswith(b"bye"):
        return  # the rank ended normally
    noticed = bool(first)  # the launcher's notice; else the rank ended without a word (killed)
    # after a notice the lost rank may still be exiting; without one, only a rank gone before this
    # one counts (this rank may be the one that died, the others ending after it)
    deadline = time.monotonic() + (2.0 if noticed else 0.0)
    while True:
        gone = [(r, pid) for r, pid in enumerate(pids) if r != rank and pid > 0 and not alive(pid)]
        if gone or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    if not gone and not noticed:
        return
    who = ", ".join(f"rank {r} (pid {pid} on {host})" for r, pid in gone) or "a rank on another machine"
    os.write(2, f"convnet.distributed: rank {rank} (pid {pids[rank]} on {host}): {who} is gone: the MPI launcher "
                f"reported that its process ended, and ends this rank\n".encode())


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], [int(p) for p in sys.argv[4:]])
