"""DyNet's RNN builders and the immutable states they hand out.

    lstm = LSTMBuilder(layers, input_dim, hidden_dim, model)
    s = lstm.initial_state()
    s = s.add_input(x); h = s.output()        # or: outputs = s.transduce(xs)

A state is a value: add_input returns a new state and leaves the old one usable, which is
what makes tree-structured and beam-search code simple.  Each step is a few nodes of the
current graph; inputs may be batches (lookup_batch), and with autobatching, steps of many
sequences at the same depth run together.

As in DyNet (lstm.cc, gru.cc, rnn.cc, fast-lstm.cc): the builder loads its parameters into a
graph once, at the first initial_state() of that graph (which returns the same state until
renew_cg()); the first step of a sequence without an initial state has no recurrent term;
dropout masks (Gal's, fixed for the graph's sequences) are drawn at the first add_input
unless set_dropout_masks() drew them; set_h/set_s take the cell (or hidden) state they do not
set from the builder's latest step.  Names of parameters and subcollections are DyNet's, so
model files travel between the two.
"""
import numpy as np

from .. import functional as F
from ..errors import ArgumentError, ArgumentValueError
from ..tensor import _make, apply
from . import expr as E
from .graph import BatchedExpression, _stale, cg
from .lstm_ops import CELL, GATES, HIDDEN, matvec
from .lstm_ops import affine as _affine
from .params import ConstInitializer, ParameterCollection

_F32 = np.float32


class RNNState:
    """One step of a sequence: the hidden states (and an LSTM's cells) of every layer."""

    def __init__(self, builder, h=None, c=None, prev=None, out=None):
        self._builder = builder
        self._graph = builder._graph
        self._h = h            # per layer, or None: the initial state without vectors
        self._c = c            # LSTMs: per layer
        self._prev = prev
        self._out = out

    def add_input(self, x):
        return self._builder._add_input(self, x)

    def add_inputs(self, xs):
        states, cur = [], self
        for x in xs:
            cur = cur.add_input(x)
            states.append(cur)
        return states

    def transduce(self, xs):
        outs, cur = [], self
        for x in xs:
            cur = cur.add_input(x)
            outs.append(cur._out)
        return outs

    def set_h(self, es=None):
        return self._builder._set_h(self, es)

    def set_s(self, es=None):
        return self._builder._set_s(self, es)

    def output(self):
        """The last layer's hidden state; None for the initial state (as in DyNet)."""
        return self._out

    def h(self):
        return tuple(self._h or ())

    def s(self):
        if self._h is None:
            return ()
        return tuple(self._c) + tuple(self._h) if self._c is not None else tuple(self._h)

    def prev(self):
        return self._prev

    def b(self):
        return self._builder


def _batched(*xs):
    return any(x is not None and x.__class__ is BatchedExpression for x in xs)


def _count(n, what, name):
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ArgumentError(f"{name}: {what} must be a positive integer, got {n!r}")
    return int(n)


def _rate(d, fn):
    if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, float, np.integer, np.floating)) \
            or not 0.0 <= d <= 1.0:
        raise ArgumentValueError(f"{fn}: dropout rate must be a probability (>=0 and <=1), got {d!r}")
    return float(d)


def _layer_norm(x, g, b):
    """DyNet's layer_norm: g * (x - mean) / (std + 1e-8) + b, over each vector."""
    mu = F.mean(x, axis=-1, keepdims=True)
    xc = x - mu
    sigma = F.sqrt(F.mean(E.cmult(xc, xc), axis=-1, keepdims=True))
    return E.cmult(g, xc / (sigma + 1e-8)) + b


