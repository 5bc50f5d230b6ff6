"""Automatic operation batching for lazy graphs (Neubig, Goldberg & Dyer, NIPS 2017).

The user builds one lazy graph holding many examples, each written for a single example
(no padding, no masks).  When values are needed, `BatchingGraph.evaluate` runs the
agenda-based strategy of DyNet:

  1. every pending node gets a depth (1 + the deepest pending input) and a *signature*:
     its op, its rule's key (attributes that must agree), and for each input either the
     input's shape and dtype (the input is stacked along a new batch axis) or the input's
     identity (the input is *shared*: a parameter, the same node in every member, as W in
     W*x_i -- DyNet's sig.h idea);
  2. nodes whose inputs are all computed wait on an agenda, grouped by signature;
  3. repeatedly, the group whose signature has the lowest average depth over the whole
     graph runs as one batched NumPy call (its op's rule, compgraph.executors.rules), and
     the rows of the result are scattered back to the nodes as views.  Preferring shallow
     signatures lets deep ones (an output layer used at every time step) wait until all
     of their nodes are ready and run as one large batch.

Ops without a rule, and groups of one, run node by node exactly as the plain graph would.

Backward reuses the forward batches: `backward_from(root)` walks the executed batches in
reverse, stacks the gradients of each batch's members, applies the batched VJP of the
rule once, and hands each stacked input its row; a shared input gets the sum.

Tensor dialect: `compgraph.autobatch()` opens such a graph::

    with compgraph.autobatch() as cg:          # a BatchingGraph
        losses = []
        for x, y in examples:
            h = F.tanh(W @ cg.input(x) + b)     # W, b: ordinary parameters (shared)
            losses.append(F.cross_entropy(V @ h, y))
        loss = F.stack(losses).sum()
    cg.backward(loss)                           # batched forward and backward
    print(cg.autobatch_report())

Inside the graph, `cg.input(x)` makes a per-example input, `cg.lookup(E, i)` a row of an
embedding table (batched into one gather), and eager parameters used with graph nodes are
recorded as shared inputs.  `loss.backward()` works too: it evaluates through the batched
forward, then sweeps node by node in the core (correct, but only the forward is batched).

Ragged batches: examples may be whole sequences of different lengths, written one at a
time with whole-sequence ops and no padding::

    with compgraph.autobatch() as cg:
        losses = []
        for words, tags in sentences:                     # lengths T_i all different
            states, _ = lstm(cg.lookup(embed.weight, words))  # (T_i, E) rows, one LSTM node
            losses.append(F.cross_entropy(out(states), tags, reduction="sum"))
        loss = F.stack(losses).mean()
    cg.backward(loss)

Rules with a ragged mode (rules.py: linear, elementwise ops, lookups, row slices and
picks, cross-entropy, lstm_layer) batch nodes whose inputs differ only in their leading
(time) dimension: their rows are concatenated (one GEMM for every sentence's rows), per
sentence reductions become segment sums, lstm_layer runs as one packed sequence, and the
result is split back at the sentences' lengths.  An eager result of one op on parameters
used in the graph (nn.LSTM's b_ih + b_hh, made anew per sentence) is re-recorded here once
and shared, so that it does not split the batches of the nodes using it.
"""
import numpy as np

from .. import state
from ..autograd import array_namespace, backprop, reachable, unbroadcast
from ..errors import ArgumentError
from ..graph import Graph
from ..ops import OPS
from ..tensor import Tensor, _make, _as_array, _next_id
from . import rules
from .rules import RAGGED, SHARED, Segments, attrs_key

rules.install()

_GETITEM = OPS["getitem"]
_NP = array_namespace(np)


class Batch:
    """Nodes run together; `args` and `out` are kept for the batched backward, and for a
    ragged batch its Segments (`flags` is then its RaggedLayout)."""
    __slots__ = ("nodes", "args", "flags", "out", "seg")

    def __init__(self, nodes, args=None, flags=None, out=None, seg=None):
        self.nodes, self.args, self.flags, self.out, self.seg = nodes, args, flags, out, seg


