"""PyTorch `.pth` files read without PyTorch (convnet.serialization.load_pth, convnet.load).

Files are written by torch.save here, in both of its formats (the zip archive and the legacy
single-file pickle), and read back in a subprocess whose `import torch` fails: every tensor bit
for bit, every container and number as saved. Pickles that name any other global (a `__reduce__`
calling os.system, a whole nn.Module, a NumPy array) are refused before anything of them runs."""

import collections
import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import convnet as cn
from opcheck import msg

torch = pytest.importorskip("torch")

# Flattens what a loader returned into ([(path, kind, detail)], {key: bits}): the same code runs on
# torch's objects here and on convnet's in the subprocess (torch_tensor tells which is a tensor).
FLATTEN = r'''
import numpy as np

def flatten(obj, is_tensor, bits_of):
    rows, arrays = [], {}

    def walk(x, path):
        if is_tensor(x):
            key = f"t{len(arrays)}"
            dtype, shape, arrays[key] = bits_of(x)
            rows.append([path, "tensor", [dtype, list(shape), key]])
        elif isinstance(x, dict):
            rows.append([path, type(x).__name__, [repr(k) for k in x]])
            for k, v in x.items():
                walk(v, f"{path}[{k!r}]")
        elif isinstance(x, (list, tuple)):
            rows.append([path, type(x).__name__, len(x)])
            for i, v in enumerate(x):
                walk(v, f"{path}[{i}]")
        elif isinstance(x, (set, frozenset)):
            rows.append([path, type(x).__name__, sorted(map(repr, x))])
        else:
            rows.append([path, type(x).__name__, repr(x)])

    walk(obj, "")
    return rows, arrays
'''
exec(FLATTEN)

WIDENED = ("int8", "int16", "int32", "uint16", "uint32")


def torch_bits(t):
    """(dtype name as convnet loads it, shape, the bytes of its elements in C order)."""
    name = str(t.dtype).removeprefix("torch.")
    if name in WIDENED:
        t, name = t.to(torch.int64), "int64"
    flat = t.detach().contiguous().reshape(-1)
    return name, tuple(t.shape), flat.view(torch.uint8).numpy().copy()


def torch_plain(obj):
    """obj as the loader gives it back: torch.Size as a tuple, torch.device as its name."""
    if isinstance(obj, torch.Size):
        return tuple(obj)
    if isinstance(obj, torch.device):
        return str(obj)
    if isinstance(obj, dict):
        out = type(obj)()
        out.update((k, torch_plain(v)) for k, v in obj.items())
        return out
    if isinstance(obj, (list, tuple)) and not isinstance(obj, torch.Tensor):
        return type(obj)(torch_plain(v) for v in obj)
    return obj


# The subprocess: import torch fails; each .pth given is read by load_pth and flattened to <out>.json/.npz.
CHILD = r'''
import json, sys

class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError(f"import of {name} is blocked in this test")
        return None

sys.meta_path.insert(0, NoTorch())
try:
    import torch
    sys.exit("torch imported")
except ImportError:
    pass

import numpy as np
import convnet as cn
from convnet.serialization import load_pth
''' + FLATTEN + r'''

def bits_of(t):
    name = str(t.dtype).removeprefix("convnet.")
    if name == "bfloat16":  # float32 holds every bfloat16 exactly: its high 16 bits are the bfloat16's
        raw = (t.detach().float().numpy().reshape(-1).view(np.uint32) >> 16).astype(np.uint16)
    else:
        raw = t.detach().numpy().reshape(-1)
    return name, tuple(t.shape), raw.view(np.uint8).copy()

for path, out in zip(sys.argv[1::2], sys.argv[2::2]):
    obj = cn.load(path) if out.endswith(".state") else load_pth(path)
    rows, arrays = flatten(obj, lambda x: isinstance(x, cn.Tensor), bits_of)
    with open(out + ".json", "w") as f:
        json.dump(rows, f)
    np.savez(out + ".npz", **arrays)
assert "torch" not in sys.modules
print("read", len(sys.argv) // 2, "files without torch")
'''


