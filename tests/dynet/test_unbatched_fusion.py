"""The LSTM step, the Tree-LSTM cell and the output layer fused in UNBATCHED graphs
(lstm_fusion.fuse_single, regions.Program.run1 / vjp1, regions.Group, ComputationGraph
._run_fused and backward_from): one region per step instead of its nodes one by one, and
a sentence's output layers as one batch.  A fused cell runs the nodes' own kernels and VJP
formulas in the node-by-node order; the output layers' batch (lstm_fusion.group_outputs)
computes W h_t for all t as one product, and the gradients that flow back through it (W^T d
as one product, then into every step before) are equal up to that product's rounding, as are
the gradients of a parameter matrix W, whose per-step outer products are summed as one D^T X
(regions.add_outer).  So everything here is compared with the node-by-node path
(lstm_fusion.FUSE_UNBATCHED = False): values and losses, and every gradient up to float
rounding (float64 runs make that 1e-12).  The cases that must not fuse are left alone."""
import pathlib
import sys

import numpy as np
import pytest

import compgraph.dynet as dy
from compgraph.dynet import lstm_fusion, plans
from compgraph.dynet.regions import Group

from .test_lstm_fusion import H, _build, _data, _model, _step, _three_term_build

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "benchmarks"))
import dynet_programs  # noqa: E402


@pytest.fixture(autouse=True)
def no_plans(monkeypatch):
    """No replayed plan (plans.py) in these graphs unless a test asks: the graphs run the
    fused or the node-by-node evaluation, nothing else."""
    monkeypatch.setattr(plans, "evaluate", lambda graph: False)


def _regions():
    return list(dy.cg()._regions.values())


MATRICES = ("Wx", "Wh", "Wo")      # the W of W x products: their sums over steps are one D^T X


def _train(fused, monkeypatch, build, steps=3, seed=0, float64=False):
    """(losses, each step's gradients by parameter, final weights, regions per graph) of
    `steps` SimpleSGD updates on build(P)."""
    monkeypatch.setattr(lstm_fusion, "FUSE_UNBATCHED", fused)
    m, P = _model(seed)
    if not float64:
        _float32(m)
    trainer = dy.SimpleSGDTrainer(m, learning_rate=0.2)
    losses, grads, counts = [], [], []
    for _ in range(steps):
        dy.renew_cg()
        loss = build(P)
        losses.append(loss.value())
        loss.backward()
        counts.append(len(_regions()))
        grads.append({k: p.grad_as_array().copy() for k, p in P.items()})
        trainer.update()
    return losses, grads, {k: p.as_array().copy() for k, p in P.items()}, counts


def _float32(m):
    for p in m._all():                         # _model made them float64: back to DyNet's
        p._value = p._value.astype(np.float32)
        p._grad = np.zeros_like(p._value)


def _close(b, a, float64):
    """Equal up to the rounding of a sum taken in another order (a D^T X)."""
    rtol = 1e-12 if float64 else 2e-5
    np.testing.assert_allclose(b, a, rtol=rtol, atol=rtol * max(1.0, np.abs(a).max()))


def _grads_agree(fused, plain):
    """Every gradient up to the rounding of the batched products (see the module doc)."""
    for k in plain:
        _close(fused[k], plain[k], False)


def _equal(monkeypatch, build, float64=False, **kw):
    """Fused against node by node: losses, every step's gradients and the trained weights
    up to the rounding of the batched products and what the updates carried forward."""
    l0, g0, w0, c0 = _train(False, monkeypatch, build, float64=float64, **kw)
    l1, g1, w1, c1 = _train(True, monkeypatch, build, float64=float64, **kw)
    assert c0 == [0] * len(c0)
    _close(np.array(l1), np.array(l0), float64)
    for gf, gp in zip(g1, g0):
        for k in gp:
            _close(gf[k], gp[k], float64)
    for k in w0:
        _close(w1[k], w0[k], float64)
    return c1


@pytest.mark.parametrize("variant", ["plain", "permuted", "swapped"])
@pytest.mark.parametrize("float64", [False, True])
def test_fused_training_equals_node_by_node(monkeypatch, variant, float64):
    data = _data(5, n=3)
    words = sum(len(w) for w, _ in data)
    counts = _equal(monkeypatch, lambda P: _build(P, data, variant), float64=float64)
    # every step is one region, and every output layer with its loss another
    assert counts == [2 * words] * 3


