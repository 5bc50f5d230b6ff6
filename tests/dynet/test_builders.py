"""DyNet's builders beyond the reference values: dropout as DyNet applies it (which no fixed
reference can hold), autobatching of batched builders, and clear errors for bad input."""
import numpy as np
import pytest

import compgraph
import compgraph.dynet as dy
from compgraph.errors import (ArgumentError, ArgumentValueError, CheckpointError, DataError,
                              MissingKeyError, ShapeError)

from .helpers import load_example


def _xs(n, dim=3):
    return [dy.inputVector(list(np.sin(np.arange(dim) + k))) for k in range(n)]


# --- dropout --------------------------------------------------------------------------------------

def test_vanilla_lstm_dropout_is_one_input_mask_for_the_whole_graph():
    """Gal's dropout: the mask on x is drawn once per graph and used at every step; the
    result equals a dropout-free run on the masked inputs."""
    compgraph.manual_seed(3)
    m = dy.ParameterCollection()
    lstm = dy.VanillaLSTMBuilder(1, 3, 4, m)
    lstm.set_dropouts(0.5, 0.0)
    dy.renew_cg()
    xs = _xs(3)
    dropped = [o.npvalue() for o in lstm.initial_state().transduce(xs)]
    mask = lstm._masks[0][0].npvalue()
    assert set(np.unique(mask)) <= {0.0, 2.0}            # kept entries scaled by 1/(1-p)
    lstm.disable_dropout()
    dy.renew_cg()
    plain = lstm.initial_state().transduce([dy.cmult(x, dy.inputVector(list(mask))) for x in _xs(3)])
    for a, b in zip(dropped, plain):
        np.testing.assert_allclose(a, b.npvalue(), rtol=1e-6)


def test_gru_dropout_drops_the_output_not_the_state():
    """GRUBuilder (gru.cc): dropout on each layer's input and on the returned output; the
    state it keeps is not dropped."""
    compgraph.manual_seed(4)
    m = dy.ParameterCollection()
    gru = dy.GRUBuilder(1, 3, 50, m)
    gru.set_dropout(0.5)
    dy.renew_cg()
    s = gru.initial_state().add_input(_xs(1)[0])
    out, h = s.output().npvalue(), s.h()[-1].npvalue()
    kept = out != 0
    assert 0 < kept.sum() < out.size
    np.testing.assert_allclose(out[kept], 2.0 * h[kept], rtol=1e-6)


def test_dropout_rates_must_be_probabilities():
    m = dy.ParameterCollection()
    with pytest.raises(ArgumentValueError, match="dropout rate must be a probability"):
        dy.LSTMBuilder(1, 2, 2, m).set_dropout(1.5)
    with pytest.raises(ArgumentValueError, match="dropout rate must be a probability"):
        dy.SimpleRNNBuilder(1, 2, 2, m).set_dropouts(0.1, -0.2)


def test_set_dropout_masks_needs_initial_state_first():
    m = dy.ParameterCollection()
    lstm = dy.VanillaLSTMBuilder(1, 2, 2, m)
    dy.renew_cg()
    with pytest.raises(ArgumentValueError, match="call initial_state"):
        lstm.set_dropout_masks(4)


# --- batches and autobatching -----------------------------------------------------------------------

@pytest.mark.parametrize("builder", ["LSTMBuilder", "GRUBuilder"])
def test_batched_language_model_autobatches_to_the_same_losses(builder):
    lm = load_example("rnnlm_batch")
    plain = lm.train(dy, steps=3, builder=builder)
    old = dy.config()["autobatch"]
    dy.config(autobatch=True)
    try:
        batched = lm.train(dy, steps=3, builder=builder)
    finally:
        dy.config(autobatch=old)
    np.testing.assert_allclose(batched, plain, rtol=1e-5)


def test_a_batch_through_a_builder_equals_its_elements_one_by_one():
    compgraph.manual_seed(5)
    m = dy.ParameterCollection()
    E = m.add_lookup_parameters((5, 3))
    lstm = dy.CoupledLSTMBuilder(2, 3, 4, m)
    dy.renew_cg()
    outs = lstm.initial_state().transduce([E.batch([0, 4]), E.batch([2, 1])])
    batch = outs[-1].npvalue()
    for k, ids in enumerate(([0, 2], [4, 1])):
        dy.renew_cg()
        one = lstm.initial_state().transduce([E[i] for i in ids])[-1].npvalue()
        np.testing.assert_allclose(batch[:, k], one, rtol=1e-5)


# --- bad input ----------------------------------------------------------------------------------------

