"""A reader for the part of the MATLAB 5 MAT-file format that data sets use (SVHN's .mat files):
numeric arrays, stored plainly or zlib-compressed (pure NumPy and the standard library).

Layout (MATLAB's "MAT-File Format", level 5): a 128-byte header (116 bytes of text starting with
"MATLAB 5.0 MAT-file", 8 bytes of subsystem offset, a 2-byte version 0x0100 and the 2-byte endian
indicator "IM" little-endian / "MI" big-endian), then one data element per variable. A data element is
an 8-byte tag (uint32 type, uint32 byte count) and its data, padded to 8 bytes; a "small" element (byte
count 1..4 in the tag's upper 16 bits) packs tag and data in 8 bytes. A variable is a miMATRIX element
(type 14) or a miCOMPRESSED element (type 15: a zlib stream holding one miMATRIX element). A miMATRIX
holds, as sub-elements: array flags (miUINT32: class in the low byte, complex/global/logical bits, then
nzmax), dimensions (miINT32), the name (miINT8) and the real part, column-major, in any numeric storage
type (MATLAB stores a double array of small integers as miUINT8); it is converted to the class's dtype.

Every size is checked before anything is allocated: an element may not declare more bytes than the file
(or, compressed, than `MAX_ZLIB_RATIO` times its compressed bytes) holds, and the real part must hold
exactly prod(dimensions) values. A compressed stream is inflated incrementally and never past what its
element declares; the variables not asked for are skipped without inflating their data.
"""

import os
import struct
import zlib

import numpy as np

__all__ = ["MatError", "read_mat"]


class MatError(ValueError):
    """A MAT-file is corrupt, truncated, of another version, or holds a variable of another kind than
    expected: the message names the file, the variable where known, and what was expected."""


MI_MATRIX, MI_COMPRESSED = 14, 15
# storage types of numeric data
MI_TYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8", 12: "i8", 13: "u8"}
# array classes: numeric ones and their dtypes, then the names of the others (for messages)
MX_NUMERIC = {6: "f8", 7: "f4", 8: "i1", 9: "u1", 10: "i2", 11: "u2", 12: "i4", 13: "u4", 14: "i8", 15: "u8"}
MX_OTHER = {1: "cell array", 2: "struct", 3: "object", 4: "char array", 5: "sparse matrix", 16: "function handle",
            17: "opaque object"}
COMPLEX_FLAG = 0x0800
HEADER_SIZE = 128
# A deflate stream expands at most about 1032-fold: a compressed element declaring more is corrupt.
MAX_ZLIB_RATIO = 1100
_CHUNK = 1 << 20


class _Failure:
    """Raises MatError naming the file and `where` (the variable being read)."""

    def __init__(self, path, who):
        self.path, self.who, self.where = path, who, None

    def __call__(self, msg):
        raise MatError(f"{self.who}{self.path}: {self.where}: {msg}")


class _FileBytes:
    """Exact reads from an open file, never past `end` (a file offset)."""

    def __init__(self, f, end, fail):
        self.f, self.end, self.fail = f, end, fail

    def read(self, n):
        if self.f.tell() + n > self.end:
            self.fail(f"it ends {self.f.tell() + n - self.end} byte(s) short of the {n} the element declares "
                      f"(truncated)")
        return self.f.read(n)

    def read_array(self, n):
        out = np.empty(n, np.uint8)
        got = self.f.readinto(memoryview(out)) if n else 0
        if got != n:
            self.fail(f"it ends {n - got} byte(s) short of the {n} the element declares (truncated)")
        return out


