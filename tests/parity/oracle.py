"""Run one call on compgraph and on real PyTorch and compare everything a program can see.

A case draws its inputs (NumPy arrays and plain Python values) through `Draw`, the same
inputs go to both libraries, and `check` compares:
  - which calls raise: where torch raises compgraph must raise too, with an error that
    `except <torch's builtin class>` catches; where torch does not, compgraph must not;
  - every output: shape, dtype and values (NaN where torch has NaN, same infinities);
  - the arguments after the call (in-place methods change their tensor);
  - gradients: backward of a random weighted sum of the float outputs, compared for every
    float input (None in torch: compgraph's is None or zero).
"""
import math

import numpy as np
import torch

import compgraph as cg

FLOATS = ("float32", "float64")
INTS = ("int64", "int32")
ALL = FLOATS + INTS + ("bool",)
NUMERIC = FLOATS + INTS

TOL = {"float16": (1e-2, 1e-2), "float32": (1e-4, 1e-5), "float64": (1e-7, 1e-9)}
GRAD_TOL = {"float16": (5e-2, 5e-2), "float32": (1e-3, 1e-4), "float64": (1e-6, 1e-8)}

class Draw:
    """What a case's generator draws from: hypothesis for the choices (shapes, dims,
    dtypes, edge cases), a seeded NumPy generator for the many values."""

    def __init__(self, data):
        self._data = data
        self.rng = np.random.default_rng(self.int(0, 2 ** 31))
        self.edge = self.choice([None, None, "kinks", "nonfinite"])   # the value regime

    def draw(self, strategy):
        return self._data.draw(strategy)

    def int(self, lo, hi):
        from hypothesis import strategies as st
        return self.draw(st.integers(lo, hi))

    def bool(self):
        from hypothesis import strategies as st
        return self.draw(st.booleans())

    def choice(self, options):
        from hypothesis import strategies as st
        return self.draw(st.sampled_from(list(options)))

    def shape(self, min_dims=0, max_dims=3, min_side=0, max_side=4):
        from hypothesis.extra import numpy as hnp
        return self.draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims,
                                          min_side=min_side, max_side=max_side))

    def shapes(self, n=2, min_dims=0, max_dims=3, min_side=0, max_side=4):
        """n shapes that broadcast together (sometimes, on purpose, n that do not)."""
        from hypothesis.extra import numpy as hnp
        if self.int(0, 9) == 0:          # a mismatch: both libraries must refuse it
            return [self.shape(min_dims, max_dims, min_side, max_side) for _ in range(n)]
        return list(self.draw(hnp.mutually_broadcastable_shapes(
            num_shapes=n, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
            max_side=max_side)).input_shapes)

    def dim(self, ndim, allow_out_of_range=True):
        """A dim for a tensor of ndim dims, negative or not, rarely out of range."""
        n = max(ndim, 1)
        if allow_out_of_range and self.int(0, 14) == 0:
            return self.choice([n, -n - 1])
        return self.int(-n, n - 1)

    def array(self, shape=None, dtype="float64", domain="real", edge=True):
        """Values of a domain: real, pos (> 0), unit (0..1), away (|x| >= 0.5), distinct
        (no ties), int:lo:hi (integers in lo..hi-1, any dtype)."""
        shape = self.shape() if shape is None else tuple(shape)
        rng = self.rng
        if dtype == "bool":
            return np.asarray(rng.random(shape) < 0.5)
        if domain.startswith("int:"):
            lo, hi = (int(v) for v in domain[4:].split(":"))
            return np.asarray(rng.integers(lo, hi, shape), dtype=dtype)
        if dtype in INTS or dtype in ("int8", "int16", "uint8"):
            lo = 1 if domain in ("pos", "away") else 0 if domain == "unit" else -5
            return np.asarray(rng.integers(lo, 6, shape), dtype=dtype)
        if domain == "pos":
            v = rng.uniform(0.2, 3.0, shape)
        elif domain == "unit":
            v = rng.uniform(0.05, 0.95, shape)
        elif domain == "away":
            v = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
        elif domain == "distinct":
            v = (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.37 - 1.0
                 if shape else np.asarray(rng.normal()))
        else:
            v = rng.normal(size=shape)
        v = np.asarray(v, dtype=dtype)
        if edge and self.edge and v.size and domain in ("real", "pos"):
            specials = ([0.0, -0.0, 1.0, -1.0, 2.0, 0.5] if self.edge == "kinks"
                        else [0.0, np.inf, -np.inf, np.nan, -1.0])
            if domain == "pos":
                specials = [s for s in specials if not s < 0]
            where = rng.random(shape) < 0.3
            v[where] = rng.choice(specials, int(where.sum()))
        return v

    def tensor(self, shape=None, dtypes=FLOATS, domain="real", edge=True):
        return self.array(shape, self.choice(dtypes), domain, edge)


# --- the two sides ----------------------------------------------------------------------

