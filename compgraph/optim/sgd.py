"""Stochastic gradient descent with PyTorch's momentum, dampening, Nesterov and weight decay:

  g = grad (+ weight_decay * p);  maximize: g = -g
  with momentum:  b = g on the first step, else b = momentum * b + (1 - dampening) * g
                  g = g + momentum * b (nesterov) or g = b
  p = p - lr * g
"""
from ..errors import ArgumentValueError
from .optimizer import Optimizer, _check, _grad_shape_error


class SGD(Optimizer):
    _optional_state_keys = ("momentum_buffer",)

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        _check("learning rate", lr)
        _check("momentum", momentum)
        _check("weight_decay", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ArgumentValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            lr = group["lr"]
            momentum = group["momentum"]
            wd = group["weight_decay"]
            if not momentum and not wd and not group["maximize"]:
                for p in group["params"]:          # the hot path: one fused-ish update
                    g = p._grad
                    if g is not None:
                        v = p._value
                        g = g._value
                        if g.shape != v.shape:     # NumPy would broadcast it silently
                            raise _grad_shape_error(self, p, g)
                        v -= lr * g
                continue
            dampening, nesterov, maximize = group["dampening"], group["nesterov"], group["maximize"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                v = p._value
                g = p._grad._value
                if g.shape != v.shape:
                    raise _grad_shape_error(self, p, g)
                if maximize:
                    g = -g
                if wd:
                    g = g + wd * v
                if momentum:
                    state = self.state.setdefault(p, {})
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = g.copy()
                    else:
                        buf *= momentum
                        buf += (1 - dampening) * g
                    g = g + momentum * buf if nesterov else buf
                v -= lr * g
        return loss
