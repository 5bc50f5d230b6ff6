"""Tensor: the one node type of compgraph.

A Tensor holds its value (a NumPy or CuPy array), its gradient, and, when it was made by
an op while gradients are on, that op, its inputs and the op's attributes.  Those fields
*are* the graph: backward walks them, the executors schedule them, `draw` pictures them.

`apply` is the hot path of the whole toolkit: every op call, eager or lazy, goes through it.
It is plain Python over arrays with no dispatch layers, so its cost per node is what the
benchmarks measure.
"""
import itertools
import math

import warnings

import numpy as np

from . import backend, state
from .freeing import FreedValue, forget as _forget_pending, track as _track
from .backend import ndarray, xp_of
from .errors import AnomalyError, ArgumentError, BoundsError, DTypeError, GraphError, ShapeError
from .ops import OPS
from .ops.namespace import array_namespace
from .ops.table import fmt


_next_id = itertools.count().__next__   # creation order = a topological order
_NOATTRS = {}
NP = array_namespace(np)   # what NumPy-backed ops receive as xp


class Tensor:
    __slots__ = ("_value", "_grad", "requires_grad", "op", "inputs", "attrs", "_id",
                 "_graph", "_index", "_meta", "_retain", "name", "_modified", "__weakref__")
    # _modified is set only by in-place changes (and read with a default): unset, it costs
    # the hot path nothing

    # NumPy defers to our reflected operators (ndarray + Tensor -> Tensor.__radd__)
    __array_ufunc__ = None
    __hash__ = object.__hash__

    def __init__(self, *args, requires_grad=False, dtype=None):
        """As torch.Tensor: Tensor(data) is data in the default float dtype (a tensor keeps
        its own), Tensor(2, 3) a (2, 3) tensor (zeros here, uninitialised there)."""
        if args and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
            from .functional import zeros
            value = zeros(*args, dtype=dtype)._value
        elif len(args) > 1:
            raise ArgumentError(f"Tensor(): expected data or integer sizes, got {args!r}")
        else:
            data = args[0] if args else []
            if dtype is None and not isinstance(data, Tensor):
                dtype = backend.get_default_dtype()
            value = tensor(data, dtype=dtype, requires_grad=requires_grad)._value
        _init(self, value, requires_grad)

    # --- what a tensor is ---------------------------------------------------------------
    @property
    def value(self):
        """The raw array (NumPy or CuPy); the tutorial's `node.value`."""
        v = self._value
        if v.__class__ is FreedValue:
            raise v.error()
        return v

    @value.setter
    def value(self, array):
        self._value = _as_array(array, None)
        if self._graph is not None:
            self._graph._value_set(self)

    @property
    def grad(self):
        """The gradient backward() accumulated (a Tensor), or None."""
        return self._grad

    @grad.setter
    def grad(self, g):
        # graph nodes hold plain arrays and numbers (the tutorial's loss.grad = 1.0);
        # a tensor's gradient is a tensor of its shape, as PyTorch checks on assignment
        if g is not None and self._graph is None:
            if not isinstance(g, Tensor):
                raise ArgumentError(f"assigned grad expected to be a Tensor or None but got grad "
                                    f"of type {type(g).__name__}")
            if g.shape != self.shape:
                raise ShapeError(f"assigned grad has shape {fmt(g.shape)}, but the tensor has "
                                 f"shape {fmt(self.shape)}")
        self._grad = g

    @property
    def data(self):
        """A tensor sharing this one's array, outside the graph (PyTorch's .data)."""
        return _make(self._value, False)

    @data.setter
    def data(self, other):
        self._value = other._value if isinstance(other, Tensor) else _as_array(other, self.dtype)

    @property
    def shape(self):
        v = self._value
        return v.shape if v is not None else self._meta[0]

    @property
    def dtype(self):
        v = self._value
        return v.dtype if v is not None else self._meta[1]

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def device(self):
        v = self._value
        return v.device if v.__class__ is FreedValue else backend.device_of(v)

    @property
    def is_leaf(self):
        return self.op is None

    @property
    def grad_fn(self):
        return self.op

    # the tutorial's node fields
    @property
    def type(self):
        """The node's kind ('var', 'add', ...) as the tutorial reads it; calling it,
        t.type(dtype), converts as PyTorch's Tensor.type does."""
        op = self.op
        return _NodeType("var" if op is None else getattr(op, "type", None) or op.name, self)

    @property
    def id(self):
        return self._index if self._index is not None else self._id

    @property
    def children(self):
        return list(self.inputs or ())

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def dim(self):
        return self.ndim

    def numel(self):
        return int(np.prod(self.shape))

    def __len__(self):
        if not self.shape:
            raise ArgumentError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    # --- conversions --------------------------------------------------------------------
    def numpy(self, *, force=False):
        """The array itself (shared, not copied). As in PyTorch, a tensor that requires grad
        refuses: writes to the array would bypass the graph; force=True is
        detach().cpu().numpy()."""
        self._concrete("numpy()")
        if force:
            return self.detach().cpu().numpy()
        if self.requires_grad:
            raise GraphError("numpy(): can't call numpy() on a tensor that requires grad: the "
                             "array would leave the graph unnoticed; use tensor.detach().numpy()")
        v = self._value
        if not isinstance(v, np.ndarray):
            raise DTypeError("can't convert a cuda tensor to numpy: use .cpu() first")
        return v

    def __array__(self, dtype=None, copy=None):
        v = self.numpy()
        return v if dtype is None else v.astype(dtype, copy=False)

    def _concrete(self, what):
        """Reading a value into Python while compile() traces would bake it in: refuse.
        A value freed after the forward (compgraph/freeing.py) is refused too."""
        if self._value.__class__ is FreedValue:
            raise self._value.error()
        if state.TRACE is not None:
            from .errors import TraceError
            raise TraceError(
                f"compile: {what} reads a tensor's value into Python while tracing, so the "
                "traced program would depend on this one value (value-dependent control flow). "
                "Use compgraph.where(...) for a data-dependent choice, or move this out of the "
                "compiled function.")

    def item(self):
        self._concrete("item()")
        if self.numel() != 1:
            raise ShapeError(f"item(): only one-element tensors can be converted to a Python "
                             f"number, this one has shape {fmt(self.shape)}")
        return self._value.reshape(()).item()

    def tolist(self):
        self._concrete("tolist()")
        return self._value.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.dtype.kind not in "iu":
            raise TypeError("only integer tensors can be used as an index")
        return int(self.item())

    def __bool__(self):
        self._concrete("bool(tensor) (an `if` or `while` on a tensor)")
        if self.numel() != 1:
            raise ShapeError(f"the truth value of a tensor with shape {fmt(self.shape)} is "
                             "ambiguous: use .any() or .all()")
        return bool(self.item())

    def detach(self):
        return _make(self._value, False)

    def clone(self):
        from . import functional as F
        return F.clone(self)

    def to(self, *args, dtype=None, device=None):
        """to('cuda'), to(float64), to(other_tensor), to(device=..., dtype=...)."""
        for a in args:
            if isinstance(a, str) and (a == "cpu" or a.startswith("cuda")):
                device = a
            elif isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            else:
                dtype = a
        out = self
        if device is not None and backend.normalize_device(device) != self.device:
            from . import functional as F
            out = F.to_device(out, backend.normalize_device(device))
        if dtype is not None:
            out = out.astype(dtype)
        return out

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def astype(self, dtype):
        dt = backend.as_dtype(dtype)
        if dt == self.dtype:
            return self
        from . import functional as F
        return F.astype(self, dt)

    def float(self):
        return self.astype(backend.float32)

    def double(self):
        return self.astype(backend.float64)

    def half(self):
        return self.astype(backend.float16)

    def long(self):
        return self.astype(backend.int64)

    def int(self):
        return self.astype(backend.int32)

    def bool(self):
        return self.astype(backend.bool_)

    # --- gradients ----------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        from .autograd import backward
        backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self._value is not None and self.dtype.kind not in "fc":
            raise DTypeError(f"only floating-point tensors can require gradients, got {self.dtype}")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self):
        self._retain = True
        return self

    # --- in place (outside the graph, as PyTorch's in-place ops on .data) -----------------
    def _inplace_check(self, what):
        if self.requires_grad and self.op is None and state.GRAD_ENABLED:
            raise GraphError(f"{what}: a leaf tensor that requires grad is being changed in "
                             "place; do it on .data or inside compgraph.no_grad()")
        # a node made before now may need the old value in its backward: note when it
        # changed, so that backward refuses rather than use the new one (check_unmodified)
        self._modified = state.LAST_MODIFIED = _next_id()

    def _in_graph(self, what, other):
        """Whether an in-place change must be recorded: gradients flow through self or
        the value written into it.  The graph has no in-place nodes, so such a change
        becomes an ordinary node that this object turns into (see _become)."""
        if not state.GRAD_ENABLED or not (self.requires_grad or getattr(other, "requires_grad", False)):
            return False
        self._inplace_check(what)             # a leaf that requires grad: refused
        if self._graph is not None or state.TRACE is not None:
            raise GraphError(f"{what}: an in-place change of a tensor whose gradient is "
                             "recorded is not supported in a lazy graph or inside compile(); "
                             "write y = x + ... (or compgraph.where / index_put) instead")
        return True

    def _become(self, new):
        """Turn this object into node `new` (what PyTorch's recorded in-place op amounts to):
        the node it was moves to a fresh object, which `new` takes as its input, so every
        name for this tensor now sees the changed value and backward passes through both.
        Nodes made earlier that read this object are caught by backward's in-place check."""
        _forget_pending(self)                 # the node it was moves to another object
        old = Tensor.__new__(Tensor)
        for slot in _NODE_SLOTS:
            setattr(old, slot, getattr(self, slot))
        old._retain = False
        new.inputs = tuple(old if x is self else x for x in new.inputs)
        for slot in _NODE_SLOTS:
            setattr(self, slot, getattr(new, slot))
        self._modified = state.LAST_MODIFIED = self._id   # later than every earlier reader
        return self

    def _inplace(self, what, ufunc, other):
        """self = ufunc(self, other), written into self's array; NumPy's errors named."""
        if self._in_graph(what, other):
            o = as_tensor(other, self)
            if o.dtype != self.dtype and np.can_cast(o.dtype, self.dtype, "same_kind"):
                o = o.astype(self.dtype)        # in place, the tensor keeps its dtype
            new = apply(OPS[_UFUNC_OPS[ufunc.__name__]], (self, o))
            if new.dtype != self.dtype:
                raise DTypeError(f"{what}: the result, {new.dtype}, can't be stored in place "
                                 f"in this {self.dtype} tensor; convert it first")
            return self._become(new)
        self._inplace_check(what)
        o = other._value if isinstance(other, Tensor) else other
        v = self._value
        try:
            ufunc(v, o, out=v, casting="same_kind")
        except TypeError:
            raise DTypeError(f"{what}: the result of {self.dtype} and "
                             f"{getattr(o, 'dtype', type(o).__name__)} can't be stored in place "
                             f"in this {self.dtype} tensor; convert it first (e.g. .float())") from None
        except ValueError:
            raise ShapeError(f"{what}: an operand of shape {fmt(np.shape(o))} does not fit in "
                             f"place into this tensor of shape {fmt(self.shape)}: it must "
                             "broadcast to that shape") from None
        return self

    def _assign(self, what, index, value):
        if self._in_graph(what, value):
            from .functional import index_put
            return self._become(index_put(self, value, index))
        self._inplace_check(what)
        if index.__class__ is tuple and len(index) > 2:
            from .functional import _placed_value     # PyTorch's placement of index dims
            value = _placed_value(value, index, self.shape)
        v = value._value if isinstance(value, Tensor) else value
        try:
            self._value[index] = v
        except IndexError as e:
            raise BoundsError(f"{what}: {e} (tensor of shape {fmt(self.shape)})") from None
        except ValueError as e:
            where = "this tensor" if index is Ellipsis else "the selected part of this tensor"
            raise ShapeError(f"{what}: a value of shape {fmt(np.shape(v))} does not fit "
                             f"{where} of shape {fmt(self.shape)}: {e}") from None
        return self

    def zero_(self):
        return self._assign("zero_", Ellipsis, 0)

    def fill_(self, value):
        return self._assign("fill_", Ellipsis, value)

    def copy_(self, src):
        shape = np.shape(src._value if isinstance(src, Tensor) else src)
        # NumPy's assignment also drops leading 1s of a larger source; PyTorch only broadcasts
        if len(shape) > self.ndim or any(s not in (1, d) for s, d in zip(shape[::-1], self.shape[::-1])):
            raise ShapeError(f"copy_: a value of shape {fmt(shape)} does not fit this tensor of "
                             f"shape {fmt(self.shape)}: it must broadcast to it")
        return self._assign("copy_", Ellipsis, src)

    def add_(self, other, alpha=1):
        if isinstance(alpha, Tensor) and not isinstance(other, Tensor):
            # PyTorch's deprecated add_(alpha, other), still in its word_language_model example
            warnings.warn("add_(Number alpha, Tensor other) is deprecated: use "
                          "add_(other, alpha=alpha)", UserWarning, stacklevel=2)
            other, alpha = alpha, other
        if alpha != 1:
            other = (other._value if isinstance(other, Tensor) else np.asarray(other)) * alpha
        return self._inplace("add_", self._xp().add, other)

    def sub_(self, other, alpha=1):
        if (other.__class__ is bool or self.dtype == np.bool_
                or (isinstance(other, Tensor) and other.dtype == np.bool_)):
            raise DTypeError("sub_: subtraction (the `-` operator) with a bool is not supported; "
                             "use an int or a float, or `~`/logical_not() to invert a mask")
        return self.add_(other, -alpha)

    def mul_(self, other):
        return self._inplace("mul_", self._xp().multiply, other)

    def div_(self, other):
        return self._inplace("div_", self._xp().divide, other)

    def clamp_(self, min=None, max=None):
        if self._in_graph("clamp_", None):
            from .functional import clamp
            return self._become(clamp(self, min, max))
        self._inplace_check("clamp_")
        self._xp().clip(self._value, min, max, out=self._value)
        return self

    # uniform_, normal_, random_, bernoulli_, ... come from compgraph.sampling

    def __setitem__(self, index, value):
        self._assign("item assignment", _raw_index(index), value)

    def _xp(self):
        return xp_of(self._value)

    # --- printing -----------------------------------------------------------------------
    def __repr__(self):
        if self._value is None:
            return f"tensor(<not computed>, shape={fmt(self.shape)}, op={self.type})"
        if self._value.__class__ is FreedValue:
            return f"tensor(<freed>, shape={fmt(self.shape)}, op={self.type})"
        v = np.asarray(self._value) if self.device == "cpu" else self._value.get()
        # PyTorch's look: whole numbers as "1.", anything else with four decimals
        finite = np.abs(v[np.isfinite(v)]).astype(np.float64) if v.dtype.kind == "f" else v
        nonzero = finite[finite != 0] if v.dtype.kind == "f" else finite.reshape(-1)[:0]
        # NumPy's switch to scientific notation; there PyTorch keeps four decimals too
        scientific = nonzero.size and (nonzero.max() >= 1e8 or nonzero.min() < 1e-4
                                       or nonzero.max() / nonzero.min() > 1e3)
        whole = v.dtype.kind != "f" or (not scientific and bool(np.all(finite == np.round(finite))))
        # bools as wide as the widest present (NumPy always pads True to False's width)
        width = 5 if v.dtype.kind == "b" and not v.all() else 4
        body = np.array2string(v, precision=4, separator=", ",
                               floatmode="maxprec_equal" if whole else "fixed",
                               prefix="tensor(", suppress_small=False,
                               formatter={"bool": lambda b: str(b).rjust(width)})
        extra = []
        if v.size == 0 and v.ndim > 1:
            extra.append(f"size={fmt(v.shape)}")
        # an empty tensor has no elements that show int64 or bool: PyTorch names them too
        if self.dtype != backend.get_default_dtype() and (
                v.size == 0 or self.dtype not in (backend.int64, backend.bool_)):
            extra.append(f"dtype=torch.{self.dtype}")   # PyTorch's spelling of the dtype
        if self.device != "cpu":
            extra.append("device='cuda'")
        if self.op is not None and self.requires_grad:
            extra.append(f"grad_fn=<{self.op.name}>")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extra) + ")"

    __str__ = __repr__

    def _repr_svg_(self):
        """Jupyter shows the graph that made this tensor, when Graphviz is there."""
        from .viz import svg_or_none
        return svg_or_none(self)


