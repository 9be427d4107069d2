"""Runtime CPU dispatch (cpu/isa.h): the release configuration (CONVNET_NATIVE=OFF, no
-march=native) must still hold the AVX-512 and AVX2 clones of the hot kernels, and
convnet.backends.cpu.get_cpu_capability() must name the clone this CPU runs.

The build test compiles libconvnet with CONVNET_NATIVE=OFF (several minutes on two cores);
CONVNET_RELEASE_LIB may name an unstripped libconvnet.so already built that way instead."""

import os
import platform
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import convnet as cn

ROOT = Path(__file__).resolve().parents[2]
JOBS = str(max(1, min(4, os.cpu_count() or 1)))
X86 = platform.machine() in ("x86_64", "AMD64")

# a few hot kernels (mangled-name fragments) and the instructions their clones must use
KERNELS = {
    "gelu forward": r"unary_span<float, float, convnet::pw::Gelu>",
    "sigmoid backward": r"binary_span<float, float, convnet::pw::SigmoidGrad>",
    "softmax forward": r"softmax_tile<float>",
    "sgd update": r"cloned_for<.*sgd_update_cpu<float>",
}


def _cpu_flags():
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    m = re.search(r"^flags\s*:(.*)$", text, re.M)
    return set(m.group(1).split()) if m else None


def test_cpu_capability_names_the_clone_this_cpu_runs():
    cap = cn.backends.cpu.get_cpu_capability()
    assert cap in ("AVX512", "AVX2", "DEFAULT")
    flags = _cpu_flags()
    if not X86 or flags is None:
        assert cap == "DEFAULT" or X86
        return
    v4 = {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"} <= flags
    v3 = {"avx2", "fma", "bmi1", "bmi2", "f16c", "movbe"} <= flags
    assert cap == ("AVX512" if v4 and v3 else "AVX2" if v3 else "DEFAULT"), (cap, sorted(flags))


def _release_lib(tmp_path):
    given = os.environ.get("CONVNET_RELEASE_LIB")
    if given:
        return Path(given)
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed (pip install cmake)")
    build = tmp_path / "build"
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    for cmd in (["cmake", *gen, "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=Release", "-DCONVNET_NATIVE=OFF",
                 "-DCONVNET_PYTHON=OFF"],
                ["cmake", "--build", build, "-j", JOBS, "--target", "convnet"]):
        r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
        assert r.returncode == 0, f"{cmd} failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    return next(build.glob("libconvnet.so*"))


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


@pytest.mark.skipif(not X86, reason="the clones are x86-64 only")
def test_release_build_holds_avx512_and_avx2_clones(tmp_path):
    if shutil.which("objdump") is None:
        pytest.skip("objdump is not installed (binutils)")
    lib = _release_lib(tmp_path)
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
