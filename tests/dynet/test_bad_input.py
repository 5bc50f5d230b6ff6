"""Bad input to the DyNet dialect: a clear compgraph error where the expression is built,
naming the argument, the index or the shapes; never a NumPy traceback, never wrong numbers."""
import numpy as np
import pytest

import compgraph.dynet as dy
from compgraph.errors import (ArgumentError, ArgumentValueError, BoundsError, GraphError,
                              ShapeError)


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


# --- indices: integers in range, refused at build time -----------------------------------------

def _vec():
    return dy.inputVector([1.0, 2.0, 3.0])


@pytest.mark.parametrize("autobatch", [False, True])
def test_pickneglogsoftmax_refuses_a_class_out_of_range_when_built(autobatch):
    dy.renew_cg(autobatching=autobatch)
    for bad in (5, 3, -1):
        with pytest.raises(BoundsError, match=rf"pickneglogsoftmax: class {bad} is out of range "
                                              r"for 3 classes \(valid: 0..2\)"):
            dy.pickneglogsoftmax(_vec(), bad)
    assert dy.pickneglogsoftmax(_vec(), np.int64(2)).value() == pytest.approx(
        -np.log(np.exp(3) / np.exp([1, 2, 3]).sum()), rel=1e-5)


def test_pickneglogsoftmax_refuses_a_float_class():
    dy.renew_cg()
    with pytest.raises(ArgumentError, match=r"pickneglogsoftmax: the class must be an integer, got 1.5"):
        dy.pickneglogsoftmax(_vec(), 1.5)


def test_batched_pickneglogsoftmax_checks_every_class():
    dy.renew_cg()
    x = dy.inputTensor(np.ones((3, 2)), batched=True)
    with pytest.raises(BoundsError, match=r"class -1 \(entry 1\) is out of range for 3 classes"):
        dy.pickneglogsoftmax_batch(x, [0, -1])
    with pytest.raises(ArgumentError, match="pickneglogsoftmax: the class must be an integer, got a list"):
        dy.pickneglogsoftmax(x, [0, 1])          # DyNet: TypeError (the _batch form takes lists)
    with pytest.raises(ArgumentError, match="must be integers, got float64"):
        dy.pickneglogsoftmax_batch(x, [0.5, 1.0])
    with pytest.raises(ShapeError, match="3 classes for a batch of 2"):
        dy.pickneglogsoftmax_batch(x, [0, 1, 2])


def test_pick_refuses_negative_and_out_of_range_indices():
    dy.renew_cg()
    for bad in (-1, 3):
        with pytest.raises(BoundsError, match=rf"pick: index {bad} is out of range for dimension 0 "
                                              r"of dims \(3,\) \(valid: 0..2\)"):
            dy.pick(_vec(), bad)
    with pytest.raises(ArgumentError, match="pick: the index must be an integer"):
        dy.pick(_vec(), 1.0)
    x = dy.inputTensor(np.ones((3, 2)), batched=True)
    with pytest.raises(BoundsError, match=r"pick_batch: index -1 \(entry 1\) is out of range"):
        dy.pick_batch(x, [0, -1])
    with pytest.raises(ArgumentError, match="pick: the index must be an integer, got a list"):
        dy.pick(x, [0, 1])                       # DyNet: TypeError (pick_batch takes lists)
    with pytest.raises(BoundsError, match=r"pick_batch: index 5 \(entry 1\)"):
        dy.pick_batch(x, [0, 5])


def test_an_integer_index_counts_from_the_end_a_slice_does_not_as_in_dynet():
    # DyNet 2.1.2: x[-1] is the last element; x[-2:] raises ValueError ("require 0 <= from")
    dy.renew_cg()
    assert _vec()[-1].value() == 3.0
    with pytest.raises(BoundsError, match="strided_select"):
        _vec()[-2:]
    with pytest.raises(BoundsError):
        _vec()[3]


def test_pickrange_out_of_range_is_refused_not_clipped():
    dy.renew_cg()
    with pytest.raises(BoundsError, match=r"pickrange: range \[2, 9\) does not fit dimension 0 of "
                                          r"size 3.*0 <= start < end <= 3"):
        dy.pickrange(_vec(), 2, 9)
    with pytest.raises(BoundsError):
        dy.pickrange(_vec(), -1, 2)
    np.testing.assert_array_equal(dy.pickrange(_vec(), 1, 3).npvalue(), [2.0, 3.0])