class _RNNBuilder:
    _kind = None                 # DyNet's name of the builder's subcollection
    def __init__(self, layers, input_dim, hidden_dim, model):
        name = type(self).__name__
        if isinstance(layers, (int, np.integer)) and not isinstance(layers, bool) and layers < 1:
            raise ArgumentError(f"{name}: need at least one layer")
        self.layers, self.input_dim, self.hidden_dim = E._shape(
            (layers, input_dim, hidden_dim), name, "(layers, input_dim, hidden_dim)")
        if not isinstance(model, ParameterCollection):
            raise ArgumentError(f"{name}: expected the ParameterCollection (Model) to hold its "
                                f"parameters, got {type(model).__name__}")
        self.model = self._pc = model.add_subcollection(self._kind)
        self._parent = model
        self._rates = (0.0, 0.0, 0.0)          # input, recurrent, cell
        self._graph = None
        self._zero = _make(np.zeros(self.hidden_dim, _F32))
        self.params = [self._layer_params(self.input_dim if l == 0 else self.hidden_dim)
                       for l in range(self.layers)]

    # --- DyNet's builder API -------------------------------------------------------------------
    def initial_state(self, vecs=None, update=True):
        g = cg()
        if self._graph is not g:
            self._new_graph(g, update)
        return self._init if vecs is None else self._init.set_s(vecs)

    def initial_state_from_raw_vectors(self, vecs, update=True):
        return self.initial_state([E.inputTensor(v) for v in vecs], update)

    def set_dropout(self, d):
        d = _rate(d, "set_dropout")
        self._rates = (d, d, d)

    def disable_dropout(self):
        self._rates = (0.0, 0.0, 0.0)

    def param_collection(self):
        return self._pc

    def get_parameters(self):
        return [list(ps) for ps in self.params]

    def get_parameter_expressions(self):
        if self._graph is None or self._graph is not cg():
            raise ArgumentValueError(
                f"Attempt to use a stale expression, renew CG and/or call initial_state before "
                f"accessing {type(self).__name__} internal parameters expression")
        return [list(vs) for vs in self._vars]

    def whoami(self):
        return type(self).__name__

    @property
    def spec(self):
        """What dy.save records to make the builder again (DyNet's spec tuple)."""
        return (self.layers, self.input_dim, self.hidden_dim)

    @classmethod
    def from_spec(cls, spec, model):
        return cls(*spec[:3], model, *spec[3:])

    # --- a graph, a sequence -------------------------------------------------------------------
    def _new_graph(self, g, update):
        self._graph = g
        self._update = bool(update)
        self._vars = [self._layer_vars(ps, self._update) for ps in self.params]
        self._masks = None
        self._last = None          # the latest step (set_h/set_s take what they keep from it)
        self._init = RNNState(self)

    def _layer_vars(self, ps, update):
        return [p.expr(update) for p in ps]

    def _check(self, state, what):
        if state._graph is not cg() or self._graph is not state._graph:
            raise _stale(f"{what}()")

    def _draw_masks(self, batch_size):
        """DyNet's set_dropout_masks: per layer, masks of the input, h (and c)."""
        dx, dh, dc = self._rates
        if not (dx or dh or dc):
            return []
        def mask(n, d):
            return E.random_bernoulli(n, 1.0 - d, 1.0 / (1.0 - d), batch_size)
        return [[mask(self.input_dim if l == 0 else self.hidden_dim, dx),
                 mask(self.hidden_dim, dh), mask(self.hidden_dim, dc)]
                for l in range(self.layers)]

    def set_dropout_masks(self, batch_size=1):
        if self._graph is None or self._graph is not cg():
            raise ArgumentValueError(f"{type(self).__name__}.set_dropout_masks: call "
                                     f"initial_state() first (in this graph)")
        self._masks = self._draw_masks(_count(batch_size, "batch_size", "set_dropout_masks"))

    def _add_input(self, state, x):
        self._check(state, "add_input")
        x = E._ex(x)
        dims, batch = x.dim()
        if len(dims) == 2 and dims[1] == 1:
            # DyNet's Dim {n, 1} is the column {n}: a context made by matrix * column feeds a builder
            x = E.reshape(x, (dims[0],), batch)
        if self._masks is None and self._uses_masks():
            self._masks = self._draw_masks(x.dim()[1])
        hs, cs = [], []
        for l in range(self.layers):
            h = None if state._h is None else state._h[l]
            c = None if state._c is None else state._c[l]
            h, c = self._cell(l, x, h, c, self._masks[l] if self._masks else None)
            hs.append(h)
            cs.append(c)
            x = h
        new = RNNState(self, hs, cs if self._has_cells else None, state, self._output(hs[-1]))
        self._last = new
        return new

    def _uses_masks(self):
        return any(self._rates)

    def _output(self, h):
        return h

    def _states(self, es):
        return [E._ex(e) for e in (es or [])]

    def _zeros(self):
        return E.zeros(self.hidden_dim)

    def _set_h(self, state, es):
        self._check(state, "set_h")
        es = self._states(es)
        if len(es) != self.layers:
            raise ArgumentValueError(f"{type(self).__name__}.set_h expects as many inputs as "
                                     f"layers, but got {len(es)} inputs for {self.layers} layers")
        cs = None
        if self._has_cells:
            last = self._last
            cs = list(last._c) if last is not None else [self._zeros() for _ in es]
        new = RNNState(self, es, cs, state, es[-1])
        self._last = new
        return new

    def _set_s(self, state, es):
        if not self._has_cells:
            return self._set_h(state, es)
        self._check(state, "set_s")
        es = self._states(es)
        L = self.layers
        if len(es) not in (L, 2 * L):
            raise ArgumentValueError(f"{type(self).__name__}.set_s expects either as many inputs "
                                     f"or twice as many inputs as layers, but got {len(es)} "
                                     f"inputs for {L} layers")
        if len(es) == 2 * L:
            hs = es[L:]
        else:
            last = self._last
            hs = list(last._h) if last is not None else [self._zeros() for _ in range(L)]
        new = RNNState(self, hs, es[:L], state, hs[-1])
        self._last = new
        return new

    _has_cells = False


