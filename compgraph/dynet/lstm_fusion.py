"""The idioms DyNet users write node by node, recognised in an autobatched graph and run as
fused regions (regions.py): one member of a batch instead of a dozen nodes on the agenda.

Three idioms (benchmarks/dynet_programs.py, DyNet's examples)::

    g = dy.affine_transform([b, Wx, x, Wh, h])       # affine: b + Wx x + Wh h, written by the
                                                     # dialect as add(add(b, Wx x), Wh h)
    i = dy.logistic(dy.pick_range(g, 0, H))          # a gated cell: gates are activations
    f = dy.logistic(dy.pick_range(g, H, 2 * H))      #   (logistic or tanh) of ranges of one g,
    o = dy.logistic(dy.pick_range(g, 2 * H, 3 * H))  #   the cell a sum of products, each of a
    u = dy.tanh(dy.pick_range(g, 3 * H, 4 * H))      #   gate and a gate or an outside vector,
    c = dy.cmult(f, c_prev) + dy.cmult(i, u)         #   and h = o * tanh(c)
    h = dy.cmult(o, dy.tanh(c))

The cell covers the LSTM step (c = f*c_prev + i*u), the Tree-LSTM's leaf (c = i*u) and its
binary node (c = i*u + f_l*c_l + f_r*c_r), in any order of ranges and operands.  The affine
is an add chain b + W1 x1 + W2 x2 ... of shared weights W_k (parameters) and per-member
vectors x_k; its bias may be shared or per member.  A cell's g made by an affine is one
region with it: one member per LSTM step.  The third is the output layer and its loss,
pickneglogsoftmax(affine_transform([b, W, h]), class): the affine and the cross-entropy
of its logits, the class a per-member constant.

Matching: the first region of a structure is found by the general matchers below
(_cell, _affine), which give its nodes in creation order (a topological order) and their
Program; its *template* -- the op and attributes of each instruction and which slots feed
it, in the order of the node's inputs -- then checks every later candidate by walking from
its root along its inputs, a few comparisons per node.  A region is fused only when all of
its nodes are pending float vectors of this graph, unbatched Expressions, not in another
region, and no external is one of them; anything else stays node by node.
"""
import numpy as np

from ..executors.rules import attrs_key
from ..ops import OPS
from . import lstm_chain
from .regions import ADD, MUL, MV, PICK, SIG, TANH, XENT, Group, Member, Program

_MUL, _ADD, _SIG, _TANH, _GETITEM, _MATMUL, _XENT = (
    OPS[n] for n in ("mul", "add", "sigmoid", "tanh", "getitem", "matmul", "cross_entropy"))
_KINDS = {_MUL: MUL, _ADD: ADD, _SIG: SIG, _TANH: TANH, _GETITEM: PICK, _MATMUL: MV, _XENT: XENT}
CELL, AFFINE, LOSS = "gated_cell (fused)", "affine (fused)", "affine_xent (fused)"


# --- the general matchers: the nodes of a region, or None ---------------------------------------------

def _is_gate(x, g):
    return (x.op is _SIG or x.op is _TANH) and x.inputs[0].op is _GETITEM and x.inputs[0].inputs[0] is g


def _cell(h, shared_ids):
    """(inner nodes, externals, roots) of the gated cell ending at h, or None; with the
    affine transform that makes its g, when there is one (one member then does a whole
    LSTM step: half the members, batches and gathers of two regions)."""
    a, b = h.inputs
    if a.op is _SIG and b.op is _TANH:
        o, tc = a, b
    elif b.op is _SIG and a.op is _TANH:
        o, tc = b, a
    else:
        return None
    po, c = o.inputs[0], tc.inputs[0]
    if po.op is not _GETITEM:
        return None
    g = po.inputs[0]
    inner, ext = [h, o, po, tc], [g]
    adds = [c]
    while adds:                                 # the sum of terms that is c
        n = adds.pop()
        inner.append(n)
        if n.op is _ADD:
            adds.extend(n.inputs)
            continue
        if n.op is not _MUL:
            return None
        x, y = n.inputs
        gx, gy = _is_gate(x, g), _is_gate(y, g)
        if not (gx or gy):
            return None
        for z, gz in ((x, gx), (y, gy)):
            if gz:
                inner.append(z)
                inner.append(z.inputs[0])
            else:
                ext.append(z)
    if not _is_gate(o, g):
        return None
    if g._value is None and g.op is _ADD:
        affine = _affine(g, shared_ids)
        if affine is not None:
            inner += affine[0]
            ext = affine[1] + [x for x in ext if x is not g]
    return inner, ext, (h, c)


