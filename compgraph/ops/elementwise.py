"""Elementwise ops: arithmetic, unary math, activations.  One line of forward, one of VJP."""
import math

import numpy as np

from .promote import common, common_float, float_only, floating, subtraction, where_operands
from .table import broadcast, defop, same_shape


def _tie_split(xp, g, wins, ties):
    """g where this operand won, half of g where it tied, 0 elsewhere (dtype of g kept)."""
    return xp.where(wins, g, xp.where(ties, g * 0.5, 0))


def _binary(name, fwd, vjp_a, vjp_b, promote=common, **kw):
    return defop(name, fwd, vjp_a, vjp_b, shape=broadcast(name), promote=promote, **kw)


def _unary(name, fwd, vjp=None, **kw):
    return defop(name, fwd, *([vjp] if vjp else []), shape=same_shape, **kw)


# --- arithmetic ---------------------------------------------------------------------------
_binary("add", lambda xp, a, b: a + b,
        lambda xp, g, ans, a, b: g,
        lambda xp, g, ans, a, b: g)
_binary("sub", lambda xp, a, b: a - b,
        lambda xp, g, ans, a, b: g,
        lambda xp, g, ans, a, b: -g, promote=subtraction)
_binary("mul", lambda xp, a, b: a * b,
        lambda xp, g, ans, a, b: g * b,
        lambda xp, g, ans, a, b: g * a)
# integers over integers give the default float (float32), not NumPy's float64: uint8
# pixels / 255 must not turn a float32 model into a float64 one
_binary("div", lambda xp, a, b: a / b,
        lambda xp, g, ans, a, b: g / b,
        lambda xp, g, ans, a, b: -g * ans / b,
        promote=common_float)
def _pow(xp, a, b):
    """a ** b.  NumPy's float ** with a float exponent is ~60x slower than a product, so a
    single exponent 1, 2, 3, -1, -2, 0.5 or -0.5 is computed by products and sqrt (as
    PyTorch's CPU kernel does for those exponents).  Small arrays skip the test: there the
    power costs less than choosing (xor's squared error is 8 % of its step otherwise)."""
    if getattr(xp, "is_numpy", xp is np) and a.size > 256 and b.size == 1 and b.ndim <= a.ndim:
        dtype = np.result_type(a, b)
        if dtype.kind == "f":
            fast = _POW_FAST.get(float(b.reshape(())))
            if fast is not None:
                return fast(a.astype(dtype, copy=False))
    try:
        return a ** b
    except ValueError:                    # NumPy refuses integers to negative powers
        return _int_pow(xp, a, b)


def _int_pow(xp, a, b):
    """PyTorch's integer a ** b for negative b: 1 ** b is 1, (-1) ** b is +-1, else 0
    (its truncation of 1 / a ** |b|).  A negative Python-number exponent is refused
    before this, in functional.pow and Tensor.__pow__, as PyTorch refuses it."""
    neg = b < 0
    out = a ** xp.where(neg, 0, b)
    odd = (b % 2) != 0
    sign_one = xp.where(a == 1, 1, xp.where(a == -1, xp.where(odd, -1, 1), 0))
    return xp.where(neg, sign_one, out).astype(out.dtype)


_POW_FAST = {1.0: lambda a: a.copy(), 2.0: lambda a: a * a, 3.0: lambda a: a * a * a,
             -1.0: lambda a: 1 / a, -2.0: lambda a: 1 / (a * a), 0.5: np.sqrt,
             -0.5: lambda a: 1 / np.sqrt(a)}


# PyTorch's values at the singular points: d/da is 0 wherever b == 0 (even at a == 0, where
# b a^(b-1) is 0 * inf); d/db = a^b log a is 0 at a == 0 with b >= 0, and otherwise what the
# formula gives: NaN for a < 0, -inf for 0^b with b < 0
def _pow_vjp_base(xp, g, ans, a, b):
    if b.__class__ is np.ndarray and b.ndim == 0:   # x ** 2: a number, tested once
        return g * b * _pow(xp, a, b - 1) if b else xp.zeros_like(g)   # (`not b`: 20 ns, b == 0: 1 us)
    return xp.where(b == 0, 0, g * b * _pow(xp, a, b - 1))


_binary("pow", _pow, _pow_vjp_base,
        lambda xp, g, ans, a, b: xp.where((a == 0) & (b >= 0), 0, g * ans * xp.log(a)))
