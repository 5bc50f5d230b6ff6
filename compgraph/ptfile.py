"""PyTorch's checkpoint format (what torch.save writes since 1.6), written and read
without PyTorch, and read without running any code from the file.

The file is a zip archive (records stored, not compressed) whose records share one
folder name (``archive/`` here; PyTorch may use another):

* ``archive/data.pkl`` -- the saved object, pickled (protocol 2).  Tensors appear in it
  as calls of ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
  requires_grad, hooks)`` and parameters as ``torch._utils._rebuild_parameter(tensor,
  requires_grad, hooks)``; a storage is not in the pickle but named by a persistent id
  ``('storage', torch.FloatStorage, key, location, numel)``.
* ``archive/data/<key>`` -- each storage's raw bytes, aligned to 64 bytes in the file.
* ``archive/byteorder`` (``little``), ``archive/version`` (``3``) and PyTorch's other
  small records.

Writing uses the standard pickler (the pure-Python one, because the torch names above
must be written without importing torch).  Reading never calls ``pickle.load``: a
restricted unpickler resolves each global the pickle names through an allow-list --
PyTorch's rebuild functions and storage classes, mapped to compgraph's own; compgraph's
modules; NumPy arrays; and what the user added with ``add_safe_globals`` -- and refuses
every other one (``os.system``, ``builtins.eval``, ...) before anything is called.
"""
from __future__ import annotations

import codecs
import collections
import contextlib
import io as _io
import math
import pickle
import sys
import warnings
import zipfile

import numpy as np

from . import backend
from .errors import ArgumentError, CheckpointError, DeviceError
from .tensor import Tensor, _make

__all__ = ["write", "read", "UnsafeGlobalError", "add_safe_globals", "get_safe_globals",
           "clear_safe_globals", "safe_globals", "unsafe_globals_in"]

PROTOCOL = 2              # what torch.save writes by default
ALIGNMENT = 64            # storages start at multiples of this, as PyTorch writes them
LEGACY_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19"   # torch < 1.6: a pickled magic number


class UnsafeGlobalError(CheckpointError, pickle.UnpicklingError):
    """The file names a class or function that is not allow-listed (it would run code)."""


# --------------------------------------------------------------------------------------
# Names in the file: storages and dtypes as PyTorch spells them
# --------------------------------------------------------------------------------------

# the typed storage classes of torch.save; dtypes without one use UntypedStorage and
# _rebuild_tensor_v3 with the dtype named (torch.uint16, ...)
_STORAGES = {"DoubleStorage": "float64", "FloatStorage": "float32", "HalfStorage": "float16",
             "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16",
             "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool",
             "ComplexFloatStorage": "complex64", "ComplexDoubleStorage": "complex128",
             "BFloat16Storage": "bfloat16"}
_STORAGE_OF = {np.dtype(v): k for k, v in _STORAGES.items() if v != "bfloat16"}
_TORCH_DTYPES = {"float64": "float64", "double": "float64", "float32": "float32",
                 "float": "float32", "float16": "float16", "half": "float16",
                 "int64": "int64", "long": "int64", "int32": "int32", "int": "int32",
                 "int16": "int16", "short": "int16", "int8": "int8", "uint8": "uint8",
                 "uint16": "uint16", "uint32": "uint32", "uint64": "uint64", "bool": "bool",
                 "complex64": "complex64", "cfloat": "complex64", "complex128": "complex128",
                 "cdouble": "complex128", "bfloat16": "bfloat16"}


class _StorageType:
    """What the name torch.FloatStorage (or torch.storage.UntypedStorage) stands for."""
    __slots__ = ("name", "dtype")

    def __init__(self, name, dtype):
        self.name, self.dtype = name, dtype

    def __repr__(self):
        return f"torch.{self.name}"


class _Storage:
    """One storage: a flat array of its dtype (bytes for an untyped one), and where it goes."""
    __slots__ = ("array", "device", "pid")

    def __init__(self, array, device, pid=None):
        self.array, self.device, self.pid = array, device, pid


