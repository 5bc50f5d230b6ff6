"""Replay of repeated unbatched DyNet graphs: one generated forward and backward per structure.

DyNet programs rebuild the same graph again and again: xor's is identical on every update, a
per-sentence tagger has one structure per sentence length.  Each node a graph records is
folded into the graph's *structure state*, an int: the state after a node is looked up in a
trie keyed by (state before, the node's token), where a token says everything the arithmetic
depends on and nothing it does not --

* a leaf (input, parameter, looked-up row, constant): its shape, dtype, class and whether it
  requires a gradient -- not its value, which the replay reads afresh;
* an op node: the op, its attributes' key (rules.attrs_key: equal keys, equal attributes),
  its inputs' shapes and dtypes, whether it requires a gradient, and for each input the index
  of that node in the graph (None: a constant from outside the graph, a label or a dropout
  mask, which the replay reads afresh too).  On _record_fast's path the first three are the
  id of its record key, so a token is a few ints.

Two graphs with one state therefore have the same nodes, wired the same way, on arrays of the
same shapes; the trie makes that exact (no hash collisions: a state is a path of equal
tokens; graphs are folded once graphs of their size recur, see _FOLD_AT).  The _PLAN_AT-th
time a state is evaluated whole, from a fresh graph, its forward
and backward are written as straight-line Python by replay.py's writer (the code compile()
replays: one call per op, the VJPs with their broadcast reductions worked out once); from
then on, evaluate() runs the generated forward -- every node still gets its value, so
value() of any intermediate, gradient(), incremental forwards and the node-by-node backward
keep working -- and backward() of the graph's last node runs the generated backward.  Anything
else (a graph evaluated in parts, invalidated, reverted, autobatched, anomaly mode, an operand
from outside that needs a gradient, attributes without a key) takes the node-by-node path,
which the replay must equal exactly (tests/dynet/test_replay.py).
"""
import itertools
import re

import numpy as np

from .. import state
from ..executors.replay import _Writer, builtins_compile
from ..tensor import _make
from . import plan_inline

_ids = itertools.count(1)
ROOT = 0                # the state of a graph with no node
_trie = {}              # (state, token...) -> the state after that node
_seen = {}              # state -> how many whole evaluations from a fresh graph
_plans = {}             # state -> GraphPlan (or _NONE: could not be written)
_NONE = object()
_MAX = 100000           # trie entries before everything is dropped (states are never reused)
# Writing a plan costs some 30-60 us per node (Python's compile() of ~2.5 statements a node)
# and a replay saves about 1.5 us per node, small graph or big: a plan pays after some 20-40
# replays.  So a structure is planned once it has recurred _PLAN_AT times (a structure seen
# that often tends to keep coming: xor's, or a tagger's sentence lengths over epochs); one
# seen a few times only (most sentence lengths in a short run) is never written.
_PLAN_AT = 32


_sizes = {ROOT: 0}      # state -> how many nodes were folded into it

# Folding costs ~0.2 us a node, which a graph that is never replayed pays for nothing (a
# tagger's sentences, in a run too short for their lengths to recur _PLAN_AT times).  So a
# graph is folded only while graphs of the last one's size (node count) keep coming back:
# once a size has been evaluated _FOLD_AT times, the next graphs are folded (and counted, and
# replayed once planned); a graph of a rare size turns it off for the next one.
_FOLD_AT = 16
_size_count = {}        # node count -> fresh whole evaluations of unbatched graphs
_fold = [False]


def folding():
    """Whether a new graph folds its nodes (ComputationGraph.__init__)."""
    return _fold[0]


def count_size(n):
    """A fresh unbatched graph of n nodes is evaluated whole."""
    c = _size_count.get(n, 0) + 1
    if c == 1 and len(_size_count) > 10000:
        _size_count.clear()
    _size_count[n] = c
    _fold[0] = c >= _FOLD_AT


def step(token):
    """The state after a node whose token (its first element the state before) is given."""
    nxt = _trie.get(token)
    if nxt is None:
        if len(_trie) > _MAX:
            _trie.clear()
            _seen.clear()
            _plans.clear()
            _sizes.clear()
            _sizes[ROOT] = 0
        nxt = _trie[token] = next(_ids)
        # (a state from before a clear has no size: its graph is never replayed)
        _sizes[nxt] = _sizes.get(token[0], -1 << 40) + 1
    return nxt


