"""The 'nccl' backend on GPU tensors against NumPy, and DistributedDataParallel on the GPU keeping
the replicas equal.  mpiexec -n N python nccl_worker.py (one GPU per process)"""

import numpy as np

import convnet as cn
import convnet.distributed as dist
from convnet import nn

dist.init_process_group("nccl")
rank, world = dist.get_rank(), dist.get_world_size()
dev = cn.device(f"cuda:{rank % cn.cuda.device_count()}")
values = [np.arange(6, dtype=np.float32) * (r + 1) for r in range(world)]
t = cn.tensor(values[rank]).to(dev)
dist.all_reduce(t)
np.testing.assert_allclose(t.cpu().numpy(), np.sum(values, axis=0))
b = cn.full([3], float(rank)).to(dev)
dist.broadcast(b, src=world - 1)
np.testing.assert_array_equal(b.cpu().numpy(), np.full(3, world - 1.0, np.float32))
parts = [cn.zeros([6]).to(dev) for _ in range(world)]
dist.all_gather(parts, cn.tensor(values[rank]).to(dev))
for r in range(world):
    np.testing.assert_array_equal(parts[r].cpu().numpy(), values[r])

cn.manual_seed(rank)
model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3)).to(dev)
ddp = nn.parallel.DistributedDataParallel(model)
opt = cn.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
rng = np.random.default_rng(rank)
for _ in range(3):
    opt.zero_grad()
    x = cn.tensor(rng.standard_normal((8, 1, 8, 8)).astype(np.float32)).to(dev)
    y = cn.tensor(rng.integers(0, 3, 8)).to(dev)
    nn.functional.cross_entropy(ddp(x), y).backward()
    opt.step()
state = {k: v.cpu().numpy() for k, v in model.state_dict().items()}
everyone = [None] * world
dist.all_gather_object(everyone, state)
for theirs in everyone:
    for k in state:
        np.testing.assert_array_equal(theirs[k], state[k], err_msg=k)
dist.destroy_process_group()
print(f"rank {rank} of {world}: nccl ok")
