"""The command line (`python -m convnet`): train, evaluate, resume and summary, on real MNIST and
on small image folders written here."""

import csv
import os
import subprocess
import sys

import numpy as np
import pytest

import convnet as cn

from conftest import ROOT, image_folder


def _run_cli(*args, env=None):
    full_env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in [os.environ.get("PYTHONPATH")] if p))
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "convnet", *args], capture_output=True, text=True,
                          env=full_env, cwd=ROOT, timeout=600)


@pytest.mark.slow  # a training on MNIST
def test_cli_trains_lenet5_one_epoch_and_saves_weights(mnist_root, tmp_path):
    out = tmp_path / "w.safetensors"
    r = _run_cli("train", "lenet5", "--dataset", "mnist", "--epochs", "1", "--data", str(mnist_root),
                 "--output", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    line = [l for l in r.stdout.splitlines() if l.startswith("test accuracy")][0]
    acc = float(line.split()[2].rstrip("%"))
    assert acc > 95.0, r.stdout
    weights = cn.load(str(out))
    assert sum(int(np.prod(t.shape)) for t in weights.values()) == 61706
    model = cn.models.lenet5()
    model.load_state_dict(weights)
    from convnet.datasets import MNIST
    xt, yt = MNIST(mnist_root, train=False).arrays()
    xt = (xt - np.float32(MNIST.mean)) / np.float32(MNIST.std)  # as the command line trains
    pred = cn.predict(model, xt).argmax(1)
    assert (pred == yt).mean() * 100 == pytest.approx(acc, abs=0.006)


def test_cli_reports_missing_data_and_prints_summary(tmp_path):
    r = _run_cli("train", "lenet5", "--epochs", "1", "--data", str(tmp_path / "nowhere"))
    assert r.returncode == 2
    assert "train-images-idx3-ubyte" in r.stderr and "download" in r.stderr
    r = _run_cli("summary", "lenet5")
    assert r.returncode == 0, r.stderr
    assert "Total params: 61,706" in r.stdout


def test_cli_summary_of_a_zoo_model_uses_its_input_and_classes():
    r = _run_cli("summary", "resnet18")
    assert r.returncode == 0, r.stderr
    assert "Total params: 11,689,512" in r.stdout and "(1, 3, 224, 224)" in r.stdout
    r = _run_cli("summary", "resnet20", "--num-classes", "100")
    assert r.returncode == 0, r.stderr
    assert f"Total params: {269_722 + 90 * 65:,}" in r.stdout and "(1, 3, 32, 32)" in r.stdout
    r = _run_cli("summary", "nosuchnet")
    assert r.returncode != 0 and "unknown model 'nosuchnet'" in r.stderr


def test_cli_train_resume_and_evaluate_on_an_image_folder(tmp_path):
    try:
        import tensorboardX  # noqa: F401
        from tensorboard.backend.event_processing import event_accumulator
        tensorboard = ["--tensorboard", str(tmp_path / "tb")]
    except ImportError:
        tensorboard = []
    image_folder(tmp_path / "imgs")
    ck = tmp_path / "ck"
    common = ["--dataset", f"folder:{tmp_path / 'imgs'}", "--grayscale", "--image-size", "28",
              "--batch-size", "8", "--threads", "1"]
    r = _run_cli("train", "lenet5", *common, "--quiet", "--epochs", "2", "--augment", "affine", "--checkpoint-dir",
                 str(ck), "--output", str(tmp_path / "a.safetensors"), "--lr-schedule", "constant")
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(ck)) == ["best.ckpt", "last.ckpt"]
    r2 = _run_cli("train", "lenet5", *common, "--quiet", "--epochs", "3", "--augment", "affine", "--checkpoint-dir",
                  str(ck), "--resume", str(ck / "last.ckpt"), "--output", str(tmp_path / "b.safetensors"),
                  "--csv-log", str(tmp_path / "log.csv"), "--plot", str(tmp_path / "h.png"),
                  "--lr-schedule", "constant", *tensorboard)
    assert r2.returncode == 0, r2.stderr
    if tensorboard:  # the resumed run writes its own epoch
        acc = event_accumulator.EventAccumulator(str(tmp_path / "tb"))
        acc.Reload()
        assert [e.step for e in acc.Scalars("val_accuracy")] == [3]
        assert [e.step for e in acc.Images("filters/0")] == [3]
    assert "resuming from" in r2.stdout
    assert cn.load_checkpoint(ck / "last.ckpt")["epoch"] == 3
    with open(tmp_path / "log.csv") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["1", "2", "3"]
    assert (tmp_path / "h.png").stat().st_size > 1000
    # the same three epochs in one run (augmentation and shuffling drawn alike) give the same weights
    r = _run_cli("train", "lenet5", *common, "--quiet", "--epochs", "3", "--augment", "affine",
                 "--output", str(tmp_path / "c.safetensors"), "--lr-schedule", "constant")
    assert r.returncode == 0, r.stderr
    straight, resumed = cn.load(tmp_path / "c.safetensors"), cn.load(tmp_path / "b.safetensors")
    for k in straight:
        np.testing.assert_array_equal(resumed[k].numpy(), straight[k].numpy(), err_msg=k)
    r3 = _run_cli("evaluate", "lenet5", "--weights", str(ck / "last.ckpt"), *common,
                  "--confusion-matrix", str(tmp_path / "cm.png"))
    assert r3.returncode == 0, r3.stderr
    assert "top-1" in r3.stdout and "dark" in r3.stdout
    assert (tmp_path / "cm.png").stat().st_size > 1000