def read_without_torch(tmp_path, paths, state_dict=False):
    """[(rows, arrays)] of each file as the torch-less subprocess read it (convnet.load when
    `state_dict`, else load_pth)."""
    args = []
    for i, p in enumerate(paths):
        args += [str(p), str(tmp_path / (f"out{i}" + (".state" if state_dict else "")))]
    r = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"the torch-less reader failed:\n{r.stdout[-3000:]}\n{r.stderr[-6000:]}"
    assert f"read {len(paths)} files without torch" in r.stdout
    results = []
    for i in range(len(paths)):
        out = tmp_path / (f"out{i}" + (".state" if state_dict else ""))
        rows = json.loads(open(f"{out}.json").read())
        with np.load(f"{out}.npz") as z:
            results.append((rows, {k: z[k] for k in z.files}))
    return results


def assert_same(got, obj, what):
    """The subprocess's flattening `got` equals torch's object `obj`, every tensor bit for bit."""
    rows, arrays = got
    want_rows, want_arrays = flatten(torch_plain(obj), lambda x: isinstance(x, torch.Tensor), torch_bits)
    want_rows = json.loads(json.dumps(want_rows))  # tuples as lists, as the subprocess's JSON has them
    assert [r[:2] for r in rows] == [r[:2] for r in want_rows], f"{what}: the structure differs"
    for (path, kind, detail), (_, _, want) in zip(rows, want_rows):
        if kind != "tensor":
            assert detail == want, f"{what}: {path}: {detail} != {want}"
            continue
        assert detail[:2] == want[:2], f"{what}: tensor{path}: dtype/shape {detail[:2]}, expected {want[:2]}"
        a, b = arrays[detail[2]], want_arrays[want[2]]
        assert a.tobytes() == b.tobytes(), f"{what}: tensor{path} ({want[0]}, shape {want[1]}): the bits differ"


def zoo_state_dict(name, **kw):
    """The state dict of convnet's zoo model `name` as torch tensors, with random batch-norm statistics."""
    cn.manual_seed(0)
    sd = cn.models.get_model(name, **kw).state_dict()
    rng = np.random.default_rng(1)
    out = collections.OrderedDict()
    for k, v in sd.items():
        a = v.numpy()
        if k.endswith("running_var"):
            a = rng.uniform(0.5, 2.0, a.shape).astype(a.dtype)
        elif k.endswith("running_mean"):
            a = rng.standard_normal(a.shape).astype(a.dtype)
        out[k] = torch.from_numpy(np.array(a))
    return out


def every_dtype(legacy=False):
    """A tensor of each dtype convnet holds, and of the integer dtypes it widens to int64 (but
    uint16 and uint32 in the legacy format, which torch itself cannot read back)."""
    g = torch.Generator().manual_seed(2)
    x = torch.randn(3, 5, generator=g) * 100
    out = collections.OrderedDict([
        ("float32", x.clone()), ("float64", x.double() / 7), ("float16", (x / 10).half()),
        ("bfloat16", (x / 10).bfloat16()), ("int64", torch.randint(-2**62, 2**62, (4, 3), generator=g)),
        ("uint8", torch.randint(0, 256, (7,), generator=g, dtype=torch.uint8)),
        ("bool", torch.rand(2, 3, 2, generator=g) > 0.5),
        ("int8", torch.randint(-128, 128, (5,), generator=g, dtype=torch.int8)),
        ("int16", torch.randint(-2**15, 2**15, (5,), generator=g, dtype=torch.int16)),
        ("int32", torch.randint(-2**31, 2**31, (5,), generator=g, dtype=torch.int32)),
        ("uint16", torch.randint(0, 2**16, (5,), generator=g, dtype=torch.int32).to(torch.uint16)),
        ("uint32", torch.randint(0, 2**31, (5,), generator=g, dtype=torch.int64).to(torch.uint32)),
        ("scalar", torch.tensor(7, dtype=torch.int64)), ("empty", torch.zeros(0, 3)),
        ("special", torch.tensor([float("nan"), float("inf"), -float("inf"), -0.0, 1e-45])),
        ("special_half", torch.tensor([float("nan"), float("inf"), -0.0, 6e-8]).half()),
    ])
    if legacy:
        del out["uint16"], out["uint32"]
    return out


