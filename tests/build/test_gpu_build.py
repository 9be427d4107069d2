"""The CUDA backend builds where nvcc and cuBLAS are present, without a GPU (as in CI,
which has nvcc and the nvidia-cublas wheel): `cmake -DCONVNET_CUDA=ON` compiles every
cuda/*.cu for sm_80 and sm_90 (+ PTX), links libconvnet.so against cudart and cuBLAS,
and the module it makes loads and reports the machine's GPUs."""

import os
import shutil
import sys

import pytest

from conftest import ROOT, run_command

pytestmark = pytest.mark.slow  # a full build of the project
JOBS = str(max(1, min(4, os.cpu_count() or 1)))


def test_cuda_build_compiles_links_and_loads(tmp_path):
    if shutil.which("nvcc") is None:
        pytest.skip("nvcc is not installed")
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed (pip install cmake)")
    pybind11 = pytest.importorskip("pybind11", reason="the Python module's build needs pybind11 (pip install pybind11)")
    build = tmp_path / "build"
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    log = run_command(["cmake", *gen, "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=Release", "-DCONVNET_PYTHON=ON",
                "-DCONVNET_CUDA=ON", "-DCONVNET_NATIVE=OFF", f"-Dpybind11_DIR={pybind11.get_cmake_dir()}"])
    assert "convnet: CUDA backend for 80-real;90" in log, log[-3000:]
    run_command(["cmake", "--build", build, "-j", JOBS])
    sources = sorted(p.name for p in (ROOT / "cuda").glob("*.cu"))
    objects = {p.name[:-2] for p in build.rglob("*.cu.o")}
    assert set(sources) <= objects, f"not compiled: {sorted(set(sources) - objects)}"
    linked = run_command(["ldd", build / "libconvnet.so"])
    assert "libcudart.so" in linked and "libcublas.so" in linked, linked

    pkg = tmp_path / "pkg"
    shutil.copytree(ROOT / "python" / "convnet", pkg / "convnet")
    for so in build.glob("_core*.so"):
        shutil.copy(so, pkg / "convnet")
    probe = ("import convnet as cn\n"
             "n = cn.cuda.device_count()\n"
             "print('devices', n)\n"
             "try:\n"
             "    y = (cn.ones(3).to('cuda') * 2).cpu()\n"
             "    print('values', y.tolist())\n"
             "except RuntimeError as e:\n"
             "    print('error', e)\n")
    out = run_command([sys.executable, "-c", probe], env={**os.environ, "PYTHONPATH": str(pkg)})
    if "devices 0" in out:
        assert "error cuda: no CUDA device is available" in out, out
    else:
        assert "values [2.0, 2.0, 2.0]" in out, out