def test_set_h_and_set_s_want_a_vector_per_layer():
    m = dy.ParameterCollection()
    lstm = dy.LSTMBuilder(2, 3, 4, m)
    dy.renew_cg()
    s = lstm.initial_state()
    with pytest.raises(ArgumentValueError, match="set_h expects as many inputs as layers.*got 1"):
        s.set_h([dy.zeros(4)])
    with pytest.raises(ArgumentValueError, match="set_s expects either as many inputs or twice"):
        s.set_s([dy.zeros(4)] * 3)
    with pytest.raises(ArgumentValueError, match="set_s expects"):
        lstm.initial_state([dy.zeros(4)] * 3)


def test_initializers_that_do_not_fit_are_refused(tmp_path):
    m = dy.ParameterCollection()
    with pytest.raises(ShapeError, match=r"NumpyInitializer: array of shape \(3, 2\) for a parameter of shape \(2, 3\)"):
        m.add_parameters((2, 3), init=dy.NumpyInitializer(np.zeros((3, 2))))
    path = tmp_path / "v.txt"
    path.write_text("1 2 3")
    with pytest.raises(ShapeError, match="3 values for a parameter of shape"):
        m.add_parameters((2, 2), init=dy.FromFileInitializer(str(path)))
    with pytest.raises(ArgumentValueError, match="unknown initializer 'saxe'"):
        m.add_parameters(2, init="saxe")
    with pytest.raises(ShapeError, match="only a square matrix"):
        m.add_parameters((2, 3), init="identity")
    with pytest.raises(ArgumentValueError, match="could not include '/' and '_'"):
        m.add_parameters(2, name="W_1")


def test_damaged_or_foreign_model_files_are_refused(tmp_path):
    m = dy.ParameterCollection()
    W = m.add_parameters((2, 2))
    bad = tmp_path / "bad.model"
    bad.write_text("#Parameter# /_0 {2,2} 65 ZERO_GRAD\n+1.0e+00 +2.0e+00 +3.0e+00\n")
    with pytest.raises(CheckpointError, match=r"/_0 has dims of 4 values, but its line holds 3"):
        m.populate(str(bad))
    bad.write_text("hello\n")
    with pytest.raises(CheckpointError, match="bad parameter specification"):
        m.populate(str(bad))
    good = tmp_path / "good.model"
    m.save(str(good))
    with pytest.raises(MissingKeyError, match="could not find the parameter '/nope'"):
        W.populate(str(good), "/nope")
    with pytest.raises(ArgumentValueError, match="non-empty key"):
        m.load_param(str(good), "")
    (tmp_path / "junk.meta").write_bytes(b"not a pickle")
    (tmp_path / "junk.data").write_text("")
    with pytest.raises(CheckpointError, match="not a DyNet .meta file"):
        dy.load(str(tmp_path / "junk"), m)


def test_what_dy_save_cannot_save_is_named(tmp_path):
    m = dy.ParameterCollection()
    sm = dy.StandardSoftmaxBuilder(3, 4, m)
    with pytest.raises(ArgumentError, match="StandardSoftmaxBuilder cannot be saved"):
        dy.save(str(tmp_path / "x"), [sm])


def test_cluster_file_words_must_be_in_the_dictionary(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("A cat\nB dog\n")
    with pytest.raises(DataError, match="word 'dog'.*not in the dictionary"):
        dy.ClassFactoredSoftmaxBuilder(3, str(path), {"cat": 0}, dy.ParameterCollection())


def test_softmax_builders_sample_the_likely_class():
    m = dy.ParameterCollection()
    sm = dy.StandardSoftmaxBuilder(2, 4, m)
    W = sm.param_collection().parameters_list()[0]
    W.set_value(np.array([[0.0, 0.0], [0.0, 0.0], [30.0, 30.0], [0.0, 0.0]]))
    dy.renew_cg()
    assert [sm.sample(dy.inputVector([1.0, 1.0])) for _ in range(5)] == [2] * 5


def test_class_factored_softmax_samples_a_word_of_the_likely_class(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("A w0\nA w1\nB w2\nB w3\nB w4\n")
    m = dy.ParameterCollection()
    sm = dy.ClassFactoredSoftmaxBuilder(2, str(path), {f"w{k}": k for k in range(5)}, m)
    r2c, _, w_a, _, w_b, _ = sm.param_collection().parameters_list()
    r2c.set_value(np.array([[0.0, 0.0], [30.0, 30.0]]))            # class B
    w_b.set_value(np.array([[0.0, 0.0], [0.0, 0.0], [30.0, 30.0]]))  # its third word: w4
    dy.renew_cg()
    assert [sm.sample(dy.inputVector([1.0, 1.0])) for _ in range(5)] == [4] * 5