def views():
    """Non-contiguous tensors and tensors sharing storages."""
    base = torch.arange(60, dtype=torch.float32).reshape(3, 4, 5)
    half = torch.arange(24, dtype=torch.float16).reshape(4, 6)
    return collections.OrderedDict([
        ("base", base), ("transposed", base.transpose(0, 2)), ("sliced", base[1:, ::2, 1::3]),
        ("offset_row", base[2, 1]), ("expanded", torch.arange(3.0).reshape(3, 1).expand(3, 4)),
        ("permuted_half", half.t()), ("half_column", half[:, 3]), ("same_again", base),
        ("bf16_view", torch.arange(12, dtype=torch.bfloat16).reshape(3, 4)[:, 1:3]),
        ("long_diag", torch.arange(16).reshape(4, 4).diagonal()),
    ])


def nested():
    """Containers within containers, with numbers, strings, bytes and torch.Size/torch.device."""
    sd = collections.OrderedDict([("w", torch.randn(2, 3)), ("b", torch.zeros(2))])
    return {
        "model": sd,
        "epoch": 7, "loss": 0.125, "name": "résnet", "flag": True, "nothing": None, "big": 2**70,
        "optimizer": {"state": {0: {"momentum_buffer": torch.ones(2, 3)}, 1: {}},
                      "param_groups": [{"lr": 0.1, "momentum": 0.9, "params": [0, 1]}]},
        "history": [(1, torch.tensor([0.5])), (2, torch.tensor([0.25]))],
        "shape": torch.Size([2, 3]), "device": torch.device("cpu"), "tags": {"a", "b"}, "z": 1 + 2j,
        "raw": b"\x00\xffbytes", "deep": [[[{"x": [torch.arange(3)]}]]],
        "shared": [sd["w"], sd["w"][1]], "param": torch.nn.Parameter(torch.randn(3)),
    }


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_files_written_by_torch_load_without_torch_bit_for_bit(tmp_path, legacy):
    objects = {
        "resnet18": zoo_state_dict("resnet18"), "mobilenet_v2": zoo_state_dict("mobilenet_v2"),
        "resnet20": zoo_state_dict("resnet20"), "dtypes": every_dtype(legacy), "views": views(), "nested": nested(),
    }
    paths = []
    for name, obj in objects.items():
        paths.append(tmp_path / f"{name}.pth")
        torch.save(obj, paths[-1], _use_new_zipfile_serialization=not legacy)
        torch.load(paths[-1], weights_only=True)  # torch's own restricted loader takes them too
    for got, (name, obj) in zip(read_without_torch(tmp_path, paths), objects.items()):
        assert_same(got, obj, f"{name}.pth ({'legacy' if legacy else 'zip'} format)")


def test_load_gives_a_state_dict_that_a_zoo_model_takes(tmp_path):
    """convnet.load of a torch-written state dict, without torch, then the model's outputs as
    PyTorch's (the file's tensors are the model's own parameters, so the outputs are identical)."""
    sd = zoo_state_dict("resnet20")
    torch.save(sd, tmp_path / "r20.pth")
    [got] = read_without_torch(tmp_path, [tmp_path / "r20.pth"], state_dict=True)
    assert_same(got, sd, "convnet.load(r20.pth)")
    m = cn.models.resnet20()
    result = m.load_state_dict(cn.load(tmp_path / "r20.pth"))
    assert not result.missing_keys and not result.unexpected_keys
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), sd[k].numpy(), err_msg=k)


