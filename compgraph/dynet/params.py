"""ParameterCollection (Model), Parameters, LookupParameters and DyNet's initializers.

Parameters live outside any graph: each holds its float32 array and a gradient array of
the same shape.  parameter(p) (or using p in an expression) puts a leaf sharing that array
into the current graph; backward adds the leaf's gradient to p's; a trainer's update()
applies and zeroes it.  A lookup table also remembers which rows got gradients, so that
trainers touch only those rows (DyNet's sparse updates).
"""
import math

import numpy as np

from .. import io
from ..errors import ArgumentError, DTypeError, ShapeError
from ..random import generator
from . import expr as _expr
from .graph import cg

_F32 = np.float32


# --- initializers -------------------------------------------------------------------------------

class Initializer:
    def init(self, shape, is_lookup=False):
        raise NotImplementedError


class NormalInitializer(Initializer):
    def __init__(self, mean=0.0, var=1.0):
        self.mean, self.var = mean, var

    def init(self, shape, is_lookup=False):
        return generator().normal(self.mean, math.sqrt(self.var), shape)


class UniformInitializer(Initializer):
    def __init__(self, scale):
        self.scale = scale

    def init(self, shape, is_lookup=False):
        return generator().uniform(-self.scale, self.scale, shape)


class ConstInitializer(Initializer):
    def __init__(self, c):
        self.c = c

    def init(self, shape, is_lookup=False):
        return np.full(shape, self.c)


class GlorotInitializer(Initializer):
    """Uniform in +-gain*sqrt(6 / (sum of the dims)); a lookup table uses its row size."""

    def __init__(self, is_lookup=False, gain=1.0):
        self.is_lookup, self.gain = is_lookup, gain

    def init(self, shape, is_lookup=False):
        dims = shape[1:] if (is_lookup or self.is_lookup) else shape
        scale = self.gain * math.sqrt(3.0 * len(dims) / max(sum(dims), 1))
        return generator().uniform(-scale, scale, shape)


class SaxeInitializer(Initializer):
    """A random orthogonal matrix (Saxe et al.), times scale."""

    def __init__(self, scale=1.0):
        self.scale = scale

    def init(self, shape, is_lookup=False):
        if len(shape) != 2:
            raise ShapeError("SaxeInitializer: only matrices can be orthogonal")
        a = generator().normal(0.0, 1.0, (max(shape), min(shape)))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        return self.scale * (q if shape[0] >= shape[1] else q.T)


class NumpyInitializer(Initializer):
    def __init__(self, array):
        self.array = np.asarray(array)

    def init(self, shape, is_lookup=False):
        if self.array.shape != tuple(shape):
            raise ShapeError(f"NumpyInitializer: array of shape {self.array.shape} for a "
                             f"parameter of shape {tuple(shape)}")
        return self.array


def _initial(shape, init, scale, is_lookup):
    if init is None:
        arr = GlorotInitializer(is_lookup).init(shape, is_lookup) * scale
    elif isinstance(init, Initializer):
        arr = init.init(shape, is_lookup)
    elif isinstance(init, (int, float)):
        arr = np.full(shape, init)
    else:
        arr = NumpyInitializer(init).init(shape, is_lookup)
    return np.array(arr, dtype=_F32)


# --- parameters ---------------------------------------------------------------------------------

class _Arithmetic:
    """Parameters in expressions stand for their node in the current graph (DyNet 2)."""

    def __add__(self, o): return self.expr(True) + o            # noqa: E704
    def __radd__(self, o): return o + self.expr(True)           # noqa: E704
    def __sub__(self, o): return self.expr(True) - o            # noqa: E704
    def __rsub__(self, o): return o - self.expr(True)           # noqa: E704
    def __mul__(self, o): return self.expr(True) * o            # noqa: E704
    def __rmul__(self, o): return o * self.expr(True)           # noqa: E704
    def __truediv__(self, o): return self.expr(True) / o        # noqa: E704
    def __neg__(self): return -self.expr(True)                  # noqa: E704


