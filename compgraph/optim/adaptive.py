"""Adamax, NAdam, RAdam and Adadelta, with PyTorch's defaults and formulas.

  g = grad (maximize: -grad), + wd p (L2; NAdam/RAdam decoupled: p *= 1 - lr wd first)
Adamax:   m = b1 m + (1 - b1) g;   u = max(b2 u, |g| + eps);   p -= lr / (1 - b1^t) m / u
NAdam:    mu_t = b1 (1 - 0.5 * 0.96^(t psi)),  psi = momentum_decay;  M_t = prod mu_1..mu_t
          m, v as Adam;  denom = sqrt(v / (1 - b2^t)) + eps
          p -= lr (1 - mu_t) / (1 - M_t) g / denom + lr mu_{t+1} / (1 - M_t mu_{t+1}) m / denom
RAdam:    m, v as Adam;  rho_inf = 2 / (1 - b2) - 1;  rho_t = rho_inf - 2 t b2^t / (1 - b2^t)
          mhat = m / (1 - b1^t);  if rho_t > 5:  p -= lr mhat r sqrt(1 - b2^t) / (sqrt(v) + eps)
          with r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t)),
          else p -= lr mhat (too few steps for the variance to be trusted)
Adadelta: A = rho A + (1 - rho) g^2;  d = sqrt(D + eps) / sqrt(A + eps) g
          D = rho D + (1 - rho) d^2;  p -= lr d
"""
import math

import numpy as np

from ..errors import ArgumentValueError
from .. import parallel
from .optimizer import Optimizer, _check, _check_betas, _grad_shape_error


def _grad(opt, p, maximize):
    """p's gradient array (negated for maximize), refusing one of another shape."""
    g = p._grad._value
    if g.shape != p._value.shape:     # NumPy would broadcast it silently
        raise _grad_shape_error(opt, p, g)
    return -g if maximize else g


def _updates(opt, group, arrays, **scalars):
    """(value, gradient, state) for each parameter of `group` that has a gradient: the
    gradient negated for maximize and with weight decay applied (decoupled: the value
    shrinks instead), the state made on first use (`arrays` as zeros like the value, plus
    `scalars`) and its step counted.  The part the four update rules below share."""
    lr, wd = group["lr"], group["weight_decay"]
    decoupled = group.get("decoupled_weight_decay", False)
    for p in group["params"]:
        if p._grad is None:
            continue
        v = p._value
        g = _grad(opt, p, group["maximize"])
        state = opt.state.get(p)
        if state is None:
            state = opt.state[p] = {"step": 0, **scalars, **{k: np.zeros_like(v) for k in arrays}}
        state["step"] += 1
        if wd:
            if decoupled:
                v *= 1 - lr * wd
            else:
                g = g + wd * v
        yield v, g, state


class Adamax(Optimizer):
    """Adam with the infinity norm in place of the second moment."""
    _state_keys = ("step", "exp_avg", "exp_inf")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        _check("learning rate", lr)
        _check("epsilon", eps)
        _check("weight_decay", weight_decay)
        super().__init__(params, dict(lr=lr, betas=_check_betas(betas), eps=eps,
                                      weight_decay=weight_decay, maximize=maximize))

    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            for v, g, state in _updates(self, group, ("exp_avg", "exp_inf")):
                m, u = state["exp_avg"], state["exp_inf"]
                m += (1 - beta1) * (g - m)
                u *= beta2
                np.maximum(u, np.abs(g) + eps, out=u)
                v -= (lr / (1 - beta1 ** state["step"])) * (m / u)
        return loss