@pytest.mark.parametrize("autobatch", [False, True])
def test_softmax_dimension_out_of_range_is_refused_when_built(autobatch):
    dy.renew_cg(autobatching=autobatch)
    with pytest.raises(ShapeError, match=r"softmax: dimension 3 is out of range for an "
                                         r"expression with dims \(3,\)"):
        dy.softmax(_vec(), 3)
    with pytest.raises(ShapeError, match="sum_dim: dimension -1"):
        dy.sum_dim(dy.inputTensor(np.ones((3, 2)), batched=True), [-1])   # not the batch axis


def test_lookup_refuses_negative_float_and_out_of_range_ids():
    E = dy.ParameterCollection().add_lookup_parameters((10, 4))
    dy.renew_cg()
    for bad in (12, 10, -1):
        with pytest.raises(BoundsError, match=rf"lookup: row id {bad} is out of range for the "
                                              r"lookup table .* with 10 rows \(valid: 0..9\)"):
            dy.lookup(E, bad)
        with pytest.raises(BoundsError, match=f"row id {bad}"):
            E[bad]
    with pytest.raises(ArgumentError, match="lookup: the row id must be an integer, got 1.7"):
        dy.lookup(E, 1.7)
    with pytest.raises(BoundsError, match=r"lookup_batch: row id 15 \(entry 1\)"):
        dy.lookup_batch(E, [1, 15])
    with pytest.raises(BoundsError, match=r"row id -1 \(entry 0\)"):
        E.batch([-1, 2])
    with pytest.raises(ArgumentError, match="row ids must be integers"):
        dy.lookup_batch(E, [1.5, 2.0])
    with pytest.raises(BoundsError, match="row_as_array: row id -1"):
        E.row_as_array(-1)
    np.testing.assert_array_equal(dy.lookup(E, np.int64(9)).npvalue(), E.row_as_array(9))


# --- expressions from before renew_cg() are stale (DyNet raises for them too) --------------------

def test_a_stale_expression_is_refused_as_an_operand_and_when_evaluated():
    m = dy.ParameterCollection()
    W = m.add_parameters((2, 4))
    dy.renew_cg()
    x = dy.inputVector([1.0, 2.0, 3.0, 4.0])
    loss = dy.sum_elems(W * x)
    dy.renew_cg()
    stale = "Stale Expression \\(created before renewing the Computation Graph\\)"
    with pytest.raises(GraphError, match=stale):
        W * x                                   # the fresh parameter node first, x second
    with pytest.raises(GraphError, match=stale):
        dy.tanh(x)
    with pytest.raises(GraphError, match=stale + ": value"):
        loss.value()
    with pytest.raises(GraphError, match=stale):
        x.npvalue()
    with pytest.raises(GraphError, match=stale + ": backward"):
        loss.backward()
    assert not W.grad_as_array().any()
    fresh = dy.sum_elems(W * dy.inputVector([1.0, 2.0, 3.0, 4.0]))
    assert fresh.value() == pytest.approx(float(W.as_array().sum(axis=0) @ [1, 2, 3, 4]), rel=1e-5)


def test_an_rnn_state_from_before_renew_cg_is_stale():
    m = dy.ParameterCollection()
    lstm = dy.LSTMBuilder(1, 2, 3, m)
    dy.renew_cg()
    s = lstm.initial_state().add_input(dy.inputVector([1.0, 2.0]))
    dy.renew_cg()
    with pytest.raises(GraphError, match="Stale Expression"):
        s.add_input(dy.inputVector([1.0, 2.0]))


# --- trainers ----------------------------------------------------------------------------------

def test_trainers_refuse_a_non_model_and_unusable_rates():
    m = dy.ParameterCollection()
    m.add_parameters(3)
    with pytest.raises(ArgumentError, match="SimpleSGDTrainer: expected the ParameterCollection "
                                            r"\(Model\) to train, got str"):
        dy.SimpleSGDTrainer("m")
    with pytest.raises(ArgumentValueError, match=r"SimpleSGDTrainer: learning_rate=-1.0 is out of "
                                                 "range: it must be a finite number > 0"):
        dy.SimpleSGDTrainer(m, learning_rate=-1)
    with pytest.raises(ArgumentValueError, match="AdamTrainer: alpha=-1.0"):
        dy.AdamTrainer(m, alpha=-1)
    with pytest.raises(ArgumentValueError, match=r"beta_2=1.0 .* in \[0, 1\)"):
        dy.AdamTrainer(m, beta_2=1.0)
    with pytest.raises(ArgumentValueError, match="mom=1.5"):
        dy.MomentumSGDTrainer(m, mom=1.5)
    with pytest.raises(ArgumentError, match="learning_rate must be a number, got '0.1'"):
        dy.AdagradTrainer(m, learning_rate="0.1")
    t = dy.SimpleSGDTrainer(m, learning_rate=0.5)
    with pytest.raises(ArgumentValueError, match="learning_rate=nan"):
        t.set_learning_rate(float("nan"))
    with pytest.raises(ArgumentValueError, match="learning_rate=0.0"):
        t.restart(0)
    assert t.learning_rate == 0.5


