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
import math

import numpy as np

from . import backend, state
from .errors import ArgumentError, ShapeError, TraceError
from .ops import OPS
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
    a, b = _pair(a, b)
    return apply(OPS["sub"], (a, b if alpha == 1 else mul(b, alpha)))


def mul(a, b):
    return apply(OPS["mul"], _pair(a, b))


def div(a, b):
    return apply(OPS["div"], _pair(a, b))


def pow(a, b):
    return apply(OPS["pow"], _pair(a, b))


def maximum(a, b):
    return apply(OPS["maximum"], _pair(a, b))


def minimum(a, b):
    return apply(OPS["minimum"], _pair(a, b))


def where(condition, a, b):
    if not isinstance(a, Tensor) and isinstance(b, Tensor):
        a = as_tensor(a, b)
    a, b = _pair(a, b)
    return apply(OPS["where"], (_lift(condition, None), a, b))


subtract, multiply, divide, true_divide, power = sub, mul, div, pow, pow

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
    return apply(OPS["clip"], (_lift(x, None),), {"min": min, "max": max})


clip = clamp


def leaky_relu(x, negative_slope=0.01):
    return apply(OPS["leaky_relu"], (x,), {"negative_slope": negative_slope})


def elu(x, alpha=1.0):
    return apply(OPS["elu"], (x,), {"alpha": alpha})


def gelu(x, approximate="none"):
    return apply(OPS["gelu"], (x,), {"approximate": approximate})


def softplus(x, beta=1.0, threshold=20.0):
    # threshold is PyTorch's switch to the identity for large inputs; logaddexp is
    # already exact there, so only beta changes the result
    if beta == 1:
        return apply(OPS["softplus"], (x,))
    return apply(OPS["softplus"], (x * beta,)) / beta


# --- reductions ------------------------------------------------------------------------------------

def _reduce(name, x, dim, keepdim, axis, keepdims, **extra):
    x = _lift(x, None)
    ax = _axis(dim, axis)
    if isinstance(ax, list):
        ax = tuple(ax)
    normalize_axis(name, ax, x.ndim)   # a clear error for a bad dim, before anything runs
    return apply(OPS[name], (x,), {"axis": ax, "keepdims": _keep(keepdim, keepdims), **extra})


def sum(x, dim=None, keepdim=None, *, axis=None, keepdims=False, dtype=None):
    out = _reduce("sum", x, dim, keepdim, axis, keepdims)
    return out if dtype is None else out.astype(dtype)


def mean(x, dim=None, keepdim=None, *, axis=None, keepdims=False):
    return _reduce("mean", x, dim, keepdim, axis, keepdims)


def prod(x, dim=None, keepdim=None, *, axis=None, keepdims=False):
    return _reduce("prod", x, dim, keepdim, axis, keepdims)


def logsumexp(x, dim=None, keepdim=None, *, axis=None, keepdims=False):
    return _reduce("logsumexp", x, dim, keepdim, axis, keepdims)


def var(x, dim=None, unbiased=None, keepdim=None, *, correction=None, axis=None, keepdims=False):
    c = correction if correction is not None else (0 if unbiased is False else 1)
    return _reduce("var", x, dim, keepdim, axis, keepdims, correction=c)


def std(x, dim=None, unbiased=None, keepdim=None, *, correction=None, axis=None, keepdims=False):
    c = correction if correction is not None else (0 if unbiased is False else 1)
    return _reduce("std", x, dim, keepdim, axis, keepdims, correction=c)


MinMax = collections.namedtuple("MinMax", ["values", "indices"])


def _extreme(name, argname, x, dim, keepdim, axis, keepdims):
    if isinstance(dim, Tensor):        # torch.max(a, b) is the elementwise maximum
        return (maximum if name == "max" else minimum)(x, dim)
    if dim is None:
        return _reduce(name, x, dim, keepdim, axis, keepdims)
    # along a dim the gradient goes to the one element `indices` names, as in PyTorch
    # (ties share it only in the full reduction, max(x), which has no index to name)
    keep = _keep(keepdim, keepdims)
    indices = _reduce(argname, x, dim, True, None, False)
    ax = normalize_axis(name, dim, x.ndim)[0]
    values = take_along_axis(x, indices._value, ax)
    if not keep:
        values = squeeze(values, ax)
        indices = squeeze(indices, ax)
    return MinMax(values, indices)


def max(x, dim=None, keepdim=None, *, axis=None, keepdims=False):
    """max(x) -> the largest value; max(x, dim) -> (values, indices); max(a, b) -> maximum."""
    return _extreme("max", "argmax", x, dim, keepdim, axis, keepdims)


