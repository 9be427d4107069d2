"""fit() under 2 processes: metrics summed over the ranks (and validation metrics computed on the
outputs of both), one progress display, checkpoints, logs and TensorBoard event files written by rank 0, and a checkpoint of a 2-process run resumed by 1 process gives the weights of an
uninterrupted 2-process run (the global batches hold the same samples)."""

import os

import numpy as np

from mpi_jobs import run


def test_two_process_checkpoint_resumes_in_one_process(tmp_path):
    straight, first, resumed = tmp_path / "straight.npz", tmp_path / "first.npz", tmp_path / "resumed.npz"
    rc, output, _ = run(2, "fit_worker.py", straight, 3, tmp_path / "a", timeout=120)
    assert rc == 0, output
    assert output.count("val_accuracy") == 3, output  # one line per epoch: rank 0's
    events = os.listdir(tmp_path / "a_tb")
    assert len(events) == 1 and events[0].startswith("events.out.tfevents"), events  # rank 0's writer only
    rc, output, _ = run(2, "fit_worker.py", first, 2, tmp_path / "b", timeout=120)
    assert rc == 0, output
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["epoch001.ckpt", "epoch002.ckpt", "last.ckpt",
                                                                   "log.csv"]
    rc, output, _ = run(1, "fit_worker.py", resumed, 3, tmp_path / "c", tmp_path / "b" / "last.ckpt", timeout=120)
    assert rc == 0, output
    a, b = np.load(straight), np.load(resumed)
    assert a["val_accuracy"][-1] > 0.5
    np.testing.assert_allclose(b["loss"], a["loss"], rtol=1e-5)
    np.testing.assert_allclose(b["val_accuracy"], a["val_accuracy"], rtol=1e-5)
    # F1 over the whole validation set: the 2 ranks' outputs gathered give the 1-process value
    np.testing.assert_allclose(b["val_f1"], a["val_f1"], rtol=1e-5)
    for k in a.files:
        scale = max(float(np.abs(a[k]).max()), 1e-30)
        assert float(np.abs(b[k].astype(np.float64) - a[k]).max()) / scale <= 1e-5, k
