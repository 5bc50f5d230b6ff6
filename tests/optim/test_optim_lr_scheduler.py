"""Learning-rate schedules against their formulas."""
import math
import warnings

import numpy as np
import pytest

import compgraph as cg
import compgraph.nn as nn
from compgraph.optim import SGD, lr_scheduler


def _opt(lr=0.5, groups=1):
    return SGD([{"params": [nn.Parameter(cg.ones(1))], "lr": lr * (k + 1)} for k in range(groups)])


def _rates(sched, n):
    out = [sched.get_last_lr()]
    for _ in range(n):
        sched.optimizer.step()
        sched.step()
        out.append(sched.get_last_lr())
    return np.array(out)


def test_step_lr():
    s = lr_scheduler.StepLR(_opt(), step_size=3, gamma=0.1)
    rates = _rates(s, 9)[:, 0]
    np.testing.assert_allclose(rates, [0.5 * 0.1 ** (e // 3) for e in range(10)], rtol=1e-12)
    assert s.optimizer.param_groups[0]["lr"] == rates[-1]


def test_multi_step_lr():
    s = lr_scheduler.MultiStepLR(_opt(), milestones=[2, 5], gamma=0.5)
    np.testing.assert_allclose(_rates(s, 6)[:, 0], [0.5, 0.5, 0.25, 0.25, 0.25, 0.125, 0.125])


def test_exponential_lr_for_each_group():
    s = lr_scheduler.ExponentialLR(_opt(groups=2), gamma=0.9)
    rates = _rates(s, 5)
    np.testing.assert_allclose(rates[:, 0], [0.5 * 0.9 ** e for e in range(6)], rtol=1e-12)
    np.testing.assert_allclose(rates[:, 1], [1.0 * 0.9 ** e for e in range(6)], rtol=1e-12)


def test_cosine_annealing_follows_the_closed_form_and_continues_past_t_max():
    T, lo = 6, 0.05
    s = lr_scheduler.CosineAnnealingLR(_opt(), T_max=T, eta_min=lo)
    rates = _rates(s, 2 * T + 3)[:, 0]
    closed = [lo + (0.5 - lo) * (1 + math.cos(math.pi * e / T)) / 2 for e in range(2 * T + 4)]
    np.testing.assert_allclose(rates, closed, rtol=1e-9, atol=1e-12)
    assert rates[T] == pytest.approx(lo) and rates[2 * T] == pytest.approx(0.5)


def test_lambda_lr_with_one_function_per_group():
    s = lr_scheduler.LambdaLR(_opt(groups=2), [lambda e: 1 / (e + 1), lambda e: 0.5 ** e])
    rates = _rates(s, 4)
    np.testing.assert_allclose(rates[:, 0], [0.5 / (e + 1) for e in range(5)])
    np.testing.assert_allclose(rates[:, 1], [1.0 * 0.5 ** e for e in range(5)])
    with pytest.raises(ValueError):
        lr_scheduler.LambdaLR(_opt(groups=2), [lambda e: 1])


def test_state_dict_round_trip_and_plain_data():
    from .helpers import is_plain
    s = lr_scheduler.StepLR(_opt(), step_size=2, gamma=0.5)
    _rates(s, 3)
    sd = s.state_dict()
    assert is_plain(sd) and "optimizer" not in sd and sd["last_epoch"] == 3
    opt = _opt()
    opt.param_groups[0]["initial_lr"] = 0.5
    t = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    t.load_state_dict(sd)
    opt.param_groups[0]["lr"] = s.optimizer.param_groups[0]["lr"]
    np.testing.assert_allclose(_rates(t, 3)[1:, 0], _rates(s, 3)[1:, 0])
    lam = lr_scheduler.LambdaLR(_opt(), lambda e: 1.0)
    assert lam.state_dict()["lr_lambdas"] == [None]


def test_step_with_an_epoch_uses_the_closed_form():
    s = lr_scheduler.ExponentialLR(_opt(), gamma=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s.step(3)
    assert s.get_last_lr() == [0.5 * 0.5 ** 3]


def test_resuming_needs_initial_lr():
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(_opt(), step_size=1, last_epoch=4)


@pytest.mark.parametrize("make, needle", [
    (lambda o: lr_scheduler.StepLR(o, step_size=0), "step_size must not be 0"),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=0), "T_max must not be 0"),
])
def test_periods_of_zero_are_refused_when_made(make, needle):
    with pytest.raises(ValueError, match=needle) as info:
        make(_opt())
    assert isinstance(info.value, cg.CompgraphError)


def test_what_pytorch_accepts_is_accepted():
    # PyTorch takes these without complaint (a sign-flipping or negative schedule)
    for s in (lr_scheduler.ExponentialLR(_opt(), gamma=-1),
              lr_scheduler.StepLR(_opt(), step_size=-1),
              lr_scheduler.CosineAnnealingLR(_opt(), T_max=-1)):
        _rates(s, 3)
    assert _rates(lr_scheduler.ExponentialLR(_opt(), gamma=-1), 2)[-1, 0] == pytest.approx(0.5)
