"""Checkpoints survive a writer killed mid-write (issue 15, failure 7), leave no temporary files
behind after the next save, and a damaged checkpoint fails with a CheckpointError naming the file
and the entry (failure 3)."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import convnet as cn
import convnet.nn as nn
from convnet import callbacks as C
from convnet.data import DataLoader, TensorDataset

WRITER = """
import sys
import numpy as np
import convnet as cn
path = sys.argv[1]
w = np.zeros(1 << 21, np.float32)  # 8 MB: a write takes long enough to be interrupted
print("ready", flush=True)
for epoch in range(1 << 30):
    w[:] = epoch
    cn.save_checkpoint({"epoch": epoch, "w": w, "note": "x" * 1000}, path)
"""


def _temporaries(folder):
    return [f for f in os.listdir(folder) if ".convnet-tmp-" in f]


def test_kill_9_during_checkpoint_writes(tmp_path):
    path = tmp_path / "last.ckpt"
    rng = random.Random(0)
    stale_seen = loads = 0
    deadline = time.monotonic() + 120
    for _ in range(20):
        p = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE)
        assert p.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.4))
        p.send_signal(signal.SIGKILL)
        p.wait()
        p.stdout.close()
        stale_seen += len(_temporaries(tmp_path))
        if path.exists():  # the last complete checkpoint always loads, whole
            state = cn.load_checkpoint(path)
            assert np.all(state["w"] == state["epoch"])
            loads += 1
        assert time.monotonic() < deadline
    assert loads >= 15
    cn.save_checkpoint({"epoch": -1}, path)
    assert _temporaries(tmp_path) == []
    assert os.listdir(tmp_path) == ["last.ckpt"]
    print(f"{loads} checkpoints loaded after 20 kills, {stale_seen} stale temporary file(s) seen and removed")


def _trained_checkpoint(folder):
    cn.manual_seed(0)
    x = cn.randn(16, 4)
    y = cn.from_numpy(np.arange(16, dtype=np.int64) % 3)
    model = nn.Sequential(nn.Linear(4, 3))
    opt = cn.optim.SGD(model.parameters(), lr=0.1)
    ck = C.ModelCheckpoint(dirpath=folder, save_last=True)
    cn.fit(model, DataLoader(TensorDataset(x, y), batch_size=8), opt, epochs=1, verbose=False, callbacks=[ck])
    return ck.last_model_path, model, opt, DataLoader(TensorDataset(x, y), batch_size=8)


def _rewrite_state(src, dst, edit):
    """A copy of checkpoint `src` at `dst` whose training state (JSON) is edit(state)."""
    raw = open(src, "rb").read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    state = json.loads(header["__metadata__"]["convnet.checkpoint"])
    header["__metadata__"]["convnet.checkpoint"] = json.dumps(edit(state))
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    open(dst, "wb").write(len(h).to_bytes(8, "little") + h + raw[8 + n:])
    return dst


@pytest.mark.parametrize("edit, expected", [
    (lambda s: {k: v for k, v in s.items() if k != "epoch"}, "'epoch' is missing"),
    (lambda s: {**s, "epoch": "one"}, "'epoch' is a str"),
    (lambda s: {**s, "model": []}, "'model' is a list"),
    (lambda s: {**s, "rng": {"numpy": s["rng"]["numpy"]}}, "'rng.convnet' is missing"),
    (lambda s: {**s, "history": {"epoch": 3}}, "'history'"),
])
def test_resume_names_the_missing_or_wrong_entry(tmp_path, edit, expected):
    last, model, opt, loader = _trained_checkpoint(tmp_path)
    bad = _rewrite_state(last, tmp_path / "bad.ckpt", edit)
    with pytest.raises(cn.CheckpointError, match=expected) as info:
        cn.fit(model, loader, opt, epochs=2, verbose=False, resume_from=bad)
    assert str(bad) in str(info.value) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("edit, expected", [
    (lambda s: {**s, "model": {"__tensor__": 5}}, "state.model: the metadata names tensor 5"),
    (lambda s: {**s, "x": {"__ndarray__": "model.0.weight", "dtype": "nonsense"}}, "NumPy dtype"),
    # strings that NumPy's dtype parser evaluates (SyntaxError) or reads as a structured dtype
    (lambda s: {**s, "x": {"__ndarray__": "model.0.weight", "dtype": "f,("}}, "NumPy dtype"),
    (lambda s: {**s, "x": {"__ndarray__": "model.0.weight", "dtype": "i4,(1"}}, "NumPy dtype"),
    (lambda s: {**s, "x": {"__ndarray__": "model.0.weight", "dtype": "u1,"}}, "NumPy dtype"),
    (lambda s: {**s, "x": {"__items__": [[None, 1]]}}, "state.x: expected a list of"),
    (lambda s: {**s, "x": {"__tuple__": 3}}, "state.x: expected a list"),
    (lambda s: [s], "expected a JSON object"),
])
def test_load_checkpoint_names_the_bad_entry(tmp_path, edit, expected):
    last = _trained_checkpoint(tmp_path)[0]
    bad = _rewrite_state(last, tmp_path / "bad.ckpt", edit)
    with pytest.raises(cn.CheckpointError, match=expected):
        cn.load_checkpoint(bad)


def test_checkpoint_mutants_raise_only_checkpoint_errors(tmp_path):
    last, model, opt, loader = _trained_checkpoint(tmp_path)
    good = open(last, "rb").read()
    n = int.from_bytes(good[:8], "little")
    rng = random.Random(0)
    path = tmp_path / "m.ckpt"
    outcomes = {"ok": 0, "rejected": 0}
    for _ in range(300):
        b = bytearray(good)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(8, 8 + n)  # the header: JSON and the training state
            b[i] = rng.randrange(32, 127)
        path.write_bytes(bytes(b))
        try:
            cn.fit(model, loader, opt, epochs=0, verbose=False, resume_from=path)
            outcomes["ok"] += 1
        except cn.CheckpointError:
            outcomes["rejected"] += 1
    assert outcomes["rejected"] > 100, outcomes