class _Name:
    """A global to write by its name, without importing it (torch may not be installed)."""
    __slots__ = ("module", "name")

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self, *args):      # the pickler insists that reduce functions be callable
        raise TypeError(f"{self.module}.{self.name} is a name written into a file, not a function")


_REBUILD_V2 = _Name("torch._utils", "_rebuild_tensor_v2")
_REBUILD_V3 = _Name("torch._utils", "_rebuild_tensor_v3")
_REBUILD_PARAMETER = _Name("torch._utils", "_rebuild_parameter")
_TORCH_DEVICE = _Name("torch", "device")
_STORAGE_NAMES = {name: _Name("torch", name) for name in _STORAGES}
_UNTYPED = _Name("torch.storage", "UntypedStorage")
_DTYPE_NAMES = {}


def _dtype_name(dtype):
    name = dtype.name
    if name not in _DTYPE_NAMES:
        _DTYPE_NAMES[name] = _Name("torch", name)
    return _DTYPE_NAMES[name]


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------

class _Pickler(pickle._Pickler):
    """pickle's own pure-Python pickler, plus: tensors as PyTorch pickles them (storages
    out of band), devices as torch.device, and _Name globals written as given."""

    dispatch = dict(pickle._Pickler.dispatch)

    def __init__(self, file, protocol):
        super().__init__(file, protocol)
        self.storages = []          # (key, contiguous array), in key order
        self._by_array = {}         # id(array) -> _Storage, so shared arrays are stored once

    def _save_name(self, obj):
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("utf-8"))
        self.memoize(obj)

    dispatch[_Name] = _save_name

    def persistent_id(self, obj):
        return obj.pid if obj.__class__ is _Storage else None

    def reducer_override(self, obj):
        if isinstance(obj, Tensor):
            return self._reduce_tensor(obj)
        if isinstance(obj, backend.device):
            return _TORCH_DEVICE, (str(obj),)
        return NotImplemented

    def _storage(self, value):
        st = self._by_array.get(id(value))
        if st is None:
            host = value if isinstance(value, np.ndarray) else value.get()   # CuPy -> host
            arr = np.ascontiguousarray(host)
            if arr.dtype.byteorder == ">":
                arr = arr.astype(arr.dtype.newbyteorder("<"))
            key = str(len(self.storages))
            location = "cpu" if isinstance(value, np.ndarray) else "cuda:0"
            typed = _STORAGE_OF.get(arr.dtype)
            if typed is not None:
                pid = ("storage", _STORAGE_NAMES[typed], key, location, arr.size)
            else:
                pid = ("storage", _UNTYPED, key, location, arr.nbytes)
            st = self._by_array[id(value)] = _Storage(arr, location, pid)
            self.storages.append((key, arr, value))    # value kept alive: ids stay unique
        return st

    def _reduce_tensor(self, t):
        from .nn.module import Parameter
        if t._value is None:
            raise ArgumentError("compgraph.save: a graph node that has not been computed "
                                "has no value to save; run forward(graph) first")
        if isinstance(t, Parameter):
            return _REBUILD_PARAMETER, (t.detach(), bool(t.requires_grad), collections.OrderedDict())
        value = t._value
        if value.dtype.hasobject or value.dtype.kind not in "biufc":
            raise ArgumentError(f"compgraph.save: a tensor of dtype {value.dtype} cannot be saved")
        st = self._storage(value)
        shape = tuple(int(d) for d in value.shape)
        stride = tuple(int(s) for s in _contiguous_strides(shape))
        args = (st, 0, shape, stride, bool(t.requires_grad), collections.OrderedDict())
        if st.pid[1] is _UNTYPED:
            return _REBUILD_V3, args + (_dtype_name(value.dtype),)
        return _REBUILD_V2, args


def _contiguous_strides(shape):
    strides, step = [], 1
    for d in reversed(shape):
        strides.append(step)
        step *= max(int(d), 1)
    return tuple(reversed(strides))


