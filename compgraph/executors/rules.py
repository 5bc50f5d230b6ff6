"""Batching rules: how one op runs on a whole batch of nodes at once.

A rule is data attached to an op (`Op.batch`, installed by `install()` for the table's ops,
given directly for ops the dialects define).  The executor stacks the inputs of the nodes
of a batch along a new leading axis -- except the inputs that are *shared*, the same
parameter node in every member (W in W*x_i), which it passes once -- and asks the rule:

  key(node, flags)   the rule's part of the batching signature (attributes that must agree,
                     or a mode); None refuses batching for this node (it then runs alone)
  forward(xp, op, attrs, args, flags, nodes) -> stacked output (B, *output shape)
  backward(xp, op, attrs, args, flags, nodes, out, G, need) -> per input position, the
                     gradient in the layout of args (stacked (B, ...) or the shared shape),
                     or None where need[i] is false

`flags[i]` is True where input i is shared.  A rule with `stack_all` never shares (every
input is stacked); one with `pad` gets stacked inputs padded with 1-axes up to the output's
rank, so that per-member broadcasting (a (n,) bias against an (m, n) matrix) still lines up
behind the batch axis.

Ragged batches.  Stacking needs equal shapes, so per-sentence code (a (T_i, d) matrix per
sentence, T_i different) would batch only sentences of equal length.  A rule may offer a
*ragged* mode for ops that work row by row along the leading (time) axis:

  ragged(node, flags) -> (kinds, rows, key) or None
      kinds[i] says how input i is passed: RAGGED (the members' arrays concatenated along
      axis 0: one (sum T_i, d) array), MEMBER (stacked along a new axis, (B, ...), for
      per-member inputs of a fixed shape such as an initial state) or SHARED (once);
      rows says whether the output is ragged too (concatenated rows, split back at the
      members' lengths) or one result per member (stacked, (B, ...): a per-sentence loss);
      key is the rule's part of the signature.
  ragged_forward(xp, op, attrs, args, kinds, seg, nodes) -> output
  ragged_backward(xp, op, attrs, args, kinds, seg, nodes, out, G, need) -> per input, the
      gradient in the layout of args
  lengths(nodes, kinds) -> each member's number of rows (default: the leading dimension
      of its first RAGGED input)

`seg` (Segments) holds the lengths and offsets: split, per-member sums (np.add.reduceat),
per-row repeats, and a cache a rule may fill in its forward for its backward.  The
executor tries the ragged mode first; a ragged signature leaves out the leading
dimension of RAGGED inputs, so sentences of every length join one batch.  Index arrays
that are attributes (the ids of an embedding lookup) are per-member *data* of a ragged
gather, not part of its signature: the signature keeps only their rank and dtype.
"""
import numpy as np

from ..autograd import unbroadcast
from ..ops.shape import is_basic_index


class Unbatchable(Exception):
    pass


def _hkey(v):
    """A hashable stand-in for an attribute value; equal keys mean equal attributes."""
    if v is None or v is Ellipsis or isinstance(v, (str, bool)):
        return v
    if isinstance(v, (int, float, np.integer, np.floating)):
        return (v.__class__, v)      # 1 and 1.0 may differ in the result's dtype
    if isinstance(v, tuple):
        return tuple(_hkey(x) for x in v)
    if isinstance(v, slice):
        return ("slice", v.start, v.stop, v.step)
    if isinstance(v, np.ndarray):
        return ("array", v.dtype.str, v.shape, v.tobytes())
    if isinstance(v, list):
        return ("list",) + tuple(_hkey(x) for x in v)
    if isinstance(v, np.dtype):
        return v
    raise Unbatchable(v)


_key_cache = {}


def attrs_key(attrs):
    """A hashable key of an attribute dict (None: not comparable, do not batch); memoized
    on the dict's identity, since a dialect passes the same dict for every step."""
    if not attrs:
        return ()
    hit = _key_cache.get(id(attrs))
    if hit is not None and hit[0] is attrs:
        return hit[1]
    try:
        key = tuple((k, _hkey(v)) for k, v in attrs.items())
    except Unbatchable:
        key = None
    if len(_key_cache) > 4096:
        _key_cache.clear()
    _key_cache[id(attrs)] = (attrs, key)     # holding attrs keeps its id from being reused
    return key


