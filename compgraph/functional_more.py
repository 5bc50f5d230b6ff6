"""More of PyTorch's tensor functions: the trigonometric family, erf, exp2/log2/log10,
logaddexp, copysign, fmod, div's rounding modes, shifts, lerp, isclose, celu/selu,
std_mean/var_mean and the scans cummax/cummin/logcumsumexp (shapes and indexing are in
functional_index.py).

The elementwise ones and logcumsumexp are op-table entries (compgraph/ops/more_math.py);
the rest are compositions of table ops.  compgraph.functional re-exports all of it, so
the VJPs that name these functions (xp.cosh, xp.logcumsumexp) run on tensors too.
"""
import builtins
import collections

import numpy as np

from . import backend
from . import functional as F
from .errors import ArgumentError, DTypeError
from .ops import OPS
from .ops.promote import require_float
from .tensor import _make, apply

_lift, _pair, _dim = F._lift, F._pair, F._dim


def _floating(x):
    """Integer and bool tensors in the default float dtype, as PyTorch's float functions
    take them (NumPy would make them float64)."""
    return x.astype(backend.get_default_dtype()) if x.dtype.kind in "biu" else x


def _float_only(name, *xs):
    """PyTorch runs these kernels for floats only: refused when no operand is a float (mixed
    operands are promoted to the float one first, as PyTorch does)."""
    if all(x.dtype.kind not in "fc" for x in xs):
        raise DTypeError(f"{name}: not implemented for {xs[0].dtype} tensors; "
                         "convert with .float()")


def _unary(name, *aliases):
    op = OPS[name]

    def f(input):
        return apply(op, (_floating(_lift(input, None)),))
    f.__name__ = f.__qualname__ = aliases[0] if aliases else name
    f.__doc__ = f"Elementwise {name} (op table entry {name!r})."
    return f


# --- elementwise ---------------------------------------------------------------------------------
tan = _unary("tan")
asin = arcsin = _unary("arcsin", "asin")
acos = arccos = _unary("arccos", "acos")
atan = arctan = _unary("arctan", "atan")
sinh = _unary("sinh")
cosh = _unary("cosh")
asinh = arcsinh = _unary("arcsinh", "asinh")
acosh = arccosh = _unary("arccosh", "acosh")
atanh = arctanh = _unary("arctanh", "atanh")
erf = _unary("erf")
erfc = _unary("erfc")
erfinv = _unary("erfinv")
exp2 = _unary("exp2")
log2 = _unary("log2")
log10 = _unary("log10")
expm1 = _unary("expm1")


def atan2(input, other):
    """The angle of the point (other, input): arctan(input / other) in the right quadrant."""
    a, b = _pair(input, other)
    if a.dtype.kind in "biu" and b.dtype.kind in "biu":
        a, b = _floating(a), _floating(b)
    return apply(OPS["arctan2"], (a, b))


arctan2 = atan2


def logaddexp(input, other):
    """log(exp(input) + exp(other)), without overflow."""
    a, b = _pair(input, other)
    _float_only("logaddexp", a, b)
    return apply(OPS["logaddexp"], (a, b))


def copysign(input, other):
    """|input| with the sign of other (including the sign of a zero)."""
    a, b = _pair(input, other)
    if a.dtype.kind in "biu":           # PyTorch computes in the default float dtype
        a = a.astype(backend.get_default_dtype())
    if b.dtype.kind in "biu":
        b = b.astype(a.dtype)
    return apply(OPS["copysign"], (a, b))


def fmod(input, other):
    """C's remainder: the sign of input (torch.remainder has the sign of other)."""
    a, b = _pair(input, other)
    F._no_integer_zero("fmod", a, b)
    return apply(OPS["fmod"], (a, b))


def div_rounded(input, other, rounding_mode):
    """div(rounding_mode='trunc' | 'floor'): the quotient rounded toward 0 or toward -inf.
    Floats keep a (zero) gradient, as PyTorch's; integers stay integers."""
    if rounding_mode not in ("trunc", "floor"):
        raise ArgumentError(f"div expected rounding_mode to be one of None, 'trunc', or "
                            f"'floor' but found {rounding_mode!r}")
    a, b = _pair(input, other)
    if a.dtype.kind in "biu" and b.dtype.kind in "biu":
        F._no_integer_zero("div", a, b)
        q = apply(OPS["floor_divide"], (a, b))
        if rounding_mode == "floor":
            return q
        # toward zero: one more where the floor went below a negative, inexact quotient
        inexact = F.ne(apply(OPS["remainder"], (a, b)), 0)
        neg = F.ne(F.lt(a, 0), F.lt(b, 0))
        return F.where(F.logical_and(inexact, neg), q + 1, q)
    return apply(OPS["div_trunc" if rounding_mode == "trunc" else "div_floor"], (a, b))


