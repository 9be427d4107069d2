"""Processes started without an MPI launcher (subprocess.Popen, as torchrun starts them) join through
RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT (or init_method="tcp://...") into one MPI group: the same
collectives and the same DDP training as under mpiexec; a rank that never arrives, or dies, is named."""

import numpy as np

from mpi_jobs import free_port, run, run_without_launcher


def test_collectives_without_a_launcher():
    results, _ = run_without_launcher(2, "collectives_worker.py", timeout=90)
    for r, (rc, output) in enumerate(results):
        assert rc == 0, output
        assert f"rank {r} of 2: collectives ok" in output, output


def test_tcp_init_method():
    port = free_port()
    results, _ = run_without_launcher(2, "collectives_worker.py", f"tcp://127.0.0.1:{port}", timeout=90,
                                      env={"MASTER_ADDR": "", "MASTER_PORT": ""})
    for r, (rc, output) in enumerate(results):
        assert rc == 0, output
        assert f"rank {r} of 2: collectives ok" in output, output


def test_ddp_without_a_launcher_matches_one_process(tmp_path):
    one, two = tmp_path / "1.npz", tmp_path / "2.npz"
    rc, output, _ = run(1, "ddp_steps_worker.py", one, "bn", timeout=90)
    assert rc == 0, output
    results, _ = run_without_launcher(2, "ddp_steps_worker.py", two, "bn", timeout=120)
    for rc, output in results:
        assert rc == 0, output
    a, b = np.load(one), np.load(two)
    assert sorted(a.files) == sorted(b.files)
    for k in a.files:
        scale = max(float(np.abs(a[k]).max()), 1e-30)
        assert float(np.abs(b[k].astype(np.float64) - a[k]).max()) / scale <= 1e-5, k


def test_a_rank_that_never_arrives_is_named():
    results, seconds = run_without_launcher(2, "collectives_worker.py", ranks=[0], timeout=60,
                                            env={"CONVNET_DIST_TIMEOUT": "3"})
    rc, output = results[0]
    assert rc != 0, output
    assert "rank(s) 1 of 2 did not arrive at 127.0.0.1:" in output, output
    assert seconds < 30
    results, seconds = run_without_launcher(2, "collectives_worker.py", ranks=[1], timeout=60,
                                            env={"CONVNET_DIST_TIMEOUT": "3"})
    rc, output = results[0]
    assert rc != 0, output
    assert "rank 1: rank 0 could not be reached at 127.0.0.1:" in output, output
    assert seconds < 30


def test_killed_rank_is_named_without_a_launcher():
    results, seconds = run_without_launcher(2, "failure_worker.py", "kill", timeout=90)
    rc, output = results[0]
    assert rc != 0, output
    assert "DistributedError: convnet.distributed: rank 0: rank 1 (pid" in output and "is gone" in output, output
    assert results[1][0] == -9
    assert seconds < 60