# what a node is, as _become moves it between objects (not its identity: __weakref__)
_NODE_SLOTS = ("_value", "_grad", "requires_grad", "op", "inputs", "attrs", "_id", "_graph",
               "_index", "_meta", "_retain", "name")
_UFUNC_OPS = {"add": "add", "subtract": "sub", "multiply": "mul", "divide": "div"}


class _NodeType(str):
    """A node's type name that can also be called like PyTorch's Tensor.type(dtype)."""

    def __new__(cls, name, node):
        s = super().__new__(cls, name)
        s.node = node
        return s

    def __call__(self, dtype=None):
        from . import legacy   # at call time: legacy builds on this module
        if dtype is None:      # PyTorch names the legacy type: 'torch.FloatTensor'
            for name in legacy.__all__:
                if getattr(legacy, name).dtype == self.node.dtype:
                    return f"torch.{name}"
            return f"torch.{self.node.dtype}"
        if isinstance(dtype, str) and dtype.replace("torch.", "") in legacy.__all__:
            dtype = getattr(legacy, dtype.replace("torch.", ""))
        return self.node.astype(getattr(dtype, "dtype", dtype) if isinstance(dtype, type)
                                else dtype)


# --- making tensors -------------------------------------------------------------------------

def _init(t, value, requires_grad):
    t._value = value
    t._grad = None
    t.requires_grad = requires_grad
    t.op = None
    t.inputs = None
    t.attrs = _NOATTRS
    t._id = _next_id()
    t._graph = None
    t._index = None
    t._meta = None
    t._retain = False
    t.name = None


