"""More elementwise math from PyTorch's surface: the trigonometric and hyperbolic family,
erf and its kin, exp2/log2/log10/expm1, the binary atan2/logaddexp/copysign/fmod, the
hard activations, the integer shifts, and the running logsumexp.

Each is one forward line and one VJP line, like elementwise.py.  The VJPs use only names
that NumPy and compgraph.functional share, so second derivatives come for free.
"""
import math

import numpy as np

from .elementwise import _erf
from .promote import common, common_float, float_only, floating
from .table import broadcast, defop, same_shape


# PyTorch's promotion (ops/promote.py): the math functions give floats of integer inputs
def _unary(name, fwd, vjp, promote=floating, **kw):
    return defop(name, fwd, vjp, shape=same_shape, promote=promote, **kw)


def _binary(name, fwd, vjp_a, vjp_b, promote=common_float, **kw):
    return defop(name, fwd, vjp_a, vjp_b, shape=broadcast(name), promote=promote, **kw)


# --- trigonometric and hyperbolic -----------------------------------------------------------
_unary("tan", lambda xp, a: xp.tan(a), lambda xp, g, ans, a: g * (1 + ans * ans))
_unary("arcsin", lambda xp, a: xp.arcsin(a), lambda xp, g, ans, a: g / xp.sqrt(1 - a * a))
_unary("arccos", lambda xp, a: xp.arccos(a), lambda xp, g, ans, a: -g / xp.sqrt(1 - a * a))
_unary("arctan", lambda xp, a: xp.arctan(a), lambda xp, g, ans, a: g / (1 + a * a))
_unary("sinh", lambda xp, a: xp.sinh(a), lambda xp, g, ans, a: g * xp.cosh(a))
_unary("cosh", lambda xp, a: xp.cosh(a), lambda xp, g, ans, a: g * xp.sinh(a))
_unary("arcsinh", lambda xp, a: xp.arcsinh(a), lambda xp, g, ans, a: g / xp.sqrt(a * a + 1))
_unary("arccosh", lambda xp, a: xp.arccosh(a), lambda xp, g, ans, a: g / xp.sqrt(a * a - 1))
_unary("arctanh", lambda xp, a: xp.arctanh(a), lambda xp, g, ans, a: g / (1 - a * a))
_binary("arctan2", lambda xp, a, b: xp.arctan2(a, b),
        lambda xp, g, ans, a, b: g * b / (a * a + b * b),
        lambda xp, g, ans, a, b: -g * a / (a * a + b * b))

# --- exponentials and logarithms ------------------------------------------------------------
_LN2, _LN10 = math.log(2), math.log(10)
_unary("exp2", lambda xp, a: xp.exp2(a), lambda xp, g, ans, a: g * ans * _LN2)
_unary("log2", lambda xp, a: xp.log2(a), lambda xp, g, ans, a: g / (a * _LN2))
_unary("log10", lambda xp, a: xp.log10(a), lambda xp, g, ans, a: g / (a * _LN10))
_unary("expm1", lambda xp, a: xp.expm1(a), lambda xp, g, ans, a: g * (ans + 1))
_binary("logaddexp", lambda xp, a, b: xp.logaddexp(a, b),
        # exp(a - ans) <= 1: no overflow whatever the size of a and b
        lambda xp, g, ans, a, b: g * xp.exp(a - ans),
        lambda xp, g, ans, a, b: g * xp.exp(b - ans))

# --- the error function -----------------------------------------------------------------------
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


def _erfinv(xp, a):
    try:
        from scipy.special import erfinv
        return erfinv(a) if xp.is_numpy else xp.asarray(erfinv(xp.asnumpy(a)))
    except ImportError:      # SciPy is optional: Giles' approximation, then Newton on erf
        w = -np.log1p(-np.asarray(a, np.float64) ** 2)
        x = np.where(w < 5, _poly(w - 2.5, _ERFINV_SMALL), _poly(np.sqrt(w) - 3, _ERFINV_LARGE)) * a
        with np.errstate(invalid="ignore", over="ignore"):
            for _ in range(2):
                x = x - (_erf(np, x) - a) / (_TWO_OVER_SQRT_PI * np.exp(-x * x))
        return np.where(np.abs(a) == 1, np.sign(a) * np.inf, x).astype(a.dtype)


def _poly(w, coeffs):
    p = 0.0
    for c in coeffs:
        p = p * w + c
    return p


_ERFINV_SMALL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                 0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_ERFINV_LARGE = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
                 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)

def _erfc(xp, a):
    try:  # SciPy's erfc keeps its precision in the tail, where 1 - erf(a) is rounding error
        from scipy.special import erfc
        return erfc(a) if xp.is_numpy else xp.asarray(erfc(xp.asnumpy(a)))
    except ImportError:
        return np.vectorize(math.erfc, otypes=[a.dtype])(a)


