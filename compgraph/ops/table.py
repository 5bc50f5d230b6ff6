"""The op table: every primitive declared once, forward next to its gradient.

An entry holds
  fwd(xp, *arrays, **attrs) -> array        the forward, written against the array module xp
  vjps[i](xp, g, ans, *inputs, **attrs)     the gradient for input i given the output's
                                            gradient g (a vector-Jacobian product)
  shape(*shapes, **attrs) -> shape          the shape rule: raises ShapeError naming the op,
                                            the shapes, and what would fit
VJPs are written with operators and with names that exist both in NumPy and in
`compgraph.functional` (exp, sum, where, matmul, ...).  The engine runs them on raw arrays
(xp = an ArrayNamespace) for an ordinary backward, and on Tensors (xp = compgraph.functional)
when create_graph=True, which is how higher-order gradients fall out.

Broadcasting is undone once, in the engine: a VJP may return a gradient of the broadcast
shape and the engine sums it down to the input's shape.
"""
from functools import partial

import numpy as np

from ..errors import DimError, ShapeError

OPS = {}


class Op:
    __slots__ = ("name", "fwd", "vjps", "vjp_n", "vjp_all", "shape", "dtype", "promote",
                 "promote_ok", "nondiff", "check", "once", "batch", "doc", "reads", "_vjp_cache",
                 "_needs")

    def __init__(self, name, fwd, vjps, vjp_n=None, vjp_all=None, shape=None, dtype=None,
                 promote=None, nondiff=False, check=False, once=False, batch=None, doc="",
                 reads=None):
        self.name = name
        self.fwd = fwd
        self.vjps = tuple(vjps)
        self.vjp_n = vjp_n          # variadic ops: vjp_n(i, xp, g, ans, *inputs, **attrs)
        self.vjp_all = vjp_all      # or all inputs at once: a list with a gradient (or None)
                                    # per input (compiled regions use this)
        self.shape = shape
        self.dtype = dtype          # dtype rule for an output dtype the inputs' does not
                                    # give (comparisons: bool); None: the inputs' dtype
        self.promote = promote      # PyTorch's type promotion of the inputs (ops/promote.py:
                                    # common, common_float, floating, ...), run by apply
                                    # before the op; None: inputs as given
        self.promote_ok = getattr(promote, "ok", None) or (frozenset() if promote else None)
        self.nondiff = nondiff      # output never requires grad (argmax, comparisons)
        self.check = check          # run the shape rule even in eager mode (NumPy would
                                    # silently accept shapes the op must refuse)
        self.once = once            # the VJP works on arrays only (it writes into them), so
                                    # create_graph=True cannot differentiate through it
        self.batch = batch          # autobatching signature/concat spec (executors/autobatch)
        self.doc = doc
        self.reads = reads          # what the VJPs read, where their code does not say it
                                    # (ops/reads.py); None: derived from the code
        self._vjp_cache = {}
        self._needs = {}            # ops/reads.needs, per requires-grad mask

    def vjps_for(self, n):
        """The per-input VJPs for a call with n inputs (variadic ops build them on demand)."""
        if self.vjp_n is None:
            return self.vjps
        v = self._vjp_cache.get(n)
        if v is None:
            v = self._vjp_cache[n] = tuple(partial(self.vjp_n, i) for i in range(n))
        return v

    def __repr__(self):
        return f"<op {self.name}>"


def defop(name, fwd, *vjps, **kw):
    """Declare a primitive; returns its Op. `vjps` is one function per input, in order."""
    if name in OPS:
        raise ValueError(f"op {name!r} declared twice")
    op = OPS[name] = Op(name, fwd, vjps, **kw)
    return op


# --- shape rules shared by many ops ---------------------------------------------------

def fmt(shape):
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def same_shape(shape, **attrs):
    return shape


def broadcast(name):
    def rule(*shapes, **attrs):
        try:
            return np.broadcast_shapes(*shapes)
        except ValueError:
            raise ShapeError(
                f"{name}: shapes {' and '.join(fmt(s) for s in shapes)} do not broadcast: "
                "aligned from the right, each pair of dimensions must be equal or one of "
                "them 1") from None
    return rule


def normalize_axis(name, axis, ndim):
    """Axis (int, tuple or None) as a sorted tuple of non-negative ints; clear error if out of range."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else _axis_tuple(name, axis)
    out = []
    n = max(ndim, 1)              # a 0-d tensor takes dims 0 and -1, as in PyTorch
    for a in axes:
        if not -n <= a < n:
            raise DimError(f"{name}: dim {a} is out of range for a tensor with {ndim} "
                           f"dimension(s) (use {-n}..{n - 1})")
        out.append(a % ndim if ndim else 0)
    return tuple(sorted(out))


def _axis_tuple(name, axis):
    # a float dim would otherwise surface as "float object is not iterable" from tuple()
    try:
        axes = tuple(axis)
    except TypeError:
        axes = None
    if axes is None or not all(isinstance(a, (int, np.integer)) for a in axes):
        from ..errors import ArgumentError
        raise ArgumentError(f"{name}: dim must be an int or a tuple of ints, got {axis!r}")
    return axes


def reduce_shape(name):
    def rule(shape, axis=None, keepdims=False, **attrs):
        axes = normalize_axis(name, axis, len(shape))
        if keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(shape))
        return tuple(d for i, d in enumerate(shape) if i not in axes)
    return rule


def dummy_rule(op_fwd):
    """Fallback shape rule: run the forward on zero-stride stand-ins of the right shape."""
    def rule(*shapes, **attrs):
        dummies = [np.broadcast_to(np.zeros((), np.float64), s) for s in shapes]
        return np.shape(op_fwd(np, *dummies, **attrs))
    return rule
