"""A sentence's LSTM steps, fused cells one after the other in an unbatched graph, run as
one recurrent kernel: forward step by step (each gate activation once over the whole g),
backward step by step on whole gate vectors (the four gates' VJPs as one product with a
factor worked out for all steps together), and the weights', the bias's and the inputs'
gradients as one product each per sentence.  A region per step (Program.run1 / vjp1) spends
some 40 NumPy calls a step on the backward; this spends about eight.

The cell must be the LSTM step as DyNet users write it (lstm_fusion's CELL region with its
affine transform; any order of ranges, gates and operands):

    g = (b + W1 x) + Wh h_prev       (the recurrent product last, as affine_transform makes it)
    gates: four activations (logistic or tanh) of four ranges of g that tile it
    c = f * c_prev + i * u           (f, i, u three of the gates, in either order)
    h = o * tanh(c)                  (o the fourth)

and a chain is a run of such Members, consecutive among fuse_single's items, each one's
h_prev and c_prev the previous one's h and c, all with the same W1, Wh (and b when it is a
parameter).  No node of the chain may be another step's x or b.  Consecutive means nothing
else ran among them, so every use of a chain's node from outside was made after its last
step, and has its gradient by the time the reverse sweep meets the chain -- except a use of
an inner node (a gate, say), which the backward sees and leaves to the per-step regions.

The values are the steps' own bit for bit (the nodes' kernels on the same operands; an
activation over all of g gives each range what it gives the range alone); the gradients are
the node-by-node ones up to the order of their products and sums (the test compares with the
node-by-node path: tests/dynet/test_unbatched_fusion.py).
"""
import numpy as np

from .regions import ADD, MUL, MV, PICK, SIG, TANH, Member, _NP, _matmul as matmul, _sigmoid, _tanh


class Spec:
    """Where an LSTM step's parts are in a Program: external slots (W1, x, Wh, hp, bias, cp),
    instruction indices, and per gate (its range, its activation)."""
    __slots__ = ("W1", "x", "Wh", "hp", "bias", "cp", "bias_shared", "mvx", "add1", "mvh", "g",
                 "gates", "tf", "ti", "c", "tc", "h", "order", "G")


def spec_of(program):
    """The Spec of a CELL Program that is the LSTM step above, else None (cached on it)."""
    s = getattr(program, "_lstm_spec", False)
    if s is False:
        s = program._lstm_spec = _analyse(program)
    return s


def _analyse(program):
    shared, instrs = program.shared, program.instrs
    E, n = len(shared), len(instrs)
    if len(program.roots) != 2 or n != 17:
        return None

    def ins(slot):
        return instrs[slot - E] if slot >= E else None

    def external(slot, is_shared):
        return slot < E and shared[slot] is is_shared

    h_j, c_j = program.roots
    hk, ha, hb, _ = instrs[h_j]
    ck, ca, cb, _ = instrs[c_j]
    if hk is not MUL or ck is not ADD:
        return None
    tcs = [a for a in (ha, hb) if a >= E and instrs[a - E][0] is TANH and instrs[a - E][1] == E + c_j]
    if len(tcs) != 1:
        return None
    tc_slot = tcs[0]
    o_slot = hb if ha == tc_slot else ha

    def gate(slot):                        # (pick instruction, activation kind) or None
        i = ins(slot)
        if i is None or i[0] not in (SIG, TANH):
            return None
        p = ins(i[1])
        return (i[1] - E, i[0]) if p is not None and p[0] is PICK else None
    og = gate(o_slot)
    if og is None:
        return None
    g_slot = instrs[og[0]][1]
    terms = []
    for t in (ca, cb):
        ti = ins(t)
        if ti is None or ti[0] is not MUL:
            return None
        terms.append((t - E, ti[1], ti[2]))
    s = Spec()
    s.cp = s.tf = s.ti = None
    gates = {"o": (o_slot, og)}
    for j, a, b in terms:
        ga, gb = gate(a), gate(b)
        if ga is not None and gb is not None:
            s.ti = j
            gates["i"], gates["u"] = (a, ga), (b, gb)
        elif ga is not None and external(b, False):
            s.tf, s.cp = j, b
            gates["f"] = (a, ga)
        elif gb is not None and external(a, False):
            s.tf, s.cp = j, a
            gates["f"] = (b, gb)
    if s.tf is None or s.ti is None or len(gates) != 4:
        return None
    if len({gs for gs, _ in gates.values()}) != 4:
        return None
    spans = {}
    for name, (gs, (pick_j, act)) in gates.items():
        pk, src, _, sl = instrs[pick_j]
        if src != g_slot:
            return None
        spans[name] = (gs - E, pick_j, act, sl)
    order = sorted(spans, key=lambda k: spans[k][3].start)
    at = 0
    for k in order:                        # the four ranges tile g
        sl = spans[k][3]
        if sl.start != at:
            return None
        at = sl.stop
    widths = {spans[k][3].stop - spans[k][3].start for k in order}
    if len(widths) != 1:
        return None
    gk, add1, mvh, _ = ins(g_slot)
    a1, mh = ins(add1), ins(mvh)
    if gk is not ADD or a1 is None or mh is None or a1[0] is not ADD or mh[0] is not MV:
        return None
    bias, mvx = a1[1], a1[2]
    mx = ins(mvx)
    if mx is None or mx[0] is not MV or bias >= E:
        return None
    s.W1, s.x, s.Wh, s.hp, s.bias = mx[1], mx[2], mh[1], mh[2], bias
    if not (external(s.W1, True) and external(s.Wh, True) and external(s.x, False)
            and external(s.hp, False)) or s.hp == s.cp:
        return None
    s.bias_shared = shared[bias]
    s.mvx, s.add1, s.mvh, s.g = mvx - E, add1 - E, mvh - E, g_slot - E
    s.gates = spans                        # name -> (act instr, pick instr, kind, slice)
    s.c, s.tc, s.h = c_j, tc_slot - E, h_j
    s.order = order
    s.G = at
    used = {s.mvx, s.add1, s.mvh, s.g, s.tf, s.ti, s.c, s.tc, s.h}
    for a, p, _, _ in spans.values():
        used.update((a, p))
    return s if len(used) == 17 else None


