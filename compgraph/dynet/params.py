"""ParameterCollection (Model), Parameters, LookupParameters and DyNet's initializers.

Parameters live outside any graph: each holds its float32 array and a gradient array of
the same shape.  Used in an expression (W * x, dy.parameter(W), W.value()) a parameter
stands for its node in the current graph; backward adds the node's gradient to the
parameter's; a trainer's update() applies and zeroes it.  A lookup table also remembers
which rows got gradients, so that trainers touch only those rows (DyNet's sparse updates).

Names are DyNet's: "/" for the root, "/_0", "/W", "/W_1" for parameters, "/enc/", "/_1/"
for subcollections (counters per collection, shared by parameters and lookup tables);
they are the keys of DyNet's model files (textfile.py), so files travel between the two.

A lookup table is stored with its rows first, (rows, *row dims), as DyNet's Python API shows
it (as_array, init_from_array); used whole as an expression it has DyNet's dims, the rows
last: dims (*row dims, rows).
"""
import math

import numpy as np

from .. import functional as F
from ..errors import ArgumentError, ArgumentValueError, DeviceError, ShapeError
from ..random import generator
from . import expr as _expr
from . import textfile
from .graph import _Current, cg

_F32 = np.float32


# --- initializers -------------------------------------------------------------------------------
# init(shape, is_lookup) returns the values in compgraph's layout (a lookup table rows first)

class Initializer:
    """DyNet's PyInitializer: the base of the initializer classes."""

    def init(self, shape, is_lookup=False):
        raise NotImplementedError


PyInitializer = Initializer


class NormalInitializer(Initializer):
    """N(mean, var): note DyNet's second argument is the variance."""

    def __init__(self, mean=0.0, var=1.0):
        self.mean, self.var = float(mean), float(var)

    def init(self, shape, is_lookup=False):
        return generator().normal(self.mean, math.sqrt(self.var), shape)


class UniformInitializer(Initializer):
    def __init__(self, scale):
        self.scale = float(scale)

    def init(self, shape, is_lookup=False):
        return generator().uniform(-self.scale, self.scale, shape)


class ConstInitializer(Initializer):
    def __init__(self, c):
        self.c = float(c)

    def init(self, shape, is_lookup=False):
        return np.full(shape, self.c)


class IdentityInitializer(Initializer):
    def init(self, shape, is_lookup=False):
        if is_lookup or len(shape) != 2 or shape[0] != shape[1]:
            raise ShapeError(f"IdentityInitializer: only a square matrix can be the identity, "
                             f"got dims {tuple(shape)}")
        return np.eye(shape[0])


class GlorotInitializer(Initializer):
    """U(+-gain*sqrt(3*k / sum of the k dims)), as DyNet's (for a matrix: sqrt(6/(m+n)));
    with is_lookup=True the last dim (a table's rows) is left out; a 4-d filter
    (H, W, In, Out) uses sqrt(6 / (H*W*(In+Out)))."""

    def __init__(self, is_lookup=False, gain=1.0):
        self.is_lookup, self.gain = bool(is_lookup), float(gain)

    def init(self, shape, is_lookup=False):
        # DyNet's dims of the values: a lookup table's rows come last; dy's default
        # initializer of a table is GlorotInitializer() and so counts the rows as a dim too
        dyn = tuple(shape[1:]) + (shape[0],) if is_lookup else tuple(shape)
        dims = dyn[:-1] if self.is_lookup else dyn
        if len(dims) == 4:
            scale = self.gain * math.sqrt(6.0) / math.sqrt(dims[0] * dims[1] * (dims[2] + dims[3]))
        else:
            scale = self.gain * math.sqrt(3.0 * len(dims)) / math.sqrt(max(sum(dims), 1))
        return generator().uniform(-scale, scale, shape)


class SaxeInitializer(Initializer):
    """A random orthogonal matrix (Saxe et al.), times scale."""

    def __init__(self, scale=1.0):
        self.scale = float(scale)

    def init(self, shape, is_lookup=False):
        if len(shape) != 2 or is_lookup:
            raise ShapeError(f"SaxeInitializer: only a matrix can be orthogonal, got dims {tuple(shape)}")
        a = generator().normal(0.0, 1.0, (max(shape), min(shape)))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        return self.scale * (q if shape[0] >= shape[1] else q.T)


