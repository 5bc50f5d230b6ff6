"""safetensors files (a JSON header and raw tensor bytes, no code at all) as compgraph
tensors, through the `safetensors` package (an optional extra: pip install
'compgraph[safetensors]').

    from compgraph.safetensors import save_file, load_file
    save_file(model.state_dict(), "model.safetensors")
    model.load_state_dict(load_file("model.safetensors"))
"""
import numpy as np

from . import backend
from .errors import ArgumentError, CheckpointError, CompgraphError, MissingFileError
from .io import atomic_write
from .tensor import Tensor, _make

__all__ = ["save_file", "load_file", "save", "load", "MissingDependencyError"]


class MissingDependencyError(CompgraphError, ImportError):
    """An optional package that the call needs is not installed."""


def _numpy_api():
    try:
        import safetensors.numpy as st
    except ImportError:
        raise MissingDependencyError(
            "safetensors files need the safetensors package, which is not installed: "
            "pip install 'compgraph[safetensors]' (or pip install safetensors)") from None
    return st


def _arrays(tensors, what):
    if not isinstance(tensors, dict):
        raise ArgumentError(f"{what}: expects a dict of name -> tensor (e.g. a "
                            f"state_dict()), got {type(tensors).__name__}")
    out = {}
    for name, t in tensors.items():
        if not isinstance(name, str):
            raise ArgumentError(f"{what}: tensor names must be strings, got {name!r}")
        if isinstance(t, Tensor):
            value = t._value
            value = value if isinstance(value, np.ndarray) else backend.to_device(value, "cpu")
        elif isinstance(t, np.ndarray):
            value = t
        else:
            raise ArgumentError(f"{what}: {name!r} is {type(t).__name__}; a safetensors file "
                                "holds only tensors (save other values with compgraph.save)")
        if value.dtype.kind not in "biufc":
            raise ArgumentError(f"{what}: {name!r} has dtype {value.dtype}, which safetensors "
                                "cannot hold")
        out[name] = np.ascontiguousarray(value)
    return out


def _metadata(metadata, what):
    if metadata is not None and not (isinstance(metadata, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise ArgumentError(f"{what}: metadata must be a dict of str -> str, got {metadata!r}")
    return metadata


def save(tensors, metadata=None):
    """The bytes of a safetensors file holding `tensors` (name -> tensor)."""
    st = _numpy_api()
    return st.save(_arrays(tensors, "safetensors.save"), metadata=_metadata(metadata, "safetensors.save"))


def save_file(tensors, filename, metadata=None):
    """Write `tensors` (name -> tensor) to `filename` as a safetensors file, atomically."""
    data = save(tensors, metadata)
    with atomic_write(filename) as f:
        f.write(data)


def _tensors(arrays, device):
    dest = backend.normalize_device(device)
    return {name: _make(arr if dest == "cpu" else backend.to_device(arr, dest))
            for name, arr in arrays.items()}


def load(data, device="cpu"):
    """name -> compgraph tensor from the bytes of a safetensors file."""
    st = _numpy_api()
    try:
        arrays = st.load(bytes(data))
    except Exception as exc:     # the package raises its own SafetensorError or a TypeError
        raise CheckpointError(f"not a readable safetensors file: {exc}") from exc
    return _tensors(arrays, device)


def load_file(filename, device="cpu"):
    """name -> compgraph tensor from a safetensors file."""
    import os
    st = _numpy_api()
    if not os.path.exists(filename):
        raise MissingFileError(f"safetensors file {os.fspath(filename)!r} does not exist")
    try:
        arrays = st.load_file(filename)
    except Exception as exc:
        raise CheckpointError(f"{os.fspath(filename)!r} is not a readable safetensors file "
                              f"({exc}); bfloat16 and float8 tensors cannot be read into "
                              "NumPy arrays") from exc
    return _tensors(arrays, device)
