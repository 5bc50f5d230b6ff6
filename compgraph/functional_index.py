"""More of PyTorch's shape and indexing functions: narrow, unflatten, unfold, roll,
diagonal/diag, meshgrid, repeat_interleave, masked_select, scatter_reduce (and scatter's
reduce=), and einsum's '...' and repeated indices.

All are compositions of table ops (getitem with index arrays, whose gradient is
scatter_add; reshape, permute_dims, broadcast_to, where), so their gradients, to any order,
come from ops that the generated tests check.  compgraph.functional re-exports them.
"""
import builtins
import functools
import warnings

import numpy as np

from . import functional as F
from .errors import ArgumentError, DTypeError, ShapeError
from .ops import OPS
from .ops.table import fmt
from .tensor import Tensor, _make, apply, as_tensor, index_array

_lift, _dim, _ints = F._lift, F._dim, F._ints


# --- shapes and indexing ---------------------------------------------------------------------------

def nelement(input):
    return input.numel()


def narrow(input, dim, start, length):
    """The slice start:start+length along dim (start may be negative, or a 0-d tensor)."""
    x = _lift(input, None)
    d = _dim("narrow", dim, x.ndim)
    start = builtins.int(start)
    n = x.shape[d]
    if not -n <= start <= n:
        raise ShapeError(f"narrow: start {start} is out of range for dim {d} of size {n} "
                         f"(use {-n}..{n})")
    if start < 0:                   # only a negative start wraps: start == n is an empty slice
        start += n
    if length < 0 or start + length > n:
        raise ShapeError(f"narrow: start ({start}) + length ({length}) exceeds dimension "
                         f"size ({n}) of shape {fmt(x.shape)}")
    return F.getitem(x, (slice(None),) * d + (slice(start, start + length),))


