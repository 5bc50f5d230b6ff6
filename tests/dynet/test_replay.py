"""Replayed unbatched graphs (compgraph/dynet/plans.py) against the node-by-node path.

Every program here runs twice from the same weights: once with replay switched off (plans
never used: each graph is computed node by node, the path the rest of tests/dynet checks
against real DyNet and finite differences) and once with it on, planned as early as possible
(the second time a structure is seen).  Values, gradients and the weights after training
must agree exactly -- the generated code calls the same op functions in the same order -- and
the tests also assert that the replay really ran, so that they fail if it silently stops
being used.  xor is also checked against PyTorch's autograd.
"""
import numpy as np
import pytest

import compgraph.dynet as dy
from compgraph.dynet import graph as dygraph, lstm_fusion, plans
from compgraph.random import manual_seed
from compgraph.errors import ShapeError


@pytest.fixture(autouse=True)
def fresh_plans(monkeypatch):
    """Structures seen by earlier tests (the same shapes: plans are shared by programs) would
    make the counts below depend on the test order; every graph is folded (see the test of
    _FOLD_AT for the gate)."""
    for d in (plans._trie, plans._seen, plans._plans, plans._size_count):
        d.clear()
    monkeypatch.setattr(plans, "_FOLD_AT", 0)
    monkeypatch.setattr(plans, "_fold", [True])
    # replays are compared with the node-by-node path, bit for bit: no fused LSTM regions
    # (their matrices' gradients are summed in another order; test_unbatched_fusion.py)
    monkeypatch.setattr(lstm_fusion, "FUSE_UNBATCHED", False)
    dy.renew_cg()


@pytest.fixture
def eager_plans(monkeypatch):
    """Plan every structure the second time it is seen (big graphs included)."""
    monkeypatch.setattr(plans, "_PLAN_AT", 2)


def _no_replay(monkeypatch):
    monkeypatch.setattr(plans, "evaluate", lambda graph: False)


def _weights(pc):
    return [p.as_array().copy() for p in pc._all()]


def _xor_model(seed=0):
    rng = np.random.default_rng(seed)
    pc = dy.ParameterCollection()
    ps = [pc.add_parameters(s, init=dy.NumpyInitializer(rng.uniform(-1, 1, s).astype(np.float32)))
          for s in ((2, 2), (2,), (1, 2), (1,))]
    return pc, ps


def _xor_loss(ps, i, op=dy.tanh):
    W, b, V, a = (dy.parameter(p) for p in ps)
    x1, x2 = (i >> 1) & 1, i & 1
    x = dy.inputVector([x1, x2])
    y = dy.scalarInput(x1 ^ x2)
    return dy.squared_distance(dy.logistic(V * op(W * x + b) + a), y)


def _train(step, steps, replay=True):
    """Run `step(i) -> loss` with backward and SGD; (losses, grads per step, graphs replayed)."""
    if not replay:
        with pytest.MonkeyPatch.context() as m:
            _no_replay(m)
            return _train(step, steps)
    pc, ps, trainer = step.setup()
    losses, grads, replayed = [], [], 0
    for i in range(steps):
        dy.renew_cg()
        loss = step(ps, i)
        losses.append(loss.value())
        loss.backward()
        replayed += dy.cg()._plan is not None
        grads.append([p.grad_as_array() for p in pc._all()])
        trainer.update()
    return losses, grads, _weights(pc), replayed


class _Xor:
    def setup(self):
        pc, ps = _xor_model()
        return pc, ps, dy.SimpleSGDTrainer(pc, learning_rate=0.5)

    def __call__(self, ps, i):
        return _xor_loss(ps, i)


def _same(a, b):
    la, ga, wa, _ = a
    lb, gb, wb, _ = b
    assert la == lb
    for x, y in zip(ga, gb):
        for u, v in zip(x, y):
            np.testing.assert_array_equal(u, v)
    for u, v in zip(wa, wb):
        np.testing.assert_array_equal(u, v)


def test_xor_replayed_equals_node_by_node(eager_plans):
    ref = _train(_Xor(), 40, replay=False)
    got = _train(_Xor(), 40)
    assert ref[3] == 0
    assert got[3] >= 35           # planned on its second sight, replayed from then on
    _same(ref, got)