class _Inflated:
    """Exact reads from the zlib stream held in the next `size` bytes of an open file; inflates no more
    than is read."""

    def __init__(self, f, size, fail):
        self.f, self.left, self.fail = f, size, fail
        self.z = zlib.decompressobj()
        self.pending = b""   # compressed input not yet given to the inflater

    def _inflate_into(self, view):
        """Fills `view` (a writable memoryview of bytes) from the stream."""
        pos, n = 0, len(view)
        while pos < n:
            if not self.pending:
                if self.z.eof or not self.left:
                    self.fail(f"its compressed data ends {n - pos} byte(s) short of what its variable declares "
                              f"(truncated)")
                self.pending = self.f.read(min(self.left, _CHUNK))
                if not self.pending:
                    self.fail("the file ends inside a compressed variable (truncated)")
                self.left -= len(self.pending)
            try:
                out = self.z.decompress(self.pending, n - pos)
            except zlib.error as e:
                self.fail(f"its compressed data is corrupt (zlib: {e})")
            self.pending = self.z.unconsumed_tail
            view[pos:pos + len(out)] = out
            pos += len(out)
            if self.z.eof and pos < n:
                self.fail(f"its compressed data ends {n - pos} byte(s) short of what its variable declares "
                          f"(truncated)")

    def read(self, n):
        out = bytearray(n)
        self._inflate_into(memoryview(out))
        return bytes(out)

    def read_array(self, n):
        try:
            out = np.empty(n, np.uint8)  # pages are touched only as they are filled
        except MemoryError:
            self.fail(f"its compressed data declares {n} bytes, more than this machine can allocate")
        self._inflate_into(memoryview(out))
        return out


class _Element:
    """Sub-elements of one miMATRIX element, read from `src` within its `size` bytes."""

    def __init__(self, src, size, endian, fail):
        self.src, self.left, self.endian, self.fail = src, size, endian, fail

    def take(self, n, what):
        if n > self.left:
            self.fail(f"its {what} declares {n} byte(s) but only {self.left} remain in the variable's element")
        self.left -= n

    def tag(self, what):
        """(type, byte count, data of a small element or None)."""
        self.take(8, what)
        raw = self.src.read(8)
        a, b = struct.unpack(self.endian + "II", raw)
        if a >> 16:
            n = a >> 16
            if n > 4:
                self.fail(f"its {what} is a small element of {n} bytes, expected at most 4")
            return a & 0xFFFF, n, raw[4:4 + n]
        return a, b, None

    def payload(self, what, expect_type=None):
        """(type, data bytes) of the next sub-element, padding skipped."""
        t, n, small = self.tag(what)
        if expect_type is not None and t not in expect_type:
            self.fail(f"its {what} has data type {t}, expected {' or '.join(map(str, expect_type))}")
        if small is not None:
            return t, small
        self.take(n, what)
        data = self.src.read(n)
        self.skip_padding(n, what)
        return t, data

    def skip_padding(self, n, what):
        pad = -n % 8
        if pad:
            self.take(pad, what)
            self.src.read(pad)


def _header(f, path, who):
    raw = f.read(HEADER_SIZE)
    if len(raw) < HEADER_SIZE:
        raise MatError(f"{who}{path} is not a MAT-file: it has {len(raw)} bytes, fewer than the {HEADER_SIZE}-byte "
                       f"header of a MATLAB 5 MAT-file")
    text = raw[:116]
    if raw[126:128] == b"IM":
        endian = "<"
    elif raw[126:128] == b"MI":
        endian = ">"
    else:
        raise MatError(f"{who}{path} is not a MATLAB 5 MAT-file: its header's endian indicator (bytes 126-127) is "
                       f"{raw[126:128]!r}, expected b'IM' or b'MI'"
                       + (" (a MATLAB 4 file?)" if not text.startswith(b"MATLAB") else ""))
    version, = struct.unpack(endian + "H", raw[124:126])
    if text.startswith(b"MATLAB 7.3") or version == 0x0200:
        raise MatError(f"{who}{path} is a MATLAB 7.3 MAT-file (HDF5), which this reader does not read; expected a "
                       f"MATLAB 5 MAT-file (save it with save(..., '-v7') or '-v6')")
    if version != 0x0100:
        raise MatError(f"{who}{path}: its header's version is {version:#06x}, expected 0x0100 (MATLAB 5 MAT-file)")
    return endian