@pytest.mark.slow  # a training on MNIST
def test_cli_evaluate_prints_what_metrics_compute(mnist_root, tmp_path):
    from convnet.datasets import MNIST

    cn.manual_seed(4)
    model = cn.models.lenet5()
    cn.save(model.state_dict(), tmp_path / "w.safetensors")
    r = _run_cli("evaluate", "lenet5", "--weights", str(tmp_path / "w.safetensors"), "--data",
                 str(mnist_root), "--threads", "1")
    assert r.returncode == 0, r.stderr
    xt, yt = MNIST(mnist_root, train=False).arrays()
    out = cn.predict(model, (xt - np.float32(MNIST.mean)) / np.float32(MNIST.std))
    top1 = np.mean(out.argmax(1) == yt)
    top5 = np.mean([t in np.argsort(-o, kind="stable")[:5] for o, t in zip(out, yt)])
    assert f"top-1 {top1 * 100:.2f}%, top-5 {top5 * 100:.2f}%" in r.stdout
    lines = r.stdout.splitlines()
    row = next(l for l in lines if l.startswith("3 - three"))
    want = np.mean(out.argmax(1)[yt == 3] == 3) * 100
    assert f"{want:7.2f}%" in row and f"{(yt == 3).sum():6d}" in row
    r = _run_cli("evaluate", "lenet5", "--weights", str(tmp_path / "nope.safetensors"))
    assert r.returncode == 2 and "no such file" in r.stderr


@pytest.mark.parametrize("schedule,extra,lrs", [
    ("step", ["--step-size", "1", "--gamma", "0.5"], [0.04, 0.02, 0.01]),
    ("multistep", ["--milestones", "2", "--gamma", "0.1"], [0.04, 0.04, 0.004]),
    ("plateau", ["--patience", "0"], None),
    ("onecycle", [], None),
])
def test_cli_schedules_accumulation_clipping_and_ema(tmp_path, schedule, extra, lrs):
    """Each --lr-schedule with its arguments, --accumulate-grad-batches, --clip-grad-norm and --ema
    parse and run a short training; the CSV log shows the schedule's rate at each epoch."""
    image_folder(tmp_path / "imgs")
    log = tmp_path / "log.csv"
    r = _run_cli("train", "lenet5", "--dataset", f"folder:{tmp_path / 'imgs'}", "--grayscale", "--image-size", "28",
                 "--batch-size", "4", "--threads", "1", "--quiet", "--epochs", "3", "--lr", "0.04",
                 "--lr-schedule", schedule, *extra, "--accumulate-grad-batches", "2", "--clip-grad-norm", "1.0",
                 "--ema", "0.9", "--csv-log", str(log), "--output", str(tmp_path / "w.safetensors"))
    assert r.returncode == 0, r.stderr
    assert "x 2 accumulated" in r.stdout and "clipped at 1.0" in r.stdout and "decay 0.9" in r.stdout
    with open(log) as f:
        got = [float(row["lr"]) for row in csv.DictReader(f)]
    if lrs is not None:
        assert got == pytest.approx(lrs, rel=1e-12)
    elif schedule == "onecycle":  # per batch: the epochs start at different points of the cycle
        assert got[0] == pytest.approx(0.04 / 25) and got[1] > got[0] and got[2] < got[1]
    assert (tmp_path / "w.safetensors").exists()
    r = _run_cli("train", "lenet5", "--lr-schedule", "sometimes")
    assert r.returncode == 2 and "invalid choice: 'sometimes'" in r.stderr