def _column_major(values, shape, is_lookup, fn):
    """A flat list in DyNet's memory order (column-major; a lookup table's rows last) as an
    array in compgraph's layout."""
    values = np.asarray(values, dtype=_F32).reshape(-1)
    n = int(np.prod(shape))
    if values.size != n:
        raise ShapeError(f"{fn}: {values.size} values for a parameter of shape {tuple(shape)} "
                         f"({n} values)")
    if is_lookup:
        dyn = tuple(shape[1:]) + (shape[0],)
        return np.moveaxis(values.reshape(dyn, order="F"), -1, 0)
    return values.reshape(shape, order="F")


class FromFileInitializer(Initializer):
    """Values from a text file of whitespace-separated numbers, in DyNet's (column-major) order."""

    def __init__(self, fname):
        self.fname = fname.decode() if isinstance(fname, bytes) else str(fname)

    def init(self, shape, is_lookup=False):
        with open(self.fname) as fh:
            try:
                values = [float(t) for t in fh.read().split()]
            except ValueError as e:
                raise ArgumentValueError(f"FromFileInitializer: {self.fname} holds something "
                                         f"that is not a number: {e}") from None
        return _column_major(values, shape, is_lookup, f"FromFileInitializer({self.fname!r})")


class NumpyInitializer(Initializer):
    def __init__(self, array):
        self.array = np.asarray(array)

    def init(self, shape, is_lookup=False):
        if self.array.shape != tuple(shape):
            # DyNet would pour the values in column by column whatever the shape: refuse
            raise ShapeError(f"NumpyInitializer: array of shape {self.array.shape} for a "
                             f"parameter of shape {tuple(shape)}")
        return self.array


def _initializer(init, dim, scale, mean, std, fn):
    """DyNet's add_parameters `init`: None (Glorot), a number, a name or an initializer."""
    if init is None:
        return GlorotInitializer()
    if isinstance(init, (bool, np.bool_)):
        raise ArgumentError(f"{fn}: init={init!r} is not an initializer")
    if isinstance(init, (int, float, np.integer, np.floating)):
        return ConstInitializer(init)
    if isinstance(init, str):
        named = {"identity": IdentityInitializer,
                 "glorot": GlorotInitializer,
                 # DyNet's 'he': variance 1/(2 * the last dim)
                 "he": lambda: NormalInitializer(0.0, 1.0 / (2 * dim[-1])),
                 "uniform": lambda: UniformInitializer(scale),
                 "normal": lambda: NormalInitializer(mean, std * std)}
        if init not in named:
            raise ArgumentValueError(f"{fn}: unknown initializer {init!r} (DyNet knows "
                                     f"{', '.join(repr(k) for k in named)})")
        return named[init]()
    if isinstance(init, Initializer):
        return init
    raise ArgumentError(f"{fn}: init must be None, a number, a name ('uniform', 'normal', "
                        f"'identity', 'glorot', 'he'), a NumPy array or an initializer, got "
                        f"{type(init).__name__}")


def _dims(dim, fn):
    if isinstance(dim, np.ndarray):
        raise ArgumentError(f"{fn}: the first argument is the dims; pass an array as init=")
    return _expr._shape(dim, fn)


# --- parameters ---------------------------------------------------------------------------------

def _method(name):
    def method(self, *args, **kw):
        return getattr(self._node(), name)(*args, **kw)
    method.__name__ = name
    method.__doc__ = f"The parameter's node in the current graph: Expression.{name}."
    return method


def _writes(method):
    """A method that changes the parameter's array in place: the current graph's nodes
    that a forward has reached keep the values they computed, the others read the new
    ones (DyNet copies a parameter into its node when the node is computed; graph.hold)."""
    def write(self, *args, **kw):
        g = _Current.cg
        if g is not None:
            g.hold((self,))
        out = method(self, *args, **kw)
        if g is not None:
            g.reread((self,))
        return out
    write.__name__, write.__doc__ = method.__name__, method.__doc__
    return write