class SimpleRNNBuilder(_RNNBuilder):
    """h_t = tanh(Wx x_t + Wh h_{t-1} + b)."""
    _kind = "simple-rnn-builder"

    def _layer_params(self, in_dim):
        H, m = self.hidden_dim, self._pc
        return (m.add_parameters((H, in_dim)), m.add_parameters((H, H)),
                m.add_parameters(H, init=ConstInitializer(0.0)))

    def set_dropouts(self, d, d_h):
        self._rates = (_rate(d, "set_dropouts"), _rate(d_h, "set_dropouts"), 0.0)

    def _cell(self, l, x, h, c, masks):
        Wx, Wh, b = self._vars[l]
        dx, dh, _ = self._rates
        if dx:
            x = E.cmult(x, masks[0])
        if h is not None and dh:
            h = E.cmult(h, masks[1])
        return E.tanh(_affine(b, [(Wx, x), (Wh, h)])), None


class GRUBuilder(_RNNBuilder):
    """z = s(Wxz x + Whz h + bz), r = s(Wxr x + Whr h + br),
    c = tanh(Wxh x + Whh (r * h) + bh), h' = (1 - z) * h + z * c  (DyNet's gru.cc).
    Its dropout is DyNet's too: a fresh mask on every layer's input and on the output, at
    every step."""
    _kind = "gru-builder"

    def _layer_params(self, in_dim):
        H, m = self.hidden_dim, self._pc
        zero = ConstInitializer(0.0)
        return tuple(p for _ in range(3) for p in (m.add_parameters((H, in_dim)),
                                                  m.add_parameters((H, H)),
                                                  m.add_parameters(H, init=zero)))

    def _uses_masks(self):
        return False

    def _dropout(self, x):
        d = self._rates[0]
        dims, bs = x.dim()
        return E.cmult(x, E.random_bernoulli(dims, 1.0 - d, 1.0 / (1.0 - d), bs))

    def _cell(self, l, x, h, c, masks):
        Wxz, Whz, bz, Wxr, Whr, br, Wxh, Whh, bh = self._vars[l]
        if self._rates[0]:
            x = self._dropout(x)
        z = E.logistic(_affine(bz, [(Wxz, x), (Whz, h)]))
        if h is None:
            return E.cmult(z, E.tanh(_affine(bh, [(Wxh, x)]))), None
        r = E.logistic(_affine(br, [(Wxr, x), (Whr, h)]))
        cand = E.tanh(_affine(bh, [(Wxh, x), (Whh, E.cmult(r, h))]))
        return E.cmult(1.0 - z, h) + E.cmult(z, cand), None

    def _output(self, h):
        return self._dropout(h) if self._rates[0] else h


