"""DyNet's trainers: update() applies the gradients backward() accumulated, then zeroes them.

As in DyNet: gradients are clipped to a global norm of 5 unless set_clip_threshold(0)
(or a negative value) turns clipping off, and lookup tables are updated only in the rows
that got gradients (set_sparse_updates(False) updates them whole).
"""
import numpy as np


class Trainer:
    def __init__(self, m, learning_rate):
        self.model = m
        self.learning_rate = learning_rate
        self.clip_threshold = 5.0
        self.clipping_enabled = True
        self.sparse_updates = True
        self.updates = 0
        self.clips = 0
        self._state = {}

    # DyNet's knobs
    def set_clip_threshold(self, thr):
        self.clipping_enabled = thr > 0
        self.clip_threshold = thr if thr > 0 else 0.0

    def get_clip_threshold(self):
        return self.clip_threshold

    def set_sparse_updates(self, su):
        self.sparse_updates = bool(su)

    def set_learning_rate(self, lr):
        self.learning_rate = lr

    def restart(self, learning_rate=None):
        self._state = {}
        if learning_rate is not None:
            self.learning_rate = learning_rate

    def status(self):
        print(f"[lr={self.learning_rate:g} clips={self.clips} updates={self.updates}]")

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
        self.updates += 1
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
        self.mom = mom

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
        self.eps = eps

    def _update(self, p, value, g, rows):
        acc = self._slot(p, "g2", rows)
        sel = slice(None) if rows is None else rows
        a = acc[sel] + g * g
        acc[sel] = a
        value -= np.float32(self.learning_rate) * g / np.sqrt(a + np.float32(self.eps))
        return value


class AdamTrainer(Trainer):
    def __init__(self, m, alpha=0.001, beta_1=0.9, beta_2=0.999, eps=1e-8):
        super().__init__(m, alpha)
        self.beta_1, self.beta_2, self.eps = beta_1, beta_2, eps

    def _update(self, p, value, g, rows):
        m, v = self._slot(p, "m", rows), self._slot(p, "v", rows)
        sel = slice(None) if rows is None else rows
        b1, b2 = np.float32(self.beta_1), np.float32(self.beta_2)
        mt = b1 * m[sel] + (1 - b1) * g
        vt = b2 * v[sel] + (1 - b2) * g * g
        m[sel], v[sel] = mt, vt
        t = self.updates
        m_hat = mt / np.float32(1 - self.beta_1 ** t)
        v_hat = vt / np.float32(1 - self.beta_2 ** t)
        value -= np.float32(self.learning_rate) * m_hat / (np.sqrt(v_hat) + np.float32(self.eps))
        return value
