"""The LSTM step as DyNet users write it, recognised in an autobatched graph and run as one
batched kernel.

The idiom (benchmarks/dynet_programs.py, DyNet's examples)::

    g = dy.affine_transform([b, Wx, x, Wh, h])          # the four gates at once
    i = dy.logistic(dy.pick_range(g, 0, H))             # (any order of the ranges)
    f = dy.logistic(dy.pick_range(g, H, 2 * H))
    o = dy.logistic(dy.pick_range(g, 2 * H, 3 * H))
    u = dy.tanh(dy.pick_range(g, 3 * H, 4 * H))
    c = dy.cmult(f, c_prev) + dy.cmult(i, u)            # (operands in either order)
    h = dy.cmult(o, dy.tanh(c))

is 13 nodes after g (4 ranges, 4 activations, 3 products, a sum and a tanh); batched one
signature at a time they are 13 batches a time step, each a gather, a NumPy call and a
scatter per member, and as many in backward.  Matched from h when the graph is evaluated,
the 13 become one member of a fused signature (its inputs g and c_prev, its outputs h and
c): forward is a gather of g and c_prev, eight NumPy calls on (B, H) arrays and the values
of the 13 nodes handed out as rows; backward is the closed form of the 13 VJPs on the same
arrays and one scatter to g and c_prev.

Nothing is lost: every one of the 13 nodes gets its value (the same kernels as its own op:
compgraph's sigmoid and tanh forwards), so a later value() or a new expression on any of
them works; a member some of whose inner nodes got a gradient from outside the step (an
expression built on a gate, say) runs its backward node by node instead; unbatched,
steps on batched expressions, or mixing dtypes, are left alone.
"""
import numpy as np

from ..executors.autobatch import Batch, FusedLayout, _node_vjp
from ..ops import OPS
from ..ops.namespace import array_namespace

_MUL, _ADD, _SIG, _TANH, _GETITEM = (OPS[n] for n in ("mul", "add", "sigmoid", "tanh", "getitem"))
_NP = array_namespace(np)
_sigmoid, _tanh = _SIG.fwd, _TANH.fwd


class Step:
    """One matched LSTM step: a member of a fused batch (the agenda sees its inputs, g and
    c_prev; `outs` are the nodes computed when it runs, in creation order)."""
    __slots__ = ("inputs", "outs", "_value", "_graph")

    def __init__(self, graph, g, c, outs):
        self.inputs, self.outs, self._value, self._graph = (g, c), outs, None, graph


class LSTMStep(FusedLayout):
    """The fused signature: the gates' ranges in g, and the position of each of the 13
    nodes in a Step's `outs` (so that values and gradients go to the right node)."""
    name = "lstm_step (fused)"
    nodes_per_member = 13

    def __init__(self, ranges, where):
        self.ranges = ranges          # (i, f, o, u): slices of g
        self.where = where            # names -> index in outs (_WHERE)

    # --- forward ---------------------------------------------------------------------------
    def run(self, graph, group):
        si, sf, so, su = self.ranges
        G = np.array([s.inputs[0]._value for s in group])
        C = np.array([s.inputs[1]._value for s in group])
        PI, PF, PO, PU = G[:, si], G[:, sf], G[:, so], G[:, su]
        I, F, O, U = _sigmoid(_NP, PI), _sigmoid(_NP, PF), _sigmoid(_NP, PO), _tanh(_NP, PU)
        M1, M2 = F * C, I * U
        CN = M1 + M2
        TC = _tanh(_NP, CN)
        Hh = O * TC
        # every node's value, a row of its kind's (B, H) array (in _ORDER); iterating an
        # array yields its rows without a Python-level index per row
        outs = [s.outs for s in group]
        for j, a in enumerate((PI, PF, PO, PU, I, F, O, U, M1, M2, CN, TC, Hh)):
            for nodes, row in zip(outs, a):
                nodes[j]._value = row
        graph._batches.append(Batch(group, None, self, (G, C, I, F, O, U, TC)))
        graph._count(self, 13 * len(group), 1)
        return [n for nodes in outs for n in nodes]

    # --- backward --------------------------------------------------------------------------
    def vjp(self, ns, b, grads, keep_all):
        w = self.where
        kh, kc = w["h"], w["c"]
        inner = [k for k in range(13) if k != kh and k != kc]
        take = grads.get if keep_all else (lambda n: grads.pop(n, None))
        fused, gh, gc, alone = [], [], [], []
        for k, s in enumerate(b.nodes):
            outs = s.outs
            if keep_all or any([outs[j] in grads for j in inner]):
                alone.append(s)       # a gradient reached an inner node from outside the step
                continue
            a, c = take(outs[kh]), take(outs[kc])
            if a is None and c is None:
                continue
            fused.append(k)
            gh.append(a)
            gc.append(c)
        for s in alone:
            for node in reversed(s.outs):
                g = take(node)
                if g is not None:
                    _node_vjp(ns, node, g, grads)
        if not fused:
            return
        G, C, I, F, O, U, TC = b.out
        if len(fused) != len(b.nodes):
            G, C, I, F, O, U, TC = (a[fused] for a in b.out)
        GH = _stack(gh, I)
        GC = _stack(gc, I)
        dTC = GH * O                                   # h = o * tc
        dO = GH * TC
        dCN = dTC * (1 - TC * TC)                      # tc = tanh(c)
        if GC is not None:
            dCN = dCN + GC if GH is not None else GC
        dG = np.zeros_like(G)
        si, sf, so, su = self.ranges
        dG[:, si] += (dCN * U) * I * (1 - I)           # c = f * c_prev + i * u
        dG[:, sf] += (dCN * C) * F * (1 - F)
        dG[:, so] += dO * O * (1 - O)
        dG[:, su] += (dCN * I) * (1 - U * U)
        dC = dCN * F
        nodes = b.nodes
        get = grads.get
        for row, k in enumerate(fused):
            g, c = nodes[k].inputs
            if g.requires_grad:
                prev = get(g)
                grads[g] = dG[row] if prev is None else prev + dG[row]
            if c.requires_grad:
                prev = get(c)
                grads[c] = dC[row] if prev is None else prev + dC[row]