def write(obj, file, protocol=PROTOCOL):
    """Write obj to the binary file object `file` in PyTorch's zip format."""
    buf = _io.BytesIO()
    pickler = _Pickler(buf, protocol)
    try:
        pickler.dump(obj)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise ArgumentError(f"compgraph.save cannot save this object: {exc}. It can save "
                            "tensors, modules, NumPy arrays, numbers, strings and "
                            "dicts/lists/tuples of them; functions and classes only when "
                            "they are importable by name (not lambdas or local ones)") from exc
    with zipfile.ZipFile(file, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        _record(zf, "archive/data.pkl", buf.getvalue())
        _record(zf, "archive/.format_version", b"1")
        _record(zf, "archive/.storage_alignment", str(ALIGNMENT).encode())
        _record(zf, "archive/byteorder", b"little")
        for key, arr, _ in pickler.storages:
            _record(zf, f"archive/data/{key}", memoryview(arr.reshape(-1)).cast("B"), align=True)
        _record(zf, "archive/version", b"3\n")


def _record(zf, name, data, align=False):
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    if align:
        # pad the local header's extra field so that the bytes start on a 64-byte boundary
        # (PyTorch memory-maps storages from there with mmap=True)
        start = zf.fp.tell() + 30 + len(name.encode("utf-8")) + 4
        if len(data) * 1.05 > zipfile.ZIP64_LIMIT:
            start += 20                          # the zip64 sizes zipfile adds after ours
        pad = -start % ALIGNMENT
        info.extra = b"FB" + pad.to_bytes(2, "little") + b"Z" * pad
    zf.writestr(info, data)      # a memoryview of a storage: written without a copy


# --------------------------------------------------------------------------------------
# The allow-list
# --------------------------------------------------------------------------------------

_user_globals = {}          # "module.qualname" -> object, added with add_safe_globals


def _key_of(entry):
    if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], str):
        return entry[1], entry[0]
    if isinstance(entry, (list, tuple)):
        raise ArgumentError(f"add_safe_globals: an entry is a class or function, or a pair "
                            f"(object, 'module.name'), got {entry!r}")
    module = getattr(entry, "__module__", None)
    name = getattr(entry, "__qualname__", None) or getattr(entry, "__name__", None)
    if not module or not name:
        raise ArgumentError(f"add_safe_globals: {entry!r} has no module and name to be "
                            "found by; pass (object, 'module.name')")
    return f"{module}.{name}", entry


def add_safe_globals(safe_globals):
    """Allow load() to rebuild these classes and functions (as torch.serialization's)."""
    if not isinstance(safe_globals, (list, tuple, set)):
        raise ArgumentError(f"add_safe_globals expects a list of classes or functions, got "
                            f"{type(safe_globals).__name__}")
    for entry in safe_globals:
        key, obj = _key_of(entry)
        _user_globals[key] = obj


def get_safe_globals():
    """The objects added with add_safe_globals (compgraph's defaults are not listed)."""
    return list(_user_globals.values())


def clear_safe_globals():
    _user_globals.clear()


@contextlib.contextmanager
def safe_globals(safe_globals):
    """Allow these classes and functions only inside the with block."""
    saved = dict(_user_globals)
    try:
        add_safe_globals(safe_globals)
        yield
    finally:
        _user_globals.clear()
        _user_globals.update(saved)


def _defaults():
    """The globals allowed without asking: those PyTorch writes for tensors and state
    dicts, plain containers, NumPy arrays and scalars (compgraph's arrays)."""
    if _DEFAULTS:
        return _DEFAULTS
    table = {
        "collections.OrderedDict": collections.OrderedDict,
        "builtins.set": set, "builtins.frozenset": frozenset, "builtins.complex": complex,
        "builtins.bytearray": bytearray, "builtins.slice": slice, "builtins.range": range,
        "_codecs.encode": codecs.encode,    # how protocol 2 spells bytes
        "torch._utils._rebuild_tensor": _rebuild_tensor,
        "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
        "torch._utils._rebuild_tensor_v3": _rebuild_tensor_v3,
        "torch._utils._rebuild_parameter": _rebuild_parameter,
        "torch._utils._rebuild_parameter_with_state": _rebuild_parameter_with_state,
        "torch.Size": tuple, "torch.device": backend.device, "compgraph.backend.device": backend.device,
        "torch.storage.UntypedStorage": _StorageType("storage.UntypedStorage", np.dtype(np.uint8)),
    }
    for name, dt in _STORAGES.items():
        table[f"torch.{name}"] = _StorageType(name, dt)
    for name, dt in _TORCH_DTYPES.items():
        table[f"torch.{name}"] = np.dtype(np.float32) if dt == "bfloat16" else np.dtype(dt)
    try:
        from numpy._core import multiarray
    except ImportError:                          # NumPy 1.x
        from numpy.core import multiarray
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        table[f"{mod}._reconstruct"] = multiarray._reconstruct
        table[f"{mod}.scalar"] = multiarray.scalar
    table["numpy.ndarray"] = np.ndarray
    table["numpy.dtype"] = np.dtype
    for name in dir(np.dtypes):
        if name.endswith("DType") and name != "StringDType":
            table[f"numpy.dtypes.{name}"] = getattr(np.dtypes, name)
    from .nn.module import Parameter
    table["torch.nn.parameter.Parameter"] = table["compgraph.nn.module.Parameter"] = Parameter
    _DEFAULTS.update(table)
    return _DEFAULTS


