"""The rest of DyNet 2.1.2's expression functions, as compositions of compgraph's ops:
trigonometric and special functions, gradient control, statistics, losses, selection,
linear algebra, convolution and normalization.  Dimensions as in expr.py: DyNet's dims
after the batch axis of a batched expression; every function here is lazy (it only
records ops), so autobatching and set() see it as any other part of the graph.
"""
import math

import numpy as np

from .. import functional as F
from ..errors import ArgumentError, ArgumentValueError, ShapeError
from ..ops import OPS
from ..random import generator
from ..tensor import _make, apply
from .expr import (_F32, _align, _axis, _batch, _batch_size, _dims, _ex, _ids, _index, _off,
                   _shape, _unbatch, cg, cmult, concatenate_to_batch, hinge, pickrange,
                   sum_elems, zeros)
from .graph import BatchedExpression

_STOP, _ASIN, _ACOS, _ATAN, _ERF, _LGAMMA, _CONV, _POOL, _INV, _LOGDET = (OPS[n] for n in (
    "stop_gradient", "arcsin", "arccos", "arctan", "erf", "lgamma", "conv2d", "max_pool2d", "inv", "logdet"))


# --- inputs ---------------------------------------------------------------------------------------

def zeroes(dim, batch_size=1):
    """DyNet's other spelling of zeros."""
    return zeros(dim, batch_size)


def one_hot(d, idx, device=""):
    """A vector of d zeros with a 1 at idx; a list of indices gives a batch of them."""
    if isinstance(idx, (list, tuple, np.ndarray)):
        ids = _ids(idx, d, "one_hot", "index", f"a vector of {d}")
        a = np.zeros((len(ids), d), _F32)
        a[np.arange(len(ids)), ids] = 1
        return cg().leaf(a, batched=True)
    a = np.zeros(d, _F32)
    a[_index(idx, d, "one_hot", "index", f"a vector of {d}")] = 1
    return cg().leaf(a)


def sparse_inputTensor(idxs, values, shape, batched=False, defval=0, device=""):
    """A constant input of dims `shape` (the last one the batch with batched=True), defval
    everywhere but at the coordinates idxs (one index list per dimension), which get values."""
    shape = _shape(shape, "sparse_inputTensor", "shape")
    if len(idxs) != len(shape):
        raise ShapeError(f"sparse_inputTensor: {len(idxs)} index lists for a shape of "
                         f"{len(shape)} dimensions {shape}")
    a = np.full(shape, defval, _F32)
    coords = tuple(_ids(list(ix), n, "sparse_inputTensor", "index", f"dimension {k} of {shape}")
                   for k, (ix, n) in enumerate(zip(idxs, shape)))
    vals = np.asarray(values, _F32)
    if any(len(c) != vals.size for c in coords):
        raise ShapeError(f"sparse_inputTensor: {vals.size} values for index lists of lengths "
                         f"{[len(c) for c in coords]}")
    a[coords] = vals
    if batched:
        return cg().leaf(np.ascontiguousarray(np.moveaxis(a, -1, 0)), batched=True)
    return cg().leaf(a)


def random_gumbel(dim, mu=0.0, beta=1.0, batch_size=1):
    """Gumbel(mu, beta) noise: mu - beta log(-log(u)), u uniform in (0, 1)."""
    dim = _shape(dim, "random_gumbel")
    batch_size = _batch_size(batch_size, "random_gumbel")
    shape = ((batch_size,) if batch_size > 1 else ()) + dim
    u = generator().uniform(np.finfo(np.float32).tiny, 1.0, shape)
    return cg().leaf((mu - beta * np.log(-np.log(u))).astype(_F32), batched=batch_size > 1)


# --- gradient control -------------------------------------------------------------------------------

def nobackprop(x):
    """x, through which no gradient flows."""
    return apply(_STOP, (_ex(x),))


def scale_gradient(x, lambd=1.0):
    """x in the forward pass; its gradient times lambd in the backward pass.  The value is
    stop(x) + lambd * (x - stop(x)): exactly x, since x - stop(x) is exactly 0."""
    x = _ex(x)
    if lambd == 1.0:
        return x
    s = apply(_STOP, (x,))
    return s + (x - s) * float(lambd)


def flip_gradient(x):
    return scale_gradient(x, -1.0)


def _straight_through(x, y):
    """y's value with x's gradient (the straight-through estimator)."""
    return y + (x - apply(_STOP, (x,)))


