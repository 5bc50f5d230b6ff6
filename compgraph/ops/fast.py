"""NumPy-only kernels for the hottest VJPs and forwards: the same formulas as the table's
generic ones, written with in-place ufuncs (``out=``) so that a large activation makes one
or two fresh arrays instead of four or five (fresh pages cost as much as the arithmetic on
a (700, 10000) log-softmax).  Callers use them only when ``xp`` is NumPy; under
create_graph the generic formulas run, as ops."""
import numpy as np

from .. import parallel

# Large softmaxes over the last axis (a language model's (tokens, 10000) decoder output)
# go through row blocks of about this many bytes: the temporaries of each block (its exp)
# stay in the cache and are reused, so each element is read from and written to memory
# once, not once per pass (measured 4x faster forward, 2x backward, on (700, 10000)).
_BLOCK_BYTES = 1 << 20
_PASSES = 4          # passes over the rows each kernel makes, about: its work for the pool


def _row_blocks(a, axis):
    """(rows view of a, block rows) when a is C-contiguous, reduced over its last axis and
    either big (blocked for the cache) or big enough to split over the intra-op threads;
    None otherwise (the whole-array kernels below are as good there)."""
    if not a.flags.c_contiguous or axis not in (-1, a.ndim - 1) or a.ndim == 0 or not a.size:
        return None
    n = a.shape[-1]
    if a.nbytes < 2 * _BLOCK_BYTES and parallel.parts(a.size // n, _PASSES * a.size) == 1:
        return None
    return a.reshape(-1, n), max(1, _BLOCK_BYTES // (n * a.itemsize))


def _blocked(kernel, out, *arrays, rows):
    """kernel(out and arrays sliced to [i:i + rows]) over every block of rows; the row
    ranges of several intra-op threads each take their run of blocks.  Every row is
    computed alone, so the result does not depend on how rows are grouped."""
    total = out.shape[0]

    def span(lo, hi):
        for i in range(lo, hi, rows):
            stop = min(i + rows, hi)
            kernel(out[i:stop], *(a[i:stop] for a in arrays))
    parallel.run(span, total, parallel.parts(total, _PASSES * out.size))
    return out


def _log_softmax_rows(oc, ac):
    np.subtract(ac, np.maximum.reduce(ac, axis=1, keepdims=True), out=oc)
    sc = np.exp(oc)
    s = np.add.reduce(sc, axis=1, keepdims=True)
    oc -= np.log(s, out=s)


def _log_softmax_vjp_rows(oc, gc, ac):
    np.exp(ac, out=oc)
    oc *= np.add.reduce(gc, axis=1, keepdims=True)
    np.subtract(gc, oc, out=oc)


def _softmax_rows(oc, ac):
    np.subtract(ac, np.maximum.reduce(ac, axis=1, keepdims=True), out=oc)
    np.exp(oc, out=oc)
    oc /= np.add.reduce(oc, axis=1, keepdims=True)


def _softmax_vjp_rows(oc, gc, ac):
    np.multiply(gc, ac, out=oc)
    s = np.add.reduce(oc, axis=1, keepdims=True)
    np.subtract(gc, s, out=oc)
    oc *= ac


def _log_softmax_blocked(a2, rows):
    return _blocked(_log_softmax_rows, np.empty_like(a2), a2, rows=rows)


def _log_softmax_vjp_blocked(g2, ans2, rows):
    return _blocked(_log_softmax_vjp_rows, np.empty_like(g2), g2, ans2, rows=rows)


def _softmax_blocked(a2, rows):
    return _blocked(_softmax_rows, np.empty_like(a2), a2, rows=rows)


def _softmax_vjp_blocked(g2, ans2, rows):
    return _blocked(_softmax_vjp_rows, np.empty_like(g2), g2, ans2, rows=rows)


def log_softmax(a, axis):
    blocks = _row_blocks(a, axis)
    if blocks is not None:
        return _log_softmax_blocked(*blocks).reshape(a.shape)
    out = np.subtract(a, np.maximum.reduce(a, axis=axis, keepdims=True))
    e = np.exp(out)
    out -= np.log(np.add.reduce(e, axis=axis, keepdims=True))
    return out


def log_softmax_vjp(g, ans, axis):
    # g - exp(ans) * sum(g)
    blocks = _row_blocks(g, axis)
    if blocks is not None and ans.flags.c_contiguous:
        return _log_softmax_vjp_blocked(blocks[0], ans.reshape(blocks[0].shape),
                                        blocks[1]).reshape(g.shape)
    e = np.exp(ans)
    e *= np.add.reduce(g, axis=axis, keepdims=True)
    return np.subtract(g, e, out=e)


def softmax(a, axis):
    blocks = _row_blocks(a, axis)
    if blocks is not None:
        return _softmax_blocked(*blocks).reshape(a.shape)
    e = np.subtract(a, np.maximum.reduce(a, axis=axis, keepdims=True))
    np.exp(e, out=e)
    e /= np.add.reduce(e, axis=axis, keepdims=True)
    return e


def softmax_vjp(g, ans, axis):
    # ans * (g - sum(g * ans))
    blocks = _row_blocks(g, axis)
    if blocks is not None and ans.flags.c_contiguous:
        return _softmax_vjp_blocked(blocks[0], ans.reshape(blocks[0].shape),
                                    blocks[1]).reshape(g.shape)
    t = np.multiply(g, ans)
    s = np.add.reduce(t, axis=axis, keepdims=True)
    np.subtract(g, s, out=t)
    t *= ans
    return t