def read_mat(path, names=None, who=None):
    """The numeric arrays of the MATLAB 5 MAT-file `path`, as {name: ndarray} (Fortran order, the class's
    dtype, MATLAB's dimensions; as scipy.io.loadmat without squeezing).

    names: the variables to read (others are skipped without decompressing their data); None reads every
    numeric array and skips variables of other kinds (cell arrays, structs, text, sparse matrices).
    Raises MatError (a ValueError) naming the file and the variable if the file is truncated or corrupt, a
    wanted variable is not a real numeric array, or a size does not match; missing names are just absent
    from the result. `who` (a data set's name) starts the messages.
    """
    path = os.fspath(path)
    wanted = None if names is None else set(names)
    found = {}
    who = f"{who}: " if who else ""
    fail = _Failure(path, who)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        endian = _header(f, path, who)
        start = f.tell()
        while start < size:
            fail.where = f"the variable at byte {start}"
            raw = f.read(8)
            if len(raw) < 8:
                fail(f"{len(raw)} byte(s) remain after the last variable, fewer than an 8-byte element tag "
                     f"(truncated)")
            t, n = struct.unpack(endian + "II", raw)
            end = start + 8 + n
            if end > size:
                fail(f"its element declares {n} bytes but the file has {size - start - 8} left (truncated)")
            if t == MI_COMPRESSED:
                src = _Inflated(f, n, fail)
                t, inner = struct.unpack(endian + "II", src.read(8))
                if t != MI_MATRIX:
                    fail(f"its compressed data holds an element of type {t}, expected a miMATRIX (14)")
                if inner > n * MAX_ZLIB_RATIO + 64:
                    fail(f"its compressed data declares {inner} bytes, more than {MAX_ZLIB_RATIO} times its "
                         f"{n} compressed bytes (corrupt)")
                n = inner
            elif t == MI_MATRIX:
                src = _FileBytes(f, end, fail)
            else:
                fail(f"its element has data type {t}, expected miMATRIX (14) or miCOMPRESSED (15)")
            name, array = _matrix(_Element(src, n, endian, fail), wanted)
            if array is not None:
                found[name] = array
            f.seek(end)
            start = end
    return found


def _matrix(el, wanted):
    """(name, array or None when the variable is skipped) of one miMATRIX element."""
    fail = el.fail
    _, flags = el.payload("array flags", (6,))
    if len(flags) != 8:
        fail(f"its array flags hold {len(flags)} bytes, expected 8")
    word, _ = struct.unpack(el.endian + "II", flags)
    cls, complex_ = word & 0xFF, bool(word & COMPLEX_FLAG)
    _, raw_dims = el.payload("dimensions", (5,))
    if len(raw_dims) % 4 or len(raw_dims) < 8:
        fail(f"its dimensions hold {len(raw_dims)} bytes, expected 4 per dimension and at least 2 dimensions")
    dims = struct.unpack(f"{el.endian}{len(raw_dims) // 4}i", raw_dims)
    _, raw_name = el.payload("name", (1, 2))
    name = raw_name.decode("latin-1")
    fail.where = f"variable {name!r}"
    if wanted is not None and name not in wanted:
        return name, None
    kind = MX_NUMERIC.get(cls)
    if kind is None:
        if wanted is None:
            return name, None
        fail(f"it is a MATLAB {MX_OTHER.get(cls, f'array of class {cls}')}, expected a numeric array")
    if complex_:
        fail("it is a complex array, expected a real one")
    if min(dims) < 0:
        fail(f"its dimensions {dims} include a negative size")
    count = int(np.prod(dims, dtype=object))
    t, nbytes, small = el.tag("real part")
    storage = MI_TYPES.get(t)
    if storage is None:
        fail(f"its real part has data type {t}, expected a numeric type ({sorted(MI_TYPES)})")
    storage = np.dtype(el.endian + storage)
    if nbytes != count * storage.itemsize:
        fail(f"its real part holds {nbytes} bytes, expected {count} values of {storage.itemsize} byte(s) for the "
             f"dimensions {'x'.join(map(str, dims))}")
    if small is not None:
        data = np.frombuffer(small, np.uint8).copy()
    else:
        el.take(nbytes, "real part")
        data = el.src.read_array(nbytes)
    values = data.view(storage)
    out = values.astype(np.dtype(kind), copy=False) if values.dtype != np.dtype(kind) else values
    return name, out.reshape(dims, order="F")
