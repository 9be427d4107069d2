"""Bad input outside the ops (their error cases are in tests/ops/test_<stem>.py) raises a Python
exception that names the tensor call, the shapes and what was
expected, and never crashes the interpreter.

Each test asserts the exception type and, with `msg(...)`, that the message holds every given
fragment (in any order): the op or layer, the offending shape as convnet prints it ("(2, 4, 8, 8)",
"(5,)") and what was expected. `test_worst_inputs_do_not_crash_the_interpreter` runs the inputs
that once crashed the process in a child interpreter.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from opcheck import msg


def test_reshape_size_mismatch():
    with pytest.raises(ValueError, match=msg("reshape: shape (4, 2) is invalid for input of shape (2, 3)",
                                             "6 elements")):
        cn.randn(2, 3).reshape(4, 2)
    with pytest.raises(ValueError, match=msg("reshape: shape (-1, 4) is invalid for input of shape (2, 3)")):
        cn.randn(2, 3).reshape(-1, 4)
    with pytest.raises(ValueError, match=msg("reshape: only one dimension can be -1", "(-1, -1)")):
        cn.randn(2, 3).reshape(-1, -1)
    with pytest.raises(ValueError, match=msg("reshape: invalid shape (-2, -3)")):
        cn.randn(2, 3).reshape(-2, -3)


@pytest.mark.parametrize("make", [
    lambda s: cn.zeros(s), lambda s: cn.ones(s), lambda s: cn.randn(*s), lambda s: cn.empty(*s),
    lambda s: cn.full(s, 1.0),
])
def test_factories_reject_negative_and_overflowing_sizes(make):
    with pytest.raises(ValueError, match=msg("tensor: negative dimension in shape (2, -3)")):
        make((2, -3))
    # (2**62 elements, whose byte count once wrapped around to 0, run in a child interpreter below)
    with pytest.raises(ValueError, match=msg("tensor: shape (1099511627776, 1099511627776) has too many elements")):
        make((2 ** 40, 2 ** 40))
    assert make((2 ** 40, 0)).shape == (2 ** 40, 0)  # empty, however long the other dimension


def test_backward_of_non_scalar_without_grad():
    x = cn.randn(3, requires_grad=True)
    with pytest.raises(ValueError, match=msg("backward: grad can be implicitly created only for scalar outputs",
                                             "(3,)", "pass grad= of the same shape")):
        (x * 2).backward()
    with pytest.raises(ValueError, match=msg("backward: grad has shape (4,)", "expected shape (3,)")):
        (x * 2).backward(cn.randn(4))
    with pytest.raises(ValueError, match=msg("backward: the tensor does not require grad", "shape ()")):
        cn.randn(3).sum().backward()


NON_CONTIGUOUS = {
    "transposed": lambda: np.arange(12, dtype=np.float32).reshape(3, 4).T,
    "strided": lambda: np.arange(24, dtype=np.float32).reshape(4, 6)[:, ::2],
    "reversed": lambda: np.arange(12, dtype=np.float32)[::-1],
    "fortran": lambda: np.asfortranarray(np.arange(12, dtype=np.float64).reshape(3, 4)),
    "nchw_from_nhwc": lambda: np.random.default_rng(0).random((2, 5, 5, 3), np.float32).transpose(0, 3, 1, 2),
}


@pytest.mark.parametrize("kind", sorted(NON_CONTIGUOUS))
def test_tensor_copies_non_contiguous_arrays_correctly(kind):
    a = NON_CONTIGUOUS[kind]()
    assert not a.flags.c_contiguous
    t = cn.tensor(a)
    assert t.shape == a.shape
    np.testing.assert_array_equal(t.numpy(), a)
    a[...] = 0  # a copy: the tensor does not see later writes
    assert t.numpy().any()


def test_ops_on_a_tensor_from_a_non_contiguous_array():
    a = NON_CONTIGUOUS["nchw_from_nhwc"]()
    w = cn.randn(4, 3, 3, 3)
    got = F.conv2d(cn.tensor(a), w).numpy()
    want = F.conv2d(cn.tensor(np.ascontiguousarray(a)), w).numpy()
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kind", sorted(NON_CONTIGUOUS))
def test_from_numpy_rejects_non_contiguous_arrays_clearly(kind):
    with pytest.raises(ValueError, match=msg("from_numpy: the array is not C-contiguous",
                                             "numpy.ascontiguousarray(a)", "convnet.tensor(a)")):
        cn.from_numpy(NON_CONTIGUOUS[kind]())


def test_read_only_arrays():
    a = np.arange(6, dtype=np.float32)
    a.flags.writeable = False
    # from_numpy would share memory that the tensor may write: refused, with what to do instead
    with pytest.raises(ValueError, match=msg("from_numpy: the array is read-only", "a.copy()", "convnet.tensor(a)")):
        cn.from_numpy(a)
    # tensor copies, so read-only input is fine (also a buffer over immutable bytes)
    np.testing.assert_array_equal(cn.tensor(a).numpy(), a)
    b = np.frombuffer(bytes(range(8)), np.uint8)
    np.testing.assert_array_equal(cn.tensor(b).numpy(), b)


def test_foreign_byte_order():
    a = np.arange(4, dtype=">f4")
    with pytest.raises(ValueError, match=msg("from_numpy: the array is not in native byte order")):
        cn.from_numpy(a)
    t = cn.tensor(a)  # converted while copying
    assert t.dtype == cn.float32
    np.testing.assert_array_equal(t.numpy(), [0, 1, 2, 3])


def test_unsupported_data_for_tensor():
    with pytest.raises(TypeError, match=msg("tensor: unsupported data of dtype", "<U1")):
        cn.tensor(np.array(["a", "b"]))
    with pytest.raises(TypeError, match=msg("from_numpy: unsupported NumPy dtype int16",
                                             "supported: float32, float64, int64, int32, uint8, bool")):
        cn.from_numpy(np.zeros(3, np.int16))


WORST_INPUTS = r"""
import struct, sys, tempfile, os
import numpy as np
import convnet as cn
import convnet.functional as F
from convnet import nn

