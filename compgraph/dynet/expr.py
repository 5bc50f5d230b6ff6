"""DyNet's expression functions and Expression's methods, as aliases over compgraph's ops.

Dimensions as DyNet has them: a vector is (n,), a matrix (rows, cols), `W*x` is the
matrix-vector product; a scalar is shape () and reports DyNet's dim ((1,), 1).  Batched
expressions carry the batch as the leading axis (see graph.py); `_off(x)` is where
DyNet's own dimensions start.
"""
import sys

import numpy as np

from .. import functional as F
from ..errors import ArgumentError, ArgumentValueError, BoundsError, ShapeError
from ..ops import OPS
from ..random import generator
from ..tensor import _NOATTRS, Tensor, _make, apply, as_tensor
from .graph import BatchedExpression, Expression, _Current, _stale, cg, intern_meta, record as _rec

_ADD, _SUB, _MUL, _DIV, _NEG, _MATMUL, _XENT, _GETITEM, _SUMOP = (
    OPS[n] for n in ("add", "sub", "mul", "div", "neg", "matmul", "cross_entropy", "getitem", "sum"))
_F32 = np.float32
# one attribute dict for every word's loss: the batching signature of a node is memoized on
# its attribute dict's identity, and a fresh dict per call would be keyed anew each time
_SUM = {"reduction": "sum"}


def _off(x):
    return 1 if x.__class__ is BatchedExpression else 0


def _ex(x, like=None):
    """An operand as a node: Parameters become their node in the current graph."""
    if isinstance(x, Tensor):
        return x
    expr = getattr(x, "expr", None)
    if expr is not None:
        # a Parameters used as an expression is trainable, as in DyNet (p.expr() alone is not)
        return expr(True)
    if like is None:
        # a function's operand (not an operator's number): DyNet's are typed Expression and
        # refuse a list, an array or a number; the message names the function called (the
        # caller's frame, looked up on this error path only)
        fn = sys._getframe(1).f_code.co_name.lstrip("_") or "expression function"
        raise ArgumentError(f"{fn}: expected an Expression (or Parameters), got "
                            f"{type(x).__name__} {x!r:.60}; make an input with "
                            f"dy.inputTensor / dy.inputVector / dy.scalarInput first")
    return as_tensor(x, like)


def _align(a, b):
    """DyNet's elementwise broadcasting: dimensions are matched from the first, a missing
    trailing one counts as 1 (a vector is a column), so (3,3) + (3,) adds the vector to every
    column and a batch of picked scalars meets a batch of 1-vectors elementwise.  NumPy
    matches from the last; padding the operand with fewer dimensions by trailing 1s makes the
    two rules agree.  An unbatched number (0-d) broadcasts either way: left as it is."""
    # this runs for every +, -, cmult: the shapes read without the property calls
    va, vb = a._value, b._value
    ba, bb = a.__class__ is BatchedExpression, b.__class__ is BatchedExpression
    na = (len(a._meta[0]) if va is None else va.ndim) - ba
    nb = (len(b._meta[0]) if vb is None else vb.ndim) - bb
    if na == nb or (na == 0 and not ba) or (nb == 0 and not bb):
        return a, b
    if na < nb:
        return F.reshape(a, a.shape + (1,) * (nb - na)), b
    return a, F.reshape(b, b.shape + (1,) * (na - nb))


def _unbatch(node):
    node.__class__ = Expression
    return node


def _batch(node):
    node.__class__ = BatchedExpression
    node._graph._has_batched = True
    return node


def _dims(x):
    return x.shape[_off(x):]


# --- argument checks ----------------------------------------------------------------------------
# DyNet takes indices and dims as C `unsigned`: a float or a negative number is refused there,
# where NumPy would truncate 1.7 to 1 or wrap -1 to the last entry without a word.

def _valid(n):
    return f"valid: 0..{n - 1}" if n else "it is empty"


def _index(i, n, fn, what, of):
    """i as an int in 0..n-1; else a clear error naming fn, i and what it indexes (`of`,
    a phrase that says the size n)."""
    if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
        raise ArgumentError(f"{fn}: the {what} must be an integer, got {i!r} "
                            f"({type(i).__name__})")
    i = int(i)
    if not 0 <= i < n:
        raise BoundsError(f"{fn}: {what} {i} is out of range for {of} ({_valid(n)})")
    return i


def _ids(indices, n, fn, what, of):
    """A list or array of indices as a 1-d int64 array, each in 0..n-1 (one pass over the
    ids, which are a batch's worth: cheap)."""
    ids = np.asarray(indices)
    if ids.ndim != 1:
        raise ShapeError(f"{fn}: expected a flat list of {what}s, got an array of shape "
                         f"{ids.shape}")
    if ids.size == 0:
        return ids.astype(np.int64)
    if ids.dtype.kind not in "iu":
        raise ArgumentError(f"{fn}: {what}s must be integers, got {ids.dtype} values "
                            f"{ids.tolist()[:5]}")
    lo, hi = int(ids.min()), int(ids.max())
    if lo < 0 or hi >= n:
        bad = lo if lo < 0 else hi
        where = int(np.flatnonzero(ids == bad)[0])
        raise BoundsError(f"{fn}: {what} {bad} (entry {where}) is out of range for {of} "
                          f"({_valid(n)})")
    return ids.astype(np.int64, copy=False)


def _axis(x, d, fn):
    """DyNet's dimension d of x as the node's axis (after the batch axis, if any)."""
    off = _off(x)
    nd = x.ndim - off
    if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)) or not 0 <= d < nd:
        raise ShapeError(f"{fn}: dimension {d!r} is out of range for an expression with dims "
                         f"{tuple(x.shape[off:])} (use 0..{nd - 1})" if nd else
                         f"{fn}: a scalar expression has no dimension {d!r}")
    return off + int(d)