def _gradient_mode(fn, mode):
    if mode not in ("zero_gradient", "straight_through_gradient"):
        raise ArgumentValueError(f"{fn}: gradient_mode must be 'zero_gradient' or "
                                 f"'straight_through_gradient', got {mode!r}")
    return mode == "straight_through_gradient"


def _rounding(fn, f):
    def rounded(x, gradient_mode):
        x = _ex(x)
        y = apply(_STOP, (f(x),))
        return _straight_through(x, y) if _gradient_mode(fn, gradient_mode) else y
    rounded.__name__ = rounded.__qualname__ = fn
    rounded.__code__ = rounded.__code__.replace(co_name=fn)   # errors name it (naming.py)
    rounded.__doc__ = f"DyNet's {fn}: zero gradient, or x's own with straight_through_gradient."
    return rounded


round = _rounding("round", F.round)  # noqa: A001  (DyNet's name)
ceil = _rounding("ceil", F.ceil)
floor = _rounding("floor", F.floor)


def argmax(x, gradient_mode):
    """A one-hot vector at the largest element of x (per batch element)."""
    x = _ex(x)
    if len(_dims(x)) != 1:
        raise ShapeError(f"argmax: expected a vector (per batch element), got dims {_dims(x)}")
    axis = _off(x)
    idx = F.argmax(x, axis=axis)                       # not differentiable: ints
    n = x.shape[axis]
    hot = F.astype(F.eq(F.reshape(idx, idx.shape + (1,)), _make(np.arange(n))), x.dtype)
    if x.__class__ is BatchedExpression and hot.__class__ is not BatchedExpression:
        hot = _batch(hot)
    return _straight_through(x, hot) if _gradient_mode("argmax", gradient_mode) else hot


# --- elementwise functions ---------------------------------------------------------------------------

def tan(x): x = _ex(x); return F.sin(x) / F.cos(x)                              # noqa: E702,E704
def asin(x): return apply(_ASIN, (_ex(x),))                                      # noqa: E704
def acos(x): return apply(_ACOS, (_ex(x),))                                      # noqa: E704
def atan(x): return apply(_ATAN, (_ex(x),))                                      # noqa: E704
def sinh(x): x = _ex(x); return (F.exp(x) - F.exp(-x)) * 0.5                    # noqa: E702,E704
def cosh(x): x = _ex(x); return (F.exp(x) + F.exp(-x)) * 0.5                    # noqa: E702,E704
def asinh(x): x = _ex(x); return F.log(x + F.sqrt(cmult(x, x) + 1.0))          # noqa: E702,E704
def acosh(x): x = _ex(x); return F.log(x + F.sqrt(cmult(x, x) - 1.0))          # noqa: E702,E704
def atanh(x): x = _ex(x); return F.log((1.0 + x) / (1.0 - x)) * 0.5            # noqa: E702,E704
def erf(x): return apply(_ERF, (_ex(x),))                                        # noqa: E704
def lgamma(x): return apply(_LGAMMA, (_ex(x),))                                  # noqa: E704
def log_sigmoid(x): return -F.softplus(-_ex(x))                                  # noqa: E704

_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def selu(x):
    return F.elu(_ex(x), _SELU_ALPHA) * _SELU_SCALE


def silu(x, beta=1.0):
    """x * sigmoid(beta x) (swish)."""
    x = _ex(x)
    return cmult(x, F.sigmoid(x * float(beta)))


def pow(x, y):  # noqa: A001  (DyNet's name)
    """x to the power y, elementwise (y a scalar expression, as DyNet requires)."""
    return F.pow(*_align(_ex(x), _ex(y)))


def emax(xs):
    """The elementwise maximum of a list of expressions."""
    xs = [_ex(x) for x in xs]
    if not xs:
        raise ArgumentError("emax: expected a non-empty list of expressions")
    out = xs[0]
    for x in xs[1:]:
        out = F.maximum(*_align(out, x))
    return out


# --- softmax and friends -------------------------------------------------------------------------