def _make(value, requires_grad=False, cls=Tensor):
    t = cls.__new__(cls)
    _init(t, value, requires_grad)
    return t


def _as_array(data, dtype):
    """An array from user data, with PyTorch's dtype inference for Python data."""
    if isinstance(data, Tensor):
        data = data._value
    if isinstance(data, (np.ndarray, np.generic)):
        return np.array(data, dtype=dtype)
    if backend._cupy is not None and isinstance(data, backend._cupy.ndarray):
        return data.astype(dtype) if dtype is not None else data.copy()
    try:
        arr = np.array(data, dtype=dtype)
    except (TypeError, ValueError) as e:
        raise ArgumentError(f"tensor(): cannot make a tensor from {type(data).__name__}: {e}") from None
    if arr.dtype == object:
        raise ArgumentError(f"tensor(): cannot make a tensor from {type(data).__name__} "
                            "(ragged nesting or non-numbers)")
    if dtype is None and arr.dtype == np.float64:
        arr = arr.astype(backend.get_default_dtype())   # Python floats -> float32, as PyTorch
    return arr


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new leaf tensor from data (a number, nested lists, an array, a tensor)."""
    dt = backend.as_dtype(dtype)
    arr = _as_array(data, dt)
    if device is not None:
        arr = backend.to_device(arr, backend.normalize_device(device))
    if requires_grad and arr.dtype.kind not in "fc":
        raise DTypeError(f"only floating-point tensors can require gradients, got {arr.dtype}; "
                         "pass dtype=compgraph.float32")
    return _make(arr, requires_grad)


def as_tensor(x, like=None):
    """x as a Tensor, without copying; numbers take the dtype of `like` (NumPy's weak scalars)."""
    if isinstance(x, Tensor):
        return x
    if like is not None and x.__class__ in (float, int, bool):
        return scalar_constant(x, like)
    if isinstance(x, (np.ndarray, np.generic, bool, int, float, list, tuple)):
        return _make(_as_array(x, None) if not isinstance(x, np.ndarray) else x, False)
    if backend._cupy is not None and isinstance(x, backend._cupy.ndarray):
        return _make(x, False)
    raise ArgumentError(f"expected a Tensor, a number or an array, got {type(x).__name__}")


_constants = {}


def scalar_constant(x, like):
    """A 0-d constant for a Python number in an op with `like`: it takes like's dtype (so
    0.5 * float32 stays float32), and is cached, since training loops use the same few
    numbers (1/2, 2, lr) millions of times.  Constants never require grad and are never
    written to, so sharing them is safe."""
    v = like._value
    dt = v.dtype if v is not None else like.dtype
    if x.__class__ is float and dt.kind not in "fc":
        dt = backend.get_default_dtype()
    elif x.__class__ is int and dt.kind == "b":
        dt = np.dtype(np.int64)         # mask * 2 counts, as in NumPy and PyTorch
    device = "cpu" if v is None or v.__class__ is ndarray else like.device
    # -0.0 == 0.0 as a key, but not as a constant (1 / (x * -0.0) is -inf)
    key = (x, x.__class__, dt, device, math.copysign(1.0, x) if x.__class__ is float else 0)
    t = _constants.get(key)
    if t is None:
        if len(_constants) > 4096:
            _constants.clear()
        arr = np.asarray(x, dtype=dt)
        t = _constants[key] = _make(arr if device == "cpu" else backend.to_device(arr, device))
    return t


def from_numpy(array):
    """A tensor sharing memory with a NumPy array (as torch.from_numpy)."""
    if not isinstance(array, np.ndarray):
        raise ArgumentError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}")
    return _make(array, False)


