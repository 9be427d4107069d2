"""The CUDA code paths on a machine without a GPU: convnet built with
CONVNET_CUDA=EMULATE (the cuda/*.cu sources compiled by the host compiler against the
emulated runtime and cuBLAS of cuda/emulation.h, device memory readable only inside
device calls) runs the device tests, which must all run and pass; the only skips allowed
are the tests of the behaviour without a GPU. On a machine with a GPU the device tests run
against the real backend instead."""

import os
import re
import shutil
import sys

import pytest

import convnet as cn
from conftest import ROOT, data_root, run_command

pytestmark = pytest.mark.slow  # a full build of the project

JOBS = str(max(1, min(4, os.cpu_count() or 1)))
# the device tests carry the `cuda` marker (opcheck.DEVICES, opcheck.requires_cuda, opcheck.without_gpu)
NO_GPU_REASON = "checks the behaviour without a GPU"


@pytest.mark.skipif(cn.cuda.is_available(), reason="a GPU is present: the device tests run on it directly")
def test_device_tests_pass_on_the_emulated_backend(tmp_path):
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed (pip install cmake)")
    pybind11 = pytest.importorskip("pybind11", reason="the Python module's build needs pybind11 (pip install pybind11)")
    build = tmp_path / "build"
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    # -O1 without link-time optimization, as the sanitized build: half the compile of -O3; what the
    # device tests check (the CUDA code paths against the CPU and the references) does not depend on it
    run_command(["cmake", *gen, "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=Release", "-DCONVNET_PYTHON=ON",
          "-DCONVNET_CUDA=EMULATE", "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -DNDEBUG", "-DCMAKE_INTERPROCEDURAL_OPTIMIZATION=OFF",
          f"-Dpybind11_DIR={pybind11.get_cmake_dir()}"])
    run_command(["cmake", "--build", build, "-j", JOBS, "--target", "_core"])
    pkg = tmp_path / "pkg"
    shutil.copytree(ROOT / "python" / "convnet", pkg / "convnet")
    for so in build.glob("_core*.so"):
        shutil.copy(so, pkg / "convnet")
    env = {**os.environ, "PYTHONPATH": str(pkg), "OMP_WAIT_POLICY": "passive", "CONVNET_DATA": str(data_root())}
    out = run_command([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", "-m", "cuda", "tests"],
               cwd=ROOT, env=env)
    summary = out.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary) and "failed" not in summary, out[-8000:]
    # the only skips: the tests of the behaviour without a GPU
    reasons = re.findall(r"^SKIPPED \[\d+\] [^:]+:\d+: (.*)$", out, re.M)
    assert all(r == NO_GPU_REASON for r in reasons), out[-8000:]
    probe = run_command([sys.executable, "-c", "import convnet as cn; print(cn.cuda.get_device_name())"], env=env)
    assert "emulation" in probe