class RaggedLayout:
    """A ragged signature's plan: how each input is passed (rules.RAGGED, MEMBER, SHARED)
    and whether the output is ragged rows or one result per member."""
    __slots__ = ("kinds", "rows")

    def __init__(self, kinds, rows):
        self.kinds, self.rows = kinds, rows


class FusedLayout:
    """A signature run by a kernel of its own: a recognised idiom of several nodes (the
    DyNet dialect's fused regions: compgraph/dynet/lstm_fusion.py, regions.py), whose
    members are objects
    with `inputs` (what they wait for) and `outs` (the nodes they compute).  `run(graph,
    group)` computes a group and returns the nodes whose consumers may run next;
    `vjp(ns, batch, grads, keep_all)` is its backward.  A graph puts such members on the
    agenda by overriding `_fuse`."""
    name = "fused"

    def run(self, graph, group):
        raise NotImplementedError

    def vjp(self, ns, batch, grads, keep_all):
        raise NotImplementedError


class BatchReport:
    """How a graph's nodes were batched: totals and a per-op breakdown."""

    def __init__(self, ops):
        self.ops = ops                                    # op name -> [nodes, batches]
        self.nodes = sum(n for n, _ in ops.values())
        self.batches = sum(b for _, b in ops.values())
        self.average_batch = self.nodes / self.batches if self.batches else 0.0

    def as_dict(self):
        return {"nodes": self.nodes, "batches": self.batches,
                "average_batch": self.average_batch,
                "ops": {k: {"nodes": n, "batches": b} for k, (n, b) in self.ops.items()}}

    def __str__(self):
        lines = [f"autobatch: {self.nodes} nodes in {self.batches} batches "
                 f"(average batch {self.average_batch:.1f})"]
        for name, (n, b) in sorted(self.ops.items(), key=lambda kv: -kv[1][0]):
            lines.append(f"  {name:<22} {n:>7} nodes {b:>6} batches  avg {n / b:6.1f}")
        return "\n".join(lines)

    __repr__ = __str__


_infer_cache = {}
_sig_cache = {}          # record key -> (meta, rule, signature, layout), across graphs


def _infer(op, shapes, dtypes, attrs):
    """(shape, dtype) of op's result: the op's rules, memoized on hashable arguments
    (a lazy graph records the same few op/shape combinations over and over)."""
    key = (op, tuple(shapes), tuple(dtypes), tuple(attrs.items()) if attrs else ())
    try:
        hit = _infer_cache.get(key)
    except TypeError:                  # unhashable attributes (slices, index arrays)
        key, hit = None, None
    if hit is not None:
        return hit
    shape = op.shape(*shapes, **attrs) if op.shape is not None else None
    if op.dtype is not None:
        dtype = op.dtype(*dtypes, **attrs)
    elif all(d == dtypes[0] for d in dtypes):
        dtype = dtypes[0]
    else:
        dtype = np.result_type(*dtypes)
    hit = (tuple(shape), np.dtype(dtype))
    if key is not None:
        if len(_infer_cache) > 50000:
            _infer_cache.clear()
        _infer_cache[key] = hit
    return hit


