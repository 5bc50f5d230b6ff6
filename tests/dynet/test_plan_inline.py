"""The inline NumPy of replayed plans (compgraph/dynet/plan_inline.py) against the op table.

Each expression plan_inline writes must compute what the op's own forward or VJP computes
for those operands, bit for bit: both are evaluated here on random float32 and float64
arrays of every rank combination the expressions distinguish, the op table's function
called as the node-by-node path calls it.  (tests/dynet/test_replay.py compares whole
replayed graphs with the node-by-node path.)
"""
import numpy as np
import pytest

from compgraph.dynet import plan_inline
from compgraph.ops.namespace import array_namespace
from compgraph.ops.table import OPS
from compgraph.tensor import _make

XP = array_namespace(np)

CASES = [  # op, operand shapes, attributes
    ("add", [(3,), (3,)], {}), ("add", [(2, 3), (3,)], {}), ("sub", [(4,), (4,)], {}),
    ("sub", [(), ()], {}), ("mul", [(2, 2), (2, 2)], {}), ("mul", [(3,), (1,)], {}),
    ("neg", [(5,)], {}), ("tanh", [(2, 3)], {}), ("sigmoid", [(4,)], {}),
    ("matmul", [(2, 3), (3,)], {}), ("matmul", [(3,), (3, 2)], {}), ("matmul", [(3,), (3,)], {}),
    ("matmul", [(1, 3), (3, 2)], {}), ("matmul", [(2, 2, 3), (3, 4)], {}),
    ("matmul", [(4, 3), (2, 3, 5)], {}), ("matmul", [(2, 3), (3,)], {}),
    ("sum", [(3,)], {"axis": (0,), "keepdims": False}), ("sum", [(2, 3)], {}),
    ("sum", [(2, 3)], {"axis": 1, "keepdims": True}), ("sum", [(1,)], {"axis": None}),
]


class _Node:
    """What plan_inline reads of a graph node: op, attributes, inputs and value."""

    def __init__(self, op, inputs, attrs, value=None):
        self.op, self.inputs, self.attrs = op, inputs, attrs
        vals = [x._value for x in inputs]
        self._value = np.asarray(op.fwd(XP, *vals, **attrs)) if value is None else value
        self._meta = (self._value.shape, self._value.dtype)


def _eval(code, env):
    return eval(code, dict(plan_inline.ENV), env)


def _same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,shapes,attrs", CASES, ids=[f"{c[0]}{c[1]}{c[2] or ''}" for c in CASES])
def test_an_inline_expression_is_the_op_tables_function(name, shapes, attrs, dtype):
    rng = np.random.default_rng(len(shapes) * 7 + sum(map(len, shapes)))
    op = OPS[name]
    vals = [np.asarray(rng.uniform(-2, 2, s), dtype) for s in shapes]
    node = _Node(op, [_make(v) for v in vals], attrs)
    names = [f"x{i}" for i in range(len(vals))]
    env = dict(zip(names, vals))
    code = plan_inline.forward(node, names)
    if name == "matmul" and len(shapes[0]) == 2 and len(shapes[1]) == 2:
        assert code is None          # _mm decides on the threads when it runs: not inlined
    else:
        assert code is not None, "a case plan_inline writes out"
        _same(_eval(code, env), op.fwd(XP, *vals, **attrs))
    g = np.asarray(rng.uniform(-1, 1, node._value.shape), dtype)
    env.update(g=g, ans=node._value)
    vjps = op.vjps if op.vjp_n is None else op.vjps_for(len(vals))
    for i in range(len(vals)):
        code = plan_inline.vjp(node, i, "g", names, "ans")
        assert code is not None
        _same(_eval(code, env), vjps[i](XP, g, node._value, *vals, **attrs))


def test_other_attributes_dtypes_and_ops_are_left_to_the_op_table():
    x = _make(np.ones(3, np.float32))
    assert plan_inline.forward(_Node(OPS["sum"], [x], {"axis": 0, "dtype": None}, x._value[0]),
                               ["x"]) is None
    i = _make(np.ones(3, np.int64))
    assert plan_inline.forward(_Node(OPS["add"], [i, i], {}), ["a", "b"]) is None
    assert plan_inline.forward(_Node(OPS["exp"], [x], {}), ["x"]) is None
    assert plan_inline.vjp(_Node(OPS["exp"], [x], {}), 0, "g", ["x"], "ans") is None
