"""torch.save / torch.load / torch.device as PyTorch users type them.

save and load are compgraph.io's checkpoints (NumPy .npz with a JSON header, never
pickle) under PyTorch's names and keywords; the pickle-related keywords are refused or
ignored, because nothing here can unpickle.
"""
import os

from . import backend, io
from .backend import device  # noqa: F401  (torch.device lives with the other device code)
from .errors import ArgumentError
from .tensor import Tensor, _make

def _path(f, what):
    if isinstance(f, (str, os.PathLike)):
        return f
    raise ArgumentError(f"compgraph.{what} takes a path (str or os.PathLike), got "
                        f"{type(f).__name__}; file objects are not supported")


def save(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False):
    """Write obj (a state_dict, an optimizer's, nested dicts/lists/tuples of tensors, arrays
    and numbers) to the path f as a compgraph checkpoint, atomically."""
    if pickle_module is not None:
        raise ArgumentError("compgraph.save never pickles: pickle_module is not supported")
    io.save(obj, _path(f, "save"))


def _target(map_location, current):
    if map_location is None:
        return None
    if isinstance(map_location, dict):
        dest = map_location.get(current)
        return None if dest is None else backend.normalize_device(dest)
    if isinstance(map_location, str):
        return backend.normalize_device(map_location)
    raise ArgumentError(f"compgraph.load: map_location must be a device, a device string or a "
                        f"dict of them, got {type(map_location).__name__}")


def _move(obj, map_location):
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


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None,
         **pickle_load_args):
    """Read what save wrote.  map_location ('cpu', 'cuda', a device, or a dict from saved
    to wanted devices) moves the tensors; weights_only is always effectively True, since
    a checkpoint holds only tensors, arrays and plain data."""
    if pickle_module is not None or pickle_load_args:
        raise ArgumentError("compgraph.load never unpickles: pickle_module and pickle "
                            "arguments are not supported")
    return _move(io.load(_path(f, "load")), map_location)