class BatchingGraph(Graph):
    """A lazy Graph whose evaluate batches (autobatch=True) or runs node by node, each
    node computed once: nodes before `_frontier` are known to have values."""
    node_class = Tensor

    def __init__(self, autobatch=True):
        super().__init__()
        self.autobatch = autobatch
        self.shared_ids = set()      # ids of graph leaves that are parameters
        self._frontier = 0
        self._batches = []
        self._stats = {}
        self._transposed = {}     # id -> (parameter matrix, its transpose), per evaluation
        self._depth = {}          # node -> depth, noted when recorded
        self._recorded = {}       # record key -> ((shape, dtype), signature id)
        self._sigof = {}          # node -> signature id; absent: the node runs alone
        self._sig_ids = {}        # signature -> id
        self._sig_flags = []      # id -> which inputs are shared
        self._sig_depth = []      # id -> total depth of its nodes
        self._sig_count = []      # id -> number of its nodes
        self._lifted = {}         # (op, input ids, attributes) -> (node, inputs)

    # --- the tensor dialect's scope ----------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def input(self, value, dtype=None):
        """A per-example input: a leaf of this graph, stacked with its peers when batched."""
        arr = _as_array(value, dtype)
        return self._adopt(_make(arr, False))

    autobatch_input = input

    def lookup(self, table, index):
        """Row `index` of `table` (a parameter), or rows `table[ids]` for an int array of
        ids (a whole sentence), recorded here; lookups of one table batch into one gather
        (ragged: sentences of any length) and their gradients into one scatter."""
        ids = index._value if isinstance(index, Tensor) else index
        if isinstance(ids, (int, np.integer)) or np.ndim(ids) == 0:
            return self.record(_GETITEM, (table,), {"index": (int(ids),)})
        ids = np.asarray(ids)
        if ids.dtype.kind not in "iu":
            raise ArgumentError(f"lookup: ids must be integers, got {ids.dtype}")
        return self.record(_GETITEM, (table,), {"index": (ids,)})

    def _lift(self, t):
        """An eager result used in this graph, made of one op on leaves (parameters,
        constants), re-recorded as a node of the graph: then it batches with its peers
        and its gradient flows in the batched backward.  Equal recordings (the same op,
        inputs and attributes: nn.LSTM's b_ih + b_hh, made again for every sentence) are
        one node; one without array attributes is a function of parameters alone, the
        same in every member, so it is *shared*.  Deeper eager histories stay outside."""
        ins = t.inputs
        for x in ins:
            if x.op is not None or x._graph is not None:
                return t
        ak = attrs_key(t.attrs)
        if ak is None:
            return t
        key = (t.op, tuple([id(x) for x in ins]), ak)
        hit = self._lifted.get(key)
        if hit is None:
            node = self.record(t.op, ins, t.attrs)
            if not any(isinstance(v, np.ndarray) for v in _flat_attrs(t.attrs)):
                self.shared_ids.add(node._id)
            hit = self._lifted[key] = (node, ins)       # ins kept alive: their ids stay unique
        return hit[0]

    # --- recording ------------------------------------------------------------------------------
    def record(self, op, args, attrs, lifted=False):
        """Graph.record, lean: the shape and dtype rules memoized and, when batching, the
        node's depth and signature noted in the same pass over its inputs.  The per-node
        cost of building and scheduling is what autobatching has to win back."""
        if not self.autobatch:
            shapes, dtypes = [], []
            rg = False
            for a in args:
                v = a._value
                if v is not None:
                    shapes.append(v.shape)
                    dtypes.append(v.dtype)
                else:
                    m = a._meta
                    shapes.append(m[0])
                    dtypes.append(m[1])
                if a.requires_grad:
                    rg = True
            return self._new_node(op, args, attrs, _infer(op, shapes, dtypes, attrs), rg)
        # one key says everything the shape rule and the signature depend on: per input,
        # its id when it is shared (a parameter) or else its shape, and its dtype
        shared, depth = self.shared_ids, self._depth
        rule = op.batch
        stack_all = rule is None or rule.stack_all
        key = [op]
        d = 0
        rg = False
        for a in args:
            v = a._value
            if v is not None:
                if a.op is not None and a._graph is None and not lifted:
                    # an eager result: lifted into the graph (rare), then recorded anew
                    return BatchingGraph.record(self, op, tuple([
                        self._lift(x) if x.op is not None and x._graph is None else x
                        for x in args]), attrs, True)
                shape, dtype = v.shape, v.dtype
            else:
                shape, dtype = a._meta[0], a._meta[1]
                da = depth.get(a, 0)
                if da > d:
                    d = da
            if a.requires_grad:
                rg = True
                if not stack_all and (a._graph is None or a._id in shared):
                    shape = a._id
            elif not stack_all and a._graph is not None and a._id in shared:
                shape = a._id
            key.append(shape)
            key.append(dtype)
        ak = attrs_key(attrs)
        key.append(ak)
        key = tuple(key)
        hit = self._recorded.get(key) if ak is not None else None
        if hit is None:
            # a key seen in an earlier graph (the same parameters, new sentences) has the
            # same shape and signature: only the signature's id here is new
            known = _sig_cache.get(key) if ak is not None else None
            if known is not None and known[1] is rule:
                meta, _, sig, layout = known
                t = self._new_node(op, args, attrs, meta, rg)
            else:
                meta = _infer(op, [a.shape for a in args], [a.dtype for a in args], attrs)
                t = self._new_node(op, args, attrs, meta, rg)
                sig, layout = self._signature(t, key)
                if ak is not None:
                    if len(_sig_cache) > 50000:
                        _sig_cache.clear()
                    _sig_cache[key] = (meta, rule, sig, layout)
            sid = None if sig is None else self._intern(sig, layout)
            if ak is not None:
                self._recorded[key] = (meta, sid)
        else:
            meta, sid = hit
            t = self._new_node(op, args, attrs, meta, rg)
        d += 1
        depth[t] = d
        if sid is not None:
            self._sigof[t] = sid
            self._sig_depth[sid] += d
            self._sig_count[sid] += 1
        return t

    def _new_node(self, op, args, attrs, meta, rg):
        cls = self.node_class
        t = cls.__new__(cls)
        t._value = None
        t._grad = None
        t.requires_grad = rg and not op.nondiff and state.GRAD_ENABLED
        t.op = op
        t.inputs = args
        t.attrs = attrs
        t._id = _next_id()
        t._meta = meta
        t._retain = False
        t.name = None
        return self._adopt(t)

    def _signature(self, node, key):
        """The signature of a node from its record key and its layout (the shared flags, or
        a RaggedLayout), or (None, None): it runs alone.  Shared inputs appear in the key
        as ints (ids), stacked ones as shape tuples."""
        rule = node.op.batch
        if rule is None:
            return None, None
        flags = tuple(isinstance(k, int) for k in key[1:-1:2])
        if True in flags and False not in flags and not rule.gathers:
            return None, None                 # every input shared: nothing to stack
        ragged = rule.ragged(node, flags)
        if ragged is not None:
            kinds, rows, rkey = ragged
            return ("ragged", node.op, _ragged_inputs(key, kinds), rkey), RaggedLayout(kinds, rows)
        rkey = rule.key(node, flags)
        if rkey is None:
            return None, None
        return (key[:-1], rkey), flags        # the rule decides which attributes matter

    def _intern(self, sig, layout):
        sid = self._sig_ids.get(sig)
        if sid is None:
            sid = self._sig_ids[sig] = len(self._sig_flags)
            self._sig_flags.append(layout)
            self._sig_depth.append(0)
            self._sig_count.append(0)
        return sid

    # --- evaluation ----------------------------------------------------------------------------
    def evaluate(self, target=None):
        end = len(self.nodes) if target is None else target._index + 1
        if end <= self._frontier:
            return
        start, self._frontier = self._frontier, end
        if self.autobatch:
            # the agenda (and _fuse) skip the nodes that have values (leaves): one pass less
            self._run_agenda(self.nodes[start:end])
            return
        pending = [n for n in self.nodes[start:end] if n._value is None]
        if not pending:
            return
        if not (self._reruns and self._static is not None and self._static(pending)):
            # (static.py: a graph evaluated again runs its generated forward)
            for n in pending:
                self.compute(n)

    _reruns = False      # invalidate() was called: the same nodes may be evaluated again

    def invalidate(self):
        self._reruns = True
        super().invalidate()
        self._frontier = 0
        self._batches = []
        self._stats = {}

    def release_batches(self):
        """Drop the per-node bookkeeping (the graph is done with)."""
        self.__dict__.pop("_static_plans", None)     # static.py's plans hold the nodes
        self._batches = []
        self._transposed = {}
        self._depth = {}
        self._sigof = {}
        self._recorded = {}
        self._lifted = {}
        self.shared_ids = set()

    def _count(self, op, nodes, batches):
        s = self._stats.get(op.name)
        if s is None:
            self._stats[op.name] = [nodes, batches]
        else:
            s[0] += nodes
            s[1] += batches

    def _run_agenda(self, pending):
        """Run the pending nodes, always taking the ready group whose signature has the
        lowest average depth (DyNet's agenda-based heuristic).  This loop runs once per node
        of the graph, so queueing a ready node is written out at both places it happens
        rather than called."""
        self._transposed = {}
        pending = self._fuse(pending)
        sigof_get = self._sigof.get
        avg = [t / c for t, c in zip(self._sig_depth, self._sig_count)]
        waiting, consumers = {}, {}
        consumers_get = consumers.get
        ready, solo = {}, []
        ready_get = ready.get
        for n in pending:
            if n._value is not None:
                continue
            w = 0
            for x in n.inputs:
                if x._value is None:
                    if x._graph is not self:        # a node of another lazy graph
                        x._graph.evaluate(x)
                        continue
                    w += 1
                    c = consumers_get(x)
                    if c is None:
                        consumers[x] = [n]
                    else:
                        c.append(n)
            if w:
                waiting[n] = w
                continue
            s = sigof_get(n)
            if s is None:
                solo.append(n)
            else:
                r = ready_get(s)
                if r is None:
                    ready[s] = [n]
                else:
                    r.append(n)
        sig_flags = self._sig_flags
        while True:
            if solo:
                group = [solo.pop()]
                self._run_single(group[0])
            elif ready:
                s = min(ready, key=avg.__getitem__) if len(ready) > 1 else next(iter(ready))
                group = ready.pop(s)
                flags = sig_flags[s]
                if flags.__class__ is RaggedLayout:
                    self._run_ragged(group, flags)
                elif isinstance(flags, FusedLayout):
                    # the nodes it computed, of which only a few (h and c of a step) have
                    # consumers: the comprehension is cheaper than the loop below
                    group = [n for n in flags.run(self, group) if n in consumers]
                elif len(group) == 1:
                    self._run_single(group[0])
                else:
                    self._run_batch(group, flags)
            else:
                break
            for n in group:
                cs = consumers_get(n)
                if cs is None:
                    continue
                for c in cs:
                    w = waiting[c] - 1
                    if w:
                        waiting[c] = w
                        continue
                    s = sigof_get(c)
                    if s is None:
                        solo.append(c)
                    else:
                        r = ready_get(s)
                        if r is None:
                            ready[s] = [c]
                        else:
                            r.append(c)

    def transposed(self, w):
        """w.T as a C-contiguous copy, made once per evaluation: a parameter's matrix times
        a batch of vectors, X @ W.T, is 3-5x faster in BLAS against the copy than against
        the transposed view on batches of a few dozen.  (No user code runs inside an
        evaluation, so the parameter cannot change under the copy.)"""
        hit = self._transposed.get(id(w))
        if hit is None or hit[0] is not w:
            hit = self._transposed[id(w)] = (w, np.ascontiguousarray(w.T))
        return hit[1]

    def _fuse(self, pending):
        """pending (which may hold nodes with values: they are skipped) with recognised
        idioms replaced by members of FusedLayout signatures (none here; see FusedLayout)."""
        return pending

    def _run_single(self, node):
        self.compute(node)
        self._batches.append(Batch([node]))
        self._count(node.op, 1, 1)

    def _run_batch(self, nodes, flags):
        n0 = nodes[0]
        op = n0.op
        rule = op.batch
        B = len(nodes)
        out_nd = len(n0._meta[0])
        args = []
        if rule.equal_parts and True not in flags:
            # esum's stack of losses (equal parts, many): one gather for all of them
            args = list(np.array([[x._value for x in m.inputs] for m in nodes]).swapaxes(0, 1))
        for i, x0 in enumerate(n0.inputs if not args else ()):
            if flags[i]:
                args.append(x0._value)
                continue
            a = np.array([m.inputs[i]._value for m in nodes])   # 3x faster than np.stack
            if rule.pad and a.ndim - 1 < out_nd:
                a = a.reshape((B,) + (1,) * (out_nd - a.ndim + 1) + a.shape[1:])
            args.append(a)
        out = rule.forward(_NP, op, n0.attrs, args, flags, nodes)
        if out.ndim > 1:
            for m, v in zip(nodes, out):
                m._value = v
        else:
            for k, m in enumerate(nodes):
                m._value = out[k, ...]
        self._batches.append(Batch(nodes, args, flags, out))
        self._count(op, B, 1)

    def _run_ragged(self, nodes, layout):
        """A ragged batch (even of one node: it may be cheaper than the op alone, and its
        backward then needs no special case): RAGGED inputs concatenated along axis 0,
        MEMBER inputs stacked, SHARED ones once; the result split at the members' rows."""
        n0 = nodes[0]
        op = n0.op
        rule = op.batch
        kinds = layout.kinds
        seg = Segments(rule.lengths(nodes, kinds))
        args = []
        for i, kind in enumerate(kinds):
            if kind is SHARED:
                args.append(n0.inputs[i]._value)
            elif kind is RAGGED:
                args.append(_rows([m.inputs[i]._value for m in nodes]))
            else:
                args.append(np.array([m.inputs[i]._value for m in nodes]))
        out = rule.ragged_forward(_NP, op, n0.attrs, args, kinds, seg, nodes)
        if layout.rows:
            for m, v in zip(nodes, seg.split(out)):
                m._value = v
        else:
            for k, m in enumerate(nodes):
                m._value = out[k, ...]
        self._batches.append(Batch(nodes, args, layout, out, seg))
        self._count(op, len(nodes), 1)

    # --- backward -----------------------------------------------------------------------------
    def backward_from(self, root, gradient=None, keep_all=False):
        """Gradients of `root` by a reverse sweep over the forward's batches.

        Returns {node: gradient array} for the leaves reached (graph leaves and outside
        tensors) -- for every node with keep_all."""
        self.evaluate(root)
        seed = np.ones(root.shape, root.dtype) if gradient is None else np.asarray(gradient, root.dtype)
        grads = {root: seed}
        if not self.autobatch and (keep_all or root._graph is not self):
            out = backprop(reachable([root]), grads, retain_graph=True, keep_all=keep_all)
            if keep_all:
                out.update(grads)         # with keep_all, grads holds every node's gradient
            return out
        ns = _NP
        get, pop = grads.get, grads.pop
        if not self.autobatch:
            # the graph's own list is in creation order: a reverse walk over it is the sweep,
            # with no reachability search, sort or per-node bookkeeping of the general one
            for node in reversed(self.nodes[:root._index + 1]):
                if node.op is None:
                    continue
                g = pop(node, None)
                if g is not None:
                    _node_vjp(ns, node, g, grads)
        for b in reversed(self._batches if self.autobatch else []):
            nodes = b.nodes
            if b.args is None:
                if b.flags is not None:           # a fused batch (FusedLayout)
                    b.flags.vjp(ns, b, grads, keep_all)
                    continue
                node = nodes[0]
                g = grads.get(node) if keep_all else grads.pop(node, None)
                if g is not None:
                    _node_vjp(ns, node, g, grads)
                continue
            gs = [get(m) for m in nodes] if keep_all else [pop(m, None) for m in nodes]
            for g in gs:
                if g is not None:
                    break
            else:
                continue
            if b.seg is not None:
                _ragged_vjp(ns, b, gs, grads)
            else:
                _batch_vjp(ns, b, gs, grads)
        out = {}
        outside = {}
        for x, g in grads.items():
            if x.op is None or keep_all:
                out[x] = np.asarray(g)
            if x.op is not None and x._graph is not self:
                outside[x] = np.asarray(g)
        if outside:     # eager results used in the graph: continue through their history
            for x, g in backprop(reachable(list(outside)), outside, retain_graph=True).items():
                out[x] = out[x] + g if x in out else g
        return out

    def backward(self, root=None, gradient=None):
        """cg.backward(loss): batched backward, gradients added to the leaves' .grad.
        Without a root it is the tutorial's Graph.backward (seeded node gradients)."""
        if root is None:
            return super().backward()
        for x, g in self.backward_from(root, gradient).items():
            if x.op is None and x.requires_grad:
                if g.dtype != x.dtype:
                    g = g.astype(x.dtype)
                x.grad = _make(np.array(g)) if x.grad is None else _make(x.grad._value + g)

    def autobatch_report(self):
        return BatchReport({k: tuple(v) for k, v in self._stats.items()})


