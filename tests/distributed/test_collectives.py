"""convnet.distributed's collectives under 2 MPI processes against NumPy; the API without a group."""

import pytest

import convnet as cn
import convnet.distributed as dist
from mpi_jobs import run


def test_collectives_under_two_processes():
    rc, output, _ = run(2, "collectives_worker.py", timeout=60)
    assert rc == 0, output
    assert "rank 0 of 2: collectives ok" in output and "rank 1 of 2: collectives ok" in output, output


def test_without_a_process_group():
    assert not dist.is_initialized()
    assert (dist.get_rank(), dist.get_world_size()) == (0, 1)
    with pytest.raises(RuntimeError, match="init_process_group"):
        dist.all_reduce(cn.ones(2))
    with pytest.raises(RuntimeError, match="init_process_group"):
        cn.nn.parallel.DistributedDataParallel(cn.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="backend must be 'mpi' or 'nccl'"):
        dist.init_process_group("gloo")
