"""A student's own forward and backward, written from the tutorial (seed 002), run over
graphs that compgraph's Graph builds.

The tutorial has the student write `forward(graph)` and `backward(graph)` as loops over
`graph.nodes` that switch on `n.type`, reading `n.children`, `n.value` and `n.grad`.  That
only works if compgraph records the tutorial's node types and structure: `var`, `add`,
`mul` (the matrix product), `logistic`, `logsoftmax`, and `cross-entropy` whose children
are the log-probabilities and the gold vector.  The loops below are the tutorial's, with
the three types it leaves to nn.py written out as a student would.
"""
import numpy
import numpy as np
import pytest
import torch

import compgraph as cg


# --- the student's code ---------------------------------------------------------------------

def student_forward(graph):
    for n in graph.nodes:
        if n.type == 'var':
            # do nothing
            pass
        elif n.type == 'add':
            n.value = n.children[0].value + n.children[1].value
        elif n.type == 'mul':
            n.value = n.children[0].value @ n.children[1].value
        elif n.type == 'logistic':
            n.value = 1 / (1 + numpy.exp(-n.children[0].value))
        elif n.type == 'logsoftmax':
            x = n.children[0].value
            shifted = x - numpy.max(x)
            n.value = shifted - numpy.log(numpy.sum(numpy.exp(shifted)))
        elif n.type == 'cross-entropy':
            n.value = (-1) * numpy.dot(n.children[0].value, n.children[1].value)
        else:
            raise AssertionError('unknown node type: {}'.format(n.type))


def init_grad(n):
    if n.grad is None:
        n.grad = numpy.zeros_like(n.value)


def student_backward(graph):
    for n in reversed(graph.nodes):
        if n.type == 'var':
            # do nothing
            pass
        elif n.type == 'add':
            init_grad(n.children[0])
            init_grad(n.children[1])
            n.children[0].grad += n.grad
            n.children[1].grad += n.grad
        elif n.type == 'mul':
            init_grad(n.children[0])
            init_grad(n.children[1])
            n.children[0].grad += n.grad @ n.children[1].value.T
            n.children[1].grad += numpy.outer(n.children[0].value, n.grad)
        elif n.type == 'logistic':
            init_grad(n.children[0])
            n.children[0].grad += n.grad * n.value * (1 - n.value)
        elif n.type == 'logsoftmax':
            init_grad(n.children[0])
            n.children[0].grad += n.grad - numpy.exp(n.value) * numpy.sum(n.grad)
        elif n.type == 'cross-entropy':
            init_grad(n.children[0])
            init_grad(n.children[1])
            n.children[0].grad += (-1) * n.grad * n.children[1].value
            n.children[1].grad += (-1) * n.grad * n.children[0].value
        else:
            raise AssertionError('unknown node type: {}'.format(n.type))


# --- the tutorial's graphs, built with compgraph -------------------------------------------

def _params(seed=0, hidden=5, inputs=7, classes=4):
    rng = np.random.default_rng(seed)
    return {"w1": rng.standard_normal((inputs, hidden)) * 0.5, "b1": rng.standard_normal(hidden),
            "w2": rng.standard_normal((hidden, classes)) * 0.5, "b2": rng.standard_normal(classes),
            "w": rng.standard_normal((inputs, classes)) * 0.5, "b": rng.standard_normal(classes),
            "img": rng.standard_normal(inputs), "label": 2, "classes": classes}


def linear_graph(p):
    """Section 2's snippet, as the tutorial writes it."""
    g = cg.Graph()
    w = g.var(p["w"])
    b = g.var(p["b"])
    x = g.var(p["img"])
    y = g.var(cg.one_hot(p["label"], p["classes"]))
    score = g.add(g.mul(x, w), b)
    loss = g.cross_entropy(score, y)
    return g, {"w": w, "b": b, "x": x, "y": y, "score": score}, loss


def mlp_graph(p):
    """The MLP snippet at the end of the tutorial."""
    g = cg.Graph()
    w1 = g.var(p["w1"])
    b1 = g.var(p["b1"])
    w2 = g.var(p["w2"])
    b2 = g.var(p["b2"])
    x = g.var(p["img"])
    y = g.var(cg.one_hot(p["label"], p["classes"]))
    score = g.add(g.mul(g.logistic(g.add(g.mul(x, w1), b1)), w2), b2)
    loss = g.cross_entropy(score, y)
    return g, {"w1": w1, "b1": b1, "w2": w2, "b2": b2, "x": x, "y": y, "score": score}, loss