def test_an_inner_node_used_outside_its_region(monkeypatch):
    """A loss on a gate (f): its gradient reaches the inner node from outside the region."""
    data = _data(6, n=3)
    words = sum(len(w) for w, _ in data)
    assert _equal(monkeypatch, lambda P: _build(P, data, use_gate=True)) == [2 * words] * 3


def test_other_nodes_among_a_steps_nodes_are_not_fused(monkeypatch):
    """The interleaved variant makes nodes of its own among the step's: such a cell stays
    node by node (the reverse sweep could not run its region at once); with no cell in the
    graph, nothing is fused (affine transforms and output layers alone are not worth it)."""
    data = _data(7, n=3)
    assert _equal(monkeypatch, lambda P: _build(P, data, "interleaved")) == [0] * 3


def test_gates_of_two_vectors_and_a_three_term_cell(monkeypatch):
    data = _data(8, n=3)
    words = sum(len(w) for w, _ in data)
    assert _equal(monkeypatch, lambda P: _three_term_build(P, data)) == [words] * 3
    # o from another affine: not the idiom, no cell, nothing fused
    assert _equal(monkeypatch, lambda P: _three_term_build(P, data, True)) == [0] * 3


def _partial_run(P, read_early):
    """A graph some of whose values are read before it is complete, with intermediates'
    values and full gradients asked for afterwards."""
    Wx, Wh, b = (dy.parameter(P[k]) for k in ("Wx", "Wh", "b"))
    h = c = dy.zeros(H)
    gates, cs = [], []
    for k, w in enumerate([3, 1, 4, 1, 5, 9, 2, 6]):
        h, c, g = _step(dy.lookup(P["emb"], w), h, c, Wx, Wh, b, "plain")
        gates.append(g)
        cs.append(c)
        if read_early and k == 2:
            g[1].value()                        # mid-step: the region's nodes partly computed
    loss = dy.sum_elems(h) + dy.sum_elems(dy.cmult(gates[1][0], gates[5][3]))
    v = loss.value()
    loss.backward(full=True)
    return (v, [g[2].npvalue() for g in gates], [c.npvalue() for c in cs],
            [g[0].gradient() for g in gates], [c.gradient() for c in cs],
            [p.grad_as_array().copy() for p in (P["Wx"], P["Wh"], P["b"], P["emb"])])


@pytest.mark.parametrize("read_early", [False, True])
def test_values_and_full_gradients_of_inner_nodes(monkeypatch, read_early):
    m, P = _model(9)
    _float32(m)                 # (float64 ones meet dy.zeros' float32 h: that step stays apart)
    out = []
    for fused in (False, True):
        monkeypatch.setattr(lstm_fusion, "FUSE_UNBATCHED", fused)
        for p in m._all():
            p._zero_grad()
        dy.renew_cg()
        out.append(_partial_run(P, read_early))
        names = [r.program.name for r in _regions()]
        # read early: step 2 was cut after its affine transform, fused alone then
        assert names.count(lstm_fusion.CELL) == (0 if not fused else 7 if read_early else 8)
        assert names.count(lstm_fusion.AFFINE) == (1 if fused and read_early else 0)
    (v0, *rest0), (v1, *rest1) = out
    assert v1 == v0
    for xs, ys in zip(rest0, rest1):
        for x, y in zip(xs, ys):
            np.testing.assert_array_equal(y, x)


def test_a_plain_backward_of_a_partly_read_graph(monkeypatch):
    """backward() (not full) of a graph whose value was read mid-way: the regions fused in
    the second evaluation and the nodes computed in the first, in one sweep."""
    def run(fused):
        monkeypatch.setattr(lstm_fusion, "FUSE_UNBATCHED", fused)
        m, P = _model(10)
        _float32(m)
        dy.renew_cg()
        Wx, Wh, b = (dy.parameter(P[k]) for k in ("Wx", "Wh", "b"))
        h = c = dy.zeros(H)
        for k, w in enumerate([2, 7, 1, 8, 2, 8]):
            h, c, _ = _step(dy.lookup(P["emb"], w), h, c, Wx, Wh, b, "plain")
            if k == 1:
                dy.sum_elems(h).value()
        loss = dy.sum_elems(h)
        v = loss.value()
        loss.backward()
        names = [r.program.name for r in _regions()]
        assert set(names) <= {lstm_fusion.CELL}
        return v, len(names), {k: p.grad_as_array().copy() for k, p in P.items()}
    v0, n0, g0 = run(False)
    v1, n1, g1 = run(True)
    assert (n0, n1) == (0, 6) and v1 == v0
    _grads_agree(g1, g0)