# --- inputs -------------------------------------------------------------------------------------

def _floats(data, fn):
    """data as a float32 array, or an error naming fn instead of NumPy's conversion message."""
    try:
        return np.array(data, dtype=_F32)
    except (TypeError, ValueError) as e:
        raise ArgumentError(f"{fn}: expected numbers (a list, nested lists of equal lengths or "
                            f"a NumPy array), got {type(data).__name__} {data!r:.60}: {e}") from None


def _shape(dim, fn, what="dims"):
    """DyNet dims (an int or a sequence of them) as a tuple of positive ints."""
    ds = (dim,) if isinstance(dim, (int, np.integer)) else dim
    try:
        ds = tuple(ds)
    except TypeError:
        raise ArgumentError(f"{fn}: {what} must be an integer or a tuple of integers, got "
                            f"{dim!r}") from None
    for d in ds:
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)):
            raise ArgumentError(f"{fn}: {what} must be integers, got {dim!r}")
        if d < 1:
            raise ArgumentValueError(f"{fn}: {what} must be positive, got {dim!r}")
    return tuple(int(d) for d in ds)


def _batch_size(b, fn):
    if isinstance(b, (bool, np.bool_)) or not isinstance(b, (int, np.integer)) or b < 1:
        raise ArgumentValueError(f"{fn}: batch_size must be a positive integer, got {b!r}")
    return int(b)


def inputTensor(arr, batched=False, device="", reusable_expr=False):
    """A constant input; with batched=True the last dimension is the batch (as in DyNet).
    A list of NumPy arrays is a batch whatever `batched` says: one element per array."""
    if isinstance(arr, (list, tuple)) and arr and all(isinstance(x, np.ndarray) for x in arr):
        shapes = {x.shape for x in arr}
        if len(shapes) > 1:
            raise ShapeError(f"inputTensor: a list of arrays is a batch, and its elements must "
                             f"have one shape; got shapes {sorted(shapes)}")
        return cg().leaf(np.stack([np.asarray(x, _F32) for x in arr]), batched=True)
    a = _floats(arr, "inputTensor")
    if batched:
        if a.ndim == 0:
            raise ShapeError("inputTensor(batched=True): the last dimension is the batch, but "
                             "the data is a single number")
        return cg().leaf(np.ascontiguousarray(np.moveaxis(a, -1, 0)), batched=True)
    return cg().leaf(a)


def inputVector(v):
    a = _floats(v, "inputVector")
    if a.ndim != 1:
        # reshape(-1) would flatten a matrix row by row, where DyNet reads it column by column
        raise ShapeError(f"inputVector: expected a flat list of numbers, got data of shape "
                         f"{a.shape}; use inputTensor for a matrix (or scalarInput for a number)")
    return cg().leaf(a)


def vecInput(dim):
    return cg().leaf(np.zeros(_shape(dim, "vecInput", "dim"), _F32))


def scalarInput(s):
    a = _floats(s, "scalarInput")
    if a.size != 1:
        raise ShapeError(f"scalarInput: expected one number, got data of shape {a.shape}")
    return cg().leaf(a.reshape(()))


def matInput(d1, d2):
    """Removed in DyNet 2.1, which raises DeprecationWarning here: so does the dialect."""
    raise DeprecationWarning("matInput is deprecated in DyNet 2.1 (it raises there too); use "
                             "dy.inputTensor(np.zeros((d1, d2))) instead")


def inputMatrix(v, d):
    """Removed in DyNet 2.1, which raises DeprecationWarning here: so does the dialect."""
    raise DeprecationWarning("inputMatrix is deprecated in DyNet 2.1 (it raises there too); use "
                             "dy.inputTensor(np.reshape(v, d, order='F')) -- DyNet read v "
                             "column by column")


def zeros(dim, batch_size=1):
    dim = _shape(dim, "zeros")
    batch_size = _batch_size(batch_size, "zeros")
    if batch_size > 1:
        return cg().leaf(np.zeros((batch_size,) + dim, _F32), batched=True)
    return cg().leaf(np.zeros(dim, _F32))


def ones(dim, batch_size=1):
    return constant(dim, 1.0, batch_size)


def constant(dim, val, batch_size=1):
    dim = _shape(dim, "constant")
    batch_size = _batch_size(batch_size, "constant")
    if batch_size > 1:
        return cg().leaf(np.full((batch_size,) + dim, val, _F32), batched=True)
    return cg().leaf(np.full(dim, val, _F32))


def random_normal(dim, mean=0.0, stddev=1.0, batch_size=1):
    dim = _shape(dim, "random_normal")
    batch_size = _batch_size(batch_size, "random_normal")
    a = generator().normal(mean, stddev, ((batch_size,) if batch_size > 1 else ()) + dim)
    return cg().leaf(a.astype(_F32), batched=batch_size > 1)


def random_uniform(dim, left, right, batch_size=1):
    dim = _shape(dim, "random_uniform")
    batch_size = _batch_size(batch_size, "random_uniform")
    a = generator().uniform(left, right, ((batch_size,) if batch_size > 1 else ()) + dim)
    return cg().leaf(a.astype(_F32), batched=batch_size > 1)


def random_bernoulli(dim, p, scale=1.0, batch_size=1):
    dim = _shape(dim, "random_bernoulli")
    batch_size = _batch_size(batch_size, "random_bernoulli")
    a = (generator().random(((batch_size,) if batch_size > 1 else ()) + dim) < p) * scale
    return cg().leaf(a.astype(_F32), batched=batch_size > 1)


# --- parameters -------------------------------------------------------------------------------

