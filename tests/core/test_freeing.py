"""Values freed during the forward (compgraph/freeing.py): memory, safety, and the clear
error when a freed value is read."""
import gc
import math
import tracemalloc

import numpy as np
import pytest

import compgraph as cg
from compgraph import state
from compgraph.freeing import FreedValue

SHAPE = (64, 8, 256)      # 131,072 float32 elements, 512 KiB: well over FREE_MIN_SIZE


def gelu(x):
    """minGPT's NewGELU, eight nodes as users write it."""
    return 0.5 * x * (1.0 + cg.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * cg.pow(x, 3.0))))


def nodes(root):
    seen, stack, out = set(), [root], []
    while stack:
        t = stack.pop()
        if id(t) not in seen:
            seen.add(id(t))
            out.append(t)
            stack.extend(t.inputs or ())
    return out


def freed(root):
    return sorted(n.op.name for n in nodes(root) if n._value.__class__ is FreedValue)


@pytest.fixture
def keep_all():
    old = state.FREE_MIN_SIZE
    state.FREE_MIN_SIZE = float("inf")
    yield
    state.FREE_MIN_SIZE = old


def _gelu_step_memory():
    """(live after the forward, peak of the step), in multiples of one (B, T, 4C) array."""
    x = cg.randn(*SHAPE, requires_grad=True)
    size = x._value.nbytes
    gc.collect()
    tracemalloc.start()
    try:
        y = gelu(x)
        after_forward = tracemalloc.get_traced_memory()[0]
        loss = y.sum()
        del y
        loss.backward()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return after_forward / size, peak / size


def test_gelu_keeps_only_what_its_backward_reads():
    # the backward reads tanh's output (its own VJP), 1 + tanh and 0.5 * x (the factors of
    # the last product) and the product, which the user holds: four arrays, as PyTorch
    # keeps.  pow, 0.044715 * pow, x + ... and c * (...) feed VJPs that read only shapes,
    # the constant, or their own output
    after_forward, peak = _gelu_step_memory()
    assert after_forward < 4.2
    # the backward adds at most two gradients of that size at a time to those four
    assert peak < 6.5


def test_without_freeing_the_gelu_keeps_all_eight(keep_all):
    after_forward, peak = _gelu_step_memory()
    # the eight nodes' arrays: what the bounds above are measured against
    assert after_forward > 7.8 and peak > 7.8


def test_the_gradients_do_not_change(keep_all):
    def grads():
        cg.manual_seed(0)
        x = cg.randn(*SHAPE, requires_grad=True)
        w = (cg.randn(256, 256) * 0.05).requires_grad_()
        h = gelu(gelu(x @ w) @ w).softmax(-1)
        (h * h).mean().backward()
        return x.grad.numpy(), w.grad.numpy()

    kept = grads()
    state.FREE_MIN_SIZE = 1 << 15
    got = grads()
    for a, b in zip(got, kept):
        np.testing.assert_array_equal(a, b)


def test_which_nodes_are_freed():
    x = cg.randn(*SHAPE, requires_grad=True)
    y = gelu(x)
    assert freed(y) == ["add", "mul", "mul", "pow"]   # x + ..., c * (...), 0.044715 * pow
    y.sum().backward()
    assert x.grad.shape == SHAPE


def test_reading_a_freed_value_raises_a_clear_error():
    x = cg.randn(*SHAPE, requires_grad=True)
    y = gelu(x)
    node = next(n for n in nodes(y) if n._value.__class__ is FreedValue)
    assert node.shape == SHAPE and node.dtype == np.float32    # metadata stays
    assert node.device == x.device and node.device.type == "cpu"
    assert "freed" in repr(node)
    for read in (lambda: node.value, lambda: node.numpy(), lambda: node.item(),
                 lambda: node.tolist(), lambda: np.asarray(node._value),
                 lambda: node._value + 1, lambda: np.ones(SHAPE) * node._value,
                 lambda: node._value.sum(), lambda: node + 1, lambda: node.detach() * 2):
        with pytest.raises(cg.GraphError, match=r"was freed during the forward pass.*keep a "
                                                r"reference"):
            read()


def test_a_variable_keeps_its_value():
    x = cg.randn(*SHAPE, requires_grad=True)
    cube = cg.pow(x, 3.0)
    inner = x + 0.044715 * cube
    y = 0.5 * x * (1.0 + cg.tanh(inner))
    np.testing.assert_allclose(cube.numpy(force=True), x.numpy(force=True) ** 3, rtol=1e-6)
    assert inner.value.shape == SHAPE
    assert freed(y) == ["mul"]          # only 0.044715 * cube, which no name holds
    # once the name goes, the next large op frees it
    del cube
    z = y * 2.0
    assert sorted(freed(z)) == ["mul", "pow"]
    z.sum().backward()