RAGGED, MEMBER, SHARED = "ragged", "member", "shared"


class Segments:
    """The members of a ragged batch as consecutive row ranges of one concatenated array."""
    __slots__ = ("lens", "starts", "ends", "total", "cache")

    def __init__(self, lens):
        self.lens = np.asarray(lens, dtype=np.int64)
        self.ends = np.cumsum(self.lens)
        self.starts = self.ends - self.lens
        self.total = int(self.ends[-1])
        self.cache = {}          # what a rule's forward keeps for its backward

    def split(self, a):
        """Each member's rows of a, as views (np.split is slower for a few dozen pieces)."""
        return [a[s:e] for s, e in zip(self.starts.tolist(), self.ends.tolist())]

    def sum(self, a):
        """Per-member sums of the rows of a, (B, ...); every member has at least one row."""
        return np.add.reduceat(a, self.starts, axis=0)

    def repeat(self, a):
        """Per-member rows a (B, ...) repeated to one per row of the member, (total, ...)."""
        return np.repeat(a, self.lens, axis=0)


class Rule:
    stack_all = False
    pad = False
    equal_parts = False  # every input has one shape and dtype (stack's): gathered at once
    gathers = False      # batchable even when every input is shared (rows of one table)

    def key(self, node, flags):
        return attrs_key(node.attrs)

    def ragged(self, node, flags):
        return None      # no ragged mode unless the rule has one

    def lengths(self, nodes, kinds):
        i = kinds.index(RAGGED)
        return [m.inputs[i].shape[0] for m in nodes]


def _rows_of(shape, rows):
    """True when `shape` is a per-row array of a member with `rows` rows (rank >= 2 and the
    same leading dimension): what a ragged batch can concatenate."""
    return len(shape) >= 2 and shape[0] == rows


class Elementwise(Rule):
    """The op's own forward and VJPs run unchanged on stacked arrays: elementwise ops, and
    any op written with `...`-style indexing over its last axes."""
    pad = True

    def forward(self, xp, op, attrs, args, flags, nodes):
        return op.fwd(xp, *args, **attrs)

    def backward(self, xp, op, attrs, args, flags, nodes, out, G, need):
        vjps = op.vjps_for(len(args))
        grads = []
        for i, a in enumerate(args):
            if not need[i]:
                grads.append(None)
                continue
            g = vjps[i](xp, G, out, *args, **attrs)
            if g.shape != a.shape:
                g = unbroadcast(xp, g, a.shape)   # a shared input sums over the batch here
            grads.append(g)
        return grads

    def ragged(self, node, flags):
        """Row-wise when every per-member input has the output's rows (rank >= 2) and every
        shared input broadcasts against one row (lower rank, or a leading 1)."""
        if type(self) is not Elementwise:
            return None                            # the axis ops are not row-wise
        out = node._meta[0]
        if len(out) < 2 or out[0] < 1:
            return None
        kinds = []
        for x, shared in zip(node.inputs, flags):
            s = x.shape
            if shared:
                if len(s) >= len(out) and s[0] != 1:
                    return None
                kinds.append(SHARED)
            elif len(s) == len(out) and s[0] == out[0]:
                kinds.append(RAGGED)
            else:
                return None                        # a per-member input broadcast over rows
        key = attrs_key(node.attrs)
        return None if key is None else (tuple(kinds), True, key)

    def ragged_forward(self, xp, op, attrs, args, kinds, seg, nodes):
        return op.fwd(xp, *args, **attrs)

    def ragged_backward(self, xp, op, attrs, args, kinds, seg, nodes, out, G, need):
        return self.backward(xp, op, attrs, args, kinds, nodes, out, G, need)