_DEFAULTS = {}


# functions a module may hold as an attribute (an activation, as PyTorch's transformer
# layers do): pure functions of tensors.  Other functions of compgraph are not allowed by
# default: some change global state (set_default_dtype, manual_seed) when called.
_SAFE_FUNCTIONS = ("relu", "relu6", "gelu", "silu", "mish", "sigmoid", "tanh", "elu", "selu",
                   "celu", "leaky_relu", "softplus", "softsign", "hardtanh", "hardswish",
                   "hardsigmoid", "logsigmoid", "softmax", "log_softmax")


def _compgraph_global(module, name):
    """What a name means in compgraph, by its compgraph name or its PyTorch one
    (torch.nn.modules.linear.Linear, torch.nn.functional.relu); only modules already
    imported are looked in, so finding a name never imports anything.  Returns the object
    and whether it is allowed by default: compgraph.nn's modules and the functions above."""
    from . import nn
    from .nn import functional as F
    if module == "torch" or module.startswith("torch."):
        mod = sys.modules.get("compgraph" + module[5:])
        if mod is None and (module == "torch.nn" or module.startswith("torch.nn.modules")):
            mod = nn
        elif mod is None and module == "torch.nn.functional":
            mod = F
    elif module.startswith("compgraph."):
        mod = sys.modules.get(module)
    else:
        return None, False
    if any(part.startswith("__") for part in name.split(".")):
        return None, False       # no walking through __globals__, __class__, ...
    obj = mod
    for part in name.split("."):
        obj = getattr(obj, part, None) if obj is not None else None
    if obj is None and mod is nn and name in nn.modules.RENAMES:
        # PyTorch's classes that compgraph.nn keeps under another name or module
        # (torch.nn.modules.linear.NonDynamicallyQuantizableLinear in nn.MultiheadAttention)
        home, attr = nn.modules.RENAMES[name]
        obj = getattr(sys.modules.get(home), attr, None)
    if obj is None:
        return None, False
    if isinstance(obj, type) and issubclass(obj, nn.Module):
        return obj, obj.__module__.startswith("compgraph.nn")
    safe = any(getattr(F, f, None) is obj for f in _SAFE_FUNCTIONS)
    return obj, safe


def _resolve(module, name):
    key = f"{module}.{name}"
    obj = _user_globals.get(key)
    if obj is None:
        obj = _defaults().get(key)
    if obj is None:
        obj, allowed = _compgraph_global(module, name)
        if obj is not None and not allowed and not any(obj is v for v in _user_globals.values()):
            obj = None           # known to compgraph, but neither a default nor allowed by the user
    return obj


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------

class _Loading:
    """What the rebuild functions need while one file is read (set by read())."""
    source = "the file"


_current = [None]


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _rebuild_tensor_v2(storage, storage_offset, size, stride, False, None)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                       metadata=None):
    return _tensor(storage, storage_offset, size, stride, requires_grad, metadata, None)


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                       dtype, metadata=None):
    return _tensor(storage, storage_offset, size, stride, requires_grad, metadata, dtype)


