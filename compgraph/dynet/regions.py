"""A fused region: several nodes of one member, run for the whole batch as one small program.

The idioms lstm_fusion.py recognises (an affine transform written as add/matmul nodes; an
LSTM or Tree-LSTM cell written as pick_range, logistic/tanh, cmult and +; an output layer
and its pickneglogsoftmax) are, per member, a handful of nodes whose inputs come from
outside (the *externals*: x, h_prev, c_prev, a shared W or b, a class id) and whose
structure is the same in every member.  Such a structure is a Program:
a list of instructions over *slots* -- slots 0..E-1 are the externals, slot E+j the result
of instruction j, always a stacked (B, ...) array.  A Program is a FusedLayout (the
autobatch agenda runs equal Programs as one batch):

  forward   the externals gathered once (stacked, or the shared array once), then one NumPy
            call per instruction on the whole batch; every node of every member gets its row
            (the nodes' own elementwise kernels, so those values are the unbatched ones; a
            W x is a row of one X @ W.T, equal to the unbatched product up to rounding);
  backward  the same instructions in reverse on (B, ...) gradient arrays -- closed-form VJPs,
            one call each -- and one scatter of the externals' gradients to the members'
            inputs (a shared input gets the batch's sum).

Gradients that reach an inner node from outside the region (an expression built on a gate)
are gathered into its slot before the reverse sweep, so they need no special path;
members no gradient reached are dropped from the batch's backward, as autobatch does.
"""
import numpy as np

from ..executors.autobatch import Batch, FusedLayout, _node_vjp
from ..ops import OPS
from ..ops.namespace import array_namespace

_NP = array_namespace(np)
_sigmoid, _tanh = OPS["sigmoid"].fwd, OPS["tanh"].fwd
_matmul = np.matmul        # the matmul op's kernel (xp.matmul)
_XENT = OPS["cross_entropy"]
_xent, _xent_vjp = _XENT.fwd, _XENT.vjps_for(2)[0]

# instruction kinds: (kind, a, b, param); a and b are slots (b is None for unary kinds)
PICK = "pick"        # S[a][:, param]             param: a slice of the member's vector
SIG = "sigmoid"      # sigmoid(S[a])
TANH = "tanh"        # tanh(S[a])
MUL = "mul"          # S[a] * S[b]
ADD = "add"          # S[a] + S[b]                (either may be a shared vector)
MV = "mv"            # S[a] @ x for x in S[b]      (S[a] a shared matrix: S[b] @ S[a].T)
XENT = "xent"        # cross-entropy of logits S[a] and class ids S[b]: one loss per member


class Member:
    """One member of a fused batch: `inputs` are its externals (what the agenda waits for),
    `outs` the region's nodes in instruction order (a topological order); in an unbatched
    graph `program` is its Program (lstm_fusion.fuse_single)."""
    __slots__ = ("inputs", "outs", "_value", "_graph", "program")

    def __init__(self, graph, inputs, outs):
        self.inputs, self.outs, self._value, self._graph = inputs, outs, None, graph


class Group:
    """Members of one Program in an unbatched graph, run as one batch (Program.forward and
    Program.vjp, as the autobatch agenda runs them): a sentence's output layers, each
    W h_t + b and its loss, as one (T, H) @ W.T product and one batched cross-entropy
    instead of T of each.  lstm_fusion.group_outputs says when that is safe: the members
    use none of each other's nodes, and nothing between the first and the last uses any
    of them (so the group can run forward at the last one's place, and backward there too,
    when every gradient its nodes get has reached them)."""
    __slots__ = ("program", "members", "batch")

    def __init__(self, program, members):
        self.program, self.members, self.batch = program, members, None

    def run(self, graph):
        S, done = self.program.forward(graph, self.members)
        self.batch = Batch(self.members, None, self.program, (S, done))

    def backward(self, grads):
        self.program.vjp(_NP, self.batch, grads, False)


