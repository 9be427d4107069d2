"""Training conveniences: random states, checkpoints and bit-identical resumption, and the callbacks
of fit (EarlyStopping, ModelCheckpoint, LRSchedulerCallback, CSVLogger); the train/evaluate CLI is
tested in test_cli.py."""

import csv
import math
import sys
import os

import numpy as np
import pytest

import convnet as cn
import convnet.nn as nn
from convnet import callbacks as C
from convnet.data import DataLoader


def test_rng_state_round_trip_and_errors():
    cn.manual_seed(3)
    state = cn.get_rng_state()
    assert state.dtype == cn.uint8 and tuple(state.shape) == (40,)
    assert int.from_bytes(bytes(state.numpy()[32:]), sys.byteorder) == 3  # the seed, after the words
    a = cn.rand(7).numpy().copy()
    d = cn.nn.functional.dropout(cn.ones(50), 0.5, True).numpy().copy()
    cn.set_rng_state(state)
    np.testing.assert_array_equal(cn.rand(7).numpy(), a)
    np.testing.assert_array_equal(cn.nn.functional.dropout(cn.ones(50), 0.5, True).numpy(), d)
    assert cn.initial_seed() == 3
    # the state is a copy: drawing does not change it
    cn.rand(3)
    cn.set_rng_state(state)
    np.testing.assert_array_equal(cn.rand(7).numpy(), a)
    with pytest.raises(ValueError, match=r"set_rng_state: expected a uint8 tensor of 40 bytes .* float32 of shape \(40,\)"):
        cn.set_rng_state(cn.zeros(40))
    with pytest.raises(ValueError, match=r"shape \(39,\)"):
        cn.set_rng_state(cn.from_numpy(np.zeros(39, np.uint8)))
    with pytest.raises(ValueError, match="all zero"):
        cn.set_rng_state(cn.from_numpy(np.zeros(40, np.uint8)))


def test_checkpoint_round_trip_of_a_nested_state(tmp_path):
    state = {
        "epoch": 3, "lr": 0.1 + 0.2, "nan": float("nan"), "flags": [True, None, "x"],
        "pair": (0.9, 0.999), "by_index": {0: {"step": cn.tensor(5.0)}, 7: {}},
        "model": {"conv.weight": cn.randn(2, 1, 3, 3), "fc.bias": cn.zeros(4, dtype=cn.float64)},
        "numpy": np.random.get_state(), "ints": np.arange(5, dtype=np.int32),
    }
    path = tmp_path / "sub" / "c.ckpt"
    cn.save_checkpoint(state, path)
    assert os.listdir(tmp_path / "sub") == ["c.ckpt"]  # the temporary file was renamed
    back = cn.load_checkpoint(path)
    assert back["epoch"] == 3 and back["lr"] == 0.1 + 0.2 and math.isnan(back["nan"])
    assert back["flags"] == [True, None, "x"] and back["pair"] == (0.9, 0.999)
    assert set(back["by_index"]) == {0, 7} and back["by_index"][0]["step"].item() == 5.0
    for k, v in state["model"].items():
        assert back["model"][k].dtype == v.dtype
        np.testing.assert_array_equal(back["model"][k].numpy(), v.numpy())
    np_state = back["numpy"]
    assert np_state[0] == "MT19937" and np_state[1].dtype == np.uint32
    np.testing.assert_array_equal(np_state[1], state["numpy"][1])
    assert back["ints"].dtype == np.int32
    assert cn.checkpoint.is_checkpoint(path)
    # other tools read the tensors by their paths in the state
    st = pytest.importorskip("safetensors.numpy")
    raw = st.load_file(str(path))
    np.testing.assert_array_equal(raw["model.conv.weight"], state["model"]["conv.weight"].numpy())
    # plain weights are not a checkpoint
    cn.save({"w": cn.ones(2)}, tmp_path / "w.safetensors")
    assert not cn.checkpoint.is_checkpoint(tmp_path / "w.safetensors")
    with pytest.raises(ValueError, match="holds tensors but no training state"):
        cn.load_checkpoint(tmp_path / "w.safetensors")
    with pytest.raises(TypeError, match=r"cannot store a set \(at bad\)"):
        cn.save_checkpoint({"bad": {1, 2}}, tmp_path / "x.ckpt")


def _data(n=192, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 1, 8, 8)).astype(np.float32)
    y = (x[:, 0, :4].sum((1, 2)) > 0).astype(np.int64) + 2 * (x[:, 0, :, :4].sum((1, 2)) > 0)
    return x, y


