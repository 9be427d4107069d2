"""A rank that dies, raises, hangs or holds another model ends the job with an error naming it,
within 60 s: never a hang. A killed or raising rank is named by the survivors themselves."""

import sys

import pytest

from mpi_jobs import mpiexec, run


def launcher():
    mpiexec()
    return [sys.executable, "-m", "convnet.distributed.run", "-n", "2"]


def test_killed_rank_is_named():
    rc, output, seconds = run(2, "failure_worker.py", "kill", timeout=90, launcher=launcher())
    assert rc != 0, output
    assert "convnet.distributed: rank 0 (pid" in output and "rank 1 (pid" in output and "is gone" in output, output
    assert seconds < 60


def test_killed_rank_is_named_by_the_survivor_under_mpiexec():
    # -disable-auto-cleanup: MPICH's mpiexec signals the survivors instead of killing them at once
    cmd = [mpiexec(), "-disable-auto-cleanup", "-prepend-rank", "-n", "2", sys.executable]
    rc, output, seconds = run(2, "failure_worker.py", "kill", timeout=90, launcher=cmd)
    assert rc != 0, output
    survivor = [line for line in output.splitlines() if line.startswith("[0] ") and "rank 1 (pid" in line]
    assert any("is gone" in line for line in survivor), output
    assert seconds < 60


def test_raising_rank_is_named_by_the_others():
    rc, output, seconds = run(2, "failure_worker.py", "raise", timeout=90, launcher=launcher())
    assert rc != 0, output
    assert "ValueError: rank 1 fails on purpose" in output, output
    assert "rank 1 (pid" in output and "stopped on ValueError" in output, output
    assert "DistributedError: convnet.distributed: rank 0: rank 1 (pid" in output, output
    assert seconds < 60


def test_stuck_rank_times_out():
    rc, output, seconds = run(2, "failure_worker.py", "stuck", timeout=90, launcher=launcher())
    assert rc != 0, output
    assert "DistributedError" in output and "did not complete within the timeout of 3 s" in output, output
    assert seconds < 40


def test_mismatched_models_are_detected_at_construction():
    rc, output, _ = run(2, "failure_worker.py", "mismatch", timeout=90, launcher=launcher())
    assert rc != 0, output
    assert "rank 0 has parameter '0.weight' of shape (4, 3)" in output, output
    assert "rank 1 has parameter '0.weight' of shape (5, 3)" in output, output


def test_unused_parameter_is_named_at_the_next_forward():
    rc, output, _ = run(2, "failure_worker.py", "unused", timeout=90, launcher=launcher())
    assert rc != 0, output
    assert "these parameters received no gradient: 1.weight, 1.bias" in output, output
