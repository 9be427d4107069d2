"""Runtime CPU dispatch (cpu/isa.h): convnet.backends.cpu.get_cpu_capability() must name the clone
this CPU runs. That the release build holds the clones is checked on the wheel's build
(tests/build/test_wheel.py)."""

import platform
import re
from pathlib import Path

import convnet as cn

X86 = platform.machine() in ("x86_64", "AMD64")


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