def _net():
    # batch norm: its running statistics and int64 batch counter are buffers the checkpoint holds
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.3),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 4))


def _setup(init_seed, loader_seed, optimizer="sgd"):
    cn.manual_seed(init_seed)
    model = _net()
    if optimizer == "sgd":
        opt = cn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    else:
        opt = cn.optim.Adam(model.parameters(), lr=0.01)
    sched = cn.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
    x, y = _data()
    xv, yv = _data(64, seed=1)
    return (model, opt, sched, DataLoader((x, y), 32, shuffle=True, seed=loader_seed),
            DataLoader((xv, yv), 32))


def _weights(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("loader_seed,optimizer", [(5, "sgd"), (None, "adam")])
def test_resume_gives_bit_identical_weights(tmp_path, loader_seed, optimizer):
    model, opt, sched, train, val = _setup(0, loader_seed, optimizer)
    full = cn.fit(model, train, opt, epochs=3, verbose=False, scheduler=sched, val_loader=val)
    want = _weights(model)

    model, opt, sched, train, val = _setup(0, loader_seed, optimizer)
    ck = C.ModelCheckpoint(dirpath=tmp_path, save_last=True)
    first = cn.fit(model, train, opt, epochs=1, verbose=False, scheduler=sched, val_loader=val, callbacks=[ck])
    assert sorted(os.listdir(tmp_path)) == ["epoch001.ckpt", "last.ckpt"]
    assert ck.last_model_path == os.path.join(str(tmp_path), "last.ckpt")
    # a fresh process would build everything anew, from another seed: the checkpoint restores it all
    cn.manual_seed(1234)
    np.random.seed(99)
    model, opt, sched, train, val = _setup(77, loader_seed, optimizer)
    assert not all(np.array_equal(want[k], v) for k, v in _weights(model).items())
    resumed = cn.fit(model, train, opt, epochs=3, verbose=False, scheduler=sched, val_loader=val,
                     resume_from=ck.last_model_path, callbacks=[C.ModelCheckpoint(dirpath=tmp_path, save_last=True)])
    got = _weights(model)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
    assert resumed.epoch == [1, 2, 3] and first.epoch == [1]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        assert resumed[key] == full[key], key
    base = 0.05 if optimizer == "sgd" else 0.01
    assert full["lr"] == pytest.approx([base, base * 0.7, base * 0.49], rel=1e-12)
    assert sched.last_epoch == 3
    assert sorted(os.listdir(tmp_path)) == ["epoch001.ckpt", "epoch002.ckpt", "epoch003.ckpt", "last.ckpt"]
    # resuming a finished run trains nothing more
    again = cn.fit(model, train, opt, epochs=3, verbose=False, scheduler=sched, val_loader=val,
                   resume_from=os.path.join(tmp_path, "last.ckpt"))
    assert again.epoch == [1, 2, 3]


class _Scores(C.Callback):
    """Logs a scripted metric `score` before the other callbacks see the epoch, and keeps the weights
    of every epoch."""

    order = -20

    def __init__(self, scores):
        self.scores = scores
        self.weights = {}

    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = self.scores[epoch - 1]
        self.weights[epoch] = _weights(self.model)


def _small_fit(callbacks, epochs, **kw):
    model, opt, _, train, _ = _setup(0, 1)
    hist = cn.fit(model, train, opt, epochs=epochs, verbose=False, callbacks=callbacks, **kw)
    return model, hist


@pytest.mark.parametrize("scores,patience,min_delta,mode,stop,best", [
    ([5, 4, 4.5, 4.2, 3, 2], 2, 0.0, "min", 4, 2),     # two epochs without a new minimum
    ([5, 4, 3.95, 3.9, 3.0], 1, 0.1, "min", 3, 2),     # 3.95 improves by less than min_delta
    ([0.1, 0.3, 0.2, 0.25, 0.9], 2, 0.0, "max", 4, 2),
    ([0.1, 0.3, 0.4, 0.5, 0.6], 0, 0.0, "auto", 0, 5),  # never stops; 'score' is minimized in auto
])
def test_early_stopping_follows_keras_rules(scores, patience, min_delta, mode, stop, best):
    if mode == "auto":
        scores = [-s for s in scores]
    rec = _Scores(scores)
    es = C.EarlyStopping(monitor="score", patience=patience, min_delta=min_delta, mode=mode,
                         restore_best_weights=True)
    model, hist = _small_fit([es, rec], epochs=len(scores))
    assert es.stopped_epoch == stop and es.best_epoch == best
    assert hist.epoch == list(range(1, (stop or len(scores)) + 1))
    got = _weights(model)
    for k, v in rec.weights[best].items():
        np.testing.assert_array_equal(got[k], v)


def test_model_checkpoint_best_only_and_csv_logger(tmp_path):
    rec = _Scores([3.0, 2.0, 4.0, 1.0])
    ck = C.ModelCheckpoint(str(tmp_path / "ck" / "e{epoch}-{score:.1f}.ckpt"), monitor="score",
                           save_best_only=True)
    log = tmp_path / "log.csv"
    model, hist = _small_fit([ck, rec, C.CSVLogger(log)], epochs=4)
    assert sorted(os.listdir(tmp_path / "ck")) == ["e1-3.0.ckpt", "e2-2.0.ckpt", "e4-1.0.ckpt"]
    assert ck.best_model_path.endswith("e4-1.0.ckpt") and ck.best_score == 1.0
    state = cn.load_checkpoint(tmp_path / "ck" / "e2-2.0.ckpt")
    assert state["epoch"] == 2 and state["history"]["epoch"] == [1, 2]
    for k, v in rec.weights[2].items():
        np.testing.assert_array_equal(state["model"][k].numpy(), v)
    with open(log, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    assert [float(r["loss"]) for r in rows] == hist["loss"]
    assert [float(r["score"]) for r in rows] == [3.0, 2.0, 4.0, 1.0]
    assert [float(r["lr"]) for r in rows] == [0.05] * 4
    # weights only, for convnet.load
    ckw = C.ModelCheckpoint(dirpath=tmp_path / "w", save_weights_only=True)
    model, _ = _small_fit([ckw], epochs=1)
    w = cn.load(tmp_path / "w" / "epoch001.ckpt")
    for k, v in _weights(model).items():
        np.testing.assert_array_equal(w[k].numpy(), v)
    with pytest.raises(ValueError, match="filepath .* names 'val_top9'"):
        _small_fit([C.ModelCheckpoint(str(tmp_path / "{val_top9}.ckpt"))], epochs=1)


def test_reduce_lr_on_plateau_through_fit_and_plain_function_callbacks():
    seen = []
    model, opt, _, train, val = _setup(0, 1)
    sched = cn.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=0)
    rec = _Scores([0.5, 0.4, 0.6, 0.6, 0.7])
    hist = cn.fit(model, train, opt, epochs=5, verbose=False, scheduler=sched, scheduler_monitor="score",
                  callbacks=[rec, lambda epoch, logs: seen.append((epoch, logs["lr"]))])
    # lr during each epoch: halved after each epoch that did not beat the best score
    assert hist["lr"] == [0.05, 0.05, 0.025, 0.025, 0.0125]
    assert seen == list(zip(range(1, 6), hist["lr"]))
    with pytest.raises(ValueError, match="ReduceLROnPlateau monitors 'val_loss'"):
        cn.fit(model, train, opt, epochs=1, verbose=False, scheduler=sched)


def test_lr_scheduler_per_step():
    model, opt, _, train, _ = _setup(0, 1)
    sched = cn.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=2 * len(train))
    cn.fit(model, train, opt, epochs=2, verbose=False, callbacks=[C.LRSchedulerCallback(sched, interval="step")])
    assert sched.last_epoch == 2 * len(train)


