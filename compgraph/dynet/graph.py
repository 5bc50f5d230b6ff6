"""DyNet's computation graph and its Expression node.

Expression is a Tensor with DyNet's methods (value() is a method, `*` is the matrix
product, dim() is (dims, batch size)).  It adds no field, so the engine's nodes are made
Expressions by swapping their class when the graph adopts them -- Graph.record and
Graph.var both end in `_adopt`, which this graph overrides.  That keeps the engine's hot
path (apply -> record) untouched, and every op of compgraph applied to an Expression
gives an Expression.

A *batched* expression (lookup_batch, inputTensor(batched=True), or anything computed
from one) is a BatchedExpression: the same node with the batch as its leading axis.  Its
class is the flag, so dialect functions know where DyNet's dimensions start.
"""
import itertools

import numpy as np

from .. import state
from ..autograd import backprop, reachable
from ..errors import GraphError
from ..executors.autobatch import BatchingGraph, _infer, _node_vjp
from ..executors.rules import _key_cache as _attr_keys, attrs_key
from ..ops.namespace import array_namespace
from ..tensor import _NOATTRS, Tensor, _make, _next_id, apply, check_finite
from . import gcpause, lstm_fusion, plans
from .lstm_chain import Chain
from .regions import Group, Member, add_outer
from .plans import _trie   # (cleared, never rebound)


_NP = array_namespace(np)
_F32 = np.dtype(np.float32)
_metas = {}      # record key -> (shape, dtype) of the result, for unbatched graphs
_plain_metas = {}      # _record_fast's key -> (Meta of the result, the key's id, odd), unbatched graphs
_key_ids = itertools.count()
_batched_metas = {}    # _record_fast's key -> (Meta, (signature, layout) or None, rule)
_new = object.__new__  # a node without the type call's dispatch (no class here defines __new__)


class Meta(tuple):
    """A node's (shape, dtype), hashed by identity: the record key of a node is its op, its
    attributes and its inputs' Metas, so a key is a few pointer hashes (a tuple of shape
    tuples and dtypes rehashes every element, every node).  Metas are interned: one per
    (shape, dtype) -- except a parameter's node, which is *shared* when batching (the same
    W in every member, not stacked), and has a Meta of its own (one per Parameters
    object), so that its identity, not its shape, is what the key holds."""
    __slots__ = ()
    __hash__ = object.__hash__


_interned = {}


def intern_meta(shape, dtype):
    m = _interned.get((shape, dtype))
    if m is None:
        if len(_interned) > 50000:
            _interned.clear()
        m = _interned[(shape, dtype)] = Meta((shape, dtype))
    return m


class Expression(Tensor):
    __slots__ = ()
    batched = False

    def __bool__(self):
        # DyNet's Expression defines no truth value, so any expression is true (attention.py
        # caches with `w1dt = w1dt or w1 * input_mat`)
        return True


class BatchedExpression(Expression):
    __slots__ = ()
    batched = True


