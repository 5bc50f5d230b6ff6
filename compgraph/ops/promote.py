"""Type promotion as PyTorch does it: the one rule, and the per-op kinds that use it.

PyTorch ranks operands in three tiers: tensors with dimensions, 0-d tensors, and Python
numbers.  Within a tier dtypes promote as usual (int32 + int64 -> int64); across tiers a
lower tier only decides the result when it is of a higher category (bool < integer <
floating < complex): float32 * int64 tensor is float32, int32 + tensor(3) is int32,
int32 + tensor(2.5) is float32.  NumPy 2 would say float64, int64 and float64.

Python numbers never reach this rule: they are lifted to 0-d constants of the dtype that
PyTorch's third tier gives (tensor.scalar_constant: the other operand's dtype, or the
default float for a float beside integers, int64 for an int beside bools), so as 0-d
operands they promote as PyTorch's numbers do.

An op declares its kind in its table entry (defop(..., promote=...)); `apply` runs the kind
before anything else, so eager, lazy and compiled graphs see the same dtypes, and
operands of another dtype become `astype` nodes: the forward and the VJPs only ever see
operands of the result dtype, and each gradient is cast back to its input's dtype by
astype's VJP, as in PyTorch.  Operands of one dtype (the training-loop case) cost one
comparison.
"""
import numpy as np

from ..backend import get_default_dtype

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def promote_types(a, b):
    """Two dtypes of one tier: the larger within a category, the higher category across
    them (int64 with float16 is float16 in PyTorch; NumPy says float64)."""
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca == cb:
        return np.promote_types(a, b)
    return a if ca > cb else b


def _combine(higher, lower):
    """The result of a higher tier and a lower one: the lower only where its category is higher."""
    if higher is None:
        return lower
    if lower is None or _CATEGORY[higher.kind] >= _CATEGORY[lower.kind]:
        return higher
    return lower


def result_type(operands):
    """PyTorch's result dtype of (dtype, ndim) pairs."""
    dims = zero = None
    for dt, ndim in operands:
        if ndim:
            dims = dt if dims is None else promote_types(dims, dt)
        else:
            zero = dt if zero is None else promote_types(zero, dt)
    return _combine(dims, zero)


def _meta(t):
    v = t._value
    return (v.dtype, v.ndim) if v is not None else (t.dtype, len(t.shape))


def _cast(t, dtype):
    from ..tensor import apply
    from . import OPS
    return apply(OPS["astype"], (t,), {"dtype": dtype})


def _to(args, dtype, first=0):
    return args[:first] + tuple(a if a.dtype == dtype else _cast(a, dtype) for a in args[first:])


def common(args, first=0):
    """Operands args[first:] brought to their result dtype (add, mul, where's a and b, cat)."""
    ops = args[first:]
    d0 = ops[0].dtype
    for a in ops[1:]:
        if a.dtype != d0:
            break
    else:
        return args
    return _to(args, result_type([_meta(a) for a in ops]), first)


def common_float(args):
    """common, then integers and bools to the default float (true division)."""
    args = common(args)
    if args[0].dtype.kind in "fc":
        return args
    return _to(args, get_default_dtype())


def floating(args):
    """One operand; integers and bools become the default float (exp, sqrt, sigmoid...)."""
    if args[0].dtype.kind in "fc":
        return args
    return _to(args, get_default_dtype())


def wide_integers(args):
    """Sums and products of integers and bools are int64 (PyTorch's, whatever the width)."""
    dt = args[0].dtype
    if dt.kind not in "biu" or dt == np.int64:
        return args
    return _to(args, np.dtype(np.int64))


def where_operands(args):
    """where(c, a, b): a and b promote, the condition stays bool."""
    return common(args, 1)

