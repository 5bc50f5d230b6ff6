"""torch.save / torch.load / torch.device and torch.serialization's allow-list, as PyTorch
users type them.

save writes PyTorch's own zip format (compgraph/ptfile.py), so a file compgraph saves
loads in PyTorch with torch.load(weights_only=True), and a file PyTorch saved loads here
without PyTorch installed.  load reads that format and compgraph.io's older .npz
checkpoints; it never runs code from a file: weights_only=True is its only mode, and a
class or function the file names is rebuilt only when it is on the allow-list
(compgraph's own modules and tensors, PyTorch's tensor and storage names, containers,
NumPy arrays, and what add_safe_globals / safe_globals added).
"""
import io as _io
import os

from . import backend, io, ptfile
from .backend import device  # noqa: F401  (torch.device lives with the other device code)
from .errors import ArgumentError, ArgumentValueError, CheckpointError, MissingFileError, PathIsFolderError
from .ptfile import (UnsafeGlobalError, add_safe_globals, clear_safe_globals,  # noqa: F401
                     get_safe_globals, safe_globals)
from .tensor import Tensor, _make

__all__ = ["save", "load", "device", "add_safe_globals", "get_safe_globals",
           "clear_safe_globals", "safe_globals", "get_unsafe_globals_in_checkpoint",
           "UnsafeGlobalError", "DEFAULT_PROTOCOL"]

DEFAULT_PROTOCOL = ptfile.PROTOCOL
_ZIP_MAGIC = b"PK\x03\x04"


def _is_path(f):
    return isinstance(f, (str, os.PathLike))


def save(obj, f, pickle_module=None, pickle_protocol=DEFAULT_PROTOCOL,
         _use_new_zipfile_serialization=True, _disable_byteorder_record=False):
    """Write obj (tensors, a state_dict, a whole module, an optimizer's state, nested
    dicts/lists/tuples of them and of numbers, strings and NumPy arrays) to f -- a path,
    written atomically, or a binary file object -- in PyTorch's zip format."""
    import pickle
    if pickle_module is not None and pickle_module is not pickle:
        raise ArgumentError("compgraph.save writes with the standard pickle module only: "
                            f"pickle_module={getattr(pickle_module, '__name__', pickle_module)!r} "
                            "is not supported")
    if not _use_new_zipfile_serialization:
        raise ArgumentError("compgraph.save writes only PyTorch's zip format (the default "
                            "since PyTorch 1.6): _use_new_zipfile_serialization=False, the "
                            "legacy format, is not supported")
    if not isinstance(pickle_protocol, int) or not 2 <= pickle_protocol <= pickle.HIGHEST_PROTOCOL:
        raise ArgumentValueError(f"compgraph.save: pickle_protocol must be an int from 2 to "
                                 f"{pickle.HIGHEST_PROTOCOL}, got {pickle_protocol!r}")
    if _is_path(f):
        # a temporary file moved over f once complete: a value that cannot be saved (or
        # a crash) leaves what f held before
        with io.atomic_write(f) as out:
            ptfile.write(obj, out, pickle_protocol)
    elif hasattr(f, "write"):
        ptfile.write(obj, f, pickle_protocol)
    else:
        raise ArgumentError(f"compgraph.save: f must be a path (str or os.PathLike) or a "
                            f"binary file object, got {type(f).__name__}")


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args):
    """Read what save (or PyTorch's torch.save, or compgraph.io.save) wrote.

    f is a path or a binary file object.  map_location ('cpu', 'cuda', a device, a dict
    from saved to wanted locations, or a function (storage, location) -> storage) says
    where tensors go.  weights_only is always True: nothing in the file is run, and only
    allow-listed classes are rebuilt (see add_safe_globals)."""
    if weights_only is not None and not weights_only:
        raise ArgumentValueError(
            "compgraph.load: weights_only=False is not supported: it would let the file run "
            "any code it names while loading. compgraph always loads as weights_only=True; "
            "to load a whole model of your own class, allow the class instead: "
            "compgraph.serialization.add_safe_globals([MyModel]) or `with "
            "compgraph.serialization.safe_globals([MyModel]): model = compgraph.load(f)`")
    if pickle_module is not None:
        raise ArgumentError("compgraph.load: pickle_module is not supported: loading never "
                            "uses a pickle module's own Unpickler (it could run code)")
    encoding = pickle_load_args.pop("encoding", "utf-8")
    if pickle_load_args:
        raise ArgumentError(f"compgraph.load: unsupported arguments {sorted(pickle_load_args)}")
    _check_map_location(map_location)
    if _is_path(f):
        path = os.fspath(f)
        if not os.path.exists(path):
            raise MissingFileError(f"compgraph.load: {path!r} does not exist")
        if os.path.isdir(path):
            raise PathIsFolderError(f"compgraph.load: {path!r} is a folder, not a checkpoint file")
        with open(path, "rb") as fh:
            return _load_open(fh, path, map_location, encoding)
    if not hasattr(f, "read"):
        raise ArgumentError(f"compgraph.load: f must be a path (str or os.PathLike) or a "
                            f"binary file object, got {type(f).__name__}")
    return _load_open(f, getattr(f, "name", None) or "<file object>", map_location, encoding)


