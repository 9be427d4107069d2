"""convnet under AddressSanitizer and UndefinedBehaviorSanitizer: the core and the Python module built
with CONVNET_SANITIZE=ON (every report aborts the process), then

1. the C++ API test (tests/cpp) built against that build's install,
2. a fast subset of the Python tests (tensors, ops, the readers' hostile inputs) against the
   sanitized module, the sanitizer runtime preloaded into Python (leak checks off: CPython keeps
   memory to the end by design),
3. the fuzz targets' seed corpus (tests/fuzz) and seeded mutants of it replayed through every reader,

each with no sanitizer report. Skips where cmake, pybind11 or the compiler's sanitizer runtime are
missing."""

import os
import random
import re
import shutil
import subprocess
import sys
import time

import pytest

from conftest import ROOT, api_test_checks, data_root

pytestmark = pytest.mark.slow  # a full build of the project

JOBS = str(max(1, min(4, os.cpu_count() or 1)))
REPORT = re.compile(r"ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer|SUMMARY: \w+Sanitizer")
# the fast subset (about 2 minutes under the sanitizers): tensors, every op's table (reference, finite
# differences, errors), layers, optimizers, loaders (with their worker threads), the readers' hostile inputs
PYTHON_TESTS = ["tests/tensor", "tests/ops", "tests/nn", "tests/optim", "tests/data",
                "tests/io/test_safetensors_hostile.py", "tests/io/test_mnist_hostile.py",
                "tests/io/test_checkpoint_crash.py", "tests/io/test_sizes_overflow.py",
                "tests/io/test_datasets_hostile.py", "tests/io/test_weights_files.py"]
FUZZ_TARGETS = ["safetensors", "checkpoint", "idx", "cifar_pickle", "cifar_binary", "image", "onnx"]
MUTANTS = 120  # per target
# the out-of-memory path (an allocation that fails returns null, then the cache is emptied and the
# allocation retried before OutOfMemoryError) needs malloc to return null, not to abort
ASAN_OPTIONS = "allocator_may_return_null=1:abort_on_error=1"
UBSAN_OPTIONS = "print_stacktrace=1:halt_on_error=1"


