"""Reductions over axes (sum, mean, max, var, ...), softmax and friends, argmax."""
import math

import numpy as np

from ..errors import DimError
from .promote import floating, wide_integers
from . import fast
from .table import defop, fmt, normalize_axis, reduce_shape


def _kept(shape, axis):
    """The shape the reduced result has with keepdims=True."""
    axes = normalize_axis("reduce", axis, len(shape))
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


def _count(shape, axis):
    axes = normalize_axis("reduce", axis, len(shape))
    n = 1
    for i in axes:
        n *= shape[i]
    return n


def _spread(xp, g, a, axis):
    """g of a reduced result, reshaped with kept dims and broadcast back over a's shape."""
    return xp.broadcast_to(xp.reshape(g, _kept(a.shape, axis)), a.shape)


def _reduction(name, fwd, vjp, **kw):
    return defop(name, fwd, vjp, shape=reduce_shape(name), **kw)


def _per_element(shape, axis):
    """1 / n for a mean over n elements; nan over none, as PyTorch's gradient (the mean of
    nothing is nan too), not a ZeroDivisionError."""
    n = _count(shape, axis)
    return 1.0 / n if n else math.nan


# integer and bool sums are int64 whatever the input's width, as in PyTorch
_reduction("sum", lambda xp, a, axis=None, keepdims=False: xp.sum(a, axis=axis, keepdims=keepdims),
           lambda xp, g, ans, a, axis=None, keepdims=False: _spread(xp, g, a, axis),
           promote=wide_integers)
_reduction("mean", lambda xp, a, axis=None, keepdims=False: xp.mean(a, axis=axis, keepdims=keepdims),
           lambda xp, g, ans, a, axis=None, keepdims=False:
               _spread(xp, g, a, axis) * _per_element(a.shape, axis))


def _extreme_vjp(xp, g, ans, a, axis=None, keepdims=False):
    # the gradient goes to the extreme element(s); ties share it evenly
    hit = a == xp.reshape(ans, _kept(a.shape, axis))
    share = xp.astype(xp.sum(hit, axis=axis, keepdims=True), g.dtype)
    return xp.where(hit, _spread(xp, g, a, axis) / share, 0)


def extreme_shape(name):
    """reduce_shape, and no reduction over an empty dimension: a max of nothing has no value."""
    base = reduce_shape(name)

    def rule(shape, axis=None, keepdims=False, **attrs):
        for i in normalize_axis(name, axis, len(shape)):
            if shape[i] == 0:
                # DimError: PyTorch raises IndexError here (RuntimeError without a dim)
                raise DimError(f"{name}: dim {i} of a tensor of shape {fmt(shape)} is empty, so "
                                 "it has no extreme to take; give a dim whose size is not 0")
        return base(shape, axis, keepdims, **attrs)
    return rule


defop("max", lambda xp, a, axis=None, keepdims=False: xp.max(a, axis=axis, keepdims=keepdims),
      _extreme_vjp, shape=extreme_shape("max"))
defop("min", lambda xp, a, axis=None, keepdims=False: xp.min(a, axis=axis, keepdims=keepdims),
      _extreme_vjp, shape=extreme_shape("min"))
def _prod_vjp(xp, g, ans, a, axis=None, keepdims=False):
    """d prod / d a_i is the product of the others: prod / a_i where a_i != 0; where one
    element is zero, that element gets the product of the rest; two zeros: all zero."""
    zero = a == 0
    zeros = xp.sum(zero, axis=axis, keepdims=True)
    safe = xp.where(zero, 1, a)
    rest = xp.prod(safe, axis=axis, keepdims=True)
    others = xp.where(zeros == 0, rest / safe, xp.where(zero, xp.where(zeros == 1, rest, 0), 0))
    return _spread(xp, g, a, axis) * others


_reduction("prod", lambda xp, a, axis=None, keepdims=False: xp.prod(a, axis=axis, keepdims=keepdims),
           _prod_vjp, promote=wide_integers)


def _var(xp, a, axis=None, keepdims=False, correction=1):
    if _count(a.shape, axis) > correction:
        return xp.var(a, axis=axis, keepdims=keepdims, ddof=correction)
    # no degrees of freedom left: the sum of squares over 0 (nan, or inf), without NumPy's
    # warnings (functional.var warns once, from the user's line, as PyTorch does; a
    # warnings filter here would reset Python's once-per-line registry)
    centered = a - xp.mean(a, axis=axis, keepdims=True)
    with np.errstate(all="ignore"):
        return xp.sum(centered * centered, axis=axis, keepdims=keepdims) / a.dtype.type(0)