class Side:
    """One library: how it makes a tensor from an array and how its tensors look."""

    def __init__(self, lib):
        self.lib = lib
        self.is_torch = lib is torch
        self.Tensor = lib.Tensor

    def tensor(self, a, grad):
        if self.is_torch:
            t = torch.from_numpy(np.array(a, copy=True))
        else:
            t = cg.tensor(np.array(a, copy=True))
        if grad and a.dtype.kind == "f":
            t.requires_grad_(True)
        return t

    def convert(self, value, grad, leaves):
        """Arrays become tensors (float ones requiring grad); lists and tuples are walked."""
        if isinstance(value, (np.ndarray, np.generic)):
            t = self.tensor(np.asarray(value), grad)
            leaves.append(t)
            return t
        if isinstance(value, (list, tuple)) and value and any(
                isinstance(v, (np.ndarray, list, tuple)) for v in value):
            return type(value)(self.convert(v, grad, leaves) for v in value)
        if isinstance(value, dict):
            return {k: self.convert(v, grad, leaves) for k, v in value.items()}
        if isinstance(value, Const):
            return self.tensor(value.array, False)
        if isinstance(value, DType):
            return getattr(self.lib, value.name)
        return value


class Const:
    """An array that becomes a tensor without requires_grad (running statistics, class
    weights: torch refuses to differentiate with respect to those)."""

    def __init__(self, array):
        self.array = np.asarray(array)

    def __repr__(self):
        return f"const {self.array.dtype}{list(self.array.shape)}"


class DType:
    """A dtype argument (dtype=...), named once for both libraries."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"dtype({self.name})"


TORCH, CG = Side(torch), Side(cg)


def as_numpy(t):
    return t.detach().numpy()          # either library's (a 0-d gradient's too)


def dtype_name(t):
    if isinstance(t, torch.Tensor):
        return str(t.dtype).replace("torch.", "")
    return str(np.dtype(t.dtype))


def flatten(out):
    """The tensors and plain values of an output, in order (tuples, lists, namedtuples)."""
    if isinstance(out, (tuple, list)):
        return [leaf for o in out for leaf in flatten(o)]
    return [out]


def describe(args, kwargs):
    """The call's inputs, short enough for a failure message."""
    def one(v):
        if isinstance(v, np.ndarray):
            body = np.array2string(v, threshold=12, precision=4).replace("\n", "")
            return f"{v.dtype}{list(v.shape)} {body}" if v.size <= 12 else f"{v.dtype}{list(v.shape)}"
        if isinstance(v, (list, tuple)) and any(isinstance(a, np.ndarray) for a in v):
            return "[" + ", ".join(one(a) for a in v) + "]"
        return repr(v)
    parts = [one(a) for a in args] + [f"{k}={one(v)}" for k, v in kwargs.items()]
    return "(" + ", ".join(parts) + ")"


# --- the comparison -----------------------------------------------------------------------

def _catchable(exc, builtin):
    return isinstance(exc, builtin)


def _builtin_class(exc):
    """torch's error as the builtin class a user catches (torch.* subclasses map to a base)."""
    for cls in type(exc).__mro__:
        if cls.__module__ == "builtins":
            return cls
    return Exception


def _close(what, mine, theirs, tol):
    assert mine.shape == theirs.shape, f"{what}: shape {mine.shape}, torch {theirs.shape}"
    if theirs.dtype.kind in "biu" or mine.dtype.kind in "biu":
        assert np.array_equal(mine, theirs), f"{what}:\n{mine}\ntorch:\n{theirs}"
        return
    rtol, atol = tol
    a, b = mine.astype(np.float64), theirs.astype(np.float64)
    if a.dtype.kind == "c" or b.dtype.kind == "c":
        ok = np.allclose(a, b, rtol, atol, equal_nan=True)
    else:
        ok = np.array_equal(np.isnan(a), np.isnan(b)) and np.allclose(a, b, rtol, atol, equal_nan=True)
    assert ok, f"{what}:\n{mine}\ntorch:\n{theirs}\n(max abs diff {np.nanmax(np.abs(a - b)) if a.size else 0})"


def compare_values(what, mine, theirs, tol=None, check_dtype=True):
    if isinstance(theirs, torch.Tensor):
        assert isinstance(mine, cg.Tensor), f"{what}: {type(mine).__name__}, torch a Tensor"
        if check_dtype:
            assert dtype_name(mine) == dtype_name(theirs), \
                f"{what}: dtype {dtype_name(mine)}, torch {dtype_name(theirs)}"
        t = TOL.get(dtype_name(theirs), (1e-6, 1e-8)) if tol is None else tol
        _close(what, as_numpy(mine), as_numpy(theirs), t)
    elif isinstance(theirs, torch.Size):
        assert tuple(mine) == tuple(theirs), f"{what}: {mine}, torch {theirs}"
    elif isinstance(theirs, torch.dtype):
        assert str(np.dtype(mine)) == str(theirs).replace("torch.", ""), f"{what}: {mine}, torch {theirs}"
    elif isinstance(theirs, float) and not isinstance(mine, cg.Tensor):
        assert isinstance(mine, (float, int, np.floating)) and (
            math.isclose(mine, theirs, rel_tol=1e-6, abs_tol=1e-9)
            or (math.isnan(mine) and math.isnan(theirs))), f"{what}: {mine!r}, torch {theirs!r}"
    elif isinstance(theirs, (bool, int, str, type(None))):
        assert mine == theirs and type(mine) is type(theirs) or (
            isinstance(mine, (int, np.integer)) and not isinstance(mine, bool)
            and isinstance(theirs, int) and not isinstance(theirs, bool) and mine == theirs), \
            f"{what}: {mine!r}, torch {theirs!r}"
    else:
        raise AssertionError(f"{what}: torch returned a {type(theirs).__name__} the oracle "
                             "cannot compare; give the case a `post`")


