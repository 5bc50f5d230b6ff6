"""Ragged autobatching: per-sentence code with whole-sequence ops (a (T_i, d) matrix per
sentence) batches across sentences of different lengths, and gives the unbatched results."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import compgraph
import compgraph.functional as F
import compgraph.nn as nn
import compgraph.nn.functional as NF
from compgraph.errors import ArgumentError
from compgraph.executors.autobatch import _rows, autobatch
from compgraph.ops import OPS
from compgraph.tensor import apply

V, E, H, C = 17, 5, 6, 4


def _tagger(seed):
    compgraph.manual_seed(seed)
    model = nn.ModuleList([nn.Embedding(V, E), nn.LSTM(E, H), nn.Linear(H, C)])
    for p in model.parameters():
        p.data = compgraph.tensor(p.detach().numpy().astype(np.float64))
    return model


def _sentences(rng, n, longest=9):
    return [(rng.integers(0, V, int(t)), rng.integers(0, C, int(t)))
            for t in rng.integers(1, longest + 1, size=n)]


def _tagger_loss(model, g, words, tags):
    embed, lstm, out = model
    x = g.lookup(embed.weight, words) if g is not None else embed(compgraph.tensor(words))
    states, _ = lstm(x)
    return NF.cross_entropy(out(states), compgraph.tensor(tags), reduction="sum")


def _grads(params):
    got = [None if p.grad is None else p.grad.numpy().copy() for p in params]
    for p in params:
        p.grad = None
    return got


def _compare(params, build, rtol=1e-10):
    """build(g) -> loss, with g None (eager, sentence by sentence) or an autobatch graph:
    the same value and the same gradients; returns the batched graph."""
    eager = build(None)
    eager.backward()
    expected = _grads(params)
    with autobatch() as g:
        loss = build(g)
    assert loss._value is None                                   # recorded, not computed
    g.backward(loss)
    assert loss.item() == pytest.approx(eager.item(), rel=rtol)
    for p, e, got in zip(params, expected, _grads(params)):
        assert (e is None) == (got is None), p.shape
        if e is not None:
            np.testing.assert_allclose(got, e, rtol=rtol, atol=1e-13)
    return g


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 10_000))
def test_tagger_over_sentences_of_random_lengths(seed):
    model = _tagger(seed)
    data = _sentences(np.random.default_rng(seed), 7)
    g = _compare(list(model.parameters()),
                 lambda g: F.stack([_tagger_loss(model, g, w, t) for w, t in data]).mean())
    ops = g.autobatch_report().ops
    n = len(data)
    assert ops["lstm_layer"] == (n, 1)                 # one packed LSTM for every length
    assert ops["linear"] == (2 * n, 2)                 # input and output projections
    assert ops["cross_entropy"] == (n, 1)
    assert ops["add"] == (1, 1)                        # nn.LSTM's b_ih + b_hh: one shared node


def _lstm_layer(xw, whh, h0, c0):
    return apply(OPS["lstm_layer"], (xw, whh, h0, c0))


def test_packed_lstm_with_learned_states_and_gates_in_the_loss():
    """Shared (learned) initial states, per-member ones computed in the graph, and a loss
    that reads the gates and the cell states as well as the hidden states."""
    rng = np.random.default_rng(3)
    p = lambda *s: compgraph.tensor(rng.normal(size=s) * 0.4, requires_grad=True)  # noqa: E731
    W, whh, h0, c0, U = p(4 * H, E), p(4 * H, H), p(H), p(H), p(H, E)
    lengths = [5, 1, 3, 5, 2, 4]
    xs = [rng.normal(size=(t, E)) for t in lengths]
    zs = [rng.normal(size=E) for _ in lengths]

    def build(g):
        losses = []
        for k, (x, z) in enumerate(zip(xs, zs)):
            x = g.input(x) if g is not None else compgraph.tensor(x)
            xw = x @ W.T
            if k % 2:                                  # per-member states from the graph
                zin = g.input(z) if g is not None else compgraph.tensor(z)
                hk = F.tanh(U @ zin)
                out = _lstm_layer(xw, whh, hk, hk * 0.5)
            else:
                out = _lstm_layer(xw, whh, h0, c0)
            losses.append((out[..., :H] * out[..., H:2 * H]).sum() + F.sin(out[..., 2 * H:]).sum())
        return F.stack(losses).sum()

    g = _compare([W, whh, h0, c0, U], build)
    assert g.autobatch_report().ops["lstm_layer"] == (6, 2)   # shared states, member states


def test_row_wise_ops_reductions_picks_and_per_member_biases():
    rng = np.random.default_rng(5)
    W = compgraph.tensor(rng.normal(size=(C, E)), requires_grad=True)
    b = compgraph.tensor(rng.normal(size=C), requires_grad=True)
    scale = compgraph.tensor(rng.normal(size=(1, C)), requires_grad=True)
    data = [(rng.normal(size=(t, E)), rng.integers(0, C, t), rng.normal(size=C))
            for t in (3, 1, 6, 2, 6)]

    def build(g):
        losses = []
        for k, (x, y, bias) in enumerate(data):
            wrap = g.input if g is not None else compgraph.tensor
            x, bias = wrap(x), wrap(bias)
            logits = NF.linear(x, W, b) * scale + F.tanh(NF.linear(x, W, bias))   # member bias
            first, last = logits[0], logits[-1]                                     # picks
            mean = NF.cross_entropy(logits, compgraph.tensor(y), reduction="mean")
            rows = NF.cross_entropy(logits[..., 1:], compgraph.tensor(y % (C - 1)),
                                    reduction="none")
            losses.append(mean + rows.sum() + (first * last).sum() * 0.1 * (k + 1))
        return F.stack(losses).sum()

    g = _compare([W, b, scale], build)
    ops = g.autobatch_report().ops
    assert ops["linear"] == (10, 2) and ops["cross_entropy"] == (10, 2)
    assert ops["getitem"][1] <= 3                      # first, last, [..., 1:]: a batch each


def test_members_that_do_not_reach_the_loss_are_dropped_from_a_ragged_backward():
    rng = np.random.default_rng(7)
    W = compgraph.tensor(rng.normal(size=(4 * H, E)) * 0.5, requires_grad=True)
    whh = compgraph.tensor(rng.normal(size=(4 * H, H)) * 0.5, requires_grad=True)
    xs = [rng.normal(size=(t, E)) for t in (4, 2, 5, 3)]
    zero = np.zeros(H)

    def build(g):
        outs = []
        for x in xs:
            x = g.input(x) if g is not None else compgraph.tensor(x)
            outs.append(_lstm_layer(NF.linear(x, W, compgraph.tensor(np.zeros(4 * H))), whh,
                                    compgraph.tensor(zero), compgraph.tensor(zero)))
        return outs[0][..., :H].sum() + outs[2][-1].sum()      # members 1 and 3 unused

    g = _compare([W, whh], build)
    assert g.autobatch_report().ops["lstm_layer"] == (4, 1)


def test_rows_reuses_consecutive_views_and_copies_otherwise():
    a = np.arange(24.0).reshape(8, 3)
    parts = [a[0:2], a[2:3], a[3:7]]
    joined = _rows(parts)
    assert np.shares_memory(joined, a) and np.array_equal(joined, a[:7])
    swapped = _rows([parts[1], parts[0]])
    assert not np.shares_memory(swapped, a)
    assert np.array_equal(swapped, np.concatenate([parts[1], parts[0]]))


def test_lookup_of_a_sentence_and_its_errors():
    T = compgraph.tensor(np.arange(12.0).reshape(6, 2), requires_grad=True)
    with autobatch() as g:
        rows = g.lookup(T, np.array([5, 0, 5]))
        one = g.lookup(T, np.int64(2))
        loss = rows.sum() + one.sum()
    g.backward(loss)
    np.testing.assert_array_equal(T.grad.numpy()[:, 0], [1, 0, 1, 0, 0, 2])
    with pytest.raises(ArgumentError):
        g.lookup(T, np.array([0.5]))


def test_nn_embedding_of_graph_ids_batches_into_one_lookup():
    cg = compgraph
    cg.manual_seed(0)
    E = nn.Embedding(10, 4)
    sentences = [np.array([1, 2, 3]), np.array([4, 5]), np.array([1, 9, 9, 0])]
    with cg.autobatch() as g:
        outs = [(E(g.input(ids)) ** 2).sum() for ids in sentences]
        loss = cg.stack(outs).sum()
    g.backward(loss)
    batched = E.weight.grad.numpy().copy()
    E.weight.grad = None
    eager = cg.stack([(E(cg.tensor(ids)) ** 2).sum() for ids in sentences]).sum()
    eager.backward()
    np.testing.assert_allclose(batched, E.weight.grad.numpy(), rtol=1e-6)
    assert "getitem                      3 nodes      1 batches" in str(g.autobatch_report())


def test_a_later_graph_over_the_same_parameters_batches_as_the_first():
    """Signatures are remembered across graphs (keyed on the parameters' ids and the input
    shapes); a second graph, whose nodes all hit that memory, must batch and differentiate
    exactly as the first, and one op's new rule must not be answered from it."""
    model = _tagger(3)
    params = list(model.parameters())
    data = _sentences(np.random.default_rng(3), 6)
    build = lambda g: F.stack([_tagger_loss(model, g, w, t) for w, t in data]).mean()  # noqa: E731
    first = _compare(params, build).autobatch_report().ops
    second = _compare(params, build).autobatch_report().ops
    assert second == first
    linear = OPS["linear"]
    rule = linear.batch
    try:
        linear.batch = None                            # linear now runs node by node
        ops = _compare(params, build).autobatch_report().ops
    finally:
        linear.batch = rule
    assert ops["linear"] == (2 * len(data), 2 * len(data))