def _flat_attrs(attrs):
    """The attribute values, with tuples (an index) opened one level."""
    for v in attrs.values():
        if isinstance(v, tuple):
            yield from v
        else:
            yield v


def _ragged_inputs(key, kinds):
    """The per-input part of a ragged signature: a shared input's id; a ragged input's
    shape without its leading (time) dimension, and its dtype; a member input's shape and
    dtype."""
    out = []
    for k, kind in enumerate(kinds):
        shape, dtype = key[1 + 2 * k], key[2 + 2 * k]
        if kind is SHARED:
            out.append(shape)
        elif kind is RAGGED:
            out.append((RAGGED, shape[1:], dtype))
        else:
            out.append((shape, dtype))
    return tuple(out)


def _accumulate(grads, x, g):
    prev = grads.get(x)
    grads[x] = g if prev is None else prev + g


def _node_vjp(ns, node, g, grads):
    """One node's VJPs, as the core sweep does them."""
    ins = node.inputs
    vals = [x._value for x in ins]
    op = node.op
    if op.vjp_all is not None:
        gs = op.vjp_all(ns, g, node._value, *vals, **node.attrs)
    else:
        vjps = op.vjps_for(len(ins))
    ans, attrs = node._value, node.attrs
    for i, x in enumerate(ins):
        if x.requires_grad:
            if op.vjp_all is not None:
                gx = gs[i]
                if gx is None:
                    continue
            elif attrs:
                gx = vjps[i](ns, g, ans, *vals, **attrs)
            else:
                gx = vjps[i](ns, g, ans, *vals)
            if gx.__class__ is not np.ndarray:
                gx = np.asarray(gx)          # NumPy returns scalars for 0-d results
            shape = vals[i].shape
            if gx.shape != shape:
                gx = unbroadcast(ns, gx, shape)
            prev = grads.get(x)
            grads[x] = gx if prev is None else prev + gx