def parameter(*ps, update=True):
    """The node of a parameter (or a lookup table, whole) in the current graph."""
    if len(ps) == 1:
        return ps[0].expr(update)
    return [p.expr(update) for p in ps]


def const_parameter(*ps):
    """DyNet's: nobackprop of the parameter's (trainable) node in the graph -- the same node
    dy.parameter gives, and with it the value it had when first computed."""
    nodes = [apply(OPS["stop_gradient"], (p.expr(True),)) for p in ps]
    return nodes[0] if len(nodes) == 1 else nodes


def _table(lp):
    return f"the lookup table {lp._name} of shape {lp._value.shape}, with {lp._value.shape[0]} rows"


def lookup(lp, index, update=True):
    """Row `index` of a lookup table: a leaf; its gradient goes to that row only."""
    n = lp._value.shape[0]
    if index.__class__ is not int or not 0 <= index < n:
        index = _index(index, n, "lookup", "row id", _table(lp))
    return cg().lookup_node(lp, index, update)


def const_lookup(lp, index):
    return lookup(lp, index, update=False)


def lookup_batch(lp, indices, update=True):
    n = lp._value.shape[0]
    ids = _ids(indices, n, "lookup_batch", "row id", _table(lp))
    return cg().lookup_node(lp, ids, update, batched=True)


def const_lookup_batch(lp, indices):
    return lookup_batch(lp, indices, update=False)


# --- arithmetic -------------------------------------------------------------------------------

def _scalarish(x):
    for d in x.shape[_off(x):]:
        if d != 1:
            return False
    return True


def _mul(a, b):
    """DyNet's `*`: the matrix product; with a number or a one-element side, elementwise."""
    if a.__class__ is Expression and b.__class__ is Expression:
        # the common case, W * x of two unbatched expressions, without the general path's
        # conversions: a side whose dims are all 1 (or none) multiplies elementwise
        va, vb = a._value, b._value
        sa = a._meta[0] if va is None else va.shape
        sb = b._meta[0] if vb is None else vb.shape
        if sa.count(1) != len(sa) and sb.count(1) != len(sb):
            return _rec(_MATMUL, (a, b))
    number = not isinstance(a, Tensor) or not isinstance(b, Tensor)
    a, b = _ex(a, b if isinstance(b, Tensor) else None), _ex(b, a if isinstance(a, Tensor) else None)
    if _scalarish(a) or _scalarish(b):
        if number:                             # an expression times a number
            return _rec(_MUL, _align(a, b))
        return _one_element_product(a, b)
    ba, bb = a.__class__ is BatchedExpression, b.__class__ is BatchedExpression
    if not bb or b.ndim > 2:
        return _rec(_MATMUL, (a, b))          # vector, matrix, or a batch of matrices
    if not ba:                                 # W times a batch of vectors: X W^T
        return _rec(_MATMUL, (b, F.transpose(a) if a.ndim == 2 else a))
    col = F.reshape(b, b.shape + (1,))         # two batches: matrix times column, per element
    out = _rec(_MATMUL, (a, col))
    return F.reshape(out, out.shape[:-1])


def _one_element_product(a, b):
    """DyNet's matrix product where a side holds one element: elementwise, but only where the
    product is defined (a vector counts as a column: (1,) * (3,) and (1,) * (2, 2) raise, as
    DyNet's MatrixMultiply does), and with the product's dims ((4, 1) * (1,) is (4,))."""
    da, db = a.shape[_off(a):], b.shape[_off(b):]
    cols, rows = (da[1] if len(da) == 2 else 1), (db[0] if db else 1)
    if cols != rows:
        raise ShapeError(f"*: the matrix product of dims {tuple(da)} and {tuple(db)} is not "
                         f"defined: the first's columns ({cols}) must equal the second's rows "
                         f"({rows}); for an elementwise product use cmult")
    out = _rec(_MUL, _align(a, b))
    if len(da) == 2 and len(db) == 1:          # a one-column matrix times a 1-vector: a vector
        out = F.reshape(out, out.shape[:-1])
    return out


def _binary(op, name):
    def forward(self, other):
        if other.__class__ is not Expression:
            other = _ex(other, self)
        elif self._meta is other._meta and self.__class__ is Expression:
            g = self._graph        # equal dims (one interned Meta): nothing to align
            if g is _Current.cg and g is not None and not g.immediate_compute:
                return g._record_fast(op, (self, other), _NOATTRS, False)
        return _rec(op, _align(self, other))

    def reflected(self, other):
        return _rec(op, _align(_ex(other, self), self))
    # the operator's own names, which an error's message gives (naming.py reads frames)
    forward.__code__ = forward.__code__.replace(co_name=f"__{name}__")
    reflected.__code__ = reflected.__code__.replace(co_name=f"__r{name}__")
    return forward, reflected


Expression.__add__, Expression.__radd__ = _binary(_ADD, "add")
Expression.__sub__, Expression.__rsub__ = _binary(_SUB, "sub")
Expression.__truediv__, Expression.__rtruediv__ = _binary(_DIV, "truediv")


def __mul__(self, other):
    return _mul(self, other)


def __rmul__(self, other):
    return _mul(other, self)


def __neg__(self):
    return _rec(_NEG, (self,))


Expression.__mul__, Expression.__rmul__, Expression.__neg__ = __mul__, __rmul__, __neg__


def cmult(a, b):
    if a.__class__ is Expression and b.__class__ is Expression and a._meta is b._meta:
        g = a._graph               # equal dims (one interned Meta): nothing to align
        if g is _Current.cg and g is not None and not g.immediate_compute:
            return g._record_fast(_MUL, (a, b), _NOATTRS, False)
    return _rec(_MUL, _align(a if a.__class__ is Expression else _ex(a),
                             b if b.__class__ is Expression else _ex(b)))


