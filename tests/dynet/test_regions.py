"""Fused regions beyond the LSTM step (compgraph/dynet/lstm_fusion.py, regions.py): the
Tree-LSTM's cells and affine transforms, affine transforms of a per-member bias, cells of
two sizes in one graph (never one batch), members no gradient reaches (left out of the
backward, even when their values are NaN), batched expressions (left alone) -- each equal
to the unbatched graph, values and gradients, and the Tree-LSTM's gradients equal to
finite differences."""
import importlib.util

import numpy as np
import pytest

import compgraph
import compgraph.dynet as dy

from .helpers import ROOT, analytic_grads, numeric_grad, to_float64

_spec = importlib.util.spec_from_file_location("dynet_programs", ROOT / "benchmarks" / "dynet_programs.py")
programs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(programs)

CELL, AFFINE, LOSS = "gated_cell (fused)", "affine (fused)", "affine_xent (fused)"


def _same(pc, build):
    v0, g0 = analytic_grads(pc, build, autobatch=False)
    v1, g1 = analytic_grads(pc, build, autobatch=True)
    assert v1 == pytest.approx(v0, rel=1e-10, abs=1e-12)
    assert any(g.any() for g in g0)
    for a, b in zip(g0, g1):
        assert np.isfinite(b).all()
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)
    return dy.cg().autobatch_report()


def _leaves(t):
    return 1 if not isinstance(t, tuple) else _leaves(t[0]) + _leaves(t[1])


def _tree(trees, seed=5):
    st = programs._tree_setup(dy, np.random.default_rng(seed), trees)
    st.per_graph = trees
    to_float64(st.pc)
    return st


def test_tree_lstm_autobatched_equals_unbatched():
    st = _tree(9)                                  # an odd number of trees of 4..16 leaves
    report = _same(st.pc, lambda: programs._tree_step(dy, st, 0)[0])
    n = sum(_leaves(t) for t, _ in st.data)
    k = len(st.data)
    # a leaf's cell: b + W x (2 nodes), 3 ranges, 3 gates, i*u, tanh, h; a binary node's:
    # b + Ul hl + Ur hr (4), 5 ranges, 5 gates, 3 products, 2 sums, tanh, h -- every one fused
    assert report.ops[CELL][0] == 11 * n + 21 * (n - k)
    assert report.ops[LOSS] == (3 * k, 1)            # the output layer and its loss
    assert "cross_entropy" not in report.ops
    assert "sigmoid" not in report.ops and "mul" not in report.ops
    # leaf cells and node cells are two structures: never one batch, and the leaves (all
    # ready at once) are one
    assert report.ops[CELL][1] >= 2


def test_tree_lstm_autobatched_gradients_equal_finite_differences():
    st = _tree(3, seed=8)

    def build():
        return programs._tree_step(dy, st, 0)[0]
    dy.renew_cg(autobatching=True)
    _, grads = analytic_grads(st.pc, build, autobatch=True)
    assert CELL in dy.cg().autobatch_report().ops
    rng = np.random.default_rng(0)
    for p, g in zip(st.pc._all(), grads):
        used = np.argwhere(g != 0)
        assert len(used), p
        for _ in range(2):
            index = tuple(int(i) for i in used[rng.integers(0, len(used))])
            num = numeric_grad(st.pc, build, p, index)
            assert abs(num - g[index]) <= 1e-6 + 1e-5 * abs(num), (p, index, num, g[index])


def _lstm_model(m, H, E=4, V=15):
    return dict(emb=m.add_lookup_parameters((V, E)), Wx=m.add_parameters((4 * H, E)),
                Wh=m.add_parameters((4 * H, H)), b=m.add_parameters(4 * H), H=H)