class ComputationGraph(BatchingGraph):
    """One DyNet graph: lazy until a value is asked for, alive until renew_cg()."""
    node_class = Expression
    _st = None
    _plan = None

    def __init__(self, autobatch=False, immediate_compute=False, check_validity=False):
        super().__init__(autobatch=autobatch)
        self.immediate_compute = immediate_compute
        self.check_validity = check_validity
        self._params = {}        # (Parameters, update) -> its leaf in this graph
        self._lookups = []       # (leaf, LookupParameters, row ids)
        self._has_batched = False
        self._last_grads = {}
        self._backward_root = -1   # index of the node the last backward started from
        self._checkpoints = []
        self._kept = 0             # nodes cg_revert() left computed (see hold)
        self._fast_hits = {}       # record key -> (Meta, signature id, odd), see _record_fast
        # where _record_fast looks its keys up: unbatched, the keys of every graph (the
        # key's id is the same everywhere); batched, this graph's (signature ids are its own)
        self._hits = self._fast_hits if autobatch else _plain_metas
        self._sig_keys = []        # signature id -> (signature, layout)
        self._own_metas = set()    # ids of lifted shared nodes given a Meta of their own
        # the structure state of the nodes so far (plans.py; its size says how many nodes
        # were folded into it); None: not replayable, or not folded (plans.folding())
        self._counted = not (autobatch or immediate_compute)
        self._st = plans.ROOT if self._counted and plans.folding() else None
        self._plan = None          # the plan whose forward computed this graph (plans.py)
        self._regions = {}         # root -> Member: the fused regions of an unbatched graph
        # the items _run_fused ran, in creation order, while they cover every computed node
        # from the first on (see backward_from); _swept_to: the end of what they cover
        self._swept = []
        self._swept_to = 0

    def _adopt(self, node):
        if node.__class__ is Tensor:               # made by the engine (Graph.var, _make)
            node.__class__ = Expression
        if self._has_batched and node.inputs:      # batched in, batched out
            for x in node.inputs:
                if x.__class__ is BatchedExpression:
                    node.__class__ = BatchedExpression
                    break
        node._graph = self
        node._index = len(self.nodes)
        self.nodes.append(node)
        if self._st is not None:
            self._fold(node)
        return node

    def _fold(self, t):
        """Fold a node made the general way into the structure state (plans.py)."""
        tok = plans.general_token(self, self._st, t)
        self._st = None if tok is None else plans.step(tok)

    def record(self, op, args, attrs):
        # an expression kept from before renew_cg() belongs to a dropped graph: recorded
        # there, or mixed into this one, it would compute silently with nodes nobody evaluates
        # (apply records into the graph of the first operand that has one, so a stale first
        # operand makes `self` stale too: one comparison per operand covers both cases)
        if not self.immediate_compute and self is _Current.cg:
            return self._record_fast(op, args, attrs)
        cur = _Current.cg
        for a in args:
            g = a._graph
            if g is not cur and g is not None:
                raise _stale(op.name)
        node = super().record(op, args, attrs)
        if self.immediate_compute:
            self.evaluate(node)
            if self.check_validity and node.dtype.kind == "f" and not np.isfinite(node._value).all():
                raise GraphError(f"{op.name} produced NaN or Inf (check_validity=True)")
        return node

    def _record_keyed(self, op, args, attrs, promoted=True):
        """BatchingGraph.record with the stale check, the node's creation and its adoption
        in one pass: building a DyNet graph is this function, run once per node, so it is
        written out (see BatchingGraph.record for the reasoning).  The op's shape rule (and
        with it DyNet's build-time checks) runs once per key -- op, input shapes and dtypes,
        attributes -- and is remembered.  What it does not cover (an eager result used as
        an operand, a key not seen yet when batching) goes the general way."""
        batching = self.autobatch
        shared, depth = self.shared_ids, self._depth
        rule = op.batch
        stack_all = rule is None or rule.stack_all
        key = [op]
        d = 0
        rg = batched = False
        for a in args:
            g = a._graph
            v = a._value
            if g is None:
                if a.op is not None:                # an eager result: lifted (rare)
                    if not promoted:
                        return apply(op, args, attrs)
                    return BatchingGraph.record(self, op, args, attrs)
            elif g is not self:
                raise _stale(op.name)
            if a.__class__ is BatchedExpression:
                batched = True
            if v is not None:
                shape, dtype = v.shape, v.dtype
            else:
                shape, dtype = a._meta
                if batching:
                    da = depth.get(a, 0)
                    if da > d:
                        d = da
            if not promoted and dtype is not _F32 and op.promote is not None:
                return apply(op, args, attrs)       # not all float32: apply promotes first
            if a.requires_grad:
                rg = True
                if batching and not stack_all and (g is None or a._id in shared):
                    shape = a._id
            elif batching and not stack_all and g is not None and a._id in shared:
                shape = a._id
            key.append(shape)
            key.append(dtype)
        ak = attrs_key(attrs) if attrs else ()
        key.append(ak)
        key = tuple(key)
        if batching:
            hit = self._recorded.get(key) if ak is not None else None
            if hit is None:
                return BatchingGraph.record(self, op, args, attrs)   # new key: signature made there
            meta, sid = hit
        else:
            meta = _metas.get(key) if ak is not None else None
            if meta is None:
                meta = _infer(op, [a.shape for a in args], [a.dtype for a in args], attrs)
                if ak is not None:
                    if len(_metas) > 50000:
                        _metas.clear()
                    _metas[key] = meta
            sid = None
        t = (BatchedExpression if batched else Expression).__new__(BatchedExpression if batched else Expression)
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
        t._graph = self
        nodes = self.nodes
        t._index = len(nodes)
        nodes.append(t)
        if not batching:
            if self._st is not None:
                self._fold(t)
            return t
        d += 1
        depth[t] = d
        if sid is not None:
            self._sigof[t] = sid
            self._sig_depth[sid] += d
            self._sig_count[sid] += 1
        return t

    def _record_fast(self, op, args, attrs, promoted=True):
        """Record a node: the hot path of building a DyNet graph, run once per node.

        The key is (op, attributes, the inputs' Metas): pointer hashes.  Its first
        occurrence goes the general way (_miss: the op's shape rule, which makes DyNet's
        build-time checks, and the batching signature); after that, in this graph and the
        next ones, a hit gives the result's Meta and, unbatched, the key's id for the
        structure token (plans.py) or, batched, its signature's id.  The hit also says
        whether an input is not float32 where the op promotes: then a caller that has not
        promoted yet (promoted=False) goes through apply.  Anything unusual -- an input
        without a Meta (an eager result, a constant made elsewhere), one from another
        graph -- goes the general way too.  One and two operands (nearly every node) are
        written out; more go through the loop.  When batching, the node's depth (1 + its
        deepest pending input's) is noted for the agenda."""
        if attrs:
            ak = _attr_keys.get(id(attrs))           # rules.attrs_key's memo, read inline
            ak = ak[1] if ak is not None and ak[0] is attrs else attrs_key(attrs)
            if ak is None:                           # attributes that cannot be keyed
                return self._record_keyed(op, args, attrs, promoted)
        else:
            ak = ()
        n = len(args)
        if n == 1:
            a = args[0]
            m = a._meta
            if a._graph is not self or m is None:
                return self._record_loop(op, args, attrs, promoted, ak)
            key = (op, ak, m)
            rg = a.requires_grad
            cls = BatchedExpression if a.__class__ is BatchedExpression else Expression
        elif n == 2:
            a, b = args
            m, mb = a._meta, b._meta
            if a._graph is not self or b._graph is not self or m is None or mb is None:
                return self._record_loop(op, args, attrs, promoted, ak)
            key = (op, ak, m, mb)
            rg = a.requires_grad or b.requires_grad
            cls = BatchedExpression if a.__class__ is BatchedExpression \
                or b.__class__ is BatchedExpression else Expression
        else:
            return self._record_loop(op, args, attrs, promoted, ak)
        hit = self._hits.get(key)
        if hit is None:
            return self._miss(op, args, attrs, promoted, key)
        meta, kid, odd = hit
        if odd and not promoted:
            return apply(op, args, attrs)            # not all float32: apply promotes first
        t = _new(cls)
        t._value = None
        t._grad = None
        t.requires_grad = rg = rg and not op.nondiff and state.GRAD_ENABLED
        t.op = op
        t.inputs = args
        t.attrs = attrs
        t._id = _next_id()
        t._meta = meta
        t._retain = False
        t.name = None
        t._graph = self
        nodes = self.nodes
        t._index = len(nodes)
        nodes.append(t)
        if self.autobatch:
            depth = self._depth
            d = 0
            if a._value is None:
                d = depth.get(a, 0)
            if n == 2 and b._value is None:
                db = depth.get(b, 0)
                if db > d:
                    d = db
            self._note(t, d + 1, kid)
            return t
        st = self._st
        if st is not None:
            # the structure's token (plans.py): the record key's id fixes the op, attributes
            # and input shapes, the inputs' places in the graph the wiring
            tok = (st, kid, rg, a._index, b._index) if n == 2 else (st, kid, rg, a._index)
            nxt = _trie.get(tok)
            self._st = nxt if nxt is not None else plans.step(tok)
        return t

    def _note(self, t, d, sid):
        """A batched graph's bookkeeping of a new node: its depth, and its signature's
        count and total depth (sid None: the node runs alone)."""
        self._depth[t] = d
        if sid is not None:
            self._sigof[t] = sid
            self._sig_depth[sid] += d
            self._sig_count[sid] += 1

    def _record_loop(self, op, args, attrs, promoted, ak):
        """_record_fast for any number of operands, and for operands from outside the graph
        (a constant: a label, a mask; an eager result or another graph's node goes the
        general way, the latter refused as stale)."""
        rg = batched = False
        key = [op, ak]
        batching = self.autobatch
        depth = self._depth
        d = 0
        for a in args:
            m = a._meta
            if a._graph is not self:
                if a._graph is not None:
                    raise _stale(op.name)
                if m is None or a.op is not None or a.requires_grad or a._index is not None:
                    return self._record_keyed(op, args, attrs, promoted)
            elif m is None:
                return self._record_keyed(op, args, attrs, promoted)
            key.append(m)
            if a.requires_grad:
                rg = True
            if a.__class__ is BatchedExpression:
                batched = True
            if batching and a._value is None:
                da = depth.get(a, 0)
                if da > d:
                    d = da
        key = tuple(key)
        hit = self._hits.get(key)
        if hit is None:
            return self._miss(op, args, attrs, promoted, key)
        meta, kid, odd = hit
        if odd and not promoted:
            return apply(op, args, attrs)            # not all float32: apply promotes first
        t = _new(BatchedExpression if batched else Expression)
        t._value = None
        t._grad = None
        t.requires_grad = rg = rg and not op.nondiff and state.GRAD_ENABLED
        t.op = op
        t.inputs = args
        t.attrs = attrs
        t._id = _next_id()
        t._meta = meta
        t._retain = False
        t.name = None
        t._graph = self
        nodes = self.nodes
        t._index = len(nodes)
        nodes.append(t)
        if batching:
            self._note(t, d + 1, kid)
            return t
        st = self._st
        if st is not None:
            # (None in a token: a constant from outside the graph, which the replay reads
            # as an argument)
            tok = (st, kid, rg, *[a._index for a in args])
            nxt = _trie.get(tok)
            self._st = nxt if nxt is not None else plans.step(tok)
        return t

    def _miss(self, op, args, attrs, promoted, key):
        """A record key not in the hits: the node made the general way (_record_keyed: the
        op's shape rule, with DyNet's checks), and the key learnt for the next nodes --
        unless apply had to promote the operands first, which it then does every time."""
        odd = op.promote is not None and any(m[1] is not _F32 for m in key[2:])
        if odd and not promoted:
            return apply(op, args, attrs)
        if self.autobatch:
            return self._miss_batched(op, args, attrs, promoted, key, odd)
        t = self._record_keyed(op, args, attrs, promoted)
        t._meta = intern_meta(*t._meta)
        if len(_plain_metas) > 50000:
            _plain_metas.clear()
        _plain_metas[key] = (t._meta, next(_key_ids), odd)
        return t

    def _miss_batched(self, op, args, attrs, promoted, key, odd):
        """A key new to this graph: (Meta, signature id) from an earlier graph's, or the
        node made the general way (which learns them for the next ones)."""
        known = _batched_metas.get(key)
        if known is not None and known[2] is op.batch:     # (the op's rule may be changed)
            meta, sig, _ = known
            self._fast_hits[key] = (meta, None if sig is None else self._intern(*sig), odd)
            return self._record_fast(op, args, attrs, promoted)
        t = self._record_keyed(op, args, attrs, promoted)
        t._meta = meta = intern_meta(*t._meta)
        sid = self._sigof.get(t)
        if len(_batched_metas) > 50000:
            _batched_metas.clear()
        _batched_metas[key] = (meta, None if sid is None else self._sig_keys[sid], op.batch)
        self._fast_hits[key] = (meta, sid, odd)
        return t

    def _fuse(self, pending):
        # the LSTM step idiom as one batched kernel (lstm_fusion.py)
        if len(pending) < 13:
            return pending
        return lstm_fusion.fuse(self, pending)

    def _intern(self, sig, layout):
        sid = BatchingGraph._intern(self, sig, layout)
        if sid == len(self._sig_keys):
            self._sig_keys.append((sig, layout))     # id -> what _batched_metas keeps
        return sid

    def _lift(self, t):
        # a lifted node may be shared (one for every member): a Meta of its own, as a
        # parameter's, keeps the record keys of its users apart from stacked ones
        node = BatchingGraph._lift(self, t)
        if node is not t and node._id in self.shared_ids and node._id not in self._own_metas:
            node._meta = Meta((node._meta[0], node._meta[1]))
            self._own_metas.add(node._id)
        return node

    def evaluate(self, target=None):
        """BatchingGraph.evaluate; an unbatched graph with LSTM or Tree-LSTM cells runs them
        as fused regions (lstm_fusion.fuse_single; its output layers and affine transforms
        too), and else a fresh graph evaluated whole, whose structure was seen before, runs
        its generated forward (plans.py).  The cells come first: fused, the per-sentence
        tagger runs ~30% faster than its replayed plan (benchmarks/RESULTS.md, branch
        dyfuse1), so such a graph is not planned at all.  A graph without cells is not fused:
        lone affine transforms (xor's) are no faster fused than node by node."""
        if not self.autobatch and not self._reruns and lstm_fusion.FUSE_UNBATCHED \
                and not state.ANOMALY:
            end = len(self.nodes) if target is None else target._index + 1
            # (a structure with a plan has no cells: not searched again)
            if end - self._frontier >= 13 and not plans.has_plan(self._st):
                found = self._find_regions(end)
                if found[3]:
                    return self._run_fused(*found)
        if self._counted and self._frontier == 0 and not self._reruns:
            n = len(self.nodes)
            if n > 1 and (target is None or target._index == n - 1) and not state.ANOMALY:
                plans.count_size(n)
                st = self._st
                if st is not None and plans.size(st) == n and plans.evaluate(self):
                    return
        BatchingGraph.evaluate(self, target)

    def _find_regions(self, end):
        """(end, the pending nodes up to end with the fused regions as Members, root ->
        Member, whether a cell is among them): lstm_fusion.fuse_single, nothing run yet."""
        ops = [n for n in self.nodes[self._frontier:end] if n.op is not None]
        pending = [n for n in ops if n._value is None]
        params = {node._id for node in self._params.values()}
        regions = {}
        items = lstm_fusion.fuse_single(self, pending, params, regions)
        cell = lstm_fusion.CELL
        # whole: every op node of the span is pending, so the items are all of them
        whole = len(pending) == len(ops)
        return end, items, regions, any([m.program.name is cell for m in regions.values()]), whole

    def _run_fused(self, end, items, regions, _, whole):
        """BatchingGraph.evaluate of an unbatched graph up to end, the regions found run as
        one member each (regions.Program.run1: the nodes' own kernels, a region's nodes in
        one go), the output layers as one batch (regions.Group); backward_from runs their
        backward."""
        if whole and self._frontier == self._swept_to:
            self._swept += items
            self._swept_to = end
        self._frontier = end
        self._regions.update(regions)
        self._transposed = {}       # (a Group's W.T copies: of this evaluation's weights)
        compute = self.compute
        for n in items:
            if n.__class__ is Member:
                n.program.run1(n)
            elif n.__class__ is Group or n.__class__ is Chain:
                n.run(self)
            else:
                compute(n)

    def backward_from(self, root, gradient=None, keep_all=False):
        """BatchingGraph.backward_from; in an unbatched graph with fused regions, the same
        reverse sweep over the graph's nodes with each region's backward run at its root
        (its other nodes get no gradient of their own then: the region took theirs)."""
        regions = self._regions
        if not regions or keep_all or self.autobatch or root._graph is not self:
            return BatchingGraph.backward_from(self, root, gradient, keep_all)
        self.evaluate(root)
        seed = np.ones(root.shape, root.dtype) if gradient is None else np.asarray(gradient, root.dtype)
        grads = {root: seed}
        pop = grads.pop
        outer = {}          # parameter -> the (d, x) of its W x products in regions
        if root._index == self._swept_to - 1 and not self._reruns:
            # the items _run_fused ran cover every op node up to root: the sweep over them
            # (a few dozen) is the sweep over the nodes (hundreds) without the regions' inner
            # nodes, which would find no gradient of their own
            for it in reversed(self._swept):
                cls = it.__class__
                if cls is Member:
                    it.program.vjp1(it, grads, outer)
                elif cls is Group:
                    it.backward(grads)
                elif cls is Chain:
                    it.backward(grads, outer)
                else:
                    g = pop(it, None)
                    if g is not None:
                        _node_vjp(_NP, it, g, grads)
        else:
            region = regions.get
            ran = set()     # the Groups run (one for all its members' roots)
            for node in reversed(self.nodes[:root._index + 1]):
                if node.op is None:
                    continue
                m = region(node)
                if m is not None:
                    if m.__class__ is Member:
                        m.program.vjp1(m, grads, outer)
                    elif m not in ran:
                        ran.add(m)
                        m.backward(grads)
                    continue
                g = pop(node, None)
                if g is not None:
                    _node_vjp(_NP, node, g, grads)
        add_outer(grads, outer)
        out = {}
        for x, g in grads.items():
            if x.op is None:
                out[x] = np.asarray(g)
            elif x._graph is not self:          # an eager result: its history, the general way
                return BatchingGraph.backward_from(self, root, gradient, keep_all)
        return out

    def _evaluate_nodes(self):
        BatchingGraph.evaluate(self)

    def compute(self, node):
        """Graph.compute for the node-by-node evaluation of an unbatched DyNet graph: every
        input of a DyNet node has its value by then (the nodes before it ran first, and
        operands from other graphs are refused when recorded), and DyNet computes on NumPy
        arrays only, so the namespace is NumPy's without asking."""
        vals = [x._value for x in node.inputs]
        for v in vals:
            if v.__class__ is not np.ndarray:
                return super().compute(node)          # the general way, with its messages
        attrs = node.attrs
        out = node.op.fwd(_NP, *vals, **attrs) if attrs else node.op.fwd(_NP, *vals)
        node._value = out if out.__class__ is np.ndarray else np.asarray(out)
        if state.ANOMALY:
            check_finite(node.op, node._value, "forward")

    # --- leaves -----------------------------------------------------------------------------
    def leaf(self, array, requires_grad=False, batched=False):
        # written out (tensor._init, _adopt and _fold in one): every input, parameter and
        # looked-up row of a graph is one of these
        cls = BatchedExpression if batched else Expression
        t = cls.__new__(cls)
        t._value = array
        t._grad = None
        t.requires_grad = requires_grad
        t.op = None
        t.inputs = None
        t.attrs = _NOATTRS
        t._id = _next_id()
        t._retain = False
        t.name = None
        shape, dtype = array.shape, array.dtype
        m = _interned.get((shape, dtype))
        t._meta = m if m is not None else intern_meta(shape, dtype)
        if batched:
            self._has_batched = True
        t._graph = self
        nodes = self.nodes
        t._index = len(nodes)
        nodes.append(t)
        st = self._st
        if st is not None:
            if array.__class__ is np.ndarray:
                tok = (st, "L", t._meta, requires_grad, cls)     # the Meta: (shape, dtype)
                nxt = _trie.get(tok)
                self._st = nxt if nxt is not None else plans.step(tok)
            else:
                self._st = None
        return t

    def param_node(self, p, update=True):
        node = self._params.get((p, update))
        if node is None:
            node = self.leaf(p._value, update)
            if update and self.autobatch:
                # shared by every member of a batch: a Meta of its own (see Meta)
                self.shared_ids.add(node._id)
                node._meta = _param_meta(p)
            self._params[(p, update)] = node
        return node

    def lookup_node(self, lp, ids, update=True, batched=False):
        # a row picked by an int is a view of the table: copied, so that a trainer's
        # in-place row update leaves the value a forward computed as it was (see hold)
        row = lp._value[ids]
        node = self.leaf(row.copy() if ids.__class__ is int else row, update, batched)
        self._lookups.append((node, lp, ids, update))
        return node

    def _release(self):
        """Forget the nodes of a graph that renew_cg() replaced.  Every node points at its
        graph (the stale checks compare that with the current one), so a graph that kept its
        nodes would be a reference cycle of tens of thousands of objects, left to Python's
        cyclic collector -- whose full collections then cost more than the graph's arithmetic.
        Dropped, the nodes go by reference counting as soon as the user lets go of them."""
        self.nodes = []
        self._params = {}
        self._lookups = []
        self._last_grads = {}
        self._checkpoints = []
        self._fast_hits = {}
        if self.autobatch:
            self._hits = self._fast_hits
        self._regions = {}
        self._swept = []
        self._st = self._plan = None
        self.release_batches()

    # --- parameters that change while the graph is alive ------------------------------------------
    # DyNet copies a parameter (or a table's rows) into its node when a forward first reaches
    # the node, and reads it again only when the graph is invalidated (recalculate=True, an
    # input's set()).  So after trainer.update() or set_value() in the same graph, expressions
    # a forward has reached -- and Parameters.expr(), the same node for the whole graph --
    # keep the old values, and backward() uses them; nodes no forward has reached yet read
    # the new ones.  Here a parameter's node holds the parameter's own array: hold() gives
    # the reached ones a copy before an in-place change, reread() points the others at the
    # current values after it (trainers rebind a changed parameter to a new array instead).
    def hold(self, params):
        """Before the arrays of params change in place."""
        reached = max(self._frontier, self._kept)
        for (p, _), node in self._params.items():
            if node._index < reached and p in params and node._value is p._value:
                node._value = p._value.copy()

    def reread(self, params=None):
        """After params (all when None) changed: the nodes not reached yet read them."""
        reached = max(self._frontier, self._kept)
        if reached >= len(self.nodes):
            return                                   # every node reached: none reads anew
        for (p, _), node in self._params.items():
            if node._index >= reached and (params is None or p in params):
                node._value = p._value
        for node, lp, ids, _ in reversed(self._lookups):
            if node._index < reached:
                break                                # the list is in creation order
            if params is None or lp in params:
                row = lp._value[ids]
                node._value = row.copy() if ids.__class__ is int else row

    def invalidate(self):
        """DyNet's invalidate: every node is computed again, from the current parameters."""
        super().invalidate()
        self._kept = 0
        self._plan = None
        self.reread()

    # --- checkpoints (DyNet's cg_checkpoint / cg_revert) -----------------------------------------
    def checkpoint(self):
        self._checkpoints.append((len(self.nodes), dict(self._params), len(self._lookups),
                                  self._backward_root))

    def revert(self):
        """Drop every node built since the last checkpoint; those expressions become stale."""
        if not self._checkpoints:
            raise GraphError("cg_revert(): no cg_checkpoint() to revert to in this graph")
        n, self._params, lookups, self._backward_root = self._checkpoints.pop()
        self._st = self._plan = None          # not replayed: the nodes kept their values
        kept = min(max(self._frontier, self._kept), n)
        for node in self.nodes[n:]:
            node._graph = _REVERTED
        del self.nodes[n:]
        del self._lookups[lookups:]
        self._last_grads = {}
        # the batches planned so far may hold dropped nodes: planned again, the kept nodes
        # computed again from the values they had (DyNet keeps them, parameters included)
        BatchingGraph.invalidate(self)
        self._kept = kept

    # --- backward -----------------------------------------------------------------------------
    def dy_backward(self, root, full=False):
        """DyNet's backward: gradients of root accumulate into the parameters."""
        if self is not _Current.cg:
            raise _stale("backward()")
        shape = root.shape
        if shape.count(1) != len(shape):
            # DyNet refuses too (exec.cc): seeding with ones would silently sum the elements
            if root.__class__ is BatchedExpression:
                what = f"a batch of {shape[0]} with dims {tuple(shape[1:]) or (1,)} each"
                fix = "dy.sum_batches(...) (after dy.sum_elems(...) if each is not a scalar)"
            else:
                what = f"dims {tuple(shape)}"
                fix = "dy.sum_elems(...) or pick the element you mean"
            raise GraphError(f"backward: only a scalar expression can start backward, this one "
                             f"has {what}; reduce it first with {fix}")
        self._backward_root = root._index
        if full:
            grads = self._full_backward(root)
        elif root.requires_grad:
            self.evaluate(root)
            plan = self._plan
            if plan is not None and root._index == plan.n - 1 == len(self.nodes) - 1 \
                    and root.op is not None and not state.ANOMALY:
                grads = plan.backward(self.nodes)      # the generated sweep (plans.py)
            else:
                grads = self.backward_from(root)
        else:
            grads = {}     # DyNet runs it too: nothing to update, every gradient is zero
        self._last_grads = grads
        for (p, update), node in self._params.items():
            g = grads.get(node) if update else None
            if g is not None:
                p._add_grad(g)
        rows = {}                       # table -> ([row ids], [gradients]): one add.at each
        for node, lp, ids, update in self._lookups:
            if not update:
                continue
            g = grads.get(node)
            if g is not None:
                r = rows.get(lp)
                if r is None:
                    r = rows[lp] = ([], [])
                if isinstance(ids, int):
                    r[0].append(ids)
                    r[1].append(g)
                else:
                    r[0].extend(ids.tolist())
                    r[1].extend(g)
        for lp, (ids, gs) in rows.items():
            lp._add_grad(np.array(ids, dtype=np.int64), np.array(gs))

    def _full_backward(self, root):
        """backward(full=True): the gradient of every node up to root, inputs and constants
        too (DyNet computes them all).  The flags that say which nodes need a gradient are
        set for the sweep and put back after it."""
        nodes = [n for n in self.nodes[:root._index + 1] if n.dtype.kind == "f"]
        saved = [n.requires_grad for n in nodes]
        for n in nodes:
            n.requires_grad = True
        try:
            self.evaluate(root)
            grads = {root: np.ones(root.shape, root.dtype)}
            backprop(reachable([root]), grads, retain_graph=True, keep_all=True)
        finally:
            for n, r in zip(nodes, saved):
                n.requires_grad = r
        return grads

    def gradient_of(self, node):
        if self is not _Current.cg:
            raise _stale("gradient()")
        if node._index > self._backward_root:
            raise GraphError(
                "gradient(): no backward pass has reached this expression yet -- call "
                "backward() on a loss computed from it first" if self._backward_root < 0 else
                "gradient(): this expression was built after the last backward(); call "
                "backward() again on a loss computed from it")
        g = self._last_grads.get(node)
        if g is None:
            if node.requires_grad and node.op is not None:
                raise GraphError("gradient(): the gradient of an intermediate expression is "
                                 "kept only by backward(full=True)")
            return _dims_like(node, np.zeros(node.shape, node.dtype))
        return _dims_like(node, np.asarray(g))