def _per_dof(shape, axis, correction, c):
    """c / (n - correction): nan where no degrees of freedom are left, as PyTorch's
    gradient is (the forward is nan there too), not a ZeroDivisionError."""
    dof = max(_count(shape, axis) - correction, 0)
    return c / dof if dof else math.nan


def _var_vjp(xp, g, ans, a, axis=None, keepdims=False, correction=1):
    centered = a - xp.mean(a, axis=axis, keepdims=True)
    return _spread(xp, g, a, axis) * centered * _per_dof(a.shape, axis, correction, 2.0)


def _std_vjp(xp, g, ans, a, axis=None, keepdims=False, correction=1):
    centered = a - xp.mean(a, axis=axis, keepdims=True)
    # where std is 0 (all values equal) the gradient is 0, as PyTorch's, not 0/0
    zero = ans == 0
    g = xp.where(zero, 0, g) / xp.where(zero, 1, ans)
    return _spread(xp, g, a, axis) * centered * _per_dof(a.shape, axis, correction, 1.0)


_reduction("var", _var, _var_vjp)
_reduction("std", lambda xp, a, axis=None, keepdims=False, correction=1:
           xp.sqrt(_var(xp, a, axis, keepdims, correction)), _std_vjp)


def _logsumexp(xp, a, axis=None, keepdims=False):
    if 0 in a.shape:                  # the log of an empty sum: -inf (max has no identity)
        return xp.full(reduce_shape("logsumexp")(a.shape, axis, keepdims), -math.inf, a.dtype)
    m = xp.max(a, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)  # all -inf along an axis stays -inf, not nan
    out = xp.log(xp.sum(xp.exp(a - m), axis=axis, keepdims=True)) + m
    return out if keepdims else xp.reshape(out, reduce_shape("logsumexp")(a.shape, axis))


_reduction("logsumexp", _logsumexp,
           lambda xp, g, ans, a, axis=None, keepdims=False:
               _spread(xp, g, a, axis) * xp.exp(a - xp.reshape(ans, _kept(a.shape, axis))),
           promote=floating)


def _softmax(xp, a, axis=-1):
    if 0 in a.shape:                  # an empty softmax is empty (max has no identity)
        normalize_axis("softmax", axis, a.ndim)
        return a * 1
    if getattr(xp, "is_numpy", False) and a.dtype.kind == "f" and a.ndim:   # 0-d: no out=
        return fast.softmax(a, axis)
    e = xp.exp(a - xp.max(a, axis=axis, keepdims=True))
    return e / xp.sum(e, axis=axis, keepdims=True)


