"""Trains a small CNN for 20 SGD-momentum steps on fixed synthetic data: global batches of 64 split
over the ranks (rank r takes rows r*B..(r+1)*B of each, B = 64/world). Rank 0 saves the final
parameters and buffers to OUT (.npz); every rank checks that its replica equals rank 0's.

    mpiexec -n 2 python ddp_steps_worker.py OUT MODE     MODE: plain | bn | accum
bn: with BatchNorm2d (SyncBatchNorm under several ranks); accum: each rank's share in two halves,
the first under no_sync()."""

import sys

import numpy as np

import convnet as cn
import convnet.distributed as dist
from convnet import nn

out, mode = sys.argv[1], sys.argv[2]
dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()

cn.manual_seed(rank + 1)  # replicas start different: DDP must broadcast rank 0's weights
layers = [nn.Conv2d(1, 6, 3), nn.BatchNorm2d(6)] if mode == "bn" else [nn.Conv2d(1, 6, 3)]
model = nn.Sequential(*layers, nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(6 * 5 * 5, 10))
if mode == "bn" and world > 1:
    model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.002)  # several buckets
opt = cn.optim.SGD(ddp.parameters(), lr=0.05, momentum=0.9)

rng = np.random.default_rng(0)
x = rng.standard_normal((20, 64, 1, 12, 12)).astype(np.float32)
y = rng.integers(0, 10, (20, 64))
share = 64 // world
for step in range(20):
    xs = x[step, rank * share:(rank + 1) * share]
    ys = y[step, rank * share:(rank + 1) * share]
    opt.zero_grad()
    if mode == "accum":
        half = share // 2
        with ddp.no_sync():
            (cn.nn.functional.cross_entropy(ddp(cn.tensor(xs[:half])), cn.tensor(ys[:half])) * 0.5).backward()
        (cn.nn.functional.cross_entropy(ddp(cn.tensor(xs[half:])), cn.tensor(ys[half:])) * 0.5).backward()
    else:
        cn.nn.functional.cross_entropy(ddp(cn.tensor(xs)), cn.tensor(ys)).backward()
    opt.step()

state = {k: v.numpy().copy() for k, v in ddp.module.state_dict().items()}
gathered = [None] * world
dist.all_gather_object(gathered, state)
for r, theirs in enumerate(gathered):
    for k, v in theirs.items():
        assert np.array_equal(v, state[k]), f"rank {r}'s {k} differs from rank {rank}'s"
if rank == 0:
    np.savez(out, **state)
dist.destroy_process_group()
