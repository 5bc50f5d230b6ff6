"""DyNet's RNN builders: values against NumPy, gradients against finite differences."""
import numpy as np
import pytest

import compgraph
import compgraph.dynet as dy

from .helpers import check_gradients, to_float64


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def test_lstm_matches_numpy_with_dynet_gate_layout():
    compgraph.manual_seed(0)
    m = dy.ParameterCollection()
    lstm = dy.LSTMBuilder(1, 3, 4, m)                  # forget_bias=1.0, as DyNet's default
    (Wx, Wh, b), = lstm.get_parameters()
    b.set_value(np.random.default_rng(0).normal(size=16))
    xs = np.random.default_rng(1).normal(size=(5, 3)).astype(np.float32)
    dy.renew_cg()
    outs = lstm.initial_state().transduce([dy.inputVector(x) for x in xs])
    h, c, H = np.zeros(4), np.zeros(4), 4
    for x, out in zip(xs, outs):
        z = Wx.as_array() @ x + Wh.as_array() @ h + b.as_array()
        i, f, o = _sigmoid(z[:H]), _sigmoid(z[H:2 * H] + 1.0), _sigmoid(z[2 * H:3 * H])
        c = f * c + i * np.tanh(z[3 * H:])
        h = o * np.tanh(c)
        np.testing.assert_allclose(out.npvalue(), h, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [
    lambda m: dy.LSTMBuilder(2, 3, 4, m),
    lambda m: dy.VanillaLSTMBuilder(1, 3, 4, m, forget_bias=0.5),
    lambda m: dy.GRUBuilder(1, 3, 4, m),
    lambda m: dy.SimpleRNNBuilder(2, 3, 4, m),
], ids=["lstm2", "vanilla-lstm", "gru", "simple-rnn2"])
def test_builder_gradients_match_finite_differences(make):
    compgraph.manual_seed(5)
    m = dy.ParameterCollection()
    rnn = make(m)
    E = m.add_lookup_parameters((5, 3))
    to_float64(m)
    for p in m._all():                      # non-zero biases, so their gradients are tested well
        p._value += np.random.default_rng(2).normal(scale=0.1, size=p._value.shape)

    def build():
        outs = rnn.initial_state().transduce([E[w] for w in (1, 3, 0, 3)])
        return dy.esum([dy.sum_elems(dy.cmult(o, o)) for o in outs]) + dy.sum_elems(outs[-1])

    assert check_gradients(m, build, np.random.default_rng(3), per_param=2) == 2 * len(m._all())


def test_states_are_values_and_birnn_concatenates():
    compgraph.manual_seed(6)
    m = dy.ParameterCollection()
    lstm = dy.LSTMBuilder(2, 3, 4, m)
    dy.renew_cg()
    x = dy.inputVector([1.0, 2.0, 3.0])
    s0 = lstm.initial_state()
    s1 = s0.add_input(x)
    s2a, s2b = s1.add_input(x), s1.add_input(dy.inputVector([0.0, 0.0, 0.0]))
    assert s2a.prev() is s1 and s1.prev() is s0
    assert not np.allclose(s2a.output().npvalue(), s2b.output().npvalue())
    assert len(s1.h()) == 2 and len(s1.s()) == 4                    # cells, then hidden states
    np.testing.assert_allclose(s1.s()[3].npvalue(), s1.output().npvalue())
    bi = dy.BiRNNBuilder(1, 3, 8, m, dy.LSTMBuilder)
    outs = bi.transduce([x, x, x])
    assert [o.dim() for o in outs] == [((8,), 1)] * 3
    pairs = bi.add_inputs([x, x])
    assert len(pairs) == 2 and pairs[0][0].output().dim() == ((4,), 1)


def test_dropout_changes_outputs_and_can_be_disabled():
    compgraph.manual_seed(7)
    m = dy.ParameterCollection()
    lstm = dy.LSTMBuilder(1, 3, 4, m)
    dy.renew_cg()
    xs = [dy.inputVector([1.0, -1.0, 0.5])] * 3
    plain = lstm.initial_state().transduce(xs)[-1].npvalue()
    lstm.set_dropout(0.5)
    dropped = lstm.initial_state().transduce(xs)[-1].npvalue()
    lstm.disable_dropout()
    again = lstm.initial_state().transduce(xs)[-1].npvalue()
    assert not np.allclose(plain, dropped)
    np.testing.assert_allclose(plain, again)