def min(x, dim=None, keepdim=None, *, axis=None, keepdims=False):
    return _extreme("min", "argmin", x, dim, keepdim, axis, keepdims)


amax = lambda x, dim=None, keepdim=False: _reduce("max", x, dim, keepdim, None, False)  # noqa: E731
amin = lambda x, dim=None, keepdim=False: _reduce("min", x, dim, keepdim, None, False)  # noqa: E731


def argmax(x, dim=None, keepdim=None, *, axis=None, keepdims=False):
    return _reduce("argmax", x, dim, keepdim, axis, keepdims)


def argmin(x, dim=None, keepdim=None, *, axis=None, keepdims=False):
    return _reduce("argmin", x, dim, keepdim, axis, keepdims)


def softmax(x, dim=-1, *, axis=None):
    return apply(OPS["softmax"], (_lift(x, None),), {"axis": _axis(axis, dim)})


def log_softmax(x, dim=-1, *, axis=None):
    return apply(OPS["log_softmax"], (_lift(x, None),), {"axis": _axis(axis, dim)})


logsoftmax = log_softmax


# --- products --------------------------------------------------------------------------------------

def matmul(a, b):
    return apply(OPS["matmul"], _pair(a, b))


def mm(a, b):
    return apply(OPS["mm"], _pair(a, b))


def mv(m, v):
    return apply(OPS["mv"], _pair(m, v))


def dot(a, b):
    return apply(OPS["dot"], _pair(a, b))


def outer(a, b):
    return apply(OPS["outer"], _pair(a, b))


ger = outer


def einsum(subscripts, *operands):
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    ops = tuple(_lift(o, None) for o in operands)
    return apply(OPS["einsum"], ops, {"subscripts": subscripts})


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
    if len(ax_a) != len(ax_b) or any(a.shape[i] != b.shape[j] for i, j in zip(ax_a, ax_b)):
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


def reshape(x, *shape):
    shape = tuple(int(d) for d in _shape_args(shape))
    x = _lift(x, None)
    if shape == x.shape:
        return x
    return apply(OPS["reshape"], (x,), {"shape": shape})


view = reshape


def flatten(x, start_dim=0, end_dim=-1):
    s = x.shape
    if not s:
        return reshape(x, (1,))
    a, b = start_dim % len(s), end_dim % len(s)
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
    if n < 2:
        return x
    axes = list(range(n))
    d0, d1 = dim0 % n, dim1 % n
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return permute_dims(x, axes)


swapaxes = transpose


def t(x):
    return transpose(x, 0, 1) if x.ndim == 2 else x


def broadcast_to(x, shape):
    return apply(OPS["broadcast_to"], (_lift(x, None),), {"shape": tuple(shape)})


