"""save/load of state dicts in the safetensors layout, written atomically; PyTorch `.pth` files read
without PyTorch.

Tensors on a GPU are copied to the host to be written, and the file records the device of each
(metadata "convnet.devices"). `load` puts each tensor back on that device where it exists, else on
the CPU, or where `map_location` says (as torch.load).

A PyTorch file (`torch.save`: a zip archive holding `data.pkl` and one record per storage, or the
older single-file pickle format) is read by `load_pth` through a restricted unpickler that knows
only what `torch.load(weights_only=True)` accepts: tensors and parameters of the numeric dtypes,
dicts, OrderedDicts, lists, tuples, sets, numbers, strings and bytes. Any other global named in the
pickle is refused with an error that names it; nothing in the file is imported or run."""

import collections
import io
import json
import os
import pickle
import zipfile

import numpy as np

from . import _core

_DEVICES_KEY = "convnet.devices"


def _device_of(value, who):
    """A device name, a convnet.device or anything printing as one (a torch.device) as a convnet.device."""
    if isinstance(value, _core.device):
        return value
    if isinstance(value, str) or (hasattr(value, "type") and hasattr(value, "index")):
        try:
            return _core.device(str(value))
        except (ValueError, RuntimeError, TypeError):
            pass
    raise TypeError(f"{who}: map_location: expected a device name such as 'cpu' or 'cuda:0', or a convnet.device, "
                    f"got {value!r}")


def _map_location(map_location, who):
    """map_location checked, in the form `_restore` takes: None (each tensor's saved device), a
    convnet.device, a dict of saved device names to convnet.devices, or a callable."""
    if map_location is None or (callable(map_location) and not isinstance(map_location, type)):
        return map_location
    if isinstance(map_location, collections.abc.Mapping):
        if not all(isinstance(k, str) for k in map_location):
            raise TypeError(f"{who}: map_location: a dict maps saved device names (str) to devices, got keys "
                            f"{list(map_location)!r}")
        return {k: _device_of(v, who) for k, v in map_location.items()}
    return _device_of(map_location, who)


def _restore(t, saved, map_location):
    """Tensor t (loaded on the CPU) where `map_location` (checked by `_map_location`) puts it; `saved` is
    the device it was written from (a name, None for the CPU).

    None: on `saved` when this machine has that device, else on the CPU. A device: there. A dict:
    on map_location[saved] where `saved` is a key, else as None. A callable: its result for
    (t, saved name) (torch calls it with a storage; here it takes and returns a tensor)."""
    name = saved or "cpu"
    if callable(map_location):
        out = map_location(t, name)
        if not isinstance(out, _core.Tensor):
            raise TypeError(f"load: map_location returned a {type(out).__name__} for a tensor saved on {name}, "
                            "expected a convnet.Tensor")
        return out
    if isinstance(map_location, dict):
        map_location = map_location.get(name)
    if map_location is None:
        if saved is None or not _is_device(saved):
            return t
        d = _core.device(saved)
        if d.type != "cuda" or not _core.cuda.is_available() or d.index >= _core.cuda.device_count():
            return t
        map_location = d
    return t.to(map_location)


def save(obj, path):
    """Saves a state dict (a mapping of names to tensors) to `path` in the safetensors layout.

    The file is written to a temporary name in the same folder and renamed over
    `path` when complete, so a crash never leaves a half-written file.
    """
    if isinstance(obj, _core.nn.Module):
        raise TypeError("save: pass model.state_dict(), not the module itself")
    if not isinstance(obj, collections.abc.Mapping):
        raise TypeError(f"save: expected a mapping of names to tensors, got {type(obj).__name__}")
    items, devices = [], {}
    for name, value in obj.items():
        if not isinstance(name, str):
            raise TypeError(f"save: keys must be strings, got {name!r}")
        if not isinstance(value, _core.Tensor):
            value = _core.tensor(value, None)
        items.append((name, value.detach()))
        if value.device.type != "cpu":
            devices[name] = str(value.device)
    meta = {"format": "convnet"}
    if devices:
        meta[_DEVICES_KEY] = json.dumps(devices)
    _core._save_safetensors(items, os.fspath(path), meta)


