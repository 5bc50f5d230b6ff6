"""LinearLR, CosineAnnealingWarmRestarts, OneCycleLR and ReduceLROnPlateau against their
closed forms and hand-traced metric sequences."""
import math

import numpy as np
import pytest

import compgraph as cg
import compgraph.nn as nn
from compgraph import io
from compgraph.optim import SGD, Adam, lr_scheduler

from .helpers import is_plain
from .test_optim_lr_scheduler import _opt, _rates


def test_linear_lr_closed_form_and_errors():
    s = lr_scheduler.LinearLR(_opt(groups=2), start_factor=0.25, end_factor=0.75, total_iters=4)
    rates = _rates(s, 7)
    factors = [0.25 + 0.5 * min(e, 4) / 4 for e in range(8)]
    np.testing.assert_allclose(rates[:, 0], [0.5 * f for f in factors], rtol=1e-12)
    np.testing.assert_allclose(rates[:, 1], [1.0 * f for f in factors], rtol=1e-12)
    default = _rates(lr_scheduler.LinearLR(_opt()), 6)[:, 0]
    np.testing.assert_allclose(default, [0.5 * (1 / 3 + 2 / 3 * min(e, 5) / 5) for e in range(7)],
                               rtol=1e-12)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        lr_scheduler.LinearLR(_opt(), start_factor=0)
    with pytest.raises(ValueError, match="Ending multiplicative factor"):
        lr_scheduler.LinearLR(_opt(), end_factor=1.5)


def _sgdr(e, T_0, T_mult, base, lo):
    t_i, t = T_0, e
    while t >= t_i:
        t -= t_i
        t_i *= T_mult
    return lo + (base - lo) * (1 + math.cos(math.pi * t / t_i)) / 2


@pytest.mark.parametrize("T_0,T_mult,eta_min", [(3, 1, 0.0), (2, 2, 0.01), (1, 3, 0.1)])
def test_cosine_warm_restarts_follow_sgdr(T_0, T_mult, eta_min):
    s = lr_scheduler.CosineAnnealingWarmRestarts(_opt(), T_0, T_mult, eta_min)
    rates = _rates(s, 20)[:, 0]
    np.testing.assert_allclose(rates, [_sgdr(e, T_0, T_mult, 0.5, eta_min) for e in range(21)],
                               rtol=1e-12, atol=1e-15)
    # fractional epochs, as step(epoch + i / iters) is used within an epoch
    s = lr_scheduler.CosineAnnealingWarmRestarts(_opt(), T_0, T_mult, eta_min)
    for e in [0.5, 1.25, 2.75, 6.1, 13.9]:
        s.step(e)
        assert s.get_last_lr()[0] == pytest.approx(_sgdr(e, T_0, T_mult, 0.5, eta_min), abs=1e-12)
        assert s.last_epoch == math.floor(e)


def test_cosine_warm_restarts_hand_values_and_errors():
    s = lr_scheduler.CosineAnnealingWarmRestarts(_opt(lr=1.0), T_0=2, T_mult=2)
    # periods 2, 4, 8: restarts at epochs 2 and 6
    np.testing.assert_allclose(_rates(s, 7)[:, 0], [1, 0.5, 1, 1 - 0.5 * (1 - math.cos(math.pi / 4)),
                                                    0.5, 0.5 * (1 + math.cos(3 * math.pi / 4)), 1,
                                                    0.5 * (1 + math.cos(math.pi / 8))],
                               atol=1e-12)
    with pytest.raises(ValueError, match="positive integer T_0"):
        lr_scheduler.CosineAnnealingWarmRestarts(_opt(), T_0=0)
    with pytest.raises(ValueError, match="integer T_mult >= 1"):
        lr_scheduler.CosineAnnealingWarmRestarts(_opt(), T_0=2, T_mult=0)
    with pytest.raises(ValueError, match="non-negative epoch"):
        s.step(-1)


def _one_cycle(step, total, max_lr, pct, div, final_div, strategy):
    anneal = ((lambda a, b, p: b + (a - b) / 2 * (math.cos(math.pi * p) + 1)) if strategy == "cos"
              else (lambda a, b, p: a + (b - a) * p))
    lo, hi = max_lr / div, max_lr
    peak = pct * total - 1
    if step <= peak:
        return anneal(lo, hi, step / peak)
    return anneal(hi, lo / final_div, (step - peak) / (total - 1 - peak))


@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_one_cycle_rises_to_max_lr_and_anneals_to_the_floor(strategy):
    s = lr_scheduler.OneCycleLR(_opt(), max_lr=2.0, total_steps=21, pct_start=0.4,
                                anneal_strategy=strategy, div_factor=10, final_div_factor=100)
    rates = _rates(s, 20)[:, 0]
    np.testing.assert_allclose(rates, [_one_cycle(e, 21, 2.0, 0.4, 10, 100, strategy)
                                       for e in range(21)], rtol=1e-12)
    assert rates[0] == pytest.approx(0.2) and rates[-1] == pytest.approx(0.002)
    # the peak is at step pct_start * total - 1 = 7.4, between steps 7 and 8
    assert rates.argmax() in (7, 8) and rates.max() < 2.0
    with pytest.raises(ValueError, match="Tried to step 22 times"):
        s.step()
        s.step()


