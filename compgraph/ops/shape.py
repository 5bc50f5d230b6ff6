"""Ops that move elements around: reshape, permute, broadcast, indexing, concatenate, stack."""
import numpy as np

from ..errors import BoundsError, ShapeError
from .promote import common
from .table import defop, fmt, normalize_axis


# --- reshape, permute, broadcast --------------------------------------------------------------

def _reshape_shape(shape, shape_to):
    if any(d < -1 for d in shape_to):
        raise ShapeError(f"reshape: invalid shape {fmt(shape_to)}: sizes must be >= 0, or -1 "
                         "for the one size to infer")
    size = int(np.prod(shape))
    unknown = [i for i, d in enumerate(shape_to) if d == -1]
    known = int(np.prod([d for d in shape_to if d != -1]))
    if len(unknown) > 1:
        raise ShapeError(f"reshape: only one dimension can be -1, got {fmt(shape_to)}")
    if unknown:
        if known == 0 or size % known:
            raise ShapeError(f"reshape: cannot view {fmt(shape)} ({size} elements) as "
                             f"{fmt(shape_to)}: {size} is not a multiple of {known}")
        return tuple(size // known if d == -1 else d for d in shape_to)
    if known != size:
        raise ShapeError(f"reshape: cannot view {fmt(shape)} ({size} elements) as "
                         f"{fmt(shape_to)} ({known} elements)")
    return tuple(shape_to)


defop("reshape", lambda xp, a, shape: xp.reshape(a, shape),
      lambda xp, g, ans, a, shape: xp.reshape(g, a.shape),
      shape=lambda s, shape: _reshape_shape(s, shape))


def _permute_shape(s, axes):
    if sorted(a % max(len(s), 1) for a in axes) != list(range(len(s))) or len(axes) != len(s):
        raise ShapeError(f"permute: {tuple(axes)} is not a permutation of the {len(s)} "
                         f"dimensions of {fmt(s)}")
    return tuple(s[a] for a in axes)


defop("permute_dims", lambda xp, a, axes: xp.transpose(a, axes),
      lambda xp, g, ans, a, axes: xp.permute_dims(g, tuple(np.argsort([x % a.ndim for x in axes]))),
      shape=_permute_shape)


def _broadcast_to_shape(s, shape):
    try:
        if np.broadcast_shapes(s, tuple(shape)) == tuple(shape):
            return tuple(shape)
    except ValueError:
        pass
    raise ShapeError(f"expand/broadcast_to: cannot broadcast {fmt(s)} to {fmt(tuple(shape))}: "
                     "each dimension must match or be 1")


defop("broadcast_to", lambda xp, a, shape: xp.broadcast_to(a, shape),
      lambda xp, g, ans, a, shape: g,   # the engine sums the broadcast axes back down
      shape=_broadcast_to_shape)


# --- indexing ---------------------------------------------------------------------------------

def is_basic_index(index):
    """Only ints, slices, None and Ellipsis: every element is picked at most once."""
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in index)


def torch_placement(index, ndim):
    """Where NumPy and PyTorch put the dims of an advanced index apart, the permutation that
    turns NumPy's result into PyTorch's; None where they agree (nearly always).

    NumPy counts integers among the advanced indices, so in x[:, 1, :, idx] the integer and
    the array are "separated by a slice" and the array's dims go first.  PyTorch applies
    integers first, as basic indexing, so the arrays that remain are adjacent and their
    dims stay where the arrays stand."""
    ints, arrays = [], []
    for k, i in enumerate(index):
        if isinstance(i, np.ndarray) and (i.ndim or i.dtype == np.bool_):
            arrays.append(k)
        elif isinstance(i, (int, np.integer, np.ndarray)) and not isinstance(i, bool):
            ints.append(k)                # (a 0-d integer tensor indexes as an int does)
    if not ints or not arrays:
        return None
    adv = sorted(ints + arrays)
    if adv[-1] - adv[0] == len(adv) - 1:
        return None                       # all adjacent for NumPy too: in place in both
    if any(k not in ints for k in range(arrays[0], arrays[-1]) if k not in arrays):
        return None                       # the arrays themselves are apart: first in both
    consumed = sum(index[k].ndim if index[k].dtype == np.bool_ else 1 for k in arrays)
    consumed += sum(1 for i in index if isinstance(i, slice)) + len(ints)
    before = 0                            # PyTorch's place for the block: dims made before it
    for i in index[:arrays[0]]:
        if i is Ellipsis:
            before += ndim - consumed
        elif i is None or isinstance(i, slice):
            before += 1
    if not before:
        return None
    block = len(np.broadcast_shapes(*[index[k].shape if index[k].dtype != np.bool_
                                      else (int(index[k].sum()),) for k in arrays]))
    out_ndim = ndim - consumed + block + sum(1 for i in index if i is None) + \
        sum(1 for i in index if isinstance(i, slice))
    rest = list(range(block, out_ndim))
    return tuple(rest[:before] + list(range(block)) + rest[before:])


def _scatter_add(xp, g, index, shape):
    """Zeros of `shape` with g added at `index` (repeated indices accumulate)."""
    out = xp.zeros(shape, dtype=g.dtype)
    if is_basic_index(index):
        out[index] = g
    elif xp.is_numpy:
        np.add.at(out, index, g)
    else:
        import cupyx
        cupyx.scatter_add(out, index, g)
    return out


