"""compile(): the replayed trace computes what eager code computes, and refuses what it cannot."""
import numpy as np
import pytest

import compgraph as cg
from compgraph.errors import TraceError

rng = np.random.default_rng(0)


def params():
    return [cg.tensor(rng.standard_normal(s), requires_grad=True) for s in [(4, 3), (4,), (2, 4), (2,)]]


def mlp_loss(ps):
    W1, b1, W2, b2 = ps

    def loss(x, t):
        return cg.cross_entropy(cg.linear(cg.tanh(cg.linear(x, W1, b1)), W2, b2), t)
    return loss


def grads_of(ps, fn, *args):
    for p in ps:
        p.grad = None
    out = fn(*args)
    out.backward()
    return out.item(), [p.grad.numpy().copy() for p in ps]


def test_replay_matches_eager_values_and_gradients_on_new_inputs():
    ps = params()
    eager = mlp_loss(ps)
    compiled = cg.compile(eager)
    for _ in range(3):                                # first call traces, the others replay
        x, t = cg.tensor(rng.standard_normal((5, 3))), cg.tensor(rng.integers(0, 2, 5))
        le, ge = grads_of(ps, eager, x, t)
        lc, gc = grads_of(ps, compiled, x, t)
        assert lc == pytest.approx(le, rel=1e-12)
        for a, b in zip(ge, gc):
            np.testing.assert_allclose(a, b, rtol=1e-12)
    assert len(compiled.plans) == 1


def test_parameters_updated_in_place_are_seen_by_the_replay():
    ps = params()
    compiled = cg.compile(mlp_loss(ps))
    x, t = cg.tensor(rng.standard_normal((5, 3))), cg.tensor(rng.integers(0, 2, 5))
    before = compiled(x, t).item()
    with cg.no_grad():
        ps[2].mul_(0.0)                               # W2 = b2 = 0: classes equally likely
        ps[3].mul_(0.0)
    assert compiled(x, t).item() == pytest.approx(np.log(2))
    assert before != pytest.approx(np.log(2))


def test_a_new_shape_traces_again():
    ps = params()
    compiled = cg.compile(mlp_loss(ps))
    compiled(cg.tensor(rng.standard_normal((5, 3))), cg.tensor(rng.integers(0, 2, 5)))
    compiled(cg.tensor(rng.standard_normal((7, 3))), cg.tensor(rng.integers(0, 2, 7)))
    assert len(compiled.plans) == 2


def test_broadcasting_and_gradients_to_arguments():
    w = cg.tensor(rng.standard_normal(3), requires_grad=True)

    def f(x):
        return ((x * w + 1.0) ** 2).sum()
    x = cg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    g_eager = cg.grad(f(x), [x, w])
    cf = cg.compile(f)
    cf(x)
    g_comp = cg.grad(cf(x), [x, w])
    for a, b in zip(g_eager, g_comp):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)


def test_value_dependent_control_flow_is_explained_not_baked_in():
    def f(x):
        if (x.sum() > 0):
            return x * 2
        return x * 3
    with pytest.raises(TraceError, match="value-dependent control flow"):
        cg.compile(f)(cg.tensor([1.0, 2.0]))
    with pytest.raises(TraceError, match="item"):
        cg.compile(lambda x: x * x.sum().item())(cg.tensor([1.0]))


def test_random_numbers_inside_are_refused():
    with pytest.raises(TraceError, match="dropout"):
        cg.compile(lambda x: cg.dropout(x, 0.5))(cg.ones(3, requires_grad=True))


def test_compiled_result_joins_eager_graphs():
    w = cg.tensor([2.0], requires_grad=True)
    inner = cg.compile(lambda x: x * w)
    y = inner(cg.tensor([3.0])) * 5
    y.sum().backward()
    assert w.grad.item() == 15.0


def _mlp_and_sgd(seed, momentum):
    import compgraph.nn as nn
    cg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
    return model, cg.optim.SGD(model.parameters(), lr=0.1, momentum=momentum)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_a_whole_training_step_compiles_and_matches_eager(momentum):
    m1, o1 = _mlp_and_sgd(1, momentum)
    m2, o2 = _mlp_and_sgd(1, momentum)

    def step(model, opt):
        def run(x, t):
            opt.zero_grad()
            loss = cg.nn.functional.cross_entropy(model(x) * 1.5 + 0.25, t)
            loss.backward()
            opt.step()
            return loss
        return run

    eager, compiled = step(m1, o1), cg.compile(step(m2, o2))
    for i in range(6):
        x = cg.tensor(rng.standard_normal((4, 3)).astype(np.float32))
        t = cg.tensor(rng.integers(0, 2, 4))
        le, lc = eager(x, t), compiled(x, t)
        assert lc.item() == pytest.approx(le.item(), rel=1e-6)
        assert not lc.requires_grad
    for p, q in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-6)
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-6)
    plan = next(iter(compiled.plans.values()))
    assert plan.whole_step