def test_load_dispatches_on_content_not_name(tmp_path):
    t = torch.arange(6.0).reshape(2, 3)
    torch.save({"t": t}, tmp_path / "really_torch.safetensors")
    np.testing.assert_array_equal(cn.load(tmp_path / "really_torch.safetensors")["t"].numpy(), t.numpy())
    cn.save({"t": cn.tensor(t.numpy())}, tmp_path / "really_safetensors.pth")
    np.testing.assert_array_equal(cn.load(tmp_path / "really_safetensors.pth")["t"].numpy(), t.numpy())


def test_map_location_as_torch_takes_it(tmp_path):
    path = tmp_path / "w.pth"
    torch.save({"a": torch.ones(2), "b": torch.zeros(3)}, path)
    for loc in ("cpu", torch.device("cpu"), cn.device("cpu"), {"cpu": "cpu"}, {"cuda:1": "cpu"}, None):
        sd = cn.load(path, map_location=loc)
        assert [str(t.device) for t in sd.values()] == ["cpu", "cpu"], loc
    seen = []
    sd = cn.load(path, map_location=lambda t, location: seen.append(location) or t * 2)
    assert seen == ["cpu", "cpu"]
    np.testing.assert_array_equal(sd["a"].numpy(), [2.0, 2.0])
    with pytest.raises(TypeError, match=msg("load: map_location", "expected a device name", "3")):
        cn.load(path, map_location=3)
    with pytest.raises(TypeError, match=msg("map_location returned a str", "expected a convnet.Tensor")):
        cn.load(path, map_location=lambda t, location: "cpu")