def _run(P, words, h=None, c=None, x_of=None):
    Wx, Wh, b = (dy.parameter(P[k]) for k in ("Wx", "Wh", "b"))
    H = P["H"]
    h = dy.zeros(H) if h is None else h
    c = dy.zeros(H) if c is None else c
    for w in words:
        x = dy.lookup(P["emb"], w) if x_of is None else x_of(w)
        g = dy.affine_transform([b, Wx, x, Wh, h])
        i, f, o = (dy.logistic(dy.pick_range(g, k * H, (k + 1) * H)) for k in range(3))
        u = dy.tanh(dy.pick_range(g, 3 * H, 4 * H))
        c = dy.cmult(f, c) + dy.cmult(i, u)
        h = dy.cmult(o, dy.tanh(c))
    return h


def _sentences(seed, n):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 15, k).tolist() for k in rng.integers(1, 8, size=n)]


def test_cells_of_two_sizes_in_one_graph_never_batch_together():
    compgraph.manual_seed(11)
    m = dy.ParameterCollection()
    A, B = _lstm_model(m, 6), _lstm_model(m, 5)
    to_float64(m)
    data = _sentences(11, 5)

    def build():
        return dy.esum([dy.sum_elems(_run(A, ws)) + dy.sum_elems(_run(B, ws[::-1])) for ws in data])
    report = _same(m, build)
    longest = max(len(w) for w in data)
    words = sum(len(w) for w in data)
    assert report.ops[CELL] == (2 * 17 * words, 2 * longest)    # one batch per size and step


def test_an_affine_of_a_per_member_bias_is_fused():
    """affine_transform([v, W, x]) with v computed per member (not a parameter)."""
    compgraph.manual_seed(12)
    m = dy.ParameterCollection()
    emb, W, V = m.add_lookup_parameters((15, 4)), m.add_parameters((3, 4)), m.add_parameters((3, 4))
    to_float64(m)
    ids = [3, 1, 4, 1, 5, 9, 2]                    # an odd batch, with a repeated row

    def build():
        We, Ve = dy.parameter(W), dy.parameter(V)
        out = []
        for k in ids:
            x = dy.lookup(emb, k)
            v = dy.tanh(Ve * x)                    # a per-member bias
            out.append(dy.sum_elems(dy.logistic(dy.affine_transform([v, We, x]))))
        return dy.esum(out)
    report = _same(m, build)
    assert report.ops[AFFINE][0] == 2 * len(ids)


def test_members_no_gradient_reaches_are_left_out_even_with_nan_values():
    """A step per sentence that the loss does not use, computed from a NaN input: batched
    with the used steps, it must not put 0 * NaN into the weights' gradients."""
    compgraph.manual_seed(13)
    m = dy.ParameterCollection()
    P = _lstm_model(m, 6)
    to_float64(m)
    data = _sentences(13, 5)

    def build():
        losses = []
        for ws in data:
            h = _run(P, ws)
            _run(P, ws[:1], x_of=lambda w: dy.inputVector([np.nan] * 4))   # dangling
            losses.append(dy.sum_elems(h))
        return dy.esum(losses)
    report = _same(m, build)
    assert report.ops[CELL][0] == 17 * sum(len(w) + 1 for w in data)


def test_batched_expressions_are_left_alone():
    """A step on a batch expression (lookup_batch): no fusion, DyNet's batch semantics."""
    compgraph.manual_seed(14)
    m = dy.ParameterCollection()
    P = _lstm_model(m, 6)
    to_float64(m)

    def build():
        h = _run(P, [0, 1], x_of=lambda w: dy.lookup_batch(P["emb"], [w, w + 2, w + 4]))
        return dy.sum_batches(dy.sum_elems(h))
    report = _same(m, build)
    assert CELL not in report.ops and AFFINE not in report.ops