def record(op, args, attrs=_NOATTRS):
    """apply() for the dialect's own functions: straight into the current graph's fast
    path when the first operand is one of its nodes (a DyNet graph holds float32 nodes, for
    which apply's type promotion has nothing to do: _record_fast checks that), else apply()
    with its promotion, eager computation and stale-graph errors."""
    g = args[0]._graph
    if g is _Current.cg and g is not None and not g.immediate_compute:
        return g._record_fast(op, args, attrs, False)
    return apply(op, args, attrs)


def _param_meta(p):
    """The Meta of a parameter's shared node: the same for this Parameters object in every
    graph (so record keys recur across graphs), its own (so they never mix parameters)."""
    v = p._value
    m = getattr(p, "_cg_meta", None)
    if m is None or m[0] != v.shape or m[1] != v.dtype:
        m = p._cg_meta = Meta((v.shape, v.dtype))
    return m


class _Dropped:
    """The graph of the nodes cg_revert() dropped: whatever is asked of it is refused."""

    def record(self, op, args, attrs):
        raise _stale(op.name)

    def __getattr__(self, name):
        raise _stale(f"{name.strip('_').replace('dy_', '')}()")


_REVERTED = _Dropped()


def _dims_like(node, g):
    """A gradient laid out as npvalue() lays out the value (expr._layout)."""
    from .expr import _layout
    return _layout(node, g).astype(np.float64)      # float64, as DyNet's