class _AsExpression:
    """DyNet's Parameters and LookupParameters are Expressions: in arithmetic, value(),
    forward() and the rest they stand for their node in the current graph (updated)."""
    _flat = None          # a Parameters in a FlatStore: (store, offset)

    def _node(self):
        return self.expr(True)

    def __add__(self, o): return self._node() + o            # noqa: E704
    def __radd__(self, o): return o + self._node()           # noqa: E704
    def __sub__(self, o): return self._node() - o            # noqa: E704
    def __rsub__(self, o): return o - self._node()           # noqa: E704
    def __mul__(self, o): return self._node() * o            # noqa: E704
    def __rmul__(self, o): return o * self._node()           # noqa: E704
    def __truediv__(self, o): return self._node() / o        # noqa: E704
    def __neg__(self): return -self._node()                  # noqa: E704

    value = _method("value")
    npvalue = _method("npvalue")

    def forward(self, recalculate=False):
        """Compute the node; returns None, as DyNet's."""
        self._node().forward(recalculate)
    scalar_value = _method("scalar_value")
    vec_value = _method("vec_value")
    tensor_value = _method("tensor_value")
    gradient = _method("gradient")
    backward = _method("backward")
    dim = _method("dim")

    def name(self):
        return self._name

    def is_updated(self):
        return self._updated

    def set_updated(self, b):
        """False: trainers leave the parameter as it is (its gradient is still computed,
        as in DyNet)."""
        self._updated = bool(b)

    @_writes
    def zero(self):
        self._value[...] = 0

    @_writes
    def scale(self, s):
        self._value *= _F32(s)

    @_writes
    def _assign(self, arr):
        """The whole array from arr (of its shape), in place."""
        self._value[...] = arr

    def scale_gradient(self, s):
        self._grad *= _F32(s)

    # float64 copies, as DyNet's (its arrays convert the float32 storage)
    def as_array(self):
        return self._value.astype(np.float64)

    def grad_as_array(self):
        return self._grad.astype(np.float64)

    def _has_grad(self):
        return bool(self._grad.any())

    # DyNet's model files (textfile.py): one parameter under its name, or under `key`
    def save(self, fname, key="", append=False):
        textfile.save(fname, [(key or self._name, self)], append)

    write_to_textfile = save

    def populate(self, fname, key=""):
        textfile.populate_one(fname, self, key)

    populate_from_textfile = populate


class Parameters(_AsExpression):
    def __init__(self, value, name, owner=None):
        self._value = value
        self._grad = np.zeros_like(value)
        self._name = name
        self._owner = owner
        self._updated = True
        self._flat = None          # (FlatStore, offset) once its arrays are the store's views

    def expr(self, update=False):
        """The node of this parameter in the current graph; DyNet 2.1's default update=False
        is a constant (dy.const_parameter); used directly in an expression it is updated."""
        g = _Current.cg
        return (g if g is not None else cg()).param_node(self, update is True or bool(update))

    def shape(self):
        return self._value.shape

    def __getitem__(self, index):
        return self._node()[index]

    @_writes
    def set_value(self, arr):
        arr = np.asarray(arr, dtype=_F32)
        if arr.shape != self._value.shape:
            raise ShapeError(f"set_value: shape {arr.shape} for the parameter {self._name} of "
                             f"shape {self._value.shape}")
        self._value[...] = arr

    @_writes
    def clip_inplace(self, left, right):
        np.clip(self._value, left, right, out=self._value)

    def _add_grad(self, g):
        self._grad += g

    def _grad_rows(self):
        """(value, gradient) pairs a trainer updates: the whole array."""
        return self._value, self._grad, None

    def _zero_grad(self):
        self._grad.fill(0)

    def __repr__(self):
        return f"Parameter {self._name}"