def _batch_vjp(ns, b, gs, grads):
    nodes, args, flags, out = b.nodes, b.args, b.flags, b.out
    n0 = nodes[0]
    if any([g is None for g in gs]):
        # members that do not reach the root: drop them from the batch
        keep = [k for k, g in enumerate(gs) if g is not None]
        nodes = [nodes[k] for k in keep]
        gs = [gs[k] for k in keep]
        args = [a if f else a[keep] for a, f in zip(args, flags)]
        out = out[keep]
    G = np.array(gs)
    need = [n0.inputs[i].requires_grad if f else any([m.inputs[i].requires_grad for m in nodes])
            for i, f in enumerate(flags)]
    if True not in need:
        return
    gin = n0.op.batch.backward(ns, n0.op, n0.attrs, args, flags, nodes, out, G, need)
    B = len(nodes)
    get = grads.get
    for i, gx in enumerate(gin):
        if gx is None:
            continue
        x0 = n0.inputs[i]
        if flags[i]:
            prev = get(x0)
            grads[x0] = gx if prev is None else prev + gx
            continue
        shape = x0.shape
        if gx.shape[1:] != shape:
            gx = gx.reshape((B,) + tuple(shape))        # drop the rank padding
        rows = gx if gx.ndim > 1 else [gx[k, ...] for k in range(B)]   # 0-d arrays, not scalars
        for m, row in zip(nodes, rows):
            x = m.inputs[i]
            if x.requires_grad:
                prev = get(x)
                grads[x] = row if prev is None else prev + row


