"""Backward semantics as PyTorch has them, and higher-order gradients."""
import numpy as np
import pytest

import compgraph as cg
from compgraph.errors import CompgraphError, GraphError


def leaf(values, dtype=cg.float64):
    return cg.tensor(values, dtype=dtype, requires_grad=True)


def test_gradients_accumulate_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.array([1.0, 2.0]) + 3)


def test_leaf_gradients_never_alias_each_other():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a + b).sum().backward()        # add passes one gradient array to both
    a.grad.data.zero_()
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])


def test_second_backward_without_retain_graph_is_a_clear_error():
    x = leaf([1.0, 2.0])
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(GraphError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * np.exp([1.0, 2.0]))


def test_backward_on_non_scalar_needs_a_gradient():
    x = leaf([1.0, 2.0])
    with pytest.raises(GraphError, match="scalar"):
        (x * 2).backward()
    (x * 2).backward(cg.tensor([1.0, 10.0], dtype=cg.float64))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 20.0])


def test_backward_on_tensor_without_grad_is_a_clear_error():
    with pytest.raises(GraphError, match="does not require grad"):
        cg.tensor([1.0, 2.0]).sum().backward()


def test_no_grad_records_nothing():
    x = leaf([1.0, 2.0])
    with cg.no_grad():
        y = x * 2
    assert not y.requires_grad and y.op is None
    assert (x * 2).requires_grad


def test_no_grad_as_decorator_and_set_grad_enabled():
    x = leaf([1.0])

    @cg.no_grad()
    def f(t):
        return t * 2
    assert not f(x).requires_grad
    with cg.set_grad_enabled(False):
        assert not cg.is_grad_enabled()
    assert cg.is_grad_enabled()


def test_chain_of_100000_nodes_has_no_recursion_limit():
    x = leaf([1.0])
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.item() == 1.0


def test_diamond_graph_sums_both_paths():
    x = leaf(3.0)
    u = x * x
    y = u * u + u          # x^4 + x^2
    y.backward()
    assert x.grad.item() == pytest.approx(4 * 27 + 6)


def test_second_derivative_of_x_cubed_minus_log_x():
    # f = x^3 - log x; f' = 3x^2 - 1/x; f'' = 6x + 1/x^2
    x = leaf(2.0)
    f = x ** 3 - cg.log(x)
    (d1,) = cg.grad(f, x, create_graph=True)
    (d2,) = cg.grad(d1, x)
    assert d1.item() == pytest.approx(3 * 4 - 0.5)
    assert d2.item() == pytest.approx(12 + 0.25)


def test_hessian_vector_product_of_an_mlp_matches_finite_differences():
    rng = np.random.default_rng(0)
    X = cg.tensor(rng.standard_normal((5, 3)))
    t = cg.tensor(rng.integers(0, 2, 5))
    W1 = cg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    W2 = cg.tensor(rng.standard_normal((4, 2)), requires_grad=True)
    v1, v2 = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))

    def loss(a, b):
        return cg.cross_entropy(cg.tanh(X @ a) @ b, t)

    def grad_at(a_val, b_val):
        a = cg.tensor(a_val, requires_grad=True)
        b = cg.tensor(b_val, requires_grad=True)
        ga, gb = cg.grad(loss(a, b), [a, b])
        return ga.numpy(), gb.numpy()

    ga, gb = cg.grad(loss(W1, W2), [W1, W2], create_graph=True)
    dot = (ga * cg.tensor(v1)).sum() + (gb * cg.tensor(v2)).sum()
    h1, h2 = cg.grad(dot, [W1, W2])
    eps = 1e-6
    p = grad_at(W1.detach().numpy() + eps * v1, W2.detach().numpy() + eps * v2)
    m = grad_at(W1.detach().numpy() - eps * v1, W2.detach().numpy() - eps * v2)
    np.testing.assert_allclose(h1.numpy(), (p[0] - m[0]) / (2 * eps), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(h2.numpy(), (p[1] - m[1]) / (2 * eps), rtol=1e-5, atol=1e-7)


def test_grad_does_not_touch_dot_grad_and_reports_unused_inputs():
    x, z = leaf([1.0, 2.0]), leaf([5.0])
    (g,) = cg.grad((x * x).sum(), x)
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])
    assert x.grad is None
    with pytest.raises(GraphError, match="allow_unused"):
        cg.grad((x * 2).sum(), [x, z])
    gx, gz = cg.grad((x * 2).sum(), [x, z], allow_unused=True)
    assert gz is None


def test_retain_grad_keeps_an_intermediate_gradient():
    x = leaf([1.0, 2.0])
    h = (x * 3).retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * 3 * np.array([1.0, 2.0]))


def test_detect_anomaly_names_the_op():
    x = leaf([-1.0, 1.0])
    with cg.detect_anomaly():
        with pytest.raises(CompgraphError, match="log"):
            cg.log(x)
        y = cg.sqrt(leaf([0.0, 1.0]))         # forward is finite, backward is inf
        with pytest.raises(CompgraphError, match="sqrt.*backward"):
            y.sum().backward()
    cg.log(x)   # outside the context: NaN passes silently, as in NumPy


def test_broadcast_gradients_are_summed_back():
    a = leaf(np.ones((3, 1)))
    b = leaf(np.ones(4))
    (a * b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.full((3, 1), 4.0))
    np.testing.assert_allclose(b.grad.numpy(), np.full(4, 3.0))


