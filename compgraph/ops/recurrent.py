"""Fused recurrent cells: a whole LSTM step in one to three nodes instead of ~15.

* vanilla_lstm_gates / vanilla_lstm_c / vanilla_lstm_h: DyNet's VanillaLSTMBuilder step.
  Gate layout as DyNet's: z = Wx x + Wh h + b, rows [i | f | o | g]; i, f, o go through the
  logistic (f with forget_bias added) and g through tanh.  Their batching rules for the
  autobatch executor live in compgraph/dynet/lstm_ops.py.
* lstm_cell: PyTorch's LSTM step (gate rows [i | f | g | o]) from the two projections and
  the cell state, returning [h' | c'] side by side; used by compgraph.nn.LSTM.
"""
import numpy as np

from ..errors import ShapeError
from .table import defop, fmt


def _sigmoid(a):
    # the logistic through tanh: no overflow for any a, and ~2.5x faster than exp/where
    return 0.5 * np.tanh(0.5 * a) + 0.5


def _gates(xp, x, h, Wx, Wh, b, forget_bias=0.0):
    """Works on one vector or on a stack of them (rows)."""
    H = b.shape[-1] // 4
    z = x @ Wx.T + h @ Wh.T + b
    if forget_bias:
        z[..., H:2 * H] += forget_bias
    out = np.empty_like(z)
    out[..., :3 * H] = _sigmoid(z[..., :3 * H])
    out[..., 3 * H:] = np.tanh(z[..., 3 * H:])
    return out


def _dz(g, ans):
    """Gradient at the pre-activations, from the gates' values."""
    H = ans.shape[-1] // 4
    d = np.empty_like(ans)
    s = ans[..., :3 * H]
    d[..., :3 * H] = g[..., :3 * H] * s * (1 - s)
    t = ans[..., 3 * H:]
    d[..., 3 * H:] = g[..., 3 * H:] * (1 - t * t)
    return d


def _gates_shape(x, h, Wx, Wh, b, forget_bias=0.0):
    H4 = b[0] if len(b) == 1 else -1
    if (len(x) != 1 or len(h) != 1 or len(Wx) != 2 or len(Wh) != 2 or H4 % 4 or
            Wx != (H4, x[0]) or Wh != (H4, h[0]) or h[0] * 4 != H4):
        raise ShapeError(f"vanilla_lstm_gates: x {fmt(x)}, h {fmt(h)}, Wx {fmt(Wx)}, Wh {fmt(Wh)}, "
                         f"b {fmt(b)} do not fit: want x (I,), h (H,), Wx (4H, I), Wh (4H, H), b (4H,)")
    return (H4,)


GATES = defop("vanilla_lstm_gates", _gates,
    lambda xp, g, ans, x, h, Wx, Wh, b, forget_bias=0.0: _dz(g, ans) @ Wx,
    lambda xp, g, ans, x, h, Wx, Wh, b, forget_bias=0.0: _dz(g, ans) @ Wh,
    lambda xp, g, ans, x, h, Wx, Wh, b, forget_bias=0.0: np.outer(_dz(g, ans), x),
    lambda xp, g, ans, x, h, Wx, Wh, b, forget_bias=0.0: np.outer(_dz(g, ans), h),
    lambda xp, g, ans, x, h, Wx, Wh, b, forget_bias=0.0: _dz(g, ans),
    shape=_gates_shape, check=True, once=True)


def _c(xp, c, gates):
    H = c.shape[-1]
    return gates[..., H:2 * H] * c + gates[..., :H] * gates[..., 3 * H:]


def _c_vjp_gates(xp, g, ans, c, gates):
    H = c.shape[-1]
    d = np.zeros(np.broadcast_shapes(g.shape[:-1], gates.shape[:-1]) + gates.shape[-1:], g.dtype)
    d[..., :H] = g * gates[..., 3 * H:]
    d[..., H:2 * H] = g * c
    d[..., 3 * H:] = g * gates[..., :H]
    return d


def _cell_shape(c, gates):
    if len(c) != 1 or gates != (4 * c[0],):
        raise ShapeError(f"vanilla_lstm_c/h: state {fmt(c)} and gates {fmt(gates)} do not fit: "
                         "want (H,) and (4H,)")
    return c


CELL = defop("vanilla_lstm_c", _c,
             lambda xp, g, ans, c, gates: g * gates[..., c.shape[-1]:2 * c.shape[-1]],
             _c_vjp_gates, shape=_cell_shape, check=True, once=True)