def test_autobatched_immediate_and_anomaly_graphs_fuse_nothing_this_way(monkeypatch):
    m, P = _model(11)
    data = _data(11, n=2)
    for kw in (dict(autobatching=True), dict(immediate_compute=True)):
        dy.renew_cg(**kw)
        _build(P, data).value()
        assert _regions() == []
    with dy.detect_anomaly() if hasattr(dy, "detect_anomaly") else _anomaly():
        dy.renew_cg()
        _build(P, data).value()
        assert _regions() == []


class _anomaly:
    def __enter__(self):
        from compgraph import state
        self.old, state.ANOMALY = state.ANOMALY, True

    def __exit__(self, *exc):
        from compgraph import state
        state.ANOMALY = self.old


@pytest.mark.parametrize("workload", ["tagger-per-sentence", "treelstm-autobatch"])
def test_the_benchmarks_programs_unbatched(monkeypatch, workload):
    """The side-by-side benchmark's tagger and Tree-LSTM (run unbatched here), a few
    updates: the same losses and weights bit for bit; the Tree-LSTM's cells are fused."""
    _, _, _, setup, step = dynet_programs.WORKLOADS[workload]
    results = []
    for fused in (False, True):
        monkeypatch.setattr(lstm_fusion, "FUSE_UNBATCHED", fused)
        st = setup(dy, np.random.default_rng(0))
        if workload != "tagger-per-sentence":
            st.per_graph = 4                    # 4 trees a graph (32 in the benchmark)
        losses, names = [], set()
        for i in range(3):
            dy.renew_cg(autobatching=False)
            loss, _ = step(dy, st, i)
            losses.append(loss.value())
            loss.backward()
            names |= {m.program.name for m in _regions()}
            st.trainer.update()
        results.append((losses, [p.as_array().copy() for p in st.pc._all()], names))
    (l0, w0, n0), (l1, w1, n1) = results
    assert n0 == set() and lstm_fusion.CELL in n1 and lstm_fusion.LOSS in n1
    _close(np.array(l1), np.array(l0), False)
    for a, b in zip(w0, w1):
        _close(b, a, False)


def _plan_run(monkeypatch, build, fused, graphs=5):
    """(losses, final weights, [replayed], [regions]) of `graphs` updates with plans written
    at the second sight of a structure (plans.py)."""
    monkeypatch.setattr(lstm_fusion, "FUSE_UNBATCHED", fused)
    for d in (plans._trie, plans._seen, plans._plans, plans._size_count):
        d.clear()
    m, P = _model(12)
    _float32(m)
    trainer = dy.SimpleSGDTrainer(m, learning_rate=0.2)
    losses, replayed, fused = [], [], []
    for _ in range(graphs):
        dy.renew_cg()
        loss = build(P)
        losses.append(loss.value())
        loss.backward()
        replayed.append(dy.cg()._plan is not None)
        fused.append([r.program.name for r in _regions()])
        trainer.update()
    return losses, [p.as_array().copy() for p in m._all()], replayed, fused


@pytest.mark.parametrize("cells", [True, False])
def test_cells_are_fused_before_plans_and_other_graphs_keep_their_plans(monkeypatch, cells):
    """A graph with LSTM cells runs them fused, never a replayed plan (plans.py: slower for
    it); a graph without cells keeps its plan (and is never fused: its lone affine
    transforms are not worth it).  Either way the results are the node-by-node ones (up to the matrices' sums)."""
    monkeypatch.undo()                          # the real plans.evaluate
    monkeypatch.setattr(plans, "_FOLD_AT", 0)
    monkeypatch.setattr(plans, "_fold", [True])
    monkeypatch.setattr(plans, "_PLAN_AT", 2)
    data = _data(12, n=1)
    if cells:
        def build(P):
            return _build(P, data)
    else:
        def build(P):
            return _three_term_build(P, data, o_from_other_affine=True)
    l0, w0, r0, f0 = _plan_run(monkeypatch, build, False)
    l1, w1, r1, f1 = _plan_run(monkeypatch, build, True)
    assert any(r0) and f0 == [[]] * 5               # node by node: planned and replayed
    if cells:
        assert not any(r1) and all(lstm_fusion.CELL in f for f in f1)
    else:
        assert r1 == r0 and f1 == [[]] * 5
    _close(np.array(l1), np.array(l0), False)
    for a, b in zip(w0, w1):
        _close(b, a, False)