_binary("maximum", lambda xp, a, b: xp.maximum(a, b),
        # ties split the gradient evenly, as PyTorch does
        lambda xp, g, ans, a, b: _tie_split(xp, g, a > b, a == b),
        lambda xp, g, ans, a, b: _tie_split(xp, g, b > a, a == b))
_binary("minimum", lambda xp, a, b: xp.minimum(a, b),
        lambda xp, g, ans, a, b: _tie_split(xp, g, a < b, a == b),
        lambda xp, g, ans, a, b: _tie_split(xp, g, b < a, a == b))
_unary("neg", lambda xp, a: -a,
       lambda xp, g, ans, a: -g)

# comparisons: boolean results, no gradient
for _name, _f in [("eq", lambda xp, a, b: a == b), ("ne", lambda xp, a, b: a != b),
                  ("lt", lambda xp, a, b: a < b), ("le", lambda xp, a, b: a <= b),
                  ("gt", lambda xp, a, b: a > b), ("ge", lambda xp, a, b: a >= b)]:
    defop(_name, _f, shape=broadcast(_name), nondiff=True, promote=common,
          dtype=lambda *d, **k: np.dtype(np.bool_))

defop("where", lambda xp, c, a, b: xp.where(c, a, b),
      None,
      lambda xp, g, ans, c, a, b: xp.where(c, g, 0),
      lambda xp, g, ans, c, a, b: xp.where(c, 0, g),
      shape=broadcast("where"), promote=where_operands,
      dtype=lambda c, a, b, **k: np.result_type(a, b))

# --- unary math ---------------------------------------------------------------------------
_unary("exp", lambda xp, a: xp.exp(a), lambda xp, g, ans, a: g * ans, promote=floating)
_unary("log", lambda xp, a: xp.log(a), lambda xp, g, ans, a: g / a, promote=floating)
_unary("log1p", lambda xp, a: xp.log1p(a), lambda xp, g, ans, a: g / (a + 1), promote=floating)
_unary("sqrt", lambda xp, a: xp.sqrt(a), lambda xp, g, ans, a: g * 0.5 / ans, promote=floating)
# abs' follows PyTorch's sign: 0 at NaN (and at 0)
_unary("abs", lambda xp, a: xp.abs(a), lambda xp, g, ans, a: g * _sign(xp, a))


def _sign(xp, a):
    if a.dtype.kind == "b":                # sign(bool): itself
        return a.copy()
    s = xp.sign(a)
    return xp.where(s != s, 0, s) if s.dtype.kind == "f" else s   # sign(NaN) is 0 in PyTorch


_unary("sign", lambda xp, a: _sign(xp, a), lambda xp, g, ans, a: g * 0)   # as PyTorch: zero, not none
_unary("sin", lambda xp, a: xp.sin(a), lambda xp, g, ans, a: g * xp.cos(a), promote=floating)
_unary("cos", lambda xp, a: xp.cos(a), lambda xp, g, ans, a: -g * xp.sin(a), promote=floating)
_unary("clip", lambda xp, a, min=None, max=None: xp.clip(a, min, max),
       lambda xp, g, ans, a, min=None, max=None: g * (ans == a))

# --- activations --------------------------------------------------------------------------
try:                     # SciPy's expit: one exact, overflow-free pass, 3x faster than ours
    from scipy.special import expit as _expit
except ImportError:      # SciPy is optional
    _expit = None


def _sigmoid(xp, a):
    if _expit is not None and xp.is_numpy:
        out = _expit(a)
        return out if out.dtype is a.dtype else out.astype(a.dtype)   # float16: SciPy's is float32
    # exp of a non-positive number only: no overflow warnings for large |a|
    e = xp.exp(-xp.abs(a))
    return xp.where(a >= 0, 1 / (1 + e), e / (1 + e))


_unary("sigmoid", _sigmoid, lambda xp, g, ans, a: g * ans * (1 - ans), promote=floating)
_unary("tanh", lambda xp, a: xp.tanh(a), lambda xp, g, ans, a: g * (1 - ans * ans),
       promote=floating)
# the activations refuse what PyTorch's kernels are not implemented for (integers, bools;
# relu takes integers); floats pass with one inline test in apply
# relu's gradient from its output (ans > 0 exactly where a > 0, NaN included), as
# PyTorch's: the input, often a convolution's output, is then freed after the forward
_unary("relu", lambda xp, a: xp.maximum(a, 0), lambda xp, g, ans, a: g * (ans > 0),
       promote=float_only("relu", allow_ints=True))