def _rows(parts):
    """The members' row arrays as one: when they are consecutive views of one array (the
    split output of the batch that made them, in the same order) that array itself, with
    no copy; else their concatenation."""
    first, last = parts[0], parts[-1]
    base = first.base
    if base is not None and base.__class__ is np.ndarray and last.base is base and len(parts) > 1:
        joined = _joined_view(parts, base)
        if joined is not None:
            return joined
    return np.concatenate(parts)


def _joined_view(parts, base):
    """parts as one view of base's memory, if they are C-contiguous blocks of the same row
    shape lying one after the other in order; else None."""
    first = parts[0]
    inner, dtype = first.shape[1:], first.dtype
    if first.ndim == 0 or not first.flags.c_contiguous:
        return None
    rowsize = first.itemsize * int(np.prod(inner))
    at = first.__array_interface__["data"][0]
    end, total = at, 0
    for p in parts:
        if (p.base is not base or p.shape[1:] != inner or p.dtype != dtype
                or not p.flags.c_contiguous or p.__array_interface__["data"][0] != end):
            return None
        end += p.shape[0] * rowsize
        total += p.shape[0]
    try:
        origin = base.__array_interface__["data"][0]
        return np.ndarray((total,) + inner, dtype, buffer=base, offset=at - origin)
    except (TypeError, ValueError, BufferError):       # base exposes no plain buffer
        return None


