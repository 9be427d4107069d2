"""The release wheel: `pip wheel .` (portable: CONVNET_NATIVE=OFF), `auditwheel repair` to a manylinux
tag, then installed into a fresh virtual environment where part of the test suite runs against it;
its build folder's unstripped libconvnet.so must hold the AVX-512 and AVX2 clones of the hot kernels
(runtime CPU dispatch, cpu/isa.h), since the release build has no -march=native.

libgomp (OpenMP) is bundled by auditwheel (convnet.libs/); OpenBLAS is not: it comes at run time from
the scipy-openblas32 wheel (a dependency), so the repair excludes libscipy_openblas.so. The run
paths to that wheel's library, $ORIGIN/../scipy_openblas32/lib (_core) and
$ORIGIN/../../scipy_openblas32/lib (lib/libconvnet.so), must survive the repair: auditwheel discards
run paths that point outside the wheel except for excluded libraries (6.x keeps these), so any it
dropped are added back (patchelf, then `wheel pack` rewrites RECORD).

Building the wheel compiles the library again (several minutes on two cores), once for this file;
CONVNET_WHEEL may name an already repaired wheel to test instead (and CONVNET_RELEASE_LIB an
unstripped libconvnet.so built with CONVNET_NATIVE=OFF). As a script:

    python tests/build/test_wheel.py OUT_DIR      # builds and repairs; prints the wheel's path and size
"""

import os
import platform
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/conftest.py, when run as a script
from conftest import ROOT, run_command  # noqa: E402

pytestmark = pytest.mark.slow  # a full build of the project
OPENBLAS = "libscipy_openblas.so"
X86 = platform.machine() in ("x86_64", "AMD64")

# a few hot kernels (mangled-name fragments) and the instructions their clones must use
KERNELS = {
    "gelu forward": r"unary_span<float, float, convnet::pw::Gelu>",
    "sigmoid backward": r"binary_span<float, float, convnet::pw::SigmoidGrad>",
    "softmax forward": r"softmax_tile<float>",
    "sgd update": r"cloned_for<.*sgd_update_cpu<float>",
}
# tests that need no torch and no data beyond what they generate, run against the installed wheel
WHEEL_TESTS = ["tests/build/test_embedding.py", "tests/tensor/test_errors.py", "tests/tensor/test_tensor.py",
               "tests/train/test_fit.py", "tests/train/test_cli.py"]


def _runpath(lib):
    out = run_command(["patchelf", "--print-rpath", lib]).strip()
    return out.split(":") if out else []


def build_repaired_wheel(out):
    """pip wheel . then auditwheel repair; returns the repaired wheel's path."""
    out = Path(out)
    raw, fixed, unpacked = out / "raw", out / "repaired", out / "unpacked"
    for d in (raw, fixed, unpacked):
        shutil.rmtree(d, ignore_errors=True)
    run_command([sys.executable, "-m", "pip", "wheel", ROOT, "--no-deps", "-w", raw,
          "-C", "cmake.define.CONVNET_NATIVE=OFF", "-C", "cmake.define.CONVNET_CUDA=OFF",
          "-C", f"build-dir={out / 'build'}"])
    (wheel,) = raw.glob("convnet-*.whl")
    run_command([sys.executable, "-m", "auditwheel", "repair", "--exclude", OPENBLAS, "-w", fixed, wheel])
    (repaired,) = fixed.glob("convnet-*manylinux*.whl")
    run_command([sys.executable, "-m", "wheel", "unpack", "-d", unpacked, repaired])
    (tree,) = unpacked.iterdir()
    for lib, to_openblas in [(next((tree / "convnet").glob("_core*.so")), "$ORIGIN/../scipy_openblas32/lib"),
                             (tree / "convnet" / "lib" / "libconvnet.so", "$ORIGIN/../../scipy_openblas32/lib")]:
        if to_openblas not in _runpath(lib):
            run_command(["patchelf", "--set-rpath", ":".join([*_runpath(lib), to_openblas]), lib])
    repaired.unlink()
    run_command([sys.executable, "-m", "wheel", "pack", "-d", fixed, tree])
    (repaired,) = fixed.glob("convnet-*manylinux*.whl")
    return repaired