_unary("erf", _erf, lambda xp, g, ans, a: g * _TWO_OVER_SQRT_PI * xp.exp(-a * a))
_unary("erfc", lambda xp, a: _erfc(xp, a),
       lambda xp, g, ans, a: -g * _TWO_OVER_SQRT_PI * xp.exp(-a * a))
_unary("erfinv", _erfinv,
       # d/dy erfinv(y) = sqrt(pi)/2 exp(erfinv(y)^2)
       lambda xp, g, ans, a: g * xp.exp(ans * ans) / _TWO_OVER_SQRT_PI)




# --- sign games and remainders --------------------------------------------------------------
_binary("copysign", lambda xp, a, b: xp.copysign(a, b),
        # ans / a is the sign flip (+1 or -1); at a == 0 PyTorch's gradient is 0
        lambda xp, g, ans, a, b: xp.where(a == 0, 0 * g, g * ans / xp.where(a == 0, 1, a)),
        lambda xp, g, ans, a, b: 0 * g)
# C's fmod: the sign of the dividend, a - b * trunc(a / b)
_binary("fmod", lambda xp, a, b: xp.fmod(a, b),
        lambda xp, g, ans, a, b: g,
        lambda xp, g, ans, a, b: -g * xp.trunc(a / b), promote=common)
# division rounded toward -inf as Python's // (not floor(a / b): 1 // 0.1 is 9.0), with the
# zero gradient that PyTorch's div(rounding_mode='floor') gives
_binary("div_floor", lambda xp, a, b: xp.floor_divide(a, b),
        lambda xp, g, ans, a, b: 0 * g,
        lambda xp, g, ans, a, b: 0 * g, promote=common)
# and toward zero; trunc(div(a, b)) composed would give 0 / 0 = NaN gradients at b == 0
_binary("div_trunc", lambda xp, a, b: xp.trunc(a / b),
        lambda xp, g, ans, a, b: 0 * g,
        lambda xp, g, ans, a, b: 0 * g, promote=common)

# --- hard activations: the gradient is 0 at the corners, as PyTorch's --------------------------
def _hardtanh(xp, a, min_val=-1.0, max_val=1.0):
    out = xp.clip(a, min_val, max_val)
    return out if out.dtype == a.dtype else out.astype(a.dtype)   # integers stay integers


_unary("hardtanh", _hardtanh,
       lambda xp, g, ans, a, min_val=-1.0, max_val=1.0:
           xp.where((a > min_val) & (a < max_val), g, 0 * g),
       promote=float_only("hardtanh", allow_ints=True))
_unary("hardsigmoid", lambda xp, a: xp.clip(a / 6 + 0.5, 0, 1),
       lambda xp, g, ans, a: xp.where((a > -3) & (a < 3), g / 6, 0 * g),
       promote=float_only("hardsigmoid"))
_unary("hardswish", lambda xp, a: a * xp.clip(a + 3, 0, 6) / 6,
       lambda xp, g, ans, a: xp.where(a <= -3, 0 * g, xp.where(a < 3, g * (a / 3 + 0.5), g)),
       promote=float_only("hardswish"))

# --- integer shifts: no gradient ----------------------------------------------------------------
for _name, _f in [("bitwise_left_shift", lambda xp, a, b: xp.left_shift(a, b)),
                  ("bitwise_right_shift", lambda xp, a, b: xp.right_shift(a, b))]:
    defop(_name, _f, shape=broadcast(_name), nondiff=True, promote=common)


# --- running logsumexp ---------------------------------------------------------------------------

def _logcumsumexp(xp, a, axis):
    # ufunc.accumulate is NumPy's; on CuPy the scan runs on the host
    if xp.is_numpy:
        return np.logaddexp.accumulate(a, axis=axis)
    return xp.asarray(np.logaddexp.accumulate(xp.asnumpy(a), axis=axis))


def _logcumsumexp_vjp(xp, g, ans, a, axis):
    """grad_i = sum_{j>=i} g_j exp(a_i - ans_j), every exponent <= 0.  Computed in log
    space, for the positive and the negative part of g apart, with a reverse running
    logsumexp; a part that is zero is floored at the dtype's tiny, whose contribution
    (at most n * tiny) is far below rounding, so no log(0) and no inf - inf appears."""
    tiny = np.finfo(g.dtype).tiny
    pos = xp.log(xp.where(g > 0, g, tiny)) - ans
    neg = xp.log(xp.where(g < 0, -g, tiny)) - ans
    rev = lambda v: xp.flip(xp.logcumsumexp(xp.flip(v, axis), axis), axis)  # noqa: E731
    return xp.exp(a + rev(pos)) - xp.exp(a + rev(neg))


defop("logcumsumexp", _logcumsumexp, _logcumsumexp_vjp, shape=lambda s, axis: s,
      promote=floating)
