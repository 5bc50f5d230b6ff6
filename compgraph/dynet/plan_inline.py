"""The common ops of a replayed DyNet graph (plans.py) written inline, as NumPy expressions.

A plan's generated code calls each op's forward and VJPs from the op table: `f6(np, a0, a4)`
runs _matmul_fwd, which tests the operands' ranks and calls the namespace's matmul.  On the
tiny arrays of a small graph (xor's 2-2-1 network) those Python layers cost more than NumPy's
work: the sum's VJP alone (normalize_axis, _kept, reshape, broadcast_to) is a third of xor's
backward.  The structure of a plan fixes every operand's shape and dtype, so the branches
can be taken once, when the plan is written, and the code left is the NumPy calls the op's
own function would make for those shapes -- the same calls on the same arrays in the same
order, hence the same numbers, bit for bit (tests/dynet/test_plan_inline.py checks each
expression against the op table's function, tests/dynet/test_replay.py whole graphs
against the node-by-node path).

forward(node, operand names) and vjp(node, i, gradient name, operand names) give the
expression, or None: the plan calls the op table's function (anything with other attributes,
ranks or dtypes, and every other op).  ENV holds the names the expressions use.
"""
import numpy as np

from ..ops import elementwise
from ..ops.namespace import _broadcast_to
from ..ops.reduce import _kept
from ..ops.table import OPS

ENV = {"matmul_": np.matmul, "tanh_": np.tanh, "add_reduce_": np.add.reduce,
       "broadcast_": _broadcast_to, "swapaxes_": np.swapaxes, "expit_": elementwise._expit}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _expand(name, ndim, axis):
    """The namespace's expand_dims(x, axis) for an x of ndim dims: an index of its own."""
    axis = axis if axis >= 0 else ndim + 1 + axis
    return f"{name}[{':, ' * axis}None]"


def _plain(node):
    """Float32 or float64 NumPy operands of one dtype and no attributes: the cases below."""
    if node.attrs:
        return False
    dt = node._value.dtype if node._value is not None else node._meta[1]
    return dt in _FLOATS and all(x._value.__class__ is np.ndarray and x._value.dtype == dt
                                 for x in node.inputs)


def _sum_attrs(node):
    """sum's (axis, keepdims), or None for attributes of some other kind."""
    a = node.attrs
    if set(a) - {"axis", "keepdims"}:
        return None
    return a.get("axis"), bool(a.get("keepdims", False))


# --- forward ------------------------------------------------------------------------------------

def _fwd_binary(symbol):
    return lambda node, r: f"{r[0]} {symbol} {r[1]}"           # the op's `a + b`


def _fwd_matmul(node, r):
    a, b = node.inputs
    if a._value.ndim == 2 and b._value.ndim == 2:
        return None                 # _mm: a large product by rows on the intra-op threads
    return f"matmul_({r[0]}, {r[1]})"


def _fwd_sigmoid(node, r):
    if elementwise._expit is None:
        return None
    return f"expit_({r[0]})"        # float32 or float64 in, the same dtype out (_sigmoid)


_FORWARD = {"add": _fwd_binary("+"), "sub": _fwd_binary("-"), "mul": _fwd_binary("*"),
            "neg": lambda node, r: f"-{r[0]}", "tanh": lambda node, r: f"tanh_({r[0]})",
            "sigmoid": _fwd_sigmoid, "matmul": _fwd_matmul}


def forward(node, r):
    """The expression of node's value from its operands' names r, or None."""
    op = node.op
    if op.name == "sum" and OPS.get("sum") is op and node.inputs[0]._value.dtype in _FLOATS:
        attrs = _sum_attrs(node)
        if attrs is None:
            return None
        return f"add_reduce_({r[0]}, axis={attrs[0]!r}, keepdims={attrs[1]!r})"
    rule = _FORWARD.get(op.name)
    if rule is None or OPS.get(op.name) is not op or not _plain(node):
        return None
    return rule(node, r)


# --- VJPs ---------------------------------------------------------------------------------------

def _vjp_matmul(node, i, g, r, ans):
    a, b = (x._value for x in node.inputs)
    gd = node._value.ndim
    if i == 0:                                          # _matmul_vjp_a
        if b.ndim == 1:
            return f"{_expand(g, gd, -1)} * {r[1]}"
        if a.ndim == 1:
            return f"matmul_({r[1]}, {_expand(g, gd, -1)})[..., 0]"
        return f"matmul_({g}, swapaxes_({r[1]}, -1, -2))"
    if a.ndim == 1 and b.ndim == 1:                      # _matmul_vjp_b
        return f"{g} * {r[0]}"
    if a.ndim == 1:
        return f"{_expand(r[0], 1, -1)} * {_expand(g, gd, -2)}"
    if b.ndim == 1:
        return f"matmul_(swapaxes_({r[0]}, -1, -2), {_expand(g, gd, -1)})[..., 0]"
    if a.ndim == 2 and a.shape[0] == 1:
        return f"{r[0]}.T * {g}"
    return f"matmul_(swapaxes_({r[0]}, -1, -2), {g})"


_VJP = {
    "add": lambda node, i, g, r, ans: g,
    "sub": lambda node, i, g, r, ans: g if i == 0 else f"-{g}",
    "mul": lambda node, i, g, r, ans: f"{g} * {r[1 - i]}",
    "neg": lambda node, i, g, r, ans: f"-{g}",
    "tanh": lambda node, i, g, r, ans: f"{g} * (1 - {ans} * {ans})",
    "sigmoid": lambda node, i, g, r, ans: f"{g} * {ans} * (1 - {ans})",
    "matmul": _vjp_matmul,
}


def vjp(node, i, g, r, ans):
    """The expression of the gradient of node's input i, from the node's gradient g, its
    operands' names r and its value's name ans; or None."""
    op = node.op
    if op.name == "sum" and OPS.get("sum") is op and node.inputs[0]._value.dtype in _FLOATS:
        attrs = _sum_attrs(node)
        if attrs is None:
            return None
        shape = node.inputs[0]._value.shape            # _spread: g with the kept dims, spread
        return f"broadcast_({g}.reshape({_kept(shape, attrs[0])!r}), {shape!r})"
    rule = _VJP.get(op.name)
    if rule is None or OPS.get(op.name) is not op or not _plain(node):
        return None
    return rule(node, i, g, r, ans)