def _rebuild_parameter(data, requires_grad, backward_hooks):
    from .nn.module import Parameter
    if not isinstance(data, Tensor):
        raise CheckpointError(f"{_source()}: a parameter's data is {type(data).__name__}, "
                              "not a tensor (damaged file)")
    return Parameter(data, bool(requires_grad) and data.dtype.kind in "fc")


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    if state:
        raise CheckpointError(f"{_source()}: a parameter carries extra Python attributes "
                              f"({sorted(state)[:5]}), which compgraph's Parameter cannot hold")
    return _rebuild_parameter(data, requires_grad, backward_hooks)


def _source():
    return _current[0].source if _current[0] is not None else "the file"


def _ints(x, what):
    if not isinstance(x, (tuple, list)) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in x):
        raise CheckpointError(f"{_source()}: a tensor's {what} is {x!r}, not a tuple of "
                              "non-negative ints (damaged file)")
    return tuple(x)


def _tensor(storage, offset, size, stride, requires_grad, metadata, dtype):
    if not isinstance(storage, _Storage):
        raise CheckpointError(f"{_source()}: a tensor's storage is {type(storage).__name__} "
                              "(damaged file)")
    if metadata:
        raise CheckpointError(f"{_source()}: a tensor carries metadata {metadata!r} that "
                              "compgraph does not know how to apply")
    size, stride = _ints(size, "size"), _ints(stride, "stride")
    (offset,) = _ints((offset,), "storage offset")
    flat = storage.array
    if dtype is not None:                       # an untyped storage: bytes, seen as dtype
        if not isinstance(dtype, np.dtype):
            raise CheckpointError(f"{_source()}: {dtype!r} is not a dtype (damaged file)")
        if flat.nbytes % dtype.itemsize:
            raise CheckpointError(f"{_source()}: a storage of {flat.nbytes} bytes cannot hold "
                                  f"{dtype} elements (damaged file)")
        flat = flat.view(dtype)
    if len(size) != len(stride):
        raise CheckpointError(f"{_source()}: a tensor has size {size} but stride {stride}")
    numel = math.prod(size)                     # Python ints: no overflow on a crafted size
    if numel == 0:
        arr = np.zeros(size, flat.dtype)
    else:
        last = offset + sum((d - 1) * s for d, s in zip(size, stride))
        if last >= flat.size:
            raise CheckpointError(f"{_source()}: a tensor of size {size}, stride {stride} and "
                                  f"offset {offset} reaches past its storage of {flat.size} "
                                  "elements (damaged file)")
        arr = np.lib.stride_tricks.as_strided(
            flat[offset:], shape=size, strides=tuple(s * flat.itemsize for s in stride))
        if _overlapping(size, stride):
            arr = arr.copy()                     # an expanded tensor: own, writable memory
    if storage.device != "cpu":
        arr = backend.to_device(arr, "cuda")
    return _make(arr, bool(requires_grad) and arr.dtype.kind in "fc")


def _overlapping(size, stride):
    reach = 0
    for s, d in sorted((s, d) for d, s in zip(size, stride) if d > 1):
        if s <= reach:
            return True
        reach += s * (d - 1)
    return False


def _from_bfloat16(bits):
    # bfloat16 is the top half of a float32: exact in float32, which NumPy has
    return (np.asarray(bits, np.uint16).astype(np.uint32) << 16).view(np.float32)


def _python3_name(module, name):
    """Protocol 2 pickles spell Python 3 names as Python 2's (__builtin__.set for
    builtins.set, commands.Popen for subprocess.Popen): use, and report, the real one."""
    import _compat_pickle
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


class _Unpickler(pickle.Unpickler):
    """Finds globals only on the allow-list; storages come from the zip's records."""

    def __init__(self, file, records, **kwargs):
        super().__init__(file, **kwargs)
        self._records = records

    def find_class(self, module, name):
        module, name = _python3_name(module, name)
        obj = _resolve(module, name)
        if obj is None:
            short = name.rsplit(".", 1)[-1]
            raise UnsafeGlobalError(
                f"{_source()} refers to the global {module}.{name}, which is not allowed: "
                f"compgraph.load never runs code from a file, and rebuilds only classes and "
                f"functions on its allow-list (tensors, modules, containers, NumPy arrays). "
                f"If you trust this file and {short} is one of your own classes, allow it "
                f"with compgraph.serialization.add_safe_globals([{short}]) or "
                f"`with compgraph.serialization.safe_globals([{short}]):`")
        return obj

    def persistent_load(self, pid):
        return self._records(pid)


