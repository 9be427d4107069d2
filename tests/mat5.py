"""A byte-exact writer of MATLAB 5 MAT-files holding numeric arrays, written from the format's
specification (MathWorks, "MAT-File Format", level 5) independently of convnet's reader, for the tests
of that reader (tests/data/test_datasets.py, tests/io/test_datasets_hostile.py)."""

import struct
import zlib

import numpy as np

MI = {"i1": 1, "u1": 2, "i2": 3, "u2": 4, "i4": 5, "u4": 6, "f4": 7, "f8": 9, "i8": 12, "u8": 13}
MX = {"f8": 6, "f4": 7, "i1": 8, "u1": 9, "i2": 10, "u2": 11, "i4": 12, "u4": 13, "i8": 14, "u8": 15}


def element(mi, payload, e="<", small=True):
    """One data element: the small format (tag and up to 4 bytes in 8) when allowed, else an 8-byte tag
    and the payload padded to a multiple of 8 bytes."""
    if small and 0 < len(payload) <= 4:
        return struct.pack(e + "I", len(payload) << 16 | mi) + payload + bytes(4 - len(payload))
    return struct.pack(e + "II", mi, len(payload)) + payload + bytes(-len(payload) % 8)


def matrix(name, array, cls=None, storage=None, e="<", compress=False):
    """A variable: a miMATRIX element (in a miCOMPRESSED element if `compress`). `cls` is the array class
    as a NumPy dtype code ("f8", "u1", ...; the array's own by default), `storage` the type its values
    are stored in (the class's by default; MATLAB stores small integers of a double array as "u1")."""
    a = np.asarray(array)
    cls = cls or a.dtype.str[1:]
    storage = storage or cls
    dims = a.shape if a.ndim >= 2 else (1, a.size)
    body = (element(6, struct.pack(e + "II", MX[cls], 0), e)
            + element(5, struct.pack(f"{e}{len(dims)}i", *dims), e)
            + element(1, name.encode("ascii"), e)
            + element(MI[storage], a.astype(e + storage).tobytes(order="F"), e))
    m = struct.pack(e + "II", 14, len(body)) + body
    if compress:
        c = zlib.compress(m)
        return struct.pack(e + "II", 15, len(c)) + c
    return m


def header(e="<", text=b"MATLAB 5.0 MAT-file, written by convnet's tests"):
    return text.ljust(116, b" ") + bytes(8) + struct.pack(e + "H", 0x0100) + (b"IM" if e == "<" else b"MI")


def mat_file(variables, e="<", compress=False):
    """The bytes of a MAT-file holding `variables`, a list of (name, array) or (name, array, cls, storage)."""
    return header(e) + b"".join(matrix(*v[:2], *v[2:], e=e, compress=compress) for v in variables)