def _run(cmd, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert r.returncode == 0 and not REPORT.search(r.stderr + r.stdout), (
        f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout[-6000:]}\n{r.stderr[-8000:]}")
    return r.stdout


def _runtime(name):
    """The compiler's sanitizer runtime library (an absolute path), or None."""
    cxx = os.environ.get("CXX", "c++")
    try:
        path = subprocess.run([cxx, f"-print-file-name={name}"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return None
    return path if os.path.isabs(path) and os.path.exists(path) else None


@pytest.fixture(scope="module")
def sanitized(tmp_path_factory):
    """The sanitized build, installed: {"prefix", "pkg" (a folder holding the convnet package with the
    sanitized _core), "env" (what a Python process needs to load it), "times"}."""
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed (pip install cmake)")
    pybind11 = pytest.importorskip("pybind11", reason="the Python module's build needs pybind11 (pip install pybind11)")
    asan, stdcxx = _runtime("libasan.so"), _runtime("libstdc++.so")
    if asan is None or stdcxx is None:
        pytest.skip("the C++ compiler has no AddressSanitizer runtime (libasan.so) or no libstdc++.so; "
                    "install libasan (GCC)")
    tmp = tmp_path_factory.mktemp("sanitize")
    build, prefix = tmp / "build", tmp / "prefix"
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    start = time.perf_counter()
    _run(["cmake", *gen, "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=Release", "-DCONVNET_PYTHON=ON",
          "-DCONVNET_CUDA=OFF", "-DCONVNET_SANITIZE=ON", f"-Dpybind11_DIR={pybind11.get_cmake_dir()}"])
    _run(["cmake", "--build", build, "-j", JOBS])
    _run(["cmake", "--install", build, "--prefix", prefix])
    pkg = tmp / "pkg"
    shutil.copytree(ROOT / "python" / "convnet", pkg / "convnet", ignore=shutil.ignore_patterns("_core*.so", "lib"))
    for so in build.glob("_core*.so"):
        shutil.copy(so, pkg / "convnet")
    # libstdc++ preloaded too: ASan's __cxa_throw interceptor needs it at start-up, else the first C++
    # exception aborts ("CHECK failed: ... real___cxa_throw")
    env = {**os.environ, "PYTHONPATH": str(pkg), "LD_PRELOAD": f"{asan} {stdcxx}", "OMP_WAIT_POLICY": "passive",
           "ASAN_OPTIONS": ASAN_OPTIONS + ":detect_leaks=0", "UBSAN_OPTIONS": UBSAN_OPTIONS, "CONVNET_DATA": str(data_root())}
    probe = _run([sys.executable, "-c", "import convnet, sys; print(convnet._core.__file__)"], env=env)
    assert probe.strip().startswith(str(pkg)), probe
    return {"prefix": prefix, "pkg": pkg, "env": env, "tmp": tmp, "build_s": time.perf_counter() - start}


def test_cpp_api_test_under_sanitizers(sanitized):
    tmp = sanitized["tmp"]
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    _run(["cmake", *gen, "-S", ROOT / "tests" / "cpp", "-B", tmp / "cpp-tests", "-DCMAKE_BUILD_TYPE=Release",
          f"-DCMAKE_PREFIX_PATH={sanitized['prefix']}"])
    _run(["cmake", "--build", tmp / "cpp-tests", "-j", JOBS])
    env = {**os.environ, "ASAN_OPTIONS": ASAN_OPTIONS, "UBSAN_OPTIONS": UBSAN_OPTIONS, "OMP_WAIT_POLICY": "passive"}
    out = _run([tmp / "cpp-tests" / "api_test", tmp], env=env)
    assert "FAIL" not in out and out.count("ok ") == api_test_checks(), out
    print(f"build {sanitized['build_s']:.0f} s")


def test_python_subset_under_sanitizers(sanitized):
    start = time.perf_counter()
    # --capture=sys: a report written to file descriptor 2 as the process ends must reach this test
    out = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--capture=sys", "-m",
                "not slow and not cuda", *PYTHON_TESTS],
               cwd=ROOT, env=sanitized["env"])
    summary = out.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary) and not re.search(r"\d+ (failed|errors?)\b", summary), out[-6000:]
    print(f"{summary} ({time.perf_counter() - start:.0f} s)")


def _mutants(data, rng, count):
    """Seeded mutants of one valid file: byte flips, truncations, cut or repeated chunks, set bytes."""
    out = []
    for _ in range(count):
        b = bytearray(data)
        kind = rng.randrange(5)
        if kind == 0:
            for _ in range(rng.randint(1, 4)):
                if b:
                    b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        elif kind == 1:
            del b[rng.randrange(len(b) + 1):]
        elif kind == 2 and b:
            i = rng.randrange(len(b))
            del b[i:i + rng.randint(1, 64)]
        elif kind == 3 and b:
            i = rng.randrange(len(b))
            b[i:i] = b[i:i + rng.randint(1, 64)] * rng.randint(1, 3)
        elif b:
            i = rng.randrange(len(b))
            b[i:i + 8] = bytes([rng.choice([0, 0xFF, 0x7F, 0x80])]) * 8
        out.append(bytes(b))
    return out


def test_fuzz_corpus_under_sanitizers(sanitized, tmp_path):
    sys.path.insert(0, str(ROOT / "tests" / "fuzz"))
    try:
        from test_fuzz import write_seeds
    finally:
        sys.path.pop(0)
    rng = random.Random(0)
    start, replayed, skipped = time.perf_counter(), 0, []
    for target in FUZZ_TARGETS:
        corpus = tmp_path / target
        try:
            write_seeds(target, corpus)
        except pytest.skip.Exception as e:
            skipped.append(f"{target} ({e})")
            continue
        seed = (corpus / "seed").read_bytes()
        for i, m in enumerate(_mutants(seed, rng, MUTANTS)):
            (corpus / f"mutant{i:04d}").write_bytes(m)
        out = _run([sys.executable, ROOT / "tests" / "fuzz" / "fuzz_readers.py", target, "--replay", corpus],
                   env=sanitized["env"])
        n = int(re.search(r"replayed (\d+) inputs", out).group(1))
        assert n == MUTANTS + 1, out
        replayed += n
    print(f"{replayed} inputs replayed ({time.perf_counter() - start:.0f} s); skipped: {skipped or 'none'}")
