"""The `xp` that forwards and VJPs receive: an array module plus the table's own ops.

For NumPy it is numpy itself with two changes: the table's ops that NumPy lacks (sigmoid,
softmax, scatter_add, ...) are added, bound to this module; and the reductions go straight
to the ufunc's reduce, skipping numpy.sum's Python-level wrapper, which costs more than the
reduction itself on the small arrays of a per-example training loop.
"""
from functools import partial

import numpy as np


class ArrayNamespace:
    def __init__(self, xp):
        from .table import OPS
        self._xp = xp
        self.is_numpy = xp is np
        for name, op in OPS.items():
            # only where the module has no function of that name: forwards call
            # xp.clip, xp.dot, ... and mean the module's own
            if not hasattr(xp, name) and op.fwd is not None:
                setattr(self, name, partial(op.fwd, self))
        self.permute_dims = lambda a, axes: xp.transpose(a, axes)
        if xp is np:
            self.sum = _reduction(np.add)
            self.max = _reduction(np.maximum)
            self.min = _reduction(np.minimum)
            self.mean = _mean
            self.broadcast_to = _broadcast_to
            self.expand_dims = _expand_dims
            self.reshape = _reshape

    def __getattr__(self, name):          # first use of a module function: cache it
        value = getattr(self._xp, name)
        setattr(self, name, value)
        return value


def _reduction(ufunc):
    reduce = ufunc.reduce

    def f(a, axis=None, keepdims=False):
        return reduce(a, axis=axis, keepdims=keepdims)
    return f


def _mean(a, axis=None, keepdims=False):
    s = np.add.reduce(a, axis=axis, keepdims=keepdims)
    n = a.size // max(s.size, 1) if a.size else 0
    if n:
        return s / n
    if s.dtype.kind == "f":              # the mean of nothing: nan, quietly, as PyTorch's
        return np.full_like(s, np.nan)
    return np.mean(a, axis=axis, keepdims=keepdims)


def _broadcast_to(a, shape):
    """np.broadcast_to, with a fast path for the common case of a reduced scalar (the
    gradient of sum/mean): a read-only stride-0 view made directly."""
    if a.__class__ is np.ndarray and a.size == 1 and a.flags.c_contiguous:
        view = np.ndarray(shape, a.dtype, a, 0, (0,) * len(shape))
        view.flags.writeable = False
        return view
    return np.broadcast_to(a, shape)


def _reshape(a, shape):
    return a.reshape(shape)


def _expand_dims(a, axis):
    """np.expand_dims for one axis, by indexing (numpy's own is a Python-level helper)."""
    axis = axis if axis >= 0 else a.ndim + 1 + axis
    return a[(slice(None),) * axis + (None,)]


class IndexedGrad:
    """A gradient that is zero except at some indices, kept as (index, values) pairs until
    someone needs it dense.  getitem's VJP makes one: taking T slices of one tensor (the
    time steps of a sequence) then costs O(T) in backward instead of T full-size zero
    arrays.  Only the backward sweep sees these; it makes them dense before any VJP reads."""
    __slots__ = ("shape", "dtype", "parts")
    __array_ufunc__ = None            # ndarray + IndexedGrad -> IndexedGrad.__radd__

    def __init__(self, shape, dtype, parts):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.parts = parts

    def __add__(self, other):
        if other.__class__ is IndexedGrad:
            return IndexedGrad(self.shape, np.result_type(self.dtype, other.dtype),
                               self.parts + other.parts)
        out = np.array(other, dtype=np.result_type(self.dtype, other.dtype), copy=True)
        return self._into(np.broadcast_to(out, self.shape).copy() if out.shape != self.shape else out)

    __radd__ = __add__

    def dense(self):
        return self._into(np.zeros(self.shape, self.dtype))

    def _into(self, out):
        from .shape import is_basic_index
        for index, values in self.parts:
            if is_basic_index(index):
                out[index] += values
            elif not _add_rows(out, index, values):
                np.add.at(out, index, values)
        return out


def _add_rows(out, index, values):
    """out[index] += values for an integer array `index` into rows (an embedding's gradient),
    repeated rows summed: one sort and one reduceat instead of np.add.at, 3-5x faster on
    hundreds of ids.  False (nothing done) for any other index."""
    if index.__class__ is tuple and len(index) == 1:
        index = index[0]
    if (index.__class__ is not np.ndarray or index.dtype.kind not in "iu" or index.size < 64
            or out.ndim < 1 or values.shape != index.shape + out.shape[1:]):
        return False
    ids = index.reshape(-1)
    if ids.dtype.kind == "i" and ids.min() < 0:
        ids = np.where(ids < 0, ids + out.shape[0], ids)     # -1 and n-1 are one row
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    first = np.empty(ids.size, bool)
    first[0] = True
    np.not_equal(ids[1:], ids[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    rows = values.reshape(ids.size, -1)[order]
    out.reshape(out.shape[0], -1)[ids[starts]] += np.add.reduceat(rows, starts, axis=0)
    return True


def _lazy_scatter_add(g, index, shape):
    return IndexedGrad(shape, g.dtype, [(index, g)])


_namespaces = {}


def array_namespace(xp):
    ns = _namespaces.get(xp)
    if ns is None:
        ns = _namespaces[xp] = ArrayNamespace(xp)
    return ns


_sweep_namespace = None


def sweep_namespace():
    """NumPy's namespace for the backward sweep: as array_namespace(np), but getitem's
    gradient stays an IndexedGrad until it is needed dense."""
    global _sweep_namespace
    if _sweep_namespace is None:
        _sweep_namespace = ArrayNamespace(np)
        _sweep_namespace.scatter_add = _lazy_scatter_add
    return _sweep_namespace