class VanillaLSTMBuilder(_RNNBuilder):
    """i, f, o, g from one stacked affine map (rows [i | f | o | g]); f gets forget_bias
    (default 1) added; c = f * c + i * g; h = o * tanh(c).  Unbatched steps run as DyNet's
    three fused LSTM nodes (vanilla_lstm_gates/_c/_h), which autobatch well."""
    _kind = "vanilla-lstm-builder"
    _has_cells = True

    def __init__(self, layers, input_dim, hidden_dim, model, ln_lstm=False, forget_bias=1.0):
        self._spec_extra = (ln_lstm, forget_bias)
        self.ln_lstm = bool(ln_lstm)
        self.forget_bias = float(forget_bias)
        self._attrs = {"forget_bias": self.forget_bias}
        self.ln_params = []
        super().__init__(layers, input_dim, hidden_dim, model)

    def _layer_params(self, in_dim):
        H, m = self.hidden_dim, self._pc
        ps = (m.add_parameters((4 * H, in_dim)), m.add_parameters((4 * H, H)),
              m.add_parameters(4 * H, init=ConstInitializer(0.0)))
        if self.ln_lstm:
            # DyNet adds these to the collection passed in, not to the builder's own
            m = self._parent
            one, zero = ConstInitializer(1.0), ConstInitializer(0.0)
            self.ln_params.append([m.add_parameters(4 * H, init=one), m.add_parameters(4 * H, init=zero),
                                   m.add_parameters(4 * H, init=one), m.add_parameters(4 * H, init=zero),
                                   m.add_parameters(H, init=one), m.add_parameters(H, init=zero)])
        return ps

    def set_dropouts(self, d, d_r):
        self._rates = (_rate(d, "set_dropouts"), _rate(d_r, "set_dropouts"), 0.0)

    @property
    def spec(self):
        return (self.layers, self.input_dim, self.hidden_dim) + self._spec_extra

    def _new_graph(self, g, update):
        super()._new_graph(g, update)
        self._ln_vars = [[p.expr(self._update) for p in ps] for ps in self.ln_params]

    def _weights(self, l):
        return self._vars[l]

    def _cell(self, l, x, h, c, masks):
        Wx, Wh, b = self._weights(l)
        dx, dh, _ = self._rates
        if dx:
            x = E.cmult(x, masks[0])
        if h is not None and dh:
            h = E.cmult(h, masks[1])
        if not self.ln_lstm and not _batched(x, h, c) and self._fused(l):
            if h is None:
                h = c = self._zero
            gates = apply(GATES, (x, h, Wx, Wh, b), self._attrs)
            c = apply(CELL, (c, gates))
            return apply(HIDDEN, (c, gates)), c
        H = self.hidden_dim
        if self.ln_lstm:
            gh, bh, gx, bx, gc, bc = self._ln_vars[l]
            z = b + _layer_norm(matvec(Wx, x), gx, bx)
            if h is not None:
                z = z + _layer_norm(matvec(Wh, h), gh, bh)
        else:
            z = _affine(b, [(Wx, x), (Wh, h)])
        i = E.logistic(E.pickrange(z, 0, H))
        f = E.pickrange(z, H, 2 * H)
        f = E.logistic(f + self.forget_bias if self.forget_bias != 0.0 else f)
        o = E.logistic(E.pickrange(z, 2 * H, 3 * H))
        g = E.tanh(E.pickrange(z, 3 * H, 4 * H))
        c = E.cmult(i, g) if c is None else E.cmult(f, c) + E.cmult(i, g)
        hc = _layer_norm(c, self._ln_vars[l][4], self._ln_vars[l][5]) if self.ln_lstm else c
        return E.cmult(o, E.tanh(hc)), c

    def _fused(self, l):
        return True


LSTMBuilder = VanillaLSTMBuilder


class CompactVanillaLSTMBuilder(VanillaLSTMBuilder):
    """VanillaLSTMBuilder's equations through DyNet's fused nodes (and their weight noise)."""
    _kind = "compact-vanilla-lstm-builder"

    def __init__(self, layers, input_dim, hidden_dim, model):
        self._weightnoise = 0.0
        super().__init__(layers, input_dim, hidden_dim, model)

    @property
    def spec(self):
        return (self.layers, self.input_dim, self.hidden_dim)

    def set_weightnoise(self, std):
        if isinstance(std, bool) or not isinstance(std, (int, float, np.integer, np.floating)) or std < 0:
            raise ArgumentValueError(f"set_weightnoise: std must be a number >= 0, got {std!r}")
        self._weightnoise = float(std)

    def _weights(self, l):
        ws = self._vars[l]
        if not self._weightnoise:
            return ws
        return [E.noise(w, self._weightnoise) for w in ws]    # fresh noise at every step


