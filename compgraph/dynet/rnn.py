"""DyNet's RNN builders: SimpleRNNBuilder, VanillaLSTMBuilder (= LSTMBuilder), GRUBuilder,
BiRNNBuilder, and the immutable states they hand out.

    lstm = LSTMBuilder(layers, input_dim, hidden_dim, model)
    s = lstm.initial_state()
    s = s.add_input(x); h = s.output()        # or: outputs = s.transduce(xs)

A state is a value: add_input returns a new state and leaves the old one usable, which is
what makes tree-structured and beam-search code simple.  Each step is a few nodes of the
current graph; with autobatching, steps of many sequences at the same depth run together.
"""
import numpy as np

from ..errors import ArgumentError
from ..random import generator
from ..tensor import _make, apply
from . import expr as E
from .lstm_ops import CELL, GATES, HIDDEN
from .graph import cg
from .params import ConstInitializer, ParameterCollection

_F32 = np.float32


class RNNState:
    def __init__(self, builder, layers, prev=None, out=None):
        self._builder = builder
        self._layers = layers          # per layer: the builder's state tuple
        self._prev = prev
        self._out = out

    def add_input(self, x):
        layers, out = self._builder._step(self._layers, E._ex(x))
        return RNNState(self._builder, layers, self, out)

    def output(self):
        if self._out is None:
            raise ArgumentError("output(): the initial state has no output yet; add_input first")
        return self._out

    def h(self):
        return [self._builder._hidden(s) for s in self._layers]

    def s(self):
        return self._builder._full_state(self._layers)

    def prev(self):
        return self._prev

    def b(self):
        return self._builder

    def transduce(self, xs):
        outs, layers = [], self._layers
        for x in xs:
            layers, out = self._builder._step(layers, E._ex(x))
            outs.append(out)
        return outs

    def add_inputs(self, xs):
        states, cur = [], self
        for x in xs:
            cur = cur.add_input(x)
            states.append(cur)
        return states


class _RNNBuilder:
    def __init__(self, layers, input_dim, hidden_dim, model, kind):
        name = type(self).__name__
        if isinstance(layers, (int, np.integer)) and not isinstance(layers, bool) and layers < 1:
            raise ArgumentError(f"{name}: need at least one layer")
        layers, input_dim, hidden_dim = E._shape((layers, input_dim, hidden_dim), name,
                                                 "(layers, input_dim, hidden_dim)")
        if not isinstance(model, ParameterCollection):
            raise ArgumentError(f"{name}: expected the ParameterCollection (Model) to hold its "
                                f"parameters, got {type(model).__name__}")
        self.layers, self.input_dim, self.hidden_dim = layers, input_dim, hidden_dim
        self.model = model.add_subcollection(kind)
        self.dropout_rate = 0.0
        self._wcache = (None, None)
        self._zero = _make(np.zeros(hidden_dim, _F32))   # the state before any input
        self.params = [self._layer_params(input_dim if l == 0 else hidden_dim)
                       for l in range(layers)]

    # DyNet's builder API
    def initial_state(self, vecs=None, update=True):
        self._update = update
        self._wcache = (None, None)
        self._masks = self._draw_masks()
        return RNNState(self, self._initial_layers(vecs))

    def initial_state_from_raw_vectors(self, vecs=None, update=True):
        vecs = None if vecs is None else [E.inputVector(v) for v in vecs]
        return self.initial_state(vecs, update)

    def set_dropout(self, p):
        self.dropout_rate = float(p)

    def disable_dropout(self):
        self.dropout_rate = 0.0

    def param_collection(self):
        return self.model

    def get_parameters(self):
        return [list(ps) for ps in self.params]

    def get_parameter_expressions(self):
        return [[E.parameter(p) for p in ps] for ps in self.params]

    # --- internals -----------------------------------------------------------------------------
    def _draw_masks(self):
        """Per-sequence dropout masks on each layer's input and recurrent state (Gal's)."""
        p = self.dropout_rate
        if not p:
            return None
        def mask(n):
            return _make((generator().random(n) >= p).astype(_F32) / _F32(1 - p))
        return [(mask(self.input_dim if l == 0 else self.hidden_dim), mask(self.hidden_dim))
                for l in range(self.layers)]

    def _weights(self, l):
        """The layer's parameter nodes in the current graph (looked up once per graph)."""
        g = cg()
        if self._wcache[0] is not g:
            update = getattr(self, "_update", True)
            self._wcache = (g, [[p.expr(update) for p in ps] for ps in self.params])
        return self._wcache[1][l]

    def _step(self, layers, x):
        new = []
        for l, state in enumerate(layers):
            if self._masks is not None:
                mx, mh = self._masks[l]
                x = E.cmult(x, mx)
                state = self._masked(state, mh)
            state = self._cell(l, state, x)
            new.append(state)
            x = self._hidden(state)
        return new, x

    def _masked(self, state, mh):
        return state[:-1] + (E.cmult(state[-1], mh),)

    def _hidden(self, state):
        return state[-1]


