"""Every differentiable function of compgraph, as plain functions over tensors.

Names follow PyTorch where PyTorch has the function, and NumPy's spellings are accepted
too (axis/keepdims beside dim/keepdim; concatenate, expand_dims, permute_dims, ...), because
the VJPs in the op table are written against these names: run on raw arrays they mean
NumPy's functions, run on tensors (create_graph=True) they mean these.

Each function is a line or two over `apply(OP, inputs, attrs)`; the composites (split,
gather, dropout, the losses) are built from table ops and differentiate for free.
"""
import builtins
import collections
import operator
import warnings

import numpy as np

from . import backend, state
from .errors import (ArgumentError, ArgumentValueError, BoundsError, DimError, DTypeError,
                     IntegerDivisionError, ShapeError, TraceError, UnsupportedDTypeError)
from .ops import OPS
from .ops.promote import require_float as _require_float, same_dtype as _same_dtype
from .ops.shape import torch_placement
from .ops.table import fmt, normalize_axis
from .random import generator
from .tensor import (Tensor, _make, _raw_index, apply, as_tensor, from_numpy,  # noqa: F401
                     index_array, tensor)



def _lift(x, like):
    return x if x.__class__ is Tensor or isinstance(x, Tensor) else as_tensor(x, like)


def _pair(a, b):
    """Two operands as tensors; numbers adopt the dtype of the tensor beside them."""
    if not isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            a = as_tensor(a)
            return a, as_tensor(b, a)
        return as_tensor(a, b), b
    return a, (b if isinstance(b, Tensor) else as_tensor(b, a))


def _axis(dim, axis):
    return axis if dim is None else dim


def _keep(keepdim, keepdims):
    return bool(keepdims if keepdim is None else keepdim)


def _unary(op):
    def f(x):
        return apply(op, (_lift(x, None),))
    f.__name__ = f.__qualname__ = op.name
    f.__doc__ = f"Elementwise {op.name} (op table entry {op.name!r})."
    return f


# --- elementwise -----------------------------------------------------------------------------------

def add(a, b, alpha=1):
    a, b = _pair(a, b)
    return apply(OPS["add"], (a, b if alpha == 1 else mul(b, alpha)))


def sub(a, b, alpha=1):
    _no_bool_number("sub", a)
    _no_bool_number("sub", b)
    a, b = _pair(a, b)
    return apply(OPS["sub"], (a, b if alpha == 1 else mul(b, alpha)))


def _no_bool_number(name, x):
    if x.__class__ is builtins.bool:
        raise DTypeError(f"{name}: subtraction (the `-` operator) with a bool is not supported "
                         f"(got {x!r}); use an int or a float, or `~`/logical_not() to invert a mask")


def mul(a, b):
    return apply(OPS["mul"], _pair(a, b))


def div(a, b, *, rounding_mode=None):
    if rounding_mode is not None:
        return div_rounded(a, b, rounding_mode)
    return apply(OPS["div"], _pair(a, b))


def pow(a, b):
    _int_pow_check(a, b)
    return apply(OPS["pow"], _pair(a, b))


def _int_pow_check(a, b):
    """An integer tensor to a negative Python int: PyTorch refuses it (a negative integer
    tensor exponent is computed: 0 for |a| > 1)."""
    if b.__class__ is builtins.int and b < 0 and isinstance(a, Tensor) and a.dtype.kind in "biu":
        raise DTypeError(f"pow: integers to negative integer powers are not allowed "
                                f"({a.dtype} ** {b}); use a float tensor, e.g. x.float() ** {b}")


def maximum(a, b):
    return apply(OPS["maximum"], _pair(a, b))


def minimum(a, b):
    return apply(OPS["minimum"], _pair(a, b))


def where(condition, a, b):
    if not isinstance(a, Tensor) and isinstance(b, Tensor):
        a = as_tensor(a, b)
    a, b = _pair(a, b)
    return apply(OPS["where"], (_lift(condition, None), a, b))


subtract, multiply, divide, true_divide, power = sub, mul, div, div, pow

neg = negative = _unary(OPS["neg"])
exp = _unary(OPS["exp"])
log = _unary(OPS["log"])
log1p = _unary(OPS["log1p"])
sqrt = _unary(OPS["sqrt"])
abs = absolute = _unary(OPS["abs"])
sign = _unary(OPS["sign"])
sin = _unary(OPS["sin"])
cos = _unary(OPS["cos"])
sigmoid = logistic = _unary(OPS["sigmoid"])
tanh = _unary(OPS["tanh"])
relu = _unary(OPS["relu"])
gelu_cdf = _unary(OPS["gelu_cdf"])


def eq(a, b): return apply(OPS["eq"], _pair(a, b))        # noqa: E704
def ne(a, b): return apply(OPS["ne"], _pair(a, b))        # noqa: E704
def lt(a, b): return apply(OPS["lt"], _pair(a, b))        # noqa: E704
def le(a, b): return apply(OPS["le"], _pair(a, b))        # noqa: E704
def gt(a, b): return apply(OPS["gt"], _pair(a, b))        # noqa: E704
def ge(a, b): return apply(OPS["ge"], _pair(a, b))        # noqa: E704


def clamp(x, min=None, max=None):
    if min is None and max is None:
        raise ArgumentError("clamp: give at least one of min and max")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return _clamp_tensors(x, min, max)
    x = _lift(x, None)
    if x.dtype.kind in "biu":            # number bounds promote as PyTorch's numbers do:
        kinds = {b.__class__ for b in (min, max)}    # int64 [1, 2] clamped at 1.5 is float32
        if builtins.float in kinds:
            x = x.astype(backend.get_default_dtype())
        elif x.dtype.kind == "b" and builtins.int in kinds:
            x = x.astype(np.int64)
    return apply(OPS["clip"], (x,), {"min": min, "max": max})


clip = clamp


def leaky_relu(x, negative_slope=0.01):
    return apply(OPS["leaky_relu"], (x,), {"negative_slope": negative_slope})


def elu(x, alpha=1.0):
    return apply(OPS["elu"], (x,), {"alpha": alpha})


def gelu(x, approximate="none"):
    return apply(OPS["gelu"], (x,), {"approximate": approximate})


def softplus(x, beta=1.0, threshold=20.0):
    # threshold is PyTorch's switch to the identity where beta * x > threshold: at the
    # default 20 softplus already equals x in float32, a small threshold changes the result
    _require_float("softplus", x)
    out = apply(OPS["softplus"], (x,)) if beta == 1 else apply(OPS["softplus"], (x * beta,)) / beta
    if threshold >= 20:
        return out
    return where((x * beta) > threshold, x, out)


# --- reductions ------------------------------------------------------------------------------------

def _reduce(name, x, dim, keepdim, axis, keepdims, **extra):
    x = _lift(x, None)
    ax = _axis(dim, axis)
    if isinstance(ax, list):
        ax = tuple(ax)
    normalize_axis(name, ax, x.ndim)   # a clear error for a bad dim, before anything runs
    if not x.ndim:
        ax = None                      # dim 0 or -1 of a 0-d tensor: the whole of it
    return apply(OPS[name], (x,), {"axis": ax, "keepdims": _keep(keepdim, keepdims), **extra})


