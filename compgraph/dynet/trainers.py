"""DyNet's trainers: update() applies the gradients backward() accumulated, then zeroes them.

As in DyNet: gradients are clipped to a global norm of 5 unless set_clip_threshold(0)
(or a negative value) turns clipping off, and lookup tables are updated only in the rows
that got gradients (set_sparse_updates(False) updates them whole).
"""
import math
import sys

import numpy as np

from ..errors import ArgumentError, ArgumentValueError, GraphError
from .graph import _Current
from .params import FlatStore, ParameterCollection

_F32 = np.float32


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
    def _pieces(self, members):
        """(parameter, value array, gradient rows, row ids or None) for every trainable one."""
        out = []
        for p in members:
            if not p._updated:
                continue
            value, grad, rows = p._grad_rows()
            if rows is not None and not self.sparse_updates:
                rows = None
            if rows is not None and len(rows) == 0:
                continue
            out.append((p, value, grad if rows is None else grad[rows], rows))
        return out

    def _clip_scale(self, store):
        """DyNet's clipping factor (float32): 1, or the threshold over the global norm.  The
        norm is over every parameter's gradient, a frozen one's (set_updated(False)) too --
        which update() never clears, so it keeps accumulating; the dense ones in the store
        (see FlatStore) are one dot."""
        if not self.clipping_enabled:
            return _F32(1.0)
        vdot = np.vdot
        sq = 0.0
        rest = self.model._members
        if store is not None:
            g = store.grads
            sq = float(vdot(g, g))
            rest = self.model._tables
        if rest:
            sq += sum([float(vdot(g, g)) for g in [p._grad for p in rest]])
        norm = math.sqrt(sq)
        if not math.isfinite(norm):
            raise GraphError(f"{type(self).__name__}.update(): the gradient norm is {norm} "
                             f"(DyNet raises too: magnitude of gradient is bad); "
                             f"set_clip_threshold(0) skips the check")
        if norm > self.clip_threshold:
            self.clips += 1
            self._since_status[0] += 1
            return _F32(self.clip_threshold) / _F32(norm)
        return _F32(1.0)

    def update(self):
        model = self.model
        store = model._flat_store()
        if store is not None and not all([p._updated for p in store.params]):
            store = None          # a frozen parameter: each trainable one on its own
        scale = self._clip_scale(store)
        self.updates += 1
        self._since_status[1] += 1
        # the rate times the clipping factor, rounded to float32 once for every parameter
        self._lr_scale = _F32(self.learning_rate) * scale
        pieces = self._pieces(model._tables if store is not None else model._members)
        # a parameter changed in place would change the nodes of the current graph that hold
        # its array: dense updates make a new array instead, and for a table's rows (changed
        # in place) the graph first copies what it computed (graph.hold / reread)
        cg = _Current.cg
        sparse = [p for p, _, _, rows in pieces if rows is not None]
        if cg is not None and sparse:
            cg.hold(set(sparse))
        update = self._update
        if store is not None and store.size:
            # every dense parameter at once: the rules are elementwise, so each element gets
            # the float32 operations it gets on its own
            store.rebind(update(store, store.values, store.grads, None, scale))
            store.grads.fill(0)
        for p, value, g, rows in pieces:
            if rows is None:
                p._value = update(p, value, g, None, scale)    # (a store gathers it back)
            else:
                value[rows] = update(p, value[rows], g, rows, scale)
            p._zero_grad()          # (each rule's result is a new array: g is not kept)
        if cg is not None:
            if store is not None:
                cg.reread(store.param_set if not pieces else
                          store.param_set | {p for p, _, _, _ in pieces})
            elif pieces:
                cg.reread({p for p, _, _, _ in pieces})

    def _slot(self, p, name, rows):
        """Per-parameter optimizer state (momentum, squared gradients), row-aligned.  A
        parameter in a FlatStore has a view of the store's state, so that updating it alone
        (a frozen neighbour) and all at once keep one state."""
        if p.__class__ is FlatStore:     # (the store updated at once)
            return self._flat_slot(p, name)
        if p._flat is not None:
            store, off = p._flat
            return self._flat_slot(store, name)[off:off + p._value.size].reshape(p._value.shape)
        key = (id(p), name)
        s = self._state.get(key)
        if s is None:
            s = self._state[key] = np.zeros_like(p._value)
        return s

    def _flat_slot(self, store, name):
        key = (id(store), name)
        s = self._state.get(key)
        if s is None or s.size != store.size:          # new, or the store grew since
            grown = np.zeros(store.size, _F32)
            if s is not None:
                grown[:s.size] = s
            s = self._state[key] = grown
        return s

    def _update(self, p, value, g, rows, scale):
        """The new value (for rows: of those rows) as a new array, `value` left as it is.
        scale is the clipping factor (float32); each rule applies it where DyNet's does, in
        DyNet's order of float32 operations (training.cc), so that the roundings agree."""
        raise NotImplementedError


