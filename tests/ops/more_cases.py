"""Cases and NumPy references for the ops of compgraph/ops/more_math.py (PyTorch's wider
elementwise surface), in the format of tests/ops/cases.py and tests/ops/reference.py,
which wire them in.  MORE_SMOOTH names the ones whose second derivative is smooth."""
import math

import numpy as np

_UN = [(3, 4), (5,), (), (2, 3, 2)]
_BIN = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (4, 1)), ((), (2, 3)), ((5,), (1,))]


def _unary(kind=None, **attrs):
    return [(((kind, s) if kind else s,), attrs) for s in _UN]


def _binary(ka=None, kb=None):
    return [(((ka, a) if ka else a, (kb, b) if kb else b), {}) for a, b in _BIN]


_SHIFTS = [((("int", (3, 4), 50), ("int", (3, 4), 6)), {}), ((("int", (3, 4), 50), ("int", (4,), 6)), {})]

MORE_CASES = {
    "tan": _unary("unit"), "arcsin": _unary("unit"), "arccos": _unary("unit"), "arctan": _unary(),
    "sinh": _unary(), "cosh": _unary(), "arcsinh": _unary(), "arccosh": _unary("above1"),
    "arctanh": _unary("unit"), "arctan2": _binary("away", "away"),
    "exp2": _unary(), "log2": _unary("pos"), "log10": _unary("pos"), "expm1": _unary(),
    "logaddexp": _binary(),
    "erf": _unary(), "erfc": _unary(), "erfinv": _unary("unit"),
    "copysign": _binary("away", "away"), "fmod": _binary(None, "away"),
    "div_floor": _binary(None, "away"), "div_trunc": _binary(None, "away"),
    "hardtanh": _unary("wide") + _unary("wide", min_val=-2.0, max_val=0.5),
    "hardsigmoid": _unary("wide"), "hardswish": _unary("wide"),
    "bitwise_left_shift": _SHIFTS, "bitwise_right_shift": _SHIFTS,
    "logcumsumexp": [(((3, 4),), {"axis": 1}), (((5,),), {"axis": 0}), (((2, 3, 4),), {"axis": 0}),
                     ((("wide", (2, 6)),), {"axis": -1})],
}
MORE_NONDIFF = {"bitwise_left_shift", "bitwise_right_shift"}
MORE_SMOOTH = {"tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh",
               "arctan2", "exp2", "log2", "log10", "expm1", "logaddexp", "erf", "erfc", "erfinv",
               "copysign", "fmod", "div_floor", "div_trunc", "logcumsumexp"}


def _erfinv_ref(y):
    """By bisection on math.erf: slow and plain, independent of the op's own method."""
    def one(v):
        lo, hi = -6.0, 6.0
        for _ in range(200):
            mid = (lo + hi) / 2
            if math.erf(mid) < v:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2
    return np.vectorize(one, otypes=[np.float64])(y)


MORE_REF = {
    "tan": np.tan, "arcsin": np.arcsin, "arccos": np.arccos, "arctan": np.arctan,
    "sinh": lambda a: (np.exp(a) - np.exp(-a)) / 2, "cosh": lambda a: (np.exp(a) + np.exp(-a)) / 2,
    "arcsinh": lambda a: np.log(a + np.sqrt(a * a + 1)), "arccosh": lambda a: np.log(a + np.sqrt(a * a - 1)),
    "arctanh": lambda a: 0.5 * np.log((1 + a) / (1 - a)), "arctan2": np.arctan2,
    "exp2": lambda a: 2.0 ** a, "log2": lambda a: np.log(a) / math.log(2),
    "log10": lambda a: np.log(a) / math.log(10), "expm1": np.expm1,
    "logaddexp": lambda a, b: np.log(np.exp(a) + np.exp(b)),
    "erf": np.vectorize(math.erf), "erfc": np.vectorize(math.erfc), "erfinv": _erfinv_ref,
    "copysign": lambda a, b: np.abs(a) * np.where(np.signbit(b), -1.0, 1.0),
    "fmod": lambda a, b: a - b * np.trunc(a / b),
    "div_floor": lambda a, b: np.floor(a / b), "div_trunc": lambda a, b: np.fix(a / b),
    "hardtanh": lambda a, min_val=-1.0, max_val=1.0: np.minimum(np.maximum(a, min_val), max_val),
    "hardsigmoid": lambda a: np.minimum(np.maximum(a + 3, 0), 6) / 6,
    "hardswish": lambda a: a * np.minimum(np.maximum(a + 3, 0), 6) / 6,
    "bitwise_left_shift": lambda a, b: a * 2 ** b, "bitwise_right_shift": lambda a, b: a // 2 ** b,
    "logcumsumexp": lambda a, axis: np.log(np.cumsum(np.exp(a), axis=axis)),
}