def _index_shape(s, index):
    try:
        return np.broadcast_to(np.zeros((), np.int8), s)[index].shape
    except IndexError as e:
        raise BoundsError(f"index: {e} (tensor of shape {fmt(s)})") from None


defop("getitem", lambda xp, a, index: a[index],
      lambda xp, g, ans, a, index: xp.scatter_add(g, index=index, shape=a.shape),
      shape=_index_shape)


# x[index] = v as a node (PyTorch's index_put_): a copy of x with the selection replaced.
# The copy keeps x's own value for whatever else reads it; Tensor.__setitem__ makes the
# user's tensor this node.

def _index_put(xp, a, v, index):
    out = a.copy()
    out[index] = v
    return out


def _index_put_shape(a, v, index):
    sel = _index_shape(a, index)
    try:
        fits = np.broadcast_shapes(tuple(v), sel) == sel
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"item assignment: a value of shape {fmt(v)} does not fit the selected "
                         f"part, of shape {fmt(sel)}, of a tensor of shape {fmt(a)}")
    return tuple(a)


defop("index_put", _index_put,
      # the selected places were overwritten: no gradient reaches x there
      lambda xp, g, ans, a, v, index: xp.index_put(g, 0 * g[index], index=index),
      lambda xp, g, ans, a, v, index: g[index],     # the engine sums broadcast axes down
      shape=_index_put_shape, check=True)
defop("scatter_add", _scatter_add,
      lambda xp, g, ans, x, index, shape: g[index],
      shape=lambda s, index, shape: tuple(shape))


# --- concatenate, stack -------------------------------------------------------------------------

def _concat_shape(*shapes, axis=0):
    first = shapes[0]
    ax = normalize_axis("cat", axis, len(first))[0]
    for s in shapes[1:]:
        if len(s) != len(first) or any(d != e for i, (d, e) in enumerate(zip(s, first)) if i != ax):
            raise ShapeError(f"cat: shapes {', '.join(fmt(x) for x in shapes)} must match in "
                             f"every dimension except dim {ax}")
    return first[:ax] + (sum(s[ax] for s in shapes),) + first[ax + 1:]


def _concat_vjp(i, xp, g, ans, *parts, axis=0):
    ax = axis % ans.ndim
    start = sum(p.shape[ax] for p in parts[:i])
    return g[(slice(None),) * ax + (slice(start, start + parts[i].shape[ax]),)]


# its VJP reads only the parts' shapes (through *parts, which ops/reads.py cannot see into)
defop("concatenate", lambda xp, *parts, axis=0: xp.concatenate(parts, axis=axis),
      vjp_n=_concat_vjp, shape=_concat_shape, promote=common, reads=[()])


def _stack_shape(*shapes, axis=0):
    if any(s != shapes[0] for s in shapes):
        raise ShapeError(f"stack: all tensors must have the same shape, got "
                         f"{', '.join(fmt(s) for s in shapes)}")
    ax = normalize_axis("stack", axis, len(shapes[0]) + 1)[0]
    return shapes[0][:ax] + (len(shapes),) + shapes[0][ax:]


defop("stack", lambda xp, *parts, axis=0: xp.stack(parts, axis=axis),
      vjp_n=lambda i, xp, g, ans, *parts, axis=0: g[(slice(None),) * (axis % ans.ndim) + (i,)],
      shape=_stack_shape, promote=common)


# --- copies and conversions ------------------------------------------------------------------------

defop("copy", lambda xp, a: a.copy(), lambda xp, g, ans, a: g, shape=lambda s: s)
defop("astype", lambda xp, a, dtype: a.astype(dtype),
      # the gradient goes back in the input's own dtype
      lambda xp, g, ans, a, dtype: xp.astype(g, a.dtype),
      shape=lambda s, dtype: s, dtype=lambda d, dtype: dtype)


def _to_device(xp, a, device):
    from ..backend import to_device
    return to_device(a, device)


defop("to_device", _to_device,
      lambda xp, g, ans, a, device: xp.to_device(g, device="cpu" if isinstance(a, np.ndarray) else "cuda"),
      shape=lambda s, device: s)


# --- triangles and flips: each its own adjoint ----------------------------------------------------

def _band_shape(name):
    def rule(s, k=0):
        if len(s) < 2:
            raise ShapeError(f"{name}: input must be at least 2-D, got shape {fmt(s)}")
        return s
    return rule


defop("tril", lambda xp, a, k=0: xp.tril(a, k), lambda xp, g, ans, a, k=0: xp.tril(g, k),
      shape=_band_shape("tril"))
defop("triu", lambda xp, a, k=0: xp.triu(a, k), lambda xp, g, ans, a, k=0: xp.triu(g, k),
      shape=_band_shape("triu"))


def _flip_shape(s, axis):
    normalize_axis("flip", axis, len(s))
    return s


defop("flip", lambda xp, a, axis: xp.flip(a, axis), lambda xp, g, ans, a, axis: xp.flip(g, axis),
      shape=_flip_shape)