def sparsemax(x):
    """The Euclidean projection of a vector onto the simplex (Martins and Astudillo 2016):
    relu(x - tau), tau chosen so the result sums to 1.  Sort-free, so it stays lazy: element
    i is in the support iff 1 + k_i x_i > s_i, with k_i and s_i the count and the sum of the
    elements >= x_i."""
    x = _ex(x)
    dims = _dims(x)
    if len(dims) == 2 and dims[1] == 1 and x.__class__ is not BatchedExpression:
        # DyNet's Dim {n, 1} is the vector {n}; the result keeps x's dims
        return F.reshape(sparsemax(F.reshape(x, dims[:1])), dims)
    if len(dims) != 1 or x.__class__ is BatchedExpression:
        raise ShapeError(f"sparsemax: DyNet's takes one vector, got dims {dims}"
                         + (" in a batch" if _off(x) else ""))
    ge = F.astype(F.ge(F.reshape(x, (1, dims[0])), F.reshape(x, (dims[0], 1))), x.dtype)
    ge = apply(_STOP, (ge,))                     # row i: the elements >= x_i
    k, s = F.sum(ge, axis=1), F.matmul(ge, x)
    support = apply(_STOP, (F.astype(F.gt(cmult(k, x) + 1.0, s), x.dtype),))
    tau = (F.sum(cmult(support, x)) - 1.0) / F.sum(support)
    return F.relu(x - tau)


def logsumexp_dim(x, d=0):
    x = _ex(x)
    return F.logsumexp(x, axis=_axis(x, d, "logsumexp_dim"))


# --- statistics -------------------------------------------------------------------------------------

def _reduce_axes(x, d, b, fn):
    ds = d if isinstance(d, (list, tuple)) else [d]
    axes = tuple(_axis(x, k, fn) for k in ds)
    if b and _off(x):
        axes = (0,) + axes
    return axes


def _moment(x, axes, r, n):
    """sum(x^r)/n over axes (n > 0 overrides the count, as DyNet's masking argument)."""
    count = int(np.prod([x.shape[a] for a in axes])) if axes else 1
    p = x
    for _ in range(int(r) - 1):
        p = cmult(p, x)
    return F.sum(p, axis=axes) * (1.0 / (n if n > 0 else count))


def _std(x, axes, n):
    count = int(np.prod([x.shape[a] for a in axes])) if axes else 1
    mean = F.sum(x, axis=axes, keepdims=True) * (1.0 / (n if n > 0 else count))
    c = x - mean
    return F.sqrt(F.sum(cmult(c, c), axis=axes) * (1.0 / (n if n > 0 else count)))


def _result(x, b):
    out = x
    if b and out.__class__ is BatchedExpression:
        _unbatch(out)
    return out


def std_elems(x):
    """The standard deviation of all elements (1/n, per batch element)."""
    x = _ex(x)
    return _std(x, tuple(range(_off(x), x.ndim)), 0)


def std_dim(x, d, b=False, n=0):
    x = _ex(x)
    axes = _reduce_axes(x, d, b, "std_dim")
    count = int(np.prod([x.shape[a] for a in axes]))
    if n and n != count:
        raise ArgumentValueError(f"std_dim: DyNet 2.1.2 ignores n (it divides by the count, "
                                 f"{count} here) though it documents n={n} as the divisor; pass "
                                 f"n=0, or compute it with moment_dim and sqrt")
    return _result(_std(x, axes, 0), b)


def std_batches(x):
    x = _ex(x)
    if x.__class__ is not BatchedExpression:
        return x * 0.0
    return _unbatch(_std(x, (0,), 0))


def moment_elems(x, r):
    x = _ex(x)
    return _moment(x, tuple(range(_off(x), x.ndim)), r, 0)


def moment_dim(x, d, r, b=False, n=0):
    x = _ex(x)
    return _result(_moment(x, _reduce_axes(x, d, b, "moment_dim"), r, n), b)


def moment_batches(x, r):
    x = _ex(x)
    if x.__class__ is not BatchedExpression:
        return _moment(x, (), r, 0)
    return _unbatch(_moment(x, (0,), r, 0))


def cumsum(x, d=0):
    x = _ex(x)
    return F.cumsum(x, _axis(x, d, "cumsum"))


# --- losses -------------------------------------------------------------------------------------------

def hinge_batch(x, indices, m=1.0):
    """hinge per batch element, with its own correct class."""
    x = _ex(x)
    return hinge(x, list(indices), m)