class Program(FusedLayout):
    """A fused region's instructions; `shared[k]` says whether external k is the same node
    in every member (passed once), `roots` which instructions' nodes are used outside the
    region as a rule (their gradients are always gathered; the others' only when present)."""

    def __init__(self, name, shared, instrs, roots):
        self.name = name
        self.shared = shared
        self.instrs = instrs
        self.roots = roots
        self.inner = tuple(j for j in range(len(instrs)) if j not in roots)
        self.scalars = tuple(j for j, ins in enumerate(instrs) if ins[0] is XENT)   # 0-d results
        # hashable (slices are not, before Python 3.12): part of the batching signature
        self.key = tuple((k, a, b, None if p is None else (p.start, p.stop)) for k, a, b, p in instrs)

    # --- forward -----------------------------------------------------------------------------
    def run(self, graph, group):
        S, done = self.forward(graph, group)
        graph._batches.append(Batch(group, None, self, (S, done)))
        graph._count(self, len(done), 1)
        return done

    def forward(self, graph, group):
        """The group's slots S (externals, then one (B, ...) array per instruction) and its
        nodes, every one with its row as its value."""
        S = []
        g0 = group[0].inputs
        for k, shared in enumerate(self.shared):
            S.append(g0[k]._value if shared else np.array([m.inputs[k]._value for m in group]))
        for kind, a, b, p in self.instrs:
            x = S[a]
            if kind is PICK:
                y = x[:, p]
            elif kind is SIG:
                y = _sigmoid(_NP, x)
            elif kind is TANH:
                y = _tanh(_NP, x)
            elif kind is MUL:
                y = x * S[b]
            elif kind is ADD:
                y = x + S[b]
            elif kind is MV:
                y = S[b] @ graph.transposed(x)
            else:                               # XENT (the node's 'sum' of one loss is that loss)
                y = _xent(_NP, x, S[b], reduction="none")
            S.append(y)
        E = len(self.shared)
        cols = S[E:]
        for j in self.scalars:                  # 0-d arrays, as the nodes' own values
            y = cols[j]
            cols[j] = [y[k, ...] for k in range(len(group))]
        done = []
        _scatter(len(cols))(group, cols, done)
        return S, done

    # --- backward ----------------------------------------------------------------------------
    def vjp(self, ns, batch, grads, keep_all):
        group = batch.nodes
        S, flat = batch.out
        if keep_all:                  # every node's gradient wanted: node by node
            for m in group:
                for node in reversed(m.outs):
                    g = grads.get(node)
                    if g is not None:
                        _node_vjp(ns, node, g, grads)
            return
        pop = grads.pop
        E = len(self.shared)
        taken = []
        reached = None
        for slots in (self.roots, self.inner):
            for j in slots:
                gs = [pop(m.outs[j], None) for m in group]
                have = [g is not None for g in gs]
                if True in have:
                    taken.append((j, gs))
                    reached = have if reached is None else [x or y for x, y in zip(reached, have)]
            if grads.keys().isdisjoint(flat):
                break                 # (else a gradient from outside reached an inner node)
        if reached is None:
            return
        if False in reached:          # members that do not reach the root: left out
            keep = [k for k, r in enumerate(reached) if r]
            group = [group[k] for k in keep]
            S = [a if k < E and self.shared[k] else a[keep] for k, a in enumerate(S)]
            taken = [(j, [gs[k] for k in keep]) for j, gs in taken]
        D = [None] * len(S)
        for j, gs in taken:
            D[E + j] = _stack(gs, S[E + j])
        need = self._need(group)
        owned = set()                 # slots whose gradient array is ours to add into in place

        shared = self.shared

        def acc(slot, d):
            if slot < E and shared[slot] and d.ndim > S[slot].ndim:
                d = d.sum(0)                  # a shared operand: the batch's sum
            prev = D[slot]
            if prev is None:
                D[slot] = d
            else:
                D[slot] = prev + d
                owned.add(slot)
        for j in range(len(self.instrs) - 1, -1, -1):
            d = D[E + j]
            if d is None:
                continue
            kind, a, b, p = self.instrs[j]
            if kind is PICK:
                if not need[a]:
                    continue
                if D[a] is None:
                    D[a] = np.zeros_like(S[a])
                elif a not in owned:
                    D[a] = D[a].copy()
                owned.add(a)
                D[a][:, p] += d
            elif kind is SIG:
                if need[a]:
                    y = S[E + j]
                    acc(a, d * y * (1 - y))
            elif kind is TANH:
                if need[a]:
                    y = S[E + j]
                    acc(a, d * (1 - y * y))
            elif kind is MUL:
                if need[a]:
                    acc(a, d * S[b])
                if need[b]:
                    acc(b, d * S[a])
            elif kind is ADD:
                if need[a]:
                    acc(a, d)
                if need[b]:
                    acc(b, d)
            elif kind is MV:                      # a the shared matrix, b the stacked vectors
                if need[a]:
                    acc(a, d.T @ S[b])
                if need[b]:
                    acc(b, d @ S[a])
            elif need[a]:                         # XENT: the class ids need none
                acc(a, _xent_vjp(_NP, d, S[E + j], S[a], S[b], reduction="none"))
        get = grads.get
        for k in range(E):
            d = D[k]
            if d is None:
                continue
            if self.shared[k]:
                x = group[0].inputs[k]
                prev = get(x)
                grads[x] = d if prev is None else prev + d
                continue
            for m, row in zip(group, d):
                x = m.inputs[k]
                if x.requires_grad:
                    prev = get(x)
                    grads[x] = row if prev is None else prev + row

    def _need(self, group):
        """Which slots need a gradient: an external whose node (in some member) requires
        one, and an instruction any of whose operands does."""
        need = []
        g0 = group[0].inputs
        for k, shared in enumerate(self.shared):
            # (the first member decides, except for an input that needs none there: a zero
            # initial state, rarely a mix)
            need.append(g0[k].requires_grad or
                        (not shared and any([m.inputs[k].requires_grad for m in group])))
        for kind, a, b, _ in self.instrs:
            need.append(need[a] or (b is not None and need[b]))
        return need

    # --- one member, in an unbatched graph -----------------------------------------------------
    # The same instructions on the member's own vectors: each one the node's own kernel on the
    # node's own operands (W x as matmul(W, x), not a row of X @ W.T), so every value is the
    # one the node-by-node forward computes, bit for bit; and the backward the nodes' own VJP
    # formulas in the order the node-by-node sweep runs them (reverse creation order, inputs in
    # order, a gradient added to what reached the input before), so the gradients are too.
    # Both are generated straight-line code, once per Program (an interpreted loop over the
    # instructions costs about as much as the node-by-node path it replaces).
    _single = None

    def run1(self, m):
        """Compute one member of an unbatched graph: every node of it gets its value."""
        if self._single is None:
            self._single = _single_code(self.shared, self.instrs)
        self._single[0](m)

    def vjp1(self, m, grads, outer):
        """The backward of one member of an unbatched graph: the gradients that reached its
        nodes are taken from `grads`, its externals' added there -- except a shared matrix's
        (a parameter W of W x): its (d, x) pairs are appended to outer[W] (see add_outer)."""
        if self._single is None:
            self._single = _single_code(self.shared, self.instrs)
        self._single[1](m, grads, outer)