def _shift_axis(axis, ndim):
    """A per-member axis as the axis of the stacked array (batch axis in front)."""
    if axis is None:
        return tuple(range(1, ndim + 1))
    if isinstance(axis, tuple):
        return tuple(a + 1 if a >= 0 else a for a in axis)
    return axis + 1 if axis >= 0 else axis


def shift_axis_attr(attrs, node, B):
    a = dict(attrs)
    a["axis"] = _shift_axis(attrs.get("axis", None), len(node.inputs[0].shape))
    return a


def shift_shape_attr(attrs, node, B):
    return {**attrs, "shape": (B,) + tuple(node.shape)}


def shift_axes_attr(attrs, node, B):
    nd = len(node.inputs[0].shape)
    return {**attrs, "axes": (0,) + tuple(a % nd + 1 for a in attrs["axes"])}


class Shifted(Elementwise):
    """Ops with an axis (or shape) attribute: the same op on stacked arrays, with the
    attribute moved past the batch axis.  Every input is stacked."""
    stack_all = True
    pad = False

    def __init__(self, shift, pad=False):
        self.shift = shift
        self.pad = pad

    def forward(self, xp, op, attrs, args, flags, nodes):
        return op.fwd(xp, *args, **self.shift(attrs, nodes[0], len(nodes)))

    def backward(self, xp, op, attrs, args, flags, nodes, out, G, need):
        return super().backward(xp, op, self.shift(attrs, nodes[0], len(nodes)), args, flags,
                                nodes, out, G, need)


class Stack(Shifted):
    """stack of k parts: backward hands part i its slice of G directly (the op's own VJP,
    called once per part with every part as an argument, costs O(k^2) for esum's long
    stacks of losses)."""
    equal_parts = True

    def __init__(self):
        super().__init__(shift_axis_attr)

    def backward(self, xp, op, attrs, args, flags, nodes, out, G, need):
        axis = self.shift(attrs, nodes[0], len(nodes))["axis"] % G.ndim
        lead = (slice(None),) * axis
        return [G[lead + (i,)] if need[i] else None for i in range(len(args))]


def _single_int(index):
    return (len(index) == 1 and isinstance(index[0], (int, np.integer))
            and not isinstance(index[0], bool))


class GetItem(Rule):
    """x[i]: with one integer index that may differ between members, a gather (rows of a
    shared table, or element i_k of member k); with the same index everywhere, a slice of
    the stacked array."""
    gathers = True

    def key(self, node, flags):
        index = node.attrs["index"]
        if _single_int(index):
            return ("int",)
        if flags[0]:
            return None          # the same slice of the same node: nothing to batch
        advanced = [i for i in index if not (isinstance(i, slice) or i is None or i is Ellipsis)]
        # one advanced index (an array) keeps its place behind the batch axis; ints mixed
        # with arrays would be moved to the front by NumPy's rules
        if not is_basic_index(index) and (len(advanced) != 1 or not isinstance(advanced[0], np.ndarray)):
            return None
        return attrs_key(node.attrs)

    @staticmethod
    def _ids(nodes):
        return np.fromiter((m.attrs["index"][0] for m in nodes), np.int64, len(nodes))

    def forward(self, xp, op, attrs, args, flags, nodes):
        x = args[0]
        if _single_int(attrs["index"]):
            ids = self._ids(nodes)
            return x[ids] if flags[0] else x[np.arange(len(nodes)), ids]
        return x[(slice(None),) + attrs["index"]]

    def backward(self, xp, op, attrs, args, flags, nodes, out, G, need):
        x = args[0]
        gx = xp.zeros(x.shape, dtype=G.dtype)
        if _single_int(attrs["index"]):
            ids = self._ids(nodes)
            if flags[0]:
                np.add.at(gx, ids, G)          # repeated rows of a table accumulate
            else:
                gx[np.arange(len(nodes)), ids] = G
        else:
            index = (slice(None),) + attrs["index"]
            if is_basic_index(attrs["index"]):
                gx[index] = G
            else:
                np.add.at(gx, index, G)
        return [gx]


