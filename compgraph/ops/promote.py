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
before the forward (and before a lazy graph records the node), so eager, lazy and compiled
graphs see the same dtypes.  Operands of another dtype become `astype` nodes: the forward
and the VJPs only ever see operands of the result dtype, and each gradient is cast back to
its input's dtype by astype's VJP, as in PyTorch.  Operands of one dtype (the
training-loop case) cost one inline test in `apply`.
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


# Each kind carries `ok`: the dtypes that, shared by all operands, need nothing.  `apply`
# tests that inline on the arrays (one dtype, and in `ok`: the training-loop case, about
# 50 ns) and calls the kind only otherwise; the kinds test again, for the lazy graph.
_FLOATS = frozenset(np.dtype(d) for d in (np.float16, np.float32, np.float64, np.complex64,
                                          np.complex128))
_ALL = _FLOATS | frozenset(np.dtype(d) for d in (np.bool_, np.uint8, np.uint16, np.uint32,
                                                 np.uint64, np.int8, np.int16, np.int32,
                                                 np.int64))


def _meta(t):
    v = t._value
    return (v.dtype, v.ndim) if v is not None else (t.dtype, len(t.shape))


def _cast(t, dtype):
    from ..tensor import apply
    from . import OPS
    return apply(OPS["astype"], (t,), {"dtype": dtype})


def _to(args, dtype, first=0):
    return args[:first] + tuple(a if a.dtype == dtype else _cast(a, dtype) for a in args[first:])


def _promoted(args, first=0):
    ops = args[first:]
    d0 = ops[0].dtype
    if all(a.dtype == d0 for a in ops[1:]):
        return args
    return _to(args, result_type([_meta(a) for a in ops]), first)


def common(args):
    """Operands brought to their result dtype (add, mul, comparisons, cat, matmul)."""
    if len(args) == 2:
        va, vb = args[0]._value, args[1]._value
        if va is not None and vb is not None and va.dtype is vb.dtype:
            return args
    return _promoted(args)


def subtraction(args):
    """common, refusing bool operands as PyTorch does (mask - x is almost always a bug:
    ~mask or logical_not is meant).  Bools are not in `ok`, so a float - float step
    never gets here."""
    for a in args:
        if a.dtype.kind == "b":
            from ..errors import DTypeError
            two = all(b.dtype.kind == "b" for b in args)
            raise DTypeError(
                f"sub: subtraction (the `-` operator) with {'two bool tensors' if two else 'a bool tensor'}"
                f" is not supported ({', '.join(str(b.dtype) for b in args)}); "
                + ("use `^` or logical_xor() instead" if two else
                   "to invert a mask use `~` or logical_not(), or convert it first: mask.float()"))
    return common(args)


def same_dtype(name, args):
    """PyTorch's matrix products take no mixed dtypes (float32 @ int64 raises, and so does
    float32 @ float64) and no bools.  Checked by the PyTorch dialect's functions
    (functional.matmul, mm, ...), not by the ops: the DyNet and tutorial dialects multiply
    mixed dtypes with promotion."""
    dts = [a.dtype for a in args]
    if all(d == dts[0] for d in dts[1:]) and dts[0].kind != "b":
        return
    from ..errors import DTypeError, UnsupportedDTypeError
    if any(d.kind == "b" for d in dts):
        if any(0 in tuple(a.shape) for a in args):
            return                     # nothing to multiply: PyTorch's kernel never runs
        raise UnsupportedDTypeError(f"{name}: not implemented for bool operands "
                                    f"({', '.join(map(str, dts))}); convert them first, e.g. .long()")
    raise DTypeError(f"{name}: expected both operands to have the same dtype, got "
                     f"{' and '.join(map(str, dts))}; convert one first, e.g. b.to(a.dtype)")


def require_float(name, t, allow_ints=False):
    """PyTorch's kernels of the activations are for floats only ("not implemented for
    'Long'"); allow_ints: integers pass (relu, hardtanh), bools still do not."""
    dt = getattr(t, "dtype", None)
    if dt is None or dt.kind in "fc" or allow_ints and dt.kind in "iu":
        return
    from ..errors import UnsupportedDTypeError
    raise UnsupportedDTypeError(f"{name}: not implemented for {dt} tensors (as in PyTorch); "
                                "convert it first, e.g. x.float()")


def float_only(name, allow_ints=False):
    """A kind that refuses what require_float refuses and changes nothing else."""
    def kind(args):
        require_float(name, args[0], allow_ints)
        return args
    kind.ok = (_ALL - {np.dtype(np.bool_)}) if allow_ints else _FLOATS
    return kind


def common_float(args):
    """common, then integers and bools to the default float (true division)."""
    va, vb = args[0]._value, args[1]._value
    if va is not None and vb is not None and va.dtype is vb.dtype and va.dtype in _FLOATS:
        return args
    args = _promoted(args)
    if args[0].dtype.kind in "fc":
        return args
    return _to(args, get_default_dtype())


def floating(args):
    """One operand; integers and bools become the default float (exp, sqrt, sigmoid...)."""
    v = args[0]._value
    if (v.dtype if v is not None else args[0].dtype) in _FLOATS:
        return args
    return _to(args, get_default_dtype())


def wide_integers(args):
    """Sums and products of integers and bools are int64 (PyTorch's, whatever the width)."""
    v = args[0]._value
    dt = v.dtype if v is not None else args[0].dtype
    if dt in _FLOATS or dt.kind not in "biu" or dt == np.int64:
        return args
    return _to(args, np.dtype(np.int64))


def where_operands(args):
    """where(c, a, b): a and b promote, the condition stays bool."""
    va, vb = args[1]._value, args[2]._value
    if va is not None and vb is not None and va.dtype is vb.dtype:
        return args
    return _promoted(args, 1)


common.ok = _ALL
subtraction.ok = _ALL - {np.dtype(np.bool_)}
common_float.ok = _FLOATS
floating.ok = _FLOATS
wide_integers.ok = _FLOATS | {np.dtype(np.int64)}
where_operands.ok = None          # the condition is bool, the others not: always the call
