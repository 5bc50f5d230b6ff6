"""RNN/LSTM/GRU cells and sequence layers against a NumPy reference of PyTorch's equations
(written out here), parameter names and order, shapes for every layout, and gradients."""
import numpy as np
import pytest

import compgraph as cg
import compgraph.nn as nn
from compgraph.errors import ShapeError

from .helpers import gradcheck_module, randn


def sig(a):
    return 1 / (1 + np.exp(-a))


def ref_cell(kind, x, state, w_ih, w_hh, b_ih, b_hh):
    """One step of PyTorch's equations; state is h, or (h, c) for the LSTM."""
    if kind == "LSTM":
        h, c = state
        gates = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        i, f, g, o = np.split(gates, 4, axis=-1)
        c2 = sig(f) * c + sig(i) * np.tanh(g)
        return sig(o) * np.tanh(c2), c2
    if kind == "GRU":
        xr, xz, xn = np.split(x @ w_ih.T + b_ih, 3, axis=-1)
        hr, hz, hn = np.split(state @ w_hh.T + b_hh, 3, axis=-1)
        r, z = sig(xr + hr), sig(xz + hz)
        n = np.tanh(xn + r * hn)
        return (1 - z) * n + z * state
    return np.tanh(x @ w_ih.T + b_ih + state @ w_hh.T + b_hh)