def _h(xp, c, gates):
    H = c.shape[-1]
    return gates[..., 2 * H:3 * H] * np.tanh(c)


def _h_vjp_gates(xp, g, ans, c, gates):
    H = c.shape[-1]
    d = np.zeros(np.broadcast_shapes(g.shape[:-1], gates.shape[:-1]) + gates.shape[-1:], g.dtype)
    d[..., 2 * H:3 * H] = g * np.tanh(c)
    return d


HIDDEN = defop("vanilla_lstm_h", _h,
               lambda xp, g, ans, c, gates:
                   g * gates[..., 2 * c.shape[-1]:3 * c.shape[-1]] * (1 - np.tanh(c) ** 2),
               _h_vjp_gates, shape=_cell_shape, check=True, once=True)




# --- PyTorch's LSTM step ------------------------------------------------------------------------

def _lstm_blocks(xp, z):
    """The activated gates i, f, g, o of pre-activations z (rows [i | f | g | o])."""
    H = z.shape[-1] // 4
    s = xp.sigmoid(z)
    return s[..., :H], s[..., H:2 * H], xp.tanh(z[..., 2 * H:3 * H]), s[..., 3 * H:]


def _lstm_cell(xp, xw, hw, c):
    i, f, g, o = _lstm_blocks(xp, xw + hw)
    c2 = f * c + i * g
    return xp.concatenate([o * xp.tanh(c2), c2], axis=-1)


def _lstm_cell_vjp(xp, G, ans, xw, hw, c):
    """All three gradients at once: they share the recomputed gates."""
    H = c.shape[-1]
    i, f, g, o = _lstm_blocks(xp, xw + hw)
    tc = xp.tanh(ans[..., H:])
    dc2 = G[..., H:] + G[..., :H] * o * (1 - tc * tc)
    dz = xp.concatenate([dc2 * g * i * (1 - i), dc2 * c * f * (1 - f),
                         dc2 * i * (1 - g * g), G[..., :H] * tc * o * (1 - o)], axis=-1)
    return [dz, dz, dc2 * f]


def _lstm_cell_shape(xw, hw, c):
    if xw[-1:] != (4 * c[-1],) or np.broadcast_shapes(xw, hw) != xw or xw[:-1] != c[:-1]:
        raise ShapeError(f"lstm_cell: projections {fmt(xw)}, {fmt(hw)} and cell {fmt(c)} do not "
                         "fit: want (..., 4H), (..., 4H) and (..., H)")
    return c[:-1] + (2 * c[-1],)


defop("lstm_cell", _lstm_cell, vjp_all=_lstm_cell_vjp, shape=_lstm_cell_shape)


# --- a whole LSTM layer over a sequence, in one node (what cuDNN and PyTorch's CPU kernel do) --

def _lstm_layer(xp, xw, whh, h0, c0):
    """Rows t of the result: [h_t | c_t | i f g o of step t] (6H), from the input projections
    xw (T, ..., 4H, PyTorch's gate rows [i | f | g | o]), the recurrent weight whh (4H, H)
    and the initial states h0, c0 (..., H)."""
    T, H = xw.shape[0], whh.shape[1]
    out = xp.empty(xw.shape[:-1] + (6 * H,), dtype=xw.dtype)
    h, c, wt = h0, c0, whh.T
    for t in range(T):
        z = xw[t] + h @ wt
        a = out[t, ..., 2 * H:]
        a[...] = xp.sigmoid(z)
        a[..., 2 * H:3 * H] = xp.tanh(z[..., 2 * H:3 * H])
        c = a[..., H:2 * H] * c + a[..., :H] * a[..., 2 * H:3 * H]
        h = a[..., 3 * H:] * xp.tanh(c)
        out[t, ..., :H] = h
        out[t, ..., H:2 * H] = c
    return out