def _keeps_rows(index, rank):
    """A basic index that leaves axis 0 whole: `[:, ...]` or `[..., a:b]` on the last axes."""
    if not index or not is_basic_index(index):
        return False
    if isinstance(index[0], slice):
        return index[0] == slice(None)
    if index[0] is Ellipsis:
        return sum(1 for i in index[1:] if i is not None) < rank and Ellipsis not in index[1:]
    return False


def _gather_ids(index):
    """The id array of a table lookup `table[ids]` (a 1-d or higher int array), else None."""
    if len(index) != 1 or not isinstance(index[0], np.ndarray):
        return None
    ids = index[0]
    return ids if ids.dtype.kind in "iu" and ids.ndim >= 1 and len(ids) else None


class RaggedGetItem(GetItem):
    """GetItem with three ragged modes:
      gather  table[ids] of a shared table, ids an int array per member: one gather of the
              concatenated ids (the ids are data, not part of the signature);
      rows    x[..., a:b] (or x[:, ...]) of per-member (T_i, ...) arrays: one slice;
      pick    x[i] of per-member (T_i, ...) arrays: row i of each member (i may differ),
              one result per member."""

    def ragged(self, node, flags):
        index = node.attrs["index"]
        shape = node.inputs[0].shape
        if flags[0]:
            ids = _gather_ids(index)
            if ids is None:
                return None
            return (SHARED,), True, ("gather", ids.ndim, ids.dtype.str)
        if len(shape) < 2 or shape[0] < 1:
            return None
        if _single_int(index):
            return (RAGGED,), False, ("pick",)
        if _keeps_rows(index, len(shape)) and len(node._meta[0]) >= 1:
            key = attrs_key(node.attrs)
            return None if key is None else ((RAGGED,), True, ("rows", key))
        return None

    def lengths(self, nodes, kinds):
        if kinds[0] is SHARED:
            return [len(m.attrs["index"][0]) for m in nodes]
        return [m.inputs[0].shape[0] for m in nodes]

    @staticmethod
    def _mode(attrs, kinds):
        if kinds[0] is SHARED:
            return "gather"
        return "pick" if _single_int(attrs["index"]) else "rows"

    @staticmethod
    def _all_ids(seg, nodes):
        ids = seg.cache.get("ids")
        if ids is None:
            ids = seg.cache["ids"] = np.concatenate([m.attrs["index"][0] for m in nodes])
        return ids

    @staticmethod
    def _picked(seg, nodes):
        """The concatenated-row number of each member's picked row (negative i from its end)."""
        i = np.fromiter((m.attrs["index"][0] for m in nodes), np.int64, len(nodes))
        return np.where(i < 0, seg.ends, seg.starts) + i

    def ragged_forward(self, xp, op, attrs, args, kinds, seg, nodes):
        x = args[0]
        mode = self._mode(attrs, kinds)
        if mode == "gather":
            return x[self._all_ids(seg, nodes)]
        if mode == "pick":
            return x[self._picked(seg, nodes)]
        return x[attrs["index"]]

    def ragged_backward(self, xp, op, attrs, args, kinds, seg, nodes, out, G, need):
        x = args[0]
        gx = xp.zeros(x.shape, dtype=G.dtype)
        mode = self._mode(attrs, kinds)
        if mode == "gather":
            np.add.at(gx, self._all_ids(seg, nodes), G)      # repeated ids accumulate
        elif mode == "pick":
            gx[self._picked(seg, nodes)] = G                  # one row per member: no repeats
        else:
            gx[attrs["index"]] = G
        return [gx]


def _as3(x, shared, nd, left):
    """An operand of matmul as a stack of matrices (1 or B, rows, cols)."""
    if nd == 1:
        x = x[..., None, :] if left else x[..., :, None]
    return x[None] if shared else x