def test_one_cycle_momentum_cycling_epochs_three_phase_and_errors():
    p = nn.Parameter(cg.ones(1))
    sgd = SGD([p], lr=0.1, momentum=0.9)
    s = lr_scheduler.OneCycleLR(sgd, max_lr=1.0, epochs=2, steps_per_epoch=5)
    assert s.total_steps == 10
    moms = [sgd.param_groups[0]["momentum"]]
    for _ in range(9):
        sgd.step()
        s.step()
        moms.append(sgd.param_groups[0]["momentum"])
    # momentum goes the other way: max 0.95 at the start and end, base 0.85 at the peak (step 2)
    assert moms[0] == pytest.approx(0.95) and moms[2] == pytest.approx(0.85)
    assert moms[-1] == pytest.approx(0.95)
    adam = Adam([nn.Parameter(cg.ones(1))], lr=0.1, betas=(0.9, 0.99))
    lr_scheduler.OneCycleLR(adam, max_lr=1.0, total_steps=10, base_momentum=0.8, max_momentum=0.9)
    assert adam.param_groups[0]["betas"] == (0.9, 0.99)
    three = lr_scheduler.OneCycleLR(_opt(), max_lr=1.0, total_steps=20, three_phase=True,
                                    cycle_momentum=False)
    rates = _rates(three, 19)[:, 0]
    # up over 0..5, back down to the start over 6..10, then to the floor
    assert rates[5] == pytest.approx(1.0) and rates[10] == pytest.approx(0.04)
    assert rates[-1] == pytest.approx(0.04 / 1e4)
    with pytest.raises(ValueError, match="total_steps OR"):
        lr_scheduler.OneCycleLR(_opt(), max_lr=1.0)
    with pytest.raises(ValueError, match="anneal_strategy"):
        lr_scheduler.OneCycleLR(_opt(), max_lr=1.0, total_steps=5, anneal_strategy="exp")


def _plateau(sched, metrics):
    out = []
    for m in metrics:
        sched.optimizer.step()
        sched.step(m)
        out.append(sched.get_last_lr()[0])
    return out


def test_reduce_on_plateau_waits_patience_epochs_then_cuts():
    s = lr_scheduler.ReduceLROnPlateau(_opt(lr=1.0), patience=2, factor=0.5)
    # best 1.0 at epoch 1; epochs 2, 3 are bad (2 <= patience), epoch 4 makes 3 > 2: cut
    rates = _plateau(s, [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5])
    assert rates == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25]
    # relative threshold: 0.49995 is not better than 0.5 * (1 - 1e-4)
    s = lr_scheduler.ReduceLROnPlateau(_opt(lr=1.0), patience=0)
    assert _plateau(s, [0.5, 0.49996, 0.4]) == [1.0, 0.1, 0.1]


def test_reduce_on_plateau_max_mode_abs_threshold_cooldown_and_min_lr():
    s = lr_scheduler.ReduceLROnPlateau(_opt(lr=1.0), mode="max", patience=0, factor=0.5,
                                       threshold=0.1, threshold_mode="abs", cooldown=2,
                                       min_lr=0.2)
    # 1.05 is not better than 1.0 + 0.1: cut; two cooldown epochs that cannot cut; cut at
    # the first bad epoch after; 2.0 improves (no cut, cooldown), 2.0 again does not (the
    # last cooldown epoch), and the next cut stops at min_lr
    rates = _plateau(s, [1.0, 1.05, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0])
    assert rates == [1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2]
    assert s.best == 2.0
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        lr_scheduler.ReduceLROnPlateau(_opt(), factor=1.0)
    with pytest.raises(ValueError, match="mode avg is unknown"):
        lr_scheduler.ReduceLROnPlateau(_opt(), mode="avg")
    with pytest.raises(ValueError, match="threshold mode x is unknown"):
        lr_scheduler.ReduceLROnPlateau(_opt(), threshold_mode="x")
    with pytest.raises(ValueError, match="expected 2 min_lrs"):
        lr_scheduler.ReduceLROnPlateau(_opt(groups=2), min_lr=[0.1])


def test_reduce_on_plateau_takes_tensor_metrics_and_round_trips(tmp_path):
    s = lr_scheduler.ReduceLROnPlateau(_opt(lr=1.0), patience=1)
    _plateau(s, [cg.tensor(1.0), cg.tensor(2.0)])
    sd = s.state_dict()
    assert is_plain(sd) and sd["num_bad_epochs"] == 1 and sd["best"] == 1.0
    io.save(sd, tmp_path / "s")
    t = lr_scheduler.ReduceLROnPlateau(_opt(lr=1.0), patience=1)
    t.load_state_dict(io.load(tmp_path / "s"))
    assert _plateau(t, [2.0]) == [0.1]


@pytest.mark.parametrize("make", [
    lambda o: lr_scheduler.LinearLR(o, total_iters=3),
    lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, 2, 2),
    lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=12),
])
def test_state_dict_round_trip_continues_the_schedule(make, tmp_path):
    s = make(_opt())
    _rates(s, 4)
    sd = s.state_dict()
    assert is_plain(sd)
    io.save(sd, tmp_path / "s")
    fresh_opt = _opt()
    t = make(fresh_opt)                      # the resume order: build both, then load both
    fresh_opt.load_state_dict(s.optimizer.state_dict())
    t.load_state_dict(io.load(tmp_path / "s"))
    np.testing.assert_allclose(_rates(t, 5), _rates(s, 5), rtol=1e-12)
