"""Checks the collectives of convnet.distributed against NumPy on every rank; exits non-zero on a
mismatch.  mpiexec -n N python collectives_worker.py [INIT_METHOD]"""

import sys

import numpy as np

import convnet as cn
import convnet.distributed as dist

dist.init_process_group("mpi", init_method=sys.argv[1] if len(sys.argv) > 1 else None)
rank, world = dist.get_rank(), dist.get_world_size()
assert dist.is_initialized() and dist.get_backend() == "mpi"
values = [np.arange(6, dtype=np.float64).reshape(2, 3) * (r + 1) - r for r in range(world)]

for dtype in (np.float32, np.float64, np.int64):
    for op, ref in ((dist.ReduceOp.SUM, np.sum), (dist.ReduceOp.MAX, np.max), (dist.ReduceOp.MIN, np.min),
                    (dist.ReduceOp.PRODUCT, np.prod)):
        a = values[rank].astype(dtype)
        t = cn.from_numpy(a)
        dist.all_reduce(t, op)  # in place, on the tensor's (here NumPy's) memory: no copy
        np.testing.assert_array_equal(a, ref(np.stack(values).astype(dtype), axis=0), err_msg=f"{op} {dtype}")
t = cn.tensor(values[rank], dtype=cn.float32)
dist.all_reduce(t, dist.ReduceOp.AVG)
np.testing.assert_allclose(t.numpy(), np.mean(values, axis=0), rtol=1e-6)

work = dist.all_reduce(t, async_op=True)
work.wait()
assert work.is_completed()

b = cn.full([4], float(rank))
dist.broadcast(b, src=world - 1)
np.testing.assert_array_equal(b.numpy(), np.full(4, world - 1.0))

parts = [cn.zeros([2, 3]) for _ in range(world)]
dist.all_gather(parts, cn.tensor(values[rank], dtype=cn.float32))
for r in range(world):
    np.testing.assert_array_equal(parts[r].numpy(), values[r].astype(np.float32))

objs = [None] * world
dist.all_gather_object(objs, {"rank": rank})
assert objs == [{"rank": r} for r in range(world)]
dist.barrier()
dist.destroy_process_group()
assert not dist.is_initialized()
print(f"rank {rank} of {world}: collectives ok")
