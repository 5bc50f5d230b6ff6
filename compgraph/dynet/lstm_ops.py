"""The autobatching rules of DyNet's fused LSTM ops (declared in compgraph/ops/recurrent.py)."""
from ..executors.rules import Elementwise, Rule, attrs_key
from ..ops import OPS
from ..ops.recurrent import _dz, _gates

GATES, CELL, HIDDEN = OPS["vanilla_lstm_gates"], OPS["vanilla_lstm_c"], OPS["vanilla_lstm_h"]


class GatesRule(Rule):
    """Stacked x and h, shared Wx, Wh, b: two matrix products for the whole batch."""

    def key(self, node, flags):
        if flags[0] or flags[1] or not (flags[2] and flags[3] and flags[4]):
            return None          # batch only across uses of the same builder's weights
        return attrs_key(node.attrs)

    def forward(self, xp, op, attrs, args, flags, nodes):
        return _gates(xp, *args, **attrs)

    def backward(self, xp, op, attrs, args, flags, nodes, out, G, need):
        x, h, Wx, Wh, b = args
        d = _dz(G, out)
        return [d @ Wx if need[0] else None, d @ Wh if need[1] else None,
                d.T @ x if need[2] else None, d.T @ h if need[3] else None,
                d.sum(0) if need[4] else None]


GATES.batch = GatesRule()
CELL.batch = HIDDEN.batch = Elementwise()      # written with [..., :], they run on stacks as is
