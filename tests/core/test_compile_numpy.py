"""compile()'s NumPy fast path for whole training steps (executors/lower_numpy.py): the lowered
step computes what the eager step computes (losses, parameters, .grad), on the benchmark
workloads and on random graphs of table ops, and steps aside when the pattern changes."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import compgraph as cg
import compgraph.nn as nn
import compgraph.nn.functional as F
from compgraph.errors import BoundsError, TraceError
from tests.core.steps import training_step

RTOL = 1e-6          # float32; the lowered step rounds as eager code does, to an ulp or two


def _pair(make_model, lr=0.1, momentum=0.0):
    """The same model twice: one trained eagerly, one through compile()."""
    models = [make_model() for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    opts = [cg.optim.SGD(m.parameters(), lr=lr, momentum=momentum) for m in models]
    return models, opts


_step_fn = training_step


def _assert_same(models):
    a, b = [list(m.parameters()) for m in models]
    for p, q in zip(a, b):
        np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=RTOL, atol=1e-8)
        if p.grad is None:                       # a parameter the loss does not reach
            assert q.grad is None
        else:
            np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=RTOL, atol=1e-8)


def _xor_net():
    return nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid())


def _mlp():
    return nn.Sequential(nn.Linear(20, 16), nn.Tanh(), nn.Linear(16, 5))


def _train(models, opts, loss_fn, batches):
    eager = _step_fn(models[0], opts[0], loss_fn)
    compiled = cg.compile(_step_fn(models[1], opts[1], loss_fn))
    for x, t in batches:
        le, lc = eager(x, t), compiled(x, t)
        np.testing.assert_allclose(lc.item(), le.item(), rtol=RTOL)
        _assert_same(models)
    return compiled


def _plan(compiled):
    (plan,) = compiled.plans.values()
    return plan


def test_xor_workload_matches_eager_through_the_fast_path():
    cg.manual_seed(0)
    models, opts = _pair(_xor_net, lr=0.5)
    x = cg.tensor(np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32))
    t = cg.tensor(np.array([[0], [1], [1], [0]], np.float32))
    compiled = _train(models, opts, lambda y, t: 0.5 * ((t - y) ** 2).sum(),
                      [(x[i], t[i]) for i in range(4)] * 3)
    assert _plan(compiled).fast is not None          # the lowered step ran, not the writer


@pytest.mark.parametrize("batch", [1, 8])
def test_mlp_workloads_match_eager_through_the_fast_path(batch):
    cg.manual_seed(1)
    rng = np.random.default_rng(batch)
    models, opts = _pair(_mlp, lr=0.05)
    batches = [(cg.tensor(rng.standard_normal((batch, 20)).astype(np.float32)),
                cg.tensor(rng.integers(0, 5, batch))) for _ in range(4)]
    compiled = _train(models, opts, F.cross_entropy, batches)
    assert _plan(compiled).fast is not None


def test_a_gradient_kept_by_the_caller_is_not_overwritten_by_the_next_step():
    cg.manual_seed(2)
    models, opts = _pair(_mlp)
    rng = np.random.default_rng(0)
    eager = _step_fn(models[0], opts[0], F.cross_entropy)
    compiled = cg.compile(_step_fn(models[1], opts[1], F.cross_entropy))
    batches = [(cg.tensor(rng.standard_normal((3, 20)).astype(np.float32)),
                cg.tensor(rng.integers(0, 5, 3))) for _ in range(3)]
    kept_e, kept_c = [], []
    for x, t in batches:
        eager(x, t)
        compiled(x, t)
        kept_e.append(models[0][0].weight.grad)
        kept_c.append(models[1][0].weight.grad.numpy())     # an array view of the buffer
    for a, b in zip(kept_e, kept_c):
        np.testing.assert_allclose(b, a.numpy(), rtol=RTOL, atol=1e-8)
    assert not np.shares_memory(kept_c[0], kept_c[1])


def test_momentum_switched_on_after_tracing_takes_the_general_path():
    cg.manual_seed(3)
    models, opts = _pair(_mlp)
    rng = np.random.default_rng(1)
    batches = [(cg.tensor(rng.standard_normal((4, 20)).astype(np.float32)),
                cg.tensor(rng.integers(0, 5, 4))) for _ in range(4)]
    eager = _step_fn(models[0], opts[0], F.cross_entropy)
    compiled = cg.compile(_step_fn(models[1], opts[1], F.cross_entropy))
    for k, (x, t) in enumerate(batches):
        if k == 2:
            for o in opts:
                o.param_groups[0]["momentum"] = 0.9
                o.param_groups[0]["lr"] = 0.01       # the new lr is read on every call
        eager(x, t)
        compiled(x, t)
        _assert_same(models)


def test_a_class_index_out_of_range_is_refused_not_wrapped():
    cg.manual_seed(4)
    models, opts = _pair(_mlp)
    compiled = cg.compile(_step_fn(models[1], opts[1], F.cross_entropy))
    x = cg.tensor(np.ones((2, 20), np.float32))
    compiled(x, cg.tensor(np.array([0, 1])))
    compiled(x, cg.tensor(np.array([0, 1])))
    with pytest.raises(BoundsError, match="class index -1 is out of range for 5 classes"):
        compiled(x, cg.tensor(np.array([0, -1])))


def test_value_dependent_control_flow_in_a_training_step_is_still_refused():
    model, opt = _mlp(), None
    opt = cg.optim.SGD(model.parameters(), lr=0.1)

    def step(x, t):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), t)
        if loss > 1.0:                           # a value read into Python while tracing
            loss = loss * 2
        loss.backward()
        opt.step()
        return loss
    with pytest.raises(TraceError, match="value-dependent control flow"):
        cg.compile(step)(cg.tensor(np.ones((2, 20), np.float32)), cg.tensor(np.array([0, 1])))


# random graphs: a chain of table ops between a linear layer and a scalar loss; the lowered
# ops and ops that run their table entry (relu, softplus, exp) mixed
_UNARY = ["sigmoid", "tanh", "relu", "softplus", "neg"]
_BINARY = ["add", "sub", "mul"]


@settings(max_examples=12, deadline=None, derandomize=True)
@given(st.lists(st.one_of(st.sampled_from(_UNARY), st.sampled_from(_BINARY),
                          st.sampled_from(["square", "scale"])), min_size=1, max_size=5),
       st.integers(1, 3), st.integers(0, 2 ** 16))
def test_random_graphs_of_table_ops_match_eager(chain, batch, seed):
    rng = np.random.default_rng(seed)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 4)
            self.other = nn.Linear(3, 4)

        def forward(self, x):
            h = self.lin(x)
            side = self.other(x)
            for name in chain:
                if name in _BINARY:
                    h = getattr(cg, name)(h, side)
                elif name == "square":
                    h = h ** 2
                elif name == "scale":
                    h = 0.5 * h
                else:
                    h = getattr(cg, name)(h)
            return h

    models, opts = _pair(Net, lr=0.05)
    batches = [(cg.tensor(rng.standard_normal((batch, 3)).astype(np.float32)),
                cg.tensor(rng.standard_normal((batch, 4)).astype(np.float32))) for _ in range(3)]
    compiled = _train(models, opts, lambda y, t: ((y - t) ** 2).sum() * 0.25, batches)
    assert _plan(compiled).fast is not None
