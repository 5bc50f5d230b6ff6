"""Runs a reference case on a DyNet module -- real DyNet (generate.py) or compgraph.dynet
(test_reference.py) -- and returns its results as named float64 arrays.

A case is `fn(dy, ctx)`: it builds expressions from parameters made by ctx (so that it has
gradients to compare) and returns an expression, or a dict of expressions and plain
values.  For every returned expression the runner records npvalue() and dim(); then, unless
the case says grad=False, it runs backward on sum_batches(sum_elems(out * W)) over all of
them (W: fixed weights of the expression's shape) and records every parameter's
grad_as_array().  A case that raises records only that it raised.  The file must run
unchanged on both libraries: it uses nothing but the DyNet API and NumPy.
"""
import os
import traceback

import numpy as np

RAISES = "raises"


def data(shape, seed=0, lo=-1.0, hi=1.0):
    """Fixed, distinct numbers in [lo, hi] (a formula: no generator whose stream could change)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    n = int(np.prod(shape)) if shape else 1
    u = (np.sin(np.arange(n) * 1.7 + 0.9 * seed + 0.4) + 1) / 2
    return (lo + (hi - lo) * u).reshape(shape)


def weights(shape):
    """The fixed weights W of the weighted sum that starts backward: distinct, in column-major
    order of the value as npvalue() lays it out (DyNet dims first, batch last)."""
    n = int(np.prod(shape)) if shape else 1
    return np.cos(np.arange(n) * 0.7 + 0.3).reshape(shape, order="F")


class Ctx:
    """Makes the parameters of one case in a fresh ParameterCollection."""

    def __init__(self, dy):
        self.dy = dy
        self.m = dy.ParameterCollection()
        self.params = {}

    def param(self, name, arr):
        arr = np.asarray(arr, dtype=float)
        p = self.m.add_parameters(arr.shape, init=self.dy.NumpyInitializer(arr))
        self.params[name] = p
        return p

    def lookup(self, name, arr):
        arr = np.asarray(arr, dtype=float)
        from_numpy = getattr(self.m, "lookup_parameters_from_numpy", None)
        if from_numpy is not None:       # DyNet refuses NumpyInitializer for lookup tables
            p = from_numpy(arr)
        else:                            # (compgraph.dynet before it had the DyNet name)
            p = self.m.add_lookup_parameters(arr.shape, init=self.dy.NumpyInitializer(arr))
        self.params[name] = p
        return p


def _is_expr(dy, e):
    return isinstance(e, dy.Expression)


def run(dy, fn, grad=True):
    """{name: float64 array} for one case, or {RAISES: 1.0} when it raises."""
    ctx = Ctx(dy)
    dy.renew_cg()
    dy.reset_random_seed(1234)     # the random cases: the same draws on every run (per library)
    try:
        out = fn(dy, ctx)
        outs = out if isinstance(out, dict) else {"out": out}
        result, exprs = {}, []
        for k, e in outs.items():
            if _is_expr(dy, e):
                dims, batch = e.dim()
                result[k] = np.asarray(e.npvalue(), dtype=float)
                result[k + ".dim"] = np.array(list(dims) + [batch], dtype=float)
                exprs.append(e)
            else:
                result[k] = np.asarray(e, dtype=float)
        if grad and exprs and ctx.params:
            terms = []
            for e in exprs:
                shape = np.asarray(e.npvalue()).shape
                w = dy.inputTensor(weights(shape), batched=e.dim()[1] > 1)
                terms.append(dy.sum_batches(dy.sum_elems(dy.cmult(e, w))))
            loss = dy.esum(terms)
            result["loss"] = np.asarray(loss.value(), dtype=float)
            loss.backward()
            for name, p in ctx.params.items():
                result["grad:" + name] = np.asarray(p.grad_as_array(), dtype=float)
        return result
    except (ValueError, IndexError, RuntimeError, TypeError, AssertionError, DeprecationWarning):
        if os.environ.get("REFERENCE_DEBUG"):     # to see why a case raises
            traceback.print_exc()
        return {RAISES: np.array(1.0)}