def _lr_t(t):
    """DyNet's Adam bias correction, folded into the rate in float32 (as training.cc: eps
    is then added to sqrt(v), not to the corrected sqrt(v_hat))."""
    lr, b1, b2 = (_F32(x) for x in (t.learning_rate, t.beta_1, t.beta_2))
    n = _F32(t.updates)
    return lr * np.sqrt(_F32(1) - b2 ** n) / (_F32(1) - b1 ** n)


class SimpleSGDTrainer(Trainer):
    def __init__(self, m, learning_rate=0.1):
        super().__init__(m, learning_rate)

    def _update(self, p, value, g, rows, scale):
        return value - g * self._lr_scale      # _F32(learning_rate) * scale (update())


class MomentumSGDTrainer(Trainer):
    def __init__(self, m, learning_rate=0.01, mom=0.9):
        super().__init__(m, learning_rate)
        self.mom = _number(self, "mom", mom, 0, 1, hi_open=True)

    def _update(self, p, value, g, rows, scale):
        v = self._slot(p, "v", rows)
        sel = slice(None) if rows is None else rows
        vel = v[sel] * _F32(self.mom) - g * (_F32(self.learning_rate) * scale)
        v[sel] = vel
        return value + vel


class AdagradTrainer(Trainer):
    def __init__(self, m, learning_rate=0.1, eps=1e-20):
        super().__init__(m, learning_rate)
        self.eps = _number(self, "eps", eps, 0)

    def _update(self, p, value, g, rows, scale):
        acc = self._slot(p, "g2", rows)
        sel = slice(None) if rows is None else rows
        g = g * scale
        a = acc[sel] + g * g
        acc[sel] = a
        return value + g / np.sqrt(a + _F32(self.eps)) * -_F32(self.learning_rate)


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

    def _update(self, p, value, g, rows, scale):
        return value - g * (_F32(self.learning_rate) * scale)


class AdadeltaTrainer(Trainer):
    """Adadelta (Zeiler 2012): no learning rate; running averages of squared gradients and
    squared steps, decay rho."""

    def __init__(self, m, eps=1e-6, rho=0.95):
        super().__init__(m, 1.0)
        self.eps = _number(self, "eps", eps, 0)
        self.rho = _number(self, "rho", rho, 0, 1)

    def _update(self, p, value, g, rows, scale):
        hg, hd = self._slot(p, "g2", rows), self._slot(p, "d2", rows)
        sel = slice(None) if rows is None else rows
        rho, eps = _F32(self.rho), _F32(self.eps)
        g = g * scale
        g2 = hg[sel] * rho + g * g * (_F32(1) - rho)
        step = -g * np.sqrt(hd[sel] + eps) / np.sqrt(g2 + eps)
        hg[sel], hd[sel] = g2, hd[sel] * rho + step * step * (_F32(1) - rho)
        return value + step


class RMSPropTrainer(Trainer):
    def __init__(self, m, learning_rate=0.001, eps=1e-8, rho=0.9):
        super().__init__(m, learning_rate)
        self.eps = _number(self, "eps", eps, 0)
        self.rho = _number(self, "rho", rho, 0, 1)

    def _update(self, p, value, g, rows, scale):
        h = self._slot(p, "g2", rows)
        sel = slice(None) if rows is None else rows
        rho = _F32(self.rho)
        g = g * scale
        g2 = h[sel] * rho + g * g * (_F32(1) - rho)
        h[sel] = g2
        return value + _F32(self.learning_rate) * (-g / np.sqrt(g2 + _F32(self.eps)))


class AdamTrainer(Trainer):
    def __init__(self, m, alpha=0.001, beta_1=0.9, beta_2=0.999, eps=1e-8):
        super().__init__(m, alpha, "alpha")
        self.beta_1 = _number(self, "beta_1", beta_1, 0, 1, hi_open=True)
        self.beta_2 = _number(self, "beta_2", beta_2, 0, 1, hi_open=True)
        self.eps = _number(self, "eps", eps, 0)

    def _moments(self, p, g, rows, scale):
        m, v = self._slot(p, "m", rows), self._slot(p, "v", rows)
        sel = slice(None) if rows is None else rows
        b1, b2 = _F32(self.beta_1), _F32(self.beta_2)
        g = g * scale
        mt = m[sel] * b1 + g * (_F32(1) - b1)
        vt = v[sel] * b2 + g * g * (_F32(1) - b2)
        m[sel], v[sel] = mt, vt
        return mt, vt, sel

    def _update(self, p, value, g, rows, scale):
        mt, vt, _ = self._moments(p, g, rows, scale)
        return value - mt / (np.sqrt(vt) + _F32(self.eps)) * _lr_t(self)


class AmsgradTrainer(AdamTrainer):
    """Adam with the running maximum of v in the denominator (Reddi et al. 2018)."""

    def _update(self, p, value, g, rows, scale):
        mt, vt, sel = self._moments(p, g, rows, scale)
        vmax = self._slot(p, "vmax", rows)
        vm = np.maximum(vmax[sel], vt)
        vmax[sel] = vm
        return value - mt / (np.sqrt(vm) + _F32(self.eps)) * _lr_t(self)
