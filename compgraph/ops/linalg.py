"""Products: matmul (batched, NumPy semantics), mm, mv, dot, outer, einsum."""
import math

from .. import parallel
from ..errors import ShapeError
from .promote import common
from .table import defop, dummy_rule, fmt


def _matmul_shape(a, b, **attrs):
    if len(a) == 0 or len(b) == 0:
        raise ShapeError(f"matmul: both operands need at least one dimension, got {fmt(a)} and {fmt(b)}")
    n_a = a[-1]
    n_b = b[0] if len(b) == 1 else b[-2]
    if n_a != n_b:
        where = "the length of the second" if len(b) == 1 else "the second-to-last dimension of the second"
        raise ShapeError(f"matmul: shapes {fmt(a)} and {fmt(b)} do not fit: the last dimension "
                         f"of the first ({n_a}) must equal {where} ({n_b})")
    import numpy as np
    batch_a, batch_b = a[:-2], b[:-2]
    try:
        batch = np.broadcast_shapes(batch_a, batch_b)
    except ValueError:
        raise ShapeError(f"matmul: batch dimensions {fmt(batch_a)} and {fmt(batch_b)} of "
                         f"{fmt(a)} and {fmt(b)} do not broadcast") from None
    return batch + (a[-2:-1] if len(a) >= 2 else ()) + (b[-1:] if len(b) >= 2 else ())


def _matmul_vjp_a(xp, g, ans, a, b):
    if b.ndim == 1:                                    # (..., n) @ (n,) -> (...)
        return xp.expand_dims(g, -1) * b
    if a.ndim == 1:                                    # (n,) @ (..., n, k) -> (..., k)
        return xp.matmul(b, xp.expand_dims(g, -1))[..., 0]
    return xp.matmul(g, xp.swapaxes(b, -1, -2))


def _matmul_vjp_b(xp, g, ans, a, b):
    if a.ndim == 1 and b.ndim == 1:
        return g * a
    if a.ndim == 1:                                    # outer(a, g) for each batch entry
        return xp.expand_dims(a, -1) * xp.expand_dims(g, -2)
    if b.ndim == 1:                                    # a^T g, summed over batches by the engine
        return xp.matmul(xp.swapaxes(a, -1, -2), xp.expand_dims(g, -1))[..., 0]
    if a.ndim == 2 and a.shape[0] == 1:                # one row: an outer product
        return a.T * g
    return xp.matmul(xp.swapaxes(a, -1, -2), g)


def _mm(xp, a, b):
    """a @ b for 2-D a and b; a large NumPy product by rows on the intra-op threads."""
    if parallel.get_num_threads() > 1 and getattr(xp, "is_numpy", False):
        return parallel.gemm_rows(a, b)
    return a @ b


def _matmul_fwd(xp, a, b):
    if a.ndim == 2 and b.ndim == 2:
        return _mm(xp, a, b)
    return xp.matmul(a, b)


defop("matmul", _matmul_fwd, _matmul_vjp_a, _matmul_vjp_b,
      shape=_matmul_shape, promote=common)


def _fixed_rank(name, ranks, inner):
    """Shape rule for ops that take operands of exactly the given ranks (mm, mv, dot)."""
    def rule(*shapes, **attrs):
        for k, (s, r) in enumerate(zip(shapes, ranks)):
            if len(s) != r:
                kinds = {1: "a vector (1-D)", 2: "a matrix (2-D)"}
                raise ShapeError(f"{name}: argument {k + 1} must be {kinds[r]}, got shape {fmt(s)}")
        a, b = shapes
        if a[-1] != b[0]:
            raise ShapeError(f"{name}: shapes {fmt(a)} and {fmt(b)} do not fit: {inner} "
                             f"({a[-1]} vs {b[0]})")
        return a[:-1] + b[1:]
    return rule


defop("mm", lambda xp, a, b: a @ b,
      lambda xp, g, ans, a, b: g @ b.T,
      lambda xp, g, ans, a, b: _outer_rows(xp, g, a).T,
      shape=_fixed_rank("mm", (2, 2), "columns of the first must equal rows of the second"),
      check=True, promote=common)
defop("mv", lambda xp, m, v: m @ v,
      lambda xp, g, ans, m, v: xp.outer(g, v),
      lambda xp, g, ans, m, v: m.T @ g,
      shape=_fixed_rank("mv", (2, 1), "columns of the matrix must equal the vector's length"),
      check=True, promote=common)
defop("dot", lambda xp, a, b: xp.dot(a, b),
      lambda xp, g, ans, a, b: g * b,
      lambda xp, g, ans, a, b: g * a,
      shape=_fixed_rank("dot", (1, 1), "the vectors must have the same length"),
      check=True, promote=common)


def _outer_shape(a, b, **attrs):
    if len(a) != 1 or len(b) != 1:
        raise ShapeError(f"outer: both arguments must be vectors (1-D), got {fmt(a)} and {fmt(b)}")
    return a + b


defop("outer", lambda xp, a, b: xp.outer(a, b),
      lambda xp, g, ans, a, b: xp.matmul(g, b),
      lambda xp, g, ans, a, b: xp.matmul(a, g),
      shape=_outer_shape, check=True)


# --- einsum ---------------------------------------------------------------------------------