def add_outer(grads, outer):
    """The gradients of the matrices of the sweep's W x products, sum_t d_t x_t^T, as one
    product D^T X each, added to grads: a W of an LSTM is used once a step, and the outer
    product and sum of a (4H, H) matrix per step cost more than the rest of the step's
    backward.  The sum's rounding differs from the node-by-node path's step-by-step sum as
    an autobatched graph's does (the same D^T X); every other gradient is bit for bit."""
    for W, (ds, xs) in outer.items():
        g = np.array(ds).T @ np.array(xs)
        p = grads.get(W)
        grads[W] = g if p is None else p + g


_singles = {}


def _single_code(shared, instrs):
    """(forward, backward) of one member, generated for a Program's instructions.

    Externals are e0..e{E-1}, the instructions' nodes o0..o{n-1}; a slot s is e{s} when s < E,
    else o{s-E}.  Forward: v{slot} values.  Backward: d{j} the gradient of o{j} (None: none
    reached it), an external's gradient added to grads when the external requires one, as
    autobatch._node_vjp does."""
    E = len(shared)
    key = (shared, tuple((k, a, b, None if p is None else (p.start, p.stop)) for k, a, b, p in instrs))
    f = _singles.get(key)
    if f is not None:
        return f
    n = len(instrs)
    node = [f"e{s}" for s in range(E)] + [f"o{j}" for j in range(n)]
    ext = ", ".join(node[:E]) + ","
    outs = ", ".join(node[E:]) + ","
    fw = ["def run1(m):", f"    {ext} = m.inputs", f"    {outs} = m.outs"]
    fw += [f"    v{s} = e{s}._value" for s in range(E)]
    for j, (kind, a, b, _) in enumerate(instrs):
        v = f"v{E + j}"
        if kind is PICK:
            fw.append(f"    {v} = v{a}[P{j}]")
        elif kind is MUL:
            fw.append(f"    {v} = v{a} * v{b}")
        elif kind is ADD:
            fw.append(f"    {v} = v{a} + v{b}")
        elif kind is SIG:
            fw.append(f"    {v} = sigmoid(NP, v{a})")
        elif kind is TANH:
            fw.append(f"    {v} = tanh(NP, v{a})")
        elif kind is MV:
            fw.append(f"    {v} = matmul(v{a}, v{b})")
        else:                                   # XENT: the node's op with its attributes
            fw += [f"    {v} = o{j}.op.fwd(NP, v{a}, v{b}, **o{j}.attrs)",
                   f"    if {v}.__class__ is not ndarray:", f"        {v} = asarray({v})"]
        fw.append(f"    o{j}._value = {v}")
    bw = ["def vjp1(m, grads, outer):", f"    {outs} = m.outs", "    pop = grads.pop"]
    bw += [f"    d{j} = pop(o{j}, None)" for j in range(n)]
    bw += ["    if " + " and ".join(f"d{j} is None" for j in range(n)) + ":", "        return",
           f"    {ext} = m.inputs", "    get = grads.get"]

    def give(slot, expr):
        # the gradient `expr` for `slot`, when its node requires one (added to what is there)
        x = node[slot]
        lines = [f"if {x}.requires_grad:", f"    g = {expr}"]
        if slot < E:
            lines += [f"    p = get({x})", f"    grads[{x}] = g if p is None else p + g"]
        else:
            d = f"d{slot - E}"
            lines += [f"    {d} = g if {d} is None else {d} + g"]
        return lines
    for j in range(n - 1, -1, -1):
        kind, a, b, _ = instrs[j]
        d, y = f"d{j}", f"o{j}._value"
        body = []
        if kind is SIG:
            body += give(a, f"{d} * {y} * (1 - {y})")
        elif kind is TANH:
            body += give(a, f"{d} * (1 - {y} * {y})")
        elif kind is MUL:
            body += give(a, f"{d} * {node[b]}._value")
            body += give(b, f"{d} * {node[a]}._value")
        elif kind is ADD:
            body += give(a, d)
            body += give(b, d)
        elif kind is MV:                        # matmul(W, x): the op's two VJPs
            if a < E and shared[a]:             # a parameter's W: its product deferred
                x = node[a]
                body += [f"if {x}.requires_grad:", f"    p = outer.get({x})", "    if p is None:",
                         f"        outer[{x}] = ([{d}], [{node[b]}._value])", "    else:",
                         f"        p[0].append({d})", f"        p[1].append({node[b]}._value)"]
            else:
                body += give(a, f"{d}[:, None] * {node[b]}._value")
            body += give(b, f"matmul({node[a]}._value.T, {d}[:, None])[:, 0]")
        elif kind is PICK:                      # getitem's VJP: zeros with d at the range
            body += [f"if {node[a]}.requires_grad:",
                     f"    z = zeros({node[a]}._value.shape, dtype={d}.dtype)",
                     f"    z[P{j}] = {d}"]
            body += give(a, "z")[1:]
        else:                                   # XENT: the node's own VJP (the class needs none)
            body += ["part = {}", f"node_vjp(NP, o{j}, {d}, part)", f"z = part.get({node[a]})",
                     "if z is not None:"]
            body += give(a, "z")[1:]
        bw.append(f"    if {d} is not None:")
        bw += ["        " + line for line in body]
    env = {"NP": _NP, "sigmoid": _sigmoid, "tanh": _tanh, "matmul": _matmul,
           "ndarray": np.ndarray, "asarray": np.asarray, "zeros": np.zeros,
           "node_vjp": _node_vjp}
    env.update({f"P{j}": p for j, (_, _, _, p) in enumerate(instrs) if p is not None})
    code = "\n".join(fw) + "\n\n" + "\n".join(bw) + "\n"
    exec(compile(code, "<compgraph region, one member>", "exec"), env)
    if len(_singles) > 1000:
        _singles.clear()
    f = _singles[key] = (env["run1"], env["vjp1"])
    return f


_scatters = {}


def _scatter(n):
    """scatter(group, cols, done): every member's n nodes get their rows of the n result
    arrays (iterating an array yields its rows), member by member -- a member's nodes lie
    together in memory, 30% cheaper than slot by slot on a graph fresh from building --
    in generated straight-line code (another 40% off the loops); `done` gets the nodes."""
    f = _scatters.get(n)
    if f is None:
        rows = ", ".join(f"r{j}" for j in range(n))
        lines = ["def scatter(group, cols, done):",
                 "    extend = done.extend",
                 f"    for m, {rows} in zip(group, *cols):",
                 "        o = m.outs"]
        lines += [f"        o[{j}]._value = r{j}" for j in range(n)]
        lines.append("        extend(o)")
        env = {}
        exec(compile("\n".join(lines) + "\n", "<compgraph region scatter>", "exec"), env)
        f = _scatters[n] = env["scatter"]
    return f


def _stack(gs, like):
    """The members' gradients of one slot as one (B, ...) array, zeros where a member has
    none."""
    if any([g is None for g in gs]):
        z = np.zeros(like.shape[1:], like.dtype)
        gs = [z if g is None else g for g in gs]
    return np.array(gs)