def test_xor_replayed_gradients_match_pytorch(eager_plans):
    torch = pytest.importorskip("torch")
    pc, ps = _xor_model(3)
    for i in range(6):            # the last graphs run the generated code
        dy.renew_cg()
        loss = _xor_loss(ps, 2)
        value = loss.value()
        for p in pc._all():
            p._zero_grad()
        loss.backward()
    assert dy.cg()._plan is not None
    W, b, V, a = (torch.tensor(p.as_array(), requires_grad=True) for p in ps)
    x = torch.tensor([1.0, 0.0], dtype=torch.float64)
    out = torch.sigmoid(V @ torch.tanh(W @ x + b) + a)
    ref = ((out - 1.0) ** 2).sum()
    ref.backward()
    assert value == pytest.approx(ref.item(), rel=1e-6)
    for p, t in zip(ps, (W, b, V, a)):
        np.testing.assert_allclose(p.grad_as_array(), t.grad.numpy(), rtol=1e-5, atol=1e-7)


class _Tagger:
    """A per-word LSTM tagger, one graph per sentence: one structure per length."""

    def __init__(self, lengths, H=5, E=4):
        self.lengths, self.H, self.E = lengths, H, E

    def setup(self):
        rng = np.random.default_rng(1)
        pc = dy.ParameterCollection()
        H, E = self.H, self.E
        init = lambda *s: dy.NumpyInitializer(rng.uniform(-0.5, 0.5, s).astype(np.float32))  # noqa: E731
        ps = dict(emb=pc.lookup_parameters_from_numpy(rng.uniform(-1, 1, (7, E)).astype(np.float32)),
                  Wx=pc.add_parameters((4 * H, E), init=init(4 * H, E)),
                  Wh=pc.add_parameters((4 * H, H), init=init(4 * H, H)),
                  b=pc.add_parameters((4 * H,), init=init(4 * H)),
                  Wo=pc.add_parameters((3, H), init=init(3, H)))
        self.rng = np.random.default_rng(2)
        return pc, ps, dy.SimpleSGDTrainer(pc, learning_rate=0.3)

    def __call__(self, ps, i):
        n = self.lengths[i % len(self.lengths)]
        words = self.rng.integers(0, 7, n).tolist()
        tags = [1] * n if i % 3 == 0 else self.rng.integers(0, 3, n).tolist()   # a label reused
        Wx, Wh, b, Wo = (dy.parameter(ps[k]) for k in ("Wx", "Wh", "b", "Wo"))
        H = self.H
        h = c = dy.zeros(H)
        losses = []
        for w, t in zip(words, tags):
            g = dy.affine_transform([b, Wx, dy.lookup(ps["emb"], w), Wh, h])
            i_, f, o = (dy.logistic(dy.pick_range(g, k * H, (k + 1) * H)) for k in range(3))
            u = dy.tanh(dy.pick_range(g, 3 * H, 4 * H))
            c = dy.cmult(f, c) + dy.cmult(i_, u)
            h = dy.cmult(o, dy.tanh(c))
            losses.append(dy.pickneglogsoftmax(Wo * h, t))
        return dy.esum(losses)


def test_tagger_of_several_lengths_replayed_equals_node_by_node(eager_plans):
    lengths = [3, 5, 3, 1, 5, 4]
    ref = _train(_Tagger(lengths), 30, replay=False)
    got = _train(_Tagger(lengths), 30)
    assert got[3] >= 20
    _same(ref, got)


def test_a_structure_is_planned_once_it_has_recurred_plan_at_times():
    steps = plans._PLAN_AT + 5
    got = _train(_Xor(), steps)
    # written on the _PLAN_AT-th sight and used by that graph's backward and every graph after
    # it (the first graph is a structure of its own when its record keys are new: they are
    # when this test runs alone, not after the tests above)
    assert got[3] in (steps - plans._PLAN_AT, steps - plans._PLAN_AT + 1)


@pytest.mark.parametrize("change", ["shape", "op", "attr", "parameter", "value"])
def test_a_changed_structure_gets_its_own_plan(change, eager_plans):
    """The same program, then one thing changed: the result is the node-by-node one, not
    the old plan's."""
    pc, ps = _xor_model()
    p2 = pc.add_parameters((2, 2), init=dy.NumpyInitializer(np.full((2, 2), 0.3, np.float32)))

    def build(variant):
        W, b, V, a = (dy.parameter(p) for p in ps)
        x = dy.inputVector([1.0, 2.0, 3.0] if variant and change == "shape" else [1.0, 2.0])
        if variant and change == "shape":
            x = dy.pick_range(x, 1, 3)
        op = dy.logistic if variant and change == "op" else dy.tanh
        h = op((dy.parameter(p2) if variant and change == "parameter" else W) * x + b)
        if variant and change == "attr":
            h = dy.concatenate([dy.pick_range(h, 1, 2), dy.pick_range(h, 0, 1)])
        if variant and change == "value":
            ps[2].set_value(np.array([[2.0, -1.0]], np.float32))
        return dy.sum_elems(V * h + a)

    def run(variant):
        for _ in range(4):
            dy.renew_cg()
            loss = build(variant)
            v = loss.value()
            for p in pc._all():
                p._zero_grad()
            loss.backward()
        return v, [p.grad_as_array() for p in pc._all()], dy.cg()._plan is not None

    run(False)
    v, g, replayed = run(True)
    assert replayed
    with pytest.MonkeyPatch.context() as m:
        _no_replay(m)
        rv, rg, _ = run(True)
    assert v == rv
    for x, y in zip(g, rg):
        np.testing.assert_array_equal(x, y)


