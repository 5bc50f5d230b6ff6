"""Adamax, NAdam, RAdam and Adadelta against hand-computed steps and their published rules
(written out here with NumPy), PyTorch's defaults, and state_dict round trips."""
import math

import numpy as np
import pytest

import compgraph as cg
import compgraph.nn as nn
from compgraph import io
from compgraph.errors import ArgumentError
from compgraph.optim import Adadelta, Adamax, NAdam, RAdam

from .helpers import is_plain, run
from .test_optim_optimizer import _steps, _train


def _grads(seed=0, steps=8):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(4), list(rng.standard_normal((steps, 4)))


# --- Adamax ----------------------------------------------------------------------------------

def test_adamax_hand_computed():
    # t=1: m = 0.1 g = 0.2, u = max(0, 2 + eps), step lr / 0.1 * 0.2 / 2 = lr
    # t=2: g = -1: m = 0.18 - 0.1 = 0.08, u = max(0.999 * 2, 1) = 1.998, step lr / 0.19 * 0.08 / 1.998
    out = run(Adamax, 1.0, [2.0, -1.0], lr=0.1, eps=0.0)
    np.testing.assert_allclose(out, [0.9, 0.9 - 0.1 / 0.19 * 0.08 / 1.998], rtol=1e-12)


def reference_adamax(p, grads, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                     maximize=False):
    b1, b2 = betas
    m, u, out = np.zeros_like(p), np.zeros_like(p), []
    for t, g in enumerate(grads, start=1):
        g = (-g if maximize else g) + weight_decay * p
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g) + eps)
        p = p - lr / (1 - b1 ** t) * m / u
        out.append(p)
    return np.array(out)


# --- NAdam -----------------------------------------------------------------------------------

def test_nadam_hand_computed_first_step():
    # t=1, g=2: mu1 = 0.9 (1 - 0.5 * 0.96^0.004), mu2 = 0.9 (1 - 0.5 * 0.96^0.008)
    # m = 0.2, v = 0.004, denom = sqrt(0.004 / 0.001) = 2
    mu1 = 0.9 * (1 - 0.5 * 0.96 ** 0.004)
    mu2 = 0.9 * (1 - 0.5 * 0.96 ** 0.008)
    step = 0.1 * (1 - mu1) / (1 - mu1) * 2 / 2 + 0.1 * mu2 / (1 - mu1 * mu2) * 0.2 / 2
    np.testing.assert_allclose(run(NAdam, 1.0, [2.0], lr=0.1, eps=0.0), [1 - step], rtol=1e-12)


def reference_nadam(p, grads, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                    momentum_decay=4e-3, decoupled_weight_decay=False):
    b1, b2 = betas
    m, v, prod, out = np.zeros_like(p), np.zeros_like(p), 1.0, []
    for t, g in enumerate(grads, start=1):
        if decoupled_weight_decay:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        prod *= mu
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        denom = np.sqrt(v / (1 - b2 ** t)) + eps
        p = p - lr * (1 - mu) / (1 - prod) * g / denom - lr * mu_next / (1 - prod * mu_next) * m / denom
        out.append(p)
    return np.array(out)


# --- RAdam -----------------------------------------------------------------------------------

def test_radam_hand_computed_warmup_then_rectified():
    # beta2 = 0.5: rho_inf = 3 < 5, never rectified: p -= lr * m / (1 - b1^t) (momentum SGD)
    out = run(RAdam, 1.0, [2.0, 2.0], lr=0.1, betas=(0.5, 0.5))
    np.testing.assert_allclose(out, [0.8, 0.6], rtol=1e-12)
    # beta2 = 0.999: rho_t = rho_inf - 2 t b2^t / (1 - b2^t) passes 5 at t = 6
    rho_inf = 2 / 0.001 - 1
    rho = [rho_inf - 2 * t * 0.999 ** t / (1 - 0.999 ** t) for t in range(1, 8)]
    assert [r > 5 for r in rho] == [False] * 5 + [True] * 2


def reference_radam(p, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                    decoupled_weight_decay=False):
    b1, b2 = betas
    m, v, out = np.zeros_like(p), np.zeros_like(p), []
    rho_inf = 2 / (1 - b2) - 1
    for t, g in enumerate(grads, start=1):
        if decoupled_weight_decay:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** t)
        rho_t = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
        if rho_t > 5:
            r = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            p = p - lr * m_hat * r / ((np.sqrt(v) + eps) / math.sqrt(1 - b2 ** t))
        else:
            p = p - lr * m_hat
        out.append(p)
    return np.array(out)


# --- Adadelta --------------------------------------------------------------------------------

