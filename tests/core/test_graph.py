"""The tutorial's explicit Graph: lazy recording, forward/backward loops, static reuse."""
import numpy as np
import pytest

import compgraph as cg


def test_nodes_are_recorded_in_creation_order_and_computed_by_forward():
    g = cg.Graph()
    a, b = g.var(1.0), g.var(2.0)
    c = g.add(a, b)
    assert c.value is None and [n.type for n in g.nodes] == ["var", "var", "add"]
    assert [n.id for n in g.nodes] == [0, 1, 2] and c.children[0] is a
    cg.forward(g)
    assert c.value == 3.0


def test_backward_gives_every_node_a_plain_array_gradient():
    g = cg.Graph()
    x = g.var(np.array([1.0, 2.0]))
    W = g.var(np.array([[1.0, 0.0], [0.0, 3.0]]))
    y = g.logistic(g.mul(x, W))               # mul is the matrix product in the tutorial
    loss = g.sum(y)
    cg.forward(g)
    loss.grad = 1.0
    cg.backward(g)
    s = 1 / (1 + np.exp(-(np.array([1.0, 2.0]) @ np.array([[1.0, 0.0], [0.0, 3.0]]))))
    assert isinstance(W.grad, np.ndarray)
    np.testing.assert_allclose(W.grad, np.outer([1.0, 2.0], s * (1 - s)))


def test_placeholders_define_once_and_run_many_times():
    """The static-graph style of seed 001: define with named inputs, feed new values."""
    g = cg.Graph()
    x = g.placeholder((3,), np.float64, name="x")
    w = g.var(np.array([0.5, -1.0, 2.0]))
    y = g.sum(g.tanh(x * w))
    for value in ([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [-1.0, 4.0, 0.5]):
        cg.forward(g, feed={x: value})
        assert y.value == pytest.approx(np.tanh(np.array(value) * [0.5, -1.0, 2.0]).sum())
        y.grad = 1.0
        for n in g.nodes:
            if n is not y:
                n.grad = None
        cg.backward(g)
        np.testing.assert_allclose(w.grad, (1 - np.tanh(np.array(value) * [0.5, -1.0, 2.0]) ** 2) * value)


def test_a_graph_node_value_can_be_reset_like_the_tutorial_does():
    g = cg.Graph()
    x = g.var(np.array([1.0, 2.0]))
    y = g.sum(x * 3.0)
    cg.forward(g)
    x.value = np.array([10.0, 20.0])
    cg.forward(g)
    assert y.value == 90.0


def test_backward_without_a_seed_says_how_to_start():
    g = cg.Graph()
    g.add(g.var(1.0), g.var(2.0))
    cg.forward(g)
    with pytest.raises(cg.ArgumentError, match="loss.grad = 1.0"):
        cg.backward(g)


def _xor_graph():
    g = cg.Graph()
    x = g.var(np.array([1.0, 0.0]))
    W = g.var(np.array([[3.0, 2.0], [4.0, 3.0]]))
    w2 = g.var(np.array([5.0, -5.0]))
    h = g.logistic(g.mul(x, W))
    y = g.logistic(g.sum(h * w2))
    loss = (1 - y) * (1 - y) * 0.5
    return g, W, w2, h, loss


def test_backward_twice_on_one_graph_gives_the_same_gradients():
    # the second call must not take the first call's gradients as new seeds
    g, W, w2, h, loss = _xor_graph()
    cg.forward(g)
    loss.grad = 1.0
    cg.backward(g)
    first = W.grad.copy(), w2.grad.copy()
    cg.backward(g)
    np.testing.assert_allclose(W.grad, first[0], rtol=1e-12)
    np.testing.assert_allclose(w2.grad, first[1], rtol=1e-12)
    loss.grad = 2.0                          # a new seed replaces the old one
    cg.backward(g)
    np.testing.assert_allclose(W.grad, 2 * first[0], rtol=1e-12)


def test_backward_from_a_seed_set_on_an_inner_node_after_a_first_backward():
    g, W, w2, h, loss = _xor_graph()
    cg.forward(g)
    loss.grad = 1.0
    cg.backward(g)
    loss.grad = None
    h.grad = np.array([1.0, 0.0])             # d h[0] / d W, by hand: x[i] * s'(z[0])
    cg.backward(g)
    z = np.array([1.0, 0.0]) @ np.array([[3.0, 2.0], [4.0, 3.0]])
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(W.grad, np.outer([1.0, 0.0], [s[0] * (1 - s[0]), 0.0]), rtol=1e-12)
    assert w2.grad is None


def test_graph_input_mistakes_are_named_where_they_are_made():
    g, other = cg.Graph(), cg.Graph()
    a = g.var(np.ones(3))
    with pytest.raises(cg.GraphError, match="add: an operand belongs to another graph"):
        g.add(a, other.var(np.ones(3)))
    with pytest.raises(TypeError, match="only floating-point values can require gradients"):
        g.var(2, requires_grad=True)
    with pytest.raises(TypeError, match="must be numbers"):
        g.var("abc")
    x = g.placeholder((3,), np.float64, name="x")
    y = g.sum(x * a)
    with pytest.raises(TypeError, match="placeholder x has no value"):
        cg.forward(g)
    with pytest.raises(ValueError, match=r"fed to x has shape \(2,\), but it was declared \(3,\)"):
        cg.forward(g, feed={x: [1.0, 2.0]})
    with pytest.raises(TypeError, match="feed keys must be this graph's inputs"):
        cg.forward(g, feed={"x": [1.0, 2.0, 3.0]})
    cg.forward(g, feed={x: [1.0, 2.0, 3.0]})
    y.grad = np.ones(2)
    with pytest.raises(ValueError, match=r"has shape \(2,\), which does not fit the node's shape \(\)"):
        cg.backward(g)
    with pytest.raises(ValueError, match="softmax: dim 3 is out of range"):
        g.softmax(a, 3)                        # at the line that builds it, not in forward


def test_a_tensor_made_outside_the_graph_gets_its_gradient():
    # an nn.Parameter (or any eager tensor) used inside the tutorial's Graph
    w = cg.tensor([1.0, 2.0, 3.0], dtype=cg.float64, requires_grad=True)
    scale = w * 2                               # eager history before the graph
    g = cg.Graph()
    x = g.var(np.array([1.0, -1.0, 2.0]))
    loss = g.sum(g.mul(x, scale) * x)           # the matrix product: x . (2w), times x
    cg.forward(g)
    loss.grad = 1.0
    cg.backward(g)
    # d/dw sum_j (x . 2w) x_j = 2 x (sum_j x_j)
    np.testing.assert_allclose(w.grad.numpy(), 2 * np.array([1.0, -1.0, 2.0]) * 2.0)