def _affine(root, shared_ids):
    """(inner nodes, externals, roots) of the add chain b + W1 x1 + ... ending at root, or
    None."""
    inner, ext = [], []
    n = root
    while n.op is _ADD:
        rest, m = n.inputs
        if m.op is not _MATMUL or m._value is not None:
            break
        W, x = m.inputs
        if W._id not in shared_ids or x._id in shared_ids:
            break
        inner.append(n)
        inner.append(m)
        ext.append(W)
        ext.append(x)
        n = rest
    if not inner:
        return None
    ext.append(n)                               # the bias (or a per-member vector)
    return inner, ext, (root,)


def _loss(root, shared_ids):
    """(inner nodes, externals, roots) of pickneglogsoftmax(b + W h ..., class): the output
    layer and its loss, or None."""
    logits, target = root.inputs
    if logits.op is not _ADD or logits._value is not None:
        return None
    found = _affine(logits, shared_ids)
    if found is None:
        return None
    inner, ext, _ = found
    return inner + [root], ext + [target], (root,)


def _constant(x):
    """Whether x is a constant made outside the graph (pickneglogsoftmax's class)."""
    return x._graph is None and x.op is None and not x.requires_grad and x._value is not None


def _meta_of(x):
    return x._meta if x._meta is not None else (x._value.shape, x._value.dtype)


# --- a region's program and template ----------------------------------------------------------------

class Template:
    """A known region structure: its Program, and `match(root, taken, cls, graph,
    shared_ids, depth)`, which checks a candidate root against it and gives (externals,
    the instructions' nodes, the shared externals' ids, the member's depth) or None."""
    __slots__ = ("program", "sids", "match")

    def __init__(self, ops, attrs, feeds, metas, shared, constant, program):
        self.program = program
        self.sids = {}                          # shared externals' ids -> signature id
        self.match = _matcher(ops, attrs, feeds, metas, shared, constant)

    def sid(self, graph, key, metas):
        sid = self.sids.get(key)
        if sid is None:
            p = self.program
            sid = self.sids[key] = graph._intern((p.name, p.key, metas, key), p)
        return sid


_matchers = {}           # a template's structure -> its generated match, across graphs


def _matcher(ops, attrs, feeds, metas, shared, constant):
    """A template's match, generated once per structure (compile() costs more than a whole
    graph's matching)."""
    keys = tuple(None if a is None else attrs_key(a) for a in attrs)
    if any(a is not None and k is None for a, k in zip(attrs, keys)):
        return _generate(ops, attrs, feeds, metas, shared, constant)   # (not keyable: no cache)
    key = (ops, keys, feeds, tuple(None if m is None else (m[0], m[1]) for m in metas), shared,
           constant)
    f = _matchers.get(key, False)
    if f is False:
        if len(_matchers) > 1000:
            _matchers.clear()
        f = _matchers[key] = _generate(ops, attrs, feeds, metas, shared, constant)
    return f