def _stale(what):
    got = f"{what} on an expression" if what.endswith("()") else f"{what}: an operand is an expression"
    return GraphError(f"Stale Expression (created before renewing the Computation Graph): "
                      f"{got} of a graph that renew_cg() has since replaced; build it again "
                      f"after renew_cg()")


class _Current:
    """The graph DyNet's free functions build into (DyNet has one per process)."""
    cg = None
    config = {"autobatch": False}


def cg():
    if _Current.cg is None:
        renew_cg()
    return _Current.cg


def cg_checkpoint():
    """Remember the current graph's state; cg_revert() goes back to it."""
    cg().checkpoint()


def cg_revert():
    cg().revert()


def print_text_graphviz():
    """The current graph in Graphviz's text format, on stdout (as DyNet prints it)."""
    g = cg()
    lines = ["digraph G {", "  rankdir=LR;", "  nodesep=.05;"]
    for node in g.nodes:
        name = node.op.name if node.op is not None else ("parameter" if node.requires_grad else "input")
        lines.append(f'  N{node._index} [label="v{node._index} = {name} {tuple(node.shape)}"];')
        for x in node.inputs or ():
            if x._graph is g:
                lines.append(f"  N{x._index} -> N{node._index};")
    print("\n".join(lines + ["}"]))


print_graphviz = print_text_graphviz


def renew_cg(immediate_compute=False, check_validity=False, autobatching=None):
    """Drop the current graph and start a new one; autobatching=None follows config()."""
    if autobatching is None:
        autobatching = bool(_Current.config["autobatch"])
    if _Current.cg is not None:
        _Current.cg._release()
    gcpause.catch_up()        # the collector runs here, not inside graphs (gcpause.py)
    gcpause.hold()
    _Current.cg = ComputationGraph(bool(autobatching), immediate_compute, check_validity)
    return _Current.cg
