"""DyNet's trainers: update() applies the gradients backward() accumulated, then zeroes them.

As in DyNet: gradients are clipped to a global norm of 5 unless set_clip_threshold(0)
(or a negative value) turns clipping off, and lookup tables are updated only in the rows
that got gradients (set_sparse_updates(False) updates them whole).
"""
import math
import sys

import numpy as np

from ..errors import ArgumentError, ArgumentValueError
from .params import ParameterCollection


def _number(trainer, name, v, lo=None, hi=None, lo_open=False, hi_open=False):
    """v as a float in the range given; else a clear error naming the trainer and argument.
    DyNet's own trainers take any float here, but a negative learning rate silently climbs
    the loss and a momentum of 1 or more diverges: neither is ever meant."""
    fn = type(trainer).__name__
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ArgumentError(f"{fn}: {name} must be a number, got {v!r} ({type(v).__name__})")
    v = float(v)
    ok = math.isfinite(v)
    if ok and lo is not None:
        ok = v > lo if lo_open else v >= lo
    if ok and hi is not None:
        ok = v < hi if hi_open else v <= hi
    if not ok:
        if lo is None:
            want = ""
        elif hi is None:
            want = (" > " if lo_open else " >= ") + f"{lo:g}"
        else:
            want = f" in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
        raise ArgumentValueError(f"{fn}: {name}={v!r} is out of range: it must be a finite "
                                 f"number{want}")
    return v


class Trainer:
    def __init__(self, m, learning_rate, lr_name="learning_rate"):
        if not isinstance(m, ParameterCollection):
            raise ArgumentError(f"{type(self).__name__}: expected the ParameterCollection "
                                f"(Model) to train, got {type(m).__name__} {m!r:.60}")
        self.model = m
        self.learning_rate = _number(self, lr_name, learning_rate, 0, lo_open=True)
        self.clip_threshold = 5.0
        self.clipping_enabled = True
        self.sparse_updates = True
        self.updates = 0
        self.clips = 0
        self._since_status = [0, 0]          # clips, updates since the last status()
        self._state = {}

    # DyNet's knobs
    def set_clip_threshold(self, thr):
        thr = _number(self, "clip threshold", thr)
        self.clipping_enabled = thr > 0
        self.clip_threshold = thr if thr > 0 else 0.0

    def get_clip_threshold(self):
        return self.clip_threshold

    def set_sparse_updates(self, su):
        self.sparse_updates = bool(su)

    def set_learning_rate(self, lr):
        self.learning_rate = _number(self, "learning_rate", lr, 0, lo_open=True)

    def restart(self, learning_rate=None):
        if learning_rate is not None:
            learning_rate = _number(self, "learning_rate", learning_rate, 0, lo_open=True)
        self._state = {}
        if learning_rate is not None:
            self.learning_rate = learning_rate

    def status(self):
        """As DyNet: to stderr, no newline (programs print the loss after it), and the counts
        are those since the last status()."""
        clips, updates = self._since_status
        sys.stderr.write(f"[lr={self.learning_rate:g} clips={clips} updates={updates}] ")
        sys.stderr.flush()
        self._since_status = [0, 0]

    def update_epoch(self, r=1.0):
        """Deprecated in DyNet (learning-rate decay by epoch); kept as a no-op."""

    # --- the update ------------------------------------------------------------------------------
    def _pieces(self):
        """(parameter, value array, gradient rows, row ids or None) for every trainable one."""
        out = []
        for p in self.model._all():
            if not p._updated:
                continue
            value, grad, rows = p._grad_rows()
            if rows is not None and not self.sparse_updates:
                rows = None
            if rows is not None and len(rows) == 0:
                continue
            out.append((p, value, grad if rows is None else grad[rows], rows))
        return out

    def update(self):
        pieces = self._pieces()
        scale = 1.0
        if self.clipping_enabled:
            norm = float(np.sqrt(sum(float(np.vdot(g, g)) for _, _, g, _ in pieces)))
            if norm > self.clip_threshold:
                scale = self.clip_threshold / norm
                self.clips += 1
                self._since_status[0] += 1
        self.updates += 1
        self._since_status[1] += 1
        for p, value, g, rows in pieces:
            if scale != 1.0:
                g = g * np.float32(scale)
            if rows is None:
                self._update(p, value, g, None)
            else:
                value[rows] = self._update(p, value[rows], g, rows)
        for p in self.model._all():
            p._zero_grad()

    def _slot(self, p, name, rows):
        """Per-parameter optimizer state (momentum, squared gradients), row-aligned."""
        key = (id(p), name)
        s = self._state.get(key)
        if s is None:
            s = self._state[key] = np.zeros_like(p._value)
        return s

    def _update(self, p, value, g, rows):
        """Return the new value (for rows: of those rows); may update `value` in place."""
        raise NotImplementedError


class SimpleSGDTrainer(Trainer):
    def __init__(self, m, learning_rate=0.1):
        super().__init__(m, learning_rate)

    def _update(self, p, value, g, rows):
        value -= np.float32(self.learning_rate) * g
        return value


class MomentumSGDTrainer(Trainer):
    def __init__(self, m, learning_rate=0.01, mom=0.9):
        super().__init__(m, learning_rate)
        self.mom = _number(self, "mom", mom, 0, 1, hi_open=True)

    def _update(self, p, value, g, rows):
        v = self._slot(p, "v", rows)
        sel = slice(None) if rows is None else rows
        vel = np.float32(self.mom) * v[sel] - np.float32(self.learning_rate) * g
        v[sel] = vel
        value += vel
        return value