def load(path, map_location=None):
    """Loads a state dict into an OrderedDict of tensors (in file order).

    `path` is a safetensors file (convnet's own, or one written by PyTorch or any other
    framework), or a PyTorch `.pth`/`.pt` file holding a state dict, read without PyTorch
    (see `load_pth`); the file's content decides, not its name.
    `map_location`, as torch.load's: None (default): the device each tensor was saved from where
    this machine has it, else the CPU; a device ("cpu", "cuda", "cuda:N", a convnet.device): every
    tensor there; a dict of saved device names to devices ({"cuda:1": "cuda:0"}); a callable
    (tensor, saved device name) -> tensor.
    """
    map_location = _map_location(map_location, "load")
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: {path}")
    if _file_kind(path) != "safetensors":
        return _state_dict(load_pth(path, map_location), path)
    tensors, meta = _core._load_safetensors(path)
    devices = _saved_devices(meta, path)
    return collections.OrderedDict((k, _restore(t, devices.get(k), map_location)) for k, t in tensors)


def _saved_devices(meta, path):
    """The metadata's {tensor name: device name} ("convnet.devices"), checked."""
    try:
        devices = json.loads(meta.get(_DEVICES_KEY, "{}"))
    except json.JSONDecodeError as e:
        raise _core.SafetensorsError(f"load: {path}: __metadata__.{_DEVICES_KEY}: expected a JSON object of "
                                     f"device names, it is not valid JSON ({e})") from None
    if not isinstance(devices, dict) or not all(isinstance(d, str) and _is_device(d) for d in devices.values()):
        raise _core.SafetensorsError(f"load: {path}: __metadata__.{_DEVICES_KEY}: expected a JSON object of "
                                     f"device names such as \"cuda:0\", got {meta[_DEVICES_KEY][:80]!r}")
    return devices


def _is_device(name):
    try:
        _core.device(name)
    except (ValueError, RuntimeError, TypeError):
        return False
    return True


# --- PyTorch files, without PyTorch -----------------------------------------------------------

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # the first pickle of torch's pre-1.6 single-file format
_LEGACY_PROTOCOL = 1001

# the NumPy layout (little-endian) of each dtype a torch file may hold; bfloat16 as its 16-bit words
_NUMPY_DTYPES = {
    "float64": "<f8", "float32": "<f4", "float16": "<f2", "bfloat16": "<u2", "int64": "<i8", "int32": "<i4",
    "int16": "<i2", "int8": "i1", "uint8": "u1", "uint16": "<u2", "uint32": "<u4", "uint64": "<u8", "bool": "?",
    "complex64": "<c8", "complex128": "<c16",
}
# torch's storage classes (torch.FloatStorage, ...) and the dtype of their elements
_STORAGE_DTYPES = {
    "DoubleStorage": "float64", "FloatStorage": "float32", "HalfStorage": "float16", "BFloat16Storage": "bfloat16",
    "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16", "CharStorage": "int8",
    "ByteStorage": "uint8", "BoolStorage": "bool", "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128", "UntypedStorage": "uint8",
}
# integer dtypes convnet lacks, widened to int64 (every value kept)
_WIDENED = ("int8", "int16", "int32", "uint16", "uint32")


def _file_kind(path):
    """"torch-zip", "torch-legacy" or "safetensors" (anything else too: its reader names the problem),
    from the first bytes of the file at `path`."""
    if not os.path.isfile(path):
        return "safetensors"
    with open(path, "rb") as f:
        head = f.read(9)
    if head[:4] == b"PK\x03\x04":
        return "torch-zip"
    # a pickle (PROTO 2..5) whose bytes 8.. are not a safetensors header's "{"
    if len(head) == 9 and head[0] == 0x80 and 2 <= head[1] <= 5 and head[8:9] != b"{":
        return "torch-legacy"
    return "safetensors"


class UnpicklingError(_core.SafetensorsError, pickle.UnpicklingError):
    """A PyTorch file that the restricted unpickler refuses (a global other than tensors and
    containers, a pickled module, a pickle setting attributes): a `convnet.SafetensorsError`, as any
    weights file convnet cannot read, and a `pickle.UnpicklingError`, as torch.load(weights_only=True)
    raises for it."""


class _Sealed:
    """The objects the unpickler gives a pickle: the pickle cannot set their attributes (its BUILD
    opcode calls __setstate__), so one file cannot alter the stand-ins that the next one gets."""

    __slots__ = ()

    def __setstate__(self, state):
        raise UnpicklingError(f"refused to set the state of {type(self).__name__.lstrip('_')}: a weights file "
                              "sets no attributes on tensors, storages, dtypes or rebuild functions")


class _Global(_Sealed):
    """An allowed callable (a rebuild function, OrderedDict, set, ...) as the pickle sees it."""

    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, *args):
        return self.fn(*args)


