"""Mutation agreement between convnet.load and the safetensors reference reader.

Mutates small valid safetensors files (bit flips, truncations, header edits, offset edits,
trailing bytes) and checks that `convnet.load` and `safetensors.deserialize` agree on accept or
reject, and on the bytes of every tensor when both accept. Known, intended differences are
counted apart: dtypes the format defines but convnet does not hold (I32, U16, F8_*, ...), empty
tensors whose sizes overflow int64 strides (convnet refuses them as PyTorch does), and duplicate
keys (the reference keeps the last one, convnet rejects the file).

    python tools/safetensors_agreement.py [--count 10000] [--seed 0]
"""

import argparse
import collections
import json
import os
import random
import sys
import tempfile

import numpy as np

import convnet
import safetensors

_CONVNET_DTYPES = {"F32", "F64", "I64", "U8", "BOOL", "BF16", "F16"}


def seed_files(rng, folder):
    """A few small valid files written by convnet.save: several dtypes, empty and scalar tensors."""
    out = []
    path = os.path.join(folder, "seed.safetensors")
    for _ in range(8):
        tensors = {}
        for i in range(rng.randint(0, 4)):
            shape = [rng.randint(0, 3) for _ in range(rng.randint(0, 3))]
            dtype = rng.choice(["float32", "float64", "int64", "uint8"])
            tensors[f"t{i}"] = convnet.from_numpy(np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape))
        convnet.save(tensors, path)
        with open(path, "rb") as f:
            out.append(f.read())
    return out


def _header(data):
    n = int.from_bytes(data[:8], "little")
    return n, json.loads(data[8:8 + n])


def _with_header(data, header):
    n, _ = _header(data)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return len(h).to_bytes(8, "little") + h + data[8 + n:]


def mutate(data, rng):
    """One mutant of a valid file, and the kind of mutation."""
    kind = rng.choice(["bitflip", "truncate", "trailing", "offsets", "shape", "dtype", "header_len", "bytes"])
    b = bytearray(data)
    if kind == "bitflip":
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
    elif kind == "truncate":
        b = b[:rng.randrange(len(b))]
    elif kind == "trailing":
        b += bytes(rng.randint(1, 16))
    elif kind == "bytes":
        i = rng.randrange(8 + int.from_bytes(b[:8], "little"))
        b[i] = rng.randrange(256)
    elif kind == "header_len":
        n = int.from_bytes(b[:8], "little") + rng.choice([-8, -1, 1, 8, 1 << 40])
        b[:8] = (n % (1 << 64)).to_bytes(8, "little")
    else:
        n, header = _header(data)
        names = [k for k in header if k != "__metadata__"]
        if not names:
            return bytes(b + b"\0"), "trailing"
        entry = header[rng.choice(names)]
        if kind == "offsets":
            j = rng.randrange(2)
            entry["data_offsets"][j] = max(0, entry["data_offsets"][j] + rng.choice([-4, -1, 1, 4, 1 << 62]))
        elif kind == "shape":
            if entry["shape"] and rng.random() < 0.7:
                entry["shape"][rng.randrange(len(entry["shape"]))] = rng.choice([0, 1, 2, 7, 1 << 62, 2 ** 64 - 1])
            else:
                entry["shape"].append(rng.choice([0, 1, 2]))
        else:
            entry["dtype"] = rng.choice(["F32", "F64", "I64", "U8", "BOOL", "BF16", "F16", "I32", "F8_E5M2", "X",
                                         "f32", ""])
        b = bytearray(_with_header(data, header))
    return bytes(b), kind


def _as_float32_if_half(dtype, data):
    """Half-precision data as float32 bytes (NumPy has no bfloat16), other data unchanged."""
    if dtype in ("bf16", "BF16"):
        return (np.frombuffer(data, np.uint16).astype(np.uint32) << 16).view(np.float32).tobytes()
    if dtype in ("f16", "F16"):
        return np.frombuffer(data, np.float16).astype(np.float32).tobytes()
    return data


def reference(path):
    """safetensors' verdict: (True, {name: bytes}) or (False, message)."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        return True, {name: _as_float32_if_half(t["dtype"], bytes(t["data"])) for name, t in
                      safetensors.deserialize(data)}
    except Exception as e:  # the reference raises SafetensorError, and a few others
        return False, f"{type(e).__name__}: {e}"


def _bytes(t):
    """The data of tensor t (half precision as float32); empty tensors may have sizes NumPy cannot hold."""
    if t.numel() == 0:
        return b""
    return (t.float() if t.dtype in (convnet.bfloat16, convnet.float16) else t).numpy().tobytes()


def ours(path):
    """convnet's verdict: (True, {name: bytes}) or (False, message); a foreign exception propagates."""
    try:
        return True, {name: _bytes(t) for name, t in convnet.load(path).items()}
    except convnet.SafetensorsError as e:
        return False, str(e)


def _explained(path):
    """The intended difference a mutant shows, or None."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        n = int.from_bytes(data[:8], "little")
        pairs = json.loads(data[8:8 + n], object_pairs_hook=lambda kv: kv)
    except Exception:
        return None
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        return "duplicate key"
    entries = [dict(v) for k, v in pairs if k != "__metadata__" and isinstance(v, list)]
    if any(isinstance(e.get("dtype"), str) and e["dtype"] not in _CONVNET_DTYPES for e in entries):
        return "dtype the format defines that convnet does not hold"
    if any(_beyond_int64(e.get("shape")) for e in entries):
        return "empty tensor with sizes whose strides overflow int64 (refused as PyTorch does)"
    return None


def _beyond_int64(shape):
    """Whether an (empty) tensor of this shape is refused by convnet and PyTorch: a size past 2^63 - 1,
    or row-major strides (the product of the sizes after the first, zeros as 1) that overflow int64."""
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        return False
    stride = 1
    for d in shape[1:]:
        stride *= max(d, 1)
    return any(d >= 2 ** 63 for d in shape) or stride >= 2 ** 63


def run(count, seed, verbose=True):
    """Counts of the comparison over `count` mutants: a Counter with keys 'both accept',
    'both reject', 'values differ', 'disagree', and 'explained: <why>'."""
    rng = random.Random(seed)
    counts = collections.Counter()
    examples = []
    with tempfile.TemporaryDirectory() as folder:
        seeds = seed_files(rng, folder)
        path = os.path.join(folder, "m.safetensors")
        for _ in range(count):
            data, kind = mutate(rng.choice(seeds), rng)
            with open(path, "wb") as f:
                f.write(data)
            ok_ref, got_ref = reference(path)
            ok_ours, got_ours = ours(path)
            if ok_ref and ok_ours:
                counts["both accept" if got_ref == got_ours else "values differ"] += 1
            elif not ok_ref and not ok_ours:
                counts["both reject"] += 1
            else:
                why = _explained(path)
                counts[f"explained: {why}" if why else "disagree"] += 1
                if not why and len(examples) < 5:
                    examples.append((kind, data[:200], got_ref if not ok_ref else got_ours))
            counts[f"kind {kind}"] += 1
    if verbose:
        for k in sorted(counts):
            print(f"{k}: {counts[k]}")
        for kind, data, why in examples:
            print("DISAGREE", kind, data, why)
    return counts


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    c = run(a.count, a.seed)
    sys.exit(1 if c["disagree"] or c["values differ"] else 0)