class AdagradTrainer(Trainer):
    def __init__(self, m, learning_rate=0.1, eps=1e-20):
        super().__init__(m, learning_rate)
        self.eps = _number(self, "eps", eps, 0)

    def _update(self, p, value, g, rows):
        acc = self._slot(p, "g2", rows)
        sel = slice(None) if rows is None else rows
        a = acc[sel] + g * g
        acc[sel] = a
        value -= np.float32(self.learning_rate) * g / np.sqrt(a + np.float32(self.eps))
        return value


class CyclicalSGDTrainer(Trainer):
    """SGD whose learning rate follows a triangle between learning_rate_min and
    learning_rate_max (period 2 step_size updates), the peak decaying by gamma per update;
    the rate is recomputed after each update, as DyNet does."""

    def __init__(self, m, learning_rate_min=0.01, learning_rate_max=0.1, step_size=2000,
                 gamma=1.0, edecay=0.0):
        super().__init__(m, learning_rate_min, "learning_rate_min")
        self.e_min = self.learning_rate
        self.e_max = _number(self, "learning_rate_max", learning_rate_max, 0, lo_open=True)
        self.step_size = _number(self, "step_size", step_size, 0, lo_open=True)
        self.gamma = _number(self, "gamma", gamma, 0)
        self.it = 0

    def update(self):
        super().update()
        cycle = math.floor(1 + self.it / (2 * self.step_size))
        x = abs(self.it / self.step_size - 2 * cycle + 1)
        self.learning_rate = self.e_min + (
            (self.e_max - self.e_min) * (1 - x) * self.gamma ** self.it if 1 - x > 0 else 0.0)
        self.it += 1

    def _update(self, p, value, g, rows):
        value -= np.float32(self.learning_rate) * g
        return value


class AdadeltaTrainer(Trainer):
    """Adadelta (Zeiler 2012): no learning rate; running averages of squared gradients and
    squared steps, decay rho."""

    def __init__(self, m, eps=1e-6, rho=0.95):
        super().__init__(m, 1.0)
        self.eps = _number(self, "eps", eps, 0)
        self.rho = _number(self, "rho", rho, 0, 1)

    def _update(self, p, value, g, rows):
        hg, hd = self._slot(p, "g2", rows), self._slot(p, "d2", rows)
        sel = slice(None) if rows is None else rows
        rho, eps = np.float32(self.rho), np.float32(self.eps)
        g2 = hg[sel] * rho + g * g * (1 - rho)
        step = -g * np.sqrt(hd[sel] + eps) / np.sqrt(g2 + eps)
        hg[sel], hd[sel] = g2, hd[sel] * rho + step * step * (1 - rho)
        value += step
        return value


class RMSPropTrainer(Trainer):
    def __init__(self, m, learning_rate=0.001, eps=1e-8, rho=0.9):
        super().__init__(m, learning_rate)
        self.eps = _number(self, "eps", eps, 0)
        self.rho = _number(self, "rho", rho, 0, 1)

    def _update(self, p, value, g, rows):
        h = self._slot(p, "g2", rows)
        sel = slice(None) if rows is None else rows
        rho = np.float32(self.rho)
        g2 = h[sel] * rho + g * g * (1 - rho)
        h[sel] = g2
        value -= np.float32(self.learning_rate) * g / np.sqrt(g2 + np.float32(self.eps))
        return value


class AdamTrainer(Trainer):
    def __init__(self, m, alpha=0.001, beta_1=0.9, beta_2=0.999, eps=1e-8):
        super().__init__(m, alpha, "alpha")
        self.beta_1 = _number(self, "beta_1", beta_1, 0, 1, hi_open=True)
        self.beta_2 = _number(self, "beta_2", beta_2, 0, 1, hi_open=True)
        self.eps = _number(self, "eps", eps, 0)

    def _moments(self, p, g, rows):
        m, v = self._slot(p, "m", rows), self._slot(p, "v", rows)
        sel = slice(None) if rows is None else rows
        b1, b2 = np.float32(self.beta_1), np.float32(self.beta_2)
        mt = b1 * m[sel] + (1 - b1) * g
        vt = b2 * v[sel] + (1 - b2) * g * g
        m[sel], v[sel] = mt, vt
        return mt, vt, sel

    def _rate(self):
        """DyNet's bias correction, folded into the rate (eps is added to sqrt(v), not to
        the corrected sqrt(v_hat))."""
        t = self.updates
        return np.float32(self.learning_rate * math.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t))

    def _update(self, p, value, g, rows):
        mt, vt, _ = self._moments(p, g, rows)
        value -= mt / (np.sqrt(vt) + np.float32(self.eps)) * self._rate()
        return value


class AmsgradTrainer(AdamTrainer):
    """Adam with the running maximum of v in the denominator (Reddi et al. 2018)."""

    def _update(self, p, value, g, rows):
        mt, vt, sel = self._moments(p, g, rows)
        vmax = self._slot(p, "vmax", rows)
        vm = np.maximum(vmax[sel], vt)
        vmax[sel] = vm
        value -= mt / (np.sqrt(vm) + np.float32(self.eps)) * self._rate()
        return value