def _generate(ops, attrs, feeds, metas, shared, constant):
    """A template's match as one generated function, straight-line code: it runs once per
    candidate root, and a loop over the template costs three times as much.

    Walking from the root (the last instruction) back along each node's inputs, every node
    must have the template's op and attributes, be pending and in no other region, and a
    slot met twice must be the same node.  Every external must be a node of this graph, of
    its unbatched node class (then so are the region's nodes, made from them), not one of
    the region's own nodes, shared (a parameter) where the template's is, else with the
    template's meta -- or, where the template's is, a constant of no graph (a class id)
    with the template's shape and dtype; the member's depth is one node's on the
    externals."""
    E, n = len(shared), len(ops)
    seen = {E + n - 1}
    lines = ["def match(root, taken, cls, graph, shared_ids, depth):", f"    s{E + n - 1} = root"]
    for j in range(n - 1, -1, -1):
        if E + j not in seen:
            return None                         # an instruction no later one uses: not a region
        v = f"s{E + j}"
        # (no class check: a node of unbatched externals is unbatched, see the externals')
        lines.append(f"    if {v}.op is not OPS[{j}] or {v}._value is not None or {v} in taken:")
        lines.append("        return None")
        if attrs[j] is not None:
            lines.append(f"    if {v}.attrs is not ATTRS[{j}] and {v}.attrs != ATTRS[{j}]:")
            lines.append("        return None")
        lines.append(f"    ins = {v}.inputs")
        for pos, slot in enumerate(feeds[j]):
            if slot in seen:
                lines.append(f"    if ins[{pos}] is not s{slot}:")
                lines.append("        return None")
            else:
                seen.add(slot)
                lines.append(f"    s{slot} = ins[{pos}]")
    if len(seen) != E + n:
        return None
    inside = " or ".join(f"x is s{E + j}" for j in range(n))
    lines += [f"    first = s{E}._index", "    d = 0"]
    for k in range(E):
        lines.append(f"    x = s{k}")
        if constant[k]:                         # a constant of no graph: its value's meta
            lines += ["    if x._graph is not None or x.op is not None or x.requires_grad "
                      "or x._value is None:",
                      "        return None",
                      f"    if x._value.shape != M[{k}][0] or x._value.dtype != M[{k}][1]:",
                      "        return None"]
            continue
        lines += ["    if x._graph is not graph or x._meta is None or x.__class__ is not cls:",
                  "        return None",
                  f"    if x._index >= first and ({inside}):",
                  "        return None"]
        if shared[k]:                           # (a parameter: depth 0)
            lines += ["    if x._id not in shared_ids:", "        return None"]
            continue
        lines += [f"    if x._id in shared_ids or (x._meta is not M[{k}] and x._meta != M[{k}]):",
                  "        return None",
                  "    dx = depth.get(x, 0)", "    if dx > d:", "        d = dx"]
    ids = "".join(f"s{k}._id, " for k in range(E) if shared[k])
    lines.append(f"    return [{', '.join(f's{k}' for k in range(E))}], "
                 f"[{', '.join(f's{E + j}' for j in range(n))}], ({ids}), d + 1")
    env = {"OPS": ops, "ATTRS": attrs, "M": metas}
    exec(compile("\n".join(lines) + "\n", "<compgraph region template>", "exec"), env)
    return env["match"]


def _program(graph, name, inner, ext, roots, shared_ids):
    """The Template of a region found by a general matcher, or None when it does not qualify
    (see the module doc)."""
    cls = graph.node_class
    inner = sorted(set(inner), key=lambda n: n._index)
    slot = {}
    shared, metas = [], []
    for k, x in enumerate(ext):
        if x in slot:                            # the same node twice: one slot
            continue
        if (x._graph is not graph or x._meta is None) and not _constant(x):
            return None
        slot[x] = len(shared)
        is_shared = x._graph is graph and x._id in shared_ids
        shared.append(is_shared)
        metas.append(None if is_shared else _meta_of(x))
    E = len(shared)
    dtype = inner[-1]._meta[1]
    if dtype.kind != "f":
        return None
    for j, n in enumerate(inner):
        if n._value is not None or n.__class__ is not cls or n._meta[1] != dtype or n in slot:
            return None
        slot[n] = E + j
    ops, attrs, feeds, instrs = [], [], [], []
    for j, n in enumerate(inner):
        kind = _KINDS.get(n.op)
        feed = []
        for pos, x in enumerate(n.inputs):
            s = slot.get(x)
            if s is None or (_meta_of(x)[1] != dtype and not (s < E and shared[s])
                             and not (kind is XENT and pos == 1)):
                return None
            feed.append(s)
        shape = n._meta[0]
        ins = [_meta_of(x)[0] for x in n.inputs]
        p = None
        if kind is PICK:
            p = _range(n, ins[0])
            if p is None or (feed[0] < E and shared[feed[0]]):
                return None
        elif kind is MV:
            if not (feed[0] < E and shared[feed[0]]) or (feed[1] < E and shared[feed[1]]) \
                    or len(ins[0]) != 2 or len(ins[1]) != 1:
                return None
        elif kind is XENT:                      # logits (C,) of the region, a class id
            target = metas[feed[1]] if feed[1] < E else None
            if feed[0] < E or target is None or target[0] != () or target[1].kind not in "iu" \
                    or len(ins[0]) != 1 or n.attrs.get("reduction") not in ("sum", "mean"):
                return None
        elif kind is MUL or kind is ADD:
            if ins[0] != shape or ins[1] != shape or len(shape) != 1:
                return None
            stacked = [not (s < E and shared[s]) for s in feed]
            if not any(stacked) or (kind is MUL and not all(stacked)):
                return None
        elif kind is None or len(shape) != 1 or (feed[0] < E and shared[feed[0]]):
            return None          # (an activation of a shared vector would not be stacked)
        ops.append(n.op)
        attrs.append(n.attrs if kind is PICK or kind is XENT else None)
        feeds.append(tuple(feed))
        instrs.append((kind, feed[0], feed[1] if len(feed) > 1 else None, p))
    root_slots = tuple(slot[r] - E for r in roots)
    program = Program(name, tuple(shared), tuple(instrs), root_slots)
    constant = tuple(_constant(x) for x in slot if slot[x] < E)
    t = Template(tuple(ops), tuple(attrs), tuple(feeds), tuple(metas), tuple(shared), constant,
                 program)
    return t if t.match is not None else None