def size(st):
    """The number of nodes folded into state st: a graph whose every node was folded (none
    was made by a path that does not fold, see ComputationGraph) has len(nodes) of them."""
    return _sizes.get(st, -1)


def general_token(graph, st, t):
    """The token of node t recorded the general way (a leaf, or an op node outside
    _record_fast's hit path); None when the replay cannot describe it."""
    v = t._value
    if t.op is None:
        if v.__class__ is not np.ndarray:
            return None
        return (st, "L", (v.shape, v.dtype), t.requires_grad, t.__class__)
    from ..executors.rules import attrs_key
    ak = attrs_key(t.attrs) if t.attrs else ()
    if ak is None or v is not None:
        return None
    refs = []
    for a in t.inputs:
        if a._graph is graph:
            refs.append(a._index)
            continue
        av = a._value
        if a._graph is not None or a.requires_grad or av.__class__ is not np.ndarray:
            return None            # another graph's node, or a gradient that leaves the graph
        refs.append((av.shape, av.dtype))
    return (st, "G", t.op, ak, t.requires_grad, tuple(refs))


def has_plan(st):
    """Whether structure state st has a plan written (None: a graph not folded has none)."""
    if st is None:
        return False
    p = _plans.get(st)
    return p is not None and p is not _NONE


def evaluate(graph):
    """Compute every node of a fresh graph whose structure state is known; False: the caller
    computes it node by node (this structure's first time, or it could not be planned)."""
    st = graph._st
    plan = _plans.get(st)
    if plan is None:
        n = _seen.get(st, 0) + 1
        _seen[st] = n
        if n < _PLAN_AT:
            return False
        # computed node by node, then written down from its values
        graph._evaluate_nodes()
        try:
            plan = GraphPlan(graph)
        except Exception:       # (_Unplannable, or an op the writer cannot write): the plan
            plan = _NONE        # is an optimization; this structure runs node by node
        _plans[st] = plan
        if plan is not _NONE:
            graph._plan = plan
        return True
    if plan is _NONE or not plan.forward(graph.nodes):
        return False
    graph._frontier = len(graph.nodes)
    graph._plan = plan
    return True


class _Unplannable(Exception):
    pass


_NAME = re.compile(r"\b([ave]\d+)\b")


