"""Adagrad and RMSprop against hand-computed steps and PyTorch's published formulas."""
import math

import numpy as np
import pytest

from compgraph.optim import Adagrad, RMSprop

from .helpers import run


def test_adagrad_hand_computed():
    # sum 4 -> step 0.1 * 2 / 2; sum 8 -> step 0.1 * 2 / sqrt(8)
    np.testing.assert_allclose(run(Adagrad, 1.0, [2.0, 2.0], lr=0.1),
                               [0.9, 0.9 - 0.2 / math.sqrt(8)], rtol=1e-9)


def reference_adagrad(p, grads, lr, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                      eps=1e-10):
    s = np.full_like(p, initial_accumulator_value)
    out = []
    for t, g in enumerate(grads, start=1):
        g = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g
        p = p - clr * g / (np.sqrt(s) + eps)
        out.append(p)
    return np.array(out)


@pytest.mark.parametrize("kw", [dict(), dict(lr_decay=0.5, weight_decay=0.1,
                                             initial_accumulator_value=0.3, eps=1e-3)], ids=str)
def test_adagrad_matches_the_published_rule(kw):
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(4)
    grads = list(rng.standard_normal((3, 4)))
    np.testing.assert_allclose(run(Adagrad, p0, grads, lr=0.1, **kw),
                               reference_adagrad(p0, grads, 0.1, **kw), rtol=1e-12)


def test_rmsprop_hand_computed():
    # A = 0.01 g^2 = 0.01, avg = 0.1: step lr * 1 / 0.1 = 0.1
    out = run(RMSprop, 1.0, [1.0, 1.0], lr=0.01)
    a2 = 0.99 * 0.01 + 0.01
    np.testing.assert_allclose(out, [1 - 0.01 / (0.1 + 1e-8), out[0] - 0.01 / (math.sqrt(a2) + 1e-8)],
                               rtol=1e-9)


def reference_rmsprop(p, grads, lr, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                      centered=False):
    a = np.zeros_like(p)
    ga = np.zeros_like(p)
    b = np.zeros_like(p)
    out = []
    for g in grads:
        g = g + weight_decay * p
        a = alpha * a + (1 - alpha) * g * g
        if centered:
            ga = alpha * ga + (1 - alpha) * g
            avg = np.sqrt(a - ga * ga) + eps
        else:
            avg = np.sqrt(a) + eps
        if momentum:
            b = momentum * b + g / avg
            p = p - lr * b
        else:
            p = p - lr * g / avg
        out.append(p)
    return np.array(out)


@pytest.mark.parametrize("kw", [dict(), dict(momentum=0.9), dict(centered=True, alpha=0.8),
                                dict(centered=True, momentum=0.5, weight_decay=0.1)], ids=str)
def test_rmsprop_matches_the_published_rule(kw):
    rng = np.random.default_rng(1)
    p0 = rng.standard_normal(4)
    grads = list(rng.standard_normal((3, 4)))
    np.testing.assert_allclose(run(RMSprop, p0, grads, lr=0.01, **kw),
                               reference_rmsprop(p0, grads, 0.01, **kw), rtol=1e-12)


def test_defaults_are_pytorchs():
    import compgraph as cg
    p = [cg.nn.Parameter(cg.ones(1))]
    assert Adagrad(p).defaults == dict(lr=1e-2, lr_decay=0, weight_decay=0,
                                       initial_accumulator_value=0, eps=1e-10, maximize=False)
    d = RMSprop(p).defaults
    assert (d["lr"], d["alpha"], d["eps"], d["momentum"], d["centered"]) == (1e-2, 0.99, 1e-8, 0, False)