class VanillaLSTMBuilder(_RNNBuilder):
    """LSTM with DyNet's fused gate ops; forget_bias is added to the forget gate."""

    def __init__(self, layers, input_dim, hidden_dim, model, ln_lstm=False, forget_bias=1.0):
        if ln_lstm:
            raise ArgumentError("VanillaLSTMBuilder: ln_lstm (layer normalization) is not supported")
        self._attrs = {"forget_bias": float(forget_bias)}
        super().__init__(layers, input_dim, hidden_dim, model, "vanilla-lstm-builder")

    def _layer_params(self, in_dim):
        H = self.hidden_dim
        return (self.model.add_parameters((4 * H, in_dim)),
                self.model.add_parameters((4 * H, H)),
                self.model.add_parameters(4 * H, init=ConstInitializer(0.0)))

    def _initial_layers(self, vecs):
        if vecs is None:
            return [(self._zero, self._zero)] * self.layers
        vecs = [E._ex(v) for v in vecs]
        if len(vecs) != 2 * self.layers:
            raise ArgumentError(f"initial_state: an LSTM of {self.layers} layer(s) takes "
                                f"{2 * self.layers} vectors (the cells, then the hidden states)")
        return [(vecs[l], vecs[self.layers + l]) for l in range(self.layers)]

    def _cell(self, l, state, x):
        c, h = state
        Wx, Wh, b = self._weights(l)
        gates = apply(GATES, (x, h, Wx, Wh, b), self._attrs)
        c = apply(CELL, (c, gates))
        return (c, apply(HIDDEN, (c, gates)))

    def _full_state(self, layers):
        return [s[0] for s in layers] + [s[1] for s in layers]


LSTMBuilder = VanillaLSTMBuilder


class SimpleRNNBuilder(_RNNBuilder):
    """h_t = tanh(Wx x_t + Wh h_{t-1} + b)."""

    def __init__(self, layers, input_dim, hidden_dim, model):
        super().__init__(layers, input_dim, hidden_dim, model, "simple-rnn-builder")

    def _layer_params(self, in_dim):
        H = self.hidden_dim
        return (self.model.add_parameters((H, in_dim)), self.model.add_parameters((H, H)),
                self.model.add_parameters(H, init=ConstInitializer(0.0)))

    def _initial_layers(self, vecs):
        if vecs is None:
            return [(self._zero,)] * self.layers
        return [(E._ex(v),) for v in vecs]

    def _cell(self, l, state, x):
        Wx, Wh, b = self._weights(l)
        return (E.tanh(Wx * x + Wh * state[0] + b),)

    def _full_state(self, layers):
        return [s[0] for s in layers]


class GRUBuilder(_RNNBuilder):
    """z = s(Wxz x + Whz h + bz), r = s(Wxr x + Whr h + br),
    c = tanh(Wxh x + Whh (r * h) + bh), h' = z * h + (1 - z) * c."""

    def __init__(self, layers, input_dim, hidden_dim, model):
        super().__init__(layers, input_dim, hidden_dim, model, "gru-builder")

    def _layer_params(self, in_dim):
        H, m = self.hidden_dim, self.model
        zero = ConstInitializer(0.0)
        return tuple(p for _ in range(3) for p in (m.add_parameters((H, in_dim)),
                                                  m.add_parameters((H, H)),
                                                  m.add_parameters(H, init=zero)))

    def _initial_layers(self, vecs):
        if vecs is None:
            return [(self._zero,)] * self.layers
        return [(E._ex(v),) for v in vecs]

    def _cell(self, l, state, x):
        Wxz, Whz, bz, Wxr, Whr, br, Wxh, Whh, bh = self._weights(l)
        h = state[0]
        z = E.logistic(Wxz * x + Whz * h + bz)
        r = E.logistic(Wxr * x + Whr * h + br)
        c = E.tanh(Wxh * x + Whh * E.cmult(r, h) + bh)
        return (E.cmult(z, h) + E.cmult(1.0 - z, c),)

    def _full_state(self, layers):
        return [s[0] for s in layers]


class BiRNNBuilder:
    """Layers of a forward and a backward RNN of hidden_dim/2 each; outputs concatenated."""

    def __init__(self, num_layers, input_dim, hidden_dim, model, rnn_builder_factory):
        if hidden_dim % 2:
            raise ArgumentError(f"BiRNNBuilder: hidden_dim must be even, got {hidden_dim}")
        self.builder_layers = []
        d = input_dim
        for _ in range(num_layers):
            f = rnn_builder_factory(1, d, hidden_dim // 2, model)
            b = rnn_builder_factory(1, d, hidden_dim // 2, model)
            self.builder_layers.append((f, b))
            d = hidden_dim

    def set_dropout(self, p):
        for f, b in self.builder_layers:
            f.set_dropout(p)
            b.set_dropout(p)

    def disable_dropout(self):
        self.set_dropout(0.0)

    def transduce(self, es):
        for f, b in self.builder_layers:
            fs = f.initial_state().transduce(es)
            bs = b.initial_state().transduce(list(reversed(es)))
            es = [E.concatenate([x, y]) for x, y in zip(fs, reversed(bs))]
        return es

    def add_inputs(self, es):
        for f, b in self.builder_layers[:-1]:
            fs = f.initial_state().transduce(es)
            bs = b.initial_state().transduce(list(reversed(es)))
            es = [E.concatenate([x, y]) for x, y in zip(fs, reversed(bs))]
        f, b = self.builder_layers[-1]
        fs = f.initial_state().add_inputs(es)
        bs = b.initial_state().add_inputs(list(reversed(es)))
        return list(zip(fs, reversed(bs)))
