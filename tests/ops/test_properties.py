"""Hypothesis: every shape-polymorphic op agrees with NumPy on random shapes and values."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import compgraph as cg
from compgraph.ops import OPS
from compgraph.tensor import _make, apply

from .reference import REF

UNARY = ["neg", "exp", "sin", "cos", "tanh", "sigmoid", "relu", "softplus", "abs", "sign", "copy"]
POSITIVE = ["log", "log1p", "sqrt"]
BINARY = ["add", "sub", "mul", "maximum", "minimum", "eq", "lt", "ge"]
REDUCE = ["sum", "mean", "max", "min", "logsumexp", "prod"]

floats = st.floats(-5, 5, allow_nan=False, width=64)
settings.register_profile("compgraph", max_examples=25, deadline=None)
settings.load_profile("compgraph")


def close(got, want):
    np.testing.assert_allclose(got._value, want, rtol=1e-9, atol=1e-12)
    assert got.shape == np.shape(want)


@given(st.sampled_from(UNARY), hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=4), elements=floats))
def test_unary(name, a):
    close(apply(OPS[name], (_make(a),)), REF[name](a))


@given(st.sampled_from(POSITIVE), hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3),
                                             elements=st.floats(0.01, 10)))
def test_unary_positive(name, a):
    close(apply(OPS[name], (_make(a),)), REF[name](a))


@given(st.sampled_from(BINARY), hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4), st.data())
def test_binary_broadcasting(name, shapes, data):
    a = data.draw(hnp.arrays(np.float64, shapes.input_shapes[0], elements=floats))
    b = data.draw(hnp.arrays(np.float64, shapes.input_shapes[1], elements=floats))
    close(apply(OPS[name], (_make(a), _make(b))), REF[name](a, b))


@given(st.sampled_from(REDUCE), hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=4), elements=floats),
       st.booleans(), st.data())
def test_reductions(name, a, keepdims, data):
    axis = data.draw(st.none() | st.integers(-a.ndim, a.ndim - 1))
    got = apply(OPS[name], (_make(a),), {"axis": axis, "keepdims": keepdims})
    close(got, REF[name](a, axis=axis, keepdims=keepdims))


@given(st.sampled_from(["softmax", "log_softmax"]),
       hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3), elements=floats), st.data())
def test_softmax_family(name, a, data):
    axis = data.draw(st.integers(-a.ndim, a.ndim - 1))
    close(apply(OPS[name], (_make(a),), {"axis": axis}), REF[name](a, axis=axis))


@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4),
       hnp.array_shapes(min_dims=0, max_dims=2, max_side=3), st.data())
def test_batched_matmul(m, n, k, batch, data):
    a = data.draw(hnp.arrays(np.float64, batch + (m, n), elements=floats))
    b = data.draw(hnp.arrays(np.float64, (n, k), elements=floats))
    close(cg.matmul(_make(a), _make(b)), np.matmul(a, b))
