"""RNN, LSTM and GRU over a PackedSequence, as PyTorch runs them.

Step t works on the first batch_sizes[t] sequences only (they are sorted longest first), so
no padding enters the recurrence: a sequence's state stops changing after its last step,
and h_n holds that state.  The reverse direction starts each sequence at its own last step.
Initial states come in the batch's original order and h_n goes back to it (sorted_indices /
unsorted_indices), as in PyTorch.  The cells are recurrent.py's step functions.
"""
import numpy as np

from .. import functional as CF
from ..errors import ArgumentError, ShapeError
from ..ops.table import fmt
from ..tensor import _make
from ._fn_layers import linear
from .recurrent import GRU, LSTM, _gru_step, _lstm_step, _rnn_step
from .utils.rnn import PackedSequence, _ints


def _step(module, xw, states, whh_t, bhh):
    H = module.hidden_size
    hw = CF.matmul(states[0], whh_t)
    if isinstance(module, LSTM):
        return list(_lstm_step(xw, hw, states[1], H))
    if isinstance(module, GRU):
        return [_gru_step(xw, hw if bhh is None else hw + bhh, states[0], H)]
    return [_rnn_step(xw, hw, module.nonlinearity)]


def _forward_direction(module, xw, whh_t, bhh, init, bs, offsets):
    state, finished, outs = list(init), [[] for _ in init], []
    for t, n in enumerate(bs):
        if state[0].shape[0] > n:               # sequences n.. ended at step t - 1
            for k, s in enumerate(state):
                finished[k].append(s[n:])
                state[k] = s[:n]
        state = _step(module, xw[offsets[t]:offsets[t + 1]], state, whh_t, bhh)
        outs.append(state[0])
    # final states in sequence order: the longest (still running), then those ended latest
    finals = [CF.cat([s] + f[::-1], 0) if f else s for s, f in zip(state, finished)]
    return CF.cat(outs, 0), finals


def _reverse_direction(module, xw, whh_t, bhh, init, bs, offsets):
    last = int(bs[-1])
    state, outs = [s[:last] for s in init], []
    for t in range(len(bs) - 1, -1, -1):
        n, have = int(bs[t]), state[0].shape[0]
        if have < n:                             # sequences have..n-1 start at their last step
            state = [CF.cat([s, s0[have:n]], 0) for s, s0 in zip(state, init)]
        state = _step(module, xw[offsets[t]:offsets[t + 1]], state, whh_t, bhh)
        outs.append(state[0])
    return CF.cat(outs[::-1], 0), state


def _initial_states(module, hx, B, dtype, sorted_indices):
    n = module.num_layers * (2 if module.bidirectional else 1)
    count = module._n_states()
    H = module.hidden_size
    if hx is None:
        zeros = _make(np.zeros((B, H), dtype))
        return [[zeros] * count for _ in range(n)]
    hs = hx if isinstance(hx, (tuple, list)) else (hx,)
    if len(hs) != count:
        raise ArgumentError(f"{type(module).__name__}: expected {count} initial state "
                            f"tensor(s), got {len(hs)}")
    for h in hs:
        if tuple(h.shape) != (n, B, H):
            raise ShapeError(f"{type(module).__name__}: expected initial state of shape "
                             f"{fmt((n, B, H))} for a packed batch of {B}, got {fmt(h.shape)}")
    if sorted_indices is not None:
        order = _ints(sorted_indices, "sorted_indices")
        hs = [CF.getitem(h, (slice(None), order)) for h in hs]
    return [[h[k] for h in hs] for k in range(n)]


def packed_forward(module, packed, hx):
    """module(packed, hx) -> (PackedSequence of outputs, h_n or (h_n, c_n))."""
    data = packed.data
    if data.ndim != 2 or data.shape[1] != module.input_size:
        raise ShapeError(f"{type(module).__name__}: expected packed data of shape (N, "
                         f"{module.input_size}), got {fmt(data.shape)}")
    bs = _ints(packed.batch_sizes, "batch_sizes")
    offsets = np.concatenate([[0], np.cumsum(bs)])
    B = int(bs[0]) if bs.size else 0
    states = _initial_states(module, hx, B, data.dtype, packed.sorted_indices)
    dirs = 2 if module.bidirectional else 1
    x, finals = data, []
    for layer in range(module.num_layers):
        outs = []
        for d in range(dirs):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            wih, whh = getattr(module, "weight_ih" + sfx), getattr(module, "weight_hh" + sfx)
            bih = getattr(module, "bias_ih" + sfx) if module.bias else None
            bhh = getattr(module, "bias_hh" + sfx) if module.bias else None
            xw = linear(x, wih, module._input_bias(bih, bhh))
            run = _reverse_direction if d else _forward_direction
            out, final = run(module, xw, CF.transpose(whh, 0, 1), bhh,
                             states[layer * dirs + d], bs, offsets)
            outs.append(out)
            finals.append(final)
        x = outs[0] if dirs == 1 else CF.cat(outs, -1)
        if module.dropout and module.training and layer < module.num_layers - 1:
            x = CF.dropout(x, module.dropout, True)
    h_n = [CF.stack([f[k] for f in finals]) for k in range(module._n_states())]
    if packed.unsorted_indices is not None:
        back = _ints(packed.unsorted_indices, "unsorted_indices")
        h_n = [CF.getitem(h, (slice(None), back)) for h in h_n]
    out = PackedSequence(x, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)
    return out, (h_n[0] if len(h_n) == 1 else tuple(h_n))
