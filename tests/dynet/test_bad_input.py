"""Bad input to the DyNet dialect: a clear compgraph error where the expression is built,
naming the argument, the index or the shapes; never a NumPy traceback, never wrong numbers."""
import numpy as np
import pytest

import compgraph.dynet as dy
from compgraph.errors import (ArgumentError, ArgumentValueError, BoundsError, CompgraphError,
                              GraphError, ShapeError)


# --- populate is all or nothing ------------------------------------------------------------------

def test_populate_that_fails_on_a_later_parameter_leaves_the_model_untouched(tmp_path):
    m = dy.ParameterCollection()
    a = m.add_parameters((2, 2), init=dy.ConstInitializer(1.0))
    b = m.add_parameters((3,), init=dy.ConstInitializer(2.0))
    other = dy.ParameterCollection()
    other.add_parameters((2, 2), init=dy.ConstInitializer(7.0))   # fits a
    other.add_parameters((4,), init=dy.ConstInitializer(7.0))     # does not fit b
    path = str(tmp_path / "other.model")
    other.save(path)
    with pytest.raises(ShapeError, match=r"shape \(4,\).*shape \(3,\).*nothing was loaded"):
        m.populate(path)
    np.testing.assert_array_equal(a.as_array(), np.ones((2, 2)))
    np.testing.assert_array_equal(b.as_array(), np.full(3, 2.0))


def test_populate_of_a_lookup_table_into_a_parameter_leaves_the_model_untouched(tmp_path):
    m = dy.ParameterCollection()
    a = m.add_parameters((2, 2), init=dy.ConstInitializer(1.0))
    m.add_parameters((5, 2), init=dy.ConstInitializer(1.0))
    other = dy.ParameterCollection()
    other.add_parameters((2, 2), init=dy.ConstInitializer(7.0))
    other.add_lookup_parameters((5, 2), init=dy.ConstInitializer(7.0))
    path = str(tmp_path / "other.model")
    other.save(path)
    with pytest.raises(ShapeError, match="is a lookup .* is a param"):
        m.populate(path)
    np.testing.assert_array_equal(a.as_array(), np.ones((2, 2)))


# --- backward starts from a scalar (as DyNet's exec.cc requires) -----------------------------

def test_backward_of_a_vector_is_refused_not_summed():
    m = dy.ParameterCollection()
    W = m.add_parameters((2, 3))
    dy.renew_cg()
    y = W * dy.inputVector([1, 2, 3])
    with pytest.raises(GraphError, match=r"only a scalar.*dims \(2,\).*sum_elems"):
        y.backward()
    assert not W.grad_as_array().any()


def test_backward_of_a_batch_of_losses_asks_for_sum_batches():
    m = dy.ParameterCollection()
    W = m.add_parameters((3, 4))
    dy.renew_cg()
    losses = dy.pickneglogsoftmax_batch(W * dy.inputTensor(np.ones((4, 2)), batched=True), [0, 2])
    with pytest.raises(GraphError, match="a batch of 2.*sum_batches"):
        losses.backward()
    dy.sum_batches(losses).backward()
    assert W.grad_as_array().any()