# --- inputs and dims ----------------------------------------------------------------------------

def test_input_vector_refuses_a_matrix_instead_of_flattening_it():
    dy.renew_cg()
    with pytest.raises(ShapeError, match=r"inputVector: expected a flat list.*shape \(2, 2\).*"
                                         "use inputTensor"):
        dy.inputVector([[1, 2], [3, 4]])
    np.testing.assert_array_equal(dy.inputVector(np.arange(3)).npvalue(), [0, 1, 2])


def test_input_data_that_is_not_numbers_or_does_not_fit_gets_a_dialect_error():
    dy.renew_cg()
    with pytest.raises(ArgumentError, match="inputTensor: expected numbers.*could not convert"):
        dy.inputTensor(["a", "b"])
    with pytest.raises(ArgumentError, match="inputTensor: expected numbers.*inhomogeneous"):
        dy.inputTensor([[1, 2], [3]])
    with pytest.raises(DeprecationWarning, match=r"inputMatrix.*inputTensor"):
        dy.inputMatrix([1, 2, 3, 4], (2, 2))        # DyNet 2.1.2 raises it too
    with pytest.raises(ShapeError, match=r"set\(\): 3 values for an input of dims \(2,\)"):
        dy.inputVector([1, 2]).set([1, 2, 3])
    with pytest.raises(ArgumentValueError, match="vecInput: dim must be positive, got -2"):
        dy.vecInput(-2)


def test_parameter_and_builder_dims_must_be_positive_integers():
    m = dy.ParameterCollection()
    with pytest.raises(ArgumentValueError, match=r"add_parameters: dims must be positive, "
                                                 r"got \(-1, 3\)"):
        m.add_parameters((-1, 3))
    with pytest.raises(ArgumentError, match=r"add_parameters: dims must be integers, got \(2.5, 3\)"):
        m.add_parameters((2.5, 3))
    with pytest.raises(ArgumentValueError, match="add_lookup_parameters: dims must be positive"):
        m.add_lookup_parameters((-5, 3))
    with pytest.raises(ArgumentValueError, match=r"LSTMBuilder: \(layers, input_dim, hidden_dim\) "
                                                 r"must be positive, got \(1, -4, 8\)"):
        dy.LSTMBuilder(1, -4, 8, m)
    with pytest.raises(ArgumentError, match="expected the ParameterCollection"):
        dy.GRUBuilder(1, 4, 8, "m")
    assert m.parameter_count() == 0


def test_select_rows_and_cols_refuse_negative_and_float_indices():
    dy.renew_cg()
    x = dy.inputTensor(np.arange(12.0).reshape(3, 4))
    with pytest.raises(BoundsError, match=r"select_rows: row -1 \(entry 1\) is out of range for "
                                          r"dims \(3, 4\) \(valid: 0..2\)"):
        dy.select_rows(x, [0, -1])
    with pytest.raises(BoundsError, match=r"select_cols: column 7 \(entry 1\)"):
        dy.select_cols(x, [0, 7])
    with pytest.raises(ArgumentError, match="select_cols: columns must be integers"):
        dy.select_cols(x, [0.5])
    np.testing.assert_array_equal(dy.select_cols(x, [3, 0]).npvalue(), [[3, 0], [7, 4], [11, 8]])


def test_concatenate_refuses_a_negative_dimension():
    dy.renew_cg()
    xs = [dy.inputTensor(np.ones((3, 2)), batched=True) for _ in range(2)]
    with pytest.raises(ShapeError, match="concatenate: d must be a dimension 0, 1, ..., 6, got -1"):
        dy.concatenate(xs, d=-1)              # would have joined the batches
    assert dy.concatenate(xs).dim() == ((6,), 2)