class LookupParameters(_AsExpression):
    def __init__(self, value, name, owner=None):
        self._value = value
        self._grad = np.zeros_like(value)
        self._name = name
        self._owner = owner
        self._updated = True
        self._touched = set()
        self._all_touched = False
        self._whole = (None, None, None)       # (graph, update, node) of the whole table

    def __getitem__(self, i):
        if i.__class__ is not int or not 0 <= i < self._value.shape[0]:
            i = self._row(i, "lookup")
        return cg().lookup_node(self, i)

    def __len__(self):
        return self._value.shape[0]

    def batch(self, ids):
        return _expr.lookup_batch(self, ids)

    def expr(self, update=True):
        """The whole table as one node, with DyNet's dims: (*row dims, rows)."""
        update = bool(update)
        g = _Current.cg if _Current.cg is not None else cg()
        graph, upd, node = self._whole
        if graph is not g or upd is not update:
            leaf = g.param_node(self, update)
            node = F.permute_dims(leaf, tuple(range(1, leaf.ndim)) + (0,))
            self._whole = (g, update, node)
        return node

    def shape(self):
        return self._value.shape

    @_writes
    def init_from_array(self, arr):
        """Set the first len(arr) rows (as DyNet: a table may get fewer rows than it has)."""
        arr = np.asarray(arr, dtype=_F32)
        rows = self._value.shape
        if arr.ndim != len(rows) or arr.shape[1:] != rows[1:] or arr.shape[0] > rows[0]:
            raise ShapeError(f"init_from_array: an array of shape {arr.shape} for the table "
                             f"{self._name} of shape {rows} (want up to {rows[0]} rows of "
                             f"shape {rows[1:]})")
        self._value[:arr.shape[0]] = arr

    @_writes
    def init_row(self, i, row):
        """Row i from an array of the row's shape, or a flat list in DyNet's (column-major)
        order."""
        i = self._row(i, "init_row")
        row = np.asarray(row, dtype=_F32)
        dims = self._value.shape[1:]
        if row.shape != dims:
            if row.ndim != 1 or row.size != int(np.prod(dims)):
                raise ShapeError(f"init_row: a row of shape {row.shape} for the table "
                                 f"{self._name} of shape {self._value.shape} (rows of shape {dims})")
            row = row.reshape(dims, order="F")
        self._value[i] = row

    def _row(self, i, fn):
        return _expr._index(i, self._value.shape[0], fn, "row id", _expr._table(self))

    def _rows(self, ids, fn):
        return _expr._ids(ids, self._value.shape[0], fn, "row id", _expr._table(self))

    def row_as_array(self, i):
        return self._value[self._row(i, "row_as_array")].astype(np.float64)

    def rows_as_array(self, ids):
        return self._value[self._rows(ids, "rows_as_array")].astype(np.float64)

    def row_grad_as_array(self, i):
        return self._grad[self._row(i, "row_grad_as_array")].astype(np.float64)

    def rows_grad_as_array(self, ids):
        return self._grad[self._rows(ids, "rows_grad_as_array")].astype(np.float64)

    def scalar_value(self, recalculate=False):
        raise ArgumentError("scalar_value not applicable for LookupParameters (as in DyNet)")

    def _add_grad(self, ids, g=None):
        if g is None:                    # the whole table was used as a matrix
            self._grad += ids
            self._all_touched = True
        elif isinstance(ids, int):
            self._grad[ids] += g
            self._touched.add(ids)
        else:
            np.add.at(self._grad, ids, g)
            self._touched.update(ids.tolist())

    def _grad_rows(self):
        if self._all_touched:
            return self._value, self._grad, None
        rows = np.fromiter(self._touched, np.int64, len(self._touched))
        rows.sort()
        return self._value, self._grad, rows

    def _zero_grad(self):
        if self._all_touched:
            self._grad[...] = 0
        elif self._touched:
            self._grad[np.fromiter(self._touched, np.int64, len(self._touched))] = 0
        self._touched.clear()
        self._all_touched = False

    def __repr__(self):
        return f"LookupParameter {self._name}"


# --- the flat store of a collection's dense parameters ---------------------------------------------