def _log_softmax(xp, a, axis=-1):
    if 0 in a.shape:
        normalize_axis("log_softmax", axis, a.ndim)
        return a * 1
    if getattr(xp, "is_numpy", False) and a.dtype.kind == "f" and a.ndim:
        return fast.log_softmax(a, axis)
    shifted = a - xp.max(a, axis=axis, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


def _along_shape(name):
    def rule(shape, axis=-1):
        normalize_axis(name, axis, len(shape))       # a dim out of range fails here, when built
        return shape
    return rule


def _softmax_vjp(xp, g, ans, a, axis=-1):
    if getattr(xp, "is_numpy", False) and g.dtype == ans.dtype and g.ndim:
        return fast.softmax_vjp(g, ans, axis)
    return ans * (g - xp.sum(g * ans, axis=axis, keepdims=True))


def _log_softmax_vjp(xp, g, ans, a, axis=-1):
    if getattr(xp, "is_numpy", False) and g.dtype == ans.dtype and g.ndim:
        return fast.log_softmax_vjp(g, ans, axis)
    return g - xp.exp(ans) * xp.sum(g, axis=axis, keepdims=True)


defop("softmax", _softmax, _softmax_vjp, shape=_along_shape("softmax"))
defop("log_softmax", _log_softmax, _log_softmax_vjp, shape=_along_shape("log_softmax"))

_int64 = lambda *dtypes, **attrs: np.dtype(np.int64)  # noqa: E731
defop("argmax", lambda xp, a, axis=None, keepdims=False: xp.argmax(a, axis=axis, keepdims=keepdims),
      shape=extreme_shape("argmax"), nondiff=True, dtype=_int64)
defop("argmin", lambda xp, a, axis=None, keepdims=False: xp.argmin(a, axis=axis, keepdims=keepdims),
      shape=extreme_shape("argmin"), nondiff=True, dtype=_int64)


# --- any / all: boolean reductions, no gradient ----------------------------------------------
_bool = lambda *dtypes, **attrs: np.dtype(np.bool_)  # noqa: E731
defop("any", lambda xp, a, axis=None, keepdims=False: xp.any(a, axis=axis, keepdims=keepdims),
      shape=reduce_shape("any"), nondiff=True, dtype=_bool)
defop("all", lambda xp, a, axis=None, keepdims=False: xp.all(a, axis=axis, keepdims=keepdims),
      shape=reduce_shape("all"), nondiff=True, dtype=_bool)


# --- vector norms ------------------------------------------------------------------------------

def _vector_norm(xp, a, ord=2, axis=None, keepdims=False):
    if ord == 2:
        return xp.sqrt(xp.sum(a * a, axis=axis, keepdims=keepdims))
    m = xp.abs(a)
    if ord == math.inf:
        return xp.max(m, axis=axis, keepdims=keepdims)
    if ord == -math.inf:
        return xp.min(m, axis=axis, keepdims=keepdims)
    if ord == 0:
        return xp.astype(xp.sum(a != 0, axis=axis, keepdims=keepdims), a.dtype)
    if ord == 1:
        return xp.sum(m, axis=axis, keepdims=keepdims)
    return xp.sum(m ** ord, axis=axis, keepdims=keepdims) ** (1.0 / ord)


def _vector_norm_vjp(xp, g, ans, a, ord=2, axis=None, keepdims=False):
    """d|a|_p/da = sign(a) |a|^(p-1) / |a|_p^(p-1); at the zero vector 0, as PyTorch has it
    (the formula is 0/0 there, and a norm used as a penalty must not turn weights to nan)."""
    n = xp.reshape(ans, _kept(a.shape, axis))
    gs = _spread(xp, g, a, axis)
    if ord == 0:
        return gs * 0
    if ord == 1:
        return gs * xp.sign(a)
    if ord in (math.inf, -math.inf):     # to the extreme element(s), ties share it
        hit = xp.abs(a) == n
        share = xp.astype(xp.sum(hit, axis=axis, keepdims=True), g.dtype)
        return xp.where(hit, gs * xp.sign(a) / share, 0)
    zero = n == 0
    safe = xp.where(zero, 1, n)
    if ord == 2:
        return xp.where(zero, 0, gs * a / safe)
    return xp.where(zero, 0, gs * xp.sign(a) * xp.abs(a) ** (ord - 1) / safe ** (ord - 1))


defop("vector_norm", _vector_norm, _vector_norm_vjp, shape=reduce_shape("vector_norm"))


# --- scans ----------------------------------------------------------------------------------------
# the gradient of a running sum is the running sum of g taken from the other end
defop("cumsum", lambda xp, a, axis: xp.cumsum(a, axis),
      lambda xp, g, ans, a, axis: xp.flip(xp.cumsum(xp.flip(g, axis), axis), axis),
      shape=lambda s, axis: s, promote=wide_integers)


def _rev_cumsum(xp, x, axis):
    return xp.flip(xp.cumsum(xp.flip(x, axis), axis), axis)


def _cumprod_vjp(xp, g, ans, a, axis):
    """grad_i = sum_{j>=i} g_j prod_{k<=j, k!=i} a_k.  Before the first zero along the axis
    that is revcumsum(g * ans) / a_i; at the first zero z it is
    ans_{z-1} * sum_{j>=z} g_j prod_{z<k<=j} a_k; after it, every product has the zero."""
    zero = a == 0
    seen = xp.cumsum(zero, axis)
    before = seen == 0
    first = zero & (seen == 1)
    safe = xp.where(before, a, 1)
    part1 = xp.where(before, _rev_cumsum(xp, g * ans, axis) / safe, 0)
    upto = xp.cumprod(safe, axis)                      # at z: the product of a_k, k < z
    after = xp.cumprod(xp.where(before | first, 1, a), axis)
    part2 = xp.where(first, upto * _rev_cumsum(xp, g * after, axis), 0)
    return part1 + part2


defop("cumprod", lambda xp, a, axis: xp.cumprod(a, axis), _cumprod_vjp, shape=lambda s, axis: s,
      promote=wide_integers)