cwise_multiply = cmult


def cdiv(a, b):
    return apply(_DIV, _align(_ex(a), _ex(b)))


def colwise_add(x, bias):
    bias = _ex(bias)
    return x + F.reshape(bias, bias.shape + (1,))


def affine_transform(xs):
    """xs[0] + xs[1]*xs[2] + xs[3]*xs[4] + ..."""
    out = _ex(xs[0])
    g = out._graph
    fast = g is _Current.cg and g is not None and not g.immediate_compute and out._meta is not None \
        and out.__class__ is Expression and len(out._meta[0]) == 1
    for k in range(1, len(xs) - 1, 2):
        w, v = xs[k], xs[k + 1]
        if fast and w.__class__ is Expression and v.__class__ is Expression:
            # the usual b + W x, vectors and matrices of this graph: _mul's and _align's
            # checks written for that case (a one-element side would multiply elementwise)
            mw, mv = w._meta, v._meta
            if mw is not None and mv is not None and len(mw[0]) == 2 and len(mv[0]) == 1 \
                    and mw[0].count(1) != 2 and mv[0][0] != 1:
                out = g._record_fast(_ADD, (out, g._record_fast(_MATMUL, (w, v), _NOATTRS, False)),
                                     _NOATTRS, False)
                continue
        out = _rec(_ADD, _align(out, _mul(w, v)))
    return out


def dot_product(a, b):
    a, b = _ex(a), _ex(b)
    if a.__class__ is not BatchedExpression and b.__class__ is not BatchedExpression and a.ndim == 1:
        return F.dot(a, b)
    return sum_elems(cmult(a, b))


def bmax(a, b):
    return F.maximum(*_align(_ex(a), _ex(b)))


def bmin(a, b):
    return F.minimum(*_align(_ex(a), _ex(b)))


# --- elementwise functions ----------------------------------------------------------------------

def _unary(name, op):
    """An elementwise function of one expression: the op applied directly (these are a
    third of the nodes of an LSTM written out by hand, so the call chain is kept short)."""
    def f(x):
        if x.__class__ is not Expression and x.__class__ is not BatchedExpression:
            x = _ex(x)
        g = x._graph                  # graph.record, inline: a third of an LSTM's nodes
        if g is _Current.cg and g is not None and not g.immediate_compute:
            return g._record_fast(op, (x,), _NOATTRS, False)
        return apply(op, (x,))
    f.__name__ = f.__qualname__ = name
    f.__code__ = f.__code__.replace(co_name=name)     # errors name it (naming.py reads frames)
    f.__doc__ = f"DyNet's {name}: elementwise {op.name}."
    return f


tanh, logistic, rectify = (_unary(d, OPS[n]) for d, n in
                           (("tanh", "tanh"), ("logistic", "sigmoid"), ("rectify", "relu")))
def exp(x): return F.exp(_ex(x))                    # noqa: E704
def log(x): return F.log(_ex(x))                    # noqa: E704
def sqrt(x): return F.sqrt(_ex(x))                  # noqa: E704
def abs(x): return F.abs(_ex(x))                    # noqa: E704
def sin(x): return F.sin(_ex(x))                    # noqa: E704
def cos(x): return F.cos(_ex(x))                    # noqa: E704
def square(x): x = _ex(x); return cmult(x, x)       # noqa: E702,E704
def cube(x): x = _ex(x); return cmult(cmult(x, x), x)  # noqa: E702,E704
def elu(x, alpha=1.0): return F.elu(_ex(x), alpha)  # noqa: E704
def softsign(x): x = _ex(x); return x / (F.abs(x) + 1.0)  # noqa: E702,E704


# --- reductions, softmax, picking --------------------------------------------------------------

_sums = {}       # (first axis, rank) -> sum's attribute dict, one per layout (see _ranges)


def sum_elems(x):
    x = _ex(x)
    off = _off(x)
    nd = len(x._meta[0]) if x._value is None else x._value.ndim
    if nd == off:
        return x
    attrs = _sums.get((off, nd))
    if attrs is None:
        attrs = _sums[(off, nd)] = {"axis": tuple(range(off, nd)), "keepdims": False}
    return _rec(_SUMOP, (x,), attrs)


def mean_elems(x):
    x = _ex(x)
    return F.mean(x, axis=tuple(range(_off(x), x.ndim)))


def sum_dim(x, d, b=False, n=0):
    """The sum over dimensions d (and the batch, with b); n is DyNet's masking count, which
    only the means use."""
    x = _ex(x)
    off = _off(x)
    axes = tuple(_axis(x, k, "sum_dim") for k in (d if isinstance(d, (list, tuple)) else (d,)))
    out = F.sum(x, axis=axes)
    return _unbatch(F.sum(out, axis=0)) if b and off else out


def mean_dim(x, d, b=False, n=0):
    """The mean over dimensions d (and the batch, with b); n > 0 divides by n instead of the
    count (DyNet's way of leaving out padding)."""
    x = _ex(x)
    off = _off(x)
    axes = tuple(_axis(x, k, "mean_dim") for k in (d if isinstance(d, (list, tuple)) else (d,)))
    if n > 0:
        out = F.sum(x, axis=axes)
        return (_unbatch(F.sum(out, axis=0)) if b and off else out) * (1.0 / n)
    out = F.mean(x, axis=axes)
    return _unbatch(F.mean(out, axis=0)) if b and off else out


def max_dim(x, d=0):
    x = _ex(x)
    return F.amax(x, _axis(x, d, "max_dim"))


def min_dim(x, d=0):
    x = _ex(x)
    return F.amin(x, _axis(x, d, "min_dim"))


def sum_batches(x):
    if x.__class__ is not BatchedExpression:
        return x
    return _unbatch(F.sum(x, axis=0))