folder = tempfile.mkdtemp()

def craft(name, data):
    path = os.path.join(folder, name)
    with open(path, "wb") as f:
        f.write(data)
    return path

huge = b'{"a": {"dtype": "F32", "shape": [1099511627776, 1099511627776], "data_offsets": [0, 0]}}'
readonly = np.arange(4, dtype=np.float32)
readonly.flags.writeable = False
cases = [
    ("huge_shape_file", lambda: cn.load(craft("huge.st", struct.pack("<Q", len(huge)) + huge))["a"][3].sum()),
    ("png", lambda: cn.load(craft("x.png", b"\x89PNG\r\n\x1a\n" + bytes(64)))),
    ("random", lambda: cn.load(craft("r.bin", np.random.default_rng(1).bytes(1000)))),
    ("bogus_length", lambda: cn.load(craft("b.st", struct.pack("<Q", 2 ** 64 - 1) + b"{}"))),
    ("huge_randn", lambda: cn.randn(2 ** 62)),
    ("huge_zeros", lambda: cn.zeros(2 ** 62)),
    ("huge_empty", lambda: cn.empty(2 ** 40, 2 ** 40).numpy()),
    ("huge_padding", lambda: F.conv2d(cn.randn(1, 1, 4, 4), cn.randn(1, 1, 3, 3), padding=10 ** 9)),
    ("stride0", lambda: F.conv2d(cn.randn(1, 3, 8, 8), cn.randn(2, 3, 3, 3), stride=0)),
    ("pool_stride0", lambda: F.max_pool2d(cn.randn(1, 1, 8, 8), 2, stride=0)),
    ("labels", lambda: F.cross_entropy(cn.randn(4, 3), cn.tensor([0, 1, 2, 1000000]))),
    ("neg_labels", lambda: F.nll_loss(cn.randn(4, 3), cn.tensor([0, -7, 2, 1]))),
    ("readonly", lambda: cn.from_numpy(readonly)),
    ("matmul", lambda: cn.randn(2, 3) @ cn.randn(4, 5)),
]
for name, fn in cases:
    try:
        fn()
        print(name, "NO ERROR")
    except Exception as e:
        print(name, type(e).__name__, str(e).splitlines()[0][:200])
    sys.stdout.flush()
print("survived")
"""


def test_worst_inputs_do_not_crash_the_interpreter():
    env = dict(os.environ)
    package_parent = os.path.dirname(os.path.dirname(cn.__file__))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(WORST_INPUTS)], capture_output=True, text=True,
                          timeout=300, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"the interpreter died (return code {proc.returncode}):\n{out}"
    expected = {
        "huge_shape_file": "SafetensorsError load: ",
        "png": "SafetensorsError load: ",
        "random": "SafetensorsError load: ",
        "bogus_length": "SafetensorsError load: ",
        "huge_randn": "ValueError tensor: shape (4611686018427387904,) has too many elements",
        "huge_zeros": "ValueError tensor: shape (4611686018427387904,) has too many elements",
        "huge_empty": "ValueError tensor: shape (1099511627776, 1099511627776) has too many elements",
        "huge_padding": "ValueError tensor: shape (1, 1, 2000000002, 2000000002) has too many elements",
        "stride0": "ValueError conv2d: ",
        "pool_stride0": "ValueError max_pool2d: ",
        "labels": "ValueError cross_entropy: target 1000000 at position 3 is out of range for 3 classes",
        "neg_labels": "ValueError nll_loss: target -7 at position 1 is out of range for 3 classes",
        "readonly": "ValueError from_numpy: the array is read-only",
        "matmul": "ValueError matmul: shapes (2, 3) and (4, 5) cannot be multiplied",
    }
    lines = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
    for name, text in expected.items():
        assert name in lines, f"{name}: no result\n{out}"
        assert lines[name].startswith(text), f"{name}: {lines[name]!r}, expected {text!r}"
    assert "is not a valid safetensors file" in lines["png"] and "is too large" in lines["huge_shape_file"]
    assert proc.stdout.rstrip().endswith("survived")