class MatMul(Rule):
    """matmul/mv/dot of operands of rank <= 2.  The common case -- a shared matrix times
    stacked vectors -- is one matrix product against the stacked vectors; the rest goes
    through stacks of matrices."""

    def key(self, node, flags):
        a, b = node.inputs
        if len(a.shape) > 2 or len(b.shape) > 2:
            return None
        return ()

    @staticmethod
    def _ranks(args, flags):
        return [a.ndim - (0 if f else 1) for a, f in zip(args, flags)]

    def forward(self, xp, op, attrs, args, flags, nodes):
        a, b = args
        na, nb = self._ranks(args, flags)
        if flags[0] and na == 2 and nb == 1:
            return b @ a.T                         # (B, n) @ (n, m)
        if flags[1] and na == 1:
            return a @ b                           # (B, n) @ (n, k) or (n,)
        c = xp.matmul(_as3(a, flags[0], na, True), _as3(b, flags[1], nb, False))
        return c.reshape(c.shape[:1] + c.shape[1:2] * (na == 2) + c.shape[2:] * (nb == 2))

    def backward(self, xp, op, attrs, args, flags, nodes, out, G, need):
        a, b = args
        na, nb = self._ranks(args, flags)
        if flags[0] and na == 2 and nb == 1:
            return [G.T @ b if need[0] else None, G @ a if need[1] else None]
        if flags[1] and na == 1 and nb == 2:
            return [G @ b.T if need[0] else None, a.T @ G if need[1] else None]
        A3, B3 = _as3(a, flags[0], na, True), _as3(b, flags[1], nb, False)
        G3 = G.reshape(G.shape[:1] + (A3.shape[1], B3.shape[2]))
        ga = gb = None
        if need[0]:
            ga = xp.matmul(G3, xp.swapaxes(B3, -1, -2))
            ga = (ga.sum(0) if flags[0] else ga).reshape(a.shape)
        if need[1]:
            gb = xp.matmul(xp.swapaxes(A3, -1, -2), G3)
            gb = (gb.sum(0) if flags[1] else gb).reshape(b.shape)
        return [ga, gb]


class CrossEntropy(Rule):
    """Softmax cross-entropy of one logit vector each: per-example losses of the stack."""
    stack_all = True

    def key(self, node, flags):
        if len(node.inputs[0].shape) != 1:
            return None
        return ()

    def forward(self, xp, op, attrs, args, flags, nodes):
        return op.fwd(xp, *args, reduction="none")

    def backward(self, xp, op, attrs, args, flags, nodes, out, G, need):
        vjps = op.vjps_for(2)
        return [vjps[i](xp, G, out, *args, reduction="none") if need[i] else None
                for i in range(2)]


class Linear(Rule):
    """x @ W.T + b with a shared weight: the members' rows (stacked vectors, or the
    concatenated rows of (T_i, in) matrices) go through one matrix product.  The bias is
    shared, or per member (repeated over the member's rows)."""

    def key(self, node, flags):
        x, w, b = node.inputs
        if flags[0] or not flags[1] or len(x.shape) != 1 or not (flags[2] or len(b.shape) == 1):
            return None
        return ()

    def ragged(self, node, flags):
        x, w, b = node.inputs
        if flags[0] or not flags[1] or len(x.shape) != 2 or x.shape[0] < 1:
            return None
        if not flags[2] and len(b.shape) != 1:
            return None
        return (RAGGED, SHARED, SHARED if flags[2] else MEMBER), True, ()

    @staticmethod
    def _product(x, w, b):
        """x @ W.T + b, C-ordered (consumers of a ragged output then take it whole, without
        a copy: see autobatch._rows), the bias added in place: a second large temporary
        costs more than the sum (fresh pages from the OS on every batch)."""
        out = x @ w.T
        out += b
        return out

    def forward(self, xp, op, attrs, args, flags, nodes):
        x, w, b = args
        return self._product(x, w, b)

    def backward(self, xp, op, attrs, args, flags, nodes, out, G, need):
        x, w, b = args
        gb = None
        if need[2]:
            gb = unbroadcast(xp, G, b.shape) if flags[2] else G.reshape(b.shape)
        return [G @ w if need[0] else None, G.T @ x if need[1] else None, gb]

    def ragged_forward(self, xp, op, attrs, args, kinds, seg, nodes):
        x, w, b = args
        return self._product(x, w, b if kinds[2] is SHARED else seg.repeat(b))

    def ragged_backward(self, xp, op, attrs, args, kinds, seg, nodes, out, G, need):
        x, w, b = args
        gb = None
        if need[2]:
            gb = unbroadcast(xp, G, b.shape) if kinds[2] is SHARED else seg.sum(G)
        return [G @ w if need[0] else None, G.T @ x if need[1] else None, gb]