def hinge_dim(x, v, d=0, m=1.0):
    """Hinge losses along dimension d of a matrix, one per index of the other dimension:
    v[j] is the correct entry of column j (d=0) or of row j (d=1)."""
    x = _ex(x)
    dims = _dims(x)
    if len(dims) != 2:
        raise ShapeError(f"hinge_dim: expected a matrix, got dims {dims}")
    axis = _axis(x, d, "hinge_dim")
    other = _off(x) + (1 - d)
    ids = _ids(v, x.shape[axis], "hinge_dim", "index", f"dimension {d} of dims {dims}")
    if len(ids) != x.shape[other]:
        raise ShapeError(f"hinge_dim: {len(ids)} indices for {x.shape[other]} "
                         f"{'columns' if d == 0 else 'rows'} of dims {dims}")
    hot = np.zeros(dims, x.dtype)
    if d == 0:
        hot[ids, np.arange(len(ids))] = 1
    else:
        hot[np.arange(len(ids)), ids] = 1
    correct = F.sum(cmult(x, _make(hot)), axis=axis, keepdims=True)
    margins = F.relu(x - correct + float(m))
    return F.sum(margins, axis=axis) - float(m)        # the correct entry's own term is m


def pairwise_rank_loss(x, y, m=1.0):
    """max(0, m - x + y), for scalar x and y (DyNet's dims (1,))."""
    x, y = _ex(x), _ex(y)
    for name, e in (("x", x), ("y", y)):
        if int(np.prod(_dims(e))) != 1:
            raise ShapeError(f"pairwise_rank_loss: {name} must be a scalar (per batch element), "
                             f"got dims {_dims(e)}")
    return F.relu(float(m) - x + y)


def poisson_loss(log_lambda, x):
    """-log Poisson(x; exp(log_lambda)) = exp(log_lambda) - x log_lambda + lgamma(x + 1)."""
    ll = _ex(log_lambda)
    x = _index(x, 2 ** 31, "poisson_loss", "target count", "counts 0, 1, ...")
    return F.exp(ll) - ll * float(x) + math.lgamma(x + 1)


def huber_distance(x, y, c=1.345):
    """sum of 0.5 d^2 where |d| <= c, c |d| - 0.5 c^2 elsewhere (d = x - y)."""
    d = F.sub(*_align(_ex(x), _ex(y)))
    a = F.abs(d)
    c = float(c)
    small = apply(_STOP, (F.astype(F.le(a, c), d.dtype),))
    return sum_elems(cmult(small, cmult(d, d) * 0.5) + cmult(1.0 - small, a * c - 0.5 * c * c))


# --- selection and shapes ------------------------------------------------------------------------

pick_range = pickrange      # DyNet's two names of one function (one call less per gate)


def pick_batch_elem(x, v):
    """Batch element v of a batched expression (an unbatched one)."""
    x = _ex(x)
    B = x.shape[0] if _off(x) else 1
    v = _index(v, B, "pick_batch_elem", "batch element", f"a batch of {B}")
    if not _off(x):
        return x
    return _unbatch(F.getitem(x, (v,)))


def pick_batch_elems(x, vs):
    """The batch elements vs, as a batch."""
    x = _ex(x)
    B = x.shape[0] if _off(x) else 1
    ids = _ids(vs, B, "pick_batch_elems", "batch element", f"a batch of {B}")
    if not _off(x):
        return concatenate_to_batch([x] * len(ids))
    return F.getitem(x, (ids,))


