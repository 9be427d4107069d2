"""A 2-rank job in which rank 1 fails; rank 0 keeps all-reducing.

    python -m convnet.distributed.run -n 2 failure_worker.py MODE
MODE: kill (rank 1 kills itself with SIGKILL), raise (rank 1 raises), stuck (rank 1 sleeps; the
group's timeout is 3 s), mismatch (rank 1's model has another shape), unused (a parameter takes no
part in the loss: the next forward raises)."""

import os
import signal
import sys
import time

import convnet as cn
import convnet.distributed as dist

mode = sys.argv[1]
dist.init_process_group("mpi", timeout=3 if mode == "stuck" else 60)
rank = dist.get_rank()
if mode == "mismatch":
    width = 4 if rank == 0 else 5
    cn.nn.parallel.DistributedDataParallel(cn.nn.Sequential(cn.nn.Linear(3, width), cn.nn.Linear(width, 2)))
if mode == "unused":
    net = cn.nn.Sequential(cn.nn.Linear(3, 3), cn.nn.Linear(3, 2))
    ddp = cn.nn.parallel.DistributedDataParallel(net)
    for _ in range(2):
        ddp(cn.ones([4, 3]))  # the forward runs the whole Sequential: use only the first layer
        net[0](cn.ones([4, 3])).sum().backward()
t = cn.ones(1000)
for step in range(10 ** 6):
    if rank == 1 and step == 5:
        if mode == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if mode == "raise":
            raise ValueError("rank 1 fails on purpose")
        if mode == "stuck":
            time.sleep(50)
    dist.all_reduce(t)
    t.fill_(1)
