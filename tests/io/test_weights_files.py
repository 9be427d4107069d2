"""Weights files (the safetensors layout) and state dicts: truncated, malformed and foreign files and
mismatched state dicts raise errors that name the file, the key and the shapes."""

import struct

import numpy as np
import pytest

from convnet import nn
import convnet as cn
from opcheck import msg


@pytest.fixture
def weights_file(tmp_path):
    path = tmp_path / "model.safetensors"
    cn.save(nn.Linear(30, 20).state_dict(), path)
    return path


def test_load_truncated_file(weights_file, tmp_path):
    raw = weights_file.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(raw[:-100])  # the data section ends early
    with pytest.raises(cn.SafetensorsError, match=msg(f"load: {cut} is not a valid safetensors file",
                                               "the file is truncated", 'entry "weight"', "ends at byte 2400",
                                               "which has 2380 bytes")):
        cn.load(cut)
    cut.write_bytes(raw[:40])  # cut inside the JSON header
    n = struct.unpack("<Q", raw[:8])[0]
    with pytest.raises(cn.SafetensorsError, match=msg(f"load: {cut} is not a valid safetensors file",
                                               f"the header claims {n} bytes but the file has 40 bytes")):
        cn.load(cut)
    for size in (0, 3):
        cut.write_bytes(raw[:size])
        with pytest.raises(cn.SafetensorsError, match=msg(f"load: {cut}", f"it has {size} bytes, fewer than the 8-byte "
                                                   "header length")):
            cn.load(cut)


@pytest.mark.parametrize("length", [2 ** 62, 2 ** 64 - 1, 1000])
def test_load_bogus_header_length(tmp_path, length):
    path = tmp_path / "bogus.safetensors"
    path.write_bytes(struct.pack("<Q", length) + b"{}")
    with pytest.raises(cn.SafetensorsError, match=msg(f"load: {path} is not a valid safetensors file",
                                               f"the header claims {length} bytes but the file has 10 bytes")):
        cn.load(path)


@pytest.mark.parametrize("header, text", [
    (b"", "the header is not a JSON object"),
    (b"[1, 2]", "the header is not a JSON object"),
    (b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]', "bad JSON header (unexpected end"),
    (b'{"\\uZZZZ": 1}', "bad JSON header (bad \\u escape"),
    (b'{"a": {"dtype": "F32", "shape": [-], "data_offsets": [0, 0]}}', "bad JSON header (expected digits"),
    (b'{"a": {"dtype": "I16", "shape": [2], "data_offsets": [0, 4]}}', 'entry "a" has unsupported dtype I16'),
    (b'{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}', 'entry "a" has 8 bytes of data but shape (3,)'),
    (b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}', "the file is truncated"),
    (b'{"a": {"dtype": "F32"}}', 'entry "a" lacks dtype, shape or data_offsets'),
    # 2**40 x 2**40 elements in 0 bytes: once wrapped around to 0 elements and crashed on use
    (b'{"a": {"dtype": "F32", "shape": [1099511627776, 1099511627776], "data_offsets": [0, 0]}}',
     'entry "a" is too large'),
])
def test_load_malformed_header(tmp_path, header, text):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(8))
    with pytest.raises(cn.SafetensorsError, match=msg(f"load: {path} is not a valid safetensors file", text)):
        cn.load(path)


@pytest.mark.parametrize("name, content", [
    ("image.png", b"\x89PNG\r\n\x1a\n" + bytes(13) + b"IHDR" + bytes(100)),
    ("random.bin", np.random.default_rng(0).bytes(4096)),
    ("notes.txt", b"these are not the weights you are looking for\n"),
    ("model.pt", b"PK\x03\x04" + bytes(60)),  # a damaged PyTorch zip checkpoint
])
def test_load_foreign_file(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    kind = "PyTorch" if content.startswith(b"PK") else "safetensors"
    with pytest.raises(cn.SafetensorsError, match=msg(f"load: {path} is not a valid {kind} file")):
        cn.load(path)


def test_load_missing_file_or_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match=msg("load: no such file", "nope.safetensors")):
        cn.load(tmp_path / "nope.safetensors")
    with pytest.raises(RuntimeError, match=msg(f"load: {tmp_path} is a directory, expected a safetensors file")):
        cn.load(tmp_path)


def test_load_state_dict_wrong_shape():
    model = nn.Linear(3, 2)
    state = model.state_dict()
    state["weight"] = cn.randn(2, 4)
    with pytest.raises(ValueError, match=msg("load_state_dict: size mismatch for weight",
                                             "copying a tensor of shape (2, 4)",
                                             "the shape in the current model is (2, 3)")):
        model.load_state_dict(state)


def test_load_state_dict_missing_and_unexpected_keys_strict():
    model = nn.Sequential(nn.Linear(3, 2))
    state = model.state_dict()
    del state["0.bias"]
    with pytest.raises(RuntimeError, match=msg("load_state_dict: error(s) in loading state_dict for Sequential",
                                               'missing key(s): "0.bias"')):
        model.load_state_dict(state)
    state = model.state_dict()
    state["0.extra"] = cn.randn(1)
    with pytest.raises(RuntimeError, match=msg("load_state_dict", 'unexpected key(s): "0.extra"')):
        model.load_state_dict(state)
    # not strict: reported, not raised
    result = model.load_state_dict({"0.weight": cn.randn(2, 3)}, strict=False)
    assert list(result.missing_keys) == ["0.bias"]


def test_load_state_dict_from_a_file_of_another_model(tmp_path):
    path = tmp_path / "other.safetensors"
    cn.save(nn.Linear(5, 2).state_dict(), path)
    with pytest.raises(ValueError, match=msg("load_state_dict: size mismatch for weight", "(2, 5)", "(2, 3)")):
        nn.Linear(3, 2).load_state_dict(cn.load(path))