def sum(x, dim=None, keepdim=None, *, axis=None, keepdims=False, dtype=None):
    out = _reduce("sum", x, dim, keepdim, axis, keepdims)
    return out if dtype is None else out.astype(dtype)


def _floats_only(name, x, cls=DTypeError):
    # PyTorch refuses rather than pick a float dtype for the mean (softmax...) of integers
    if x.__class__ is Tensor and x.dtype.kind not in "fc":
        raise cls(f"{name}(): could not infer output dtype: the input must be a floating "
                  f"point tensor, got {x.dtype}; convert it first (x.float())")


def mean(x, dim=None, keepdim=None, *, axis=None, keepdims=False, dtype=None):
    if dtype is not None:
        x = _lift(x, None).astype(dtype)
    _floats_only("mean", x)
    return _reduce("mean", x, dim, keepdim, axis, keepdims)


def prod(x, dim=None, keepdim=None, *, axis=None, keepdims=False):
    return _reduce("prod", x, dim, keepdim, axis, keepdims)


def logsumexp(x, dim=None, keepdim=None, *, axis=None, keepdims=False):
    if dim is None and axis is None:     # PyTorch has no all-elements form
        raise ArgumentError("logsumexp() missing 1 required positional argument: 'dim' (give "
                            "the dims to reduce, e.g. logsumexp(x, dim=tuple(range(x.ndim))))")
    return _reduce("logsumexp", x, dim, keepdim, axis, keepdims)


def _spread_reduce(name, op, x, dim, unbiased, keepdim, correction, axis, keepdims, stacklevel=3):
    """var / std (op) of x, warning once from the user's line where no degrees of freedom
    are left (the result is nan there), as PyTorch does."""
    c = correction if correction is not None else (0 if unbiased is False else 1)
    _floats_only(name, x)
    out = _reduce(op, x, dim, keepdim, axis, keepdims, correction=c)
    n = x.numel() // builtins.max(out.numel(), 1) if out.numel() else 0
    if n <= c:
        # one text per function, so that a loop warns once per line, as PyTorch's
        warnings.warn(f"{name}(): no degrees of freedom are left (the correction is at least "
                      "the number of values reduced): the result is nan; reduce over more "
                      "values or use correction=0", UserWarning, stacklevel=stacklevel)
    return out


def var(x, dim=None, unbiased=None, keepdim=None, *, correction=None, axis=None, keepdims=False):
    return _spread_reduce("var", "var", x, dim, unbiased, keepdim, correction, axis, keepdims)


def std(x, dim=None, unbiased=None, keepdim=None, *, correction=None, axis=None, keepdims=False):
    return _spread_reduce("std", "std", x, dim, unbiased, keepdim, correction, axis, keepdims)


MinMax = collections.namedtuple("MinMax", ["values", "indices"])


def _extreme(name, argname, x, dim, keepdim, axis, keepdims):
    if isinstance(dim, Tensor):        # torch.max(a, b) is the elementwise maximum
        return (maximum if name == "max" else minimum)(x, dim)
    # PyTorch reads axis= as dim=: max(axis=1) is (values, indices) too
    dim, keepdim = _axis(dim, axis), _keep(keepdim, keepdims)
    if dim is None or isinstance(dim, (tuple, list)):   # several dims (NumPy's): values only
        return _reduce(name, x, dim, keepdim, None, False)
    if not x.ndim:                     # dim 0 or -1 of a 0-d tensor: itself, at index 0
        normalize_axis(name, dim, 0)
        return MinMax(clone(x), _make(np.zeros((), np.int64)))
    # along a dim the gradient goes to the one element `indices` names, as in PyTorch
    # (ties share it only in the full reduction, max(x), which has no index to name)
    indices = _reduce(argname, x, dim, True, None, False)
    ax = normalize_axis(name, dim, x.ndim)[0]
    values = take_along_axis(x, indices._value, ax)
    if not keepdim:
        values = squeeze(values, ax)
        indices = squeeze(indices, ax)
    return MinMax(values, indices)


def max(x, dim=None, keepdim=None, *, axis=None, keepdims=False):
    """max(x) -> the largest value; max(x, dim) -> (values, indices); max(a, b) -> maximum."""
    return _extreme("max", "argmax", x, dim, keepdim, axis, keepdims)


def min(x, dim=None, keepdim=None, *, axis=None, keepdims=False):
    return _extreme("min", "argmin", x, dim, keepdim, axis, keepdims)


amax = lambda x, dim=None, keepdim=False, *, axis=None, keepdims=False: _reduce(  # noqa: E731
    "max", x, dim, keepdim, axis, keepdims)
amin = lambda x, dim=None, keepdim=False, *, axis=None, keepdims=False: _reduce(  # noqa: E731
    "min", x, dim, keepdim, axis, keepdims)


def argmax(x, dim=None, keepdim=None, *, axis=None, keepdims=False):
    return _reduce("argmax", x, dim, keepdim, axis, keepdims)


def argmin(x, dim=None, keepdim=None, *, axis=None, keepdims=False):
    return _reduce("argmin", x, dim, keepdim, axis, keepdims)


def softmax(x, dim=-1, *, axis=None):
    x = _lift(x, None)
    if x.dtype.kind not in "fc" and 0 not in tuple(x.shape):   # empty integers pass (no kernel runs)
        _floats_only("softmax", x, UnsupportedDTypeError)
    return apply(OPS["softmax"], (x,), {"axis": _axis(axis, dim)})


def log_softmax(x, dim=-1, *, axis=None):
    x = _lift(x, None)
    if x.dtype.kind not in "fc" and 0 not in tuple(x.shape):
        _floats_only("log_softmax", x, UnsupportedDTypeError)
    return apply(OPS["log_softmax"], (x,), {"axis": _axis(axis, dim)})


logsoftmax = log_softmax


# --- products --------------------------------------------------------------------------------------

def _product(name, a, b):
    args = _pair(a, b)
    _same_dtype(name, args)
    return apply(OPS[name], args)


def matmul(a, b):
    return _product("matmul", a, b)


def mm(a, b):
    return _product("mm", a, b)


def mv(m, v):
    return _product("mv", m, v)


def dot(a, b):
    return _product("dot", a, b)


def outer(a, b):
    return apply(OPS["outer"], _pair(a, b))


ger = outer


def einsum(subscripts, *operands):
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    ops = tuple(_lift(o, None) for o in operands)
    if einsum_needs_rewrite(subscripts):
        subscripts, ops = einsum_explicit(subscripts, ops)     # '...', diagonals
    return apply(OPS["einsum"], _einsum_broadcast(subscripts, ops), {"subscripts": subscripts})


def _einsum_broadcast(subscripts, ops):
    """An index of size 1 in one operand broadcasts against its size elsewhere (0 too), as
    in PyTorch: those operands are expanded first, so the op sees equal sizes and the
    expansion's gradient sums back."""
    from .ops.linalg import parse_einsum
    ins, _ = parse_einsum(subscripts, len(ops))
    if builtins.any(len(t) != o.ndim for t, o in zip(ins, ops)):
        return ops                                      # the op's shape rule says what is wrong
    sizes = {}
    for term, o in zip(ins, ops):
        for c, n in zip(term, o.shape):
            if n != 1:
                sizes.setdefault(c, n)
    out = []
    for term, o in zip(ins, ops):
        want = tuple(sizes.get(c, 1) if n == 1 else n for c, n in zip(term, o.shape))
        out.append(o if want == tuple(o.shape) else broadcast_to(o, want))
    return tuple(out)