class Parameters(_Arithmetic):
    def __init__(self, value, name):
        self._value = value
        self._grad = np.zeros_like(value)
        self._name = name
        self._updated = True

    def expr(self, update=False):
        """The parameter as a node; DyNet 2.1's default is a constant one (update=False),
        the parameter itself used as an expression is trainable."""
        return cg().param_node(self, update and self._updated)

    def shape(self):
        return self._value.shape

    def name(self):
        return self._name

    def as_array(self):
        return self._value.copy()

    npvalue = as_array

    def grad_as_array(self):
        return self._grad.copy()

    def set_value(self, arr):
        arr = np.asarray(arr, dtype=_F32)
        if arr.shape != self._value.shape:
            raise ShapeError(f"set_value: shape {arr.shape} for a parameter of shape {self._value.shape}")
        self._value[...] = arr          # in place: graphs holding this array see the change

    def zero(self):
        self._value[...] = 0

    def scale(self, s):
        self._value *= s

    def scale_gradient(self, s):
        self._grad *= s

    def clip_inplace(self, left, right):
        np.clip(self._value, left, right, out=self._value)

    def is_updated(self):
        return self._updated

    def set_updated(self, b):
        self._updated = bool(b)

    def _add_grad(self, g):
        self._grad += g

    def _grad_rows(self):
        """(value, gradient) pairs a trainer updates: the whole array."""
        return self._value, self._grad, None

    def _zero_grad(self):
        self._grad[...] = 0

    def __repr__(self):
        return f"<Parameters {self._name} {self._value.shape}>"


class LookupParameters(_Arithmetic):
    def __init__(self, value, name):
        self._value = value
        self._grad = np.zeros_like(value)
        self._name = name
        self._updated = True
        self._touched = set()
        self._all_touched = False

    def __getitem__(self, i):
        if i.__class__ is not int or not 0 <= i < self._value.shape[0]:
            i = self._row(i, "lookup")
        return cg().lookup_node(self, i)

    def batch(self, ids):
        return _expr.lookup_batch(self, ids)

    def expr(self, update=True):
        """The whole table as one matrix node (DyNet's parameter(lookup_parameters))."""
        return cg().param_node(self, update and self._updated)

    def shape(self):
        return self._value.shape

    def name(self):
        return self._name

    def init_from_array(self, arr):
        arr = np.asarray(arr, dtype=_F32)
        if arr.shape != self._value.shape:
            raise ShapeError(f"init_from_array: shape {arr.shape} for a table of shape {self._value.shape}")
        self._value[...] = arr

    def init_row(self, i, row):
        i = self._row(i, "init_row")
        row = np.asarray(row, dtype=_F32)
        if row.shape != self._value.shape[1:]:
            raise ShapeError(f"init_row: a row of shape {row.shape} for the table {self._name} "
                             f"of shape {self._value.shape} (rows of shape {self._value.shape[1:]})")
        self._value[i] = row

    def as_array(self):
        return self._value.copy()

    npvalue = as_array

    def grad_as_array(self):
        return self._grad.copy()

    def _row(self, i, fn):
        return _expr._index(i, self._value.shape[0], fn, "row id", _expr._table(self))

    def row_as_array(self, i):
        return self._value[self._row(i, "row_as_array")].copy()

    def rows_as_array(self, ids):
        return self._value[_expr._ids(ids, self._value.shape[0], "rows_as_array", "row id",
                                      _expr._table(self))].copy()

    def row_grad_as_array(self, i):
        return self._grad[self._row(i, "row_grad_as_array")].copy()

    def zero(self):
        self._value[...] = 0

    def scale(self, s):
        self._value *= s

    def scale_gradient(self, s):
        self._grad *= s

    def is_updated(self):
        return self._updated

    def set_updated(self, b):
        self._updated = bool(b)

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
        return f"<LookupParameters {self._name} {self._value.shape}>"


def _dims(dim, fn):
    return _expr._shape(dim, fn)