def _shift(name):
    def f(input, other):
        a, b = _pair(input, other)
        for x in (a, b):
            if x.dtype.kind not in "iu":
                raise DTypeError(f"{name}: only integer tensors can be shifted, got {x.dtype}")
        return apply(OPS[name], (a, b))
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Elementwise {name} of integer tensors (no gradient)."
    return f


bitwise_left_shift = _shift("bitwise_left_shift")
bitwise_right_shift = _shift("bitwise_right_shift")


def lerp(input, end, weight):
    """input + weight * (end - input); weight a number or a tensor."""
    a, b = _pair(input, end)
    _float_only("lerp", a, b)
    if a.dtype != b.dtype:
        raise DTypeError(f"lerp: expected dtype {a.dtype} for `end` but got dtype {b.dtype}")
    return a + _lift(weight, a) * (b - a)


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Elementwise |input - other| <= atol + rtol * |other| (equal infinities are close)."""
    a, b = _pair(input, other)
    if a.dtype != b.dtype:
        raise DTypeError(f"isclose: {a.dtype} did not match {b.dtype}; convert one of them")
    if a.dtype.kind in "biu":
        a, b = a.double(), b.double()
    # the tolerance test on finite pairs only: inf - inf would be a NaN (and a warning)
    finite = F.logical_and(F.isfinite(a), F.isfinite(b))
    a0, b0 = F.where(finite, a, 0.0), F.where(finite, b, 0.0)
    with_tolerance = F.le(F.abs(a0 - b0), atol + rtol * F.abs(b0))
    close = F.logical_or(F.eq(a, b), F.logical_and(with_tolerance, finite))
    if equal_nan:
        close = F.logical_or(close, F.logical_and(F.isnan(a), F.isnan(b)))
    return close.detach()


# --- activations that PyTorch also has as torch.X ----------------------------------------------
_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha (exp(x / alpha) - 1)): alpha * elu(x / alpha)."""
    if alpha == 0:
        raise ArgumentError("celu: alpha must not be 0 (ZeroDivisionError in PyTorch)")
    require_float("celu", input)
    return F.elu(input / alpha, 1.0) * alpha if alpha != 1 else F.elu(input, 1.0)


def selu(input, inplace=False):
    """scale * elu(x, alpha) with the self-normalising constants of Klambauer et al."""
    return F.elu(input, _SELU_ALPHA) * _SELU_SCALE


# --- reductions that return pairs ------------------------------------------------------------------

def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None):
    """(std, mean) over dim (or its alias axis), as torch.std_mean."""
    dim = axis if dim is None else dim
    return (F._spread_reduce("std_mean", "std", input, dim, unbiased, keepdim, correction,
                             None, False), F.mean(input, dim, keepdim))


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None):
    dim = axis if dim is None else dim
    return (F._spread_reduce("var_mean", "var", input, dim, unbiased, keepdim, correction,
                             None, False), F.mean(input, dim, keepdim))


# --- scans -----------------------------------------------------------------------------------------

CumResult = collections.namedtuple("CumResult", ["values", "indices"])


def _cum_extreme(name, input, dim, better):
    x = _lift(input, None)
    d = _dim(name, dim, x.ndim)
    x._concrete(f"{name}()")
    v = np.asarray(x.detach().cpu()._value)
    if not x.ndim or not x.shape[d]:
        return CumResult(F.clone(x), _make(np.zeros(x.shape, np.int64)))
    v = np.moveaxis(v, d, -1)
    idx = np.zeros(v.shape, np.int64)
    best = v[..., 0].copy()
    for i in builtins.range(1, v.shape[-1]):
        # ties take the later index, as PyTorch's; a NaN takes over and stays
        take = better(v[..., i], best) | (v[..., i] == best) | np.isnan(v[..., i])
        take &= ~np.isnan(best) | np.isnan(v[..., i])
        best = np.where(take, v[..., i], best)
        idx[..., i] = np.where(take, i, idx[..., i - 1])
    idx = np.moveaxis(idx, -1, d)
    return CumResult(F.take_along_axis(x, idx, d), _make(idx))


def cummax(input, dim):
    """(values, indices) of the running maximum along dim; the gradient of each value goes
    to the element that indices names."""
    return _cum_extreme("cummax", input, dim, np.greater)


def cummin(input, dim):
    return _cum_extreme("cummin", input, dim, np.less)


def logcumsumexp(input, dim):
    """log(cumsum(exp(input))) along dim, without overflow."""
    x = _lift(input, None)
    d = _dim("logcumsumexp", dim, x.ndim)
    _float_only("logcumsumexp", x)
    if not x.ndim:
        return F.clone(x)
    return apply(OPS["logcumsumexp"], (x,), {"axis": d})


__all__ = sorted(n for n, v in list(globals().items())
                 if not n.startswith("_") and callable(v) and getattr(v, "__module__", None) == __name__
                 and n != "div_rounded")