class SparseLSTMBuilder(VanillaLSTMBuilder):
    """VanillaLSTMBuilder whose weight matrices are multiplied by fixed 0/1 masks (parameters
    that set_sparsity() sets and no trainer changes: they enter the graph as constants)."""
    _kind = "vanilla-lstm-builder"

    def _layer_params(self, in_dim):
        H, m = self.hidden_dim, self._pc
        one = ConstInitializer(1.0)
        Wx, Wh = m.add_parameters((4 * H, in_dim)), m.add_parameters((4 * H, H))
        mx, mh = m.add_parameters((4 * H, in_dim), init=one), m.add_parameters((4 * H, H), init=one)
        b = m.add_parameters(4 * H, init=ConstInitializer(0.0))
        if self.ln_lstm:
            raise ArgumentError("SparseLSTMBuilder: ln_lstm is not supported here")
        return (Wx, Wh, b, mx, mh)

    def _layer_vars(self, ps, update):
        Wx, Wh, b, mx, mh = ps
        return [E.cmult(Wx.expr(update), mx.expr(False)), E.cmult(Wh.expr(update), mh.expr(False)),
                b.expr(update)]

    def set_sparsity(self, percent):
        """Zero the masks of the given fraction of the weights of smallest magnitude."""
        weights = [(l, k, ps[k], ps[k + 3]) for l, ps in enumerate(self.params) for k in (0, 1)]
        mags = np.concatenate([np.abs(w._value * m._value).reshape(-1, order="F")
                               for _, _, w, m in weights])
        prune = int(float(percent) * mags.size)
        keep = np.ones(mags.size, _F32)
        keep[np.argsort(mags, kind="stable")[:prune]] = 0.0
        at = 0
        for _, _, w, m in weights:
            n = m._value.size
            m._assign(keep[at:at + n].reshape(m._value.shape, order="F"))
            at += n

    def _fused(self, l):
        return False


class CoupledLSTMBuilder(_RNNBuilder):
    """An LSTM with coupled input and forget gates (f = 1 - i) and peepholes (DyNet's
    LSTMBuilder of old): parameters per layer x2i, h2i, c2i, bi, x2o, h2o, c2o, bo, x2c, h2c, bc."""
    _kind = "lstm-builder"
    _has_cells = True

    def _layer_params(self, in_dim):
        H, m = self.hidden_dim, self._pc
        zero = ConstInitializer(0.0)
        return (m.add_parameters((H, in_dim)), m.add_parameters((H, H)), m.add_parameters((H, H)),
                m.add_parameters(H, init=zero),
                m.add_parameters((H, in_dim)), m.add_parameters((H, H)), m.add_parameters((H, H)),
                m.add_parameters(H, init=zero),
                m.add_parameters((H, in_dim)), m.add_parameters((H, H)), m.add_parameters(H, init=zero))

    def _cell(self, l, x, h, c, masks):
        x2i, h2i, c2i, bi, x2o, h2o, c2o, bo, x2c, h2c, bc = self._vars[l]
        dx, dh, dc = self._rates
        if dx:
            x = E.cmult(x, masks[0])
        c_in = c
        if h is not None:
            if dh:
                h = E.cmult(h, masks[1])
            if dc:
                c_in = E.cmult(c, masks[2])
        i = E.logistic(_affine(bi, [(x2i, x), (h2i, h), (c2i, c_in)]))
        w = E.tanh(_affine(bc, [(x2c, x), (h2c, h)]))
        c = E.cmult(i, w) if c is None else E.cmult(1.0 - i, c) + E.cmult(i, w)
        c_out = E.cmult(c, masks[2]) if dc else c
        o = E.logistic(_affine(bo, [(x2o, x), (h2o, h), (c2o, c_out)]))
        return E.cmult(o, E.tanh(c)), c