class ParameterCollection:
    """DyNet's ParameterCollection (Model): parameters, lookup tables, subcollections."""

    def __init__(self, name="/"):
        self._name = name
        self._params = []          # Parameters and LookupParameters, in creation order
        self._subs = []
        self._counter = 0

    def _new_name(self, name):
        base = name or "_"
        full = f"{self._name}{base}_{self._counter}"
        self._counter += 1
        return full

    def add_parameters(self, dim, init=None, name="", device="", scale=1.0):
        shape = _dims(dim, "add_parameters")
        p = Parameters(_initial(shape, init, scale, False), self._new_name(name))
        self._params.append(p)
        return p

    def add_lookup_parameters(self, dim, init=None, name="", device="", scale=1.0):
        shape = _dims(dim, "add_lookup_parameters")
        if len(shape) < 2:
            raise ShapeError(f"add_lookup_parameters: dims (rows, row size), got {shape}")
        lp = LookupParameters(_initial(shape, init, scale, True), self._new_name(name))
        self._params.append(lp)
        return lp

    def add_subcollection(self, name=None):
        sub = ParameterCollection(f"{self._name}{name or 'sub'}_{self._counter}/")
        self._counter += 1
        self._subs.append(sub)
        return sub

    def _all(self):
        out = list(self._params)
        for s in self._subs:
            out.extend(s._all())
        return out

    def parameters_list(self):
        return [p for p in self._all() if isinstance(p, Parameters)]

    def lookup_parameters_list(self):
        return [p for p in self._all() if isinstance(p, LookupParameters)]

    def name(self):
        return self._name

    def parameter_count(self):
        return sum(p._value.size for p in self._all())

    # --- files ---------------------------------------------------------------------------------
    def save(self, path):
        """Every parameter's name, kind and value, as a compgraph checkpoint (npz + JSON)."""
        ps = self._all()
        io.save({"format": "compgraph-dynet/1",
                 "names": [p._name for p in ps],
                 "kinds": ["lookup" if isinstance(p, LookupParameters) else "param" for p in ps],
                 "values": [p._value for p in ps]}, path)

    def populate(self, path, key=""):
        """Load values saved by save() into this collection's parameters, in order.

        All or nothing: every entry is checked against its parameter (kind, shape, dtype)
        before any value is copied, so a file that does not fit leaves the model as it was."""
        data = io.load(path)
        if not isinstance(data, dict) or data.get("format") != "compgraph-dynet/1":
            raise ArgumentError(f"populate: {path} is not a saved ParameterCollection")
        names, kinds, values = data.get("names"), data.get("kinds"), data.get("values")
        if not (isinstance(names, list) and isinstance(kinds, list) and isinstance(values, list)
                and len(names) == len(kinds) == len(values)):
            raise ArgumentError(f"populate: {path} is damaged (its names, kinds and values "
                                f"do not match up)")
        ps = self._all()
        entries = [(n, k, v) for n, k, v in zip(names, kinds, values)
                   if isinstance(n, str) and n.startswith(key)]
        if len(entries) != len(ps):
            raise ShapeError(f"populate: {path} holds {len(entries)} parameters"
                             f"{f' under {key!r}' if key else ''}, this collection has {len(ps)}")
        checked = []
        for p, (n, kind, v) in zip(ps, entries):
            v = np.asarray(v)
            want = "lookup" if isinstance(p, LookupParameters) else "param"
            if kind != want or v.shape != p._value.shape:
                raise ShapeError(f"populate: {n} is a {kind} of shape {v.shape}, but "
                                 f"{p._name} is a {want} of shape {p._value.shape}; "
                                 f"nothing was loaded")
            if v.dtype.kind not in "fiu":
                raise DTypeError(f"populate: {n} holds {v.dtype} values, {p._name} needs "
                                 f"numbers (float32); nothing was loaded")
            checked.append((p, v))
        for p, v in checked:
            p._value[...] = v

    def __repr__(self):
        return f"<ParameterCollection {self._name} with {len(self._all())} parameters>"


Model = ParameterCollection