class NAdam(Optimizer):
    """Adam with Nesterov momentum and PyTorch's momentum-decay schedule (Dozat, 2016)."""
    _state_keys = ("step", "mu_product", "exp_avg", "exp_avg_sq")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        _check("learning rate", lr)
        _check("epsilon", eps)
        _check("weight_decay", weight_decay)
        _check("momentum_decay", momentum_decay)
        super().__init__(params, dict(lr=lr, betas=_check_betas(betas), eps=eps,
                                      weight_decay=weight_decay, momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize))

    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            psi = group["momentum_decay"]
            for v, g, state in _updates(self, group, ("exp_avg", "exp_avg_sq"), mu_product=1.0):
                t = state["step"]
                mu = beta1 * (1 - 0.5 * 0.96 ** (t * psi))
                mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
                mu_product = state["mu_product"] = float(state["mu_product"]) * mu
                m, s = state["exp_avg"], state["exp_avg_sq"]
                m += (1 - beta1) * (g - m)
                s *= beta2
                s += (1 - beta2) * (g * g)
                denom = np.sqrt(s / (1 - beta2 ** t))
                denom += eps
                v -= (lr * (1 - mu) / (1 - mu_product)) * (g / denom)
                v -= (lr * mu_next / (1 - mu_product * mu_next)) * (m / denom)
        return loss


class RAdam(Optimizer):
    """Adam whose adaptive step is switched in, rectified, once the second moment's
    variance is tractable (Liu et al., 2019); SGD with momentum before that."""
    _state_keys = ("step", "exp_avg", "exp_avg_sq")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        _check("learning rate", lr)
        _check("epsilon", eps)
        _check("weight_decay", weight_decay)
        super().__init__(params, dict(lr=lr, betas=_check_betas(betas), eps=eps,
                                      weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize))

    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            rho_inf = 2 / (1 - beta2) - 1
            for v, g, state in _updates(self, group, ("exp_avg", "exp_avg_sq")):
                t = state["step"]
                m, s = state["exp_avg"], state["exp_avg_sq"]
                m += (1 - beta1) * (g - m)
                s *= beta2
                s += (1 - beta2) * (g * g)
                bc2 = 1 - beta2 ** t
                m_hat = m / (1 - beta1 ** t)
                rho_t = rho_inf - 2 * t * beta2 ** t / bc2
                if rho_t > 5.0:
                    rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                                     / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                    denom = np.sqrt(s)
                    denom += eps
                    v -= (lr * rect * math.sqrt(bc2)) * (m_hat / denom)
                else:
                    v -= lr * m_hat
        return loss


class Adadelta(Optimizer):
    """Steps scaled by the ratio of running RMS of updates to that of gradients (Zeiler)."""
    _state_keys = ("step", "square_avg", "acc_delta")

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        _check("learning rate", lr)
        _check("epsilon", eps)
        _check("weight_decay", weight_decay)
        if not 0.0 <= rho <= 1.0:
            raise ArgumentValueError(f"Invalid rho value: {rho}")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, rho, eps = group["lr"], group["rho"], group["eps"]
            update = _adadelta_update(lr, rho, eps)
            # elementwise, so the parameters' elements may be cut over the intra-op threads
            parallel.foreach([(update, (v, g, state["square_avg"], state["acc_delta"]))
                              for v, g, state in _updates(self, group,
                                                          ("square_avg", "acc_delta"))],
                             passes=14)
        return loss


def _adadelta_update(lr, rho, eps):
    """The in-place update of one parameter (or a flat slice of it and of its state)."""
    def update(v, g, sq, acc):
        # the same arithmetic in place through one scratch array (two fresh arrays per
        # parameter instead of eight; out= needs arrays, not the scalars that 0-d operands
        # give)
        scratch = np.multiply(g, g, out=np.empty_like(sq))
        scratch *= 1 - rho
        sq *= rho
        sq += scratch
        delta = np.add(acc, eps, out=np.empty_like(acc))
        np.sqrt(delta, out=delta)
        np.add(sq, eps, out=scratch)
        np.sqrt(scratch, out=scratch)
        delta /= scratch
        delta *= g
        acc *= rho
        np.multiply(delta, delta, out=scratch)
        scratch *= 1 - rho
        acc += scratch
        delta *= lr
        v -= delta
    return update