_unary("leaky_relu", lambda xp, a, negative_slope=0.01: xp.where(a > 0, a, a * negative_slope),
       lambda xp, g, ans, a, negative_slope=0.01: xp.where(a > 0, g, g * negative_slope),
       promote=float_only("leaky_relu"))
_unary("elu", lambda xp, a, alpha=1.0: xp.where(a > 0, a, alpha * (xp.exp(xp.minimum(a, 0)) - 1)),
       lambda xp, g, ans, a, alpha=1.0: xp.where(a > 0, g, g * (ans + alpha)),
       promote=float_only("elu"))
_unary("softplus", lambda xp, a: xp.logaddexp(0, a),
       lambda xp, g, ans, a: g * xp.sigmoid(a), promote=float_only("softplus"))

_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def _erf(xp, a):
    try:  # SciPy's erf when it is there; otherwise the exact one from math, elementwise
        from scipy.special import erf
        return erf(a) if xp.is_numpy else xp.asarray(erf(xp.asnumpy(a)))
    except ImportError:
        return np.vectorize(math.erf, otypes=[a.dtype])(a)


def _gelu(xp, a, approximate="none"):
    if approximate == "tanh":
        return 0.5 * a * (1 + xp.tanh(_SQRT_2_OVER_PI * (a + 0.044715 * a ** 3)))
    return 0.5 * a * (1 + _erf(xp, a / math.sqrt(2)))


def _gelu_vjp(xp, g, ans, a, approximate="none"):
    if approximate == "tanh":
        u = _SQRT_2_OVER_PI * (a + 0.044715 * a ** 3)
        t = xp.tanh(u)
        du = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * a * a)
        return g * (0.5 * (1 + t) + 0.5 * a * (1 - t * t) * du)
    # d/da [a Phi(a)] = Phi(a) + a phi(a), with Phi(a) = ans / a written without dividing
    phi = xp.exp(-0.5 * a * a) / math.sqrt(2 * math.pi)
    return g * (xp.gelu_cdf(a) + a * phi)


_unary("gelu", _gelu, _gelu_vjp, promote=float_only("gelu"))
# the standard normal CDF, used by gelu's gradient; differentiable so that gelu is too
_unary("gelu_cdf", lambda xp, a: 0.5 * (1 + _erf(xp, a / math.sqrt(2))),
       lambda xp, g, ans, a: g * xp.exp(-0.5 * a * a) / math.sqrt(2 * math.pi), promote=floating)


# --- integer and logical ops --------------------------------------------------------------------
# bitwise_* act on bool (logically) and integer tensors; floor division has no useful
# gradient (zero almost everywhere, undefined at the steps), so like PyTorch's, none flows.
for _name, _f in [("bitwise_and", lambda xp, a, b: a & b), ("bitwise_or", lambda xp, a, b: a | b),
                  ("bitwise_xor", lambda xp, a, b: a ^ b),
                  ("floor_divide", lambda xp, a, b: xp.floor_divide(a, b))]:
    defop(_name, _f, shape=broadcast(_name), nondiff=True, promote=common)
_unary("bitwise_not", lambda xp, a: ~a, nondiff=True)
# Python's (and PyTorch's) remainder: the sign of the divisor, a - b * floor(a / b)
_binary("remainder", lambda xp, a, b: xp.remainder(a, b),
        lambda xp, g, ans, a, b: g,
        lambda xp, g, ans, a, b: -g * xp.floor_divide(a, b))

# --- rounding: a zero gradient, not none (PyTorch's results require grad, as sign's do) ----------
_zero_vjp = lambda xp, g, ans, a: g * 0  # noqa: E731
_unary("floor", lambda xp, a: xp.floor(a), _zero_vjp)
_unary("ceil", lambda xp, a: xp.ceil(a), _zero_vjp)
_unary("trunc", lambda xp, a: xp.trunc(a), _zero_vjp)
# NumPy and PyTorch both round halves to even
_unary("round", lambda xp, a, decimals=0: xp.round(a, decimals),
       lambda xp, g, ans, a, decimals=0: g * 0)

# --- tests on values ------------------------------------------------------------------------------
for _name in ("isnan", "isinf", "isfinite"):
    defop(_name, (lambda f: lambda xp, a: getattr(xp, f)(a))(_name), shape=same_shape,
          nondiff=True, dtype=lambda *d, **k: np.dtype(np.bool_))