class _StorageType(_Sealed):
    """A torch storage class named in the pickle (torch.FloatStorage): the dtype of its elements."""

    __slots__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = dtype


class _DType(_Sealed):
    """A torch dtype named in the pickle (torch.float32)."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name


class _TensorType(_Sealed):
    """torch.Tensor or torch.nn.parameter.Parameter named in the pickle (by _rebuild_from_type_v2)."""

    __slots__ = ()


class _Storage(_Sealed):
    """The bytes of one saved storage (`data`: set when read), or a legacy storage view: `nbytes`
    bytes from `offset` of `root`'s."""

    __slots__ = ("dtype", "location", "_data", "root", "offset", "nbytes")

    def __init__(self, dtype, location, data=None, root=None, offset=0, nbytes=0):
        self.dtype, self.location = dtype, location
        self._data, self.root, self.offset, self.nbytes = data, root, offset, nbytes

    def data(self):
        if self.root is not None:
            return self.root.data()[self.offset:self.offset + self.nbytes]
        return self._data


class _SavedTensor(_Sealed):
    """A tensor as the pickle describes it: a strided view (sizes, strides and offset in elements of
    `dtype`) of a storage; made into a convnet tensor once every storage is read (the legacy format
    stores them after the pickle)."""

    __slots__ = ("storage", "offset", "size", "stride", "dtype", "requires_grad")

    def __init__(self, storage, offset, size, stride, dtype, requires_grad):
        if not (isinstance(storage, _Storage) and isinstance(offset, int) and isinstance(size, tuple)
                and isinstance(stride, tuple) and len(size) == len(stride)
                and all(isinstance(v, int) for v in size + stride)):
            raise pickle.UnpicklingError(f"a tensor rebuilt from unexpected arguments: storage "
                                         f"{type(storage).__name__}, offset {offset!r}, size {size!r}, "
                                         f"stride {stride!r}")
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride
        self.dtype, self.requires_grad = dtype, bool(requires_grad)

    def array(self, byteorder):
        """The tensor's elements as a C-contiguous NumPy array in native byte order (a copy)."""
        dt = np.dtype(_NUMPY_DTYPES[self.dtype])
        if byteorder == "big":
            dt = dt.newbyteorder(">")
        raw = self.storage.data()
        count = len(raw) // dt.itemsize
        if self.offset < 0 or any(n < 0 for n in self.size) or any(s < 0 for s in self.stride):
            raise ValueError(f"negative size, stride or offset (size {self.size}, stride {self.stride}, offset "
                             f"{self.offset})")
        native = dt.newbyteorder("=")
        if 0 in self.size:
            return np.empty(self.size, native)
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride))
        if last >= count:
            raise ValueError(f"shape {self.size} with strides {self.stride} from offset {self.offset} reaches "
                             f"element {last} of a storage of {count} {self.dtype} elements")
        base = np.frombuffer(raw, dtype=dt, count=count)[self.offset:]
        view = np.lib.stride_tricks.as_strided(base, self.size, [s * dt.itemsize for s in self.stride],
                                               writeable=False)
        return np.array(view, dtype=native, order="C")


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _SavedTensor(storage, storage_offset, tuple(size), tuple(stride), getattr(storage, "dtype", None), False)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None):
    return _SavedTensor(storage, storage_offset, tuple(size), tuple(stride), getattr(storage, "dtype", None),
                        requires_grad)


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype, metadata=None):
    if not isinstance(dtype, _DType):
        raise pickle.UnpicklingError(f"_rebuild_tensor_v3: expected a torch dtype, got {type(dtype).__name__}")
    return _SavedTensor(storage, storage_offset, tuple(size), tuple(stride), dtype.name, requires_grad)


def _rebuild_parameter(data, requires_grad, backward_hooks, state=None):
    if not isinstance(data, _SavedTensor):
        raise pickle.UnpicklingError(f"a parameter rebuilt from a {type(data).__name__}, expected a tensor")
    data.requires_grad = bool(requires_grad)
    return data


def _rebuild_from_type_v2(func, new_type, args, state):
    """A tensor of class torch.Tensor or Parameter (a subclass would be a global refused before this);
    attributes in `state` are dropped."""
    if not isinstance(new_type, _TensorType) or not isinstance(func, _Global) or not isinstance(args, tuple):
        raise pickle.UnpicklingError("_rebuild_from_type_v2: expected a rebuild function, torch.Tensor or "
                                     "Parameter and its arguments")
    return func(*args)