def test_adadelta_hand_computed():
    # rho = 0.5, eps = 1: A = 0.5 * 4 = 2, d = sqrt(0 + 1) / sqrt(2 + 1) * 2, D = 0.5 d^2
    d1 = 2 / math.sqrt(3)
    a2 = 0.5 * 2 + 0.5 * 4
    d2 = math.sqrt(0.5 * d1 ** 2 + 1) / math.sqrt(a2 + 1) * 2
    out = run(Adadelta, 1.0, [2.0, 2.0], lr=0.5, rho=0.5, eps=1.0)
    np.testing.assert_allclose(out, [1 - 0.5 * d1, 1 - 0.5 * d1 - 0.5 * d2], rtol=1e-12)


def reference_adadelta(p, grads, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False):
    a, acc, out = np.zeros_like(p), np.zeros_like(p), []
    for g in grads:
        g = (-g if maximize else g) + weight_decay * p
        a = rho * a + (1 - rho) * g * g
        d = np.sqrt(acc + eps) / np.sqrt(a + eps) * g
        acc = rho * acc + (1 - rho) * d * d
        p = p - lr * d
        out.append(p)
    return np.array(out)


CASES = [
    (Adamax, reference_adamax, dict()),
    (Adamax, reference_adamax, dict(lr=0.1, betas=(0.5, 0.9), weight_decay=0.1, maximize=True)),
    (NAdam, reference_nadam, dict()),
    (NAdam, reference_nadam, dict(lr=0.1, weight_decay=0.1, momentum_decay=0.1)),
    (NAdam, reference_nadam, dict(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True)),
    (RAdam, reference_radam, dict()),
    (RAdam, reference_radam, dict(lr=0.1, betas=(0.9, 0.9), weight_decay=0.1)),
    (RAdam, reference_radam, dict(lr=0.1, betas=(0.8, 0.7), weight_decay=0.1,
                                  decoupled_weight_decay=True)),
    (Adadelta, reference_adadelta, dict()),
    (Adadelta, reference_adadelta, dict(lr=0.5, rho=0.5, eps=1e-3, weight_decay=0.1, maximize=True)),
]


@pytest.mark.parametrize("opt_cls,ref,kw", CASES, ids=lambda v: getattr(v, "__name__", str(v)))
def test_matches_the_published_rule(opt_cls, ref, kw):
    p0, grads = _grads(steps=10)
    np.testing.assert_allclose(run(opt_cls, p0, grads, **kw), ref(p0, grads, **kw), rtol=1e-12)


def test_defaults_are_pytorchs_and_bad_options_are_refused():
    p = [nn.Parameter(cg.ones(1))]
    assert Adamax(p).defaults == dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                                      maximize=False)
    assert NAdam(p).defaults == dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                                     momentum_decay=4e-3, decoupled_weight_decay=False,
                                     maximize=False)
    assert RAdam(p).defaults == dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                                     decoupled_weight_decay=False, maximize=False)
    assert Adadelta(p).defaults == dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.0"):
        NAdam(p, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Invalid rho value: 1.5"):
        Adadelta(p, rho=1.5)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        RAdam(p, lr=-1)
    with pytest.raises(ArgumentError, match="pair"):
        Adamax(p, betas=0.9)


@pytest.mark.parametrize("opt_cls,kw", [
    (Adamax, dict(lr=0.01)), (NAdam, dict(lr=0.01, weight_decay=0.01)),
    (RAdam, dict(lr=0.01)), (Adadelta, dict(lr=0.5)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_state_dict_round_trip_continues_exactly(opt_cls, kw, tmp_path):
    cg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    opt = _train(opt_cls, model, 7, seed=1, **kw)            # past RAdam's warm-up
    sd = opt.state_dict()
    assert is_plain(sd) and sorted(sd["state"]) == [0, 1, 2, 3]
    assert sorted(sd["state"][0]) == sorted(opt_cls._state_keys)
    io.save({"model": model.state_dict(), "opt": sd}, tmp_path / "ckpt")
    clone = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    restored = opt_cls(clone.parameters(), **{**kw, "lr": 123.0})
    ck = io.load(tmp_path / "ckpt")
    clone.load_state_dict(ck["model"])
    restored.load_state_dict(ck["opt"])
    assert restored.param_groups[0]["lr"] == kw["lr"]
    _steps(model, opt, 3, seed=2)
    _steps(clone, restored, 3, seed=2)
    for p, q in zip(model.parameters(), clone.parameters()):
        np.testing.assert_array_equal(p._value, q._value)
    with pytest.raises(ValueError, match="another optimizer"):
        other = Adadelta if opt_cls is not Adadelta else Adamax
        other(clone.parameters()).load_state_dict({**sd, "param_groups": [
            {**sd["param_groups"][0], **other(clone.parameters()).defaults,
             "params": sd["param_groups"][0]["params"]}]})
