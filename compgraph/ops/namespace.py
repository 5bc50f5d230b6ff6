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
    return s / n if n else np.mean(a, axis=axis, keepdims=keepdims)


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


_namespaces = {}


def array_namespace(xp):
    ns = _namespaces.get(xp)
    if ns is None:
        ns = _namespaces[xp] = ArrayNamespace(xp)
    return ns