def test_the_tutorials_node_types_and_structure():
    g, n, loss = linear_graph(_params())
    assert [v.type for v in g.nodes] == ["var", "var", "var", "var", "mul", "add",
                                         "logsoftmax", "cross-entropy"]
    assert [v.id for v in g.nodes] == list(range(8))
    logprob, gold = loss.children
    assert logprob.type == "logsoftmax" and logprob.children == [n["score"]] and gold is n["y"]
    assert n["score"].children[0].children == [n["x"], n["w"]]
    g, _, _ = mlp_graph(_params())
    assert [v.type for v in g.nodes] == ["var"] * 6 + ["mul", "add", "logistic", "mul", "add",
                                                       "logsoftmax", "cross-entropy"]
    assert all(v.value is None and v.grad is None for v in g.nodes if v.type != "var")


def test_the_first_example_of_the_tutorial():
    g = cg.Graph()
    a = g.var(1)
    b = g.var(2)
    c = g.add(a, b)
    student_forward(g)
    assert c.value == 3


def _hand_derivation(p, mlp):
    """The gradients derived by hand: d loss / d score = softmax(score) - gold."""
    x, y = p["img"], np.eye(p["classes"])[p["label"]]
    if mlp:
        h = 1 / (1 + np.exp(-(x @ p["w1"] + p["b1"])))
        score = h @ p["w2"] + p["b2"]
    else:
        score = x @ p["w"] + p["b"]
    logprob = score - np.log(np.sum(np.exp(score)))
    ds = np.exp(logprob) - y
    out = {"loss": -logprob[p["label"]], "y": -logprob}
    if mlp:
        dz = (p["w2"] @ ds) * h * (1 - h)
        out.update(w2=np.outer(h, ds), b2=ds, w1=np.outer(x, dz), b1=dz, x=p["w1"] @ dz)
    else:
        out.update(w=np.outer(x, ds), b=ds, x=p["w"] @ ds)
    return out


@pytest.mark.parametrize("build, mlp", [(linear_graph, False), (mlp_graph, True)])
def test_student_loops_agree_with_compgraph_and_a_hand_derivation(build, mlp):
    p = _params(seed=3)
    g, nodes, loss = build(p)
    student_forward(g)
    loss.grad = 1.0
    student_backward(g)
    student = {"loss": loss.value, **{k: v.grad for k, v in nodes.items()},
               "values": [v.value for v in g.nodes]}

    g2, nodes2, loss2 = build(p)
    cg.forward(g2)
    loss2.grad = 1.0
    cg.backward(g2)
    hand = _hand_derivation(p, mlp)

    np.testing.assert_allclose(student["loss"], loss2.value, rtol=1e-12)
    np.testing.assert_allclose(student["loss"], hand["loss"], rtol=1e-12)
    for mine, theirs in zip(student["values"], [v.value for v in g2.nodes]):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-14)
    for k, node in nodes2.items():
        np.testing.assert_allclose(student[k], node.grad, rtol=1e-10, atol=1e-14, err_msg=k)
        if k in hand:
            np.testing.assert_allclose(student[k], hand[k], rtol=1e-10, atol=1e-14, err_msg=k)


def test_the_linear_step_matches_pytorch():
    """One SGD step of the tutorial's linear classifier, student loops vs real PyTorch."""
    p = _params(seed=5)
    g, nodes, loss = linear_graph(p)
    student_forward(g)
    loss.grad = 1.0
    student_backward(g)
    w = torch.tensor(p["w"], requires_grad=True)
    b = torch.tensor(p["b"], requires_grad=True)
    score = torch.tensor(p["img"]) @ w + b
    ref = torch.nn.functional.cross_entropy(score[None], torch.tensor([p["label"]]))
    ref.backward()
    np.testing.assert_allclose(loss.value, ref.item(), rtol=1e-12)
    np.testing.assert_allclose(nodes["w"].grad, w.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(nodes["b"].grad, b.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_tutorial_nodes_are_gradient_checked_and_refuse_misfits():
    g = cg.Graph()
    rng = np.random.default_rng(0)
    pred = cg.tensor(rng.standard_normal(4), requires_grad=True)
    gold = cg.tensor(rng.random(4), requires_grad=True)
    assert cg.gradcheck(lambda a, b: g.cross_entropy(a, b), [pred, gold])
    x = cg.tensor(rng.standard_normal(3), requires_grad=True)
    w = cg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert cg.gradcheck(lambda a, b: g.logistic(g.mul(a, b)), [x, w])
    with pytest.raises(cg.ShapeError, match="cross-entropy: .* shape \\(4,\\) .* \\(3,\\)"):
        g.cross_entropy(g.var(np.zeros(4)), g.var(np.zeros(3)))
    with pytest.raises(cg.ShapeError, match="matmul"):
        g.mul(g.var(np.zeros(3)), g.var(np.zeros((4, 2))))