class FlatStore:
    """The dense parameters of a root collection, their values and gradients as views of two
    flat float32 arrays, in creation order: a trainer updates every one of them with one
    NumPy call per step of its rule, zeroes their gradients with one fill and takes the
    clipping norm with one dot, where a loop per parameter pays Python's and NumPy's call
    overhead per parameter (most of the update of a small network: xor's 2-2-1 has four).

    Each parameter's _value and _grad stay ordinary arrays of its shape (views), written in
    place by set_value, populate and backward, so nothing outside sees the difference.  An
    update does not write the values in place: the rule's result is a new flat array, and
    rebind() points each parameter at its piece of it -- so whatever holds the old arrays
    (the current graph's nodes, an autobatched graph's saved operands) keeps the values a
    forward read, as DyNet's nodes do (graph.hold / reread), without a copy.  The gradients
    stay in place.  A parameter updated on its own (a trainer of a subcollection, or with a
    frozen neighbour) gets a new array of its own, which ready() gathers back; one whose
    arrays were replaced by something else (another dtype, shape or layout) leaves the
    store.  Only C-ordered float32 arrays join (a Fortran-ordered array from
    parameters_from_numpy keeps its layout, which the products' roundings depend on)."""

    def __init__(self):
        self.params = []               # in buffer order
        self.param_set = set()
        self._layout = []              # (start, end, shape, is a vector), per parameter
        self._views = []               # the arrays each parameter should hold: _value, _grad
        self._gviews = []
        self.size = 0
        # the buffers parameters are added into (they grow by doubling); after an update the
        # values are the rule's array, without room (_vbuf None: the next add makes room)
        self._vbuf = self._gbuf = np.zeros(0, _F32)
        self.values = self.grads = self._vbuf[:0]      # the used part: [:size]

    @staticmethod
    def _fits(p, shape=None):
        v, g = p._value, p._grad
        return (v.__class__ is np.ndarray and g.__class__ is np.ndarray and v.dtype == _F32
                and g.dtype == _F32 and v.shape == g.shape and v.flags.c_contiguous
                and (shape is None or v.shape == shape))

    def add(self, p):
        """Move p's arrays into the buffers; False when p keeps its own (see above)."""
        if not self._fits(p):
            return False
        self.params.append(p)
        self.param_set.add(p)
        self._lay_out()
        room = self._vbuf is None or self.size > self._vbuf.size
        self._gather(max(2 * self._gbuf.size, self.size, 64) if room else None)
        return True

    def _lay_out(self):
        """Each parameter's place in the buffers, one after the other."""
        self._layout, start = [], 0
        for p in self.params:
            v = p._value
            self._layout.append((start, start + v.size, v.shape, v.ndim == 1))
            p._flat = (self, start)
            start += v.size
        self.size = start

    def _gather(self, room=None):
        """Every parameter's arrays copied into the buffers (new ones of `room` elements, or
        the present ones) and replaced by views of them."""
        if room is not None:
            self._vbuf, self._gbuf = np.zeros(room, _F32), np.zeros(room, _F32)
        vbuf, gbuf = self._vbuf, self._gbuf
        self._views, self._gviews = [], []
        for p, (start, end, shape, _) in zip(self.params, self._layout):
            v, g = vbuf[start:end].reshape(shape), gbuf[start:end].reshape(shape)
            v[...], g[...] = p._value, p._grad
            p._value, p._grad = v, g
            self._views.append(v)
            self._gviews.append(g)
        self.values, self.grads = vbuf[:self.size], gbuf[:self.size]

    def ready(self):
        """Whether every parameter holds its views of the buffers, after gathering those a
        trainer updated on their own; a parameter whose arrays were replaced by others that
        do not fit leaves the store (and makes this False: the collection's trainer then
        updates each parameter on its own)."""
        for p, v, g in zip(self.params, self._views, self._gviews):
            if p._value is not v or p._grad is not g:
                break
        else:
            return True
        stay = [p for p, lay in zip(self.params, self._layout) if self._fits(p, lay[2])]
        gone = len(stay) != len(self.params)
        if gone:
            for p in self.params:
                p._flat = None
            self.params, self.param_set = stay, set(stay)
            self._lay_out()
        self._gather(max(self.size, 64))
        return not gone

    def rebind(self, values):
        """Every parameter's value becomes its piece of `values` (a new flat array)."""
        self.values, self._vbuf = values, None
        views = self._views = []
        for p, (start, end, shape, vector) in zip(self.params, self._layout):
            p._value = v = values[start:end] if vector else values[start:end].reshape(shape)
            views.append(v)


# --- the collection -----------------------------------------------------------------------------

