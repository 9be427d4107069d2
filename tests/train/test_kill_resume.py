"""Crash safety of `convnet train` with checkpoints (tools/kill_resume.py): resuming gives the weights
of an uninterrupted run bit for bit, and `kill -9` at random moments leaves every checkpoint
loadable and no temporary file behind after the next save."""

import csv
import importlib.util
import os

import numpy as np
import pytest

import convnet as cn
from conftest import ROOT


def _tool():
    spec = importlib.util.spec_from_file_location("kill_resume", ROOT / "tools" / "kill_resume.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tool():
    return _tool()


def test_resume_after_a_checkpoint_is_bit_identical(tool, tmp_path):
    """One epoch, then `--resume last.ckpt` up to three, against three epochs in one run (random
    crops, shuffling, early stopping's best weights and the CSV log carried by the checkpoint)."""
    data = str(tmp_path / "data")
    tool.make_data(data, 300, 100)
    # a constant rate: the cosine schedule's length is the first run's --epochs
    common = dict(threads=1, seed=3, augment="crop", lr_schedule="constant")
    tool.run_to_end(tool.train_command(data, str(tmp_path / "full"), 3, **common))
    split = str(tmp_path / "split")
    tool.run_to_end(tool.train_command(data, split, 1, **common))
    assert cn.load_checkpoint(os.path.join(split, "ckpt", "last.ckpt"))["epoch"] == 1
    cmd = tool.train_command(data, split, 3, **common)
    assert cmd[-2:] == ["--resume", os.path.join(split, "ckpt", "last.ckpt")]
    tool.run_to_end(cmd)
    assert cn.load_checkpoint(os.path.join(split, "ckpt", "last.ckpt"))["epoch"] == 3
    full = cn.load(str(tmp_path / "full" / "final.safetensors"))
    resumed = cn.load(os.path.join(split, "final.safetensors"))
    assert full.keys() == resumed.keys()
    for k in full:
        assert full[k].numpy().tobytes() == resumed[k].numpy().tobytes(), k
    assert tool.max_difference(str(tmp_path / "full" / "final.safetensors"),
                               os.path.join(split, "final.safetensors")) == 0.0
    logs = []
    for run in (tmp_path / "full", split):
        with open(os.path.join(run, "log.csv")) as f:
            logs.append([{k: v for k, v in row.items() if k != "time"} for row in csv.DictReader(f)])
    assert logs[0] == logs[1] and len(logs[0]) == 3  # the same epochs and metrics, but the times

def test_max_difference_sees_every_bit(tool, tmp_path):
    a, b = str(tmp_path / "a.safetensors"), str(tmp_path / "b.safetensors")
    cn.save({"w": cn.from_numpy(np.array([0.0, 1.0], np.float32))}, a)
    cn.save({"w": cn.from_numpy(np.array([-0.0, 1.0], np.float32))}, b)
    assert np.isnan(tool.max_difference(a, b))
    cn.save({"w": cn.from_numpy(np.array([0.0, 1.5], np.float32))}, b)
    assert tool.max_difference(a, b) == 0.5
    cn.save({"v": cn.from_numpy(np.array([0.0, 1.0], np.float32))}, b)
    assert tool.max_difference(a, b) == float("inf")


def test_kills_at_random_moments(tool, tmp_path):
    counts = tool.kill_resume(kills=6, n_train=300, n_test=100, epochs=6, threads=1, seed=1,
                              workdir=str(tmp_path), log=lambda *a: None)
    assert counts["kills"] == 6
    assert counts["runs_completed"] >= 1
    assert counts["checkpoints_loaded"] > 0
    assert counts["unloadable"] == 0, counts["unloadable_files"]
    assert counts["stale_temporaries"] == 0, counts["stale_files"]
    assert counts["max_abs_difference"] == 0.0