def fold_rows(x, nrows=2):
    """Sums each nrows consecutive rows: row i of the result is rows i*nrows .. i*nrows+nrows-1."""
    x = _ex(x)
    off = _off(x)
    dims = _dims(x)
    if off:
        raise ShapeError("fold_rows: DyNet 2.1.2 folds one matrix (given a batch, it returns a "
                         "single element); fold each element, or reshape the batch away first")
    if len(dims) == 1:                    # a vector is a one-column matrix
        x, dims = F.reshape(x, x.shape + (1,)), dims + (1,)
    if len(dims) != 2 or dims[0] % nrows:
        raise ShapeError(f"fold_rows: expected a matrix whose rows divide by {nrows}, got dims {dims}")
    return F.sum(F.reshape(x, x.shape[:off] + (dims[0] // nrows, nrows, dims[1])), axis=off + 1)


def kmh_ngram(x, n):
    """Column j of the result is the sum of columns j .. j+n-1 of x."""
    x = _ex(x)
    dims = _dims(x)
    if len(dims) != 2 or not 0 < n <= dims[1]:
        raise ShapeError(f"kmh_ngram: expected a matrix with at least {n} columns, got dims {dims}")
    off = _off(x)
    cols = dims[1] - n + 1
    out = F.getitem(x, (slice(None),) * (off + 1) + (slice(0, cols),))
    for k in range(1, n):
        out = out + F.getitem(x, (slice(None),) * (off + 1) + (slice(k, k + cols),))
    return out


def kmax_pooling(x, k, d=1):
    """The k largest values along dimension d, in the order they appear.  Stays lazy: the
    ranks come from comparisons, the selection is a product with a 0/1 matrix built from
    them (no gradient through that), so the values' gradient goes to the picked entries."""
    x = _ex(x)
    off = _off(x)
    if len(_dims(x)) != 2:
        raise ShapeError(f"kmax_pooling: expected a matrix, got dims {_dims(x)}")
    axis = _axis(x, d, "kmax_pooling")
    n = x.shape[axis]
    if not 0 < k <= n:
        raise ShapeError(f"kmax_pooling: k={k} does not fit dimension {d} of size {n}")
    # work on (..., n) with the pooled axis last
    xt = x if axis == x.ndim - 1 else F.swapaxes(x, axis, -1)
    a, b = F.reshape(xt, xt.shape + (1,)), F.reshape(xt, xt.shape[:-1] + (1, n))
    # rank of element i: how many come before it in (value desc, position asc) order
    before = F.logical_or(F.gt(b, a), F.logical_and(F.eq(b, a), _make(np.tri(n, k=-1, dtype=bool))))
    rank = F.sum(F.astype(before, np.int64), axis=-1)
    keep = F.lt(rank, k)
    slot = F.cumsum(F.astype(keep, np.int64), -1) - 1
    sel = F.logical_and(F.reshape(keep, keep.shape[:-1] + (1, n)),
                        F.eq(F.reshape(slot, slot.shape[:-1] + (1, n)),
                             _make(np.arange(k).reshape(k, 1))))
    sel = apply(_STOP, (F.astype(sel, x.dtype),))         # (..., k, n)
    out = F.reshape(F.matmul(sel, F.reshape(xt, xt.shape + (1,))), xt.shape[:-1] + (k,))
    return out if axis == x.ndim - 1 else F.swapaxes(out, axis, -1)


# --- linear algebra ------------------------------------------------------------------------------------

def _square(x, fn):
    x = _ex(x)
    dims = _dims(x)
    if len(dims) != 2 or dims[0] != dims[1] or _off(x):
        raise ShapeError(f"{fn}: expected one square matrix, got dims {dims}"
                         + (" in a batch" if _off(x) else ""))
    return x


def inverse(x):
    return apply(_INV, (_square(x, "inverse"),))


def logdet(x):
    """log |det x|, for a matrix with positive determinant (as DyNet's)."""
    return apply(_LOGDET, (_square(x, "logdet"),))


def trace_of_product(x, y):
    """Tr(x y^T) = sum of x * y."""
    return sum_elems(cmult(_ex(x), _ex(y)))


def _circulant(v, sign):
    """The matrix M with M[k, i] = v[(sign*i + k) mod n] (sign -1: convolution, +1: correlation)."""
    n = _dims(v)[0]
    k, i = np.arange(n).reshape(n, 1), np.arange(n).reshape(1, n)
    return F.getitem(v, (slice(None),) * _off(v) + (_make(((k + sign * i) % n).astype(np.int64)),))


def circ_conv(u, v):
    """[u * v]_k = sum_i u_i v_{(k - i) mod n}."""
    u, v = _ex(u), _ex(v)
    return F.sum(cmult(_circulant(v, -1), F.reshape(u, u.shape[:_off(u)] + (1,) + _dims(u))), axis=-1)


def circ_corr(u, v):
    """[u star v]_k = sum_i u_i v_{(i + k) mod n}."""
    u, v = _ex(u), _ex(v)
    return F.sum(cmult(_circulant(v, 1), F.reshape(u, u.shape[:_off(u)] + (1,) + _dims(u))), axis=-1)


def contract3d_1d(x, y):
    """t[i, j] = sum_k x[i, j, k] y[k]."""
    x, y = _ex(x), _ex(y)
    return F.sum(cmult(x, F.reshape(y, y.shape[:_off(y)] + (1, 1) + _dims(y))), axis=-1)


def contract3d_1d_bias(x, y, b):
    return contract3d_1d(x, y) + _ex(b)


def contract3d_1d_1d(x, y, z):
    """t[i] = sum_{j,k} x[i, j, k] y[k] z[j]."""
    z = _ex(z)
    return F.sum(cmult(contract3d_1d(x, y), F.reshape(z, z.shape[:_off(z)] + (1,) + _dims(z))), axis=-1)


def contract3d_1d_1d_bias(x, y, z, b):
    return contract3d_1d_1d(x, y, z) + _ex(b)


# --- convolution -------------------------------------------------------------------------------------------

def filter1d_narrow(x, f):
    """Narrow 1-d filtering of the columns of x (d, n) by f (d, w): (1, n-w+1); a stack of
    filters (d, w, k) gives (k, n-w+1).  Not flipped (a correlation, as DyNet's)."""
    x, f = _ex(x), _ex(f)
    xd, fd = _dims(x), _dims(f)
    if _off(x) or _off(f):
        raise ShapeError("filter1d_narrow: DyNet 2.1.2 filters one matrix (given a batch, it "
                         "returns a single element); filter each element on its own")
    if len(xd) != 2 or len(fd) not in (2, 3) or fd[0] != xd[0] or fd[1] > xd[1]:
        raise ShapeError(f"filter1d_narrow: expected x (d, n) and filters (d, w) or (d, w, k) "
                         f"with w <= n, got dims {xd} and {fd}")
    w = fd[1]
    cols = xd[1] - w + 1
    # columns[.., r, j, t] = x[r, j + t]: one getitem with a constant index
    idx = _make((np.arange(cols).reshape(cols, 1) + np.arange(w)).astype(np.int64))
    win = F.getitem(x, (slice(None),) * (_off(x) + 1) + (idx,))      # (.., d, cols, w)
    if len(fd) == 2:
        ff = F.reshape(f, f.shape[:_off(f)] + (fd[0], 1, w))
        return F.reshape(F.sum(cmult(win, ff), axis=(-3, -1)), win.shape[:_off(x)] + (1, cols))
    ff = F.reshape(F.permute_dims(f, tuple(range(_off(f))) + tuple(_off(f) + a for a in (2, 0, 1))),
                   f.shape[:_off(f)] + (fd[2], fd[0], 1, w))             # (k, d, 1, w)
    win = F.reshape(win, win.shape[:_off(x)] + (1,) + win.shape[_off(x):])
    return F.sum(cmult(win, ff), axis=(-3, -1))


def _same_pads(size, k, s):
    """TensorFlow's (and Eigen's) SAME padding: the output has ceil(size/s) positions, the
    padding split with the extra one after."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return (total // 2, total - total // 2)


def _nchw(x, fn, what="x"):
    """x (H, W, C) -- or a batch of them -- as an (N, C, H, W) node."""
    dims = _dims(x)
    if len(dims) not in (2, 3):
        raise ShapeError(f"{fn}: {what} must have dims (H, W, C) or (H, W), got {dims}")
    if len(dims) == 2:
        x = F.reshape(x, x.shape + (1,))
    if _off(x):
        return F.permute_dims(x, (0, 3, 1, 2))
    return F.reshape(F.permute_dims(x, (2, 0, 1)), (1,) + x.shape[2:] + x.shape[:2])


def _back(y, batched):
    """(N, C, H, W) back to DyNet's (H, W, C), batched if the input was."""
    if batched:
        return F.permute_dims(y, (0, 2, 3, 1))
    return _unbatch(F.permute_dims(F.reshape(y, y.shape[1:]), (1, 2, 0)))


def _stride(stride, fn):
    st = tuple(stride) if isinstance(stride, (list, tuple)) else (stride, stride)
    if len(st) != 2 or not all(isinstance(s, (int, np.integer)) and s >= 1 for s in st):
        raise ArgumentValueError(f"{fn}: stride must be two positive integers, got {stride!r}")
    return tuple(int(s) for s in st)


def conv2d(x, f, stride, is_valid=True):
    """DyNet's 2-d convolution: x (H, W, C_in), filters f (kH, kW, C_in, C_out), a correlation
    (the filter not flipped), VALID or (is_valid=False) TensorFlow's SAME padding."""
    x, f = _ex(x), _ex(f)
    st = _stride(stride, "conv2d")
    fd = _dims(f)
    xd = _dims(x)
    # an (H, W) input is DyNet's (H, W, 1): its Dim drops trailing 1s (MNIST images as they come)
    if len(fd) != 4 or _off(f) or len(xd) not in (2, 3) or (xd[2:] or (1,))[0] != fd[2]:
        raise ShapeError(f"conv2d: expected x (H, W, C_in) and filters (kH, kW, C_in, C_out), got "
                         f"dims {xd} and {fd}")
    if is_valid and (xd[0] < fd[0] or xd[1] < fd[1]):
        raise ShapeError(f"conv2d: in VALID convolution the filter {fd[:2]} must fit the input "
                         f"{xd[:2]}")
    pads = ((0, 0), (0, 0)) if is_valid else (_same_pads(xd[0], fd[0], st[0]),
                                              _same_pads(xd[1], fd[1], st[1]))
    w = F.permute_dims(f, (3, 2, 0, 1))                    # (C_out, C_in, kH, kW)
    y = apply(_CONV, (_nchw(x, "conv2d"), w),
              {"stride": st, "padding": pads, "dilation": (1, 1), "groups": 1})
    return _back(y, bool(_off(x)))


def conv2d_bias(x, f, b, stride, is_valid=True):
    return conv2d(x, f, stride, is_valid) + F.reshape(_ex(b), (1, 1, -1))


def maxpooling2d(x, ksize, stride, is_valid=True):
    """Max pooling over (H, W) of x (H, W, C), VALID or TensorFlow's SAME padding."""
    x = _ex(x)
    ks, st = _stride(ksize, "maxpooling2d"), _stride(stride, "maxpooling2d")
    xd = _dims(x)
    if len(xd) not in (2, 3):
        raise ShapeError(f"maxpooling2d: expected x (H, W, C), got dims {xd}")
    if is_valid and (xd[0] < ks[0] or xd[1] < ks[1]):
        raise ShapeError(f"maxpooling2d: in VALID pooling the window {ks} must fit the input {xd[:2]}")
    if is_valid:
        pads = ((0, 0), (0, 0))
        # DyNet's VALID output has ceil((H - k + 1) / s) rows: a last, partial window counts
        extra = [(-(-(n - k + 1) // s) - 1) * s + k - n for n, k, s in zip(xd[:2], ks, st)]
        pads = tuple((0, max(e, 0)) for e in extra)
    else:
        pads = (_same_pads(xd[0], ks[0], st[0]), _same_pads(xd[1], ks[1], st[1]))
    y = apply(_POOL, (_nchw(x, "maxpooling2d"),),
              {"kernel": ks, "stride": st, "padding": pads, "dilation": (1, 1)})
    out = _back(y, bool(_off(x)))
    return out if len(xd) == 3 else F.reshape(out, out.shape[:-1])


# --- normalization -------------------------------------------------------------------------------------

def layer_norm(x, g, b):
    """g * (x - mean) / std + b over the elements of the vector x (per batch element)."""
    x, g, b = _ex(x), _ex(g), _ex(b)
    if len(_dims(x)) != 1:
        raise ShapeError(f"layer_norm: expected a vector (per batch element), got dims {_dims(x)}")
    axis = _off(x)
    n = x.shape[axis]
    c = x - F.sum(x, axis=axis, keepdims=True) * (1.0 / n)
    std = F.sqrt(F.sum(cmult(c, c), axis=axis, keepdims=True) * (1.0 / n) + 1e-8)
    return cmult(g, c / std) + b


def weight_norm(w, g):
    """g * w / ||w|| (g a scalar)."""
    w, g = _ex(w), _ex(g)
    return cmult(w, g / F.sqrt(sum_elems(cmult(w, w))))


# --- evaluation helpers -----------------------------------------------------------------------------------

def forward(exps, recalculate=False):
    """Compute a list of expressions in one pass (autobatching sees them together)."""
    exps = [_ex(e) for e in exps]
    if exps:
        g = exps[0]._graph
        if recalculate:
            g.invalidate()
        g.evaluate(max(exps, key=lambda e: e._index))


def npvalues(exps, recalculate=False):
    forward(exps, recalculate)
    return [e.npvalue() for e in exps]


def values(exps, recalculate=False):
    forward(exps, recalculate)
    return [e.value() for e in exps]


def to_device(e, device_str):
    """Only the CPU exists in this dialect: the expression itself, or a clear error."""
    if str(device_str).upper() not in ("CPU", "CPU:0", ""):
        raise ArgumentValueError(f"to_device: compgraph.dynet computes on the CPU only; device "
                                 f"{device_str!r} is not available (use 'CPU')")
    return _ex(e)
