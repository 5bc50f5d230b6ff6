"""The LSTM step written out by hand (affine_transform, pick_range, logistic, tanh, cmult),
recognised in autobatched graphs and run as fused regions (compgraph/dynet/lstm_fusion.py,
regions.py): its results equal the unbatched graph's, in every variant of the idiom, and
when the step's inner nodes are used from outside it."""
import numpy as np
import pytest

import compgraph
import compgraph.dynet as dy

from .helpers import analytic_grads, to_float64

H, E, V, T = 6, 4, 15, 3
FUSED = "gated_cell (fused)"
LOSS = "affine_xent (fused)"


def _model(seed=0):
    compgraph.manual_seed(seed)
    m = dy.ParameterCollection()
    P = dict(emb=m.add_lookup_parameters((V, E)), Wx=m.add_parameters((4 * H, E)),
             Wh=m.add_parameters((4 * H, H)), b=m.add_parameters(4 * H),
             Wo=m.add_parameters((T, H)), bo=m.add_parameters(T))
    to_float64(m)
    return m, P


def _data(seed=0, n=7):
    rng = np.random.default_rng(seed)
    return [(rng.integers(0, V, k).tolist(), rng.integers(0, T, k).tolist())
            for k in rng.integers(1, 9, size=n)]


def _step(x, h, c, Wx, Wh, b, variant):
    g = dy.affine_transform([b, Wx, x, Wh, h])
    gates = [dy.pick_range(g, k * H, (k + 1) * H) for k in range(4)]
    if variant == "permuted":                     # the ranges in another order
        gi, gf, go, gu = gates[2], gates[0], gates[3], gates[1]
    else:
        gi, gf, go, gu = gates
    if variant == "interleaved":                  # other nodes made among the step's
        extra = dy.tanh(x)
        i, f = dy.logistic(gi), dy.logistic(gf)
        extra = dy.cmult(extra, x)
        o, u = dy.logistic(go), dy.tanh(gu)
        c = dy.cmult(f, c) + dy.cmult(i, u)
        return dy.cmult(o, dy.tanh(c)), c, (i, f, o, u, extra)   # extra: into the loss
    i, f, o, u = dy.logistic(gi), dy.logistic(gf), dy.logistic(go), dy.tanh(gu)
    if variant == "swapped":                      # every operand order turned around
        c = dy.cmult(u, i) + dy.cmult(c, f)
        return dy.cmult(dy.tanh(c), o), c, (i, f, o, u)
    c = dy.cmult(f, c) + dy.cmult(i, u)
    return dy.cmult(o, dy.tanh(c)), c, (i, f, o, u)


def _build(P, data, variant="plain", use_gate=False):
    Wx, Wh, b, Wo, bo = (dy.parameter(P[k]) for k in ("Wx", "Wh", "b", "Wo", "bo"))
    losses = []
    for words, tags in data:
        h = c = dy.zeros(H)
        for w, t in zip(words, tags):
            h, c, gates = _step(dy.lookup(P["emb"], w), h, c, Wx, Wh, b, variant)
            losses.append(dy.pickneglogsoftmax(dy.affine_transform([bo, Wo, h]), t))
            if use_gate:                          # an inner node used outside its step
                losses.append(dy.sum_elems(gates[1]) * 0.5)
            if len(gates) > 4:
                losses.append(dy.sum_elems(gates[4]))
    return dy.esum(losses)


def _same(m, build):
    v0, g0 = analytic_grads(m, build, autobatch=False)
    v1, g1 = analytic_grads(m, build, autobatch=True)
    assert v1 == pytest.approx(v0, rel=1e-10, abs=1e-12)
    for a, b in zip(g0, g1):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)
    return dy.cg().autobatch_report()