def _ragged_subset(b, keep):
    """The batch's arguments, output and Segments restricted to the members in `keep`."""
    seg, kinds = b.seg, b.flags.kinds

    def pick(a):
        parts = seg.split(a)
        return np.concatenate([parts[k] for k in keep])
    args = [a if kind is SHARED else pick(a) if kind is RAGGED else a[keep]
            for a, kind in zip(b.args, kinds)]
    out = pick(b.out) if b.flags.rows else b.out[keep]
    return args, out, Segments(seg.lens[keep])


def _ragged_vjp(ns, b, gs, grads):
    """A ragged batch's backward: the members' gradients concatenated (or stacked), the
    rule's backward once, each input's gradient split back to the members."""
    nodes, args, layout, out, seg = b.nodes, b.args, b.flags, b.out, b.seg
    kinds = layout.kinds
    if any([g is None for g in gs]):
        # members that do not reach the root: drop them from the batch
        keep = [k for k, g in enumerate(gs) if g is not None]
        args, out, seg = _ragged_subset(b, keep)
        nodes = [nodes[k] for k in keep]
        gs = [gs[k] for k in keep]
    n0 = nodes[0]
    need = [n0.inputs[i].requires_grad if kind is SHARED
            else any([m.inputs[i].requires_grad for m in nodes]) for i, kind in enumerate(kinds)]
    if True not in need:
        return
    G = _rows(gs) if layout.rows else np.array(gs)
    gin = n0.op.batch.ragged_backward(ns, n0.op, n0.attrs, args, kinds, seg, nodes, out, G, need)
    get = grads.get
    for i, gx in enumerate(gin):
        if gx is None:
            continue
        if kinds[i] is SHARED:
            x0 = n0.inputs[i]
            prev = get(x0)
            grads[x0] = gx if prev is None else prev + gx
            continue
        rows = seg.split(gx) if kinds[i] is RAGGED else [gx[k, ...] for k in range(len(nodes))]
        for m, row in zip(nodes, rows):
            x = m.inputs[i]
            if x.requires_grad:
                prev = get(x)
                grads[x] = row if prev is None else prev + row


def autobatch():
    """A lazy graph that batches its examples' ops automatically (see the module doc)."""
    return BatchingGraph(autobatch=True)