class GraphPlan:
    """The generated forward and backward of one structure (see the module's docstring)."""

    def __init__(self, graph):
        # a constant from outside is an argument per use: the same object used twice here (a
        # cached label) may be two different ones next time, so each use gets its own
        # stand-in while the code is written (the nodes' inputs are put back after)
        swapped = []
        try:
            for t in graph.nodes:
                if t.op is not None and any(x._graph is not graph for x in t.inputs):
                    swapped.append((t, t.inputs))
                    t.inputs = tuple(x if x._graph is graph else _stand_in(x) for x in t.inputs)
            self._write(graph)
        finally:
            for t, ins in swapped:
                t.inputs = ins

    def _write(self, graph):
        nodes = graph.nodes
        self.n = len(nodes)
        root = nodes[-1]
        names, fetch = {}, {}           # id(node) -> its variable; variable -> how to read it
        for t in nodes:
            if t.op is None:
                names[id(t)] = f"a{t._index}"
                fetch[names[id(t)]] = f"N[{t._index}]._value"
                continue
            for p, x in enumerate(t.inputs):
                if x._graph is not graph and id(x) not in names:
                    name = names[id(x)] = f"e{len(fetch)}"
                    fetch[name] = f"N[{t._index}].inputs[{p}]._value"
            names[id(t)] = f"v{t._index}"
        writer = _InlineWriter(names, 0, 0)
        env = writer.env
        env["ndarray"] = np.ndarray
        env["asarray"] = np.asarray
        env["ones"] = np.ones
        ops = [t for t in nodes if t.op is not None]
        # forward: read the leaves, check they are NumPy arrays, one line per op node
        body = []
        for t in ops:
            writer._forward(t, body)
            v = names[id(t)]
            if t._value.ndim == 0:       # a reduction may hand back a NumPy scalar
                body.append(f"    if {v}.__class__ is not ndarray: {v} = asarray({v})")
                body.append(f"    N[{t._index}]._value = {v}")
            else:                        # (one statement: compile() costs per statement)
                body[-1] = body[-1].replace(f"    {v} = ", f"    N[{t._index}]._value = {v} = ", 1)
        used = _used(body)
        leaves = [v for v in fetch if v in used]
        fwd = ["def forward(N):"] + [f"    {v} = {fetch[v]}" for v in leaves]
        if leaves:
            fwd.append("    if " + " or ".join(f"{v}.__class__ is not ndarray" for v in leaves)
                       + ": return False")
        fwd += body + ["    return True"]
        # backward of the last node: every value read from the nodes (a value a trainer's
        # hold() replaced by a copy is read as the node has it, as the node-by-node sweep)
        bwd = [f"    g{names[id(root)]} = ones({root.shape!r}, {root.dtype.str!r})"]
        self.grad_leaves = []
        if root.requires_grad and root.op is not None:
            got = writer._backward(ops, root, bwd)
            self.grad_leaves = sorted(int(n[1:]) for n in got if n[0] == "a")
        ret = []
        for i in self.grad_leaves:
            g = f"ga{i}"
            if nodes[i]._value.ndim == 0:
                bwd.append(f"    {g} = asarray({g})")
            ret.append(g)
        bwd.append(f"    return ({''.join(g + ', ' for g in ret)})")
        bwd = _merged(bwd)
        used = _used(bwd)
        # every node's value in one statement (the unused ones into `_`)
        loads = ["    " + ", ".join(names[id(t)] if names[id(t)] in used else "_" for t in nodes)
                 + ", = [x._value for x in N]"]
        for v in fetch:
            if v[0] == "e" and v in used:
                loads.append(f"    {v} = {fetch[v]}")
        source = "\n".join(fwd) + "\n\n" + "\n".join(["def backward(N):"] + loads + bwd) + "\n"
        self.source = source
        exec(builtins_compile(source, "<compgraph.dynet replayed graph>", "exec"), env)
        self.forward = env["forward"]
        self._backward = env["backward"]

    def backward(self, nodes):
        """{leaf: gradient} of the last node, as ComputationGraph.backward_from gives it."""
        gs = self._backward(nodes)
        return {nodes[i]: g for i, g in zip(self.grad_leaves, gs)}


class _InlineWriter(_Writer):
    """replay.py's writer, with the common ops written out as NumPy (plan_inline.py)."""

    def __init__(self, names, n_args, n_externals):
        super().__init__(names, n_args, n_externals)
        self.env.update(plan_inline.ENV)

    def _forward(self, t, lines, buffers=False):
        names = self.names
        code = plan_inline.forward(t, [names[id(x)] for x in t.inputs])
        if code is None:
            return super()._forward(t, lines, buffers)
        lines.append(f"    {names[id(t)]} = {code}")

    def _vjp(self, t, i, k, vjp, operands, attrs):
        names = self.names
        code = plan_inline.vjp(t, i, f"gv{k}", [names[id(x)] for x in t.inputs], f"v{k}")
        return super()._vjp(t, i, k, vjp, operands, attrs) if code is None else code


def _stand_in(x):
    if x.requires_grad:
        raise _Unplannable        # a gradient that leaves the graph: the general sweep
    return _make(x._value)


_TEMP = re.compile(r"^    t = (.*)$")
_TAKE = re.compile(r"^    (\w+) = (\1 \+ )?t$")


def _merged(lines):
    """The writer's `t = <vjp>` followed by `g = t` or `g = g + t` as one statement each
    (the same operations in the same order: compile() costs per statement)."""
    out = []
    for line in lines:
        m = _TAKE.match(line)
        prev = _TEMP.match(out[-1]) if m and out else None
        if prev is not None:
            out[-1] = f"    {m.group(1)} = {m.group(2) or ''}{prev.group(1)}"
        else:
            out.append(line)
    return out


def _used(lines):
    return set(_NAME.findall("\n".join(lines)))


def active():
    """Whether replay may be used now (anomaly mode checks every node's values itself)."""
    return not state.ANOMALY