def test_stacks_of_many_parts_batched_equal_the_unbatched_graph():
    """esum's, logsumexp's and concatenate_cols' stacks of k parts (scalars, vectors; axis 0
    and -1) batched across members with the same k: one gather of every part, and part i's
    gradient its slice of G (rules.Stack) -- logsumexp and a weighted sum of the columns
    give every part a different gradient."""
    compgraph.manual_seed(15)
    m = dy.ParameterCollection()
    emb, W = m.add_lookup_parameters((15, 4)), m.add_parameters((3, 4))
    to_float64(m)
    groups = [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12], [0, 2, 4, 6, 8, 10], [1, 3, 5]]

    def build():
        We = dy.parameter(W)
        total = []
        for ids in groups:
            vecs = [dy.tanh(We * dy.lookup(emb, k)) for k in ids]
            total.append(dy.sum_elems(dy.esum(vecs)))                     # vectors
            total.append(dy.esum([dy.sum_elems(dy.cmult(v, v)) for v in vecs]))   # scalars
            total.append(dy.logsumexp([dy.sum_elems(v) for v in vecs]))
            cols = dy.concatenate_cols(vecs)                                # (3, k), axis -1
            total.append(dy.sum_elems(dy.cmult(cols, dy.logistic(cols))))
        return dy.esum(total)
    report = _same(m, build)
    nodes, batches = report.ops["stack"]
    assert batches < nodes                          # the stacks of six parts ran together


def test_output_layer_and_loss_fused_values_and_an_outside_use_of_the_logits():
    """pickneglogsoftmax(b + W h, class) fused: every loss node's value() is the unbatched
    one (a float), and logits also used outside the region (a softmax term of the loss)
    get that gradient too."""
    compgraph.manual_seed(16)
    m = dy.ParameterCollection()
    emb, W, b = m.add_lookup_parameters((15, 4)), m.add_parameters((5, 4)), m.add_parameters(5)
    to_float64(m)
    words = [3, 1, 4, 1, 5, 9, 2, 6, 5]
    classes = [0, 4, 4, 2, 1, 3, 0, 0, 2]

    def run(autobatch):
        for p in m._all():
            p._zero_grad()
        dy.renew_cg(autobatching=autobatch)
        We, be = dy.parameter(W), dy.parameter(b)
        losses, extra = [], []
        for k, (w, c) in enumerate(zip(words, classes)):
            logits = dy.affine_transform([be, We, dy.tanh(dy.lookup(emb, w))])
            losses.append(dy.pickneglogsoftmax(logits, c))
            if k % 3 == 0:
                extra.append(dy.pick(dy.softmax(logits), c))
        total = dy.esum(losses) + dy.esum(extra)
        v = total.value()
        each = [l.value() for l in losses]
        total.backward()
        return v, each, [p.grad_as_array() for p in m._all()], dy.cg().autobatch_report()

    v0, e0, g0, _ = run(False)
    v1, e1, g1, report = run(True)
    assert report.ops[LOSS] == (3 * len(words), 1)
    assert v1 == pytest.approx(v0, rel=1e-12)
    assert all(isinstance(x, float) for x in e1)
    np.testing.assert_allclose(e1, e0, rtol=1e-12)
    for a, g in zip(g0, g1):
        np.testing.assert_allclose(g, a, rtol=1e-9, atol=1e-12)


def test_a_second_evaluation_after_an_update_in_the_same_graph():
    """Forward, backward, trainer.update(), then more steps built on the same graph and
    evaluated: the fused steps of the second evaluation read the updated weights (nothing
    of the first evaluation's, such as its transposed weights, is reused), as unbatched."""
    compgraph.manual_seed(17)
    m = dy.ParameterCollection()
    P = _lstm_model(m, 6)
    to_float64(m)
    data = _sentences(17, 5)

    def run(autobatch):
        saved = [p._value.copy() for p in m._all()]    # both runs start from these weights
        trainer = dy.SimpleSGDTrainer(m, learning_rate=0.5)
        for p in m._all():
            p._zero_grad()
        dy.renew_cg(autobatching=autobatch)
        first = dy.esum([dy.sum_elems(_run(P, ws)) for ws in data])
        v1 = first.value()
        first.backward()
        trainer.update()
        second = dy.esum([dy.sum_elems(_run(P, ws)) for ws in data])   # the same steps again
        v2 = second.value()
        for p, v in zip(m._all(), saved):
            p._value = v
        return v1, v2

    a1, a2 = run(False)
    b1, b2 = run(True)
    assert b1 == pytest.approx(a1, rel=1e-10)
    assert b2 == pytest.approx(a2, rel=1e-10)
    assert abs(a2 - a1) > 1e-6                      # the update changed the second loss