class RaggedCrossEntropy(CrossEntropy):
    """Cross-entropy of (T_i, C) logits and (T_i,) class ids (or (T_i, C) probabilities):
    per-row losses of the concatenated rows; reduction 'sum' and 'mean' become per-member
    segment sums, 'none' stays ragged."""

    def ragged(self, node, flags):
        logits, target = node.inputs
        s = logits.shape
        if len(s) != 2 or s[0] < 1:
            return None
        reduction = node.attrs.get("reduction", "mean")
        return (RAGGED, RAGGED), reduction == "none", ("xent", reduction)

    @staticmethod
    def _row_weights(G, seg, reduction):
        """The gradient of each row's loss: the member's gradient, / T_i for a mean."""
        if reduction == "none":
            return G
        if reduction == "mean":
            G = G / seg.lens.astype(G.dtype)
        return seg.repeat(G)

    def ragged_forward(self, xp, op, attrs, args, kinds, seg, nodes):
        per = op.fwd(xp, *args, reduction="none")
        reduction = attrs.get("reduction", "mean")
        if reduction == "none":
            return per
        total = seg.sum(per)
        return total / seg.lens.astype(total.dtype) if reduction == "mean" else total

    def ragged_backward(self, xp, op, attrs, args, kinds, seg, nodes, out, G, need):
        g = self._row_weights(G, seg, attrs.get("reduction", "mean"))
        vjps = op.vjps_for(2)
        return [vjps[i](xp, g, None, *args, reduction="none") if need[i] else None
                for i in range(2)]


class _Packing:
    """PyTorch's packed-sequence layout of a ragged batch of sequences: members sorted
    longest first, then the rows of step t for the k_t members still running, so that
    every step works on one contiguous block and on a prefix of the running state."""

    def __init__(self, seg):
        lens = seg.lens
        B, N = len(lens), seg.total
        self.order = np.argsort(-lens, kind="stable")      # sorted position -> member
        self.pos = np.empty(B, np.int64)                    # member -> sorted position
        self.pos[self.order] = np.arange(B)
        by_length = lens[self.order]
        steps = int(by_length[0])
        ks = np.searchsorted(-by_length, -np.arange(steps), side="left")   # k_t = #{T_j > t}
        starts = np.concatenate(([0], np.cumsum(ks)[:-1]))
        self.ks, self.starts = ks.tolist(), starts.tolist()
        t_of_row = np.arange(N) - np.repeat(seg.starts, lens)
        self.packed_of = starts[t_of_row] + np.repeat(self.pos, lens)    # concat row -> packed
        self.concat_of = np.empty(N, np.int64)
        self.concat_of[self.packed_of] = np.arange(N)
        # the packed row of the same member one step earlier, for the rows of steps >= 1
        self.prev = np.arange(B, N) - np.repeat(ks[:-1], ks[1:])

    @staticmethod
    def of(seg):
        p = seg.cache.get("pack")
        if p is None:
            p = seg.cache["pack"] = _Packing(seg)
        return p

    def initial(self, state, kind, B):
        """An initial state (member rows, or one shared vector) in sorted order, (B, H)."""
        if kind is SHARED:
            return np.broadcast_to(state, (B,) + state.shape)
        return state[self.order]

    def to_members(self, d, kind):
        """The gradient of an initial state from its sorted rows."""
        return d.sum(0) if kind is SHARED else d[self.pos]