def test_callback_argument_errors_and_missing_metrics(tmp_path):
    with pytest.raises(ValueError, match="ModelCheckpoint: give a filepath or a dirpath"):
        C.ModelCheckpoint()
    with pytest.raises(ValueError, match="EarlyStopping: mode must be 'min', 'max' or 'auto', got 'up'"):
        C.EarlyStopping(mode="up")
    with pytest.raises(ValueError, match="EarlyStopping: patience must be an int >= 0"):
        C.EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="interval must be 'epoch' or 'step'"):
        C.LRSchedulerCallback(None, interval="batch")
    with pytest.raises(TypeError, match="fit: callbacks must be Callback objects or functions"):
        _small_fit([3], epochs=1)
    es = C.EarlyStopping(monitor="val_loss", patience=0)
    ck = C.ModelCheckpoint(dirpath=tmp_path, save_best_only=True)
    with pytest.warns(UserWarning, match=r"EarlyStopping: metric 'val_loss' is not available \(have: accuracy, loss"), \
            pytest.warns(UserWarning, match="ModelCheckpoint: metric 'val_loss' is not available"):
        _, hist = _small_fit([es, ck], epochs=2)
    assert hist.epoch == [1, 2] and es.stopped_epoch == 0 and os.listdir(tmp_path) == []
