"""Tensor's Python operators (x[i], -x, x - y, x @ y, ~x, ...) run on compgraph and on real
PyTorch 2.13 through the same oracle as the public names (test_oracle): values, dtypes,
shapes, gradients and which inputs raise.  Operators are not names of the surface
(public_names lists none), so they get their own table here.
"""
import operator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import torch

from . import oracle
from .case_kit import ALL, FLOATS, INTS, NUMERIC, binary, unary
from .case_table import _matrix_pair
from .test_oracle import SETTINGS, EXAMPLES


def _index_item(d, size):
    """One entry of an index tuple for a dim of `size`: an int, a slice, an int tensor or None."""
    kind = d.choice(["int", "slice", "slice", "tensor", "tensor", "none"])
    if kind == "int" and size:
        return d.int(-size, size - 1)
    if kind == "tensor":
        shape = d.choice([(d.int(0, 3),), (2, 1), ()])
        return d.array(shape, "int64", f"int:{-size if size else 0}:{max(size, 1)}") if size \
            else np.zeros((0,), np.int64)
    if kind == "none":
        return None
    return slice(d.choice([None, 0, 1, -2]), d.choice([None, 3, -1]), d.choice([None, 1, 2]))


def _getitem_args(d):
    """x[index]: basic and advanced indices mixed, ints and tensors apart or adjacent (the
    placement of the advanced dims is PyTorch's, not NumPy's, when a slice separates them)."""
    x = d.tensor(d.shape(min_dims=1, max_dims=4, min_side=1), ALL)
    n = d.int(1, x.ndim)
    index = []
    dims = iter(x.shape)
    for _ in range(n):
        index.append(_index_item(d, next(dims, 1)))
    if d.int(0, 4) == 0:
        index.insert(d.int(0, len(index)), Ellipsis)
    return (x, tuple(index)), {}


def _mask_args(d):
    x = d.tensor(d.shape(min_dims=1), ALL)
    return (x, d.array(x.shape[:d.int(1, x.ndim)], "bool")), {}


def _repr_args(d):
    """Bools, integers and whole floats (the float formats of large or tiny values are
    a separate story): repr as PyTorch prints it, widths, dtype= and size= suffixes."""
    dt = d.choice(ALL)
    x = d.array(d.shape(max_dims=3), dt, "int:-20:20" if dt != "bool" else "real")
    return (x,), {}


def _reflected(op):
    """number OP tensor: the number on the left (Tensor.__rsub__ and friends)."""
    def call(side, x, y):
        return op(y, x)
    return call


def _op(case, call):
    return case.gen, case.grad, call


OPERATORS = {
    "x[index]": (_getitem_args, True, lambda side, x, i: x[i]),
    "x[mask]": (_mask_args, True, lambda side, x, m: x[m]),
    "repr(x)": (_repr_args, False, lambda side, x: repr(x)),
    # mixed dtypes and bools: PyTorch refuses them
    "x @ y": (lambda d: (_matrix_pair(d, ALL), {}), True, lambda side, x, y: x @ y),
    "-x": _op(unary(dtypes=ALL), lambda side, x: -x),
    "~x": _op(unary(dtypes=INTS + ("bool",), grad=False), lambda side, x: ~x),
    "abs(x)": _op(unary(dtypes=NUMERIC), lambda side, x: abs(x)),
    "x + y": _op(binary(dtypes=ALL), lambda side, x, y: x + y),
    "x - y": _op(binary(dtypes=ALL), lambda side, x, y: x - y),
    "x * y": _op(binary(dtypes=ALL), lambda side, x, y: x * y),
    "x / y": _op(binary(b="away", dtypes=ALL), lambda side, x, y: x / y),
    "x ** y": _op(binary("pos", dtypes=NUMERIC), lambda side, x, y: x ** y),
    "x // y": _op(binary(b="away", dtypes=NUMERIC, grad=False), lambda side, x, y: x // y),
    "x % y": _op(binary(b="away", dtypes=NUMERIC, grad=False), lambda side, x, y: x % y),
    "x & y": _op(binary(dtypes=INTS + ("bool",), grad=False, scalar=False), lambda side, x, y: x & y),
    "x | y": _op(binary(dtypes=INTS + ("bool",), grad=False, scalar=False), lambda side, x, y: x | y),
    "x ^ y": _op(binary(dtypes=INTS + ("bool",), grad=False, scalar=False), lambda side, x, y: x ^ y),
    "x < y": _op(binary(dtypes=ALL, grad=False), lambda side, x, y: x < y),
    "x == y": _op(binary(dtypes=ALL, grad=False), lambda side, x, y: x == y),
    "number - x": _op(binary(dtypes=ALL), _reflected(operator.sub)),
    "number / x": _op(binary(a="away", dtypes=ALL), _reflected(operator.truediv)),
    "number ** x": _op(binary(b="pos", dtypes=FLOATS), _reflected(operator.pow)),
}


@pytest.mark.parametrize("name", list(OPERATORS))
def test_operator_parity(name):
    gen, grad, call = OPERATORS[name]

    @settings(max_examples=EXAMPLES * 2, **SETTINGS)
    @given(st.data())
    def body(data):
        torch.manual_seed(0)
        d = oracle.Draw(data)
        args, kwargs = gen(d)
        try:
            oracle.check(call, args, kwargs, grad=grad and d.edge != "nonfinite",
                         seed=d.int(0, 1000))
        except AssertionError as e:
            raise AssertionError(f"{name}{oracle.describe(args, kwargs)}: {e}") from None
    body()
