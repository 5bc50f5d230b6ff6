"""The Numba kernel's own arithmetic (executors/lower_numba.py): the vectorizable float32
tanh against tanh computed in float64 and rounded, a batch's weight gradient written by
BLAS straight into .grad (and where it must not be), float64 kernels keeping libm's tanh,
and NumPy's division semantics (inf, nan) instead of ZeroDivisionError."""
import math

import numpy as np
import pytest

import compgraph as cg
import compgraph.nn as nn
import compgraph.nn.functional as F

numba = pytest.importorskip("numba")

from compgraph.executors.lower_numba import _TANH32  # noqa: E402
from tests.core.test_compile_numba import _cache, _step_fn, _train  # noqa: E402,F401 (_cache: a fixture)


def _tanh32_loop():
    ns = {"numba": numba, "np": np, "math": math}
    exec(_TANH32, ns)
    tanh32 = ns["tanh32"]

    @numba.njit(error_model="numpy")
    def loop(x, out):
        for i in range(x.size):
            out[i] = tanh32(x[i])
    return loop


def test_tanh32_rounds_as_float64_tanh_rounded_to_float32():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(200_000) * s for s in (1e-7, 1e-3, 0.1, 1, 4, 12)])
    x = np.concatenate([x, [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -1e-40, 1e-45, 9.0,
                            9.999, 10.0, 10.001, 88.0, -1e30, 3.4e38]]).astype(np.float32)
    got = np.empty_like(x)
    _tanh32_loop()(x, got)
    want = np.tanh(x.astype(np.float64)).astype(np.float32)
    np.testing.assert_array_equal(got, want)                 # nan where nan, every bit else
    assert np.array_equal(np.signbit(got), np.signbit(want))  # -0 stays -0


def _mlp(dtype=np.float32, fortran=False):
    net = nn.Sequential(nn.Linear(30, 20), nn.Tanh(), nn.Linear(20, 4))
    for p in net.parameters():
        v = p.detach().numpy().astype(dtype)
        p._value = np.asfortranarray(v) if fortran and v.ndim == 2 else np.ascontiguousarray(v)
    return net


def _batches(n, dtype=np.float32, steps=4):
    rng = np.random.default_rng(n)
    return [(cg.tensor(rng.standard_normal((n, 30)).astype(dtype)), cg.tensor(rng.integers(0, 4, n)))
            for _ in range(steps)]


def test_batch_weight_gradient_is_written_into_grad_by_blas():
    cg.manual_seed(4)
    plan = _train(_mlp, F.cross_entropy, _batches(16), 0.1)
    src = plan.fast_source
    assert "np.dot(w" in src and ".T, a0, G0)" in src          # the product's out= is .grad
    assert "G0[i0, i1] = " not in src                           # no copy loop after it
    assert "tanh32(" in src


def test_fortran_ordered_weight_gets_the_copy_loop():
    cg.manual_seed(5)
    plan = _train(lambda: _mlp(fortran=True), F.cross_entropy, _batches(16), 0.1)
    assert ", G0)" not in plan.fast_source and "G0[i0, i1] = " in plan.fast_source


def test_float64_kernel_keeps_libm_tanh_and_float64_accuracy():
    cg.manual_seed(6)
    models = [_mlp(np.float64) for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    opts = [cg.optim.SGD(m.parameters(), lr=0.1) for m in models]
    eager = _step_fn(models[0], opts[0], F.cross_entropy)
    native = cg.compile(_step_fn(models[1], opts[1], F.cross_entropy), backend="numba")
    for x, t in _batches(8, np.float64):
        np.testing.assert_allclose(native(x, t).item(), eager(x, t).item(), rtol=1e-12)
    for p, q in zip(*(m.parameters() for m in models)):
        np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=1e-12, atol=1e-14)
    (plan,) = native.plans.values()
    assert "math.tanh(" in plan.fast_source and "tanh32" not in plan.fast_source


def test_division_by_zero_gives_numpys_inf_not_an_exception():
    cg.manual_seed(7)
    models = [nn.Linear(3, 2) for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    opts = [cg.optim.SGD(m.parameters(), lr=0.1) for m in models]
    loss_fn = lambda y, t: (y / t).sum()                      # noqa: E731
    eager = _step_fn(models[0], opts[0], loss_fn)
    native = cg.compile(_step_fn(models[1], opts[1], loss_fn), backend="numba")
    x = cg.tensor(np.ones((2, 3), np.float32))
    fine = cg.tensor(np.full((2, 2), 2.0, np.float32))
    zero = cg.tensor(np.array([[2.0, 0.0], [2.0, 2.0]], np.float32))
    native(x, fine), eager(x, fine)                            # traced on a fine batch
    with np.errstate(divide="ignore", invalid="ignore"):
        le, ln = eager(x, zero).item(), native(x, zero).item()
    assert math.isinf(le) and ln == le
    for p, q in zip(models[0].parameters(), models[1].parameters()):
        np.testing.assert_array_equal(np.isnan(q.detach().numpy()), np.isnan(p.detach().numpy()))


def test_a_replaced_parameter_array_is_rebound_not_stale():
    """The kernel gets each parameter's array held since the last call (checked by
    identity); after p.data = ... it must use the new array, natively, not the old one."""
    cg.manual_seed(8)
    models = [_mlp() for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    opts = [cg.optim.SGD(m.parameters(), lr=0.1) for m in models]
    eager = _step_fn(models[0], opts[0], F.cross_entropy)
    native = cg.compile(_step_fn(models[1], opts[1], F.cross_entropy), backend="numba")
    batches = _batches(8, steps=6)
    for k, (x, t) in enumerate(batches):
        if k == 3:                                   # new arrays, new values, both models
            for m in models:
                m[0].weight.data = cg.tensor(m[0].weight.detach().numpy() * 0.5)
        np.testing.assert_allclose(native(x, t).item(), eager(x, t).item(), rtol=1e-5)
    (plan,) = native.plans.values()
    fast_globals = plan.fast.__globals__
    held = [v for k, v in fast_globals.items() if k.startswith("V")]
    assert any(v is models[1][0].weight._value for v in held)   # the native path took it
    for p, q in zip(models[0].parameters(), models[1].parameters()):
        np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=1e-5, atol=1e-7)