def _storage_reader(zf, prefix, byteorder, map_location):
    cache = {}

    def load(pid):
        if (not isinstance(pid, tuple) or len(pid) != 5 or pid[0] not in ("storage", b"storage")
                or not isinstance(pid[1], _StorageType) or not isinstance(pid[2], str)
                or not isinstance(pid[4], int)):
            raise CheckpointError(f"{_source()}: unknown persistent id {pid!r} in data.pkl "
                                  "(damaged file, or not written by torch.save)")
        _, kind, key, location, numel = pid
        if key in cache:
            return cache[key]
        name = f"{prefix}data/{key}"
        try:
            raw = bytearray(zf.read(name))
        except KeyError:
            raise CheckpointError(f"{_source()}: storage record {name!r} is missing") from None
        bf16 = kind.dtype == "bfloat16"
        dt = np.dtype(np.uint16) if bf16 else np.dtype(kind.dtype)
        if len(raw) != numel * dt.itemsize:
            raise CheckpointError(f"{_source()}: storage {key} holds {len(raw)} bytes, but "
                                  f"the pickle says {numel} elements of {kind.dtype}")
        arr = np.frombuffer(raw, dtype=dt.newbyteorder("<" if byteorder == "little" else ">"))
        if byteorder != "little" or not arr.dtype.isnative:
            arr = arr.astype(dt)
        if bf16:
            warnings.warn(f"{_source()}: bfloat16 tensors are loaded as float32 (NumPy has "
                          "no bfloat16; the values are exact)", stacklevel=4)
            arr = _from_bfloat16(arr)
        st = cache[key] = _Storage(arr, _destination(map_location, location, arr))
        return st

    return load


def _destination(map_location, location, arr):
    """Where a storage saved at `location` ('cpu', 'cuda:0') goes: 'cpu' or 'cuda'."""
    dest = location
    if callable(map_location) and not isinstance(map_location, str):
        got = map_location(_make(arr), location)
        if not isinstance(got, Tensor):
            raise ArgumentError(f"compgraph.load: map_location returned "
                                f"{type(got).__name__}, expected the storage (a tensor) "
                                "it was given, or a copy of it on another device")
        dest = str(got.device)
    elif isinstance(map_location, dict):
        dest = str(map_location.get(location, location))
    elif map_location is not None:
        dest = str(map_location)
    dest = backend.normalize_device(dest)
    if dest == "cuda" and not backend.cuda_available():
        raise DeviceError(f"{_source()} holds tensors saved on {location}, but CUDA is not "
                          "available; load them to the CPU with map_location='cpu' (or "
                          "map_location=compgraph.device('cpu'))")
    return dest


def read(file, source, map_location=None, encoding="utf-8"):
    """Read the object from an open zip file in PyTorch's format."""
    try:
        zf = zipfile.ZipFile(file)
    except zipfile.BadZipFile as exc:
        raise CheckpointError(f"{source} is not a readable zip archive: {exc}") from exc
    with zf:
        pkl = [n for n in zf.namelist() if n.endswith("data.pkl") and n.count("/") == 1]
        if len(pkl) != 1:
            raise CheckpointError(f"{source} is a zip archive without a <name>/data.pkl "
                                  "record: not a torch.save file")
        prefix = pkl[0][:-len("data.pkl")]
        byteorder = "little"
        if f"{prefix}byteorder" in zf.namelist():
            byteorder = zf.read(f"{prefix}byteorder").decode("ascii", "replace").strip()
            if byteorder not in ("little", "big"):
                raise CheckpointError(f"{source}: unknown byte order {byteorder!r}")
        state = _Loading()
        state.source = source
        _current[0], saved = state, _current[0]
        try:
            data = _io.BytesIO(zf.read(pkl[0]))
            records = _storage_reader(zf, prefix, byteorder, map_location)
            obj = _Unpickler(data, records, encoding=encoding).load()
        except (UnsafeGlobalError, CheckpointError, DeviceError, ArgumentError):
            raise
        except zipfile.BadZipFile as exc:
            raise CheckpointError(f"{source} is damaged: {exc}") from exc
        except Exception as exc:
            raise CheckpointError(f"{source}: its data.pkl could not be read ({type(exc).__name__}: "
                                  f"{exc})") from exc
        finally:
            _current[0] = saved
    _adopt_modules(obj, source)
    return obj


