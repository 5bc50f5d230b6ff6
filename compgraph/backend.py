"""Array backends, dtypes and devices.

Ops never import numpy themselves: they receive the array module (`xp`) of their
operands, so the same op table runs on NumPy and on CuPy.  This module is the only
place that knows which modules exist.
"""
import numpy as np

from .errors import ArgumentError, DeviceError, DTypeError

ndarray = np.ndarray

# dtypes are NumPy's own dtype objects (the torch-style aliases float, double, long, ...
# are given in compgraph/__init__.py, not here, so this module keeps Python's builtins): `cg.float32 == np.float32` holds, and printing
# them shows the familiar names.
float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
int16 = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)

DTYPES = {
    "float16": float16, "half": float16, "float32": float32, "float": float32,
    "float64": float64, "double": float64, "int8": int8, "uint8": uint8,
    "int16": int16, "short": int16, "int32": int32, "int": int32,
    "int64": int64, "long": int64, "bool": bool_,
}

_default_float = float32


def get_default_dtype():
    return _default_float


def set_default_dtype(dtype):
    global _default_float
    dt = as_dtype(dtype)
    if dt.kind != "f":
        raise DTypeError(f"set_default_dtype: {dt} is not a floating dtype; use float32 or float64")
    _default_float = dt


def as_dtype(dtype):
    """A NumPy dtype from a dtype, a NumPy type, a name ('float32', 'double'), or a torch-like name."""
    if dtype is None:
        return None
    if isinstance(dtype, np.dtype):
        return dtype
    if isinstance(dtype, str):
        key = dtype.replace("torch.", "")
        if key in DTYPES:
            return DTYPES[key]
        raise DTypeError(f"unknown dtype {dtype!r}; known: {', '.join(sorted(DTYPES))}")
    try:
        return np.dtype(dtype)
    except TypeError:
        raise DTypeError(f"unknown dtype {dtype!r}; known: {', '.join(sorted(DTYPES))}") from None


def is_floating(dtype):
    return dtype.kind == "f"


# --- devices ---------------------------------------------------------------------------

_cupy = None


def cupy():
    """The cupy module, imported on first use; a clear error when it is missing."""
    global _cupy
    if _cupy is None:
        try:
            import cupy as cp
        except ImportError:
            raise DeviceError("device 'cuda' needs CuPy: pip install 'compgraph[cuda]'") from None
        _cupy = cp
    return _cupy


def cuda_available():
    try:
        return cupy().cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def xp_of(array):
    """The array module that owns `array` (numpy for NumPy arrays and scalars)."""
    if isinstance(array, (np.ndarray, np.generic)):
        return np
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy
    return np


_TYPES = ("cpu", "cuda")


class device(str):
    """torch.device: a str subclass, so a device object goes wherever a device string is
    accepted and `device == "cpu"` checks need no change.
    device('cpu'), device('cuda'), device('cuda:1'), device('cuda', 1), device(0)."""

    def __new__(cls, type=None, index=None):
        if isinstance(type, device) and index is None:
            return type
        if isinstance(type, int) and not isinstance(type, bool) and index is None:
            type, index = "cuda", type           # PyTorch reads a bare ordinal as a CUDA one
        if not isinstance(type, str):
            raise ArgumentError(f"device() expects a device type string such as 'cpu' or "
                                f"'cuda', got {type!r}")
        name, colon, ordinal = type.partition(":")
        if colon:
            if index is not None:
                raise DeviceError("type (string) must not include an index because index was "
                                  f"passed explicitly: {type}")
            if not ordinal.isdigit():
                raise DeviceError(f"Invalid device string: '{type}'")
            index = int(ordinal)
        if name not in _TYPES:
            raise DeviceError(f"Expected one of {', '.join(_TYPES)} device type at start of "
                              f"device string: {type}")
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, int) or index < 0:
                raise DeviceError(f"Device index must not be negative, got {index!r}")
            if name == "cpu" and index != 0:
                raise DeviceError(f"CPU device index must be -1 or zero, got {index}")
        return str.__new__(cls, name if index is None else f"{name}:{index}")

    @property
    def type(self):
        return self.partition(":")[0]

    @property
    def index(self):
        ordinal = self.partition(":")[2]
        return int(ordinal) if ordinal else None

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __reduce__(self):
        return (device, (str(self),))




CPU, CUDA = device("cpu"), device("cuda")


def device_of(array):
    return CPU if isinstance(array, (np.ndarray, np.generic)) else CUDA


def normalize_device(device):
    if device is None:
        return None
    name = str(device)
    if name == "cpu":
        return "cpu"
    if name.startswith("cuda"):
        return "cuda"
    raise DeviceError(f"unknown device {device!r}; use 'cpu' or 'cuda'")


def to_device(array, device):
    """Move an array to 'cpu' or 'cuda' (no copy when it is already there)."""
    if device == "cpu":
        return array if isinstance(array, np.ndarray) else array.get()
    cp = cupy()
    return array if isinstance(array, cp.ndarray) else cp.asarray(array)
