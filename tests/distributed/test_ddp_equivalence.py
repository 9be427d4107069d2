"""DistributedDataParallel: 2 processes x batch 32 end with the weights of 1 process x batch 64 on the
same samples after 20 SGD-momentum steps (with BatchNorm through SyncBatchNorm, and with gradient
accumulation under no_sync), and the replicas stay equal."""

import numpy as np
import pytest

from mpi_jobs import run


@pytest.mark.parametrize("mode", ["plain", "bn", "accum"])
def test_two_processes_match_one(tmp_path, mode):
    results = {}
    for n in (1, 2):
        out = tmp_path / f"{n}.npz"
        rc, output, _ = run(n, "ddp_steps_worker.py", out, mode, timeout=90)
        assert rc == 0, output
        results[n] = np.load(out)
    one, two = results[1], results[2]
    assert sorted(one.files) == sorted(two.files)
    for k in one.files:
        scale = max(float(np.abs(one[k]).max()), 1e-30)
        assert float(np.abs(two[k].astype(np.float64) - one[k]).max()) / scale <= 1e-5, k