class Chain:
    """Consecutive LSTM-step Members of one Program and weights, each fed by the one before
    (see the module doc); run(graph) computes all, backward(grads, outer) is their VJP."""
    __slots__ = ("members", "program", "spec", "saved")

    def __init__(self, members, spec):
        self.members, self.program, self.spec, self.saved = members, members[0].program, spec, None

    # --- forward -------------------------------------------------------------------------------
    def run(self, graph):
        s, ms = self.spec, self.members
        first = ms[0].inputs
        W1, Wh = first[s.W1]._value, first[s.Wh]._value
        bias = first[s.bias]._value if s.bias_shared else None
        hp, cp = first[s.hp]._value, first[s.cp]._value
        gates = s.gates
        kinds = {k for _, _, k, _ in gates.values()}
        (oa, op, _, osl), (fa, fp, _, fsl) = gates["o"], gates["f"]
        (ia, ip, _, isl), (ua, up, _, usl) = gates["i"], gates["u"]
        ok, fk, ik, uk = (gates[k][2] for k in "ofiu")
        sigs, tans, cs, tcs, hps = [], [], [], [], []
        for t, m in enumerate(ms):
            o, e = m.outs, m.inputs
            mvx = matmul(W1, e[s.x]._value)          # each product the node's own kernel, on
            a1 = (bias if s.bias_shared else e[s.bias]._value) + mvx   # its operands: the
            mvh = matmul(Wh, hp)                      # values are the steps' bit for bit
            z = a1 + mvh
            sg = _sigmoid(_NP, z) if SIG in kinds else None
            th = _tanh(_NP, z) if TANH in kinds else None
            sigs.append(sg)
            tans.append(th)
            gi = (sg if ik is SIG else th)[isl]
            gf = (sg if fk is SIG else th)[fsl]
            go = (sg if ok is SIG else th)[osl]
            gu = (sg if uk is SIG else th)[usl]
            tf = gf * cp
            ti = gi * gu
            c = tf + ti
            tc = _tanh(_NP, c)
            h = go * tc
            o[s.mvx]._value = mvx
            o[s.add1]._value = a1
            o[s.mvh]._value = mvh
            o[s.g]._value = z
            o[op]._value, o[fp]._value, o[ip]._value, o[up]._value = z[osl], z[fsl], z[isl], z[usl]
            o[oa]._value, o[fa]._value, o[ia]._value, o[ua]._value = go, gf, gi, gu
            o[s.tf]._value, o[s.ti]._value = tf, ti
            o[s.c]._value, o[s.tc]._value, o[s.h]._value = c, tc, h
            hps.append(hp)
            cs.append(c)
            tcs.append(tc)
            hp, cp = h, c
        self.saved = (sigs, tans, cs, tcs, hps)

    # --- backward ------------------------------------------------------------------------------
    def backward(self, grads, outer):
        s, ms = self.spec, self.members
        inner = [o for m in ms for j, o in enumerate(m.outs) if j != s.h and j != s.c]
        if not grads.keys().isdisjoint(inner):
            # a gradient from outside reached a gate or another inner node: the per-step regions,
            # which take every node's gradient as it comes
            for m in reversed(ms):
                m.program.vjp1(m, grads, outer)
            return
        pop = grads.pop
        dhs = [pop(m.outs[s.h], None) for m in ms]
        dcs = [pop(m.outs[s.c], None) for m in ms]
        if not any([d is not None for d in dhs]) and not any([d is not None for d in dcs]):
            return
        sigs, tans, cs, tcs, hps = self.saved
        T, G = len(ms), s.G
        gates = s.gates
        SG = np.array(sigs) if sigs[0] is not None else None
        TH = np.array(tans) if tans[0] is not None else None

        def act(k):                                       # gate k's values, (T, H)
            _, _, kind, sl = gates[k]
            return (SG if kind is SIG else TH)[:, sl]

        def deriv(k, y):
            return y * (1 - y) if gates[k][2] is SIG else 1 - y * y
        C, TC = np.array(cs), np.array(tcs)
        first = ms[0].inputs
        cp0 = first[s.cp]._value
        CP = np.concatenate([cp0[None], C[:-1]])
        Go, Gf, Gi, Gu = act("o"), act("f"), act("i"), act("u")
        # dz_t = [dc or dh by range] * KD_t: each gate's partner in its product times its
        # activation's derivative, for every step at once
        partner = {"o": TC, "f": CP, "i": Gu, "u": Gi}
        KD = np.empty((T, G), C.dtype)
        for k in s.order:
            sl = gates[k][3]
            KD[:, sl] = partner[k] * deriv(k, act(k))
        OT = Go * (1 - TC * TC)
        Wh = first[s.Wh]._value
        WhT = Wh.T
        DZ = np.zeros((T, G), C.dtype)
        rec = dcn = None
        H = C.shape[1]
        zero = np.zeros(H, C.dtype)
        o_first = s.order.index("o")
        for t in range(T - 1, -1, -1):
            dh = dhs[t]
            if rec is not None:
                dh = rec if dh is None else dh + rec
            dc = dcs[t]
            if dcn is not None:
                dc = dcn if dc is None else dc + dcn
            if dh is not None:
                dd = dh * OT[t]
                dc = dd if dc is None else dc + dd
            if dc is None:
                rec = dcn = None
                continue
            pieces = [dc, dc, dc, dc]
            pieces[o_first] = zero if dh is None else dh
            dz = np.concatenate(pieces) * KD[t]
            DZ[t] = dz
            rec = WhT @ dz
            dcn = dc * Gf[t]
        get = grads.get

        def give(x, g):
            if x.requires_grad:
                p = get(x)
                grads[x] = g if p is None else p + g
        if rec is not None:
            give(first[s.hp], rec)
        if dcn is not None:
            give(first[s.cp], dcn)
        W1n, Whn = first[s.W1], first[s.Wh]
        if W1n.requires_grad:
            give(W1n, DZ.T @ np.array([m.inputs[s.x]._value for m in ms]))
        if Whn.requires_grad:
            give(Whn, DZ.T @ np.array(hps))
        if s.bias_shared:
            give(first[s.bias], DZ.sum(0))
        else:
            for m, row in zip(ms, DZ):
                give(m.inputs[s.bias], row)
        if any([m.inputs[s.x].requires_grad for m in ms]):
            DX = DZ @ W1n._value
            for m, row in zip(ms, DX):
                give(m.inputs[s.x], row)