def expand(x, *sizes):
    sizes = _shape_args(sizes)
    lead = len(sizes) - x.ndim
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
    n = x.shape[dim]
    if isinstance(split_size_or_sections, int):
        k = split_size_or_sections
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
    n = x.shape[dim]
    return split(x, -(-n // chunks), dim)


def getitem(x, index):
    return apply(OPS["getitem"], (x,), {"index": _raw_index(index)})


def scatter_add(g, index, shape):
    """Zeros of `shape` with g added at `index` (getitem's adjoint)."""
    return apply(OPS["scatter_add"], (g,), {"index": index, "shape": tuple(shape)})


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


def gather(x, dim, index):
    """out[i][j] = x[i][index[i][j]] for dim=1 (PyTorch's gather)."""
    return take_along_axis(x, index, dim)


def index_select(x, dim, index):
    ind = index_array(index)
    return getitem(x, (slice(None),) * (dim % x.ndim) + (ind,))


def pick(x, index, dim=0):
    """DyNet's pick: the element(s) at `index` along `dim`."""
    ind = index_array(index) if isinstance(index, (Tensor, list, np.ndarray)) else index
    return getitem(x, (slice(None),) * (dim % x.ndim) + (ind,))


def embedding(input, weight):
    """Rows of `weight` for the integer ids in `input` (repeated ids accumulate gradient)."""
    if isinstance(input, Tensor) and input._graph is not None and hasattr(input._graph, "lookup"):
        return input._graph.lookup(weight, input)    # ids of an autobatch graph: batch there
    ids = index_array(input)
    if ids.dtype.kind not in "iu":
        raise ArgumentError(f"embedding: ids must be integers, got {ids.dtype}")
    return getitem(weight, (ids,))


def one_hot(labels, num_classes=-1):
    """Integer labels as one-hot int64 rows (PyTorch's F.one_hot); no gradient."""
    ids = labels._value if isinstance(labels, Tensor) else np.asarray(labels)
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


def dropout(x, p=0.5, training=True):
    """Zero each element with probability p and scale the rest by 1/(1-p); seeded by manual_seed."""
    if not 0 <= p <= 1:
        raise ArgumentError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0
    if state.TRACE is not None:
        raise TraceError("compile: dropout draws new random numbers on every call, which a "
                         "replayed trace would freeze; call dropout outside the compiled "
                         "function, or compile the model in eval mode")
    keep = generator().random(x.shape) >= p
    mask = (keep / (1 - p)).astype(x.dtype)
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


def mse_loss(input, target, reduction="mean"):
    input, target = _pair(input, target)
    _same_shape("mse_loss", input, target)
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


def cross_entropy(input, target, reduction="mean"):
    """Softmax cross-entropy from logits; target: class indices or class probabilities."""
    target = target if isinstance(target, Tensor) else as_tensor(np.asarray(target))
    attrs = _REDUCTION.get(reduction)
    if attrs is None:
        attrs = {"reduction": reduction}
    return apply(OPS["cross_entropy"], (input, target), attrs)


def nll_loss(input, target, reduction="mean"):
    """Negative log-likelihood of class indices under log-probabilities `input`."""
    ids = index_array(target)
    if input.ndim == 1:
        picked = getitem(input, (ids,))
    else:
        picked = getitem(input, (np.arange(input.shape[0]), ids))
    return _reduction(-picked, reduction)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    input, target = _pair(input, target)
    _same_shape("binary_cross_entropy", input, target)
    # PyTorch clamps the logs at -100 so that a confident mistake costs 100, not inf
    per = -(target * clamp(log(input), min=-100) + (1 - target) * clamp(log(1 - input), min=-100))
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
    return _new(np.zeros(_shape_args(size), _dt(dtype)), requires_grad, device)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return _new(np.ones(_shape_args(size), _dt(dtype)), requires_grad, device)


def empty(*size, dtype=None, device=None, requires_grad=False):
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    if dtype is None and isinstance(fill_value, (bool, int)) and not isinstance(fill_value, float):
        dtype = np.bool_ if isinstance(fill_value, bool) else np.int64
    return _new(np.full(tuple(size) if not isinstance(size, int) else (size,), fill_value,
                        _dt(dtype)), requires_grad, device)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    ints = builtins.all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    return _new(np.arange(start, end, step, dtype=_dt(dtype, np.dtype(np.int64) if ints else None)),
                requires_grad, device)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    return _new(np.linspace(start, end, steps, dtype=_dt(dtype)), requires_grad, device)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    return _new(np.eye(n, m, dtype=_dt(dtype)), requires_grad, device)


def rand(*size, dtype=None, device=None, requires_grad=False):
    return _new(generator().random(_shape_args(size)).astype(_dt(dtype)), requires_grad, device)


def randn(*size, dtype=None, device=None, requires_grad=False):
    return _new(generator().standard_normal(_shape_args(size)).astype(_dt(dtype)), requires_grad, device)


def randint(low, high=None, size=(), dtype=None, device=None):
    if high is None:
        low, high = 0, low
    return _new(generator().integers(low, high, size).astype(_dt(dtype, np.dtype(np.int64))), False, device)


def randperm(n, dtype=None, device=None):
    return _new(generator().permutation(n).astype(_dt(dtype, np.dtype(np.int64))), False, device)


def _like(fn):
    def like(x, dtype=None, device=None, requires_grad=False, **kw):
        return fn(*x.shape, **kw, dtype=dtype or x.dtype, device=device or x.device,
                  requires_grad=requires_grad)
    like.__name__ = fn.__name__ + "_like"
    return like


zeros_like, ones_like, rand_like, randn_like, empty_like = (
    _like(zeros), _like(ones), _like(rand), _like(randn), _like(empty))


def full_like(x, fill_value, dtype=None, device=None, requires_grad=False):
    return full(x.shape, fill_value, dtype=dtype or x.dtype, device=device or x.device,
                requires_grad=requires_grad)


def numel(x):
    return x.numel()


def is_tensor(x):
    return isinstance(x, Tensor)




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


# what `from compgraph.functional import *` (and so `import compgraph`) exports: the
# functions defined here, not the modules this file imports
__all__ = sorted(n for n, v in list(globals().items())
                 if not n.startswith("_") and callable(v) and getattr(v, "__module__", None) == __name__)