def test_whole_step_results_are_fresh_arrays_not_reused_buffers():
    w = cg.tensor(np.ones(3), requires_grad=True)
    opt = cg.optim.SGD([w], lr=0.0)

    def run(x):
        opt.zero_grad()
        y = (w * x + 1.0) * 2.0
        y.sum().backward()
        opt.step()
        return y
    f = cg.compile(run)
    first = f(cg.tensor(np.array([1.0, 2.0, 3.0])))
    second = f(cg.tensor(np.array([5.0, 5.0, 5.0])))
    third = f(cg.tensor(np.array([0.0, 0.0, 0.0])))
    assert first.tolist() == [4.0, 6.0, 8.0] and second.tolist() == [12.0, 12.0, 12.0]
    assert third.tolist() == [2.0, 2.0, 2.0] and second.tolist() == [12.0, 12.0, 12.0]


def test_tensor_indices_inside_compile_are_refused_not_frozen():
    w = cg.tensor(np.arange(10.0), requires_grad=True)
    f = cg.compile(lambda x, idx: (w[idx] * x).sum())
    with pytest.raises(TraceError, match="index"):
        f(cg.tensor(1.0, dtype=cg.float64), cg.tensor([1, 2]))


def test_arguments_that_cannot_be_keyed_are_refused():
    f = cg.compile(lambda x, scale: x * scale[0])
    with pytest.raises(TraceError, match="hashable"):
        f(cg.ones(2), np.array([3.0]))
    g = cg.compile(lambda xs: xs[0] * 2)
    with pytest.raises(TraceError, match="list or tuple of tensors"):
        g([cg.ones(2)])
    h = cg.compile(lambda x, k: x * k[0])
    assert h(cg.ones(2), (3.0,)).tolist() == [3.0, 3.0]
    assert h(cg.ones(2), (5.0,)).tolist() == [5.0, 5.0]        # a new value, a new plan


def test_whole_step_results_that_are_views_stay_valid():
    w = cg.tensor(np.ones((2, 2)), requires_grad=True)
    opt = cg.optim.SGD([w], lr=0.0)

    def run(x):
        opt.zero_grad()
        h = w * x * 2.0
        h.sum().backward()
        opt.step()
        return h.reshape(-1)
    f = cg.compile(run)
    outs = [f(cg.tensor(np.full((2, 2), float(k)))) for k in (1, 2, 3)]
    assert [o.tolist() for o in outs] == [[2.0] * 4, [4.0] * 4, [6.0] * 4]


def test_ops_on_inputs_without_gradient_replay_too():
    w = cg.tensor(np.ones(3), requires_grad=True)
    f = cg.compile(lambda x: ((x / 255.0) * w).sum())
    assert f(cg.tensor(np.full(3, 255.0))).item() == pytest.approx(3.0)
    assert f(cg.tensor(np.full(3, 510.0))).item() == pytest.approx(6.0)


def test_batchnorm_in_eval_reads_its_current_running_statistics():
    import compgraph.nn as nn
    bn = nn.BatchNorm1d(2).eval()
    f = cg.compile(lambda x: bn(x))
    x = cg.tensor(np.ones((3, 2), np.float32))
    assert np.allclose(f(x).detach().numpy(), 1.0, atol=1e-3)
    bn.running_var._value[...] = 4.0
    assert np.allclose(f(x).detach().numpy(), 0.5, atol=1e-3)
    bn.train()
    with pytest.raises(TraceError, match="eval"):
        cg.compile(lambda x: bn(x))(x)


def test_a_captured_tensor_that_changes_shape_traces_again():
    w = cg.tensor(np.ones(2), requires_grad=True)
    f = cg.compile(lambda x: (x * w).sum())
    assert f(cg.tensor(2.0, dtype=cg.float64)).item() == 4.0
    w.data = cg.tensor(np.ones(3))
    assert f(cg.tensor(2.0, dtype=cg.float64)).item() == 6.0


def test_create_graph_through_a_compiled_region_is_refused_clearly():
    f = cg.compile(lambda x: (x * x).sum())
    x = cg.tensor([1.0, 2.0], requires_grad=True)
    f(x)
    y = f(x)                                   # replayed: one node for the whole region
    with pytest.raises(cg.GraphError, match="higher-order gradients cannot pass through"):
        cg.grad(y, x, create_graph=True)


def test_an_unknown_backend_is_refused_naming_the_backends():
    from compgraph.errors import ArgumentError, UnsupportedError
    with pytest.raises(ArgumentError, match=r"unknown backend 'nonsense'; the backends are 'numpy'"):
        cg.compile(lambda x: x * 2, backend="nonsense")
    f = cg.compile(lambda x: x * 2, backend="numba")    # numba lowers whole SGD steps only
    with pytest.raises(UnsupportedError, match="no loss.backward"):
        f(cg.tensor([1.0]))
