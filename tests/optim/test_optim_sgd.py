"""SGD against hand-computed steps and against PyTorch's published update rule."""
import numpy as np
import pytest

import compgraph as cg
import compgraph.nn as nn
from compgraph.optim import SGD

from .helpers import run


def test_plain_sgd_hand_computed():
    np.testing.assert_allclose(run(SGD, 1.0, [0.5, 0.5, -1.0], lr=0.1), [0.95, 0.9, 1.0])


def test_momentum_hand_computed():
    # buf: 1, 0.9*1 + 1 = 1.9, 0.9*1.9 + 1 = 2.71
    np.testing.assert_allclose(run(SGD, 1.0, [1, 1, 1], lr=0.1, momentum=0.9), [0.9, 0.71, 0.439])


def test_dampening_does_not_touch_the_first_step():
    # buf: 1 (no dampening on the first step), 0.9 + 0.5 = 1.4
    np.testing.assert_allclose(run(SGD, 1.0, [1, 1], lr=0.1, momentum=0.9, dampening=0.5),
                               [0.9, 0.76])


def test_nesterov_hand_computed():
    # update g + 0.9 buf: 1 + 0.9 = 1.9, then 1 + 0.9 * 1.9 = 2.71
    np.testing.assert_allclose(run(SGD, 1.0, [1, 1], lr=0.1, momentum=0.9, nesterov=True),
                               [0.81, 0.539])


def test_weight_decay_hand_computed():
    # g = 0 + 0.1 p:  2 - 0.1 * 0.2 = 1.98;  1.98 - 0.1 * 0.198 = 1.9602
    np.testing.assert_allclose(run(SGD, 2.0, [0, 0], lr=0.1, weight_decay=0.1), [1.98, 1.9602])


def test_maximize_ascends():
    np.testing.assert_allclose(run(SGD, 1.0, [0.5], lr=0.1, maximize=True), [1.05])


def reference_sgd(p, grads, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False):
    """PyTorch's documented algorithm, step by step."""
    out, b = [], None
    for g in grads:
        g = g + weight_decay * p
        if momentum:
            b = g.copy() if b is None else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        p = p - lr * g
        out.append(p)
    return np.array(out)


@pytest.mark.parametrize("kw", [dict(momentum=0.8, dampening=0.2, weight_decay=0.05),
                                dict(momentum=0.5, nesterov=True, weight_decay=0.3),
                                dict(weight_decay=0.2)], ids=str)
def test_matches_the_published_rule_on_arrays(kw):
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(4)
    grads = list(rng.standard_normal((3, 4)))
    np.testing.assert_allclose(run(SGD, p0, grads, lr=0.05, **kw),
                               reference_sgd(p0, grads, 0.05, **kw), rtol=1e-12)


def test_updates_in_place_and_skips_parameters_without_gradients():
    a, b = nn.Parameter(cg.ones(3)), nn.Parameter(cg.ones(2))
    arr = a._value
    opt = SGD([a, b], lr=0.5, momentum=0.9)
    a.grad = cg.ones(3)
    opt.step()
    assert a._value is arr                               # same array: views stay valid
    np.testing.assert_allclose(a._value, 0.5)
    np.testing.assert_array_equal(b._value, 1.0)
    assert b not in opt.state
    a.grad._value[...] = 7                                # the gradient is not modified by step
    opt.step()
    np.testing.assert_array_equal(a.grad._value, 7)


def test_float32_parameters_stay_float32():
    p = nn.Parameter(cg.ones(3))
    opt = SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01)
    p.grad = cg.ones(3)
    opt.step()
    assert p.dtype == np.float32 and opt.state[p]["momentum_buffer"].dtype == np.float32


def test_invalid_options_are_refused():
    p = [nn.Parameter(cg.ones(1))]
    with pytest.raises(ValueError):
        SGD(p, lr=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        SGD(p, lr=0.1, nesterov=True)
    assert SGD(p).defaults["lr"] == 1e-3
