"""The README's GPU route, without a GPU (as in CI, which has nvcc and the nvidia-cublas wheel):
`pip install nvidia-cublas`, then `pip install .` with pip's default build isolation. The build must
find the wheel's cuBLAS although isolation hides the environment's site-packages from the build
(FindConvnetCUBLAS asks the environment's Python with -E), compile every cuda/*.cu for sm_80 and
sm_90 (+ PTX), link the CUDA runtime statically and cuBLAS through a run path into the wheel, and
the installed package must import and report the machine's GPUs."""

import os
import shutil
import subprocess
import sys
import sysconfig

import pytest

from conftest import ROOT, run_command

pytestmark = pytest.mark.slow  # a full build of the project


def _cublas_wheel():
    """The nvidia-cublas wheel's lib folder in this environment, or None."""
    try:
        import nvidia
    except ImportError:
        return None
    for path in nvidia.__path__:
        lib = os.path.join(path, "cu13", "lib")
        if os.path.exists(os.path.join(lib, "libcublas.so.13")):
            return lib
    return None


def test_pip_install_builds_the_cuda_backend_with_the_cublas_wheel(tmp_path):
    if shutil.which("nvcc") is None:
        pytest.skip("nvcc is not installed")
    wheel_lib = _cublas_wheel()
    if wheel_lib is None:
        pytest.skip("the nvidia-cublas wheel is not installed (pip install nvidia-cublas==13.10.0.20)")

    # a fresh environment: the nvidia-cublas wheel's folder linked into its site-packages, as
    # `pip install nvidia-cublas` puts it there, and this environment's other packages seen through
    # a .pth file
    venv = tmp_path / "venv"
    run_command([sys.executable, "-m", "venv", venv])
    python = venv / "bin" / "python"
    inner = run_command([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip()
    os.symlink(os.path.dirname(os.path.dirname(wheel_lib)), os.path.join(inner, "nvidia"))
    outer = {sysconfig.get_paths()["purelib"], *(p for p in sys.path if p.endswith("site-packages"))}
    with open(os.path.join(inner, "outer.pth"), "w") as f:
        f.write("\n".join(sorted(outer)) + "\n")

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    build = tmp_path / "build"
    r = subprocess.run([python, "-m", "pip", "install", "-v", "--no-deps", "-C", f"build-dir={build}", ROOT], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert r.returncode == 0, r.stdout[-8000:]
    assert "convnet: CUDA backend for 80-real;90" in r.stdout, r.stdout[-8000:]
    sources = sorted(p.name for p in (ROOT / "cuda").glob("*.cu"))
    objects = {p.name[:-2] for p in build.rglob("*.cu.o")}
    assert set(sources) <= objects, f"not compiled: {sorted(set(sources) - objects)}"

    lib = run_command([python, "-c", "import convnet, os; print(os.path.join(os.path.dirname(convnet.__file__), "
                                     "'lib', 'libconvnet.so'))"], env=env, cwd=tmp_path).strip()
    assert lib.startswith(str(venv)), lib
    # found through the run path $ORIGIN/../../nvidia/cu13/lib (the BLAS is found through the
    # scipy_openblas32 module, which this environment sees by the .pth file only)
    linked = run_command(["ldd", lib])
    (cublas,) = [line.split("=>")[1].split()[0] for line in linked.splitlines() if "libcublas.so.13" in line]
    assert os.path.realpath(cublas) == os.path.realpath(os.path.join(wheel_lib, "libcublas.so.13")), linked
    assert cublas.startswith(os.path.join(inner, "convnet", "lib", "../../nvidia")), linked
    assert "libcudart" not in linked, linked  # the runtime is linked statically

    probe = ("import convnet as cn\n"
             "n = cn.cuda.device_count()\n"
             "print('devices', n)\n"
             "try:\n"
             "    y = (cn.ones(3).to('cuda') * 2).cpu()\n"
             "    print('values', y.tolist())\n"
             "except RuntimeError as e:\n"
             "    print('error', e)\n")
    out = run_command([python, "-c", probe], env=env, cwd=tmp_path)
    if "devices 0" in out:
        assert "error cuda: no CUDA device is available" in out, out
    else:
        assert "values [2.0, 2.0, 2.0]" in out, out