def _range(pick, shape):
    """The slice of a pick_range of a vector (a stepless range), or None."""
    index = pick.attrs.get("index")
    if len(shape) != 1 or index.__class__ is not tuple or len(index) != 1 \
            or index[0].__class__ is not slice or index[0].step is not None:
        return None
    lo, hi, _ = index[0].indices(shape[0])
    return slice(lo, hi) if hi > lo else None


# --- fuse: the graph's pending nodes with regions replaced by Members ---------------------------------

def metas_of(ext, shared):
    """The stacked externals' (shape, dtype), hashable by value: part of the signature."""
    return tuple(None if s else tuple(_meta_of(x)) for x, s in zip(ext, shared))


def _candidate(n, cls):
    """The kind of region n may be the root of (the key of its templates), or None: a
    cheap look at n and its inputs before any template runs."""
    op = n.op
    if op is _MUL:
        a, b = n.inputs             # h = o * tanh(c), c a sum or a product
        th = a if a.op is _TANH else b
        if th.op is not _TANH or (th is a and b.op is not _SIG) or (th is b and a.op is not _SIG) \
                or (th.inputs[0].op is not _ADD and th.inputs[0].op is not _MUL):
            return None
        kind = op
    elif op is _ADD or op is _XENT:
        x = n if op is _ADD else n.inputs[0]
        if x.op is not _ADD or x.inputs[1].op is not _MATMUL:
            return None
        kind = 0                            # the chain's length: a template of another
        while x.op is _ADD and x.inputs[1].op is _MATMUL:   # length would cut it short
            kind += 1
            x = x.inputs[0]
        kind = (op, kind)
    else:
        return None
    return kind if n.__class__ is cls else None


def _match(n, kind, templates, taken, cls, graph, shared_ids, depth):
    """(Template, its match's result) for the region rooted at n, or None; a structure not
    met yet is found by the general matchers and added to `templates`."""
    known = templates.get(kind)
    if known is None or len(known) > 32:       # (a bound: every candidate tries them all)
        known = templates[kind] = []
    for t in known:
        r = t.match(n, taken, cls, graph, shared_ids, depth)
        if r is not None:
            return t, r
    op = n.op
    if op is _MUL:
        name, found = CELL, _cell(n, shared_ids)
    elif op is _ADD:
        name, found = AFFINE, _affine(n, shared_ids)
    else:
        name, found = LOSS, _loss(n, shared_ids)
    t = None if found is None else _program(graph, name, *found, shared_ids)
    r = None if t is None else t.match(n, taken, cls, graph, shared_ids, depth)
    if r is None:
        return None
    known.append(t)
    return t, r


