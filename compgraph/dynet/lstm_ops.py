"""DyNet's fused LSTM ops (declared in compgraph/ops/recurrent.py): their autobatching rules
and DyNet's free functions vanilla_lstm_gates(_dropout)(_concat), vanilla_lstm_c, vanilla_lstm_h."""
from .. import functional as F
from ..executors.rules import Elementwise, Rule, attrs_key
from ..ops import OPS
from ..ops.recurrent import _dz, _gates as _gates_forward
from ..tensor import apply
from . import expr as E
from .graph import BatchedExpression

GATES, CELL, HIDDEN = OPS["vanilla_lstm_gates"], OPS["vanilla_lstm_c"], OPS["vanilla_lstm_h"]


class GatesRule(Rule):
    """Stacked x and h, shared Wx, Wh, b: two matrix products for the whole batch."""

    def key(self, node, flags):
        if flags[0] or flags[1] or not (flags[2] and flags[3] and flags[4]):
            return None          # batch only across uses of the same builder's weights
        return attrs_key(node.attrs)

    def forward(self, xp, op, attrs, args, flags, nodes):
        return _gates_forward(xp, *args, **attrs)

    def backward(self, xp, op, attrs, args, flags, nodes, out, G, need):
        x, h, Wx, Wh, b = args
        d = _dz(G, out)
        return [d @ Wx if need[0] else None, d @ Wh if need[1] else None,
                d.T @ x if need[2] else None, d.T @ h if need[3] else None,
                d.sum(0) if need[4] else None]


GATES.batch = GatesRule()
CELL.batch = HIDDEN.batch = Elementwise()      # written with [..., :], they run on stacks as is


# --- DyNet's free functions over the fused nodes ------------------------------------------------
# The gates node adds DyNet's forget-gate bias of 1 (nodes-lstm.cc: forget_gate_bias(1.0)), as
# the builder does; the *_dropout variants multiply x and h by the masks first, the *_concat
# ones take x as a list of pieces.

def _gates(x_t, h_tm1, Wx, Wh, b, weightnoise_std):
    x = E.concatenate(list(x_t)) if isinstance(x_t, (list, tuple)) else E._ex(x_t)
    h = E._ex(h_tm1)
    Wx, Wh, b = E._ex(Wx), E._ex(Wh), E._ex(b)
    if weightnoise_std:
        Wx, Wh, b = (E.noise(w, weightnoise_std) for w in (Wx, Wh, b))
    return x, h, Wx, Wh, b


_BIAS = {"forget_bias": 1.0}


def _batched(*xs):
    return any(x.__class__ is BatchedExpression for x in xs)


_MATMUL = OPS["matmul"]


def matvec(W, x):
    """W x for a weight matrix W (rows, cols) and a vector or a batch of them: always the
    matrix product (as DyNet's MatrixMultiply), also when x or W has one element."""
    W, x = E._ex(W), E._ex(x)
    if x.__class__ is BatchedExpression and W.__class__ is not BatchedExpression:
        return apply(_MATMUL, (x, F.transpose(W, 0, 1)))       # (B, cols) @ W^T
    return apply(_MATMUL, (W, x))


def affine(b, pairs):
    """b + W1 x1 + W2 x2 ...; pairs whose input is None (no previous state) are left out."""
    out = E._ex(b)
    for W, x in pairs:
        if x is not None:
            out = out + matvec(W, x)
    return out


def _fused(args):
    """The gates node; for batched inputs the same gates from DyNet's batched ops."""
    if not _batched(*args):
        return apply(GATES, args, _BIAS)
    x, h, Wx, Wh, b = args
    H = b.shape[-1] // 4
    z = affine(b, [(Wx, x), (Wh, h)])
    return E.concatenate([E.logistic(E.pickrange(z, 0, H)),
                          E.logistic(E.pickrange(z, H, 2 * H) + _BIAS["forget_bias"]),
                          E.logistic(E.pickrange(z, 2 * H, 3 * H)),
                          E.tanh(E.pickrange(z, 3 * H, 4 * H))])


def vanilla_lstm_gates(x_t, h_tm1, Wx, Wh, b, weightnoise_std=0.0):
    """DyNet's fused LSTM gates [i f o | g] of x_t and h_tm1 (f with +1 bias)."""
    return _fused(_gates(x_t, h_tm1, Wx, Wh, b, weightnoise_std))


def vanilla_lstm_gates_concat(x_t, h_tm1, Wx, Wh, b, weightnoise_std=0.0):
    return vanilla_lstm_gates(list(x_t), h_tm1, Wx, Wh, b, weightnoise_std)


def vanilla_lstm_gates_dropout(x_t, h_tm1, Wx, Wh, b, dropout_mask_x, dropout_mask_h,
                               weightnoise_std=0.0):
    x, h, Wx, Wh, b = _gates(x_t, h_tm1, Wx, Wh, b, weightnoise_std)
    return _fused((E.cmult(x, dropout_mask_x), E.cmult(h, dropout_mask_h), Wx, Wh, b))


def vanilla_lstm_gates_dropout_concat(x_t, h_tm1, Wx, Wh, b, dropout_mask_x, dropout_mask_h,
                                      weightnoise_std=0.0):
    return vanilla_lstm_gates_dropout(list(x_t), h_tm1, Wx, Wh, b, dropout_mask_x,
                                      dropout_mask_h, weightnoise_std)


def _gate(gates, k, H):
    return E.pickrange(gates, k * H, (k + 1) * H)


def vanilla_lstm_c(c_tm1, gates_t):
    """c = f * c_tm1 + i * g."""
    c, g = E._ex(c_tm1), E._ex(gates_t)
    if not _batched(c, g):
        return apply(CELL, (c, g))
    H = g.dim()[0][0] // 4
    return E.cmult(_gate(g, 1, H), c) + E.cmult(_gate(g, 0, H), _gate(g, 3, H))


def vanilla_lstm_h(c_t, gates_t):
    """h = o * tanh(c)."""
    c, g = E._ex(c_t), E._ex(gates_t)
    if not _batched(c, g):
        return apply(HIDDEN, (c, g))
    return E.cmult(_gate(g, 2, g.dim()[0][0] // 4), E.tanh(c))