def make_chains(items, cell):
    """items with every run of two or more linked LSTM-step Members (see the module doc)
    replaced by one Chain at the place of its last; cell: the CELL region's name."""
    out, run = [], []
    nodes = set()                       # the nodes of the run's members

    def flush():
        if len(run) > 1:
            out.append(Chain(list(run), spec_of(run[0].program)))
        else:
            out.extend(run)
        run.clear()
        nodes.clear()
    for it in items:
        if it.__class__ is Member and it.program.name is cell:
            s = spec_of(it.program)
            if s is not None:
                if run and not _follows(run[-1], it, s, nodes):
                    flush()
                run.append(it)
                nodes.update(it.outs)
                continue
        flush()
        out.append(it)
    flush()
    return out if len(out) != len(items) else items


def _follows(last, m, s, nodes):
    """Whether member m continues the run ending with `last`: the same Program and weights,
    fed by it, and no node of the run as its x or b (their gradients would reach them only
    after the backward sweep had used theirs)."""
    if m.program is not last.program:
        return False
    a, b = m.inputs, last.inputs
    return (a[s.hp] is last.outs[s.h] and a[s.cp] is last.outs[s.c]
            and a[s.W1] is b[s.W1] and a[s.Wh] is b[s.Wh]
            and (a[s.bias] is b[s.bias] if s.bias_shared else a[s.bias] not in nodes)
            and a[s.x] not in nodes)