def unflatten(input, dim, sizes):
    """Dim split into sizes (one of them may be -1), as torch.unflatten."""
    x = _lift(input, None)
    d = _dim("unflatten", dim, x.ndim)
    sizes = _ints("unflatten", tuple(sizes), "sizes")
    if not sizes:
        raise ShapeError("unflatten: sizes must be non-empty")
    n = x.shape[d]
    known = int(np.prod([s for s in sizes if s != -1]))
    if sizes.count(-1) > 1 or (-1 not in sizes and known != n) or (-1 in sizes and (known == 0 or n % known)):
        raise ShapeError(f"unflatten: provided sizes {list(sizes)} don't multiply up to the "
                         f"size of dim {d} ({n}) in the input tensor of shape {fmt(x.shape)}")
    sizes = tuple(n // known if s == -1 else s for s in sizes)
    return F.reshape(x, x.shape[:d] + sizes + x.shape[d + 1:])


def unfold(input, dimension, size, step):
    """Tensor.unfold: every window of `size` along `dimension`, `step` apart, as a new last
    dim; that dim's size becomes the number of windows."""
    x = _lift(input, None)
    d = _dim("unfold", dimension, x.ndim)
    n = x.shape[d] if x.ndim else 1
    if size < 0 or size > n:
        raise ShapeError(f"unfold: maximum size for tensor at dimension {d} is {n} but size "
                         f"is {size}")
    if step <= 0:
        raise ShapeError(f"unfold: step is {step} but must be > 0")
    if not x.ndim:
        return F.reshape(x, (1,))
    idx = np.arange((n - size) // step + 1)[:, None] * step + np.arange(size)
    win = F.getitem(x, (slice(None),) * d + (idx,))          # (..., windows, size, ...)
    axes = list(builtins.range(win.ndim))
    axes.append(axes.pop(d + 1))
    return F.permute_dims(win, axes)


def roll(input, shifts, dims=None):
    """Elements shifted along dims, the ones pushed off one end coming back at the other;
    without dims the tensor is rolled as if flattened."""
    x = _lift(input, None)
    if dims is None:
        if not isinstance(shifts, (builtins.int, np.integer)) and len(shifts) != 1:
            raise ShapeError(f"roll: shifts {shifts} need dims to say where they go")
        s = shifts if isinstance(shifts, (builtins.int, np.integer)) else shifts[0]
        return F.reshape(roll(F.flatten(x), s, 0), x.shape)
    shifts = (shifts,) if isinstance(shifts, (builtins.int, np.integer)) else tuple(shifts)
    dims = (dims,) if isinstance(dims, (builtins.int, np.integer)) else tuple(dims)
    if len(shifts) != len(dims):
        raise ShapeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, "
                         f"dims: {len(dims)}")
    out = x
    for s, dim in zip(shifts, dims):
        d = _dim("roll", dim, x.ndim)
        n = x.shape[d] if x.ndim else 1
        if n == 0 or not x.ndim or s % n == 0:
            continue
        idx = (np.arange(n) - s) % n
        out = F.getitem(out, (slice(None),) * d + (idx,))
    return out if out is not x else F.clone(x)


def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal of the (dim1, dim2) planes as a new last dim (offset > 0 above the main)."""
    x = _lift(input, None)
    if x.ndim < 2:
        raise ShapeError(f"diagonal: input must be at least 2-D, got shape {fmt(x.shape)}")
    d1, d2 = _dim("diagonal", dim1, x.ndim), _dim("diagonal", dim2, x.ndim)
    if d1 == d2:
        raise ShapeError(f"diagonal: dimensions dim1 and dim2 cannot be identical ({dim1}, {dim2})")
    rest = [i for i in builtins.range(x.ndim) if i not in (d1, d2)]
    moved = F.permute_dims(x, rest + [d1, d2])
    n1, n2 = x.shape[d1], x.shape[d2]
    k = builtins.max(0, builtins.min(n1 + builtins.min(offset, 0), n2 - builtins.max(offset, 0)))
    rows = np.arange(k) - builtins.min(offset, 0)
    cols = np.arange(k) + builtins.max(offset, 0)
    return F.getitem(moved, (Ellipsis, rows, cols))


def diag(input, diagonal=0):
    """A vector -> the square matrix with it on the given diagonal; a matrix -> that diagonal."""
    x = _lift(input, None)
    if x.ndim == 2:
        return globals()["diagonal"](x, diagonal, 0, 1)
    if x.ndim != 1:
        raise ShapeError(f"diag: expected a 1-D or 2-D tensor, got shape {fmt(x.shape)}")
    n = x.shape[0] + builtins.abs(diagonal)
    rows = np.arange(x.shape[0]) - builtins.min(diagonal, 0)
    cols = np.arange(x.shape[0]) + builtins.max(diagonal, 0)
    return apply(OPS["scatter_add"], (x,), {"index": (rows, cols), "shape": (n, n)})


def meshgrid(*tensors, indexing=None):
    """Coordinate grids: output i varies along dim i ('ij') or, for the first two, swapped
    ('xy', the Cartesian convention)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ArgumentError(f"meshgrid: indexing must be one of 'xy' or 'ij', got {indexing!r}")
    ts = [_lift(t, None) for t in tensors]
    for t in ts:
        if t.ndim > 1:
            raise ShapeError(f"meshgrid: expects 0-D or 1-D tensors, got shape {fmt(t.shape)}")
    ts = [F.reshape(t, (-1,)) for t in ts]
    if indexing == "xy" and len(ts) >= 2:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t.shape[0] for t in ts)
    grids = [F.broadcast_to(F.reshape(t, tuple(-1 if j == i else 1 for j in builtins.range(len(ts)))),
                            shape) for i, t in enumerate(ts)]
    if indexing == "xy" and len(ts) >= 2:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Each element repeated `repeats` times (an int, or one count per element) along dim
    (of the flattened input without dim).  repeat_interleave(counts) alone gives the indices
    0, 0, 1, ... that counts describe."""
    if repeats is None:
        counts = index_array(input)
        if counts.ndim != 1 or counts.dtype.kind not in "iu":
            raise ShapeError("repeat_interleave: repeats must be a 1-D integer tensor")
        return _make(np.repeat(np.arange(len(counts)), counts).astype(np.int64))
    x = _lift(input, None)
    if dim is None:
        x, d = F.flatten(x), 0
    else:
        d = _dim("repeat_interleave", dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    reps = index_array(repeats) if isinstance(repeats, (Tensor, list, np.ndarray)) else np.asarray(repeats)
    if reps.dtype.kind not in "iu":
        raise DTypeError(f"repeat_interleave: repeats must be integers, got {reps.dtype}")
    if reps.ndim > 1 or (reps.ndim == 1 and reps.size not in (1, n)):
        raise ShapeError(f"repeat_interleave: repeats must have the same size as input along "
                         f"dim {d} ({n}), got shape {fmt(reps.shape)}")
    if (reps < 0).any():
        raise ShapeError("repeat_interleave: repeats can not be negative")
    idx = np.repeat(np.arange(n), np.broadcast_to(reps.reshape(-1), (n,)))
    if output_size is not None and output_size != len(idx):
        raise ShapeError(f"repeat_interleave: output_size {output_size} does not match the "
                         f"{len(idx)} elements that repeats give")
    if not x.ndim:
        x = F.reshape(x, (1,))
    return F.getitem(x, (slice(None),) * d + (idx,))


def masked_select(input, mask):
    """The elements of input where mask (broadcast with it) is True, as a 1-D tensor."""
    x = _lift(input, None)
    m = _lift(mask, None)
    if m.dtype.kind != "b":
        raise DTypeError(f"masked_select: expected a bool mask, got {m.dtype}")
    try:
        shape = np.broadcast_shapes(tuple(x.shape), tuple(m.shape))
    except ValueError:
        raise ShapeError(f"masked_select: mask of shape {fmt(m.shape)} does not broadcast with "
                         f"the input's shape {fmt(x.shape)}") from None
    if tuple(x.shape) != shape:
        x = F.broadcast_to(x, shape)
    mv = np.broadcast_to(index_array(m, "masked_select's mask"), shape)
    return F.getitem(x, (mv,)) if shape else F.getitem(F.reshape(x, (1,)), (mv.reshape(1),))


# --- scatter_reduce --------------------------------------------------------------------------------

def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """input with src[i][j] reduced into [index[i][j]][j] (dim=0) by 'sum', 'prod', 'mean',
    'amax' or 'amin'; include_self=False leaves input's own value out where anything lands.

    sum and mean are scatter_add (exact to any order).  amax, amin and prod take their value
    from NumPy's ufunc.at and their gradient from a linear stand-in with the same first
    derivative: PyTorch's rule for amax/amin (ties share evenly, input included), for prod
    the product of the others (exact at zeros).  Their second derivative is that of the
    stand-in: right (zero) for amax/amin; for prod a create_graph backward is refused."""
    reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)    # PyTorch takes these too
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise ArgumentError(f"scatter_reduce: reduce argument must be either sum, prod, mean, "
                            f"amax or amin, got {reduce!r}")
    x = _lift(input, None)
    s = _lift(src, x)
    if s.dtype != x.dtype:
        raise DTypeError(f"scatter_reduce: expected self.dtype to be equal to src.dtype "
                         f"({x.dtype} and {s.dtype})")
    idx, s = F._scatter_index("scatter_reduce", x, dim, index, s)
    if s.ndim == 0:
        s = F.broadcast_to(s, idx[0].shape)
    shape = tuple(x.shape)
    hit = np.zeros(shape, np.bool_)
    hit[idx] = True
    hit_t = as_tensor(hit)
    keep = x if include_self else F.where(hit_t, F.zeros_like(x), x)
    if reduce in ("sum", "mean"):
        total = keep + apply(OPS["scatter_add"], (s,), {"index": idx, "shape": shape})
        if reduce == "sum":
            return total
        count = np.zeros(shape, np.int64)
        np.add.at(count, idx, 1)
        count = count + (1 if include_self else 0)
        count = np.maximum(count, 1).astype(x.dtype)
        if x.dtype.kind in "iu":
            return F.floor_divide(total, as_tensor(count))
        return total / as_tensor(count)
    return _scatter_extreme(x, s, idx, hit, reduce, include_self)


def _scatter_extreme(x, s, idx, hit, reduce, include_self):
    x._concrete(f"scatter_reduce(reduce={reduce!r})")
    s._concrete(f"scatter_reduce(reduce={reduce!r})")
    xv = np.asarray(x.detach().cpu()._value)
    sv = np.asarray(s.detach().cpu()._value)
    ufunc = {"prod": np.multiply, "amax": np.maximum, "amin": np.minimum}[reduce]
    out = xv.copy()
    if not include_self:
        out[hit] = {"prod": 1, "amax": _lowest(xv.dtype), "amin": -_lowest(xv.dtype)}[reduce]
    ufunc.at(out, idx, sv)
    value = _make(out)
    if not (x.requires_grad or s.requires_grad):
        return value
    self_in = hit if not include_self else np.zeros(hit.shape, np.bool_)
    self_in = ~self_in                        # where input's own value takes part
    if reduce == "prod":
        wx, ws = _prod_weights(xv, sv, idx, self_in)
    else:
        # PyTorch counts input's own tie in the share even where include_self=False left
        # it out (and then gives it no gradient); the oracle's rule, so ours too
        tie_x = xv == out
        tie_s = sv == out[idx]
        ties = tie_x.astype(np.int64)
        np.add.at(ties, idx, tie_s.astype(np.int64))
        share = 1.0 / np.maximum(ties, 1)
        wx, ws = tie_x * self_in * share, tie_s * share[idx]
    # the stand-in: linear in x and src, zero in value, the gradient of the reduction
    lin = x * as_tensor(wx.astype(xv.dtype)) + apply(
        OPS["scatter_add"], (s * as_tensor(ws.astype(sv.dtype)),), {"index": idx, "shape": hit.shape})
    if reduce == "prod":
        # the stand-in's weights are constants: its second derivative would be silently
        # wrong (zero where the product's is not), so a create_graph backward is refused
        return value + apply(OPS["first_order_only"], (lin - lin.detach(),),
                             {"what": "scatter_reduce(reduce='prod')"})
    return value + (lin - lin.detach())


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _prod_weights(xv, sv, idx, self_in):
    """d out / d element: the product of the other contributors to the same place."""
    xs = np.where(self_in, xv, 1)
    nz_prod = np.where(xs == 0, 1, xs).astype(xv.dtype)
    np.multiply.at(nz_prod, idx, np.where(sv == 0, 1, sv))
    zeros = (xs == 0).astype(np.int64)
    np.add.at(zeros, idx, (sv == 0).astype(np.int64))

    def others(v, z, p):
        safe = np.where(v == 0, 1, v)
        return np.where(z == 0, p / safe, np.where((z == 1) & (v == 0), p, 0))
    wx = np.where(self_in, others(xv, zeros, nz_prod), 0)
    ws = others(sv, zeros[idx], nz_prod[idx])
    return wx, ws


def scatter_with_reduce(input, dim, index, src, reduce):
    """scatter(..., reduce='add' | 'multiply'): the deprecated spelling of scatter_reduce."""
    if reduce not in ("add", "multiply"):
        raise ArgumentError(f"scatter: reduce argument must be either add or multiply, got "
                            f"{reduce!r}")
    x = _lift(input, None)
    s = _lift(src, x)
    if s.ndim == 0:
        s = F.full_like(as_tensor(index_array(index)), s.item(), dtype=x.dtype)
    return scatter_reduce(x, dim, index, s, "sum" if reduce == "add" else "prod")


# --- einsum: '...' and repeated indices ------------------------------------------------------------

@functools.lru_cache(maxsize=256)
def einsum_needs_rewrite(subscripts):
    """Whether subscripts has '...' or an index repeated within one operand."""
    return "." in subscripts or builtins.any(
        t.count(c) > 1 for t in subscripts.split("->")[0].split(",") for c in t if c.isalpha())


def einsum_explicit(subscripts, operands):
    """subscripts with '...' written out in spare letters and repeated indices within one
    operand taken as diagonals first: what the einsum op itself accepts."""
    s = subscripts.replace(" ", "")
    lhs, out = s.split("->") if "->" in s else (s, None)
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise ShapeError(f"einsum: {subscripts!r} names {len(terms)} operand(s) but "
                         f"{len(operands)} were given")
    if out is None:                           # implicit output: '...' first, then sorted singles
        letters = lhs.replace(",", "").replace(".", "")
        out = ("..." if "..." in lhs else "") + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1))
    ops = list(operands)
    if "..." in s:
        used = set(c for c in s if c.isalpha())
        spare = [c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in used]
        n_ell = 0
        for t, x in zip(terms, ops):
            if "..." in t:
                n_ell = builtins.max(n_ell, x.ndim - (len(t) - 3))
        ell = "".join(spare[:n_ell])
        sizes = {}
        for i, (t, x) in enumerate(zip(terms, ops)):
            if "..." not in t:
                continue
            k = x.ndim - (len(t) - 3)
            if k < 0:
                raise ShapeError(f"einsum: operand {i} has {x.ndim} dims, fewer than {t!r} names")
            terms[i] = t.replace("...", ell[n_ell - k:])
        out = out.replace("...", ell)
        # '...' dims broadcast against each other (a size 1 meets a size n)
        for t, x in zip(terms, ops):
            for c, n in zip(t, x.shape):
                if c in ell and n != 1:
                    if sizes.setdefault(c, n) != n:
                        raise ShapeError(f"einsum: '...' dims of sizes {sizes[c]} and {n} "
                                         "do not broadcast")
        for i, (t, x) in enumerate(zip(terms, ops)):
            want = tuple(sizes.get(c, n) if c in ell else n for c, n in zip(t, x.shape))
            if want != tuple(x.shape):
                ops[i] = F.broadcast_to(x, want)
    for i, t in enumerate(terms):
        while len(set(t)) != len(t):
            c = next(c for c in t if t.count(c) > 1)
            p1 = t.index(c)
            p2 = t.index(c, p1 + 1)
            if ops[i].shape[p1] != ops[i].shape[p2]:
                raise ShapeError(f"einsum: subscript {c!r} is repeated for operand {i} but the "
                                 f"sizes don't match, {ops[i].shape[p1]} != {ops[i].shape[p2]}")
            ops[i] = diagonal(ops[i], 0, p1, p2)
            t = "".join(ch for j, ch in enumerate(t) if j not in (p1, p2)) + c
        terms[i] = t
    return ",".join(terms) + "->" + out, ops


__all__ = sorted(n for n, v in list(globals().items())
                 if not n.startswith("_") and callable(v) and getattr(v, "__module__", None) == __name__
                 and n not in ("scatter_with_reduce", "einsum_explicit", "einsum_needs_rewrite",
                               "unfold", "nelement"))     # helpers, and Tensor methods only
