"""Reductions over axes (sum, mean, max, var, ...), softmax and friends, argmax."""
import numpy as np

from .table import defop, normalize_axis, reduce_shape, same_shape


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


_reduction("sum", lambda xp, a, axis=None, keepdims=False: xp.sum(a, axis=axis, keepdims=keepdims),
           lambda xp, g, ans, a, axis=None, keepdims=False: _spread(xp, g, a, axis))
_reduction("mean", lambda xp, a, axis=None, keepdims=False: xp.mean(a, axis=axis, keepdims=keepdims),
           lambda xp, g, ans, a, axis=None, keepdims=False:
               _spread(xp, g, a, axis) * (1.0 / _count(a.shape, axis)))


def _extreme_vjp(xp, g, ans, a, axis=None, keepdims=False):
    # the gradient goes to the extreme element(s); ties share it evenly
    hit = a == xp.reshape(ans, _kept(a.shape, axis))
    share = xp.astype(xp.sum(hit, axis=axis, keepdims=True), g.dtype)
    return xp.where(hit, _spread(xp, g, a, axis) / share, 0)


_reduction("max", lambda xp, a, axis=None, keepdims=False: xp.max(a, axis=axis, keepdims=keepdims),
           _extreme_vjp)
_reduction("min", lambda xp, a, axis=None, keepdims=False: xp.min(a, axis=axis, keepdims=keepdims),
           _extreme_vjp)
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
           _prod_vjp)


def _var(xp, a, axis=None, keepdims=False, correction=1):
    return xp.var(a, axis=axis, keepdims=keepdims, ddof=correction)


def _var_vjp(xp, g, ans, a, axis=None, keepdims=False, correction=1):
    centered = a - xp.mean(a, axis=axis, keepdims=True)
    return _spread(xp, g, a, axis) * centered * (2.0 / (_count(a.shape, axis) - correction))


def _std_vjp(xp, g, ans, a, axis=None, keepdims=False, correction=1):
    centered = a - xp.mean(a, axis=axis, keepdims=True)
    return (_spread(xp, g / ans, a, axis) * centered * (1.0 / (_count(a.shape, axis) - correction)))


_reduction("var", _var, _var_vjp)
_reduction("std", lambda xp, a, axis=None, keepdims=False, correction=1:
           xp.sqrt(_var(xp, a, axis, keepdims, correction)), _std_vjp)


def _logsumexp(xp, a, axis=None, keepdims=False):
    m = xp.max(a, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)  # all -inf along an axis stays -inf, not nan
    out = xp.log(xp.sum(xp.exp(a - m), axis=axis, keepdims=True)) + m
    return out if keepdims else xp.reshape(out, reduce_shape("logsumexp")(a.shape, axis))


_reduction("logsumexp", _logsumexp,
           lambda xp, g, ans, a, axis=None, keepdims=False:
               _spread(xp, g, a, axis) * xp.exp(a - xp.reshape(ans, _kept(a.shape, axis))))


def _softmax(xp, a, axis=-1):
    e = xp.exp(a - xp.max(a, axis=axis, keepdims=True))
    return e / xp.sum(e, axis=axis, keepdims=True)


def _log_softmax(xp, a, axis=-1):
    shifted = a - xp.max(a, axis=axis, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


defop("softmax", _softmax,
      lambda xp, g, ans, a, axis=-1: ans * (g - xp.sum(g * ans, axis=axis, keepdims=True)),
      shape=same_shape)
defop("log_softmax", _log_softmax,
      lambda xp, g, ans, a, axis=-1: g - xp.exp(ans) * xp.sum(g, axis=axis, keepdims=True),
      shape=same_shape)

_int64 = lambda *dtypes, **attrs: np.dtype(np.int64)  # noqa: E731
defop("argmax", lambda xp, a, axis=None, keepdims=False: xp.argmax(a, axis=axis, keepdims=keepdims),
      shape=reduce_shape("argmax"), nondiff=True, dtype=_int64)
defop("argmin", lambda xp, a, axis=None, keepdims=False: xp.argmin(a, axis=axis, keepdims=keepdims),
      shape=reduce_shape("argmin"), nondiff=True, dtype=_int64)
