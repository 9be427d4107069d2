"""The 'nccl' backend (one GPU per process): collectives and DistributedDataParallel on the GPU
where GPUs and libnccl (pip install nvidia-nccl-cu13) exist; otherwise init_process_group('nccl')
says what is missing."""

import subprocess
import sys

import pytest

import convnet as cn
from mpi_jobs import mpiexec, run


def _libnccl_or_skip():
    from convnet.distributed import _nccl

    try:
        _nccl._libnccl()
    except RuntimeError as e:
        pytest.skip(str(e))


@pytest.mark.nccl
@pytest.mark.parametrize("nproc", [1, 2])
def test_nccl_collectives_and_ddp(nproc):
    if not cn.cuda.is_available():
        pytest.skip("no GPU: the NCCL backend is not run here")
    if cn.cuda.device_count() < nproc:
        pytest.skip(f"{nproc} processes need {nproc} GPUs (NCCL takes one per process); "
                    f"{cn.cuda.device_count()} found")
    _libnccl_or_skip()
    rc, output, _ = run(nproc, "nccl_worker.py", timeout=120)
    assert rc == 0, output
    assert f"rank 0 of {nproc}: nccl ok" in output, output


def test_nccl_without_a_gpu_says_so():
    if cn.cuda.is_available():
        pytest.skip("a GPU is present: test_nccl_collectives_and_ddp runs the backend")
    mpiexec()
    r = subprocess.run([sys.executable, "-c", "import convnet.distributed as d; d.init_process_group('nccl')"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "backend 'nccl' needs a GPU" in r.stderr, r.stderr
