"""Static graphs through compile's plan (executors/static.py): the tutorial's Graph with
placeholders fed again and again, and a DyNet program that builds one graph and re-sets its
inputs (DyNet's own examples/xor/xor.py), run their generated forward from the second run on
and compute exactly what the node-by-node loop computes."""
import numpy as np
import pytest

import compgraph as cg
import compgraph.dynet as dy
from compgraph.graph import Graph


@pytest.fixture
def node_by_node(monkeypatch):
    """Run with the static plans switched off: the reference."""
    def off():
        monkeypatch.setattr(Graph, "_static", None)
    return off


def _tutorial_xor(seed):
    rng = np.random.default_rng(seed)
    g = cg.Graph()
    x, t = g.placeholder((2,), name="x"), g.placeholder((1,), name="t")
    W = g.var(rng.standard_normal((3, 2)).astype(np.float32))
    b = g.var(rng.standard_normal(3).astype(np.float32))
    V = g.var(rng.standard_normal((1, 3)).astype(np.float32))
    h = g.logistic(g.add(g.mul(W, x), b))
    y = g.logistic(g.mul(V, h))
    loss = g.sum((y - t) ** 2)
    return g, x, t, (W, b, V), loss


def _run_tutorial(steps=12):
    g, x, t, params, loss = _tutorial_xor(0)
    seen = []
    for i in range(steps):
        a, c = (i >> 1) & 1, i & 1
        cg.forward(g, feed={x: np.array([a, c], np.float32), t: np.array([a ^ c], np.float32)})
        loss.grad = 1.0
        cg.backward(g)
        seen.append([np.array(n.value) for n in g.nodes] + [p.grad.copy() for p in params])
        for p in params:                  # the tutorial's manual update
            p.value = p.value - 0.5 * p.grad
    return g, seen


def test_tutorial_graph_with_placeholders_replays_and_equals_node_by_node(node_by_node):
    g, replayed = _run_tutorial()
    plans = list(g._static_plans.values())
    assert len(plans) == 1 and plans[0].run is not None and "def run" in plans[0].source
    node_by_node()
    g2, reference = _run_tutorial()
    assert "_static_plans" not in g2.__dict__
    for got, want in zip(replayed, reference):
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)        # the same NumPy calls: bitwise


def test_a_graph_that_grows_after_its_plan_gets_a_new_one():
    g, x, t, params, loss = _tutorial_xor(1)
    feed = {x: np.array([1, 0], np.float32), t: np.array([1], np.float32)}
    for _ in range(3):
        cg.forward(g, feed=feed)
    doubled = loss * 2.0
    for _ in range(3):
        cg.forward(g, feed=feed)
    assert doubled.value == pytest.approx(2 * loss.value, rel=0, abs=0)
    assert sum(p.run is not None for p in g._static_plans.values()) == 2


def test_a_placeholder_fed_with_the_wrong_shape_is_still_refused_after_replays():
    g, x, t, params, loss = _tutorial_xor(2)
    feed = {x: np.array([1, 0], np.float32), t: np.array([1], np.float32)}
    for _ in range(3):
        cg.forward(g, feed=feed)
    with pytest.raises(cg.ShapeError, match="declared"):
        cg.forward(g, feed={x: np.ones(3, np.float32), t: np.array([1], np.float32)})


def _dynet_xor_example(iterations=60):
    """DyNet's examples/xor/xor.py (squared-distance variant), 8 hidden units, seeded
    weights: one graph built once, x.set / y.set before every forward, backward, update."""
    rng = np.random.default_rng(0)
    m = dy.ParameterCollection()
    trainer = dy.SimpleSGDTrainer(m)
    init = lambda *s: dy.NumpyInitializer(rng.uniform(-1, 1, s).astype(np.float32))  # noqa: E731
    W, b = m.add_parameters((8, 2), init=init(8, 2)), m.add_parameters(8, init=init(8))
    V, a = m.add_parameters((1, 8), init=init(1, 8)), m.add_parameters(1, init=init(1))
    dy.renew_cg()
    x = dy.vecInput(2)
    y = dy.scalarInput(0)
    h = dy.tanh((W * x) + b)
    y_pred = (V * h) + a
    loss = dy.squared_distance(y_pred, y)
    losses = []
    for _ in range(iterations):
        for mi in range(4):
            x1, x2 = mi % 2, (mi // 2) % 2
            x.set([1 if x1 else -1, 1 if x2 else -1])
            y.set(1 if x1 != x2 else -1)
            losses.append(loss.scalar_value())
            loss.backward()
            trainer.update()
    x.set([-1, 1])
    final = y_pred.scalar_value()
    return np.array(losses), final, [p.as_array() for p in (W, b, V, a)], dy.cg()


def test_dynet_graph_built_once_with_inputs_reset_replays_and_equals_node_by_node(node_by_node):
    losses, final, params, graph = _dynet_xor_example()
    assert any(p.run is not None for p in graph._static_plans.values())
    assert losses[-1] < 0.05 * losses[0]                # it learns xor
    node_by_node()
    ref_losses, ref_final, ref_params, _ = _dynet_xor_example()
    np.testing.assert_array_equal(losses, ref_losses)
    assert final == ref_final
    for p, q in zip(params, ref_params):
        np.testing.assert_array_equal(p, q)


def test_dynet_graphs_built_per_update_never_make_a_plan():
    m = dy.ParameterCollection()
    W = m.add_parameters((2, 2))
    trainer = dy.SimpleSGDTrainer(m)
    for i in range(3):
        dy.renew_cg()
        loss = dy.squared_norm(dy.tanh(W * dy.inputVector([i, 1.0])))
        loss.value()
        loss.backward()
        trainer.update()
        assert "_static_plans" not in dy.cg().__dict__