def _gate_scale(H, dtype):
    """sigmoid(z) = tanh(z / 2) / 2 + 1/2: with the i, f, o rows of the weights pre-scaled by
    1/2 (exact in binary), one tanh and one multiply-add give all four gates (i f g o)."""
    scale = np.full(4 * H, 0.5, dtype)
    scale[2 * H:3 * H] = 1.0
    return scale, np.where(scale == 0.5, 0.5, 0.0).astype(dtype)


class PackedLSTM(Rule):
    """lstm_layer over sentences of different lengths: one packed sequence.  Forward, step t
    multiplies only the k_t running members' states by W_hh ((k_t, H) @ (H, 4H)); backward
    runs BPTT over the same layout and takes W_hh's gradient as one product at the end.
    Only the ragged mode: (T_i, 4H) projections, a shared W_hh, initial states per member
    or shared.  The result is the op's: rows [h | c | i f g o] per step."""

    def key(self, node, flags):
        return None

    def ragged(self, node, flags):
        xw, whh, h0, c0 = node.inputs
        if flags[0] or not flags[1] or len(xw.shape) != 2 or xw.shape[0] < 1:
            return None
        kinds = (RAGGED, SHARED, SHARED if flags[2] else MEMBER, SHARED if flags[3] else MEMBER)
        return kinds, True, ()

    def ragged_forward(self, xp, op, attrs, args, kinds, seg, nodes):
        xw, whh, h0, c0 = args
        pk = _Packing.of(seg)
        B, N, H = len(seg.lens), seg.total, whh.shape[1]
        scale, shift = _gate_scale(H, xw.dtype)
        X = xw[pk.concat_of]                       # packed, a fresh array
        X *= scale
        wt = np.ascontiguousarray((whh * scale[:, None]).T)
        # gates, cells and states in contiguous packed arrays: the steps' elementwise work
        # runs on contiguous blocks (measured 1.6x faster than on column slices of the result)
        A = np.empty((N, 4 * H), dtype=X.dtype)
        C = np.empty((N, H), dtype=X.dtype)
        Hs = np.empty((N, H), dtype=X.dtype)
        tmp = np.empty((B, H), dtype=X.dtype)
        h, c = pk.initial(h0, kinds[2], B), pk.initial(c0, kinds[3], B)
        for k, s in zip(pk.ks, pk.starts):
            e = s + k
            a = A[s:e]
            np.add(h[:k] @ wt, X[s:e], out=a)
            np.tanh(a, out=a)
            a *= scale
            a += shift                             # i f g o
            c_new, ig = C[s:e], tmp[:k]
            np.multiply(a[:, H:2 * H], c[:k], out=c_new)
            np.multiply(a[:, :H], a[:, 2 * H:3 * H], out=ig)
            c_new += ig
            h_new = Hs[s:e]
            np.tanh(c_new, out=h_new)
            h_new *= a[:, 3 * H:]
            h, c = h_new, c_new
        seg.cache["lstm"] = (Hs, C, A)
        out = np.empty((N, 6 * H), dtype=X.dtype)
        rows = pk.concat_of                        # packed row p is concatenated row rows[p]
        out[rows, :H] = Hs
        out[rows, H:2 * H] = C
        out[rows, 2 * H:] = A
        return out

    def ragged_backward(self, xp, op, attrs, args, kinds, seg, nodes, out, G, need):
        xw, whh, h0, c0 = args
        pk = _Packing.of(seg)
        B, N, H = len(seg.lens), seg.total, whh.shape[1]
        cached = seg.cache.get("lstm")
        if cached is None:                         # a subset of the forward's members
            Y = out[pk.concat_of]
            cached = Y[:, :H], Y[:, H:2 * H], Y[:, 2 * H:]
        Hs, c, a = cached
        dtype = G.dtype
        i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
        c_prev = np.empty((N, H), dtype=c.dtype)
        c_prev[:B] = pk.initial(c0, kinds[3], B)
        c_prev[B:] = c[pk.prev]
        tc = np.tanh(c)
        # dz of i, f, g = dc * P (three blocks); of o = dh * Q; dc receives dh * K
        P = np.empty((N, 3, H), dtype=c.dtype)
        P[:, 0] = g * i * (1 - i)
        P[:, 1] = c_prev * f * (1 - f)
        P[:, 2] = i * (1 - g * g)
        Q = tc * o * (1 - o)
        K = o * (1 - tc * tc)
        Gh, Gc = G[pk.concat_of, :H], G[pk.concat_of, H:2 * H]
        dG = None
        if G[:, 2 * H:].any():                     # someone used the gates themselves
            dG = G[pk.concat_of, 2 * H:] * np.concatenate(
                [i * (1 - i), f * (1 - f), 1 - g * g, o * (1 - o)], axis=1)
        dZ = np.empty((N, 4 * H), dtype=dtype)
        dZ3 = dZ[:, :3 * H].reshape(N, 3, H)       # a view: the blocks of i, f, g
        dh = np.zeros((B, H), dtype=dtype)
        dc = np.zeros((B, H), dtype=dtype)
        dck_buf = np.empty((B, H), dtype=dtype)
        for k, s in zip(reversed(pk.ks), reversed(pk.starts)):
            e = s + k
            dhk, dck = dh[:k], dck_buf[:k]         # rows k_{t+1}..k_t start here, from zero
            dhk += Gh[s:e]
            np.add(dc[:k], Gc[s:e], out=dck)
            dck += dhk * K[s:e]
            np.multiply(dck[:, None, :], P[s:e], out=dZ3[s:e])
            np.multiply(dhk, Q[s:e], out=dZ[s:e, 3 * H:])
            if dG is not None:
                dZ[s:e] += dG[s:e]
            np.matmul(dZ[s:e], whh, out=dhk)
            np.multiply(dck, f[s:e], out=dc[:k])
        grads = [dZ[pk.packed_of] if need[0] else None, None, None, None]
        if need[1]:
            h_prev = np.empty((N, H), dtype=Hs.dtype)
            h_prev[:B] = pk.initial(h0, kinds[2], B)
            h_prev[B:] = Hs[pk.prev]
            grads[1] = dZ.T @ h_prev
        if need[2]:
            grads[2] = pk.to_members(dh, kinds[2])
        if need[3]:
            grads[3] = pk.to_members(dc, kinds[3])
        return grads


