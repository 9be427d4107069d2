"""A bounded fuzz run of every file reader (atheris), on a seed corpus of valid files written here.
Opt-in (it takes CONVNET_FUZZ_SECONDS per reader): CONVNET_FUZZ_SECONDS=30 pytest tests/fuzz"""

import gzip
import os
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest

import convnet as cn

SECONDS = int(os.environ.get("CONVNET_FUZZ_SECONDS", "0"))
HARNESS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz_readers.py")

pytestmark = [pytest.mark.slow, pytest.mark.skipif(SECONDS <= 0, reason="set CONVNET_FUZZ_SECONDS to fuzz")]


def write_seeds(target, folder):
    """Valid files for `target` in `folder` (the seed corpus)."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "seed")
    if target == "safetensors":
        cn.save({"w": cn.ones(2, 3), "b": cn.zeros(3), "i": cn.from_numpy(np.arange(4))}, path)
    elif target == "checkpoint":
        cn.save_checkpoint({"epoch": 1, "model": {"w": cn.ones(2)}, "rng": (1, [2.5, None]),
                            "a": np.arange(3, dtype=np.int32), "d": {1: "x"}}, path)
    elif target == "idx":
        head = (2051).to_bytes(4, "big") + (2).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
        open(path, "wb").write(gzip.compress(head + bytes(range(256)) * 6 + bytes(32)))
    elif target == "cifar_pickle":
        batch = {b"labels": [3, 1], b"data": np.zeros((2, 3072), np.uint8)}
        open(path, "wb").write(pickle.dumps(batch, protocol=2))
    elif target == "cifar_binary":
        open(path, "wb").write((bytes([7]) + bytes(3072)) * 2)
    elif target == "image":
        Image = pytest.importorskip("PIL.Image")
        Image.fromarray(np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)).save(path, format="PNG")
    elif target == "onnx":
        pytest.importorskip("onnx")
        model = cn.nn.Sequential(cn.nn.Conv2d(1, 2, 3), cn.nn.ReLU(), cn.nn.Flatten(), cn.nn.Linear(8, 2))
        cn.onnx.export(model, cn.zeros(1, 1, 4, 4), path)
    elif target == "mat":
        from mat5 import mat_file
        x = np.arange(2 * 3 * 2, dtype=np.uint8).reshape(2, 3, 2)
        variables = [("X", x), ("y", np.array([[1.0], [10.0]]), "f8", "u1"), ("big", np.arange(3.0))]
        open(path, "wb").write(mat_file(variables))
        open(path + "-compressed", "wb").write(mat_file(variables, e=">", compress=True))


@pytest.mark.parametrize("target", ["safetensors", "checkpoint", "idx", "cifar_pickle", "cifar_binary", "image",
                                    "onnx", "mat"])
def test_fuzz_reader(tmp_path, target):
    pytest.importorskip("atheris")
    corpus = str(tmp_path / "corpus")
    write_seeds(target, corpus)
    r = subprocess.run([sys.executable, HARNESS, target, corpus, f"-max_total_time={SECONDS}", "-timeout=2",
                        "-rss_limit_mb=1024", f"-artifact_prefix={tmp_path}/"], capture_output=True, text=True, timeout=SECONDS + 120)
    runs = re.findall(r"Done (\d+) runs", r.stderr)
    print(f"{target}: {runs[-1] if runs else '?'} inputs, exit status {r.returncode}")
    assert r.returncode == 0, r.stderr[-3000:]