def mean_batches(x):
    if x.__class__ is not BatchedExpression:
        return x
    return _unbatch(F.mean(x, axis=0))


def esum(xs):
    """The sum of a list of expressions: one stack and one sum (two nodes, not n)."""
    if xs.__class__ is not list and not isinstance(xs, (list, tuple)):
        raise ArgumentError(f"esum: expected a list of expressions, got {type(xs).__name__} "
                            f"{xs!r:.60}")
    xs = [_ex(x) for x in xs]
    if not xs:
        raise ArgumentError("esum: expected a non-empty list of expressions")
    if len(xs) == 1:
        return xs[0]
    cls, shape = xs[0].__class__, xs[0].shape
    if all(x.__class__ is cls and x.shape == shape for x in xs):
        return F.sum(F.stack(xs, axis=0), axis=0)
    out = xs[0]
    for x in xs[1:]:
        out = out + x
    return out


def average(xs):
    return esum(xs) * (1.0 / len(xs))


def logsumexp(xs):
    """log(sum(exp(x))) over a list of scalar expressions."""
    xs = [_ex(x) for x in xs]
    if any(x.__class__ is BatchedExpression for x in xs):
        xs = _one_batch(xs)
    return F.logsumexp(F.stack(xs, axis=0), axis=0)


def softmax(x, d=0):
    x = _ex(x)
    return F.softmax(x, axis=_axis(x, d, "softmax"))


def log_softmax(x, restrict=None):
    x = _ex(x)
    if restrict is None:
        return F.log_softmax(x, axis=_off(x))
    # DyNet's restricted log-softmax: -inf outside the listed classes
    n = _dims(x)[0] if _dims(x) else 0
    mask = np.full(n, -np.inf, _F32)
    mask[_ids(list(restrict), n, "log_softmax", "restricted class", f"{n} classes")] = 0
    return F.log_softmax(x + as_tensor(mask), axis=_off(x))


def pick(x, index, dim=0):
    """Element `index` of x along dim (pick_batch takes a list, one per batch element)."""
    if isinstance(index, (list, tuple, np.ndarray)):
        # DyNet's index is an unsigned int: a list raises there (pick_batch takes one)
        raise ArgumentError(f"pick: the index must be an integer, got a list {index!r:.60}; "
                            f"pick_batch takes one index per batch element")
    x = _ex(x)
    axis = _axis(x, dim, "pick") if dim else _off(x)
    shape = x.shape
    if axis >= len(shape):
        raise ShapeError(f"pick: a scalar expression has no element {index!r} to pick")
    n = shape[axis]
    if index.__class__ is not int or not 0 <= index < n:
        index = _index(index, n, "pick", "index", f"dimension {dim} of dims {_dims(x)}")
    return F.getitem(x, (slice(None),) * axis + (index,))


def pick_batch(x, indices, dim=0):
    x = _ex(x)
    axis = _axis(x, dim, "pick_batch")
    ids = _ids(indices, x.shape[axis], "pick_batch", "index", f"dimension {dim} of dims {_dims(x)}")
    if x.__class__ is BatchedExpression:
        if len(ids) != x.shape[0]:
            raise ShapeError(f"pick_batch: {len(ids)} indices for a batch of {x.shape[0]}")
        index = (np.arange(len(ids)),) + (slice(None),) * dim + (ids,)
        return F.getitem(x, index)
    if dim != 0:
        x = F.permute_dims(x, (dim,) + tuple(k for k in range(x.ndim) if k != dim))
    return _batch(F.getitem(x, (ids,)))


_ranges = {}     # (axis, start, end) -> getitem's attribute dict, one per range


def pickrange(x, s, e, d=0):
    x = _ex(x)
    axis = _off(x) if d == 0 and d.__class__ is int else _axis(x, d, "pickrange")
    shape = x._meta[0] if x._value is None else x._value.shape
    if axis >= len(shape):
        _axis(x, d, "pickrange")            # a scalar: the error that says so
    n = shape[axis]
    if s.__class__ is not int or e.__class__ is not int:
        for name, v in (("start", s), ("end", e)):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
                raise ArgumentError(f"pickrange: {name} must be an integer, got {v!r}")
        s, e = int(s), int(e)
    if not 0 <= s < e <= n:
        raise BoundsError(f"pickrange: range [{s}, {e}) does not fit dimension {d} of size {n} "
                          f"(dims {_dims(x)}): need 0 <= start < end <= {n}")
    # the same attribute dict for every use of a range: the batching signature is memoized
    # on the dict's identity (rules.attrs_key), so a fresh one would be keyed anew per node
    attrs = _ranges.get((axis, s, e))
    if attrs is None:
        attrs = _ranges[(axis, s, e)] = {"index": (slice(None),) * axis + (slice(s, e),)}
    g = x._graph
    if g is _Current.cg and g is not None and not g.immediate_compute:
        return g._record_fast(_GETITEM, (x,), attrs, False)
    return _rec(_GETITEM, (x,), attrs)


def select_rows(x, rows):
    x = _ex(x)
    axis = _axis(x, 0, "select_rows")
    ids = _ids(rows, x.shape[axis], "select_rows", "row", f"dims {_dims(x)}")
    return F.getitem(x, (slice(None),) * axis + (ids,))


def select_cols(x, cols):
    x = _ex(x)
    axis = _axis(x, 1, "select_cols")
    ids = _ids(cols, x.shape[axis], "select_cols", "column", f"dims {_dims(x)}")
    return F.getitem(x, (slice(None),) * axis + (ids,))


_targets = {}


