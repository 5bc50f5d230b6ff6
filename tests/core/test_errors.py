"""Bad input gets a clear error at the user's line: op, shapes, what would fit."""
import traceback

import numpy as np
import pytest

import compgraph as cg
from compgraph.errors import CompgraphError, ShapeError


def test_matmul_names_op_and_both_shapes():
    with pytest.raises(ShapeError) as e:
        cg.ones(3, 4) @ cg.ones(5, 6)
    msg = str(e.value)
    assert "matmul" in msg and "(3, 4)" in msg and "(5, 6)" in msg and "4" in msg and "5" in msg


def test_the_error_is_raised_from_the_users_line_not_numpy():
    try:
        cg.ones(3, 4) @ cg.ones(5, 6)
    except ShapeError as e:
        frames = traceback.extract_tb(e.__traceback__)
        assert frames[0].filename == __file__
        assert e.__cause__ is None and e.__suppress_context__   # no NumPy traceback chained


def test_broadcasting_failure_names_the_shapes():
    with pytest.raises(ShapeError, match=r"add.*\(3,\).*\(4,\).*broadcast"):
        cg.ones(3) + cg.ones(4)


def test_mv_and_dot_refuse_what_numpy_would_silently_accept():
    with pytest.raises(ShapeError, match="mv: argument 2 must be a vector"):
        cg.ones(2, 3).mv(cg.ones(3, 1))
    with pytest.raises(ShapeError, match="dot"):
        cg.dot(cg.ones(2, 2), cg.ones(2, 2))
    with pytest.raises(ShapeError, match="mm"):
        cg.mm(cg.ones(2, 3), cg.ones(2, 3))


def test_reshape_and_reduction_errors():
    with pytest.raises(ShapeError, match=r"reshape.*\(2, 3\).*6 elements.*\(4, 2\)"):
        cg.ones(2, 3).reshape(4, 2)
    with pytest.raises(ShapeError, match="dim 3 is out of range"):
        cg.ones(2, 3).sum(dim=3)
    with pytest.raises(ShapeError, match="cat"):
        cg.cat([cg.ones(2, 3), cg.ones(2, 4)], dim=0)


def test_every_error_is_a_compgraph_error_and_a_builtin():
    with pytest.raises(ValueError):
        cg.ones(3) + cg.ones(4)
    with pytest.raises(TypeError):
        cg.tensor([1, 2], requires_grad=True)
    for cls in (cg.ShapeError, cg.DTypeError, cg.ArgumentError, cg.GraphError):
        assert issubclass(cls, CompgraphError)


def test_lazy_graph_errors_surface_when_the_node_is_built():
    g = cg.Graph()
    a, b = g.var(np.ones((3, 4))), g.var(np.ones((5, 6)))
    with pytest.raises(ShapeError, match="matmul"):
        g.mul(a, b)           # nothing is computed yet, and still the error is here
