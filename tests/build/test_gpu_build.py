"""The README's GPU route, without a GPU (as in CI, which has nvcc and the nvidia-cublas wheel):
`pip install nvidia-cublas`, then `pip install .` with pip's default build isolation. The build must
find the wheel's cuBLAS although isolation hides the environment's site-packages from the build
(FindConvnetCUBLAS asks the environment's Python with -E), compile every cuda/*.cu for sm_80 and
sm_90 (+ PTX), link the CUDA runtime statically and cuBLAS through a run path into the wheel, and
the installed package must import and report the machine's GPUs. And the same `pip install .`
without the wheel: it falls back to a CPU build and says so on the terminal."""

import fcntl
import os
import pty
import shutil
import subprocess
import sys
import sysconfig
import termios

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


def _fresh_venv(tmp_path):
    """A new virtual environment in tmp_path/venv: its folder, its python and its site-packages."""
    venv = tmp_path / "venv"
    run_command([sys.executable, "-m", "venv", venv])
    python = venv / "bin" / "python"
    inner = run_command([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip()
    return venv, python, inner


def _see_outer_packages(inner):
    """This environment's packages (numpy, scipy-openblas32, ...) seen from the environment whose
    site-packages is `inner`, through a .pth file (after its own)."""
    outer = {sysconfig.get_paths()["purelib"], *(p for p in sys.path if p.endswith("site-packages"))}
    with open(os.path.join(inner, "outer.pth"), "w") as f:
        f.write("\n".join(sorted(outer)) + "\n")


def _env():
    """The environment of the commands run in a fresh environment: this one's, less PYTHONPATH."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def test_pip_install_builds_the_cuda_backend_with_the_cublas_wheel(tmp_path):
    if shutil.which("nvcc") is None:
        pytest.skip("nvcc is not installed")
    wheel_lib = _cublas_wheel()
    if wheel_lib is None:
        pytest.skip("the nvidia-cublas wheel is not installed (pip install nvidia-cublas==13.10.0.20)")

    # a fresh environment: the nvidia-cublas wheel's folder linked into its site-packages, as
    # `pip install nvidia-cublas` puts it there, and this environment's other packages seen through
    # a .pth file
    venv, python, inner = _fresh_venv(tmp_path)
    os.symlink(os.path.dirname(os.path.dirname(wheel_lib)), os.path.join(inner, "nvidia"))
    _see_outer_packages(inner)

    env = _env()
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


def _cublas_found(tmp_path, python, env):
    """Whether FindConvnetCUBLAS (the module CMakeLists.txt asks) finds cuBLAS for a build by `python`."""
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed (pip install cmake)")
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.18)\nproject(probe LANGUAGES NONE)\n"
        f"list(APPEND CMAKE_MODULE_PATH \"{ROOT / 'cmake'}\")\nfind_package(ConvnetCUBLAS)\n"
        "message(STATUS \"cuBLAS found: ${ConvnetCUBLAS_FOUND}\")\n")
    out = run_command(["cmake", "-S", probe, "-B", probe / "build", f"-DPython_EXECUTABLE={python}"], env=env)
    return "cuBLAS found: TRUE" in out


def _on_a_terminal(cmd, env):
    """Runs cmd on a new pseudo-terminal, its controlling terminal (/dev/tty), and returns its exit
    status and what the terminal showed."""
    master, slave = pty.openpty()
    p = subprocess.Popen([str(c) for c in cmd], stdin=slave, stdout=slave, stderr=slave, env=env,
                         start_new_session=True, preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
    os.close(slave)
    shown = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: every process has closed the terminal
            break
        if not data:
            break
        shown.append(data)
    os.close(master)
    return p.wait(), b"".join(shown).decode(errors="replace").replace("\r", "")


def test_pip_install_without_cublas_says_on_the_terminal_that_cuda_is_left_out(tmp_path):
    """`pip install .` (no -v) in a terminal, with nvcc but without cuBLAS: the build leaves CUDA out
    and succeeds, and the terminal shows a notice saying so and what to do, although pip keeps all of
    a successful build's output (CMake's warning included) to itself."""
    if shutil.which("nvcc") is None:
        pytest.skip("nvcc is not installed: CONVNET_CUDA=AUTO does not ask for CUDA")
    venv, python, inner = _fresh_venv(tmp_path)  # no nvidia-cublas in it
    env = _env()
    if _cublas_found(tmp_path, python, env):
        pytest.skip("cuBLAS is found here (the CUDA toolkit's): the build would not fall back")

    # the compiler's optimization plays no part in what is checked here (the fallback, the notice, a
    # package without CUDA): -O0 and no link-time optimization make the compile a third of Release's
    returncode, shown = _on_a_terminal(
        [python, "-m", "pip", "install", "--no-deps", "-C", f"build-dir={tmp_path / 'build'}",
         "-C", "cmake.define.CMAKE_CXX_FLAGS_RELEASE=-O0 -DNDEBUG",
         "-C", "cmake.define.CMAKE_INTERPROCEDURAL_OPTIMIZATION=OFF", ROOT], env)
    assert returncode == 0, shown[-8000:]
    assert "Successfully installed convnet" in shown, shown[-8000:]
    assert "convnet: building without CUDA" not in shown, shown[-8000:]  # CMake's warning: pip hid it
    notice = shown[shown.index("convnet: building WITHOUT the CUDA backend"):].split("\n\n")[0]
    for part in ["nvcc was found (", "but cuBLAS was not", "pip install nvidia-cublas", "build convnet again",
                 "-C cmake.define.CONVNET_CUDA=OFF"]:
        assert part in notice, notice

    # the installed package has no CUDA backend, and its CUDA calls say why
    _see_outer_packages(inner)
    probe = ("import convnet as cn\n"
             "print('file', cn.__file__)\n"
             "print('available', cn.cuda.is_available())\n"
             "try:\n"
             "    cn.ones(3).to('cuda')\n"
             "except RuntimeError as e:\n"
             "    print('error', e)\n")
    out = run_command([python, "-c", probe], env=env, cwd=tmp_path)
    assert f"file {inner}" in out, out
    assert "available False" in out, out
    assert "convnet was built without CUDA (nvcc was found" in out and "pip install nvidia-cublas" in out, out
