"""Adagrad and RMSprop, with PyTorch's defaults and formulas.

Adagrad:  g (+ wd p);  t += 1;  clr = lr / (1 + (t - 1) lr_decay);  S += g^2
          p = p - clr g / (sqrt(S) + eps)
RMSprop:  g (+ wd p);  A = alpha A + (1 - alpha) g^2
          centered: G = G + (1 - alpha)(g - G), avg = sqrt(A - G^2) + eps; else sqrt(A) + eps
          momentum: B = momentum B + g / avg, p = p - lr B;  else p = p - lr g / avg
"""
import numpy as np

from .optimizer import Optimizer, _check, _grad_shape_error


class Adagrad(Optimizer):
    _state_keys = ("step", "sum")

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        _check("learning rate", lr)
        _check("lr_decay", lr_decay)
        _check("weight_decay", weight_decay)
        _check("initial_accumulator_value", initial_accumulator_value)
        _check("epsilon", eps)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))
        # PyTorch creates the state up front, so state_dict() has it before any step
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = {"step": 0, "sum": np.full_like(
                    p._value, group["initial_accumulator_value"])}

    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, lr_decay, wd, eps = group["lr"], group["lr_decay"], group["weight_decay"], group["eps"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                v = p._value
                g = -p.grad._value if group["maximize"] else p.grad._value
                if g.shape != v.shape:     # NumPy would broadcast it silently
                    raise _grad_shape_error(self, p, g)
                state = self.state.setdefault(p, {"step": 0, "sum": np.full_like(
                    v, group["initial_accumulator_value"])})
                state["step"] += 1
                if wd:
                    g = g + wd * v
                clr = lr / (1 + (state["step"] - 1) * lr_decay)
                state["sum"] += g * g
                std = np.sqrt(state["sum"])
                std += eps
                v -= clr * (g / std)
        return loss


class RMSprop(Optimizer):
    _state_keys = ("step", "square_avg")
    _optional_state_keys = ("momentum_buffer", "grad_avg")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        _check("learning rate", lr)
        _check("epsilon", eps)
        _check("momentum", momentum)
        _check("weight_decay", weight_decay)
        _check("alpha", alpha)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            wd, momentum, centered = group["weight_decay"], group["momentum"], group["centered"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                v = p._value
                g = -p.grad._value if group["maximize"] else p.grad._value
                if g.shape != v.shape:     # NumPy would broadcast it silently
                    raise _grad_shape_error(self, p, g)
                state = self.state.get(p)
                if state is None:
                    state = self.state[p] = {"step": 0, "square_avg": np.zeros_like(v)}
                    if momentum > 0:
                        state["momentum_buffer"] = np.zeros_like(v)
                    if centered:
                        state["grad_avg"] = np.zeros_like(v)
                state["step"] += 1
                if wd:
                    g = g + wd * v
                sq = state["square_avg"]
                sq *= alpha
                sq += (1 - alpha) * (g * g)
                if centered:
                    ga = state["grad_avg"]
                    ga += (1 - alpha) * (g - ga)
                    avg = np.sqrt(sq - ga * ga)
                else:
                    avg = np.sqrt(sq)
                avg += eps
                if momentum > 0:
                    buf = state["momentum_buffer"]
                    buf *= momentum
                    buf += g / avg
                    v -= lr * buf
                else:
                    v -= lr * (g / avg)
        return loss
