"""Layer normalisation as one primitive, forward and gradients in few passes.

Written as mean/var/sub/sqrt/div/mul/add ops, a layer norm is seven graph nodes, each
keeping a full-size output for the backward, and its gradient is seven VJPs with their
temporaries (a GPT block has two).  As one node it keeps only its output; the VJP
recomputes the row statistics from the input (two reductions, cheaper than keeping them)
and forms all three gradients at once, sharing the normalised input:

    xhat = (x - mean) * rstd,            rstd = 1 / sqrt(var + eps)   (biased variance)
    dx   = rstd * (g w - mean(g w) - xhat * mean(g w * xhat))          (means over the row)
    dw   = sum over rows of g * xhat,    db = sum over rows of g

On NumPy the forward and the VJP are in-place kernels over the (rows, features) matrix;
otherwise (another array module, or create_graph=True, where xp is compgraph.functional)
the same formulas run as ops, so second derivatives exist.  `nd` is the number of
trailing dims normalised (normalized_shape's length)."""
import math

import numpy as np

from .. import parallel
from ..errors import ShapeError
from .table import defop, fmt


def _fast(xp, x):
    return getattr(xp, "is_numpy", False) and x.dtype.kind == "f" and x.ndim > 0


def _stats(x2, eps, out):
    """Row means and 1/sqrt(var + eps) of a (rows, d) matrix, with x2 - mean written to out."""
    d = x2.shape[1]
    mu = np.add.reduce(x2, axis=1, keepdims=True)
    mu /= d
    xc = np.subtract(x2, mu, out=out)
    var = np.einsum("ij,ij->i", xc, xc)[:, None]     # sum of squares, no squared temporary
    var /= d
    var += eps
    rstd = np.sqrt(var, out=var)
    np.divide(1, rstd, out=rstd)
    return xc, rstd


def _rows(a, nd):
    d = math.prod(a.shape[a.ndim - nd:])
    return a.reshape(-1, d)


def _layer_norm(xp, x, w, b, nd, eps):
    if _fast(xp, x) and x.size:
        x2 = _rows(x, nd)
        out = np.empty_like(x2)

        def rows(i, j):                             # every row alone: split over threads
            xc, rstd = _stats(x2[i:j], eps, out[i:j])
            xc *= rstd                              # xhat, in place: the output's buffer
            xc *= w.reshape(-1)
            xc += b.reshape(-1)
        parallel.run(rows, x2.shape[0], parallel.parts(x2.shape[0], 5 * x2.size))   # 5 passes
        return out.reshape(x.shape)
    return _generic_xhat(xp, x, nd, eps)[0] * w + b


def _axes(x, nd):
    return tuple(range(x.ndim - nd, x.ndim))


def _generic_xhat(xp, x, nd, eps):
    axes = _axes(x, nd)
    d = math.prod(x.shape[x.ndim - nd:])
    mu = xp.sum(x, axis=axes, keepdims=True) / d
    xc = x - mu
    rstd = 1 / xp.sqrt(xp.sum(xc * xc, axis=axes, keepdims=True) / d + eps)
    return xc * rstd, rstd, axes, d


def _layer_norm_vjp(xp, g, ans, x, w, b, nd, eps):
    if _fast(xp, x) and x.size and g.dtype == x.dtype:
        g2, x2 = _rows(g, nd), _rows(x, nd)
        n, d = x2.shape
        xhat, rstd = np.empty_like(x2), np.empty((n, 1), dtype=x2.dtype)
        dx = np.empty(g2.shape, dtype=np.result_type(g2.dtype, w.dtype))

        def normalise(i, j):
            rstd[i:j] = _stats(x2[i:j], eps, xhat[i:j])[1]
            xhat[i:j] *= rstd[i:j]

        def input_grad(i, j):
            xc, r = xhat[i:j], rstd[i:j]
            gw = np.multiply(g2[i:j], w.reshape(-1), out=dx[i:j])   # g w
            m1 = np.add.reduce(gw, axis=1, keepdims=True)
            m2 = np.einsum("ij,ij->i", gw, xc)[:, None]
            m1 /= d
            m2 /= d
            gw -= m1
            xc *= m2                      # xhat is spent after dw: reuse it
            gw -= xc
            gw *= r
        # row-wise parts cut by rows over the intra-op threads; the two sums over rows stay
        # whole (cut by rows their rounding would change) and run side by side
        parts = parallel.parts(n, 4 * x2.size)      # 4 to 7 passes in each part
        if parts == 1:
            normalise(0, n)
            db, dw = np.add.reduce(g2, axis=0), np.einsum("ij,ij->j", g2, xhat)
            input_grad(0, n)
        else:
            parallel.run(normalise, n, parts)
            db, dw = parallel.run_each([lambda: np.add.reduce(g2, axis=0),
                                        lambda: np.einsum("ij,ij->j", g2, xhat)], 4 * x2.size)
            parallel.run(input_grad, n, parts)
        return [dx.reshape(x.shape), dw.reshape(w.shape), db.reshape(b.shape)]
    xhat, rstd, axes, d = _generic_xhat(xp, x, nd, eps)
    gw = g * w
    dx = rstd * (gw - xp.sum(gw, axis=axes, keepdims=True) / d
                 - xhat * (xp.sum(gw * xhat, axis=axes, keepdims=True) / d))
    lead = tuple(range(x.ndim - nd))
    dw, db = g * xhat, g
    if lead:
        dw, db = xp.sum(dw, axis=lead), xp.sum(db, axis=lead)
    return [dx, dw, db]


def _layer_norm_shape(x, w, b, nd, eps):
    tail = tuple(x[len(x) - nd:]) if nd else ()
    if nd < 1 or len(x) < nd or tuple(w) != tail or tuple(b) != tail:
        raise ShapeError(f"layer_norm: input {fmt(x)}, weight {fmt(w)} and bias {fmt(b)} do not "
                         f"fit: weight and bias must both be the input's last {nd} dim(s)")
    return tuple(x)


defop("layer_norm", _layer_norm, vjp_all=_layer_norm_vjp, shape=_layer_norm_shape, check=True)
