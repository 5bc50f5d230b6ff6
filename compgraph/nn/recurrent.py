"""Recurrent layers: RNNCell, LSTMCell, GRUCell and the sequence layers RNN, LSTM, GRU.

Equations, gate order and parameter names are PyTorch's:
  RNN   h' = tanh(W_ih x + b_ih + W_hh h + b_hh)                        (or relu)
  LSTM  i, f, g, o = split(W_ih x + b_ih + W_hh h + b_hh)                 (4H rows)
        c' = sigmoid(f) * c + sigmoid(i) * tanh(g);   h' = sigmoid(o) * tanh(c')
  GRU   r, z, n rows of W_ih x + b_ih (xr, xz, xn) and W_hh h + b_hh (hr, hz, hn)
        r = sigmoid(xr + hr); z = sigmoid(xz + hz); n = tanh(xn + r * hn)
        h' = (1 - z) * n + z * h
Sequence layers project the whole input sequence through W_ih in one product (with both
biases folded in where they add up) and run only the W_hh product per step.  A batch of
one runs as unbatched vectors: `W_hh @ h` needs no transposes, and its gradient is a
broadcast outer product rather than a matmul NumPy cannot hand to BLAS.
"""
import math

import numpy as np

from .. import functional as CF
from ..errors import ArgumentError, ArgumentValueError, ShapeError
from ..ops import OPS

_LSTM_CELL = OPS["lstm_cell"]
_LSTM_LAYER = OPS["lstm_layer"]
from ..tensor import _make, apply
from . import init
from ._fn_layers import linear
from .layers import _empty
from .module import Module
from .utils.rnn import PackedSequence

_GETITEM, _MATMUL, _PERMUTE = OPS["getitem"], OPS["matmul"], OPS["permute_dims"]
_SWAP = {"axes": (1, 0)}


_COLS = {}


def _cols(x, a, b):
    """x[..., a:b] as one node (the gate blocks of a pre-activation).  The attribute dict is
    kept per (a, b): a lazy graph memoizes a node's batching key on the dict's identity."""
    attrs = _COLS.get((a, b))
    if attrs is None:
        attrs = _COLS[(a, b)] = {"index": (Ellipsis, slice(a, b))}
    return apply(_GETITEM, (x,), attrs)


def _add(a, b):
    return a if b is None else a + b


# --- one step of each cell: xw = input projection, hw = hidden projection (None = zero) -----

def _rnn_step(xw, hw, nonlinearity):
    pre = _add(xw, hw)
    return CF.tanh(pre) if nonlinearity == "tanh" else CF.relu(pre)


def _lstm_step(xw, hw, c, hidden):
    """One LSTM step as one table op (lstm_cell, which returns [h' | c']) and two slices."""
    if hw is None:                    # zero state and no hidden bias: the projection is zero
        hw = _make(np.zeros(1, xw.dtype))
    if c is None:
        c = _make(np.zeros(tuple(xw.shape[:-1]) + (hidden,), xw.dtype))
    out = apply(_LSTM_CELL, (xw, hw, c))
    return _cols(out, 0, hidden), _cols(out, hidden, 2 * hidden)


def _gru_step(xw, hw, h, hidden):
    h2 = 2 * hidden
    if hw is None:                # zero state and no hidden bias: hr = hz = hn = 0
        rz = CF.sigmoid(_cols(xw, 0, h2))
        n = CF.tanh(_cols(xw, h2, 3 * hidden))
    else:
        rz = CF.sigmoid(_cols(xw, 0, h2) + _cols(hw, 0, h2))
        n = CF.tanh(_cols(xw, h2, 3 * hidden) + _cols(rz, 0, hidden) * _cols(hw, h2, 3 * hidden))
    z = _cols(rz, hidden, h2)
    if h is None:
        return n - z * n
    return n + z * (h - n)


def _start(h, xw, whh):
    """The initial hidden state: a zero state is skipped (no W_hh product at the first
    step) unless W_hh learns, where PyTorch gives it a (zero) gradient even then."""
    if h is None and whh.requires_grad:
        return _make(np.zeros(xw.shape[1:-1] + (whh.shape[1],), xw.dtype))
    return h


