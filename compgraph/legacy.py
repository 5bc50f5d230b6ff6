"""PyTorch's legacy typed constructors: torch.FloatTensor, LongTensor, ... .

As in PyTorch, X(2, 3) is a (2, 3) tensor (zeros here, uninitialised there), X(data) a
tensor of data in X's dtype, X() an empty one, and X(t) accepts only a tensor of X's own
dtype (it shares t's array).  isinstance(t, torch.FloatTensor) tests the dtype.
"""
import numpy as np

from . import backend
from .errors import ArgumentError, DTypeError
from .tensor import Tensor, _make, tensor


class _LegacyTensorType(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype and \
            isinstance(obj._value, np.ndarray)

    def __call__(cls, *args, device=None, **kwargs):
        if kwargs:
            raise ArgumentError(f"{cls.__name__}(): unexpected keyword argument(s) "
                                f"{', '.join(kwargs)}; it takes data or sizes (and device)")
        if not args:
            out = _make(np.zeros(0, cls.dtype))
        elif all(isinstance(a, (int, np.integer)) and not isinstance(a, (bool, np.bool_))
                 for a in args):
            out = _make(np.zeros(tuple(int(a) for a in args), cls.dtype))
        elif len(args) > 1:
            raise ArgumentError(f"{cls.__name__}(): expected data or integer sizes, got {args!r}")
        elif isinstance(args[0], Tensor):
            if args[0].dtype != cls.dtype:
                raise DTypeError(f"{cls.__name__}(): expected a tensor of dtype {cls.dtype}, got "
                                 f"{args[0].dtype}; convert it with .to({cls.dtype.name})")
            out = _make(args[0]._value)
        else:
            out = tensor(args[0], dtype=cls.dtype)
        return out if device is None else out.to(device)


def _legacy(name, dtype):
    return _LegacyTensorType(name, (), {"dtype": dtype, "__module__": "compgraph",
                                        "__doc__": f"A {dtype} tensor from data or sizes."})


FloatTensor = _legacy("FloatTensor", backend.float32)
DoubleTensor = _legacy("DoubleTensor", backend.float64)
HalfTensor = _legacy("HalfTensor", backend.float16)
ByteTensor = _legacy("ByteTensor", backend.uint8)
CharTensor = _legacy("CharTensor", backend.int8)
ShortTensor = _legacy("ShortTensor", backend.int16)
IntTensor = _legacy("IntTensor", backend.int32)
LongTensor = _legacy("LongTensor", backend.int64)
BoolTensor = _legacy("BoolTensor", backend.bool_)

__all__ = ["FloatTensor", "DoubleTensor", "HalfTensor", "ByteTensor", "CharTensor",
           "ShortTensor", "IntTensor", "LongTensor", "BoolTensor"]
