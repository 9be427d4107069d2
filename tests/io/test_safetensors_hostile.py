"""Hostile safetensors files: convnet.load validates the whole header before it allocates, as the
safetensors reference reader does, and every failure is a convnet.SafetensorsError naming the file."""

import importlib.util
import json
import os
import pathlib
import time

import numpy as np
import pytest

import convnet as cn


def _write(path, header, data=b"", raw_header=None):
    h = raw_header if raw_header is not None else json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    path.write_bytes(len(h).to_bytes(8, "little") + h + data)
    return path


def _rejects(path, *fields):
    with pytest.raises(cn.SafetensorsError) as info:
        cn.load(path)
    assert isinstance(info.value, ValueError)
    msg = str(info.value)
    assert str(path) in msg
    for f in fields:
        assert f in msg, msg
    return msg


def test_entries_sharing_bytes_fail_fast(tmp_path):
    # issue 15, failure 1: 200 entries over the same 32 MiB made the reader allocate 6.4 GB
    n = 32 << 20
    path = tmp_path / "o.safetensors"
    _write(path, {f"t{i}": {"dtype": "U8", "shape": [n], "data_offsets": [0, n]} for i in range(200)}, b"\1" * n)
    cn.reset_peak_memory_stats()
    t = time.perf_counter()
    _rejects(path, "data_offsets", "contiguous")
    assert time.perf_counter() - t < 0.5
    stats = cn.memory_stats()
    assert stats["peak_allocated_bytes"] - stats["allocated_bytes"] < 1 << 20  # nothing allocated


@pytest.mark.parametrize("case, fields", [
    ("trailing", ("trailing bytes",)),
    ("gap", ("data_offsets", "expected to begin at 8")),
    ("overlap", ("data_offsets", "expected to begin at 16")),
    ("span", ("has 12 bytes of data", "needs 16")),
    ("truncated", ("truncated",)),
])
def test_offsets_must_cover_the_data_exactly(tmp_path, case, fields):
    a = {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}
    b = {"dtype": "F32", "shape": [2], "data_offsets": [16, 24]}
    data = b"\0" * 24
    if case == "trailing":
        data += b"\0" * 8
    elif case == "gap":
        a = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
    elif case == "overlap":
        b["data_offsets"] = [12, 20]
        data = data[:20]
    elif case == "span":
        a["data_offsets"] = [0, 12]
        b["data_offsets"] = [12, 20]
        data = b"\0" * 20
    elif case == "truncated":
        data = data[:20]
    _rejects(_write(tmp_path / "f.safetensors", {"a": a, "b": b}, data), *fields)


@pytest.mark.parametrize("raw, field", [
    (b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "\xff": 1}', "UTF-8"),
    (b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}', "JSON"),
    (b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}} x', "JSON"),
    (b'{"a": {"dtype": "F33", "shape": [1], "data_offsets": [0, 4]}}', "dtype"),
    (b'{"a": {"dtype": "I16", "shape": [1], "data_offsets": [0, 2]}}', "has unsupported dtype I16"),
    (b'{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}', "shape"),
    (b'{"a": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}', "shape"),
    (b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}', "data_offsets"),
    (b'{"a": {"dtype": "F32", "shape": [1]}}', "data_offsets is missing"),
    (b'{"a": [1, 2]}', "expected an object"),
    (b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "__metadata__": {"k": 1}}', "__metadata__"),
    (b'{"a": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 4]}}', "overflows"),
    (b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "a": {}}', "twice"),
    (b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "x": "\\ud800"}}', "surrogate"),
    (b"[1]", "not a JSON object"),
])
def test_bad_headers(tmp_path, raw, field):
    _rejects(_write(tmp_path / "h.safetensors", None, b"\0" * 4, raw_header=raw), field)


def test_header_length_beyond_the_file(tmp_path):
    path = tmp_path / "l.safetensors"
    path.write_bytes((1 << 40).to_bytes(8, "little") + b"{}")
    _rejects(path, "header length")
    path.write_bytes(b"\1\2")
    _rejects(path, "8-byte header length")


def test_bad_devices_metadata(tmp_path):
    path = tmp_path / "d.safetensors"
    cn.save({"a": cn.ones(2)}, path)
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    for devices in ["{", "[1]", '{"a": "nowhere:7"}']:
        header["__metadata__"]["convnet.devices"] = devices
        _rejects(_write(path, header, raw[8 + n:]), "convnet.devices")


def test_valid_files_still_load(tmp_path):
    path = tmp_path / "ok.safetensors"
    state = {"w": cn.from_numpy(np.arange(6, dtype=np.float32).reshape(2, 3)), "e": cn.zeros(0, 3),
             "s": cn.tensor(3.0), "i": cn.from_numpy(np.arange(4, dtype=np.int64))}
    cn.save(state, path)
    back = cn.load(path)
    assert list(back) == list(state)
    for k in state:
        np.testing.assert_array_equal(back[k].numpy(), state[k].numpy())


def _agreement_tool():
    path = pathlib.Path(__file__).resolve().parents[2] / "tools" / "safetensors_agreement.py"
    spec = importlib.util.spec_from_file_location("safetensors_agreement", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_mutants_agree_with_the_reference_reader():
    pytest.importorskip("safetensors")
    counts = _agreement_tool().run(400, seed=1, verbose=False)
    assert counts["disagree"] == 0 and counts["values differ"] == 0, counts
    assert counts["both reject"] > 100 and counts["both accept"] > 10, counts


def test_save_is_atomic_and_removes_stale_temporaries(tmp_path):
    import fcntl

    path = tmp_path / "w.safetensors"
    stale = tmp_path / "w.safetensors.convnet-tmp-0123abcd"
    stale.write_bytes(b"half a file")
    other = tmp_path / "x.safetensors.convnet-tmp-89abcdef"  # a live writer holds its lock
    other.write_bytes(b"being written")
    with open(other, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        cn.save({"a": cn.ones(3)}, path)
        assert not stale.exists()
        assert other.exists()
    assert sorted(os.listdir(tmp_path)) == ["w.safetensors", other.name]
    np.testing.assert_array_equal(cn.load(path)["a"].numpy(), np.ones(3, np.float32))