class FastLSTMBuilder(CoupledLSTMBuilder):
    """DyNet's FastLSTMBuilder: CoupledLSTMBuilder's gates without the peepholes (its c2i and
    c2o, of dims (H, 1), are made but unused, as in fast-lstm.cc), and no dropout."""
    _kind = "fast-lstm-builder"

    def _layer_params(self, in_dim):
        H, m = self.hidden_dim, self._pc
        zero = ConstInitializer(0.0)
        return (m.add_parameters((H, in_dim)), m.add_parameters((H, H)), m.add_parameters((H, 1)),
                m.add_parameters(H, init=zero),
                m.add_parameters((H, in_dim)), m.add_parameters((H, H)), m.add_parameters((H, 1)),
                m.add_parameters(H, init=zero),
                m.add_parameters((H, in_dim)), m.add_parameters((H, H)), m.add_parameters(H, init=zero))

    def _uses_masks(self):
        return False

    def _cell(self, l, x, h, c, masks):
        x2i, h2i, _, bi, x2o, h2o, _, bo, x2c, h2c, bc = self._vars[l]
        i = E.logistic(_affine(bi, [(x2i, x), (h2i, h)]))
        w = E.tanh(_affine(bc, [(x2c, x), (h2c, h)]))
        c = E.cmult(i, w) if c is None else E.cmult(1.0 - i, c) + E.cmult(i, w)
        o = E.logistic(_affine(bo, [(x2o, x), (h2o, h)]))
        return E.cmult(o, E.tanh(c)), c

    @property
    def spec(self):
        raise AttributeError("'FastLSTMBuilder' object has no attribute 'spec' (as in DyNet: "
                             "dy.save cannot save it)")


class BiRNNBuilder:
    """Layers of a forward and a backward RNN of hidden_dim/2 each; outputs concatenated."""

    def __init__(self, num_layers, input_dim, hidden_dim, model, rnn_builder_factory,
                 builder_layers=None):
        self.spec = (num_layers, input_dim, hidden_dim, rnn_builder_factory, builder_layers)
        if not isinstance(model, ParameterCollection):
            raise ArgumentError(f"BiRNNBuilder: expected the ParameterCollection (Model) to hold "
                                f"its parameters, got {type(model).__name__}")
        model = self.model = model.add_subcollection("birnn")
        if builder_layers is not None:
            self.builder_layers = list(builder_layers)
            return
        _count(num_layers, "num_layers", "BiRNNBuilder")
        if isinstance(hidden_dim, (int, np.integer)) and hidden_dim % 2:
            raise ArgumentValueError(f"BiRNNBuilder: hidden_dim must be even (it is split between "
                                     f"the two directions), got {hidden_dim}")
        self.builder_layers = []
        d = input_dim
        for _ in range(num_layers):
            f = rnn_builder_factory(1, d, hidden_dim // 2, model)
            b = rnn_builder_factory(1, d, hidden_dim // 2, model)
            self.builder_layers.append((f, b))
            d = hidden_dim

    @classmethod
    def from_spec(cls, spec, model):
        num_layers, input_dim, hidden_dim, factory, builder_layers = spec
        return cls(num_layers, input_dim, hidden_dim, model, factory, builder_layers)

    def param_collection(self):
        return self.model

    def whoami(self):
        return "BiRNNBuilder"

    def set_dropout(self, p):
        for f, b in self.builder_layers:
            f.set_dropout(p)
            b.set_dropout(p)

    def disable_dropout(self):
        for f, b in self.builder_layers:
            f.disable_dropout()
            b.disable_dropout()

    def _layer(self, f, b, es):
        fs = f.initial_state().transduce(es)
        bs = b.initial_state().transduce(list(reversed(es)))
        return [E.concatenate([x, y]) for x, y in zip(fs, reversed(bs))]

    def transduce(self, es):
        es = list(es)
        for f, b in self.builder_layers:
            es = self._layer(f, b, es)
        return es

    def add_inputs(self, es):
        es = list(es)
        for f, b in self.builder_layers[:-1]:
            es = self._layer(f, b, es)
        f, b = self.builder_layers[-1]
        fs = f.initial_state().add_inputs(es)
        bs = b.initial_state().add_inputs(list(reversed(es)))
        return list(zip(fs, reversed(bs)))