def parse_einsum(subscripts, n_operands):
    """'ij,jk->ik' as (['ij', 'jk'], 'ik'); the implicit output follows NumPy's rule."""
    s = subscripts.replace(" ", "")
    if "." in s:
        raise ShapeError("einsum: '...' is not supported; write every index out")
    lhs, out = s.split("->") if "->" in s else (s, None)
    ins = lhs.split(",")
    if len(ins) != n_operands:
        raise ShapeError(f"einsum: {subscripts!r} names {len(ins)} operand(s) but "
                         f"{n_operands} were given")
    letters = lhs.replace(",", "")
    bad = [c for c in letters + (out or "") if not c.isascii() or not c.isalpha()]
    if bad:
        raise ShapeError(f"einsum: {subscripts!r} has {bad[0]!r}; subscripts must be letters "
                         "a-z, A-Z, operands separated by ',' and the output after '->'")
    if out is None:
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    missing = [c for c in out if c not in letters]
    if missing or len(set(out)) != len(out):
        what = (f"output index {missing[0]!r} appears in no operand" if missing
                else "an output index is repeated")
        raise ShapeError(f"einsum: {subscripts!r}: {what}")
    for term in ins:
        if len(set(term)) != len(term):
            raise ShapeError(f"einsum: repeated index within one operand ({term!r}, a diagonal) "
                             "is not supported")
    return ins, out


def _einsum_fwd(xp, *operands, subscripts):
    return xp.einsum(subscripts, *operands)


def _einsum_vjp(i, xp, g, ans, *operands, subscripts):
    ins, out = parse_einsum(subscripts, len(operands))
    others = [term for j, term in enumerate(ins) if j != i]
    present = set(out).union(*others)
    target = "".join(c for c in ins[i] if c in present)
    r = xp.einsum(",".join([out] + others) + "->" + target, g,
                  *[x for j, x in enumerate(operands) if j != i])
    if target != ins[i]:
        # indices summed away in the forward: the gradient is constant along them
        shape = operands[i].shape
        kept = tuple(d if c in present else 1 for c, d in zip(ins[i], shape))
        r = xp.broadcast_to(xp.reshape(r, kept), shape)
    return r


def _einsum_shape(*shapes, subscripts):
    ins, _ = parse_einsum(subscripts, len(shapes))
    sizes = {}
    for term, shape in zip(ins, shapes):
        if len(term) != len(shape):
            raise ShapeError(f"einsum: operand {term!r} has {len(term)} indices but shape {fmt(shape)}")
        for c, d in zip(term, shape):
            if sizes.setdefault(c, d) != d:
                raise ShapeError(f"einsum: index {c!r} has size {sizes[c]} in one operand and "
                                 f"{d} in another ({subscripts!r} with shapes "
                                 f"{', '.join(fmt(s) for s in shapes)})")
    return dummy_rule(_einsum_fwd)(*shapes, subscripts=subscripts)


defop("einsum", _einsum_fwd, vjp_n=_einsum_vjp, shape=_einsum_shape, check=True)


# --- linear: x @ w.T + b in one node (the layer every network is made of) -----------------------

def _linear_shape(x, w, b, **attrs):
    if len(w) != 2 or len(x) == 0 or x[-1] != w[1] or tuple(b) not in ((w[0],), ()):
        raise ShapeError(f"linear: input {fmt(x)}, weight {fmt(w)} and bias {fmt(b)} do not fit: "
                         f"the weight must be (out_features, in_features) = (?, {x[-1] if x else '?'}) "
                         "and the bias (out_features,)")
    return x[:-1] + (w[0],)


def _outer_rows(xp, g, x):
    """g.T @ x for row stacks g (n, p), x (n, q): every leading dim of x is a batch dim.
    For a single row this is an outer product, which BLAS gemm does 4x slower than a
    broadcast multiply (k = 1 is its worst case)."""
    rows = math.prod(g.shape[:-1])          # not -1: ambiguous when a dim is 0
    g2 = xp.reshape(g, (rows, g.shape[-1]))
    x2 = xp.reshape(x, (rows, x.shape[-1]))
    if g2.shape[0] == 1:
        return g2.T * x2
    return _mm(xp, g2.T, x2)


def _rows(xp, a):
    """a as one (rows, features) matrix: one BLAS call instead of NumPy's loop of small
    matmuls over the leading dims (free for a contiguous a)."""
    return xp.reshape(a, (-1, a.shape[-1]))


def _linear_vjp_x(xp, g, ans, x, w, b):
    if g.ndim == 1:
        return xp.matmul(g, w)
    if g.ndim == 2:
        return _mm(xp, g, w)
    return xp.reshape(_mm(xp, _rows(xp, g), w), x.shape)


def _linear_vjp_b(xp, g, ans, x, w, b):
    # the rows of a batch all added the same bias: sum them here, in one reduction
    if b.ndim != 1 or g.ndim < 2:
        return g
    return xp.sum(g if g.ndim == 2 else _rows(xp, g), axis=0)


def _linear_vjp_w(xp, g, ans, x, w, b):
    return _outer_rows(xp, g, x)


def _linear_fwd(xp, x, w, b):
    if x.ndim == 1:
        out = w @ x
    elif x.ndim == 2:
        # BLAS runs W @ X^T about 25% faster than X @ W^T on (out, in) weights; the
        # transposed result is a free view
        if parallel.get_num_threads() > 1 and getattr(xp, "is_numpy", False):
            out = parallel.gemm_cols(w, x.T).T
        else:
            out = (w @ x.T).T
    else:
        out = xp.reshape(_mm(xp, _rows(xp, x), w.T), x.shape[:-1] + (w.shape[0],))
    if out.dtype == b.dtype:
        out += b            # out is fresh: add in place, one allocation fewer
        return out
    return out + b


defop("linear", _linear_fwd,
      _linear_vjp_x,
      _linear_vjp_w,
      _linear_vjp_b,
      shape=_linear_shape)