def _target(v):
    """Gold class v as a 0-d int64 constant (cached: the same few values recur)."""
    t = _targets.get(v)
    if t is None:
        t = _targets[v] = _make(np.array(v, dtype=np.int64))
        t._meta = intern_meta((), t._value.dtype)       # so that _record_fast keys it
    return t


def _column_as_vector(x, dims, fn, want):
    """DyNet's Dim {n, 1} is the vector {n} (a classifier `W * reshape(x, (n, 1))` gives
    scores of dims (10, 1)): such an x as a vector, anything else refused."""
    if len(dims) != 2 or dims[1] != 1:
        raise ShapeError(f"{fn}: expected {want}, got dims {tuple(dims)}")
    return reshape(x, dims[:1], x.shape[0] if _off(x) else 1), tuple(dims[:1])


def pickneglogsoftmax(x, v):
    """-log(softmax(x)[v]), one fused op computed from the log-sum-exp."""
    if isinstance(v, (list, tuple, np.ndarray)):
        raise ArgumentError(f"pickneglogsoftmax: the class must be an integer, got a list "
                            f"{v!r:.60}; pickneglogsoftmax_batch takes one class per batch "
                            f"element (as DyNet)")
    x = _ex(x)
    if x.__class__ is BatchedExpression:
        raise ArgumentValueError(f"pickneglogsoftmax: one class ({v!r}) for a batch of "
                                 f"{x.shape[0]}: pass a list of {x.shape[0]} classes (as DyNet)")
    v0 = x._value                      # x.shape without the property call: this is per word
    shape = x._meta[0] if v0 is None else v0.shape
    if len(shape) != 1:
        x, shape = _column_as_vector(x, shape, "pickneglogsoftmax", "a vector of scores")
    # the label is only an attribute to the loss's shape rule: out of range, it would fail
    # first in value(), inside NumPy; a negative one would pick from the end
    if v.__class__ is not int or not 0 <= v < shape[0]:
        v = _index(v, shape[0], "pickneglogsoftmax", "class", f"{shape[0]} classes")
    return _rec(_XENT, (x, _target(v)), _SUM)


def pickneglogsoftmax_batch(x, vs):
    x = _ex(x)
    dims = _dims(x)
    if len(dims) != 1:
        x, dims = _column_as_vector(x, dims, "pickneglogsoftmax_batch", "vectors of scores")
    ids = _ids(vs, dims[0], "pickneglogsoftmax_batch", "class", f"{dims[0]} classes")
    if x.__class__ is BatchedExpression and len(ids) != x.shape[0]:
        raise ShapeError(f"pickneglogsoftmax_batch: {len(ids)} classes for a batch of "
                         f"{x.shape[0]}")
    ids = _make(ids)
    if x.__class__ is not BatchedExpression:
        return _batch(apply(_XENT, (F.broadcast_to(x, (len(vs),) + x.shape), ids),
                            {"reduction": "none"}))
    return apply(_XENT, (x, ids), {"reduction": "none"})


def binary_log_loss(x, y):
    """-sum(y log x + (1 - y) log(1 - x)), with DyNet's care at x, y = 0 and 1 (ops/loss.py)."""
    x, y = _ex(x), _ex(y)
    if x.shape != y.shape and np.prod(x.shape) == np.prod(y.shape):   # () next to (1,)
        y = F.reshape(y, x.shape)
    return sum_elems(apply(OPS["dynet_binary_log_loss"], (x, y)))


def squared_distance(a, b):
    d = _ex(a) - _ex(b)
    return sum_elems(cmult(d, d))


def squared_norm(x):
    x = _ex(x)
    return sum_elems(cmult(x, x))


def l2_norm(x):
    return F.sqrt(squared_norm(x))


def l1_distance(a, b):
    return sum_elems(F.abs(_ex(a) - _ex(b)))


def hinge(x, index, m=1.0):
    """DyNet's multiclass hinge: sum over j != index of max(0, m - x[index] + x[j])."""
    x = _ex(x)
    picked = pick_batch(x, index) if isinstance(index, list) else pick(x, index)   # hinge_batch
    margins = F.relu(x - picked + m)
    return sum_elems(margins) - m        # the j == index term is exactly m


# --- shapes -----------------------------------------------------------------------------------

def concatenate(xs, d=0):
    if xs.__class__ is not list and not isinstance(xs, (list, tuple)):
        raise ArgumentError(f"concatenate: expected a list of expressions, got "
                            f"{type(xs).__name__} {xs!r:.60}")
    if not xs:
        raise ArgumentError("concatenate: expected a non-empty list of expressions")
    xs = [_ex(x) for x in xs]
    if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)) or not 0 <= d < 7:
        # a negative d would count from the end, and on a batch reach the batch axis; DyNet's
        # dims have at most 7 dimensions
        raise ShapeError(f"concatenate: d must be a dimension 0, 1, ..., 6, got {d!r}")
    if len(xs) == 1:
        return xs[0]
    # a missing trailing dimension is 1, as in elementwise ops: (n,1) and (n,) concatenate
    nd = max(max(x.ndim - _off(x) for x in xs), d + 1)
    xs = [x if x.ndim - _off(x) == nd else F.reshape(x, x.shape + (1,) * (nd - x.ndim + _off(x)))
          for x in xs]
    if any(x.__class__ is BatchedExpression for x in xs):
        return F.cat(_one_batch(xs), axis=d + 1)
    return F.cat(xs, axis=d)


def _one_batch(xs):
    """The unbatched ones of a list of expressions broadcast to the batch of the batched
    ones (DyNet's concatenations and logsumexp take such a mix)."""
    B = next(x.shape[0] for x in xs if x.__class__ is BatchedExpression)
    return [x if x.__class__ is BatchedExpression else _batch(F.broadcast_to(x, (B,) + x.shape))
            for x in xs]