def _latin1_bytes(text, encoding="latin1"):
    """_codecs.encode as protocol-2 pickles use it for bytes."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"_codecs.encode: expected (str, 'latin1'), got ({type(text).__name__}, "
                                     f"{encoding!r})")
    return text.encode("latin1")


def _torch_device(*args):
    """torch.device(...) as its name ("cuda:0")."""
    return ":".join(str(a) for a in args)


_ALLOWED_GLOBALS = {
    **{name: _Global(fn) for name, fn in {
        "collections.OrderedDict": collections.OrderedDict,
        "collections.Counter": collections.Counter,
        "builtins.set": set,
        "builtins.frozenset": frozenset,
        "builtins.complex": complex,
        "builtins.bytearray": bytearray,
        "_codecs.encode": _latin1_bytes,
        "torch.Size": tuple,
        "torch.device": _torch_device,
        "torch._utils._rebuild_tensor": _rebuild_tensor,
        "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
        "torch._utils._rebuild_tensor_v3": _rebuild_tensor_v3,
        "torch._utils._rebuild_parameter": _rebuild_parameter,
        "torch._utils._rebuild_parameter_with_state": _rebuild_parameter,
        "torch._tensor._rebuild_from_type_v2": _rebuild_from_type_v2,
    }.items()},
    "torch.Tensor": _TensorType(),
    "torch.nn.parameter.Parameter": _TensorType(),
    "torch.storage.UntypedStorage": _StorageType("uint8"),
    **{f"torch.{name}": _StorageType(dtype) for name, dtype in _STORAGE_DTYPES.items()},
    **{f"torch.{name}": _DType(name) for name in _NUMPY_DTYPES},
}


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals of _ALLOWED_GLOBALS, to convnet's own sealed
    stand-ins (no module is imported; the pickle can only call them and build containers), and the
    storages of a torch file through `storage(pid)`."""

    def __init__(self, file, path, storage=None):
        super().__init__(file, encoding="utf-8")
        self._path, self._storage = path, storage

    def find_class(self, module, name):
        import _compat_pickle  # the Python 2 names that protocol-2 pickles may use (__builtin__.set)
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        found = _ALLOWED_GLOBALS.get(f"{module}.{name}")
        if found is None:
            raise UnpicklingError(
                f"load: {self._path}: refused to load the global {module}.{name}: a weights file may hold only "
                "tensors, dicts, lists, tuples, numbers and strings (what torch.load(weights_only=True) accepts); "
                "nothing in the file was run. Load it with torch only if you trust its source")
        return found

    def persistent_load(self, pid):
        if self._storage is None:
            raise pickle.UnpicklingError("a persistent id where the format has none")
        if not isinstance(pid, tuple) or not pid:
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        kind = pid[0].decode("ascii") if isinstance(pid[0], bytes) else pid[0]
        if kind != "storage" or len(pid) not in (5, 6) or not isinstance(pid[1], _StorageType):
            what = "a pickled module (source code)" if kind == "module" else f"persistent id {pid[:2]!r}"
            raise UnpicklingError(f"load: {self._path}: refused {what}: a weights file holds storages only")
        return self._storage(pid)


def _unpickle(file, path, storage=None):
    try:
        return _RestrictedUnpickler(file, path, storage).load()
    except (UnpicklingError, _core.SafetensorsError):
        raise
    except RecursionError:
        raise _core.SafetensorsError(f"load: {path}: the pickle nests too deeply") from None
    except Exception as e:  # a malformed pickle: UnpicklingError, EOFError, TypeError from its opcodes
        raise _core.SafetensorsError(f"load: {path} is not a valid PyTorch file: {type(e).__name__}: {e}") from None