# --- the hot path ----------------------------------------------------------------------------

def apply(op, args, attrs=_NOATTRS):
    """Run `op` on tensors `args`: compute (eager) or record (lazy), and link the node."""
    requires_grad = False
    for a in args:
        if a._graph is not None:
            return a._graph.record(op, args if op.promote is None else op.promote(args), attrs)
        if a.requires_grad:
            requires_grad = True
    vals = [a._value for a in args]
    ok = op.promote_ok
    if ok is not None:                   # PyTorch's type promotion (ops/promote.py); inline,
        d = vals[0].dtype                # the test that nothing needs converting
        if d not in ok or len(vals) > 1 and (len(vals) > 2 or vals[1].dtype is not d):
            args = op.promote(args)
            vals = [a._value for a in args]
    v0 = vals[0]
    xp = NP if v0.__class__ is ndarray else array_namespace(_xp_checked(op, vals))
    if op.check:
        op.shape(*[v.shape for v in vals], **attrs)
    try:
        out = op.fwd(xp, *vals, **attrs) if attrs else op.fwd(xp, *vals)
    except Exception as e:
        raise explain_failure(op, vals, attrs, e) from None
    if out.__class__ is not ndarray and xp is NP:
        out = np.asarray(out)
    # _init's fields, set inline: this is the hottest function of the toolkit
    t = Tensor.__new__(Tensor)
    t._value = out
    t._grad = None
    t._id = _next_id()
    t._graph = None
    t._index = None
    t._meta = None
    t._retain = False
    t.name = None
    if requires_grad and state.GRAD_ENABLED and not op.nondiff:
        t.requires_grad = True
        t.op = op
        t.inputs = args
        t.attrs = attrs
        if out.size >= state.FREE_MIN_SIZE:
            _track(t)                        # its inputs' values may be freed now
    elif state.TRACE is not None:
        # compile() replays every op of the function, gradient or not (x / 255, argmax)
        t.requires_grad = False
        t.op = op
        t.inputs = args
        t.attrs = attrs
    else:
        t.requires_grad = False
        t.op = None
        t.inputs = None
        t.attrs = _NOATTRS
    if state.ANOMALY:
        check_finite(op, out, "forward")
    if state.TRACE is not None:
        state.TRACE.append(t)
    return t