def concatenate_cols(xs):
    xs = [_ex(x) for x in xs]
    if len(_dims(xs[0])) == 1:
        if any(x.__class__ is BatchedExpression for x in xs):
            xs = _one_batch(xs)
        return F.stack(xs, axis=-1)
    return concatenate(xs, d=1)


def concatenate_to_batch(xs):
    xs = [_ex(x) for x in xs]
    parts = [x if x.__class__ is BatchedExpression else F.reshape(x, (1,) + x.shape) for x in xs]
    return _batch(F.cat(parts, axis=0))


def _colmajor(x, off):
    """x with its DyNet dimensions reversed (the batch axis, if any, stays first): a
    row-major reshape of that reads the elements in DyNet's column-major order."""
    n = x.ndim
    if n - off < 2:
        return x
    return F.permute_dims(x, tuple(range(off)) + tuple(range(n - 1, off - 1, -1)))


def reshape(x, d, batch_size=1):
    """DyNet's reshape: the elements read column by column, batch element after batch
    element (DyNet's memory order), into batch_size elements of dims d."""
    x = _ex(x)
    d = _shape(d, "reshape")
    batch_size = _batch_size(batch_size, "reshape")
    off = _off(x)
    B = x.shape[0] if off else 1
    n = int(np.prod(_dims(x)))
    if batch_size == 1 and int(np.prod(d)) == n:
        batch_size = B                    # DyNet: dims that fit one element keep the batch
    if n * B != int(np.prod(d)) * batch_size:
        raise ShapeError(f"reshape: dims {_dims(x)} with batch {B} ({n * B} values) cannot be "
                         f"reshaped into dims {d} with batch {batch_size} "
                         f"({int(np.prod(d)) * batch_size} values)")
    if B == batch_size:                   # each batch element on its own
        return _colmajor(F.reshape(_colmajor(x, off), x.shape[:off] + d[::-1]), off)
    flat = F.reshape(_colmajor(x, off), (n * B,))
    if batch_size == 1:
        return _colmajor(_unbatch(F.reshape(flat, d[::-1])), 0)
    return _colmajor(_batch(F.reshape(flat, (batch_size,) + d[::-1])), 1)


def transpose(x, dims=(1, 0)):
    x = _ex(x)
    off = _off(x)
    if x.ndim - off == 1:                   # a column vector's transpose is a 1 x n row
        return F.reshape(x, x.shape[:off] + (1,) + x.shape[off:])
    return F.permute_dims(x, tuple(range(off)) + tuple(off + k for k in dims))


# --- noise and dropout --------------------------------------------------------------------------

def _keep_mask(x, p, shape, fn):
    """x times a fresh mask of the given shape: 1/(1-p) with probability 1-p, else 0."""
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, float, np.integer, np.floating)) \
            or not 0 <= p <= 1:
        raise ArgumentValueError(f"{fn}: p must be a probability in [0, 1], got {p!r}")
    if p == 0:
        return x
    keep = generator().random(shape) >= p
    mask = keep.astype(x.dtype) * x.dtype.type(1 / (1 - p)) if p < 1 else np.zeros(shape, x.dtype)
    return apply(_MUL, (x, _make(mask)))


def dropout(x, p):
    """Inverted dropout: each element zeroed with probability p, the rest scaled by 1/(1-p)."""
    x = _ex(x)
    return _keep_mask(x, p, x.shape, "dropout")


def dropout_batch(x, p):
    """Dropout of whole batch elements: one draw per element."""
    x = _ex(x)
    shape = (x.shape[0],) + (1,) * (x.ndim - 1) if _off(x) else (1,) * x.ndim
    return _keep_mask(x, p, shape, "dropout_batch")


def dropout_dim(x, d, p):
    """Dropout of whole slices along dimension d: one draw per index of the other dims, shared
    along d."""
    x = _ex(x)
    axis = _axis(x, d, "dropout_dim")
    shape = tuple(1 if k == axis else n for k, n in enumerate(x.shape))
    return _keep_mask(x, p, shape, "dropout_dim")


def noise(x, stddev):
    x = _ex(x)
    return apply(_ADD, (x, as_tensor(generator().normal(0.0, stddev, x.shape).astype(x.dtype))))


def block_dropout(x, p):
    """The whole expression (each batch element whole) zeroed with probability p, else
    scaled by 1/(1-p)."""
    x = _ex(x)
    shape = (x.shape[0],) + (1,) * (x.ndim - 1) if _off(x) else (1,) * x.ndim
    return _keep_mask(x, p, shape, "block_dropout")


# --- Expression's own methods ---------------------------------------------------------------------

def _forward(self, recalculate=False, what="forward()"):
    """Compute the expression (and every node before it); returns None, as DyNet's."""
    if self._graph is not _Current.cg:
        raise _stale(what)
    if recalculate:
        self._graph.invalidate()
    # a leaf has its value already, but DyNet's forward reaches it (and every node before
    # it) all the same: a parameter changed afterwards leaves the value asked for as it was
    self._graph.evaluate(self)


def _npvalue(self, recalculate=False):
    _forward(self, recalculate, "value()")
    # a float64 copy, as DyNet's (its npvalue converts the float32 tensor): a parameter's
    # node holds the parameter's own array, and a program's NumPy arithmetic on the value
    # (np.exp, sampling) runs in float64 there
    return _layout(self, self._value).astype(np.float64)


def _layout(node, v):
    """An array of node's shape as DyNet hands it out: the batch last, a batch of one as an
    ordinary value, a scalar as the 1-vector DyNet's dims (1,) make it."""
    if node.__class__ is BatchedExpression:
        if v.shape[0] != 1:
            return np.moveaxis(v if v.ndim > 1 else v.reshape(v.shape + (1,)), 0, -1)
        v = v[0]
    return v.reshape(1) if v.ndim == 0 else v