def _lstm_layer_vjp(xp, G, ans, xw, whh, h0, c0):
    """Backpropagation through time.  Everything that does not depend on the recurrence is
    computed for all steps at once; the loop keeps only the eight operations that do.  The
    recurrent weight's gradient is one product over all steps at the end."""
    T, H = xw.shape[0], whh.shape[1]
    a = ans[..., 2 * H:]                                    # gates i f g o, all steps
    i, f, g, o = a[..., :H], a[..., H:2 * H], a[..., 2 * H:3 * H], a[..., 3 * H:]
    c = ans[..., H:2 * H]
    c_prev = xp.concatenate([c0[None], c[:-1]], axis=0)
    tc = xp.tanh(c)
    # dz[t] for i, f, g = dc[t] * P[t] (three blocks); for o = dh[t] * Q[t]
    P = xp.concatenate([g * i * (1 - i), c_prev * f * (1 - f), i * (1 - g * g)], axis=-1)
    P = xp.reshape(P, P.shape[:-1] + (3, H))
    Q = tc * o * (1 - o)
    K = o * (1 - tc * tc)                                   # dc gets dh * K
    Gh, Gc = G[..., :H], G[..., H:2 * H]
    dZ = xp.empty(xw.shape, dtype=G.dtype)
    dZ3 = xp.reshape(dZ[..., :3 * H], dZ.shape[:-1] + (3, H))
    dh = xp.zeros(h0.shape, dtype=G.dtype)
    dc = xp.zeros(c0.shape, dtype=G.dtype)
    for t in range(T - 1, -1, -1):
        dh = dh + Gh[t]
        dc = dc + Gc[t] + dh * K[t]
        dZ3[t] = dc[..., None, :] * P[t]
        dZ[t, ..., 3 * H:] = dh * Q[t]
        dh = dZ[t] @ whh
        dc = dc * f[t]
    if G[..., 2 * H:].any():                                # someone used the gates themselves
        dG = G[..., 2 * H:] * xp.concatenate([i * (1 - i), f * (1 - f), 1 - g * g, o * (1 - o)], -1)
        return _lstm_layer_vjp_with_gates(xp, G, ans, xw, whh, h0, c0, dG)
    h_prev = xp.concatenate([h0[None], ans[:-1, ..., :H]], axis=0)
    dwhh = xp.reshape(dZ, (-1, 4 * H)).T @ xp.reshape(h_prev, (-1, H))
    return [dZ, dwhh, dh, dc]


def _lstm_layer_vjp_with_gates(xp, G, ans, xw, whh, h0, c0, dG):
    """The rare case of a gradient arriving at the gates' own outputs: the direct term enters
    dz at each step, before the recurrence carries it back."""
    T, H = xw.shape[0], whh.shape[1]
    a = ans[..., 2 * H:]
    i, f, g, o = a[..., :H], a[..., H:2 * H], a[..., 2 * H:3 * H], a[..., 3 * H:]
    c = ans[..., H:2 * H]
    c_prev = xp.concatenate([c0[None], c[:-1]], axis=0)
    tc = xp.tanh(c)
    dZ = xp.empty(xw.shape, dtype=G.dtype)
    dh = xp.zeros(h0.shape, dtype=G.dtype)
    dc = xp.zeros(c0.shape, dtype=G.dtype)
    for t in range(T - 1, -1, -1):
        dh = dh + G[t, ..., :H]
        dc = dc + G[t, ..., H:2 * H] + dh * o[t] * (1 - tc[t] * tc[t])
        dZ[t] = xp.concatenate([dc * g[t] * i[t] * (1 - i[t]), dc * c_prev[t] * f[t] * (1 - f[t]),
                                dc * i[t] * (1 - g[t] * g[t]), dh * tc[t] * o[t] * (1 - o[t])], -1)
        dZ[t] += dG[t]
        dh = dZ[t] @ whh
        dc = dc * f[t]
    h_prev = xp.concatenate([h0[None], ans[:-1, ..., :H]], axis=0)
    dwhh = xp.reshape(dZ, (-1, 4 * H)).T @ xp.reshape(h_prev, (-1, H))
    return [dZ, dwhh, dh, dc]


def _lstm_layer_shape(xw, whh, h0, c0):
    H = whh[1] if len(whh) == 2 else -1
    if len(whh) != 2 or whh[0] != 4 * H or xw[-1:] != (4 * H,) or h0 != xw[1:-1] + (H,) or c0 != h0:
        raise ShapeError(f"lstm_layer: projections {fmt(xw)}, recurrent weight {fmt(whh)} and "
                         f"states {fmt(h0)}, {fmt(c0)} do not fit: want (T, ..., 4H), (4H, H), "
                         "(..., H), (..., H)")
    return xw[:-1] + (6 * H,)


defop("lstm_layer", _lstm_layer, vjp_all=_lstm_layer_vjp, shape=_lstm_layer_shape, check=True,
      once=True)