def fuse(graph, pending):
    """pending with each region found replaced by one Member (at its root's place); the
    Members' signatures interned in the graph.  A Member's depth is that of one node on its
    externals (1 + the deepest, see _generate), not its root's: the agenda sees a chain of fused
    steps as it would see a chain of single nodes, and an output layer hanging off every
    step still waits for the whole chain (it is deeper on average)."""
    cls = graph.node_class
    shared_ids = graph.shared_ids
    depth, sigof = graph._depth, graph._sigof
    sig_depth, sig_count = graph._sig_depth, graph._sig_count
    templates = {}              # the root's kind -> [Template]
    out = []                                    # the result, in reverse
    taken = set()
    k = len(pending)
    while k:
        # a region's root is made after its other nodes: walking back, they are taken by the
        # time they come, and what is not taken is the result (no second pass)
        k -= 1
        n = pending[k]
        if n in taken or n._value is not None:
            continue
        out.append(n)
        kind = _candidate(n, cls)
        if kind is None:
            continue
        found = _match(n, kind, templates, taken, cls, graph, shared_ids, depth)
        if found is None:
            continue
        t, (ext, outs, key, d) = found
        sid = t.sids.get(key)
        if sid is None:
            sid = t.sid(graph, key, metas_of(ext, t.program.shared))
        j = k - len(outs) + 1
        if j >= 0 and pending[j] is outs[0]:
            # the region's nodes are the ones just below its root (the usual case: made one
            # after the other): skipped at once, and no later root can reach them (a root's
            # nodes are made before it), so they need not be remembered either
            k = j
        else:
            taken.update(outs)
        out[-1] = m = Member(graph, ext, outs)
        sigof[m] = sid
        sig_depth[sid] += d
        sig_count[sid] += 1
    out.reverse()
    return out


# Unbatched graphs fuse too (ComputationGraph.evaluate); False: node by node (the tests'
# reference)
FUSE_UNBATCHED = True
_single_templates = {}     # fuse_single's templates, across graphs (a match checks everything)
_NO_DEPTH = {}


def fuse_single(graph, pending, shared_ids, regions):
    """fuse for an unbatched graph: pending (in creation order) with each region found
    replaced by one Member of its own, run by Program.run1; `regions` gets root -> Member,
    for the backward (ComputationGraph.backward_from).  Only a region whose nodes are the
    ones just below its root in `pending` is fused: then no node outside the region lies
    among its nodes, and the graph's reverse sweep can run the whole region when it meets
    the root (every outside consumer of its nodes was made after the root, so its gradient
    is there by then).  shared_ids: the graph's parameter nodes (the matrices W)."""
    cls = graph.node_class
    out = []
    k = len(pending)
    while k:
        k -= 1
        n = pending[k]
        out.append(n)
        kind = _candidate(n, cls)
        if kind is None:
            continue
        found = _match(n, kind, _single_templates, (), cls, graph, shared_ids, _NO_DEPTH)
        if found is None:
            continue
        outs = found[1][1]
        j = k - len(outs) + 1
        if j < 0 or pending[j] is not outs[0]:
            continue                            # nodes of others among its own: node by node
        k = j
        out[-1] = m = Member(graph, found[1][0], outs)
        m.program = found[0].program
        regions[n] = m
    out.reverse()
    return lstm_chain.make_chains(group_outputs(out, regions), CELL)


def group_outputs(items, regions):
    """items (fuse_single's) with the output layers (LOSS regions) of one Program and the
    same shared weights made one Group, at the place of the last of them; `regions` maps
    each member's root to the Group then.  Only when the members use none of each other's
    nodes and no item between the first and the last uses any of their nodes: then the
    batch may run forward where the last one stood, and its backward there in the reverse
    sweep, after every consumer of its nodes (see regions.Group)."""
    places = {}
    for k, it in enumerate(items):
        if it.__class__ is Member and it.program.name is LOSS:
            places.setdefault(it.program, []).append(k)
    grouped = False
    for program, ks in places.items():
        if len(ks) < 2:
            continue
        members = [items[k] for k in ks]
        g0 = members[0].inputs
        if any([m.inputs[j] is not g0[j] for m in members
                for j, s in enumerate(program.shared) if s]):
            continue                            # other weights: not one product
        outs = set()
        for m in members:
            outs.update(m.outs)
        if any([x in outs for k in range(ks[0], ks[-1] + 1) for x in _inputs(items[k])]):
            continue                            # a node of the group used inside its span
        grp = Group(program, members)
        for k in ks[:-1]:
            items[k] = None
        items[ks[-1]] = grp
        for m in members:
            regions[m.outs[-1]] = grp
        grouped = True
    return [it for it in items if it is not None] if grouped else items


def _inputs(item):
    """What an item of group_outputs' list uses (None: a member moved into a later Group)."""
    if item is None:
        return ()
    if item.__class__ is Group:
        return [x for m in item.members for x in m.inputs]
    return item.inputs
