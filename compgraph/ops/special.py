"""Special functions (lgamma, inv, logdet) and the gradient stop.

lgamma is a DyNet expression function (and PyTorch's); DyNet's asin, acos, atan and erf
are more_math's arcsin, arccos, arctan and erf.  lgamma's derivative is the digamma
function, which NumPy lacks: it is computed on arrays here (so lgamma is `once`: no
gradient of its gradient).
stop_gradient is the identity with no gradient at all (DyNet's nobackprop); with it,
scale_gradient, flip_gradient and the straight-through estimators are compositions.
"""
import math

import numpy as np

from .table import defop, same_shape


def _lgamma(xp, a):
    try:
        from scipy.special import gammaln
        return gammaln(a).astype(a.dtype, copy=False)
    except ImportError:                 # SciPy is optional: math.lgamma, elementwise
        return np.vectorize(math.lgamma, otypes=[a.dtype])(a)


def _digamma(a):
    """psi(a): the recurrence psi(x) = psi(x + 1) - 1/x up to x >= 6, then the asymptotic
    series (error below 1e-12 there); reflection for a < 0.5."""
    a = np.asarray(a, dtype=np.float64)
    neg = a < 0.5
    x = np.where(neg, 1 - a, a)
    out = np.zeros_like(x)
    while True:
        small = x < 6
        if not small.any():
            break
        out = out - np.where(small, 1 / np.where(small, x, 1), 0)
        x = np.where(small, x + 1, x)
    inv2 = 1 / (x * x)
    out = out + np.log(x) - 0.5 / x - inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (
        1 / 240 - inv2 / 132))))
    return np.where(neg, out - math.pi / np.tan(math.pi * np.where(neg, a, 0.25)), out)


defop("lgamma", _lgamma, lambda xp, g, ans, a: g * _digamma(a).astype(g.dtype, copy=False),
      shape=same_shape, once=True)

defop("stop_gradient", lambda xp, a: a.copy(), shape=same_shape, nondiff=True)

# the identity, whose gradient passes once: put over a part whose first derivative is exact
# but whose second is not computed (scatter_reduce's prod), so that create_graph=True through
# it is refused with a clear error instead of a silently wrong second derivative
defop("first_order_only", lambda xp, a, what="": a.copy(), lambda xp, g, ans, a, what="": g,
      shape=same_shape, once=True)

# --- matrix inverse and log-determinant (DyNet's inverse and logdet) ----------------------------------
defop("inv", lambda xp, a: np.linalg.inv(a),
      # d(A^-1) = -A^-1 dA A^-1, so the VJP is -A^-T g A^-T
      lambda xp, g, ans, a: -xp.matmul(xp.matmul(xp.swapaxes(ans, -1, -2), g), xp.swapaxes(ans, -1, -2)),
      shape=same_shape, check=True)
defop("logdet", lambda xp, a: np.asarray(np.linalg.slogdet(a)[1], dtype=a.dtype),
      lambda xp, g, ans, a: np.asarray(g)[..., None, None] * np.swapaxes(np.linalg.inv(a), -1, -2),
      shape=lambda s: tuple(s[:-2]), once=True)