# --------------------------------------------------------------------------------------
# Modules pickled by PyTorch: their __dict__ in PyTorch's layout, made compgraph's
# --------------------------------------------------------------------------------------

_TORCH_HOOKS = ("_backward_pre_hooks", "_backward_hooks", "_forward_hooks",
                "_forward_hooks_with_kwargs", "_forward_hooks_always_called",
                "_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_state_dict_hooks",
                "_state_dict_pre_hooks", "_load_state_dict_pre_hooks",
                "_load_state_dict_post_hooks")


def _adopt_modules(root, source):
    """PyTorch keeps a module's parameters, buffers and submodules only in _parameters,
    _buffers and _modules; compgraph also keeps them as attributes, and names the set of
    non-persistent buffers differently.  Walk what was loaded and fix the modules in
    PyTorch's layout; those compgraph wrote are already right."""
    from .nn.module import Module
    seen, todo = set(), [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, dict):
            todo.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            todo.extend(obj)
        elif isinstance(obj, Module):
            d = obj.__dict__
            if "_parameters" in d and "_non_persistent_buffers" not in d:
                _from_torch_layout(obj, d, source)
            todo.extend(d.values())


def _from_torch_layout(module, d, source):
    name = type(module).__name__
    for key in _TORCH_HOOKS:
        hooks = d.pop(key, None)
        if hooks:
            raise CheckpointError(f"{source}: the {name} module was saved with hooks "
                                  f"({key}); compgraph cannot restore PyTorch's hooks -- save "
                                  "the model's state_dict() instead")
    d.pop("_is_full_backward_hook", None)
    d.pop("_flat_weight_refs", None)            # PyTorch's RNNs: weak references
    d["_non_persistent_buffers"] = set(d.pop("_non_persistent_buffers_set", ()))
    for reg in ("_parameters", "_buffers", "_modules"):
        entries = dict(d.get(reg) or {})
        d[reg] = entries
        for key, value in entries.items():
            d.setdefault(key, value)
    d.setdefault("training", True)


# --------------------------------------------------------------------------------------
# Inspecting a file without loading it
# --------------------------------------------------------------------------------------

def unsafe_globals_in(file):
    """The globals a torch-format file names that load() would refuse (nothing is run)."""
    import pickletools
    with zipfile.ZipFile(file) as zf:
        pkl = [n for n in zf.namelist() if n.endswith("data.pkl") and n.count("/") == 1]
        if len(pkl) != 1:
            raise CheckpointError("not a torch.save file: no <name>/data.pkl record")
        data = zf.read(pkl[0])
    found, stack, memo = [], [], {}
    for op, arg, _ in pickletools.genops(data):
        # enough of the pickle machine to know the two strings STACK_GLOBAL takes
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
            stack.append(arg)
        elif op.name in ("BINPUT", "LONG_BINPUT", "PUT"):
            memo[arg] = stack[-1] if stack else None
        elif op.name == "MEMOIZE":
            memo[len(memo)] = stack[-1] if stack else None
        elif op.name in ("BINGET", "LONG_BINGET", "GET"):
            stack.append(memo.get(arg))
        if op.name == "GLOBAL":
            module, name = arg.split(" ", 1)
        elif op.name == "STACK_GLOBAL" and len(stack) >= 2:
            module, name = stack[-2], stack[-1]
        else:
            continue
        if not (isinstance(module, str) and isinstance(name, str)):
            continue
        module, name = _python3_name(module, name)
        if _resolve(module, name) is None and f"{module}.{name}" not in found:
            found.append(f"{module}.{name}")
    return found