def tensordot(a, b, dims=2, *, axes=None):
    """Contract a's axes dims[0] with b's dims[1] (an int n means a's last n with b's first n).

    This is the tensor mode-n product of the lecture notes: C[m,r,k] = sum_n A[m,n,r] B[n,k]
    is tensordot(A, B, dims=([1], [0])).
    """
    a, b = _pair(a, b)
    spec = dims if axes is None else axes
    if isinstance(spec, int):
        ax_a, ax_b = list(range(a.ndim - spec, a.ndim)), list(range(spec))
    else:
        ax_a, ax_b = ([spec[0]] if isinstance(spec[0], int) else list(spec[0]),
                      [spec[1]] if isinstance(spec[1], int) else list(spec[1]))
    ax_a = [d % a.ndim for d in ax_a]
    ax_b = [d % b.ndim for d in ax_b]
    if len(ax_a) != len(ax_b) or builtins.any(a.shape[i] != b.shape[j] for i, j in zip(ax_a, ax_b)):
        raise ShapeError(f"tensordot: dims {ax_a} of {fmt(a.shape)} do not match dims {ax_b} "
                         f"of {fmt(b.shape)}")
    letters = iter("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    sa = [next(letters) for _ in range(a.ndim)]
    sb = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(ax_a, ax_b):
        sb[j] = sa[i]
    out = [c for i, c in enumerate(sa) if i not in ax_a] + [c for j, c in enumerate(sb) if j not in ax_b]
    return einsum("".join(sa) + "," + "".join(sb) + "->" + "".join(out), a, b)


# --- shapes ----------------------------------------------------------------------------------------

def _shape_args(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _ints(name, sizes, what="size"):
    """Sizes as Python ints; a float (2.5) is refused rather than truncated to 2."""
    if builtins.all(d.__class__ is builtins.int for d in sizes):
        return tuple(sizes)
    out = []
    for d in sizes:
        if isinstance(d, builtins.bool) or isinstance(d, (builtins.float, np.floating)):
            raise ArgumentError(f"{name}: {what} must be integers, got {d!r} in {tuple(sizes)}")
        try:
            out.append(operator.index(d))
        except TypeError:
            raise ArgumentError(f"{name}: {what} must be integers, got {type(d).__name__} "
                                f"{d!r}") from None
    return tuple(out)


def _size(name, size):
    """A creation function's shape: integers, none negative."""
    size = _ints(name, _shape_args(size))
    if builtins.any(d < 0 for d in size):
        raise ShapeError(f"{name}: sizes must be non-negative, got {fmt(size)}")
    return size


def _needs_size(name, size):
    """f() with no size at all: PyTorch refuses it (f(()) is a 0-d tensor)."""
    if not size:
        raise ArgumentError(f"{name}() missing 1 required positional argument: 'size' (a "
                            f"0-d tensor is {name}(()))")


def _dim(name, d, ndim):
    """One dim as a non-negative int; a 0-d tensor takes dims -1 and 0, as in PyTorch."""
    if isinstance(d, builtins.bool) or not isinstance(d, (builtins.int, np.integer)):
        raise ArgumentError(f"{name}: dim must be an int, got {type(d).__name__} {d!r}")
    n = builtins.max(ndim, 1)
    if not -n <= d < n:
        raise DimError(f"{name}: dim {d} is out of range for a tensor with {ndim} "
                       f"dimension(s) (use {-n}..{n - 1})")
    return builtins.int(d) % n


def reshape(x, *shape):
    shape = _ints("reshape", _shape_args(shape), "sizes")
    x = _lift(x, None)
    if shape == x.shape:
        return x
    return apply(OPS["reshape"], (x,), {"shape": shape})


def view(x, *shape):
    """view(*shape) is reshape; view(dtype) reinterprets the bytes, as PyTorch's (the last
    dim scales by the ratio of the item sizes; the result has no gradient)."""
    if len(shape) == 1 and not isinstance(shape[0], (builtins.int, np.integer, tuple, list)):
        dt = backend.as_dtype(shape[0])
        x._concrete("view(dtype)")
        v = x._value
        if dt.itemsize != v.dtype.itemsize and (not v.ndim or (v.shape[-1] * v.dtype.itemsize) % dt.itemsize):
            raise ShapeError(f"view: to view a {v.dtype} tensor of shape {fmt(v.shape)} as "
                             f"{dt}, its last dim's size in bytes must divide by {dt.itemsize}")
        return _make(np.ascontiguousarray(v).view(dt))
    return reshape(x, *shape)


def flatten(x, start_dim=0, end_dim=-1):
    s = x.shape
    a, b = _dim("flatten", start_dim, len(s)), _dim("flatten", end_dim, len(s))
    if a > b:
        raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} "
                         f"for a tensor of shape {fmt(s)}")
    if not s:
        return reshape(x, (1,))
    return reshape(x, s[:a] + (int(np.prod(s[a:b + 1])),) + s[b + 1:])


def squeeze(x, dim=None, *, axis=None):
    d = _axis(dim, axis)
    s = x.shape
    if d is None:
        return reshape(x, tuple(n for n in s if n != 1))
    dims = normalize_axis("squeeze", d, len(s))
    return reshape(x, tuple(n for i, n in enumerate(s) if not (i in dims and n == 1)))


def unsqueeze(x, dim):
    s = x.shape
    d = normalize_axis("unsqueeze", dim, len(s) + 1)[0]
    return reshape(x, s[:d] + (1,) + s[d:])


def expand_dims(x, axis):
    return unsqueeze(x, axis)


def permute_dims(x, axes):
    return apply(OPS["permute_dims"], (_lift(x, None),), {"axes": tuple(axes)})


def permute(x, *dims):
    return permute_dims(x, _shape_args(dims))


def transpose(x, dim0=-2, dim1=-1):
    """Swap two dimensions (PyTorch's transpose; for a matrix, its transpose)."""
    n = x.ndim
    d0, d1 = _dim("transpose", dim0, n), _dim("transpose", dim1, n)
    if n < 2:
        return x
    axes = list(range(n))
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return permute_dims(x, axes)


swapaxes = transpose


def t(x):
    if x.ndim > 2:
        raise ShapeError(f"t: expects a tensor with <= 2 dimensions, got shape {fmt(x.shape)} "
                         f"({x.ndim}-D); use transpose(dim0, dim1) or permute(...)")
    return transpose(x, 0, 1) if x.ndim == 2 else x


def broadcast_to(x, shape):
    return apply(OPS["broadcast_to"], (_lift(x, None),), {"shape": tuple(shape)})


def expand(x, *sizes):
    _needs_size("expand", sizes)
    sizes = _ints("expand", _shape_args(sizes), "sizes")
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ShapeError(f"expand: {fmt(sizes)} has fewer dimensions than the tensor's shape "
                         f"{fmt(x.shape)}")
    for i, d in enumerate(sizes):
        if d == -1 and i < lead:
            raise ShapeError(f"expand: -1 keeps an existing dimension, but dim {i} of "
                             f"{fmt(sizes)} is a new leading one for shape {fmt(x.shape)}; "
                             "give its size")
        if d < -1:
            raise ShapeError(f"expand: sizes must be non-negative (or -1 to keep a "
                             f"dimension), got {fmt(sizes)}")
    shape = tuple(x.shape[i - lead] if d == -1 else d for i, d in enumerate(sizes))
    return broadcast_to(x, shape)