def _stack(gs, like):
    """The members' gradients as one (B, H) array, zeros where a member has none; None when
    none has one."""
    if all(g is None for g in gs):
        return None
    return np.array([np.zeros(like.shape[1:], like.dtype) if g is None else g for g in gs])


# --- matching -------------------------------------------------------------------------------------
# A Step's `outs` are always in this order -- a topological one (each node after its inputs),
# which the node-by-node backward of a member walks in reverse.
_ORDER = ("pi", "pf", "po", "pu", "i", "f", "o", "u", "fc", "iu", "c", "tc", "h")
_WHERE = {name: k for k, name in enumerate(_ORDER)}


def _gate(x, act, g):
    """Whether x is act(pick_range of g)."""
    if x.op is not act:
        return False
    p = x.inputs[0]
    return p.op is _GETITEM and p.inputs[0] is g


def _match(h):
    """The 13 nodes of the step ending at h (a cmult), in _ORDER, with g and c_prev; or
    None.  Only the structure is checked here; fuse() checks classes, shapes and ranges."""
    a, b = h.inputs
    if b.op is _TANH and a.op is _SIG:
        o, tc = a, b
    elif a.op is _TANH and b.op is _SIG:
        o, tc = b, a
    else:
        return None
    cn = tc.inputs[0]
    po = o.inputs[0]
    if cn.op is not _ADD or po.op is not _GETITEM:
        return None
    g = po.inputs[0]
    m1, m2 = cn.inputs
    if m1.op is not _MUL or m2.op is not _MUL or m1 is m2:
        return None
    for iu, fc in ((m1, m2), (m2, m1)):
        x, y = iu.inputs
        if _gate(x, _SIG, g) and _gate(y, _TANH, g):
            i, u = x, y
        elif _gate(y, _SIG, g) and _gate(x, _TANH, g):
            i, u = y, x
        else:
            continue
        x, y = fc.inputs
        if x is not i and x is not o and _gate(x, _SIG, g):
            f, c = x, y
        elif y is not i and y is not o and _gate(y, _SIG, g):
            f, c = y, x
        else:
            continue
        break
    else:
        return None
    return g, c, (i.inputs[0], f.inputs[0], po, u.inputs[0], i, f, o, u, fc, iu, cn, tc, h)


def _layout(graph, g, c, nodes, known):
    """The fused signature's id for a step with these nodes, or None when the step does not
    qualify (a batched expression, another dtype, shapes or ranges that are not four H-wide
    ranges of a vector g).  `known` caches it per (metas, range attributes) for one fuse()."""
    key = (g._meta, c._meta, id(nodes[0].attrs), id(nodes[1].attrs), id(nodes[2].attrs),
           id(nodes[3].attrs))
    hit = known.get(key, False)
    if hit is not False:
        return hit
    known[key] = None
    H = nodes[12]._meta[0]
    gm, cm = g._meta, c._meta
    if len(H) != 1 or len(gm[0]) != 1 or cm[0] != H or gm[1].kind != "f" or cm[1] != gm[1]:
        return None                  # (one float dtype: then every inner node has it too)
    ranges = []
    for p in nodes[:4]:
        index = p.attrs.get("index")
        if index.__class__ is not tuple or len(index) != 1 or index[0].__class__ is not slice \
                or index[0].step is not None:
            return None
        lo, hi, _ = index[0].indices(gm[0][0])
        if hi - lo != H[0]:
            return None
        ranges.append(slice(lo, hi))
    sig = ("lstm_step", gm, cm, tuple((r.start, r.stop) for r in ranges))
    sid = graph._sig_ids.get(sig)
    if sid is None:
        sid = graph._intern(sig, LSTMStep(tuple(ranges), _WHERE))
    known[key] = sid
    return sid


def fuse(graph, pending):
    """pending with each LSTM step found replaced by one Step (at its h's place); the
    signatures of the steps interned in the graph, their depth that of their h."""
    from .graph import Expression
    steps = {}
    taken = set()
    known = {}
    depth = graph._depth
    sigof, sig_depth, sig_count = graph._sigof, graph._sig_depth, graph._sig_count
    for h in pending:
        if h.op is not _MUL:
            continue
        m = _match(h)
        if m is None:
            continue
        g, c, nodes = m
        if g.__class__ is not Expression or c.__class__ is not Expression:
            continue
        sid = _layout(graph, g, c, nodes, known)
        if sid is None:
            continue
        for n in nodes:
            if n in taken or n._value is not None or n.__class__ is not Expression:
                break
        else:
            taken.update(nodes)
            step = Step(graph, g, c, nodes)
            steps[h] = step
            d = depth.get(h, 1)
            sigof[step] = sid
            sig_depth[sid] += d
            sig_count[sid] += 1
    if not steps:
        return pending
    out = []
    for n in pending:
        if n not in taken:
            out.append(n)
        else:
            s = steps.get(n)
            if s is not None:
                out.append(s)
    return out
