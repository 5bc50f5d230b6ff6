"""compile(backend="numba") (executors/lower_numba.py): the native kernel's step agrees with
the eager step (losses, parameters, .grad) on the benchmark workloads; a missing Numba and an
op outside the lowering get clear errors."""
import subprocess
import sys

import numpy as np
import pytest

import compgraph as cg
import compgraph.nn as nn
import compgraph.nn.functional as F
from compgraph.errors import BoundsError, UnsupportedError
from tests.core.steps import training_step

RTOL = 1e-5          # float32; the kernel computes its scalars in float64, eager in float32


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))


_step_fn = training_step


def _train(make_model, loss_fn, batches, lr):
    models = [make_model() for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    opts = [cg.optim.SGD(m.parameters(), lr=lr) for m in models]
    eager = _step_fn(models[0], opts[0], loss_fn)
    native = cg.compile(_step_fn(models[1], opts[1], loss_fn), backend="numba")
    for x, t in batches:
        le, ln = eager(x, t), native(x, t)
        np.testing.assert_allclose(ln.item(), le.item(), rtol=RTOL)
        for p, q in zip(models[0].parameters(), models[1].parameters()):
            np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=RTOL, atol=1e-7)
            # atol: a gradient element near cancellation differs by float32 rounding of its terms
            np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=RTOL, atol=1e-6)
    (plan,) = native.plans.values()
    return plan


def test_xor_workload_matches_eager():
    cg.manual_seed(0)
    x = cg.tensor(np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32))
    t = cg.tensor(np.array([[0], [1], [1], [0]], np.float32))
    plan = _train(lambda: nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid()),
                  lambda y, t: 0.5 * ((t - y) ** 2).sum(), [(x[i], t[i]) for i in range(4)] * 5, 0.5)
    assert "@numba.njit(cache=True" in plan.fast_source


@pytest.mark.parametrize("batch", [1, 64])
def test_mlp_workloads_match_eager(batch):
    cg.manual_seed(1)
    rng = np.random.default_rng(batch)
    batches = [(cg.tensor(rng.standard_normal((batch, 784)).astype(np.float32)),
                cg.tensor(rng.integers(0, 10, batch))) for _ in range(4)]
    _train(lambda: nn.Sequential(nn.Linear(784, 256), nn.Tanh(), nn.Linear(256, 10)),
           F.cross_entropy, batches, 0.1)


def test_a_class_index_out_of_range_is_refused_before_any_update():
    cg.manual_seed(2)
    model = nn.Linear(4, 3)
    opt = cg.optim.SGD(model.parameters(), lr=0.1)
    step = cg.compile(_step_fn(model, opt, F.cross_entropy), backend="numba")
    x = cg.tensor(np.ones((2, 4), np.float32))
    step(x, cg.tensor(np.array([0, 1])))
    step(x, cg.tensor(np.array([0, 1])))
    before = model.weight.detach().numpy().copy()
    with pytest.raises(BoundsError, match="out of range for 3 classes"):
        step(x, cg.tensor(np.array([0, 3])))
    np.testing.assert_array_equal(model.weight.detach().numpy(), before)


def test_an_op_outside_the_lowering_is_named():
    cg.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 1))
    opt = cg.optim.SGD(model.parameters(), lr=0.1)
    step = cg.compile(_step_fn(model, opt, lambda y, t: ((y - t) ** 2).sum()), backend="numba")
    with pytest.raises(UnsupportedError, match=r"the op 'relu'.*backend='numpy'"):
        step(cg.tensor(np.ones((2, 3), np.float32)), cg.tensor(np.ones((2, 1), np.float32)))


def test_missing_numba_names_the_extra():
    code = ("import sys; sys.modules['numba'] = None\n"
            "import compgraph as cg\n"
            "from compgraph.errors import UnsupportedError\n"
            "try:\n"
            "    cg.compile(lambda x: x, backend='numba')\n"
            "except UnsupportedError as e:\n"
            "    print('ERR', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "ERR" in out.stdout and "pip install 'compgraph[jit]'" in out.stdout