def test_cg_revert_after_a_fused_evaluation(monkeypatch):
    """Steps evaluated fused, then reverted to a checkpoint in the middle of a step and
    built again: the dropped regions are never run backward, the kept nodes' gradients are
    the node-by-node ones."""
    def run(fused):
        monkeypatch.setattr(lstm_fusion, "FUSE_UNBATCHED", fused)
        m, P = _model(13)
        _float32(m)
        dy.renew_cg()
        Wx, Wh, b = (dy.parameter(P[k]) for k in ("Wx", "Wh", "b"))
        h = c = dy.zeros(H)
        for w in (1, 2, 3):
            h, c, _ = _step(dy.lookup(P["emb"], w), h, c, Wx, Wh, b, "plain")
        g = dy.affine_transform([b, Wx, dy.lookup(P["emb"], 4), Wh, h])
        dy.cg_checkpoint()                     # inside a step: after its affine transform
        h2, c2 = h, c
        for w in (5, 6):
            h2, c2, _ = _step(dy.lookup(P["emb"], w), h2, c2, Wx, Wh, b, "plain")
        dy.sum_elems(h2).value()               # fused: 3 steps, the affine, 2 steps
        n = len(_regions())
        dy.cg_revert()
        i = dy.logistic(dy.pick_range(g, 0, H))
        loss = dy.sum_elems(dy.cmult(i, c)) + dy.sum_elems(h)
        v = loss.value()
        loss.backward()
        return v, n, {k: p.grad_as_array().copy() for k, p in P.items()}
    v0, n0, g0 = run(False)
    v1, n1, g1 = run(True)
    assert (n0, n1) == (0, 6) and v1 == v0
    _grads_agree(g1, g0)


def test_a_parameter_set_between_forward_and_backward(monkeypatch):
    """set_value() after the forward: the backward uses the values the forward used (DyNet's
    rule, graph.hold), fused as node by node."""
    def run(fused):
        monkeypatch.setattr(lstm_fusion, "FUSE_UNBATCHED", fused)
        m, P = _model(14)
        _float32(m)
        data = _data(14, n=1)
        dy.renew_cg()
        loss = _build(P, data)
        v = loss.value()
        P["Wh"].set_value(np.full((4 * H, H), 0.5, np.float32))
        loss.backward()
        return v, len(_regions()), {k: p.grad_as_array().copy() for k, p in P.items()}
    v0, n0, g0 = run(False)
    v1, n1, g1 = run(True)
    assert n0 == 0 and n1 > 0
    _close(v1, v0, False)
    _grads_agree(g1, g0)


def _groups():
    return list({id(g): g for g in dy.cg()._regions.values() if g.__class__ is Group}.values())


def _losses_and_grads(monkeypatch, fused, build, seed=15):
    """Each word's loss value, the total, and every parameter's gradient of one graph."""
    monkeypatch.setattr(lstm_fusion, "FUSE_UNBATCHED", fused)
    m, P = _model(seed)
    _float32(m)
    dy.renew_cg()
    parts = []
    loss = build(P, parts)
    v = loss.value()
    loss.backward()
    return ([p.value() for p in parts], v, {k: p.grad_as_array().copy() for k, p in P.items()},
            _groups())


def _tagger(P, parts, data, between=False):
    """_build's tagger, its per-word losses kept in parts; between: a node that uses a
    word's logits made before the next word's step (inside the span of the output layers)."""
    Wx, Wh, b, Wo, bo = (dy.parameter(P[k]) for k in ("Wx", "Wh", "b", "Wo", "bo"))
    for words, tags in data:
        h = c = dy.zeros(H)
        for w, t in zip(words, tags):
            h, c, _ = _step(dy.lookup(P["emb"], w), h, c, Wx, Wh, b, "plain")
            logits = dy.affine_transform([bo, Wo, h])
            parts.append(dy.pickneglogsoftmax(logits, t))
            if between:
                parts.append(dy.sum_elems(logits) * 0.25)
    return dy.esum(parts)