def test_reading_an_intermediate_mid_graph_takes_the_node_by_node_path(eager_plans):
    pc, ps = _xor_model()
    seen, grads = [], []
    for k in range(5):
        dy.renew_cg()
        W, b, V, a = (dy.parameter(p) for p in ps)
        h = dy.tanh(W * dy.inputVector([1.0, 0.0]) + b)
        if k == 4:
            hv = h.npvalue()              # a value asked for before the graph is complete
        loss = dy.sum_elems(dy.logistic(V * h + a))
        seen.append((loss.value(), dy.cg()._plan is not None))
        for p in pc._all():
            p._zero_grad()
        loss.backward()
        grads.append([p.grad_as_array() for p in pc._all()])
    assert seen[3][1] and not seen[4][1]     # the 4th graph replayed, the 5th did not
    assert seen[4][0] == seen[3][0]
    np.testing.assert_array_equal(hv, h.npvalue())
    # the 4th graph's gradients (replayed) equal the 5th's (node by node): same weights
    for u, v in zip(grads[3], grads[4]):
        np.testing.assert_array_equal(u, v)
    assert np.abs(grads[4][0]).sum() > 0


def test_intermediate_values_and_gradients_after_a_replayed_graph(monkeypatch, eager_plans):
    def run():
        pc, ps = _xor_model()
        out = []
        for _ in range(4):
            dy.renew_cg()
            W, b, V, a = (dy.parameter(p) for p in ps)
            x = dy.inputVector([0.5, -1.0])
            h = dy.tanh(W * x + b)
            loss = dy.sum_elems(dy.logistic(V * h + a))
            loss.value()
            loss.backward()
            out.append((h.npvalue(), loss.value(), W.gradient(), x.gradient()))
        return out, dy.cg()._plan is not None

    got, replayed = run()
    _no_replay(monkeypatch)
    ref, _ = run()
    assert replayed
    for g, r in zip(got, ref):
        for u, v in zip(g, r):
            np.testing.assert_array_equal(u, v)


def test_replayed_graph_then_set_and_recalculate(eager_plans):
    pc, ps = _xor_model()
    for _ in range(3):
        dy.renew_cg()
        W, b, V, a = (dy.parameter(p) for p in ps)
        x = dy.inputVector([1.0, 1.0])
        loss = dy.sum_elems(V * dy.tanh(W * x + b) + a)
        before = loss.value()
    assert dy.cg()._plan is not None
    x.set([0.0, 0.0])                         # invalidates: computed node by node again
    after = loss.value()
    Wv, bv, Vv, av = (p.as_array() for p in ps)
    want = float((Vv @ np.tanh(bv) + av)[0])
    assert after == pytest.approx(want, rel=1e-6) and after != before
    loss.backward()                           # node by node (the graph was invalidated)
    np.testing.assert_allclose(ps[0].grad_as_array(), np.zeros((2, 2)), atol=0)


def test_checkpoint_and_revert_after_a_replay(eager_plans):
    pc, ps = _xor_model()
    for _ in range(3):
        dy.renew_cg()
        W, b, V, a = (dy.parameter(p) for p in ps)
        h = dy.tanh(W * dy.inputVector([1.0, -1.0]) + b)
        loss = dy.sum_elems(V * h + a)
        v = loss.value()
    dy.cg_checkpoint()
    extra = dy.sum_elems(h * 2.0)
    assert extra.value() == pytest.approx(2 * float(np.sum(h.npvalue())), rel=1e-6)
    dy.cg_revert()
    assert loss.value() == v
    loss.backward()
    assert np.isfinite(ps[0].grad_as_array()).all()


def test_build_time_errors_still_raise_with_plans(eager_plans):
    pc, ps = _xor_model()
    for _ in range(3):
        dy.renew_cg()
        _xor_loss(ps, 1).value()
    dy.renew_cg()
    W = dy.parameter(ps[0])
    with pytest.raises(ShapeError):
        W * dy.inputVector([1.0, 2.0, 3.0])


