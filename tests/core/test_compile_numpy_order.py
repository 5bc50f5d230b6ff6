"""The NumPy lowering's memory orders (executors/lower_numpy.py): a batch's linear output is
the Fortran-ordered (W @ X^T)^T, so the buffers computed from it (tanh, its VJP) and the
gradient of it are Fortran-ordered too.  Elementwise ufuncs give the same numbers in any
order; the products read them in another BLAS layout, so the step agrees with eager's
within float32 rounding.  The one-reduction check of class indices still refuses a bad
label of every sign and integer dtype."""
import numpy as np
import pytest

import compgraph as cg
import compgraph.nn as nn
import compgraph.nn.functional as F
from compgraph.errors import BoundsError
from tests.core.steps import training_step


_step_fn = training_step


def _pair(seed, hidden=nn.Tanh):
    cg.manual_seed(seed)
    models = [nn.Sequential(nn.Linear(40, 24), hidden(), nn.Linear(24, 6)) for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    opts = [cg.optim.SGD(m.parameters(), lr=0.1) for m in models]
    return models, _step_fn(models[0], opts[0]), cg.compile(_step_fn(models[1], opts[1]))


def _batches(n, steps, dtype=np.int64, seed=0):
    rng = np.random.default_rng(seed)
    return [(cg.tensor(rng.standard_normal((n, 40)).astype(np.float32)),
             cg.tensor(rng.integers(0, 6, n).astype(dtype))) for _ in range(steps)]


@pytest.mark.parametrize("hidden", [nn.Tanh, nn.Sigmoid])
def test_a_batch_step_in_fortran_buffers_agrees_with_eager(hidden):
    """The forward and the elementwise VJPs are the same ufuncs in another order: the same
    bits.  The weight gradient's GEMM reads the Fortran-ordered hidden gradient as the
    C-ordered matrix it is transposed (BLAS's NN, not eager's TN), which sums in another
    order: within float32 rounding, as SGD's axpy update already was."""
    models, eager, compiled = _pair(20, hidden)
    for k, (x, t) in enumerate(_batches(32, steps=5)):
        if k:                                  # each step from the same parameters
            models[1].load_state_dict(models[0].state_dict())
        le, lc = eager(x, t).item(), compiled(x, t).item()
        np.testing.assert_allclose(lc, le, rtol=1e-6)
        for p, q in zip(models[0].parameters(), models[1].parameters()):
            np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-5, atol=1e-8)
            np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=1e-6, atol=1e-8)
    (plan,) = compiled.plans.values()
    env = plan.fast.__globals__
    fortran = [k for k, v in env.items() if k.startswith("B") and isinstance(v, np.ndarray)
               and v.ndim == 2 and not v.flags.c_contiguous]
    assert fortran, plan.fast_source          # the hidden layer's buffers follow its order
    assert "(e2.T @ " in plan.fast_source     # and its gradient too


def test_batch_one_keeps_c_order():
    models, eager, compiled = _pair(21)
    for x, t in _batches(1, steps=3):
        np.testing.assert_allclose(compiled(x, t).item(), eager(x, t).item(), rtol=1e-6)
    (plan,) = compiled.plans.values()
    assert all(v.flags.c_contiguous for k, v in plan.fast.__globals__.items()
               if k.startswith("B") and isinstance(v, np.ndarray))


@pytest.mark.parametrize("dtype,bad", [(d, b) for d in (np.int64, np.int32, np.uint8)
                                       for b in (-1, 6, 200)
                                       if not (b < 0 and d is np.uint8)])   # no negative uint8
def test_a_bad_class_index_of_any_sign_and_dtype_is_refused(dtype, bad):
    models, eager, compiled = _pair(22)
    batches = _batches(16, steps=3, dtype=dtype)
    for x, t in batches[:2]:
        compiled(x, t)
    before = models[1][0].weight.detach().numpy().copy()
    x, t = batches[2]
    labels = t.numpy().copy()
    labels[7] = bad
    with pytest.raises(BoundsError, match=f"class index {bad} is out of range for 6 classes"):
        compiled(x, cg.tensor(labels))
    np.testing.assert_array_equal(models[1][0].weight.detach().numpy(), before)