def _value(self, recalculate=False):
    """A float for a scalar (DyNet dims (1,)), else nested lists (the batch last)."""
    g = self._graph
    if self.__class__ is Expression and not recalculate and g is _Current.cg and g is not None:
        # the usual loss.value(): a float straight from the 0-d or 1-element array (float()
        # of a float32 is exact, as the float64 copy npvalue makes)
        g.evaluate(self)
        v = self._value
        if v.ndim == 0 or v.shape == (1,):
            return float(v.reshape(()))
    v = _npvalue(self, recalculate)
    if v.size == 1 and len(_dims(self)) <= 1 and (self.__class__ is not BatchedExpression
                                                  or self._value.shape[0] == 1):
        return float(v.reshape(()))
    return v.tolist()


def _scalar_value(self, recalculate=False):
    v = _npvalue(self, recalculate)
    if v.size != 1:
        raise ShapeError(f"scalar_value(): the expression has dims {self.dim()}, not a scalar")
    return float(v.reshape(()))


def _vec_value(self, recalculate=False):
    return _npvalue(self, recalculate).reshape(-1, order="F").tolist()


def _dim(self):
    if self._graph is not _Current.cg:
        raise _stale("dim()")
    off = _off(self)
    dims = tuple(self.shape[off:])
    return (dims or (1,)), (self.shape[0] if off else 1)


def _set(self, value):
    """Change an input's value; the graph recomputes what depends on it."""
    if self._graph is not _Current.cg:
        raise _stale("set()")
    if self.op is not None:
        raise ArgumentError("set(): only inputs (inputVector, vecInput, scalarInput, "
                            "inputTensor) can be set")
    a = _floats(value, "set")
    if a.size != self._value.size:
        raise ShapeError(f"set(): {a.size} values for an input of dims {self.dim()[0]}")
    self._value = a.reshape(self.shape)
    self._graph.invalidate()


def _getitem(self, index):
    """DyNet's Expression.__getitem__: x[i] picks along the first dimension (a negative i
    counts from the end), x[i:j:k] and x[i:j, k:l, ...] are strided_select over the dimensions
    in order -- one more slice than there are dimensions selects batch elements."""
    if isinstance(index, (int, np.integer)) and not isinstance(index, (bool, np.bool_)):
        dims = _dims(self)
        if not dims:
            raise ShapeError(f"expression[{index!r}]: a scalar expression cannot be indexed")
        n = dims[0]
        if not -n <= index < n:
            raise BoundsError(f"expression[{index}]: index out of range for dimension 0 of "
                              f"dims {dims} (valid: {-n}..{n - 1})")
        return pick(self, int(index) + n if index < 0 else int(index))
    if isinstance(index, slice):
        index = (index,)
    if not isinstance(index, tuple) or not all(isinstance(i, slice) for i in index):
        if self.__class__ is not BatchedExpression:
            # not a DyNet key (DyNet asserts): NumPy's indexing, which compgraph's own
            # functions may use on any node, and which on DyNet's dims means the same
            return F.getitem(self, index)
        raise ArgumentError(f"expression[{index!r}]: on a batched expression the key must be "
                            f"an integer, a slice or a tuple of slices (as in DyNet)")
    for i in index:
        if i.step is not None and i.step <= 0:
            raise ArgumentValueError(f"expression[...]: steps must be positive, got {i.step}")
    return strided_select(self, [1 if i.step is None else i.step for i in index],
                          [0 if i.start is None else i.start for i in index],
                          [None if i.stop is None else i.stop for i in index])


def strided_select(x, strides, range_from, range_to):
    """x[from[0]:to[0]:strides[0], ...] over DyNet's dimensions; an entry after the last
    dimension applies to the batch.  Missing entries take the whole dimension."""
    x = _ex(x)
    off = _off(x)
    dims = _dims(x)
    B = x.shape[0] if off else 1
    n = max(len(strides), len(range_from), len(range_to))
    if n > len(dims) + 1:
        raise ShapeError(f"strided_select: {n} ranges for an expression with dims {dims} and a "
                         f"batch (at most {len(dims) + 1})")
    key = [slice(None)] * x.ndim
    for k in range(n):
        size = dims[k] if k < len(dims) else B
        st = strides[k] if k < len(strides) else 1
        lo = range_from[k] if k < len(range_from) else 0
        hi = range_to[k] if k < len(range_to) and range_to[k] is not None else size
        for name, v in (("stride", st), ("start", lo), ("end", hi)):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
                raise ArgumentError(f"strided_select: the {name} must be an integer, got {v!r}")
        if st < 1 or not 0 <= lo < hi or hi > size:
            raise BoundsError(f"strided_select: range [{lo}:{hi}:{st}] does not fit "
                              f"{'the batch' if k == len(dims) else f'dimension {k}'} of size "
                              f"{size} (need stride >= 1 and 0 <= start < end <= {size})")
        axis = k + off if k < len(dims) else 0
        if k == len(dims) and not off:
            continue                      # the batch of an unbatched expression is 1 element
        key[axis] = slice(int(lo), int(hi), int(st))
    if all(k == slice(None) for k in key):
        return x
    return F.getitem(x, tuple(key))


Expression.value = _value
Expression.npvalue = _npvalue
Expression.scalar_value = _scalar_value
Expression.vec_value = _vec_value
Expression.dim = _dim
Expression.set = _set
Expression.__getitem__ = _getitem
Expression.forward = _forward
Expression.backward = lambda self, full=False: self._graph.dy_backward(self, full)
Expression.gradient = lambda self: self._graph.gradient_of(self)
Expression.tensor_value = _npvalue