def _xp_checked(op, vals):
    """The array module of the operands; a clear error when they live on different devices."""
    xps = {xp_of(v) for v in vals}
    if len(xps) > 1:
        devices = ", ".join(backend.device_of(v) for v in vals)
        raise backend.DeviceError(f"{op.name}: operands are on different devices ({devices}); "
                                  "move them with .to('cuda') or .cpu()")
    return xps.pop()


def explain_failure(op, vals, attrs, error):
    """Turn an error from inside a forward into one that names the op and the shapes."""
    from .errors import CompgraphError
    if isinstance(error, CompgraphError):
        return error                 # already says what is wrong
    shapes = [np.shape(v) for v in vals]
    if op.shape is not None:
        try:
            op.shape(*shapes, **attrs)
        except CompgraphError as e:
            return e
        except Exception:
            pass
    desc = ", ".join(f"{fmt(s)} {getattr(v, 'dtype', '')}" for s, v in zip(shapes, vals))
    cls = BoundsError if isinstance(error, IndexError) else ShapeError
    return cls(f"{op.name} failed on operands {desc}: {error}")


def check_finite(op, value, phase):
    xp = xp_of(value)
    if value.dtype.kind in "fc" and not bool(xp.all(xp.isfinite(value))):
        raise AnomalyError(f"detect_anomaly: {op.name} produced NaN or Inf in its {phase} "
                           f"(output shape {fmt(value.shape)})")


def index_array(x, what="a tensor used as an index"):
    """An index (tensor, list, array) as an array of its own: the op keeps it as an attribute
    for its backward, so a later change to the caller's array must not reach it; and under
    compile() a tensor index is data that a replay could not update, so it is refused."""
    if isinstance(x, Tensor):
        x._concrete(what)
        return x._value.copy()
    if isinstance(x, np.ndarray):
        return x.copy()
    return np.asarray(x)


def _raw_index(index):
    """A user's index with tensors and lists replaced by integer (or boolean) arrays."""
    if not isinstance(index, tuple):
        index = (index,)
    return tuple(index_array(i) if isinstance(i, (Tensor, list, np.ndarray)) else i
                 for i in index)