def _check_contents(wheel, unpacked):
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        z.extractall(unpacked)
    assert "convnet/include/convnet/convnet.h" in names
    assert "convnet/lib/cmake/convnet/convnetConfig.cmake" in names
    assert any(n.startswith("convnet/lib/libconvnet.so") for n in names)
    assert not any(OPENBLAS in n for n in names), "OpenBLAS must come from the scipy-openblas32 wheel"
    (core,) = Path(unpacked, "convnet").glob("_core*.so")
    (lib,) = [p for p in Path(unpacked, "convnet", "lib").glob("libconvnet.so*") if not p.is_symlink()]
    assert "$ORIGIN/../scipy_openblas32/lib" in _runpath(core)
    assert "$ORIGIN/../../scipy_openblas32/lib" in _runpath(lib)


def _functions(disassembly):
    """{demangled name: body} of every function in `objdump -dC` output."""
    out, name, body = {}, None, []
    for line in disassembly.splitlines():
        m = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
        if m:
            if name:
                out[name] = "\n".join(body)
            name, body = m.group(1), []
        elif name:
            body.append(line)
    if name:
        out[name] = "\n".join(body)
    return out


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """(the repaired wheel, its build folder): built once for this file's tests, or $CONVNET_WHEEL
    (then with no build folder)."""
    wheel = os.environ.get("CONVNET_WHEEL")
    if wheel:
        return Path(wheel), None
    for tool in ("auditwheel", "patchelf"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (pip install auditwheel patchelf wheel)")
    pytest.importorskip("wheel", reason="the wheel package repacks the repaired wheel (pip install wheel)")
    out = tmp_path_factory.mktemp("release")
    return build_repaired_wheel(out), out / "build"


@pytest.mark.skipif(not X86, reason="the clones are x86-64 only")
def test_release_build_holds_avx512_and_avx2_clones(request):
    """The release configuration (CONVNET_NATIVE=OFF, no -march=native) must still hold the AVX-512
    and AVX2 clones of the hot kernels (cpu/isa.h): read off the unstripped libconvnet.so of the
    wheel's build folder, or $CONVNET_RELEASE_LIB."""
    if shutil.which("objdump") is None:
        pytest.skip("objdump is not installed (binutils)")
    given = os.environ.get("CONVNET_RELEASE_LIB")
    if given:
        lib = Path(given)
    else:
        _, build = request.getfixturevalue("release")
        if build is None:
            pytest.skip("CONVNET_WHEEL names a wheel built elsewhere; CONVNET_RELEASE_LIB names no library")
        lib = next(p for p in build.rglob("libconvnet.so") if not p.is_symlink())
    r = subprocess.run(["objdump", "-dC", "--no-show-raw-insn", str(lib)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    funcs = _functions(r.stdout)
    for what, pattern in KERNELS.items():
        clones = {}
        for name, body in funcs.items():
            m = re.search(r"\[clone \.(arch_x86_64_v4|arch_x86_64_v3|default)\]", name)
            if m and re.search(pattern, name):
                clones.setdefault(m.group(1), []).append(body)
        assert set(clones) == {"arch_x86_64_v4", "arch_x86_64_v3", "default"}, (what, sorted(clones))
        # the clones' vector code: 512-bit registers in the AVX-512 one, 256-bit in the AVX2 one
        assert any("%zmm" in b for b in clones["arch_x86_64_v4"]), what
        assert any("%ymm" in b for b in clones["arch_x86_64_v3"]), what
        assert not any("%ymm" in b or "%zmm" in b for b in clones["default"]), what


def test_repaired_wheel_installs_and_passes_tests(release, tmp_path):
    wheel, _ = release
    assert "manylinux" in wheel.name
    _check_contents(wheel, tmp_path / "unpacked")

    # a fresh environment: the wheel with its dependencies from the index (numpy, scipy-openblas32,
    # tqdm), and pytest; no torch, so the tests that compare with it skip there
    venv = tmp_path / "venv"
    run_command([sys.executable, "-m", "venv", venv])
    python = venv / "bin" / "python"
    run_command([python, "-m", "pip", "install", "-q", wheel, "pytest"])
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CONVNET_WHEEL")}
    where = run_command([python, "-c", "import convnet, sys; print(convnet.__file__)"], env=env, cwd=tmp_path).strip()
    assert where.startswith(str(venv)), where
    # (the repository root holds no convnet/ folder, so the installed package is the one imported;
    # the C++-only build is left to the suite's own run)
    r = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "not plain and not train_lenet", *WHEEL_TESTS],
                       capture_output=True, text=True, env=env, cwd=ROOT)
    print(r.stdout[-3000:])
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-3000:]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/build/test_wheel.py OUT_DIR")
    path = build_repaired_wheel(sys.argv[1])
    print(f"{path} {path.stat().st_size / 2**20:.1f} MiB")