def test_scalar_constants_keep_float32():
    x = cg.tensor([1.0, 2.0], requires_grad=True)
    y = 0.5 * (1 - x) ** 2 / 3.0 + 2
    assert y.dtype == cg.float32
    y.sum().backward()
    assert x.grad.dtype == cg.float32


def test_leaves_sharing_one_gradient_array_get_their_own_copies():
    # add passes the (fresh, owned) gradient of its output to both inputs
    a, b, c = leaf([1.0, 2.0]), leaf([3.0, 4.0]), cg.tensor([5.0, 6.0], dtype=cg.float64)
    ((a + b) * c).sum().backward()
    assert a.grad._value is not b.grad._value
    a.grad.data.zero_()
    np.testing.assert_array_equal(b.grad.numpy(), [5.0, 6.0])


def test_compiled_steps_do_not_alias_leaf_gradients_either():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    c = cg.tensor([5.0, 6.0], dtype=cg.float64)

    opt = cg.optim.SGD([a, b], lr=0.0)       # zero_grad() is replayed; a plain `a.grad =
                                              # None` inside would run only while tracing
    def step(x):
        opt.zero_grad()
        loss = ((a + b) * c * x).sum()
        loss.backward()
        return loss
    f = cg.compile(step)
    for _ in range(2):
        f(cg.tensor([1.0, 1.0], dtype=cg.float64))
        assert a.grad._value is not b.grad._value
        a.grad.data.zero_()
        np.testing.assert_array_equal(b.grad.numpy(), [5.0, 6.0])


def test_a_hook_changing_a_gradient_in_place_does_not_reach_other_nodes():
    w = leaf([1.0, 2.0])
    u = leaf([3.0, 4.0])
    c = cg.tensor([5.0, 6.0], dtype=cg.float64)
    handle = w.register_post_accumulate_grad_hook(lambda t: t.grad.data.zero_())
    try:
        s = (w + u * 2) * c            # add hands one array to w and to the u*2 branch
        s.sum().backward()
    finally:
        handle.remove()
    np.testing.assert_array_equal(u.grad.numpy(), [10.0, 12.0])
    np.testing.assert_array_equal(w.grad.numpy(), [0.0, 0.0])


def test_create_graph_gradients_of_two_leaves_are_two_tensors():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    ((a + b) * 2).sum().backward(create_graph=True)
    assert a.grad is not b.grad
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 2.0])


def test_backward_refuses_a_value_changed_in_place_after_use():
    # w.grad would silently be x's new value (zeros) instead of [1, 2, 3]
    w = cg.ones(3, requires_grad=True)
    x = cg.tensor([1.0, 2.0, 3.0])
    y = (w * x).sum()
    x.zero_()
    with pytest.raises(RuntimeError, match=r"input 2 of mul \(shape \(3,\)\) was changed in place"):
        y.backward()
    h = (w * 2).exp()
    s = h.sum()
    h.mul_(2)                        # recorded: h is a new node, and sum read the old one
    with pytest.raises(RuntimeError, match=r"input 1 of sum \(shape \(3,\)\) was changed"):
        cg.grad(s, w)
    z = (w * x).sum()                       # made after the change: it sees the new value
    z.backward()
    assert w.grad.tolist() == [0.0, 0.0, 0.0]


def test_an_integer_leaf_made_to_require_grad_by_assignment_gets_no_integer_gradient():
    t = cg.tensor([1, 2])
    t.requires_grad = True
    with pytest.raises(TypeError, match="only floating-point tensors can have gradients"):
        (t * 2).sum().backward()


def test_in_place_changes_of_tensors_in_the_graph_are_recorded_as_pytorch_records_them():
    c = np.array([1.0, 2.0, 3.0])
    x = cg.tensor([1.0, -2.0, 3.0], dtype=cg.float64, requires_grad=True)
    y = x * 1
    alias = y
    y[y < 0] = 0.0                               # masking a non-leaf
    assert alias is y and y.tolist() == [1.0, 0.0, 3.0]
    (y * cg.tensor(c)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 0.0, 3.0])   # no gradient where overwritten

    v = cg.tensor([1.0, 2.0], dtype=cg.float64, requires_grad=True)
    out = cg.zeros(3, dtype=cg.float64)          # a plain buffer filled with graph values
    out[cg.tensor([0, 2])] = v * 3
    assert out.requires_grad
    (out * cg.tensor(c)).sum().backward()
    np.testing.assert_allclose(v.grad.numpy(), [3.0 * 1.0, 3.0 * 3.0])

    x.grad = None
    z = x * 2
    z.mul_(3)
    z += x
    z.clamp_(max=5.0)
    z.sum().backward()                           # z = min(7x, 5): slope 7 where 7x < 5
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 7.0, 0.0])


def test_an_in_place_change_after_a_reader_was_made_is_caught_with_the_reader_named():
    x = cg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    z = (y * y).sum()                            # reads y as it was
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"input 1 of mul .* changed in place after the op used it"):
        z.backward()


def test_a_grad_set_by_hand_must_be_a_tensor_of_the_right_shape():
    w = cg.ones(2, 3, requires_grad=True)
    with pytest.raises(TypeError, match="assigned grad expected to be a Tensor or None"):
        w.grad = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"assigned grad has shape \(3,\)"):
        w.grad = cg.ones(3)
    w.grad = cg.zeros(2, 3)
    w.grad.data = cg.ones(3)                     # round the check: backward still refuses
    with pytest.raises(RuntimeError, match=r"gradient has shape \(2, 3\)"):
        (w * 2).sum().backward()