ELEMENTWISE = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "neg", "where", "exp",
               "log", "log1p", "sqrt", "abs", "sign", "sin", "cos", "clip", "sigmoid", "tanh",
               "relu", "leaky_relu", "elu", "softplus", "gelu", "gelu_cdf", "copy", "astype",
               "eq", "ne", "lt", "le", "gt", "ge"]
AXIS = ["sum", "mean", "max", "min", "prod", "var", "std", "logsumexp", "softmax",
        "log_softmax", "concatenate", "stack"]


def table_rules():
    """The rule of each op of the table, by name."""
    rules = {name: Elementwise() for name in ELEMENTWISE}
    axis = Shifted(shift_axis_attr)
    rules.update({name: axis for name in AXIS})
    rules["stack"] = Stack()
    rules["reshape"] = Shifted(shift_shape_attr)
    rules["broadcast_to"] = Shifted(shift_shape_attr, pad=True)
    rules["permute_dims"] = Shifted(shift_axes_attr)
    rules["getitem"] = RaggedGetItem()
    rules["matmul"] = rules["mv"] = rules["dot"] = MatMul()
    rules["cross_entropy"] = RaggedCrossEntropy()
    rules["linear"] = Linear()
    rules["lstm_layer"] = PackedLSTM()
    return rules


def install():
    """Put each rule into its op's `batch` field (ops without one run one by one)."""
    from ..ops import OPS
    for name, rule in table_rules().items():
        op = OPS.get(name)
        if op is not None and op.batch is None:
            op.batch = rule