# --- cells -------------------------------------------------------------------------------------

class _CellBase(Module):
    _gates = 1

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        rows = self._gates * hidden_size
        self.weight_ih = _empty(rows, input_size, dtype=dtype)
        self.weight_hh = _empty(rows, hidden_size, dtype=dtype)
        if bias:
            self.bias_ih = _empty(rows, dtype=dtype)
            self.bias_hh = _empty(rows, dtype=dtype)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        k = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            init.uniform_(p, -k, k)

    def _check(self, input, hx):
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise ShapeError(f"{type(self).__name__}: expected input of shape (batch, "
                             f"{self.input_size}) or ({self.input_size},), got {tuple(input.shape)}")
        want = input.shape[:-1] + (self.hidden_size,)
        for h in hx:
            if h is not None and tuple(h.shape) != want:
                raise ShapeError(f"{type(self).__name__}: expected hidden state of shape {want}, "
                                 f"got {tuple(h.shape)}")

    def _zeros(self, input):
        return _make(np.zeros(input.shape[:-1] + (self.hidden_size,), input.dtype))

    def _projections(self, input, h):
        return linear(input, self.weight_ih, self.bias_ih), linear(h, self.weight_hh, self.bias_hh)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(_CellBase):
    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ArgumentError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        self._check(input, (hx,))
        h = self._zeros(input) if hx is None else hx
        return _rnn_step(*self._projections(input, h), self.nonlinearity)


class LSTMCell(_CellBase):
    _gates = 4

    def forward(self, input, hx=None):
        """Returns (h', c'); hx is (h, c) or None for zeros."""
        h, c = (self._zeros(input), self._zeros(input)) if hx is None else hx
        self._check(input, (h, c))
        return _lstm_step(*self._projections(input, h), c, self.hidden_size)


class GRUCell(_CellBase):
    _gates = 3

    def forward(self, input, hx=None):
        self._check(input, (hx,))
        h = self._zeros(input) if hx is None else hx
        return _gru_step(*self._projections(input, h), h, self.hidden_size)


# --- sequence layers ----------------------------------------------------------------------------