def _device(device, fn):
    """DyNet's device names: "CPU" (or "", the default) is the only one without a GPU."""
    if device not in ("", "CPU"):
        raise DeviceError(f"{fn}: invalid device name {device!r}: compgraph.dynet computes on "
                          f"the CPU only (device='CPU' or none; DyNet without GPUs refuses "
                          f"{device!r} too)")


def _valid_name(name, what, fn):
    if not isinstance(name, str):
        raise ArgumentError(f"{fn}: the name must be a string, got {type(name).__name__}")
    if "/" in name or "_" in name:
        # as DyNet: '/' separates the hierarchy and '_' the running index
        raise ArgumentValueError(f"{fn}: {what} name {name!r} could not include '/' and '_'")
    if " " in name or "#" in name:
        raise ArgumentValueError(f"{fn}: {what} name {name!r} could not include ' ' or '#' "
                                 f"(they delimit DyNet's model files)")
    return name


class ParameterCollection:
    """DyNet's ParameterCollection (Model): parameters, lookup tables, subcollections.

    Each (sub)collection holds its parameters and those of all the collections below it, in
    the order they were made (DyNet's order: of files, of parameters_list())."""

    def __init__(self, parent=None):
        if parent is not None and not isinstance(parent, ParameterCollection):
            raise ArgumentError(f"ParameterCollection: parent must be a ParameterCollection, "
                                f"got {type(parent).__name__}")
        self._name = "/"
        self._parent = None
        self._members = []            # Parameters and LookupParameters, creation order
        self._name_cntr = {}          # parameter name -> next index
        self._collec_cntr = {}        # subcollection name -> next index
        self._weight_decay = 0.0
        self._store = FlatStore()     # a subcollection's parameters join its root's
        self._dense = 0               # Parameters among the members (of a root collection)
        self._tables = []             # the LookupParameters among the members

    def _unique(self, name, counter):
        idx = counter.get(name, 0)
        counter[name] = idx + 1
        return f"{self._name}{name}" + (f"_{idx}" if idx > 0 or not name else "")

    def _add(self, p):
        table = p.__class__ is LookupParameters
        c = self
        while True:
            c._members.append(p)
            if table:
                c._tables.append(p)
            if c._parent is None:
                break
            c = c._parent
        if p.__class__ is Parameters:
            c._dense += 1
            c._store.add(p)
        return p

    def _flat_store(self):
        """The store holding every dense parameter of this collection, ready to be updated
        at once, or None: a subcollection's share its root's buffers with the others', and
        a parameter that kept its own array (see FlatStore) is outside it."""
        if self._parent is not None:
            return None
        store = self._store
        if len(store.params) != self._dense or not store.ready():
            return None
        return store

    def add_parameters(self, dim, init=None, name="", device="", scale=1.0, mean=0.0, std=1.0):
        _device(device, "add_parameters")
        if isinstance(init, np.ndarray):
            return self.parameters_from_numpy(init, name=name, device=device)
        shape = _dims(dim, "add_parameters")
        _valid_name(name, "Parameter", "add_parameters")
        pyinit = _initializer(init, shape, scale, mean, std, "add_parameters")
        value = np.array(pyinit.init(shape, False), dtype=_F32)
        return self._add(Parameters(value, self._unique(name, self._name_cntr), self))

    def add_lookup_parameters(self, dim, init=None, name="", device="", scale=1.0, mean=0.0,
                              std=1.0):
        _device(device, "add_lookup_parameters")
        if isinstance(init, np.ndarray):
            return self.lookup_parameters_from_numpy(init, name=name, device=device)
        if isinstance(dim, (int, np.integer)) and not isinstance(dim, (bool, np.bool_)):
            dim = (dim, 1)
        shape = _dims(dim, "add_lookup_parameters")
        if len(shape) < 2:
            raise ShapeError(f"add_lookup_parameters: dims (rows, row size), got {shape}")
        _valid_name(name, "LookupParameter", "add_lookup_parameters")
        if isinstance(init, NumpyInitializer):
            raise ArgumentValueError("add_lookup_parameters: do not use NumpyInitializer with "
                                     "add_lookup_parameters, use lookup_parameters_from_numpy "
                                     "instead (as in DyNet)")
        pyinit = _initializer(init, shape[1:], scale, mean, std, "add_lookup_parameters")
        value = np.array(pyinit.init(shape, True), dtype=_F32)
        return self._add(LookupParameters(value, self._unique(name, self._name_cntr), self))

    def parameters_from_numpy(self, array, name="", device=""):
        _device(device, "parameters_from_numpy")
        array = np.asarray(array)
        if array.ndim == 0 or array.size == 0:
            raise ShapeError(f"parameters_from_numpy: need an array with dims, got shape {array.shape}")
        _valid_name(name, "Parameter", "parameters_from_numpy")
        return self._add(Parameters(np.array(array, dtype=_F32),
                                    self._unique(name, self._name_cntr), self))

    def lookup_parameters_from_numpy(self, array, name="", device=""):
        """A table from an array of shape (rows, *row dims)."""
        _device(device, "lookup_parameters_from_numpy")
        array = np.asarray(array)
        if array.ndim < 2 or array.size == 0:
            raise ShapeError(f"lookup_parameters_from_numpy: need an array (rows, row dims...), "
                             f"got shape {array.shape}")
        _valid_name(name, "LookupParameter", "lookup_parameters_from_numpy")
        value = np.array(array, dtype=_F32)
        if array.ndim > 2:
            # DyNet 2.1.2 swaps the first and last axes and pours the result in column by
            # column: rows of more than one dim come out rearranged there; do the same, so
            # that a program's tables hold what they hold in DyNet
            flat = np.swapaxes(array, 0, array.ndim - 1).reshape(-1, order="F")
            value = _column_major(flat, array.shape, True, "lookup_parameters_from_numpy")
        return self._add(LookupParameters(value, self._unique(name, self._name_cntr), self))

    def add_subcollection(self, name=None, weight_decay_lambda=-1.0):
        name = name or ""
        _valid_name(name, "Submodel", "add_subcollection")
        sub = ParameterCollection()
        sub._name = self._unique(name, self._collec_cntr) + "/"
        sub._parent = self
        sub._store = None
        sub._weight_decay = self._weight_decay if weight_decay_lambda < 0 else float(weight_decay_lambda)
        return sub

    def _all(self):
        return list(self._members)

    def parameters_list(self):
        return [p for p in self._members if isinstance(p, Parameters)]

    def lookup_parameters_list(self):
        return list(self._tables)

    def name(self):
        return self._name

    def parameter_count(self):
        return sum(p._value.size for p in self._members)

    def get_weight_decay(self):
        return self._weight_decay

    def set_weight_decay(self, lam):
        if isinstance(lam, bool) or not isinstance(lam, (float, int, np.floating, np.integer)) or lam < 0:
            raise ArgumentValueError(f"set_weight_decay: lambda must be a number >= 0, got {lam!r}")
        self._weight_decay = float(lam)

    set_weight_decay_lambda = set_weight_decay

    # --- DyNet's model files (textfile.py) ---------------------------------------------------
    def save(self, fname, name="", append=False):
        """Every parameter, then every lookup table, in DyNet's text format; with `name`
        (a key starting with '/'), saved under that prefix instead of this collection's."""
        if name and (not name.startswith("/") or " " in name or "#" in name):
            raise ArgumentValueError(f"save: key should start with '/' and could not include "
                                     f"' ' or '#': {name!r}")
        prefix = name + ("" if not name or name.endswith("/") else "/")
        entries = [(prefix + p._name[len(self._name):] if name else p._name, p)
                   for p in self.parameters_list() + self.lookup_parameters_list()]
        textfile.save(fname, entries, append)

    write_to_textfile = save

    def populate(self, fname, key=""):
        """Load the values of this collection's parameters from a DyNet model file (the
        entries under `key`, in order), all or nothing."""
        textfile.populate_collection(fname, self, key)

    populate_from_textfile = populate

    def load_param(self, fname, key):
        """Add the parameter saved under the full name `key` to this collection."""
        return textfile.load_one(fname, self, key, Parameters)

    def load_lookup_param(self, fname, key):
        return textfile.load_one(fname, self, key, LookupParameters)

    def __repr__(self):
        return f"<ParameterCollection {self._name} with {len(self._members)} parameters>"


Model = ParameterCollection
