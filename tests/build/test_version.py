"""One version string: pyproject.toml holds it; the package metadata, convnet.__version__, the
installed CMake package (convnetConfigVersion.cmake) and a plain CMake build all read it."""

import importlib.metadata
import pathlib
import re
import shutil
import subprocess
import sys
import tomllib

import pytest

import convnet

ROOT = pathlib.Path(__file__).resolve().parents[2]


def project_version():
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["version"]


def test_python_version_is_the_package_metadata():
    assert convnet.__version__ == importlib.metadata.version("convnet") == project_version()


def test_version_is_written_only_in_pyproject():
    version = project_version()
    for rel in ("CMakeLists.txt", "python/convnet/__init__.py", "cmake/convnetConfig.cmake.in"):
        assert version not in (ROOT / rel).read_text(), f"{rel} writes the version {version} itself"


def test_installed_cmake_package_has_the_version():
    cmake_dir = subprocess.run([sys.executable, "-m", "convnet", "--cmake-dir"], capture_output=True, text=True,
                               check=True).stdout.strip()
    text = (pathlib.Path(cmake_dir) / "convnetConfigVersion.cmake").read_text()
    assert re.search(r'set\(PACKAGE_VERSION "([^"]+)"\)', text).group(1) == project_version()


def test_plain_cmake_build_reads_the_version_from_pyproject(tmp_path):
    cmake = shutil.which("cmake")
    if cmake is None:
        pytest.skip("cmake is not installed")
    proc = subprocess.run([cmake, "-S", str(ROOT), "-B", str(tmp_path), "-DCONVNET_CUDA=OFF",
                           "-DCONVNET_BLAS=scipy-openblas32", f"-DPython_EXECUTABLE={sys.executable}"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = (tmp_path / "convnetConfigVersion.cmake").read_text()
    assert re.search(r'set\(PACKAGE_VERSION "([^"]+)"\)', text).group(1) == project_version()