def cat(tensors, dim=0, *, axis=None):
    tensors = tuple(_lift(x, None) for x in tensors)
    if not tensors:
        raise ArgumentError("cat: expected a non-empty list of tensors")
    return apply(OPS["concatenate"], tensors, {"axis": _axis(axis, dim)})


concatenate = concat = cat


def stack(tensors, dim=0, *, axis=None):
    tensors = tuple(_lift(x, None) for x in tensors)
    if not tensors:
        raise ArgumentError("stack: expected a non-empty list of tensors")
    return apply(OPS["stack"], tensors, {"axis": _axis(axis, dim)})


def _slice_along(x, dim, start, stop):
    d = dim % x.ndim
    return getitem(x, (slice(None),) * d + (slice(start, stop),))


def split(x, split_size_or_sections, dim=0):
    """PyTorch's split: an int is the size of each piece, a list the sizes of the pieces."""
    dim = _dim("split", dim, x.ndim)
    n = x.shape[dim]
    if isinstance(split_size_or_sections, (builtins.int, np.integer)):
        k = split_size_or_sections
        if k < 0 or (k == 0 and n):
            raise ShapeError(f"split: split_size must be positive (0 only for an empty dim), "
                             f"got {k} for dim {dim} of length {n}")
        if k == 0 or n == 0:          # an empty dim splits into one empty piece
            return (x,)
        sizes = [k] * (n // k) + ([n % k] if n % k else [])
    else:
        sizes = list(split_size_or_sections)
        if builtins.sum(sizes) != n:
            raise ShapeError(f"split: sizes {sizes} add up to {builtins.sum(sizes)}, but dim {dim} "
                             f"has length {n}")
    out, start = [], 0
    for k in sizes:
        out.append(_slice_along(x, dim, start, start + k))
        start += k
    return tuple(out)


def chunk(x, chunks, dim=0):
    if isinstance(chunks, builtins.bool) or not isinstance(chunks, (builtins.int, np.integer)):
        raise ArgumentError(f"chunk: chunks must be an int, got {type(chunks).__name__} {chunks!r}")
    if chunks <= 0:
        raise ShapeError(f"chunk: chunks must be greater than 0, got {chunks}")
    d = _dim("chunk", dim, x.ndim)
    n = x.shape[d]
    if n == 0:                        # as PyTorch: `chunks` empty pieces
        return tuple(_slice_along(x, d, 0, 0) for _ in builtins.range(chunks))
    return split(x, -(-n // chunks), dim)


def getitem(x, index):
    index = _raw_index(index)
    out = apply(OPS["getitem"], (x,), {"index": index})
    # x[:, 1, :, idx]: PyTorch's placement of the index dims is NumPy's, permuted
    perm = torch_placement(index, x.ndim) if len(index) > 2 else None
    return out if perm is None else permute_dims(out, perm)


def _placed_value(value, index, shape):
    """The value of x[index] = value (x of `shape`) in the layout NumPy assigns in, where
    PyTorch's placement of the index dims differs (see torch_placement)."""
    perm = torch_placement(index, len(shape)) if len(index) > 2 else None
    if perm is None or np.ndim(value._value if isinstance(value, Tensor) else value) == 0:
        return value
    sel = np.broadcast_to(np.zeros((), np.int8), shape)[index].shape
    pt = tuple(sel[p] for p in perm)
    inverse = tuple(int(i) for i in np.argsort(perm))
    if isinstance(value, Tensor):
        return permute_dims(broadcast_to(value, pt), inverse)
    return np.transpose(np.broadcast_to(value, pt), inverse)


def index_put(x, value, index):
    """x with x[index] replaced by value, as a new node (what x[index] = value records)."""
    index = _raw_index(index)
    return apply(OPS["index_put"], (x, _lift(_placed_value(value, index, x.shape), x)),
                 {"index": index})


def _along_index(indices, axis, shape):
    """The advanced index that picks indices[...] along `axis` (take_along_axis as getitem)."""
    nd = len(shape)
    idx = []
    for d in builtins.range(nd):
        if d == axis:
            idx.append(indices)
        else:
            r = np.arange(indices.shape[d]).reshape([-1 if k == d else 1 for k in builtins.range(nd)])
            idx.append(r)
    return tuple(idx)


def take_along_axis(x, indices, axis):
    ind = index_array(indices)
    return getitem(x, _along_index(ind, axis % x.ndim, x.shape))


def _check_index_values(name, ind, dim, size):
    if ind.dtype.kind not in "iu":
        raise ArgumentError(f"{name}: index must be an integer tensor, got {ind.dtype}")
    if ind.size and (ind.min() < 0 or ind.max() >= size):
        bad = ind.min() if ind.min() < 0 else ind.max()
        raise BoundsError(f"{name}: index {bad} is out of bounds for dim {dim} with size "
                          f"{size} (use 0..{size - 1})")


def _index_along(name, x, dim, index):
    """gather's and scatter's index checked against x: same ndim, no larger than x outside
    dim, values inside dim's range.  Returns (dim, index array)."""
    d = _dim(name, dim, x.ndim)
    ind = index_array(index)
    if ind.ndim != x.ndim:
        raise ShapeError(f"{name}: index must have the same number of dimensions as the input: "
                         f"index {fmt(ind.shape)}, input {fmt(x.shape)}")
    if builtins.any(i != d and ind.shape[i] > x.shape[i] for i in builtins.range(x.ndim)):
        raise ShapeError(f"{name}: index of shape {fmt(ind.shape)} must be no larger than the "
                         f"input {fmt(x.shape)} in every dimension but dim {d}")
    _check_index_values(name, ind, d, x.shape[d] if x.ndim else 1)
    return d, ind


def gather(x, dim, index):
    """out[i][j] = x[i][index[i][j]] for dim=1 (PyTorch's gather)."""
    d, ind = _index_along("gather", x, dim, index)
    if not x.ndim:                      # a 0-d input and a 0-d index 0: the input itself
        return getitem(x, (Ellipsis,))
    return take_along_axis(x, ind, d)


def index_select(x, dim, index):
    d = _dim("index_select", dim, x.ndim)
    ind = index_array(index)
    if ind.ndim > 1:
        raise ShapeError(f"index_select: index must be a vector (0-D or 1-D), got shape "
                         f"{fmt(ind.shape)}")
    _check_index_values("index_select", ind, d, x.shape[d] if x.ndim else 1)
    return getitem(x, (slice(None),) * d + (ind.reshape(-1),))


def pick(x, index, dim=0):
    """DyNet's pick: the element(s) at `index` along `dim`."""
    ind = index_array(index) if isinstance(index, (Tensor, list, np.ndarray)) else index
    return getitem(x, (slice(None),) * (dim % x.ndim) + (ind,))


def embedding(input, weight):
    """Rows of `weight` for the integer ids in `input` (repeated ids accumulate gradient)."""
    if isinstance(input, Tensor) and input._graph is not None and hasattr(input._graph, "lookup"):
        return input._graph.lookup(weight, input)    # ids of an autobatch graph: batch there
    ids = _class_ids("embedding", index_array(input), weight.shape[0])
    return getitem(weight, (ids,))


def one_hot(labels, num_classes=-1):
    """Integer labels as one-hot int64 rows (PyTorch's F.one_hot); no gradient."""
    ids = labels._value if isinstance(labels, Tensor) else np.asarray(labels)
    if isinstance(labels, Tensor) and ids.dtype != np.int64:
        raise DTypeError(f"one_hot: labels must be an int64 tensor (as in PyTorch), got "
                         f"{ids.dtype}; convert them first: labels.long()")
    if num_classes == -1 and not ids.size:
        raise ArgumentValueError("one_hot: cannot infer the number of classes from empty "
                                 "labels; pass num_classes")
    n = int(ids.max()) + 1 if num_classes == -1 else num_classes
    if ids.size and (ids.min() < 0 or ids.max() >= n):
        raise ShapeError(f"one_hot: labels must lie in 0..{n - 1}, got {int(ids.min())}..{int(ids.max())}")
    return _make((ids[..., None] == np.arange(n)).astype(np.int64))


def clone(x):
    return apply(OPS["copy"], (x,))


def astype(x, dtype):
    return apply(OPS["astype"], (_lift(x, None),), {"dtype": backend.as_dtype(dtype)})


def to_device(x, device):
    return apply(OPS["to_device"], (x,), {"device": device})


# --- layers as functions ---------------------------------------------------------------------------

def linear(x, weight, bias=None):
    """x @ weight.T + bias, as torch.nn.functional.linear: one node with its bias."""
    if bias is None:
        return matmul(x, transpose(weight, 0, 1))
    return apply(OPS["linear"], (x, weight, bias))


def dropout(x, p=0.5, training=True, *, mask_shape=None, name="dropout"):
    """Zero each element with probability p and scale the rest by 1/(1-p); seeded by
    manual_seed.  mask_shape (broadcast over x) drops whole channels (dropout2d)."""
    if not 0 <= p <= 1:
        raise ArgumentError(f"{name}: p must be in [0, 1], got {p}")
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0
    if state.TRACE is not None:
        raise TraceError(f"compile: {name} draws new random numbers on every call, which a "
                         f"replayed trace would freeze; call {name} outside the compiled "
                         "function, or compile the model in eval mode")
    keep = generator().random(x.shape if mask_shape is None else mask_shape) >= p
    # scaled in x's dtype directly: no float64 temporary (the kept scale 1/(1-p) rounds once)
    mask = np.multiply(keep, 1 / (1 - p), dtype=x.dtype) if x.dtype.kind == "f" \
        else (keep / (1 - p)).astype(x.dtype)
    return x * as_tensor(mask)


# --- losses ----------------------------------------------------------------------------------------

def _reduction(per, reduction):
    if reduction == "mean":
        return mean(per)
    if reduction == "sum":
        return sum(per)
    if reduction == "none":
        return per
    raise ArgumentError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _same_shape(name, a, b):
    if tuple(a.shape) != tuple(b.shape):
        raise ShapeError(f"{name}: input of shape {fmt(a.shape)} and target of shape "
                         f"{fmt(b.shape)} must have the same shape")


def _broadcast_target(name, input, target, stacklevel=3):
    """The regression losses of PyTorch (mse, l1, smooth l1, huber) broadcast a target of
    another shape, warning that it is likely a mistake ((4, 1) against (4,) is (4, 4))."""
    input, target = _pair(input, target)
    a, b = tuple(input.shape), tuple(target.shape)
    if a == b:
        return input, target
    try:
        shape = np.broadcast_shapes(a, b)
    except ValueError:
        raise ShapeError(f"{name}: target of shape {fmt(b)} does not broadcast against input "
                         f"of shape {fmt(a)}; give both the same shape") from None
    warnings.warn(f"{name}: the target's shape {fmt(b)} differs from the input's {fmt(a)}; both "
                  f"are broadcast to {fmt(shape)}, which is likely not meant: give them the "
                  "same shape", UserWarning, stacklevel=stacklevel)
    return input, target


def mse_loss(input, target, reduction="mean"):
    input, target = _broadcast_target("mse_loss", input, target)
    d = input - target
    return _reduction(d * d, reduction)


def l2_loss(input, target, reduction="sum"):
    """The lecture's error: 1/2 (t - y)^2, summed by default."""
    input, target = _pair(input, target)
    _same_shape("l2_loss", input, target)
    d = target - input
    return _reduction(d * d * 0.5, reduction)


# shared attribute dicts: a lazy graph memoizes a node's batching key on its dict's identity
_REDUCTION = {r: {"reduction": r} for r in ("mean", "sum", "none")}


def _class_ids(name, ids, n_classes, ignore=None):
    """Check that integer class ids (or embedding rows) lie in 0..n-1 (or equal `ignore`):
    NumPy would read -1 as the last class and return a number instead of an error."""
    if ids.dtype.kind not in "iu":
        raise DTypeError(f"{name}: class indices must be integers, got {ids.dtype}")
    if ids.size:
        lo, hi = ids.min(), ids.max()
        if lo < 0 or hi >= n_classes:
            bad = (ids < 0) | (ids >= n_classes)
            if ignore is not None:
                bad &= ids != ignore
            if bad.any():
                raise BoundsError(f"{name}: index {int(ids[bad].flat[0])} is out of range for "
                                  f"{n_classes} classes (valid: 0..{n_classes - 1})")
    return ids


def cross_entropy(input, target, reduction="mean"):
    """Softmax cross-entropy from logits; target: class indices or class probabilities."""
    target = target if isinstance(target, Tensor) else as_tensor(np.asarray(target))
    if target.dtype.kind in "iub" and target._value is not None and input.ndim:
        _class_ids("cross_entropy", target._value, input.shape[-1])
    elif target.dtype.kind == "f" and tuple(target.shape) != tuple(input.shape):
        # the shape rule sees shapes only; a float target of the indices' shape would be
        # read as probabilities and give a number without meaning
        raise DTypeError(f"cross_entropy: a float target is read as class probabilities and "
                         f"must have the logits' shape {fmt(input.shape)}, got {fmt(target.shape)}; "
                         f"for class indices of shape {fmt(input.shape[:-1])} use integers "
                         "(target.long())")
    attrs = _REDUCTION.get(reduction)
    if attrs is None:
        attrs = {"reduction": reduction}
    return apply(OPS["cross_entropy"], (input, target), attrs)


def nll_loss(input, target, reduction="mean"):
    """Negative log-likelihood of class indices under log-probabilities `input`."""
    ids = _class_ids("nll_loss", index_array(target), input.shape[-1] if input.ndim else 0)
    if input.ndim == 1:
        picked = getitem(input, (ids,))
    else:
        picked = getitem(input, (np.arange(input.shape[0]), ids))
    return _reduction(-picked, reduction)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    input, target = _pair(input, target)
    _same_shape("binary_cross_entropy", input, target)
    v = input._value
    if v is not None and v.size and not (v.min() >= 0 and v.max() <= 1):   # NaN fails too
        raise ArgumentValueError(f"binary_cross_entropy: all elements of input should be between "
                                 f"0 and 1 (probabilities), got values from {v.min()} to "
                                 f"{v.max()}; for logits use binary_cross_entropy_with_logits")
    per = apply(OPS["binary_cross_entropy"], (input, target))
    if weight is not None:
        per = per * weight
    return _reduction(per, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean"):
    input, target = _pair(input, target)
    _same_shape("binary_cross_entropy_with_logits", input, target)
    # log(1 + e^-|x|) + max(x, 0) - x t: stable for any x
    per = softplus(-abs(input)) + relu(input) - input * target
    if weight is not None:
        per = per * weight
    return _reduction(per, reduction)


def hinge_loss(scores, y, margin=1.0, reduction="mean"):
    """max(0, margin - y * s) for labels y in {-1, +1}."""
    scores, y = _pair(scores, y)
    return _reduction(relu(margin - y * scores), reduction)


# --- creation --------------------------------------------------------------------------------------

def _new(array, requires_grad, device):
    if device is not None:
        array = backend.to_device(array, backend.normalize_device(device))
    t = _make(array)
    return t.requires_grad_(requires_grad) if requires_grad else t


def _dt(dtype, default=None):
    return backend.as_dtype(dtype) or default or backend.get_default_dtype()


def zeros(*size, dtype=None, device=None, requires_grad=False):
    _needs_size("zeros", size)
    return _new(np.zeros(_size("zeros", size), _dt(dtype)), requires_grad, device)


def ones(*size, dtype=None, device=None, requires_grad=False):
    _needs_size("ones", size)
    return _new(np.ones(_size("ones", size), _dt(dtype)), requires_grad, device)


def empty(*size, dtype=None, device=None, requires_grad=False):
    _needs_size("empty", size)
    _size("empty", size)
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    if dtype is None and isinstance(fill_value, (bool, int)) and not isinstance(fill_value, float):
        dtype = np.bool_ if isinstance(fill_value, bool) else np.int64
    return _new(np.full(_size("full", (size,) if not isinstance(size, (tuple, list)) else size),
                        fill_value, _dt(dtype)), requires_grad, device)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ShapeError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise ShapeError(f"arange: the bounds {start}..{end} and the step {step} disagree in "
                         "sign (the range would be empty)")
    ints = builtins.all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    return _new(np.arange(start, end, step, dtype=_dt(dtype, np.dtype(np.int64) if ints else None)),
                requires_grad, device)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    (steps,) = _size("linspace", (steps,))
    dt = _dt(dtype)
    if dt.kind == "b" and steps <= 1:            # PyTorch's kernel only runs for 2+ points
        return _new(np.full(steps, start).astype(dt), requires_grad, device)
    if dt.kind == "b":
        raise UnsupportedDTypeError("linspace: not implemented for dtype bool (as in PyTorch); "
                                    "make it in an integer or float dtype and compare, e.g. "
                                    "linspace(...) > 0")
    if dt.kind not in "iu":
        return _new(np.linspace(start, end, steps, dtype=dt), requires_grad, device)
    # integers as PyTorch makes them (NumPy rounds toward -inf): the ends converted toward
    # zero, the points computed in float64 from the nearer end, each truncated toward zero
    lo, hi = builtins.int(start), builtins.int(end)
    if steps == 1:
        return _new(np.array([lo], dt), requires_grad, device)
    i = np.arange(steps)
    step = (hi - lo) / (steps - 1)
    points = np.where(i < steps // 2, lo + step * i, hi - step * (steps - 1 - i))
    return _new(np.trunc(points).astype(dt), requires_grad, device)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    _size("eye", (n,) if m is None else (n, m))
    return _new(np.eye(n, m, dtype=_dt(dtype)), requires_grad, device)


def _like(fn):
    def like(x, dtype=None, device=None, requires_grad=False, **kw):
        return fn(tuple(x.shape), **kw, dtype=dtype or x.dtype, device=device or x.device,
                  requires_grad=requires_grad)
    like.__name__ = fn.__name__ + "_like"
    return like


# rand, randn, randint, randperm and their _like forms live in compgraph.sampling
zeros_like, ones_like, empty_like = _like(zeros), _like(ones), _like(empty)


def full_like(x, fill_value, dtype=None, device=None, requires_grad=False):
    return full(x.shape, fill_value, dtype=dtype or x.dtype, device=device or x.device,
                requires_grad=requires_grad)


def numel(x):
    return x.numel()


def is_tensor(x):
    return isinstance(x, Tensor)


# --- more of PyTorch's surface: integer and logical ops, rounding, norms, scans, sorting ---------
# (compositions of table ops where one exists; the table's new primitives otherwise)

def _integral(name, *xs):
    for x in xs:
        if x.dtype.kind not in "biu":
            raise UnsupportedDTypeError(f"{name}: only integer and bool tensors, got {x.dtype} "
                                        "(for floats use a comparison, or logical_and/logical_or)")


def _bitwise(name):
    def f(input, other):
        a, b = _pair(input, other)
        _integral(name, a, b)
        return apply(OPS[name], (a, b))
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Elementwise {name} of bool or integer tensors (no gradient)."
    return f


bitwise_and, bitwise_or, bitwise_xor = (_bitwise(n) for n in ("bitwise_and", "bitwise_or", "bitwise_xor"))


def bitwise_not(input):
    x = _lift(input, None)
    _integral("bitwise_not", x)
    return apply(OPS["bitwise_not"], (x,))


def _truth(x):
    x = _lift(x, None)
    return x if x.dtype.kind == "b" else ne(x, 0)


def _truths(name, input, other):
    """Both operands of logical_and/or/xor: tensors only, as in PyTorch (a number there is
    refused, not read as a truth value)."""
    for what, x in (("input", input), ("other", other)):
        if not isinstance(x, Tensor):
            raise ArgumentError(f"{name}: argument {what!r} must be a Tensor, got "
                                f"{type(x).__name__} {x!r}; wrap it: tensor({x!r})")
    return _truth(input), _truth(other)


def logical_and(input, other):
    return apply(OPS["bitwise_and"], _truths("logical_and", input, other))


def logical_or(input, other):
    return apply(OPS["bitwise_or"], _truths("logical_or", input, other))


def logical_xor(input, other):
    return apply(OPS["bitwise_xor"], _truths("logical_xor", input, other))


def logical_not(input):
    return apply(OPS["bitwise_not"], (_truth(input),))


def _no_integer_zero(name, a, b):
    # NumPy gives 0 with a warning; PyTorch (and Python) refuse integer division by zero
    v = b._value
    if v is not None and a.dtype.kind in "biu" and v.dtype.kind in "biu" and bool((v == 0).any()):
        raise IntegerDivisionError(f"{name}: integer division by zero")


def floor_divide(input, other):
    """input // other, rounded toward -inf (no gradient: it is a step function)."""
    a, b = _pair(input, other)
    _no_integer_zero("floor_divide", a, b)
    return apply(OPS["floor_divide"], (a, b))


def remainder(input, other):
    """input % other with the sign of other, as Python's %; a gradient flows to both."""
    a, b = _pair(input, other)
    _no_integer_zero("remainder", a, b)
    return apply(OPS["remainder"], (a, b))


floor = _unary(OPS["floor"])
ceil = _unary(OPS["ceil"])
trunc = fix = _unary(OPS["trunc"])
isnan = _unary(OPS["isnan"])
isinf = _unary(OPS["isinf"])
isfinite = _unary(OPS["isfinite"])


def round(input, decimals=0):
    x = _lift(input, None)
    return apply(OPS["round"], (x,), {"decimals": decimals})


def square(input):
    x = _lift(input, None)
    if x.dtype.kind == "b":            # PyTorch's square is pow(x, 2): of bools, int64
        x = x.astype(np.int64)
    return x * x


def rsqrt(input):
    return 1 / sqrt(input)


def any(input, dim=None, keepdim=False, *, axis=None, keepdims=False):
    """True where any element along dim is nonzero: a bool tensor, as torch.any."""
    return _reduce("any", input, dim, keepdim, axis, keepdims)


def all(input, dim=None, keepdim=False, *, axis=None, keepdims=False):
    return _reduce("all", input, dim, keepdim, axis, keepdims)


def _clamp_tensors(x, min, max):
    """clamp with tensor bounds: where, not maximum/minimum, so that x keeps its gradient
    when it equals a bound (PyTorch's rule) instead of sharing it; max wins over min."""
    x = _lift(x, None)
    out = x
    if min is not None:
        lo = _lift(min, x)
        out = where(lt(out, lo), lo, out)
    if max is not None:
        hi = _lift(max, x)
        out = where(gt(out, hi), hi, out)
    return out


def clamp_min(input, min):
    return clamp(input, min=min)


def clamp_max(input, max):
    return clamp(input, max=max)


def _norm_impl(name, x, ord, dim, keepdim, dtype):
    x = _lift(x, None)
    if dtype is not None:
        x = x.astype(dtype)
    if x.dtype.kind not in "fc":
        raise DTypeError(f"{name}: expected a floating-point tensor, got {x.dtype} "
                         "(convert it with .float())")
    if isinstance(ord, str) or isinstance(ord, builtins.bool) or not isinstance(ord, (builtins.int, builtins.float)):
        raise ArgumentError(f"{name}: ord must be a number (2, 1, inf, 0, ...), got {ord!r}")
    if isinstance(dim, list):
        dim = tuple(dim)
    normalize_axis(name, dim, x.ndim)
    return apply(OPS["vector_norm"], (x,), {"ord": builtins.float(ord) if ord not in (0, 1, 2) else ord,
                                             "axis": dim, "keepdims": builtins.bool(keepdim)})


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """torch.norm / Tensor.norm: the vector p-norm over dim (all elements by default);
    'fro' is the 2-norm of the elements.  The gradient at the zero vector is 0."""
    if p == "fro" or p is None:
        p = 2
    elif p == "nuc":
        raise ArgumentError("norm: the nuclear norm (p='nuc') is not supported; "
                            "vector p-norms and 'fro' are")
    return _norm_impl("norm", input, p, dim, keepdim, dtype)


def _running(name, input, dim, dtype):
    x = _lift(input, None)
    d = _dim(name, dim, x.ndim)
    if dtype is None and x.dtype.kind in "biu" and x.dtype != np.int64:
        dtype = np.int64              # as PyTorch: a running sum of integers or bools is int64
    if dtype is not None:
        x = x.astype(dtype)
    if not x.ndim:                      # a running sum of one number (in the op's dtype)
        return reshape(apply(OPS[name], (reshape(x, (1,)),), {"axis": 0}), ())
    return apply(OPS[name], (x,), {"axis": d})


def cumsum(input, dim, *, dtype=None):
    """Running sum along dim."""
    return _running("cumsum", input, dim, dtype)


def cumprod(input, dim, *, dtype=None):
    """Running product along dim; its gradient is exact where elements are zero."""
    return _running("cumprod", input, dim, dtype)


def _matrix_band(name, x, diagonal):
    x = _lift(x, None)
    if x.ndim < 2:
        raise ShapeError(f"{name}: input must be at least 2-D (a matrix or a batch of "
                         f"matrices), got shape {fmt(x.shape)}")
    (k,) = _ints(name, (diagonal,), "diagonal")
    return apply(OPS[name], (x,), {"k": k})


def tril(input, diagonal=0):
    """The lower triangle (diagonal > 0 keeps that many diagonals above the main one)."""
    return _matrix_band("tril", input, diagonal)


def triu(input, diagonal=0):
    return _matrix_band("triu", input, diagonal)


def flip(input, dims):
    x = _lift(input, None)
    dims = (dims,) if isinstance(dims, (builtins.int, np.integer)) else tuple(dims)
    axes = tuple(_dim("flip", d, x.ndim) for d in dims)
    if len(set(axes)) != len(axes):
        raise ShapeError(f"flip: dims {dims} name a dimension twice")
    if not axes or not x.ndim:
        return clone(x)
    return apply(OPS["flip"], (x,), {"axis": axes})


def repeat(input, *sizes):
    """Tile the tensor: repeat(2, 3) on (a, b) gives (2a, 3b) (NumPy's tile, not repeat)."""
    x = _lift(input, None)
    reps = _ints("repeat", _shape_args(sizes), "repeats")
    if len(reps) < x.ndim:
        raise ShapeError(f"repeat: {len(reps)} repeat count(s) for a tensor of shape "
                         f"{fmt(x.shape)}: give at least one per dimension")
    if builtins.any(r < 0 for r in reps):
        raise ShapeError(f"repeat: repeat counts must be non-negative, got {fmt(reps)}")
    shape = (1,) * (len(reps) - x.ndim) + tuple(x.shape)
    # each dim d becomes (r, d): broadcast along the new r axes, then merge the pairs
    paired = reshape(x, tuple(v for d in shape for v in (1, d)))
    tiled = broadcast_to(paired, tuple(v for r, d in zip(reps, shape) for v in (r, d)))
    return reshape(tiled, tuple(r * d for r, d in zip(reps, shape)))


def masked_fill(input, mask, value):
    """value where mask is True, input elsewhere; the gradient flows to input where mask
    is False (and to value, if it is a tensor that requires grad)."""
    x = _lift(input, None)
    m = _lift(mask, None)
    if m.dtype.kind != "b":
        raise DTypeError(f"masked_fill: mask must be a bool tensor, got {m.dtype}")
    if isinstance(value, Tensor) and value.ndim:
        raise ShapeError(f"masked_fill: value must be a number or a 0-d tensor, got shape "
                         f"{fmt(value.shape)}")
    return where(m, _lift(value, x), x)


def select(input, dim, index):
    x = _lift(input, None)
    d = _dim("select", dim, x.ndim)
    n = x.shape[d]
    if not -n <= index < n:
        raise BoundsError(f"select: index {index} is out of range for dim {d} of size {n}")
    return getitem(x, (slice(None),) * d + (index,))


def unbind(input, dim=0):
    x = _lift(input, None)
    d = _dim("unbind", dim, x.ndim)
    return tuple(select(x, d, i) for i in builtins.range(x.shape[d]))


def _scatter_index(name, x, dim, index, src):
    d, ind = _index_along(name, x, dim, index)
    if not isinstance(src, Tensor):        # a number is written in the input's dtype
        src = _make(np.asarray(src, dtype=x.dtype))
    elif src.dtype != x.dtype:
        # PyTorch refuses rather than convert: a float32 src into a half tensor would lose
        # precision unnoticed
        raise DTypeError(f"{name}(): expected src of the input's dtype {x.dtype}, got "
                         f"{src.dtype}; convert it first (src.to(input.dtype))")
    if src.ndim:                        # a 0-d src is a value written everywhere
        if src.ndim != ind.ndim or builtins.any(i > s for i, s in zip(ind.shape, src.shape)):
            raise ShapeError(f"{name}: src of shape {fmt(src.shape)} must be at least as large "
                             f"as index {fmt(ind.shape)} in every dimension")
        src = getitem(src, tuple(slice(0, n) for n in ind.shape))
    return _along_index(ind, d, ind.shape), src


def scatter_add(input, dim=None, index=None, src=None, *, shape=None):
    """torch.scatter_add(input, dim, index, src): input with src[i][j] added at
    [index[i][j]][j] (dim=0).  scatter_add(g, index=, shape=) is getitem's adjoint, which
    the op table's VJPs call by that name."""
    if shape is not None:
        return apply(OPS["scatter_add"], (input,), {"index": dim if index is None else index,
                                                   "shape": tuple(shape)})
    x = _lift(input, None)
    idx, src = _scatter_index("scatter_add", x, dim, index, src)
    return x + apply(OPS["scatter_add"], (src,), {"index": idx, "shape": tuple(x.shape)})


def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """input with src[i][j] written at [index[i][j]][j] (dim=0); a number may stand for src.
    Of several writes to one place one wins (the last, here); none are added.  As in
    PyTorch, every element of src gets the gradient of the place it was written to."""
    x = _lift(input, None)
    src = value if src is None else src
    if reduce is not None:
        return scatter_with_reduce(x, dim, index, src, reduce)
    idx, src = _scatter_index("scatter", x, dim, index, src)
    if src.ndim == 0:
        hit = np.zeros(x.shape, np.bool_)
        hit[idx] = True
        return where(as_tensor(hit), src, x)
    return apply(OPS["index_put"], (x, src), {"index": idx})


SortResult = collections.namedtuple("SortResult", ["values", "indices"])


def _order(name, x, dim, descending, stable=True):
    x._concrete(f"{name}()")
    d = _dim(name, dim, x.ndim)
    v = x._value if x.device == "cpu" else backend.to_device(x._value, "cpu")
    if not x.ndim:
        return np.zeros((), np.int64), d
    if descending:
        # stable descending: equal values keep their order, as PyTorch's stable sort
        v = -(v.astype(np.int64) if v.dtype.kind in "bu" else v)
    return np.argsort(v, axis=d, kind="stable").astype(np.int64), d


def _pick_sorted(x, idx, d):
    values = take_along_axis(x, idx, d) if x.ndim else x
    return SortResult(values, _new(idx, False, None if x.device == "cpu" else x.device))


def sort(input, dim=-1, descending=False, stable=False):
    """(values, indices); values are differentiable (the gradient goes back to where
    each value came from)."""
    x = _lift(input, None)
    idx, d = _order("sort", x, dim, descending)
    return _pick_sorted(x, idx, d)


def argsort(input, dim=-1, descending=False, stable=False):
    x = _lift(input, None)
    idx, d = _order("argsort", x, dim, descending)
    return _new(idx, False, None if x.device == "cpu" else x.device)


def topk(input, k, dim=-1, largest=True, sorted=True):
    """The k largest (smallest, with largest=False) values along dim, and their indices."""
    x = _lift(input, None)
    idx, d = _order("topk", x, dim, largest)
    n = x.shape[d] if x.ndim else 1
    if not 0 <= k <= n:
        raise ShapeError(f"topk: k={k} is out of range for dim {d} of size {n} (use 0..{n})")
    if x.ndim:
        idx = idx[(slice(None),) * d + (slice(0, k),)]
    return _pick_sorted(x, idx, d)


def nonzero(input, *, as_tuple=False):
    """The indices of the nonzero elements: an (n, ndim) int64 tensor, or with as_tuple a
    tuple of ndim vectors (what x[...] takes)."""
    x = _lift(input, None)
    x._concrete("nonzero()")
    v = np.asarray(x._value if x.device == "cpu" else backend.to_device(x._value, "cpu"))
    if as_tuple:
        return tuple(_make(i.astype(np.int64)) for i in np.nonzero(np.atleast_1d(v)))
    return _make(np.argwhere(v).astype(np.int64))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """A Python bool: every element within atol + rtol * |other| of other."""
    a, b = _pair(input, other)
    a._concrete("allclose()")
    return builtins.bool(np.allclose(np.asarray(a.detach().cpu()._value), np.asarray(b.detach().cpu()._value),
                                     rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(input, other):
    """A Python bool: the same shape and the same elements."""
    a, b = _pair(input, other)
    a._concrete("equal()")
    return tuple(a.shape) == tuple(b.shape) and builtins.bool(
        np.array_equal(np.asarray(a.detach().cpu()._value), np.asarray(b.detach().cpu()._value)))


def bmm(input, mat2):
    """Batched matrix product of (b, n, m) and (b, m, p): strictly 3-D, no broadcasting."""
    a, b = _pair(input, mat2)
    _same_dtype("bmm", (a, b))
    if a.ndim != 3 or b.ndim != 3:
        raise ShapeError(f"bmm: both operands must be 3-D (batch, rows, columns), got "
                         f"{fmt(a.shape)} and {fmt(b.shape)}")
    if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise ShapeError(f"bmm: shapes {fmt(a.shape)} and {fmt(b.shape)} do not fit: the "
                         "batch sizes must be equal and the columns of the first must equal "
                         "the rows of the second")
    return matmul(a, b)




# --- convolution (the layers live in compgraph.nn; these names let VJPs run on tensors) ----------

def _op_function(name):
    def f(*inputs, **attrs):
        return apply(OPS[name], tuple(_lift(x, None) for x in inputs), attrs)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"The op table's {name!r} on tensors."
    return f


conv2d_input_grad = _op_function("conv2d_input_grad")
conv2d_weight_grad = _op_function("conv2d_weight_grad")
max_pool2d_scatter = _op_function("max_pool2d_scatter")
max_pool2d_gather = _op_function("max_pool2d_gather")
pad_constant = _op_function("pad_constant")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (NCHW), as torch.nn.functional.conv2d."""
    from .nn.functional import conv2d as _conv2d
    return _conv2d(input, weight, bias, stride, padding, dilation, groups)


# the wider surface, built on the above
from .functional_more import *  # noqa: F401,F403,E402
from .functional_more import div_rounded  # noqa: E402
from .functional_index import *  # noqa: F401,F403,E402
from .functional_index import einsum_explicit, einsum_needs_rewrite, scatter_with_reduce  # noqa: E402
from . import functional_index as _index, functional_more as _more  # noqa: E402

# what `from compgraph.functional import *` (and so `import compgraph`) exports: the
# functions defined here, not the modules this file imports
__all__ = sorted(n for n, v in list(globals().items())
                 if not n.startswith("_") and callable(v) and getattr(v, "__module__", None) == __name__)
__all__ += _more.__all__ + _index.__all__