class _RNNBase(Module):
    mode = "RNN_TANH"
    _gates = 1

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        if proj_size and not isinstance(self, LSTM):
            raise ArgumentValueError(f"{type(self).__name__}: proj_size is only supported for "
                                     f"LSTM, not RNN or GRU")
        if proj_size < 0 or (proj_size and proj_size >= hidden_size):
            raise ArgumentValueError(f"LSTM: proj_size ({proj_size}) must be 0 or in 1.."
                                     f"{hidden_size - 1} (below hidden_size)")
        if not 0 <= dropout <= 1:
            raise ArgumentError(f"dropout must be in [0, 1], got {dropout}")
        if num_layers < 1:
            raise ArgumentError(f"num_layers must be at least 1, got {num_layers}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        dirs = 2 if bidirectional else 1
        rows = self._gates * hidden_size
        out_size = proj_size or hidden_size        # the size of h (LSTM projects it to proj_size)
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else out_size * dirs
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                shapes = [("weight_ih" + sfx, (rows, layer_in)), ("weight_hh" + sfx, (rows, out_size))]
                if bias:
                    shapes += [("bias_ih" + sfx, (rows,)), ("bias_hh" + sfx, (rows,))]
                if proj_size:
                    shapes.append(("weight_hr" + sfx, (proj_size, hidden_size)))
                for name, shape in shapes:
                    setattr(self, name, _empty(*shape, dtype=dtype))
                    self._flat_weights_names.append(name)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        k = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            init.uniform_(p, -k, k)

    def flatten_parameters(self):
        """A no-op kept for code written for cuDNN."""

    @property
    def all_weights(self):
        per = (4 if self.bias else 2) + (1 if self.proj_size else 0)
        ws = [getattr(self, n) for n in self._flat_weights_names]
        return [ws[i:i + per] for i in range(0, len(ws), per)]

    # per-direction pieces that LSTM/GRU/RNN define
    def _run_direction(self, xw, whh, bhh, state, steps, vec):
        raise NotImplementedError

    def _n_states(self):
        return 1

    def forward(self, input, hx=None):
        if isinstance(input, PackedSequence):
            if self.proj_size:
                raise ArgumentError("LSTM: a PackedSequence input with proj_size is not supported")
            from ._packed import packed_forward
            return packed_forward(self, input, hx)
        if input.ndim not in (2, 3) or input.shape[-1] != self.input_size:
            raise ShapeError(f"{type(self).__name__}: expected input (seq, batch, {self.input_size}), "
                             f"(batch, seq, {self.input_size}) with batch_first, or (seq, "
                             f"{self.input_size}) unbatched; got {tuple(input.shape)}")
        unbatched = input.ndim == 2
        x = input
        if not unbatched and self.batch_first:
            x = apply(_PERMUTE, (x,), {"axes": (1, 0, 2)})           # (seq, batch, in)
        batch = 1 if unbatched else x.shape[1]
        states = self._split_hx(hx, batch, unbatched, input.dtype)
        vec = unbatched or batch == 1
        if vec and not unbatched:                                     # run a batch of one as vectors
            x = CF.reshape(x, (x.shape[0], x.shape[2]))
            states = [[None if s is None else CF.reshape(s, tuple(s.shape[-1:])) for s in ss]
                      for ss in states]
        out, finals = self._layers(x, states, vec)
        h_n = [CF.stack([f[k] for f in finals]) for k in range(self._n_states())]
        if vec and not unbatched:
            out = CF.unsqueeze(out, 1)
            h_n = [CF.unsqueeze(h, 1) for h in h_n]
        if not unbatched and self.batch_first:
            out = apply(_PERMUTE, (out,), {"axes": (1, 0, 2)})
        return out, (h_n[0] if len(h_n) == 1 else tuple(h_n))

    def _split_hx(self, hx, batch, unbatched, dtype):
        """Per layer-direction initial states: a list (L*D) of [h] or [h, c]; None = zeros."""
        n = self.num_layers * (2 if self.bidirectional else 1)
        if hx is None:
            return [[None] * self._n_states() for _ in range(n)]
        hs = hx if isinstance(hx, (tuple, list)) else (hx,)
        if len(hs) != self._n_states():
            raise ArgumentError(f"{type(self).__name__}: expected {self._n_states()} initial "
                                f"state tensor(s), got {len(hs)}")
        for i, h in enumerate(hs):
            size = self.proj_size if self.proj_size and i == 0 else self.hidden_size
            want = (n, size) if unbatched else (n, batch, size)
            if tuple(h.shape) != want:
                raise ShapeError(f"{type(self).__name__}: expected initial state of shape "
                                 f"{want}, got {tuple(h.shape)}")
        return [[h[k] for h in hs] for k in range(n)]

    def _layers(self, x, states, vec):
        dirs = 2 if self.bidirectional else 1
        finals = []
        steps = x.shape[0]
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                wih, whh = getattr(self, "weight_ih" + sfx), getattr(self, "weight_hh" + sfx)
                bih = getattr(self, "bias_ih" + sfx) if self.bias else None
                bhh = getattr(self, "bias_hh" + sfx) if self.bias else None
                xw = linear(x, wih, self._input_bias(bih, bhh))
                order = range(steps - 1, -1, -1) if d else range(steps)
                hs, final = self._run_direction(xw, whh, bhh, states[layer * dirs + d], order, vec)
                if isinstance(hs, list):     # cells stepped one node at a time (RNN, GRU)
                    hs = CF.stack(hs[::-1] if d else hs)
                outs.append(hs)
                finals.append(final)
            x = outs[0] if dirs == 1 else CF.cat(outs, dim=-1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = CF.dropout(x, self.dropout, True)
        return x, finals

    def _input_bias(self, bih, bhh):
        """The bias added to the whole input projection: both biases where they simply add."""
        if bih is None:
            return None
        return bih + bhh

    def _hidden(self, whh, whh_t, h, vec):
        return apply(_MATMUL, (whh, h)) if vec else apply(_MATMUL, (h, whh_t))

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(_RNNBase):
    """Elman RNN; nonlinearity 'tanh' (default) or 'relu'.  Returns (output, h_n)."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ArgumentError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.__dict__["nonlinearity"] = nonlinearity
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)

    def _run_direction(self, xw, whh, bhh, state, order, vec):
        whh_t = None if vec else apply(_PERMUTE, (whh,), _SWAP)
        h = _start(state[0], xw, whh)
        hs = []
        for t in order:
            hw = None if h is None else self._hidden(whh, whh_t, h, vec)
            h = _rnn_step(xw[t], hw, self.nonlinearity)
            hs.append(h)
        return hs, [h]

    def extra_repr(self):
        s = super().extra_repr()
        return s + (f", nonlinearity={self.nonlinearity}" if self.nonlinearity != "tanh" else "")


class LSTM(_RNNBase):
    """Long short-term memory.  Returns (output, (h_n, c_n))."""
    _gates = 4

    def _n_states(self):
        return 2

    def _run_direction(self, xw, whh, bhh, state, order, vec):
        """The whole sequence in one lstm_layer node (backpropagation through time inside
        it, the recurrent weight's gradient as one product); returns the stacked outputs,
        already in time order, and the final [h, c]."""
        H = self.hidden_size
        if self.proj_size:
            return self._run_projected(xw, whh, state, order, vec)
        reverse = len(order) > 1 and order[0] > order[-1]
        flip = {"index": (slice(None, None, -1),)}
        xs = apply(_GETITEM, (xw,), flip) if reverse else xw
        zeros = _make(np.zeros(tuple(xw.shape[1:-1]) + (H,), xw.dtype))
        h0 = zeros if state[0] is None else state[0]
        c0 = zeros if state[1] is None else state[1]
        out = apply(_LSTM_LAYER, (xs, whh, h0, c0))           # (T, ..., 6H): [h | c | gates]
        hs = _cols(out, 0, H)
        last = apply(_GETITEM, (out,), {"index": (-1,)})
        if reverse:
            hs = apply(_GETITEM, (hs,), flip)
        return hs, [_cols(last, 0, H), _cols(last, H, 2 * H)]


    def _run_projected(self, xw, whh, state, order, vec):
        """With proj_size: step by step, h = W_hr (o * tanh(c)) of size proj_size fed back
        through W_hh (4H, proj_size); a composition of lstm_cell, a slice and a product."""
        H = self.hidden_size
        whr = getattr(self, "weight_hr" + self._suffix(whh))
        whh_t = None if vec else apply(_PERMUTE, (whh,), _SWAP)
        h, c = _start(state[0], xw, whh), state[1]
        hs = []
        for t in order:
            hw = None if h is None else self._hidden(whh, whh_t, h, vec)
            out, c = _lstm_step(xw[t], hw, c, H)
            h = linear(out, whr)
            hs.append(h)
        return hs, [h, c]

    def _suffix(self, whh):
        """The parameter-name suffix (_l1_reverse ...) of this direction's W_hh."""
        for name in self._flat_weights_names:
            if name.startswith("weight_hh") and getattr(self, name) is whh:
                return name[len("weight_hh"):]
        raise KeyError("weight_hh")


class GRU(_RNNBase):
    """Gated recurrent unit.  Returns (output, h_n)."""
    _gates = 3

    def _input_bias(self, bih, bhh):
        return bih           # b_hn sits inside r * (W_hn h + b_hn): added per step instead

    def _run_direction(self, xw, whh, bhh, state, order, vec):
        whh_t = None if vec else apply(_PERMUTE, (whh,), _SWAP)
        h = _start(state[0], xw, whh)
        hs = []
        for t in order:
            if h is None:
                hw = bhh
            else:
                hw = _add(self._hidden(whh, whh_t, h, vec), bhh)
            h = _gru_step(xw[t], hw, h, self.hidden_size)
            hs.append(h)
        return hs, [h]