def _load_open(fh, name, map_location, encoding):
    source = f"checkpoint {name!r}"
    if not (hasattr(fh, "seekable") and fh.seekable()):
        fh = _io.BytesIO(fh.read())      # zipfile needs to seek (a pipe, a socket)
    start = fh.tell()
    head = fh.read(len(ptfile.LEGACY_MAGIC))
    fh.seek(start)
    if isinstance(head, str):
        raise ArgumentError("compgraph.load: the file was opened in text mode; open it with "
                            "open(path, 'rb')")
    if head.startswith(ptfile.LEGACY_MAGIC):
        raise CheckpointError(
            f"{source} is in PyTorch's legacy format (torch < 1.6, or "
            "_use_new_zipfile_serialization=False), which compgraph does not read; load it "
            "in PyTorch and save it again with torch.save(obj, f) (the zip format)")
    if not head.startswith(_ZIP_MAGIC):
        raise CheckpointError(
            f"{source} is not a checkpoint: neither PyTorch's zip format nor compgraph's "
            f".npz (its first bytes are {head[:8]!r}); a bare pickle is never loaded")
    import zipfile
    try:
        with zipfile.ZipFile(fh) as zf:
            names = zf.namelist()
    except zipfile.BadZipFile as exc:
        raise CheckpointError(f"{source} is damaged: {exc}") from exc
    fh.seek(start)
    if io.HEADER_KEY + ".npy" in names:            # compgraph.io's checkpoint (the npz)
        return _move(io.read(fh, name), map_location)
    return ptfile.read(fh, source, map_location, encoding)


def get_unsafe_globals_in_checkpoint(f):
    """The names of the globals in a torch-format file that load would refuse, found
    without loading it (as torch.serialization.get_unsafe_globals_in_checkpoint)."""
    if _is_path(f):
        with open(f, "rb") as fh:
            return ptfile.unsafe_globals_in(fh)
    return ptfile.unsafe_globals_in(f)


def _check_map_location(map_location):
    if map_location is None or callable(map_location) or isinstance(map_location, (str, dict)):
        return
    raise ArgumentError(f"compgraph.load: map_location must be a device, a device string, a "
                        f"dict of them or a function (storage, location), got "
                        f"{type(map_location).__name__}")


def _target(map_location, current):
    if map_location is None:
        return None
    if isinstance(map_location, dict):
        dest = map_location.get(current)
        return None if dest is None else backend.normalize_device(dest)
    if isinstance(map_location, str):
        return backend.normalize_device(map_location)
    return None


def _move(obj, map_location):
    """map_location for compgraph.io's checkpoints (PyTorch's files apply it per storage)."""
    if callable(map_location) and not isinstance(map_location, str):
        raise ArgumentError("compgraph.load: a map_location function is supported for "
                            "PyTorch-format files only; this is a compgraph .npz checkpoint: "
                            "give a device instead (e.g. map_location='cpu')")
    if isinstance(obj, Tensor):
        dest = _target(map_location, obj.device)
        if dest is None or dest == obj.device:
            return obj
        moved = _make(backend.to_device(obj._value, dest))
        return moved.requires_grad_(True) if obj.requires_grad else moved
    if isinstance(obj, dict):
        return type(obj)((k, _move(v, map_location)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_move(v, map_location) for v in obj)
    return obj
