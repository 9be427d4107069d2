"""fit() under DistributedDataParallel on a small synthetic set (512 images 1x12x12, 10 classes,
global batch 64: each rank's DistributedSampler share in batches of 64/world).

    mpiexec -n N python fit_worker.py OUT EPOCHS CKPT_DIR [RESUME]
writes OUT (.npz, rank 0) with the weights and the History's losses; CKPT_DIR gets last.ckpt and
a CSV log (by rank 0), CKPT_DIR_tb TensorBoard's event file (rank 0) with the macro F1 of the
validation set (gathered over the ranks); RESUME continues a checkpoint."""

import sys
from functools import partial

import numpy as np

import convnet as cn
import convnet.distributed as dist
from convnet import callbacks as C
from convnet import nn
from convnet.data import DataLoader, DistributedSampler, TensorDataset
from convnet.metrics import f1_score

out, epochs, ckdir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
resume = sys.argv[4] if len(sys.argv) > 4 else None
dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()

rng = np.random.default_rng(0)
x = rng.standard_normal((512, 1, 12, 12)).astype(np.float32)
y = rng.integers(0, 10, 512)
x[np.arange(512), 0, y, y] += 3.0  # learnable
data = TensorDataset(x, y)
loader = DataLoader(data, batch_size=64 // world, sampler=DistributedSampler(data, world, rank, seed=1))
val = DataLoader(TensorDataset(x[:128], y[:128]), batch_size=32,
                 sampler=DistributedSampler(TensorDataset(x[:128], y[:128]), world, rank, shuffle=False))

cn.manual_seed(0)
net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 10 * 10, 10))
model = nn.parallel.DistributedDataParallel(nn.SyncBatchNorm.convert_sync_batchnorm(net)) if world > 1 else net
opt = cn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
history = cn.fit(model, loader, opt, epochs=epochs, val_loader=val, verbose=True,
                 callbacks=[C.ModelCheckpoint(dirpath=ckdir, save_last=True), C.CSVLogger(f"{ckdir}/log.csv"),
                            C.TensorBoard(f"{ckdir}_tb")],
                 metrics={"f1": partial(f1_score, average="macro")}, resume_from=resume)
if rank == 0:
    state = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    np.savez(out, loss=np.array(history["loss"]), val_accuracy=np.array(history["val_accuracy"]),
             val_f1=np.array(history["val_f1"]), **state)
dist.destroy_process_group()