def test_the_same_label_object_twice_then_two_labels(eager_plans):
    """A cached label constant used by two losses of one graph must not be shared by the
    plan: the next graph of the same structure may have two different labels."""
    rng = np.random.default_rng(5)
    pc = dy.ParameterCollection()
    W = pc.add_parameters((3, 2), init=dy.NumpyInitializer(rng.normal(size=(3, 2)).astype(np.float32)))
    labels = [(1, 1), (1, 1), (0, 2), (2, 0), (1, 1)]
    got = []
    for t1, t2 in labels:
        dy.renew_cg()
        Wx = dy.parameter(W)
        loss = dy.pickneglogsoftmax(Wx * dy.inputVector([1.0, 0.0]), t1) \
            + dy.pickneglogsoftmax(Wx * dy.inputVector([0.0, 1.0]), t2)
        got.append((loss.value(), dy.cg()._plan is not None))
    Wv = W.as_array()
    for (t1, t2), (v, _) in zip(labels, got):
        z1, z2 = Wv[:, 0], Wv[:, 1]
        want = (np.log(np.exp(z1).sum()) - z1[t1]) + (np.log(np.exp(z2).sum()) - z2[t2])
        assert v == pytest.approx(want, rel=1e-5)
    assert got[2][1] and got[3][1]


def test_the_trie_is_exact_on_wiring():
    """Two graphs of the same ops on the same shapes, wired differently, are two states."""
    states = []
    for swap in (False, True, False, True):      # (the first of each: keys not seen yet)
        dy.renew_cg()
        a, b = dy.inputVector([1.0, 2.0]), dy.inputVector([3.0, 5.0])
        d = (b - a) if swap else (a - b)
        dy.sum_elems(d)
        states.append(dy.cg()._st)
    assert states[2] != states[3]
    dy.renew_cg()
    a, b = dy.inputVector([1.0, 2.0]), dy.inputVector([3.0, 5.0])
    dy.sum_elems(a - b)
    assert dy.cg()._st == states[2]
    assert isinstance(dygraph.ComputationGraph._st, type(None))


def _both_ways(run):
    got = run()
    with pytest.MonkeyPatch.context() as m:
        _no_replay(m)
        ref = run()
    return got, ref


def test_a_parameter_changed_between_forward_and_backward_of_a_replayed_graph(eager_plans):
    """set_value() after the forward: backward uses the values the forward read (DyNet's
    rule, graph.hold), replayed or not."""
    def run():
        pc, ps = _xor_model()
        out = []
        for k in range(4):
            dy.renew_cg()
            loss = _xor_loss(ps, 3)
            out.append(loss.value())
            ps[2].set_value(np.array([[0.5 + k, -2.0]], np.float32))
            loss.backward()
            out.append([p.grad_as_array() for p in pc._all()])
            for p in pc._all():
                p._zero_grad()
        return out, dy.cg()._plan is not None

    (got, replayed), (ref, _) = _both_ways(run)
    assert replayed
    for g, r in zip(got, ref):
        if isinstance(g, float):
            assert g == r
        else:
            for u, v in zip(g, r):
                np.testing.assert_array_equal(u, v)


def test_dropout_masks_are_arguments_of_the_replay(eager_plans):
    """dropout's mask is a constant made per graph: each replay must read its own."""
    def run():
        manual_seed(11)
        pc, ps = _xor_model()
        out = []
        for k in range(6):
            dy.renew_cg()
            W, b, V, a = (dy.parameter(p) for p in ps)
            h = dy.dropout(dy.tanh(W * dy.inputVector([1.0, 1.0]) + b), 0.5)
            loss = dy.sum_elems(V * h + a)
            out.append(loss.value())
            loss.backward()
        out.append([p.grad_as_array() for p in pc._all()])
        return out, dy.cg()._plan is not None

    (got, replayed), (ref, _) = _both_ways(run)
    assert replayed
    assert got[:-1] == ref[:-1] and len(set(got[:-1])) > 1     # the masks did change
    for u, v in zip(got[-1], ref[-1]):
        np.testing.assert_array_equal(u, v)


def test_graphs_are_folded_once_their_size_recurs(monkeypatch):
    monkeypatch.setattr(plans, "_FOLD_AT", 3)
    monkeypatch.setattr(plans, "_PLAN_AT", 2)
    pc, ps = _xor_model()
    folded = []
    for k in range(8):
        dy.renew_cg()
        folded.append(dy.cg()._st is not None)
        (_xor_loss(ps, 1) if k != 4 else dy.sum_elems(_xor_loss(ps, 1) * 2.0)).value()
    # sizes seen: 15 (x3) -> fold; a graph of another size (k=4) -> not the next one; then on
    # again after the size-15 graph k=5 (its 4th) -> fold from k=6
    assert folded == [True, False, False, True, True, False, True, True]
    dy.renew_cg()
    loss = _xor_loss(ps, 1)
    loss.value()
    assert dy.cg()._plan is not None          # folded, counted and planned all the same
