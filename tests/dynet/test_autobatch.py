"""Automatic batching: batched runs equal unbatched ones on random dynamic graphs."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import compgraph
import compgraph.dynet as dy
import compgraph.functional as F
from compgraph.executors.autobatch import autobatch

from .helpers import analytic_grads, to_float64


def _same(model, build_loss):
    """Loss and gradients with and without autobatching; returns the batched graph."""
    v0, g0 = analytic_grads(model, build_loss, autobatch=False)
    v1, g1 = analytic_grads(model, build_loss, autobatch=True)
    assert v1 == pytest.approx(v0, rel=1e-10, abs=1e-12)
    for a, b in zip(g0, g1):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)
    return dy.cg()


def test_lstm_over_sequences_of_different_lengths():
    compgraph.manual_seed(0)
    rng = np.random.default_rng(0)
    m = dy.ParameterCollection()
    E = m.add_lookup_parameters((20, 5))
    lstm = dy.LSTMBuilder(2, 5, 6, m)
    W, b = m.add_parameters((4, 6)), m.add_parameters(4)
    to_float64(m)
    data = [(rng.integers(0, 20, n).tolist(), rng.integers(0, 4, n).tolist())
            for n in rng.integers(1, 12, size=9)]

    def build():
        losses = []
        for words, tags in data:
            outs = lstm.initial_state().transduce([E[w] for w in words])
            losses += [dy.pickneglogsoftmax(W * h + b, t) for h, t in zip(outs, tags)]
        return dy.esum(losses)

    g = _same(m, build)
    report = g.autobatch_report()
    n_tokens = sum(len(w) for w, _ in data)
    assert report.ops["cross_entropy"] == (n_tokens, 1)          # the output layer: one batch
    assert report.ops["vanilla_lstm_gates"][1] <= 2 * 11          # a batch per layer and step
    assert report.batches < report.nodes / 4


def _random_tree(rng, n):
    if n == 1:
        return int(rng.integers(0, 10))
    k = int(rng.integers(1, n))
    return (_random_tree(rng, k), _random_tree(rng, n - k))


def test_recursive_net_over_random_binary_trees():
    compgraph.manual_seed(1)
    rng = np.random.default_rng(1)
    m = dy.ParameterCollection()
    E = m.add_lookup_parameters((10, 4))
    W, b = m.add_parameters((4, 8)), m.add_parameters(4)
    V = m.add_parameters((3, 4))
    to_float64(m)
    trees = [(_random_tree(rng, int(rng.integers(1, 9))), int(rng.integers(0, 3))) for _ in range(8)]

    def encode(t):
        if not isinstance(t, tuple):
            return E[t]
        return dy.tanh(W * dy.concatenate([encode(t[0]), encode(t[1])]) + b)

    def build():
        return dy.esum([dy.pickneglogsoftmax(V * encode(t), y) for t, y in trees])

    g = _same(m, build)
    report = g.autobatch_report()
    assert report.ops["tanh"][1] < report.ops["tanh"][0]          # nodes of equal height together


# --- random DAGs of mixed ops, in the tensor dialect ---------------------------------------------

def _random_program(rng, x, params):
    """A random DAG over the example's input x (shape (4,)): each step applies a random op
    to random earlier values, so examples differ in structure as well as in data."""
    W, b, T = params
    values = [x]
    for _ in range(int(rng.integers(3, 12))):
        a = values[int(rng.integers(len(values)))]
        c = values[int(rng.integers(len(values)))]
        kind = int(rng.integers(13))
        if kind == 0:
            out = a + c
        elif kind == 1:
            out = a * c
        elif kind == 2:
            out = F.tanh(W @ a + b)                          # shared matrix times stacked vectors
        elif kind == 3:
            out = F.sigmoid(a) - c
        elif kind == 4:
            out = a / (F.exp(c) + 1.0)
        elif kind == 5:
            out = F.softmax(a, -1) * 3.0
        elif kind == 6:
            out = F.reshape(F.cat([a[:2], c[2:]]), (2, 2)).sum(0).sum() + a  # slices, cat, sums
        elif kind == 7:
            out = F.relu(a) + F.log_softmax(c, -1)
        elif kind == 8:
            out = a * T[int(rng.integers(0, 6))]             # rows of a shared table
        elif kind == 9:
            out = F.outer(a, c).sum(0)                       # an op without a batching rule
        elif kind == 10:
            out = (a * c).sum() * a
        elif kind == 11:
            out = F.stack([a, c]).mean(0)
        else:
            out = -a + F.maximum(a, c)
        values.append(out)
    return values[-1]


def _dag_losses(seed, graph, params):
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(8):
        x = rng.normal(size=4)
        xi = graph.input(x) if graph is not None else compgraph.tensor(x)
        W, b, T = params
        # one of three program shapes, so that examples share some structure and batch
        shape_rng = np.random.default_rng([seed, int(rng.integers(3))])
        out = W @ (_random_program(shape_rng, xi, params) * T[int(rng.integers(0, 6))]) + b
        losses.append(F.cross_entropy(out, compgraph.tensor(int(rng.integers(4))), reduction="sum"))
    return F.stack(losses).sum()


def _params(seed):
    rng = np.random.default_rng(seed + 1000)
    return [compgraph.tensor(rng.normal(size=s) * 0.5, requires_grad=True)
            for s in ((4, 4), (4,), (6, 4))]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_random_dags_of_mixed_ops(seed):
    params = _params(seed)
    eager = _dag_losses(seed, None, params)
    eager.backward()
    expected = [p.grad.numpy().copy() for p in params]
    for p in params:
        p.grad = None
    with autobatch() as g:
        loss = _dag_losses(seed, g, params)
    assert loss._value is None                                  # recorded, not computed
    g.backward(loss)
    assert loss.item() == pytest.approx(eager.item(), rel=1e-10)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.grad.numpy(), e, rtol=1e-9, atol=1e-12)
    report = g.autobatch_report()
    assert report.nodes == sum(1 for n in g.nodes if n.op is not None)
    assert report.batches < report.nodes


def test_core_backward_through_a_batched_forward():
    """loss.backward() of the engine evaluates through the executor, then sweeps node by node."""
    params = _params(3)
    with autobatch() as g:
        loss = _dag_losses(3, g, params)
    loss.backward()
    got = [p.grad.numpy().copy() for p in params]
    eager = _dag_losses(3, None, _fresh := _params(3))
    eager.backward()
    for a, p in zip(got, _fresh):
        np.testing.assert_allclose(a, p.grad.numpy(), rtol=1e-9)
    assert g.autobatch_report().batches < g.autobatch_report().nodes


def test_lookups_of_a_shared_table_become_one_gather():
    T = compgraph.tensor(np.arange(12.0).reshape(6, 2), requires_grad=True)
    with autobatch() as g:
        rows = [g.lookup(T, i) for i in (4, 1, 4, 0)]
        loss = F.stack([r.sum() * (k + 1) for k, r in enumerate(rows)]).sum()
    g.backward(loss)
    assert loss.item() == pytest.approx(17 * 1 + 5 * 2 + 17 * 3 + 1 * 4)
    np.testing.assert_allclose(T.grad.numpy()[:, 0], [4, 2, 0, 0, 4, 0])   # rows 4 twice: summed
    assert g.autobatch_report().ops["getitem"] == (4, 1)


def test_members_that_do_not_reach_the_loss_get_no_gradient_work():
    m = dy.ParameterCollection()
    W = m.add_parameters((3, 3))
    dy.renew_cg(autobatching=True)
    xs = [dy.inputVector([1.0, 2.0, float(k)]) for k in range(4)]
    hs = [dy.tanh(W * x) for x in xs]
    loss_a, loss_b = dy.sum_elems(hs[0] + hs[1]), dy.sum_elems(hs[2] + hs[3])
    dy.esum([loss_a, loss_b]).value()                  # both computed in the same batches
    loss_a.backward()
    got = W.grad_as_array()
    W.scale_gradient(0)
    x0, x1 = xs[0].npvalue(), xs[1].npvalue()          # read before renew_cg makes them stale
    dy.renew_cg()
    dy.sum_elems(dy.tanh(W * x0) + dy.tanh(W * x1)).backward()
    np.testing.assert_allclose(got, W.grad_as_array(), rtol=1e-5)


def test_incremental_forward_and_set_recompute_in_batches():
    compgraph.manual_seed(9)
    m = dy.ParameterCollection()
    W = m.add_parameters((2, 2))
    dy.renew_cg(autobatching=True)
    x = dy.vecInput(2)
    first = dy.sum_elems(dy.tanh(W * x))
    x.set([1.0, 2.0])
    v1 = first.value()                                 # a first evaluate
    second = dy.sum_elems(dy.logistic(W * x))          # nodes added after it
    total = first + second
    v_total = total.value()
    x.set([-1.0, 0.5])                                 # invalidates the whole graph
    v_after = total.value()
    A = W.as_array()
    ref = lambda v: np.tanh(A @ v).sum() + (1 / (1 + np.exp(-(A @ v)))).sum()  # noqa: E731
    assert v1 == pytest.approx(np.tanh(A @ [1, 2]).sum(), rel=1e-5)
    assert v_total == pytest.approx(ref(np.array([1.0, 2.0])), rel=1e-5)
    assert v_after == pytest.approx(ref(np.array([-1.0, 0.5])), rel=1e-5)
    total.backward()
    assert np.abs(W.grad_as_array()).sum() > 0