@pytest.mark.parametrize("variant", ["plain", "permuted", "swapped", "interleaved"])
def test_fused_steps_equal_the_unbatched_graph(variant):
    m, P = _model()
    data = _data()
    report = _same(m, lambda: _build(P, data, variant))
    words = sum(len(w) for w, _ in data)
    longest = max(len(w) for w, _ in data)
    nodes, batches = report.ops[FUSED]
    assert nodes == 17 * words                     # every step fused, with its gates' affine...
    assert batches == longest                      # ...one batch per time step
    assert "logistic" not in report.ops and "sigmoid" not in report.ops
    # the gates' affine_transform (4 nodes) is in the step; the output layer and its loss
    # (3) fused too
    assert report.ops[LOSS] == (3 * words, 1)
    assert "matmul" not in report.ops and "add" not in report.ops


def test_an_inner_node_used_outside_its_step_gets_its_gradient():
    m, P = _model(1)
    data = _data(1)
    report = _same(m, lambda: _build(P, data, use_gate=True))
    assert report.ops[FUSED][0] == 17 * sum(len(w) for w, _ in data)


def test_inner_values_and_later_expressions_on_them():
    """value() of an inner node after a fused run equals the unbatched one, and a loss
    built on it after that evaluation backpropagates through the step."""
    m, P = _model(2)
    data = _data(2, n=3)

    def run(autobatch):
        for p in m._all():
            p._zero_grad()
        dy.renew_cg(autobatching=autobatch)
        Wx, Wh, b = (dy.parameter(P[k]) for k in ("Wx", "Wh", "b"))
        h = c = dy.zeros(H)
        steps = []
        for w in data[0][0] + data[1][0]:
            h, c, gates = _step(dy.lookup(P["emb"], w), h, c, Wx, Wh, b, "plain")
            steps.append(gates)
        first = dy.sum_elems(h)
        v = first.value()                         # the fused run happens here
        gate_value = steps[0][2].npvalue()
        later = first + dy.sum_elems(dy.cmult(steps[0][0], steps[1][3]))   # built afterwards
        later.backward()
        return v, gate_value, later.value(), [p.grad_as_array() for p in m._all()]

    v0, gv0, l0, g0 = run(False)
    v1, gv1, l1, g1 = run(True)
    assert v1 == pytest.approx(v0, rel=1e-12)
    np.testing.assert_allclose(gv1, gv0, rtol=1e-12)
    assert l1 == pytest.approx(l0, rel=1e-12)
    for a, b in zip(g0, g1):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)


def _three_term_build(P, data, o_from_other_affine=False):
    Wx, Wh, b = (dy.parameter(P[k]) for k in ("Wx", "Wh", "b"))
    losses = []
    for words, _ in data:
        h = c = dy.zeros(H)
        for w in words:
            x = dy.lookup(P["emb"], w)
            g = dy.affine_transform([b, Wx, x, Wh, h])
            i, f, o = (dy.logistic(dy.pick_range(g, k * H, (k + 1) * H)) for k in range(3))
            u = dy.tanh(dy.pick_range(g, 3 * H, 4 * H))
            c = dy.cmult(f, c) + dy.cmult(i, u) + dy.cmult(o, u)
            if o_from_other_affine:               # o is a gate of another vector than g
                o = dy.logistic(dy.pick_range(dy.affine_transform([b, Wh, h]), 2 * H, 3 * H))
            h = dy.cmult(o, dy.tanh(c))
        losses.append(dy.sum_elems(h))
    return dy.esum(losses)


def test_a_cell_of_three_terms_is_fused_too():
    """c = f*c_prev + i*u + o*u: a sum of three gate products, one fused cell."""
    m, P = _model(3)
    data = _data(3, n=4)
    report = _same(m, lambda: _three_term_build(P, data))
    words = sum(len(w) for w, _ in data)
    # the affine (2 products, 2 sums), 4 ranges, 4 gates, 3 products, 2 sums, tanh, h
    assert report.ops[FUSED][0] == 19 * words


def test_a_cell_whose_gates_come_from_two_vectors_is_left_alone():
    """h = o * tanh(c) with o a range of another vector than the cell's gates: not the
    idiom (its matcher wants every gate from one g); batched op by op, same results."""
    m, P = _model(4)
    data = _data(4, n=4)
    report = _same(m, lambda: _three_term_build(P, data, o_from_other_affine=True))
    assert FUSED not in report.ops
    assert report.ops["sigmoid"][0] > 0
