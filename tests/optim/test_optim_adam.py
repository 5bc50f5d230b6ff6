"""Adam, AMSGrad and AdamW against hand-computed steps and their published formulas."""
import math

import numpy as np
import pytest

import compgraph as cg
import compgraph.nn  # noqa: F401
from compgraph.optim import Adam, AdamW

from .helpers import run


def reference_adam(p, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                   amsgrad=False, decoupled=False):
    b1, b2 = betas
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    vmax = np.zeros_like(p)
    out = []
    for t, g in enumerate(grads, start=1):
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        m_hat = m / (1 - b1 ** t)
        v_hat = (vmax if amsgrad else v) / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(p)
    return np.array(out)


def test_first_step_moves_by_lr_in_the_gradients_sign():
    # bias-corrected m = g, v = g^2: the step is lr * g / (|g| + eps)
    out = run(Adam, [1.0, 1.0], [[0.5, -2.0]], lr=0.1)
    np.testing.assert_allclose(out[0], [1 - 0.1 * 0.5 / (0.5 + 1e-8), 1 + 0.1 * 2 / (2 + 1e-8)])


def test_second_step_hand_computed():
    # g = 1 then 0: m = 0.1, 0.09; v = 0.001, 0.000999; corrected m 0.09/0.19, v 0.000999/0.001999
    out = run(Adam, 0.0, [1.0, 0.0], lr=0.1)
    m_hat, v_hat = 0.09 / 0.19, 0.000999 / 0.001999
    np.testing.assert_allclose(out, [-0.1, -0.1 - 0.1 * m_hat / (math.sqrt(v_hat) + 1e-8)], rtol=1e-7)


@pytest.mark.parametrize("kw", [dict(), dict(weight_decay=0.1), dict(amsgrad=True),
                                dict(betas=(0.5, 0.9), eps=1e-3, amsgrad=True, weight_decay=0.05)],
                         ids=str)
def test_adam_matches_the_published_rule(kw):
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(5)
    grads = [rng.standard_normal(5) * s for s in (3.0, 0.1, 0.1)]   # shrinking: amsgrad matters
    np.testing.assert_allclose(run(Adam, p0, grads, lr=0.01, **kw),
                               reference_adam(p0, grads, lr=0.01, **kw), rtol=1e-12, atol=1e-15)


def test_amsgrad_differs_when_the_second_moment_shrinks():
    grads = [[3.0], [0.01], [0.01]]
    a = run(Adam, [0.0], grads, lr=0.1, betas=(0.9, 0.5))
    b = run(Adam, [0.0], grads, lr=0.1, betas=(0.9, 0.5), amsgrad=True)
    assert abs(a[-1, 0] - b[-1, 0]) > 1e-2


@pytest.mark.parametrize("kw", [dict(), dict(weight_decay=0.5, amsgrad=True)], ids=str)
def test_adamw_decouples_weight_decay(kw):
    rng = np.random.default_rng(1)
    p0 = rng.standard_normal(3)
    grads = list(rng.standard_normal((3, 3)))
    kw = {"weight_decay": 1e-2, **kw}
    np.testing.assert_allclose(run(AdamW, p0, grads, lr=0.01, **kw),
                               reference_adam(p0, grads, lr=0.01, decoupled=True, **kw), rtol=1e-12)
    # with a zero gradient only the decay acts: p * (1 - lr * wd)
    np.testing.assert_allclose(run(AdamW, [2.0], [[0.0]], lr=0.1, weight_decay=0.5)[0], [1.9])
    assert AdamW([cg.nn.Parameter(cg.ones(1))]).defaults["weight_decay"] == 1e-2


def test_bad_betas_are_refused():
    with pytest.raises(ValueError, match="beta"):
        Adam([cg.nn.Parameter(cg.ones(1))], betas=(1.0, 0.9))
