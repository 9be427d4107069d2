"""convnet embedded in C++ programs: the examples in cpp/examples and the API test in tests/cpp, built
with CMake through find_package(convnet) against

- the installed package (`python -m convnet --cmake-dir`), and
- a plain C++-only build and install of this repository (-DCONVNET_PYTHON=OFF, a system BLAS),

then run: Python-saved weights give the Python model's outputs in C++, C++ errors carry Python's
messages, and the C++ LeNet-5 trains to >= 98.5% on MNIST (where the MNIST files are present)."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import convnet as cn

from conftest import ROOT, api_test_checks, run_command

pytestmark = pytest.mark.slow  # a full build of the project
JOBS = str(max(1, min(4, os.cpu_count() or 1)))


def _cmake():
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed (pip install cmake)")
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    return ["cmake", *gen, "-DCMAKE_BUILD_TYPE=Release"]


def _build(src, build, find_args):
    run_command([*_cmake(), "-S", src, "-B", build, *find_args])
    run_command(["cmake", "--build", build, "-j", JOBS])
    return Path(build)


def _package_cmake_dir():
    r = subprocess.run([sys.executable, "-m", "convnet", "--cmake-dir"], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"the convnet under test ships no CMake files (not pip-installed): {r.stderr.strip()}")
    return r.stdout.strip()


def _plain_install(tmp):
    """cmake -S . -B build -DCONVNET_PYTHON=OFF && cmake --build build && cmake --install build --prefix P
    (CPU only: tests/build/test_gpu_build.py builds the CUDA backend)"""
    build, prefix = tmp / "convnet-build", tmp / "convnet-prefix"
    r = subprocess.run([*_cmake(), "-S", ROOT, "-B", build, "-DCONVNET_PYTHON=OFF", "-DCONVNET_CUDA=OFF"],
                       capture_output=True, text=True)
    if r.returncode != 0 and "no system BLAS with cblas.h" in r.stderr:
        pytest.skip("the C++-only build needs a system BLAS with cblas.h (apt-get install libopenblas-dev)")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    run_command(["cmake", "--build", build, "-j", JOBS])
    run_command(["cmake", "--install", build, "--prefix", prefix])
    assert (prefix / "include" / "convnet" / "convnet.h").is_file()
    return prefix


@pytest.fixture(scope="module", params=["package", "plain"])
def programs(request, tmp_path_factory):
    """The built programs (train_lenet, infer, api_test) and which convnet they link."""
    tmp = tmp_path_factory.mktemp(f"embed-{request.param}")
    if request.param == "package":
        find = [f"-Dconvnet_DIR={_package_cmake_dir()}"]
    else:
        find = [f"-DCMAKE_PREFIX_PATH={_plain_install(tmp)}"]
    examples = _build(ROOT / "cpp" / "examples", tmp / "examples", find)
    tests = _build(ROOT / "tests" / "cpp", tmp / "cpp-tests", find)
    return {"kind": request.param, "train_lenet": examples / "train_lenet", "infer": examples / "infer",
            "api_test": tests / "api_test", "tmp": tmp}


def test_umbrella_header_includes_every_public_header():
    inc = ROOT / "cpp" / "include"
    umbrella = (inc / "convnet" / "convnet.h").read_text()
    included = set(re.findall(r'#include "(convnet/[^"]+)"', umbrella))
    public = {p.relative_to(inc).as_posix() for p in (inc / "convnet").rglob("*.h")} - {"convnet/convnet.h"}
    assert public - included == set(), f"convnet/convnet.h does not include {sorted(public - included)}"


def test_cpp_api_and_errors_match_python(programs):
    out = run_command([programs["api_test"], programs["tmp"]])
    assert "FAIL" not in out, out
    assert out.count("ok ") == api_test_checks(), out
    errors = {line.split("|")[0]: line.split("|", 2)[1:] for line in out.splitlines() if "|" in line}

    def python_error(f):
        try:
            f()
        except Exception as e:  # noqa: BLE001  (the type is what is compared)
            return type(e).__name__, str(e)
        return "none", ""

    F = cn.nn.functional
    expected = {
        "conv2d": python_error(lambda: F.conv2d(cn.randn(2, 3, 8, 8), cn.randn(4, 1, 3, 3))),
        "softmax": python_error(lambda: F.softmax(cn.randn(2, 3), dim=5)),
        "load": python_error(lambda: cn.load(str(programs["tmp"] / "not_safetensors.bin"))),
    }
    cpp_to_python = {"ValueError": "ValueError", "IndexError": "IndexError", "Error": "RuntimeError",
                     "SafetensorsError": "SafetensorsError"}
    for name, (py_type, py_msg) in expected.items():
        cpp_type, cpp_msg = errors[name]
        assert (cpp_to_python.get(cpp_type), cpp_msg) == (py_type, py_msg), name


def _infer(programs, weights, images, threads=1):
    out = run_command([programs["infer"], weights, images, "--threads", threads])
    rows = [line.split() for line in out.splitlines()]
    index = np.array([int(r[0]) for r in rows])
    pred = np.array([int(r[1]) for r in rows])
    logits = np.array([[float(v) for v in r[2:]] for r in rows], dtype=np.float32)
    np.testing.assert_array_equal(index, np.arange(len(rows)))
    return pred, logits


def _write_idx(path, images):
    header = bytes([0, 0, 8, images.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in images.shape)
    data = header + images.astype(np.uint8).tobytes()
    if str(path).endswith(".gz"):
        import gzip
        data = gzip.compress(data)
    Path(path).write_bytes(data)


def _python_logits(model, x):
    threads = cn.get_num_threads()
    cn.set_num_threads(1)
    try:
        with cn.no_grad():
            return model(cn.from_numpy(x)).numpy()
    finally:
        cn.set_num_threads(threads)


def test_infer_gives_the_python_models_outputs(programs):
    """Weights saved from Python, the same inputs: the C++ program prints the Python model's logits
    (bit for bit when it links the installed package's library, as _core does)."""
    tmp = programs["tmp"]
    cn.manual_seed(3)
    model = cn.models.lenet5()
    # move the weights away from their initialization so that the classes differ clearly
    optimizer = cn.optim.SGD(model.parameters(), lr=0.1)
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    ys = rng.integers(0, 10, 64)
    for _ in range(5):
        loss = cn.nn.functional.cross_entropy(model(cn.from_numpy(xs)), cn.from_numpy(ys))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    weights = tmp / "lenet5_python.safetensors"
    cn.save(model.state_dict(), str(weights))

    # float32 inputs, fed as they are
    x = rng.standard_normal((37, 1, 28, 28)).astype(np.float32)
    np.save(tmp / "inputs.npy", x)
    expected = _python_logits(model, x)
    pred, logits = _infer(programs, weights, tmp / "inputs.npy")
    # uint8 images in an IDX file (gzip-compressed), normalized in C++ as MNIST is in Python
    images = rng.integers(0, 256, (23, 28, 28), dtype=np.uint8)
    _write_idx(tmp / "images-idx3-ubyte.gz", images)
    normalized = ((images.astype(np.float32) / np.float32(255) - np.float32(cn.datasets.MNIST.mean))
                  / np.float32(cn.datasets.MNIST.std))[:, None]
    expected_idx = _python_logits(model, normalized)
    pred_idx, logits_idx = _infer(programs, weights, tmp / "images-idx3-ubyte.gz")

    np.testing.assert_array_equal(pred, expected.argmax(1))
    np.testing.assert_array_equal(pred_idx, expected_idx.argmax(1))
    if programs["kind"] == "package":
        np.testing.assert_array_equal(logits, expected)
        np.testing.assert_array_equal(logits_idx, expected_idx)
    else:  # another BLAS build: the same products, rounded in another order
        np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(logits_idx, expected_idx, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("programs", ["package"], indirect=True)  # trained once; the plain install runs the rest
def test_train_lenet_reaches_98_5_percent(programs, mnist_root):
    """The C++ LeNet-5 trains on MNIST to >= 98.5%; Python loads its weights and finds the same accuracy."""
    data = mnist_root
    weights = programs["tmp"] / "lenet5_cpp.safetensors"
    threads = str(max(1, min(4, os.cpu_count() or 1)))
    out = run_command([programs["train_lenet"], data, "--epochs", "3", "--threads", threads, "--output", weights])
    print(out)
    accuracy = float(re.search(r"^test accuracy ([\d.]+)%$", out, re.M).group(1))
    assert accuracy >= 98.5, out

    model = cn.models.lenet5()
    model.load_state_dict(cn.load(str(weights)))
    test = cn.datasets.MNIST(data, train=False)
    x, y = test.arrays()
    x = (x - np.float32(cn.datasets.MNIST.mean)) / np.float32(cn.datasets.MNIST.std)
    result = cn.evaluate(model, cn.data.DataLoader((x, y), batch_size=1000))
    assert abs(result["accuracy"] * 100 - accuracy) < 0.02, (result, accuracy)


def test_help_shows_the_arguments():
    import pydoc

    text = pydoc.render_doc(cn.nn.Conv2d, renderer=pydoc.plaintext)
    assert "Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1" in text
    assert "padding_mode: str = 'zeros'" in text
    stubs = Path(cn.__file__).parent / "_core" / "nn" / "__init__.pyi"
    assert "class Conv2d(Module):" in stubs.read_text()


def _readme_block(lang, after):
    """The first ```lang block of the README after the line holding `after`."""
    text = (ROOT / "README.md").read_text()
    m = re.search(re.escape(after) + r".*?```" + lang + r"\n(.*?)```", text, re.S)
    assert m, f"README: no ```{lang} block after {after!r}"
    return m.group(1)


def test_readme_cpp_snippet_builds_and_runs_as_pasted(tmp_path):
    """The README's C++ section copied out as a user pastes it: app/main.cpp, app/CMakeLists.txt and
    the bash line that configures, builds and runs, against the installed package."""
    _package_cmake_dir()
    _cmake()
    app = tmp_path / "app"
    app.mkdir()
    (app / "main.cpp").write_text(_readme_block("cpp", "`app/main.cpp`"))
    (app / "CMakeLists.txt").write_text(_readme_block("cmake", "`app/CMakeLists.txt`"))
    command = _readme_block("bash", "`app/CMakeLists.txt`").strip()
    assert command.startswith("cmake -S app -B build") and command.endswith("./build/app"), command
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    out = run_command(["bash", "-c", command], cwd=tmp_path, env=env)
    losses = [float(v) for v in re.findall(r"^step \d+ loss (\S+)$", out, re.M)]
    assert len(losses) == 10 and losses[-1] < losses[0], out[-2000:]
    state = cn.load(str(tmp_path / "small.safetensors"))
    assert sorted(state) == ["0.bias", "0.weight", "3.bias", "3.weight"], sorted(state)
    assert tuple(state["3.weight"].shape) == (10, 8 * 28 * 28)
