"""Adam and AdamW, with PyTorch's formulas (bias-corrected moments, eps outside the root):

  g = grad (maximize: -grad);  Adam's weight_decay adds wd * p to g (L2),
  AdamW's multiplies p by (1 - lr * wd) first (decoupled decay, Loshchilov & Hutter)
  m = m + (1 - beta1) (g - m);   v = beta2 v + (1 - beta2) g^2;   t += 1
  amsgrad: vmax = max(vmax, v) and vmax replaces v below
  p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
"""
import math

import numpy as np

from .. import parallel
from .optimizer import Optimizer, _check, _check_betas, _grad_shape_error


class Adam(Optimizer):
    _state_keys = ("step", "exp_avg", "exp_avg_sq")
    _optional_state_keys = ("max_exp_avg_sq",)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        _check("learning rate", lr)
        _check("epsilon", eps)
        _check("weight_decay", weight_decay)
        super().__init__(params, dict(lr=lr, betas=_check_betas(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def step(self, closure=None):
        loss = self._closure(closure)
        tasks = []                  # (update, arrays) per parameter, run together below
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            wd, amsgrad, maximize = group["weight_decay"], group["amsgrad"], group["maximize"]
            decoupled = group["decoupled_weight_decay"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                v = p._value
                g = p._grad._value
                if g.shape != v.shape:     # NumPy would broadcast it silently
                    raise _grad_shape_error(self, p, g)
                if maximize:
                    g = -g
                state = self.state.get(p)
                if state is None:
                    state = self.state[p] = {"step": 0, "exp_avg": np.zeros_like(v),
                                             "exp_avg_sq": np.zeros_like(v)}
                    if amsgrad:
                        state["max_exp_avg_sq"] = np.zeros_like(v)
                if wd and not decoupled:
                    g = g + wd * v
                state["step"] += 1
                t = state["step"]
                arrays = (v, g, state["exp_avg"], state["exp_avg_sq"])
                if amsgrad:
                    arrays += (state["max_exp_avg_sq"],)
                tasks.append((_adam_update(1 - lr * wd if wd and decoupled else None,
                                           beta1, beta2, lr / (1 - beta1 ** t),
                                           math.sqrt(1 - beta2 ** t), eps), arrays))
        # elementwise, so the parameters' elements may be cut over the intra-op threads
        parallel.foreach(tasks, passes=12)
        return loss


def _adam_update(decay, beta1, beta2, step_size, bias2_root, eps):
    """The in-place update of one parameter (or a flat slice of it and of its state)."""
    def update(v, g, m, s, vmax=None):
        if decay is not None:
            v *= decay
        # in place through one scratch array: the same arithmetic as
        # m += (1 - beta1) * (g - m); s = beta2 s + (1 - beta2) g^2;
        # v -= step_size * (m / denom), with one fresh array instead of seven
        # (out= needs arrays: 0-d operands would give NumPy scalars)
        scratch = np.empty_like(m)
        np.subtract(g, m, out=scratch)
        scratch *= 1 - beta1
        m += scratch
        s *= beta2
        np.multiply(g, g, out=scratch)
        scratch *= 1 - beta2
        s += scratch
        if vmax is not None:
            np.maximum(vmax, s, out=vmax)
            s = vmax
        denom = np.sqrt(s, out=scratch)
        denom /= bias2_root
        denom += eps
        np.divide(m, denom, out=denom)
        denom *= step_size
        v -= denom
    return update


class AdamW(Adam):
    """Adam with decoupled weight decay (default 1e-2)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)
