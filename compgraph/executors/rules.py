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


class Rule:
    stack_all = False
    pad = False
    gathers = False      # batchable even when every input is shared (rows of one table)

    def key(self, node, flags):
        return attrs_key(node.attrs)


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
    rules["reshape"] = Shifted(shift_shape_attr)
    rules["broadcast_to"] = Shifted(shift_shape_attr, pad=True)
    rules["permute_dims"] = Shifted(shift_axes_attr)
    rules["getitem"] = GetItem()
    rules["matmul"] = rules["mv"] = rules["dot"] = MatMul()
    rules["cross_entropy"] = CrossEntropy()
    return rules


def install():
    """Put each rule into its op's `batch` field (ops without one run one by one)."""
    from ..ops import OPS
    for name, rule in table_rules().items():
        op = OPS.get(name)
        if op is not None and op.batch is None:
            op.batch = rule