class RunsACommand:
    """An object whose unpickling would run `touch <marker>`."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


class CreatesAFile:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, "w")


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_a_malicious_pickle_is_refused_and_runs_nothing(tmp_path, legacy):
    marker = tmp_path / "pwned"
    for payload, name in ((RunsACommand(marker), "posix.system"), (CreatesAFile(marker), "io.open")):
        path = tmp_path / "evil.pth"
        torch.save({"weight": torch.ones(2), "evil": payload}, path, _use_new_zipfile_serialization=not legacy)
        for load in (cn.load, cn.serialization.load_pth):
            with pytest.raises(pickle.UnpicklingError, match=msg(f"load: {path}", f"refused to load the global {name}",
                                                                 "weights_only=True", "nothing in the file was run")):
                load(path)
        with pytest.raises(pickle.UnpicklingError):
            torch.load(path, weights_only=True)  # torch's restricted loader refuses it as well
        assert not marker.exists(), "the pickle ran its payload"
    # a bare pickle (not a torch file) is refused the same way
    path.write_bytes(pickle.dumps(RunsACommand(marker), protocol=2))
    with pytest.raises(pickle.UnpicklingError, match=msg("refused to load the global posix.system")):
        cn.load(path)
    assert not marker.exists()


class NotAWeight:
    pass


@pytest.mark.parametrize("obj, name", [
    (torch.nn.Linear(2, 2), "torch.nn.modules.linear.Linear"),      # a whole module, not its state dict
    (np.arange(3), "numpy"),                                        # NumPy arrays rebuild through numpy
    (NotAWeight(), f"{NotAWeight.__module__}.NotAWeight"),          # any class of the saver's
    (collections.deque([1]), "collections.deque"),
    (eval, "builtins.eval"),
    (getattr, "builtins.getattr"),
    (subprocess.Popen, "subprocess.Popen"),
], ids=["module", "numpy", "class", "deque", "eval", "getattr", "popen"])
def test_other_globals_are_refused_by_name(tmp_path, obj, name):
    path = tmp_path / "x.pth"
    torch.save({"w": torch.ones(1), "x": obj}, path)
    with pytest.raises(pickle.UnpicklingError, match=msg(f"refused to load the global {name}")):
        cn.serialization.load_pth(path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)


def test_damaged_files_name_the_problem(tmp_path):
    path = tmp_path / "w.pth"
    torch.save({"w": torch.arange(100.0)}, path)
    raw = path.read_bytes()
    cut = tmp_path / "cut.pth"
    cut.write_bytes(raw[:len(raw) // 2])
    with pytest.raises(cn.SafetensorsError, match=msg(f"load: {cut}", "not a valid PyTorch file")):
        cn.load(cut)
    torch.save({"w": torch.arange(100.0)}, path, _use_new_zipfile_serialization=False)
    raw = path.read_bytes()
    cut.write_bytes(raw[:-40])
    with pytest.raises(cn.SafetensorsError, match=msg(f"load: {cut}", "cut short", "truncated")):
        cn.load(cut)
    torch.save({"z": torch.ones(2, dtype=torch.complex64)}, path)
    with pytest.raises(cn.SafetensorsError, match=msg("tensor['z'] is complex64", "which convnet does not hold")):
        cn.load(path)
    torch.save({"epoch": 3, "weights": torch.zeros(2)}, path)
    with pytest.raises(cn.SafetensorsError, match=msg("'epoch' is of type int, expected a tensor", "load_pth")):
        cn.load(path)
    assert cn.serialization.load_pth(path)["epoch"] == 3
    torch.save([torch.zeros(2)], path)
    with pytest.raises(cn.SafetensorsError, match=msg("holds a list, expected a state dict")):
        cn.load(path)
    cn.save({"t": cn.zeros(2)}, tmp_path / "w.safetensors")
    with pytest.raises(cn.SafetensorsError, match=msg("is not a PyTorch file", "convnet.load")):
        cn.serialization.load_pth(tmp_path / "w.safetensors")


@pytest.mark.parametrize("target", [b"torch._utils\n_rebuild_tensor_v2", b"torch\nFloatStorage", b"torch\nfloat32",
                                    b"collections\nCounter"])
def test_a_pickle_cannot_alter_what_the_unpickler_gives_it(tmp_path, target):
    """BUILD (set attributes, or slots with a (state, slots) pair) on an allowed global is refused:
    one file cannot change the rebuild functions, storage classes or dtypes for the next."""
    path = tmp_path / "alter.pth"
    for state in (b"}X\x03\x00\x00\x00fooK\x01s", b"N}X\x02\x00\x00\x00fnK\x01s\x86"):
        path.write_bytes(b"\x80\x02c" + target + b"\n" + state + b"b.")
        with pytest.raises(pickle.UnpicklingError, match=msg("refused to set the state of",
                                                             "sets no attributes")):
            cn.serialization.load_pth(path)
    torch.save({"w": torch.arange(4.0)}, path)  # and the next file reads as ever
    np.testing.assert_array_equal(cn.load(path)["w"].numpy(), np.arange(4.0, dtype=np.float32))


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_mutated_files_load_or_raise_safetensors_error(tmp_path, legacy):
    """Bytes flipped, the file cut or bytes inserted: the reader returns or raises its own error
    (convnet.SafetensorsError, of which UnpicklingError is one), never another exception."""
    path = tmp_path / "w.pth"
    torch.save({"a": torch.randn(3, 4), "b": torch.arange(5), "c": torch.randn(2, 2).half().t(), "n": [1, (2.5, "x")]},
               path, _use_new_zipfile_serialization=not legacy)
    raw = path.read_bytes()
    rng = np.random.default_rng(4)
    outcomes = collections.Counter()
    for i in range(300):
        m = bytearray(raw)
        if i % 3 == 0:
            for _ in range(rng.integers(1, 6)):
                m[rng.integers(len(m))] = rng.integers(256)
        elif i % 3 == 1:
            m = m[:rng.integers(len(m))]
        else:
            at = rng.integers(len(m))
            m[at:at] = rng.bytes(rng.integers(1, 20))
        path.write_bytes(bytes(m))
        try:
            cn.serialization.load_pth(path)
            outcomes["read"] += 1
        except cn.SafetensorsError:
            outcomes["error"] += 1
    assert outcomes["error"] > 100, outcomes