def test_a_consumer_that_dies_does_not_free_a_held_value():
    x = cg.randn(*SHAPE, requires_grad=True)
    h = x * 3.0                    # its consumers below read only the constant
    y = h * 2.0
    del y                          # the consumer goes; h's references fall by one
    z = h + 1.0
    w = z * 2.0
    np.testing.assert_allclose(h.numpy(force=True), x.numpy(force=True) * 3.0, rtol=1e-6)
    w.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6.0)


def test_retain_graph_hooks_and_retain_grad():
    x = cg.randn(*SHAPE, requires_grad=True)
    seen = []
    mid = x * 3.0
    mid.register_hook(lambda g: seen.append(g.shape))
    kept = cg.tanh(mid + 1.0)
    kept.retain_grad()
    y = gelu(kept)
    del mid
    loss = y.sum()
    loss.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    x.grad = None
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), first)
    assert seen == [SHAPE, SHAPE] and kept.grad.shape == SHAPE


def test_double_backward_through_freed_nodes(keep_all):
    def second():
        cg.manual_seed(1)
        x = cg.randn(*SHAPE, requires_grad=True)
        (g,) = cg.grad(gelu(x).sum(), x, create_graph=True)
        (g * g).sum().backward()
        return x.grad.numpy()

    kept = second()
    state.FREE_MIN_SIZE = 1 << 15
    np.testing.assert_allclose(second(), kept, rtol=1e-6, atol=1e-7)


def test_compile_traces_with_every_value(keep_all):
    w = (cg.randn(256, 256) * 0.05).requires_grad_()

    def step(x):
        loss = gelu(x @ w).sum()
        loss.backward()
        return loss

    x = cg.randn(*SHAPE)
    step(x)
    eager = w.grad.numpy().copy()
    state.FREE_MIN_SIZE = 1 << 15
    w.grad = None
    fast = cg.compile(step)
    fast(x)
    w.grad = None
    fast(x)
    np.testing.assert_allclose(w.grad.numpy(), eager, rtol=1e-4, atol=1e-5)   # float32, reordered


def test_a_dynet_graph_keeps_every_value():
    # DyNet programs read any expression's value (value(), npvalue()): its graph's node
    # list holds every node, so none is freed
    import compgraph.dynet as dy
    dy.renew_cg()
    pc = dy.ParameterCollection()
    W = pc.add_parameters((256, 256))
    X = dy.inputTensor(np.ones((256, 256)))
    y = dy.sum_elems(dy.cmult(dy.tanh(W * X), 0.5 * dy.tanh(X * 2.0) + 1.0))
    y.value()
    y.backward()
    inner = [n for n in nodes(y) if n.op is not None]
    assert sum(n._value.size >= state.FREE_MIN_SIZE for n in inner) >= 5   # large enough
    for n in inner:
        assert n._value.__class__ is not FreedValue
        assert isinstance(n.npvalue(), np.ndarray)


def test_a_drawing_shows_freed_values():
    x = cg.randn(*SHAPE, requires_grad=True)
    y = gelu(x)
    dot = cg.draw(y, format="dot", values=True)
    assert "freed" in dot


def test_an_output_its_gradient_reads_changed_in_place_is_refused():
    # relu's gradient reads its output (so its input can be freed): a change of that
    # output in place, outside the graph, must not pass unnoticed
    x = cg.randn(3, 4, requires_grad=True)
    y = cg.relu(x)
    with cg.no_grad():
        y.add_(1.0)
    with pytest.raises(cg.GraphError, match="relu .* was changed in place after it was computed"):
        y.sum().backward()
    z = x * 2.0                        # mul reads the constant, not its output: fine
    with cg.no_grad():
        z.add_(1.0)
    z.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2.0)


def test_draw_model_draws_every_value(tmp_path):
    from compgraph.viz.draw import draw_model
    model = cg.nn.Sequential(cg.nn.Linear(256, 256), cg.nn.ReLU(), cg.nn.Linear(256, 256))
    before = state.FREE_MIN_SIZE
    path = draw_model(model, (256, 256), tmp_path / "m.dot")
    assert "freed" not in open(path).read()
    assert state.FREE_MIN_SIZE == before
