"""SmoothL1Loss, HuberLoss and KLDivLoss: values against NumPy formulas for every
reduction, gradients by finite differences, and the refusals."""
import warnings

import numpy as np
import pytest

import compgraph as cg
import compgraph.nn as nn
import compgraph.nn.functional as F
from compgraph.errors import ArgumentError, ShapeError

from .helpers import randn


def _reduce(per, reduction):
    return {"none": per, "sum": per.sum(), "mean": per.mean()}[reduction]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("beta", [1.0, 0.5, 0.0])
def test_smooth_l1_and_huber_match_their_formulas(reduction, beta):
    x, t = randn(4, 5) * 2, randn(4, 5, seed=1)
    d = np.abs(x._value - t._value)
    if beta:
        sl1 = np.where(d < beta, 0.5 * d ** 2 / beta, d - 0.5 * beta)
        hub = np.where(d < beta, 0.5 * d ** 2, beta * (d - 0.5 * beta))
        np.testing.assert_allclose(nn.HuberLoss(reduction, delta=beta)(x, t)._value,
                                   _reduce(hub, reduction), rtol=1e-12)
        np.testing.assert_allclose(F.huber_loss(x, t, reduction, beta)._value,
                                   _reduce(hub, reduction), rtol=1e-12)
    else:
        sl1 = d
    np.testing.assert_allclose(nn.SmoothL1Loss(reduction=reduction, beta=beta)(x, t)._value,
                               _reduce(sl1, reduction), rtol=1e-12)
    np.testing.assert_allclose(F.smooth_l1_loss(x, t, reduction=reduction, beta=beta)._value,
                               _reduce(sl1, reduction), rtol=1e-12)


def test_smooth_l1_and_huber_hand_values_and_gradients():
    x, t = cg.tensor([0.5, 3.0]), cg.tensor([0.0, 0.0])
    assert F.smooth_l1_loss(x, t, reduction="sum").item() == pytest.approx(0.125 + 2.5)
    assert F.huber_loss(x, t, reduction="sum", delta=2.0).item() == pytest.approx(0.125 + 4.0)
    # inputs away from the |d| = beta kink
    x, t = randn(3, 4, requires_grad=True) * 1, randn(3, 4, seed=3)
    x = cg.tensor(np.where(np.abs(np.abs(x._value - t._value) - 0.7) < 0.05, 2.0, x._value),
                  requires_grad=True)
    assert cg.gradcheck(lambda a: F.smooth_l1_loss(a, t, beta=0.7), [x])
    assert cg.gradcheck(lambda a: F.huber_loss(a, t, delta=0.7), [x])
    with pytest.raises(ShapeError, match="does not broadcast"):   # (4, 1) and (4,) broadcast, warned
        F.smooth_l1_loss(cg.ones(4, 2), cg.ones(3))
    with pytest.raises(ArgumentError, match="beta must be non-negative"):
        F.smooth_l1_loss(cg.ones(2), cg.ones(2), beta=-1.0)
    with pytest.raises(ArgumentError, match="reduction"):
        nn.HuberLoss(reduction="avg")


def _kl_ref(logp, target, log_target):
    if log_target:
        return np.exp(target) * (target - logp)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(target > 0, target * (np.log(target) - logp), 0.0)


@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none", "mean"])
def test_kl_div_matches_the_formula(reduction, log_target):
    rng = np.random.default_rng(0)
    logp = np.log(rng.dirichlet(np.ones(4), size=3))
    target = rng.dirichlet(np.ones(4), size=3)
    target[0, 1] = 0.0
    target = np.log(target + 0.01) if log_target else target
    per = _kl_ref(logp, target, log_target)
    expected = {"none": per, "sum": per.sum(), "mean": per.mean(), "batchmean": per.sum() / 3}[reduction]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = nn.KLDivLoss(reduction=reduction, log_target=log_target)(cg.tensor(logp),
                                                                       cg.tensor(target))
    np.testing.assert_allclose(out._value, expected, rtol=1e-12)
    assert any("batchmean" in str(w.message) for w in caught) == (reduction == "mean")


def test_kl_div_gradients_zero_targets_and_errors():
    rng = np.random.default_rng(1)
    logp = cg.tensor(np.log(rng.dirichlet(np.ones(3), size=2)), requires_grad=True)
    t = rng.dirichlet(np.ones(3), size=2)
    t[1, 2] = 0.0
    target = cg.tensor(t, requires_grad=True)
    loss = F.kl_div(logp, target, reduction="batchmean")
    loss.backward()
    assert np.isfinite(target.grad._value).all()          # no NaN from log(0)
    np.testing.assert_allclose(logp.grad._value, -t / 2, rtol=1e-12)
    assert cg.gradcheck(lambda a: F.kl_div(a, cg.tensor(t), reduction="sum"), [logp])
    assert cg.gradcheck(lambda a, b: F.kl_div(a, b, reduction="batchmean", log_target=True),
                        [logp, cg.tensor(np.log(t + 0.1), requires_grad=True)])
    with pytest.raises(ArgumentError, match="'batchmean'"):
        F.kl_div(logp, target, reduction="avg")
    with pytest.raises(ShapeError, match="do not broadcast"):
        F.kl_div(cg.ones(2, 3), cg.ones(2, 4))