def test_the_output_layers_of_a_graph_run_as_one_group(monkeypatch):
    """Every word's W h + b and loss in one Group (all share Wo, bo): each word's loss and
    every gradient (Wo, bo, and through h the LSTM's and the embeddings') as node by node,
    up to the rounding of the batched product."""
    data = _data(15, n=3)
    words = sum(len(w) for w, _ in data)
    p0, v0, g0, n0 = _losses_and_grads(monkeypatch, False, lambda P, parts: _tagger(P, parts, data))
    p1, v1, g1, n1 = _losses_and_grads(monkeypatch, True, lambda P, parts: _tagger(P, parts, data))
    assert n0 == [] and len(n1) == 1 and len(n1[0].members) == words
    _close(np.array(p1), np.array(p0), False)
    _close(v1, v0, False)
    assert np.abs(g0["emb"]).max() > 0 and np.abs(g0["Wo"]).max() > 0
    _grads_agree(g1, g0)


def test_output_layers_whose_nodes_are_used_in_between_are_not_grouped(monkeypatch):
    """A word's logits used by a node made before the next output layer: the batch could not
    run at the last one's place, so they stay one region each -- same results either way."""
    data = _data(16, n=2)
    build = lambda P, parts: _tagger(P, parts, data, between=True)   # noqa: E731
    p0, v0, g0, _ = _losses_and_grads(monkeypatch, False, build)
    p1, v1, g1, n1 = _losses_and_grads(monkeypatch, True, build)
    assert n1 == [] and any(m.program.name == lstm_fusion.LOSS for m in _regions())
    _close(np.array(p1), np.array(p0), False)
    _close(v1, v0, False)
    _grads_agree(g1, g0)


def test_a_backward_from_an_earlier_node_after_a_fused_evaluation(monkeypatch):
    """backward() from a word's loss in the middle of the graph (not its last node): the
    sweep over the nodes, not over the evaluation's items -- the gradients of that loss alone."""
    data = _data(17, n=2)

    def run(fused):
        monkeypatch.setattr(lstm_fusion, "FUSE_UNBATCHED", fused)
        m, P = _model(17)
        _float32(m)
        dy.renew_cg()
        parts = []
        _tagger(P, parts, data).value()
        parts[3].backward()
        return parts[3].value(), {k: p.grad_as_array().copy() for k, p in P.items()}
    v0, g0 = run(False)
    v1, g1 = run(True)
    _close(v1, v0, False)
    assert np.abs(g0["Wx"]).max() > 0
    _grads_agree(g1, g0)


def test_the_lstm_chain_and_a_gate_used_after_it(monkeypatch):
    """A sentence's steps run as one lstm_chain.Chain; a loss on a gate made after the last
    step sends a gradient to an inner node, which the chain leaves to the per-step regions:
    the gradients are the node-by-node ones either way."""
    from compgraph.dynet.lstm_chain import Chain

    def run(fused, gate):
        monkeypatch.setattr(lstm_fusion, "FUSE_UNBATCHED", fused)
        m, P = _model(18)
        _float32(m)
        dy.renew_cg()
        Wx, Wh, b = (dy.parameter(P[k]) for k in ("Wx", "Wh", "b"))
        h = c = dy.zeros(H)
        gates = []
        for w in (3, 1, 4, 1, 5):
            h, c, g = _step(dy.lookup(P["emb"], w), h, c, Wx, Wh, b, "plain")
            gates.append(g)
        loss = dy.sum_elems(h) + (dy.sum_elems(gates[2][1]) if gate else dy.sum_elems(c))
        v = loss.value()
        loss.backward()
        chains = [it for it in dy.cg()._swept if it.__class__ is Chain]
        return v, len(chains), {k: p.grad_as_array().copy() for k, p in P.items()}
    for gate in (False, True):
        v0, n0, g0 = run(False, gate)
        v1, n1, g1 = run(True, gate)
        assert (n0, n1) == (0, 1) and v1 == v0
        assert np.abs(g0["Wh"]).max() > 0
        _grads_agree(g1, g0)
