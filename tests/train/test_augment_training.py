"""A resnet20 trained on a small CIFAR-shaped task with TrivialAugmentWide + MixUp + an EMA of the
weights: through `fit` with a DataLoader's collate_fn and `ema=`, and through
`convnet train --augment trivialaugment --mixup … --ema …`."""

import math
import os
import subprocess
import sys

import numpy as np
import pytest

import convnet as cn
import convnet.transforms as T
from convnet.data import DataLoader, TensorDataset, default_collate
from convnet.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from conftest import ROOT, image_folder


def _task(n, seed):
    """uint8 (n, 32, 32, 3) noise; class 0 has a bright top half, class 1 a bright left half, class 2 neither."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 60, (n, 32, 32, 3), dtype=np.uint8)
    y = np.arange(n) % 3
    x[y == 0, :16] += 180
    x[y == 1, :, :16] += 180
    return x, y


@pytest.mark.slow  # about 5 s of CPU: four steps of a resnet20, and validation
def test_fit_resnet20_with_trivialaugment_mixup_and_ema():
    cn.manual_seed(0)
    x, y = _task(24, 0)
    vx, vy = _task(12, 1)
    mixup = T.MixUp(alpha=0.2, num_classes=3)
    train = DataLoader(TensorDataset(x, y), batch_size=12, shuffle=True, seed=0,
                       transform=T.Compose([T.TrivialAugmentWide(), T.ToTensor()]),
                       collate_fn=lambda batch: mixup(*default_collate(batch)))
    val = DataLoader(TensorDataset(vx, vy), batch_size=12, transform=T.ToTensor())
    images, targets = next(iter(train))
    assert images.shape == (12, 3, 32, 32) and targets.shape == (12, 3) and targets.dtype == cn.float32
    model = cn.models.resnet20(num_classes=3)
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    opt = cn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))
    history = cn.fit(model, train, opt, cn.nn.CrossEntropyLoss(), epochs=2, val_loader=val, verbose=False, ema=ema)
    assert len(history["loss"]) == 2 and all(math.isfinite(v) for v in history["loss"] + history["val_loss"])
    after = model.state_dict()
    assert any(not np.array_equal(before[k], after[k].numpy()) for k in before)
    # four steps of EMA with decay 0.9: the averages moved from the start, and lag the trained weights
    averaged = dict(zip([n for n, _ in model.named_parameters()], ema.parameters()))
    moved = [k for k, v in averaged.items() if not np.array_equal(v.numpy(), before[k])]
    assert moved and all(not np.array_equal(averaged[k].numpy(), after[k].numpy()) for k in moved)


@pytest.mark.slow  # a subprocess that imports convnet and trains a resnet20 for an epoch
def test_cli_trains_with_trivialaugment_mixup_and_ema(tmp_path):
    image_folder(tmp_path / "imgs", size=32)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in [os.environ.get("PYTHONPATH")] if p))
    r = subprocess.run([sys.executable, "-m", "convnet", "train", "resnet20",
                        "--dataset", f"folder:{tmp_path / 'imgs'}", "--image-size", "32", "--epochs", "1",
                        "--batch-size", "8", "--augment", "trivialaugment", "--mixup", "0.2", "--cutmix", "1.0", "--ema", "0.9",
                        "--threads", "2", "--quiet", "--lr-schedule", "constant", "--output", str(tmp_path / "w.safetensors")],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "augment trivialaugment" in r.stdout and "mixup 0.2" in r.stdout and "cutmix 1.0" in r.stdout
    assert "EMA of the weights (decay 0.9)" in r.stdout, r.stdout
    assert "test accuracy" in r.stdout
    assert (tmp_path / "w.safetensors").stat().st_size > 10000