def _read_zip(path):
    """(object with _SavedTensor leaves, byte order) from torch's zip format: <prefix>/data.pkl,
    <prefix>/data/<key> per storage, <prefix>/byteorder ("little" when absent)."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as e:  # ValueError: bad names
        raise _core.SafetensorsError(f"load: {path} is not a valid PyTorch file (a damaged zip archive: {e})") from None
    def record(name):
        """The bytes of record `name` (torch stores them uncompressed: nothing to inflate)."""
        try:
            info = zf.getinfo(name)
        except KeyError:
            raise _core.SafetensorsError(f"load: {path}: the archive has no record {name}") from None
        if info.compress_type != zipfile.ZIP_STORED:
            raise _core.SafetensorsError(f"load: {path}: record {name} is compressed; torch.save stores its "
                                         "records uncompressed")
        try:
            return zf.read(info)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as e:
            raise _core.SafetensorsError(f"load: {path} is not a valid PyTorch file (record {name}: {e})") from None

    with zf:
        names = zf.namelist()
        pkls = [n for n in names if n.count("/") == 1 and n.endswith("/data.pkl")]
        if len(pkls) != 1:
            extra = " (a TorchScript archive? save its state_dict() instead)" if any(
                n.endswith("/constants.pkl") for n in names) else ""
            raise _core.SafetensorsError(f"load: {path}: a zip archive but not a PyTorch file: expected one "
                                         f"<name>/data.pkl record, found {len(pkls)}{extra}")
        prefix = pkls[0][:-len("data.pkl")]
        byteorder = "little"
        if prefix + "byteorder" in names:
            byteorder = record(prefix + "byteorder").decode("ascii", "replace").strip()
            if byteorder not in ("little", "big"):
                raise _core.SafetensorsError(f"load: {path}: byteorder record: expected 'little' or 'big', got "
                                             f"{byteorder[:20]!r}")
        storages = {}

        def storage(pid):
            _, stype, key, location, _numel = pid[:5]
            if not isinstance(key, str) or not isinstance(location, str):
                raise pickle.UnpicklingError(f"unexpected storage id {pid!r}")
            if key not in storages:
                storages[key] = _Storage(stype.dtype, location, memoryview(record(f"{prefix}data/{key}")))
            return storages[key]

        return _unpickle(io.BytesIO(record(pkls[0])), path, storage), byteorder


def _read_legacy(path):
    """(object with _SavedTensor leaves, byte order) from torch's pre-1.6 format: pickles of the magic
    number, the protocol version, system info, the object (storages as persistent ids) and the sorted
    storage keys, then each storage as its element count (8 bytes, little-endian) and its bytes."""
    with open(path, "rb") as f:
        if _unpickle(f, path) != _LEGACY_MAGIC:
            raise _core.SafetensorsError(f"load: {path}: a pickle, but not a PyTorch file (no torch magic number)")
        version = _unpickle(f, path)
        if version != _LEGACY_PROTOCOL:
            raise _core.SafetensorsError(f"load: {path}: PyTorch legacy format version {version!r}, expected "
                                         f"{_LEGACY_PROTOCOL}")
        _unpickle(f, path)  # system info: the data of this format is little-endian on every machine
        roots = {}

        def storage(pid):
            _, stype, key, location, numel = pid[:5]
            view = pid[5] if len(pid) == 6 else None
            if not isinstance(key, str) or not isinstance(location, str) or not isinstance(numel, int):
                raise pickle.UnpicklingError(f"unexpected storage id {pid!r}")
            root = roots.setdefault(key, _Storage(stype.dtype, location))
            if view is None:
                return root
            if not (isinstance(view, tuple) and len(view) == 3
                    and all(isinstance(v, int) and v >= 0 for v in view[1:])):
                raise pickle.UnpicklingError(f"unexpected storage view {view!r}")
            _view_key, offset, size = view  # a storage view of the oldest files: elements of the root
            itemsize = np.dtype(_NUMPY_DTYPES[stype.dtype]).itemsize
            return _Storage(stype.dtype, location, root=root, offset=offset * itemsize, nbytes=size * itemsize)

        obj = _unpickle(f, path, storage)
        keys = _unpickle(f, path)
        if not isinstance(keys, list) or set(keys) != set(roots):
            raise _core.SafetensorsError(f"load: {path}: the list of storages does not match the storages the "
                                         "pickle names")
        size = os.fstat(f.fileno()).st_size
        for key in keys:
            count = int.from_bytes(f.read(8), "little")
            nbytes = count * np.dtype(_NUMPY_DTYPES[roots[key].dtype]).itemsize
            if nbytes > size - f.tell():
                raise _core.SafetensorsError(f"load: {path}: storage {key} is cut short ({size - f.tell()} of "
                                             f"{nbytes} bytes): the file is truncated")
            roots[key]._data = memoryview(f.read(nbytes))
        return obj, "little"


def _convnet_tensor(arr, dtype, path, where):
    """A convnet tensor holding NumPy array `arr` of torch dtype `dtype` (bfloat16 as its 16-bit words)."""
    if dtype == "bfloat16":  # exact through float32 (a signalling NaN comes back quiet)
        return _core.from_numpy((arr.astype(np.uint32) << 16).view(np.float32)).to(_core.dtype.bfloat16)
    if dtype in _WIDENED:
        arr = arr.astype(np.int64)
    elif dtype not in ("float32", "float64", "float16", "int64", "uint8", "bool"):
        raise _core.SafetensorsError(f"load: {path}: tensor{where} is {dtype}, which convnet does not hold "
                                     "(float32, float64, float16, bfloat16, int64, uint8, bool; smaller integers "
                                     "are widened to int64)")
    return _core.from_numpy(arr)


def load_pth(path, map_location=None):
    """Reads a PyTorch file (`torch.save`) without PyTorch: the object it holds, with convnet tensors.

    Both of torch's formats are read: the zip archive (PyTorch 1.6 and later) and the older
    single-file pickle format. The pickle goes through a restricted unpickler that accepts what
    `torch.load(weights_only=True)` accepts (tensors and parameters of the numeric dtypes, dicts,
    OrderedDicts, lists, tuples, sets, numbers, strings, bytes, torch.Size and torch.device) and
    refuses any other global with `convnet.serialization.UnpicklingError` (a `SafetensorsError` and
    a `pickle.UnpicklingError`) naming it, before anything of the file runs. Tensors come back
    C-contiguous with the values of their saved view (a transposed or sliced tensor, several tensors
    over one storage), each a copy of its own (shared storage is not kept shared); float16,
    bfloat16, float32, float64, int64, uint8 and bool keep their dtype and bits; int8, int16, int32,
    uint16 and uint32 are widened to int64; other dtypes (complex, uint64) raise
    `convnet.SafetensorsError`, as does a damaged or truncated file. Parameters keep requires_grad;
    tensor attributes and backward hooks are dropped. `map_location` as in `load` (each tensor's
    saved device is the location torch recorded, e.g. "cuda:0").
    """
    map_location = _map_location(map_location, "load_pth")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_pth: no such file: {path}")
    kind = _file_kind(path)
    if kind == "safetensors":
        raise _core.SafetensorsError(f"load_pth: {path} is not a PyTorch file (neither a zip archive nor a "
                                     "pickle); a safetensors file loads with convnet.load")
    obj, byteorder = _read_zip(path) if kind == "torch-zip" else _read_legacy(path)
    memo = {}

    def convert(x, where):
        if isinstance(x, _SavedTensor):
            try:
                arr = x.array(byteorder)
            except (ValueError, KeyError, TypeError, OverflowError, MemoryError) as e:
                raise _core.SafetensorsError(f"load: {path}: tensor{where}: {e}") from None
            t = _restore(_convnet_tensor(arr, x.dtype, path, where), x.storage.location, map_location)
            return t.requires_grad_(True) if x.requires_grad and t.is_floating_point() else t
        if not isinstance(x, (dict, list, tuple)):
            return x
        if id(x) in memo:
            return memo[id(x)]
        if isinstance(x, tuple):
            out = memo[id(x)] = tuple(convert(v, f"{where}[{i}]") for i, v in enumerate(x))
        elif isinstance(x, list):
            out = memo[id(x)] = []
            out.extend(convert(v, f"{where}[{i}]") for i, v in enumerate(x))
        else:
            out = memo[id(x)] = type(x)()
            out.update((k, convert(v, f"{where}[{k!r}]")) for k, v in x.items())
        return out

    try:
        return convert(obj, "")
    except RecursionError:
        raise _core.SafetensorsError(f"load_pth: {path}: the containers nest too deeply") from None


def _state_dict(obj, path):
    """obj (what load_pth read from `path`) as an OrderedDict of names to tensors, or the error that
    says why it is not a state dict."""
    if not isinstance(obj, collections.abc.Mapping):
        raise _core.SafetensorsError(f"load: {path} holds a {type(obj).__name__}, expected a state dict "
                                     "(save model.state_dict(), not the model); convnet.serialization.load_pth "
                                     "reads any object of tensors, dicts and lists")
    out = collections.OrderedDict()
    for name, value in obj.items():
        if not isinstance(name, str):
            raise _core.SafetensorsError(f"load: {path}: key {name!r} is not a string; a state dict maps parameter "
                                         "names to tensors")
        if not isinstance(value, _core.Tensor):
            raise _core.SafetensorsError(f"load: {path}: entry {name!r} is of type {type(value).__name__}, expected "
                                         "a tensor (is this a checkpoint holding more than a state dict? "
                                         "convnet.serialization.load_pth reads it whole)")
        out[name] = value.detach()
    return out
