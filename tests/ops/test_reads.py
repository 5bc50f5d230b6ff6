"""What each op's backward reads (compgraph/ops/reads.py), checked against the VJPs.

For every op and case of the generated tests, each VJP runs twice: on the real values, and
with every value that ops/reads.py says it does not read replaced by a FreedValue (which
keeps only the shape and dtype and raises on any other use).  The gradients must be
identical; a VJP that touches a value said to be unread raises instead.  That is what
makes freeing those values during the forward (compgraph/freeing.py) safe.
"""
import numpy as np
import pytest

import compgraph.functional as F
from compgraph.freeing import FreedValue
from compgraph.ops import OPS
from compgraph.ops.namespace import IndexedGrad, sweep_namespace
from compgraph.ops.reads import derive, needs
from compgraph.tensor import _make, apply

from .test_generated import DIFF, _inputs


def _poison(array):
    return FreedValue(array, "poison")


def _dense(x):
    x = x.dense() if x.__class__ is IndexedGrad else x
    return np.asarray(x._value if hasattr(x, "_value") else x)


def _vjp(op, j, xp, g, ans, vals, attrs):
    if op.vjp_all is not None:
        return op.vjp_all(xp, g, ans, *vals, **attrs)[j]
    return op.vjps_for(len(vals))[j](xp, g, ans, *vals, **attrs)


def _case(name, i):
    tensors, attrs = _inputs(name, i)
    op = OPS[name]
    out = apply(op, tuple(tensors), attrs)
    g = np.random.default_rng(i).standard_normal(out.shape).astype(out.dtype)
    vals = [t._value for t in tensors]
    return op, tensors, attrs, out, g, vals


@pytest.mark.parametrize("name,i", DIFF, ids=[f"{n}-{i}" for n, i in DIFF])
def test_each_vjp_reads_only_what_is_declared(name, i):
    op, tensors, attrs, out, g, vals = _case(name, i)
    xp = sweep_namespace()
    for j, t in enumerate(tensors):
        if not t.requires_grad:
            continue
        mask = tuple(k == j for k in range(len(tensors)))
        reads, reads_ans = needs(op, mask)
        want = _vjp(op, j, xp, g, out._value, vals, attrs)
        if want is None:
            continue
        poisoned = [v if k in reads else _poison(v) for k, v in enumerate(vals)]
        ans = out._value if reads_ans else _poison(out._value)
        got = _vjp(op, j, xp, g, ans, poisoned, attrs)
        np.testing.assert_array_equal(_dense(got), _dense(want), err_msg=f"{name} input {j}")


@pytest.mark.parametrize("name,i", DIFF, ids=[f"{n}-{i}" for n, i in DIFF])
def test_declared_reads_hold_under_create_graph(name, i):
    """The same, with the VJPs run as ops on tensors (how double backward runs them)."""
    op, tensors, attrs, out, g, vals = _case(name, i)
    if op.once or name == "to_device":
        return      # refuses create_graph (test_generated checks that); to_device needs CuPy
    for j, t in enumerate(tensors):
        if not t.requires_grad:
            continue
        mask = tuple(k == j for k in range(len(tensors)))
        reads, reads_ans = needs(op, mask)
        want = _vjp(op, j, F, _make(g), out, tensors, attrs)
        if want is None:
            continue
        poisoned = [x if k in reads else _make(_poison(x._value), x.requires_grad)
                    for k, x in enumerate(tensors)]
        ans = out if reads_ans else _make(_poison(out._value), True)
        got = _vjp(op, j, F, _make(g), ans, poisoned, attrs)
        np.testing.assert_array_equal(_dense(got), _dense(want), err_msg=f"{name} input {j}")


def test_what_the_elementwise_ops_are_found_to_read():
    both = (True, True)
    assert needs(OPS["add"], both) == (frozenset(), False)
    assert needs(OPS["mul"], both) == (frozenset({0, 1}), False)
    assert needs(OPS["mul"], (True, False)) == (frozenset({1}), False)   # 0.5 * x keeps no x
    assert needs(OPS["tanh"], (True,)) == (frozenset(), True)
    assert needs(OPS["pow"], (True, False)) == (frozenset({0, 1}), False)
    assert needs(OPS["exp"], (True,)) == (frozenset(), True)


def test_derive_reads_the_bytecode():
    assert derive(lambda xp, g, ans, a, b: g * b, 2) == (False, frozenset({1}), None)
    # metadata only: a freed value still has its shape and dtype
    assert derive(lambda xp, g, ans, a: xp.broadcast_to(g, a.shape).astype(a.dtype), 2) == \
        (False, frozenset(), None)
    # a value passed on to anything else counts as read
    assert derive(lambda xp, g, ans, a: xp.zeros_like(a), 2) == (False, frozenset({0}), None)
    assert derive(lambda xp, g, ans, a: (lambda: a)(), 2) == (False, frozenset({0}), None)
    assert derive(lambda xp, g, ans, *xs: g * xs[0], 2) == (False, frozenset(), 0)
    assert derive(lambda xp, g, ans, *xs: g, 2) == (False, frozenset(), None)
    assert derive(print, 2) is None            # no bytecode: everything is read