def _weights(outs, rng):
    return [rng.normal(size=tuple(o.shape)) if isinstance(o, torch.Tensor)
            and o.dtype.is_floating_point and o.requires_grad else None for o in outs]


def _weighted_sum(side, outs, weights):
    total = None
    for o, w in zip(outs, weights):
        if w is None:
            continue
        term = (o * side.tensor(w.astype(dtype_name(o)), False)).sum()
        total = term if total is None else total + term
    return total


def run(side, fn, args, kwargs, grad):
    leaves = []
    a = side.convert(args, grad, leaves)
    k = side.convert(kwargs, grad, leaves)
    return a, k, leaves, fn(side, *a, **k)


def check(fn, args, kwargs, *, grad=True, tol=None, grad_tol=None, post=None,
          check_dtype=True, check_args=True, seed=0, params=None):
    """Compare fn(side, *args, **kwargs) on both libraries.  fn receives the Side first
    (so a case can reach side.lib); `post(side, out)` turns an output into comparable
    values (e.g. drops what is random, sorts what has no defined order).  params:
    (torch's, compgraph's) lists of (name, parameter) whose gradients are compared too."""
    try:
        t_args, t_kwargs, t_leaves, t_out = run(TORCH, fn, args, kwargs, grad)
    except Exception as e:               # noqa: BLE001 - any torch error is the oracle's answer
        expected = _builtin_class(e)
        try:
            run(CG, fn, args, kwargs, grad)
        except Exception as mine:        # noqa: BLE001
            assert _catchable(mine, expected), (
                f"torch raises {type(e).__name__} ({e}); compgraph raises "
                f"{type(mine).__name__}, which `except {expected.__name__}` does not catch: {mine}")
            return "raises"
        raise AssertionError(f"torch raises {type(e).__name__}: {e}\ncompgraph does not") from None
    c_args, c_kwargs, c_leaves, c_out = run(CG, fn, args, kwargs, grad)
    if post is not None:
        t_out, c_out = post(TORCH, t_out), post(CG, c_out)
    t_flat, c_flat = flatten(t_out), flatten(c_out)
    if isinstance(t_out, (tuple, list)):
        assert isinstance(c_out, (tuple, list)), f"compgraph returns a {type(c_out).__name__}, torch a tuple"
    assert len(c_flat) == len(t_flat), f"{len(c_flat)} outputs, torch {len(t_flat)}"
    for i, (m, t) in enumerate(zip(c_flat, t_flat)):
        compare_values(f"output {i}", m, t, tol, check_dtype)
    if check_args:
        for i, (m, t) in enumerate(zip(c_leaves, t_leaves)):
            compare_values(f"input {i} after the call", m, t, tol, check_dtype)
    if not grad:
        return "values"
    weights = _weights(t_flat, np.random.default_rng(seed))
    t_loss = _weighted_sum(TORCH, t_flat, weights)
    if t_loss is None:
        return "values"
    t_loss.backward()
    for i, m in enumerate(c_flat):
        if weights[i] is not None:
            assert isinstance(m, cg.Tensor) and m.requires_grad, \
                f"output {i} does not require grad; torch's does"
    c_loss = _weighted_sum(CG, c_flat, weights)
    c_loss.backward()
    for i, (m, t) in enumerate(zip(c_leaves, t_leaves)):
        if not t.requires_grad:
            continue
        if t.grad is None:
            assert m.grad is None or not np.any(as_numpy(m.grad)), \
                f"gradient of input {i}: torch has none, compgraph {as_numpy(m.grad)}"
            continue
        assert m.grad is not None, f"gradient of input {i}: compgraph has none, torch {t.grad}"
        gt = grad_tol or GRAD_TOL.get(dtype_name(t), (1e-6, 1e-8))
        compare_values(f"gradient of input {i}", m.grad, t.grad, gt, check_dtype)
    for (name, t), (_, m) in zip(*(params or ((), ()))):
        if t.grad is None:
            assert m.grad is None or not np.any(as_numpy(m.grad)), f"gradient of {name}: torch none"
            continue
        assert m.grad is not None, f"gradient of {name}: compgraph has none, torch {t.grad}"
        gt = grad_tol or GRAD_TOL.get(dtype_name(t), (1e-6, 1e-8))
        compare_values(f"gradient of {name}", m.grad, t.grad, gt, check_dtype)
    return "grads"