def ref_sequence(kind, module, x, h0=None, c0=None):
    """(output, h_n[, c_n]) for x of shape (seq, batch, in), layer by layer, direction by
    direction, as PyTorch documents it."""
    dirs = 2 if module.bidirectional else 1
    H = module.hidden_size
    T, N = x.shape[:2]
    hn, cn = [], []
    inp = x
    for layer in range(module.num_layers):
        outs = []
        for d in range(dirs):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            p = {k: getattr(module, k + sfx)._value for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
            k = layer * dirs + d
            h = np.zeros((N, H)) if h0 is None else h0[k]
            c = np.zeros((N, H)) if c0 is None else c0[k]
            seq = np.zeros((T, N, H))
            for t in (range(T - 1, -1, -1) if d else range(T)):
                state = (h, c) if kind == "LSTM" else h
                res = ref_cell(kind, inp[t], state, p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"])
                h, c = res if kind == "LSTM" else (res, c)
                seq[t] = h
            outs.append(seq)
            hn.append(h)
            cn.append(c)
        inp = np.concatenate(outs, axis=-1)
    return inp, np.stack(hn), np.stack(cn)


KINDS = ["RNN", "LSTM", "GRU"]
LAYOUTS = [dict(), dict(num_layers=2), dict(bidirectional=True), dict(num_layers=2, bidirectional=True)]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("layout", LAYOUTS, ids=str)
def test_sequence_layer_matches_reference(kind, layout):
    cg.manual_seed(1)
    m = getattr(nn, kind)(3, 4, **layout).double()
    x = randn(5, 2, 3)
    out, hidden = m(x)
    ref_out, ref_h, ref_c = ref_sequence(kind, m, x._value)
    np.testing.assert_allclose(out._value, ref_out, rtol=1e-10, atol=1e-12)
    h_n = hidden[0] if kind == "LSTM" else hidden
    np.testing.assert_allclose(h_n._value, ref_h, rtol=1e-10, atol=1e-12)
    if kind == "LSTM":
        np.testing.assert_allclose(hidden[1]._value, ref_c, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_initial_state_batch_first_unbatched_and_batch_of_one(kind):
    cg.manual_seed(2)
    m = getattr(nn, kind)(3, 2, num_layers=2, bidirectional=True).double()
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3, 3))
    h0 = rng.standard_normal((4, 3, 2))
    c0 = rng.standard_normal((4, 3, 2))
    hx = (cg.tensor(h0), cg.tensor(c0)) if kind == "LSTM" else cg.tensor(h0)
    ref_out, ref_h, _ = ref_sequence(kind, m, x, h0, c0)
    out, _ = m(cg.tensor(x), hx)
    np.testing.assert_allclose(out._value, ref_out, rtol=1e-10)

    m.batch_first = True
    out_bf, hid_bf = m(cg.tensor(x.transpose(1, 0, 2)), hx)
    assert out_bf.shape == (3, 4, 4)
    np.testing.assert_allclose(out_bf._value, ref_out.transpose(1, 0, 2), rtol=1e-10)
    h_bf = hid_bf[0] if kind == "LSTM" else hid_bf
    assert h_bf.shape == (4, 3, 2)                 # h_n is never batch-first
    np.testing.assert_allclose(h_bf._value, ref_h, rtol=1e-10)

    # unbatched (seq, in): batch_first does not apply; a batch of one takes the vector path
    ub_hx = (cg.tensor(h0[:, 0]), cg.tensor(c0[:, 0])) if kind == "LSTM" else cg.tensor(h0[:, 0])
    out_ub, hid_ub = m(cg.tensor(x[:, 0]), ub_hx)
    assert out_ub.shape == (4, 4)
    np.testing.assert_allclose(out_ub._value, ref_out[:, 0], rtol=1e-10)
    assert (hid_ub[0] if kind == "LSTM" else hid_ub).shape == (4, 2)
    one_hx = tuple(h[:, :1] for h in hx) if kind == "LSTM" else hx[:, :1]
    out_one, _ = m(cg.tensor(x[:, :1].transpose(1, 0, 2)), one_hx)
    assert out_one.shape == (1, 4, 4)
    np.testing.assert_allclose(out_one._value[0], ref_out[:, 0], rtol=1e-10)


def test_parameter_names_order_and_shapes_are_pytorchs():
    m = nn.LSTM(3, 5, num_layers=2, bidirectional=True)
    names = [(n, p.shape) for n, p in m.named_parameters()]
    assert names[:8] == [("weight_ih_l0", (20, 3)), ("weight_hh_l0", (20, 5)), ("bias_ih_l0", (20,)),
                         ("bias_hh_l0", (20,)), ("weight_ih_l0_reverse", (20, 3)),
                         ("weight_hh_l0_reverse", (20, 5)), ("bias_ih_l0_reverse", (20,)),
                         ("bias_hh_l0_reverse", (20,))]
    assert names[8] == ("weight_ih_l1", (20, 10))
    assert len(names) == 16
    assert [n for n, _ in nn.GRU(2, 3, bias=False).named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    assert nn.GRUCell(2, 3).weight_ih.shape == (9, 2)
    k = 1 / np.sqrt(5)
    assert all(np.abs(p._value).max() <= k for p in m.parameters())
    with pytest.raises(ShapeError, match="expected input"):
        m(cg.ones(4, 2, 7))


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_match_reference_batched_and_unbatched(kind):
    cg.manual_seed(4)
    cell = getattr(nn, kind)(3, 2).double()
    rng = np.random.default_rng(5)
    for lead in [(4,), ()]:
        x = rng.standard_normal(lead + (3,))
        h = rng.standard_normal(lead + (2,))
        c = rng.standard_normal(lead + (2,))
        ps = (cell.weight_ih._value, cell.weight_hh._value, cell.bias_ih._value, cell.bias_hh._value)
        if kind == "LSTMCell":
            got = cell(cg.tensor(x), (cg.tensor(h), cg.tensor(c)))
            want = ref_cell("LSTM", x, (h, c), *ps)
            np.testing.assert_allclose(got[0]._value, want[0], rtol=1e-10)
            np.testing.assert_allclose(got[1]._value, want[1], rtol=1e-10)
            zero = cell(cg.tensor(x))[0]._value
            np.testing.assert_allclose(zero, ref_cell("LSTM", x, (0 * h, 0 * c), *ps)[0], rtol=1e-10)
        else:
            ref_kind = "GRU" if kind == "GRUCell" else "RNN"
            np.testing.assert_allclose(cell(cg.tensor(x), cg.tensor(h))._value,
                                       ref_cell(ref_kind, x, h, *ps), rtol=1e-10)
            np.testing.assert_allclose(cell(cg.tensor(x))._value,
                                       ref_cell(ref_kind, x, 0 * h, *ps), rtol=1e-10)


def test_relu_rnn():
    m = nn.RNN(2, 3, nonlinearity="relu").double()
    x = randn(4, 2, 2)
    out, _ = m(x)
    p = [getattr(m, k + "_l0")._value for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    h = np.zeros((2, 3))
    for t in range(4):
        h = np.maximum(x._value[t] @ p[0].T + p[2] + h @ p[1].T + p[3], 0)
    np.testing.assert_allclose(out._value[-1], h, rtol=1e-10)


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_gradients(kind):
    cell = getattr(nn, kind)(2, 2)
    x = randn(3, 2, requires_grad=True)
    h = randn(3, 2, seed=1, requires_grad=True)
    if kind == "LSTMCell":
        c = randn(3, 2, seed=2, requires_grad=True)
        assert gradcheck_module(cell, x, (h, c), extra=lambda hc: hc[0] * 2 + hc[1])
    else:
        assert gradcheck_module(cell, x, h)


@pytest.mark.parametrize("kind", KINDS)
def test_sequence_gradients_through_layers_and_directions(kind):
    m = getattr(nn, kind)(2, 2, num_layers=2, bidirectional=True)
    x = randn(3, 2, 2, requires_grad=True)

    def combine(result):
        out, hidden = result
        hs = hidden if kind != "LSTM" else hidden[0] + hidden[1]
        return cg.cat([out.reshape(-1), hs.reshape(-1)])
    assert gradcheck_module(m, x, extra=combine)


def test_gradients_reach_every_parameter_even_from_a_zero_state():
    m = nn.LSTM(2, 3)
    out, (h, c) = m(randn(1, 2, 2).float())
    out.sum().backward()
    assert all(p.grad is not None for p in m.parameters())     # weight_hh gets zeros, as in PyTorch
    assert not m.weight_hh_l0.grad._value.any()


def test_dropout_between_layers_only_in_training():
    cg.manual_seed(0)
    m = nn.GRU(3, 4, num_layers=2, dropout=0.5).double()
    x = randn(5, 2, 3)
    m.eval()
    a, _ = m(x)
    b, _ = m(x)
    np.testing.assert_array_equal(a._value, b._value)
    m.train()
    c, _ = m(x)
    assert not np.allclose(a._value, c._value)


def test_higher_order_gradients_through_the_fused_lstm_are_refused_not_wrong():
    # the fused layer's backward is array code: create_graph through it used to give
    # None or wrong second derivatives silently
    lstm = nn.LSTM(3, 4)
    x = cg.randn(5, 2, 3, requires_grad=True)
    y = (lstm(x)[0] ** 2).sum()
    with pytest.raises(cg.GraphError, match="lstm_layer's backward is computed on arrays"):
        cg.grad(y, x, create_graph=True)
