"""Convolution, max pooling and constant padding as primitives (NCHW layout).

Convolution is im2col plus one BLAS product.  The input is first copied, padded, into a
channels-first buffer (C, N, Hp, Wp); the columns are then a strided window view of it
laid out (C, kh, kw, N, Ho, Wo), made contiguous by one copy, so the product is a single
GEMM: weight (O, C*kh*kw) @ columns (C*kh*kw, N*Ho*Wo).  The columns' rows are runs along
the image width, and NumPy's copy pays per run, not per element; with stride 1 each run
is widened to the whole padded row (Wo -> Wp), which makes it one run of Ho*Wp per image:
the Wp - Wo extra outputs per row are computed on wrapped-around pixels and cropped.

The adjoint that scatters columns back into the input ("col2im") loops over the kh*kw
kernel offsets only, each one a strided slice-add over every output pixel at once.
Max pooling loops over the kernel offsets likewise, taking elementwise maxima of strided
slices; its backward recomputes which offset won each window and routes the gradient there.

The VJPs are themselves ops, in closed pairs, so second derivatives exist too:
  conv2d(x, w)              x-adjoint: conv2d_input_grad(g, w)   w-adjoint: conv2d_weight_grad(x, g)
  conv2d_input_grad(g, w)   is linear in g and in w; its adjoints are conv2d / conv2d_weight_grad
  conv2d_weight_grad(x, g)  likewise, with conv2d_input_grad / conv2d
  max_pool2d(x)             adjoint: max_pool2d_scatter(g, x) (g routed to each window's argmax)
  max_pool2d_scatter(g, x)  <-> max_pool2d_gather(u, x) are each other's adjoints in g / u;
                            the argmax pattern is piecewise constant in x, so x gets zero.

Attributes, normalised by compgraph.nn.functional: stride=(sh, sw),
padding=((top, bottom), (left, right)), dilation=(dh, dw), groups=int.
"""
import weakref

import numpy as np

from .. import parallel
from ..errors import ShapeError
from .table import defop, fmt


# --- geometry ------------------------------------------------------------------------------

def _out_size(size, pad, k, s, d):
    return (size + pad[0] + pad[1] - d * (k - 1) - 1) // s + 1


def _pad2d(xp, x, padding, value):
    (pt, pb), (pl, pr) = padding
    if not (pt or pb or pl or pr):
        return x
    return xp.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), mode="constant", constant_values=value)


def _offset_slices(kh, kw, stride, dilation, ho, wo):
    """For each kernel offset (i, j), in window order, the (rows, cols) slices of the padded
    grid that it reads for the Ho x Wo outputs."""
    (sh, sw), (dh, dw) = stride, dilation
    return [(slice(i * dh, i * dh + sh * (ho - 1) + 1, sh),
             slice(j * dw, j * dw + sw * (wo - 1) + 1, sw))
            for i in range(kh) for j in range(kw)]


class _ConvGeometry:
    """Sizes of one convolution and the layout of its column matrix."""
    __slots__ = ("n", "c", "h", "w", "o", "cg", "kh", "kw", "ho", "wo", "hp", "wp", "wq",
                 "rows", "wide", "stride", "padding", "dilation", "groups")

    def __init__(self, x_shape, w_shape, stride, padding, dilation, groups):
        self.n, self.c, self.h, self.w = x_shape
        self.o, self.cg, self.kh, self.kw = w_shape
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.ho = _out_size(self.h, padding[0], self.kh, stride[0], dilation[0])
        self.wo = _out_size(self.w, padding[1], self.kw, stride[1], dilation[1])
        self.hp = self.h + padding[0][0] + padding[0][1]
        self.wp = self.w + padding[1][0] + padding[1][1]
        # wq: the width of the computed output rows (see the module docstring).  Widened
        # rows read up to (kw - 1) * dw pixels past the last image's end: one spare zero
        # row below the padded grid keeps those reads inside the buffer.
        self.wide = wide = tuple(stride) == (1, 1)
        self.wq = self.wp if wide else self.wo
        self.rows = self.hp + (1 if wide and self.kw > 1 else 0)

    def padded_cf(self, xp, x):
        """x (N, C, H, W) copied into a zeroed channels-first (C, N, rows, Wp) buffer."""
        (pt, _), (pl, _) = self.padding
        buf = xp.zeros((self.c, self.n, self.rows, self.wp), dtype=x.dtype)
        buf[:, :, pt:pt + self.h, pl:pl + self.w] = xp.transpose(x, (1, 0, 2, 3))
        return buf

    def columns(self, xp, x):
        """The im2col matrix of x, (groups, cg*kh*kw, N*Ho*Wq), contiguous."""
        buf = self.padded_cf(xp, x)
        sc, sn, sr, si = buf.strides
        (sh, sw), (dh, dw) = self.stride, self.dilation
        # read only (CuPy's as_strided has no writeable= to enforce that)
        win = xp.lib.stride_tricks.as_strided(
            buf, shape=(self.c, self.kh, self.kw, self.n, self.ho, self.wq),
            strides=(sc, sr * dh, si * dw, sn, sr * sh, si * sw))
        return xp.ascontiguousarray(win).reshape(self.groups, -1, self.n * self.ho * self.wq)

    def weight(self, xp, w):
        return xp.reshape(w, (self.groups, self.o // self.groups, -1))

    def grad_rows(self, xp, g):
        """g (N, O, Ho, Wo) as (groups, O/groups, N*Ho*Wq), zero in the widened columns: those
        columns alias real input pixels, so col2im must add nothing there."""
        gt = xp.transpose(g, (1, 0, 2, 3))
        if self.wq == self.wo:
            rows = xp.ascontiguousarray(gt)
        else:
            rows = xp.zeros((self.o, self.n, self.ho, self.wq), dtype=g.dtype)
            rows[..., :self.wo] = gt
        return rows.reshape(self.groups, self.o // self.groups, -1)

    def output(self, xp, prod, bias, out):
        """(groups, O/groups, N*Ho*Wq) product -> out (N, O, Ho, Wo), plus the bias
        (O, 1, 1) if not None: added in the same pass that reorders the product."""
        prod = xp.transpose(prod.reshape(self.o, self.n, self.ho, self.wq)[..., :self.wo],
                            (1, 0, 2, 3))
        if bias is None:
            out[...] = prod
        else:
            xp.add(prod, bias, out=out)

    def col2im(self, xp, cols):
        """Sum columns (C*kh*kw, N*Ho*Wq) back onto the input grid: (N, C, H, W)."""
        cols = cols.reshape(self.c, self.kh * self.kw, self.n, self.ho, self.wq)
        full = xp.zeros((self.c, self.n, self.rows, self.wp), dtype=cols.dtype)
        if self.wide:
            # widened rows: each offset is one flat run of Ho*Wp per image.  (Not merely
            # wq == wp: a (k, 1) kernel with stride (s, 1) has wo == wp too, but its rows
            # are strided and must take the slice-add below.)
            flat = full.reshape(self.c, self.n, -1)
            span = self.ho * self.wp
            (dh, dw) = self.dilation
            for k in range(self.kh * self.kw):
                off = (k // self.kw) * dh * self.wp + (k % self.kw) * dw
                flat[:, :, off:off + span] += cols[:, k].reshape(self.c, self.n, span)
        else:
            for k, (rs, cs) in enumerate(_offset_slices(self.kh, self.kw, self.stride,
                                                        self.dilation, self.ho, self.wo)):
                full[:, :, rs, cs] += cols[:, k]
        (pt, _), (pl, _) = self.padding
        return xp.ascontiguousarray(
            xp.transpose(full[:, :, pt:pt + self.h, pl:pl + self.w], (1, 0, 2, 3)))


# --- convolution ------------------------------------------------------------------------------

# The column matrix of a whole batch is large (50 MB for a 64-image batch of 32x26x26 into a
# 3x3 convolution), bigger than the caches and than everything else a training step keeps.
# It is therefore built for a few images at a time, about this many bytes of columns each.
_CHUNK_BYTES = 1 << 21   # 2 MiB: measured faster than 8 MiB and than whole batches


def _image_chunks(geo, itemsize):
    """(start, stop) image ranges whose columns take about _CHUNK_BYTES each."""
    per_image = geo.c * geo.kh * geo.kw * geo.ho * geo.wq * itemsize
    step = max(1, _CHUNK_BYTES // max(per_image, 1))
    return [(i, min(i + step, geo.n)) for i in range(0, geo.n, step)]


def _sub(geo, shape, w_shape):
    return _ConvGeometry(shape, w_shape, geo.stride, geo.padding, geo.dilation, geo.groups)


def _chunk_map(xp, fn, geo, chunks):
    """[fn(i, j) for each image chunk (i, j)], in chunk order.  On NumPy, with several
    intra-op threads and a large convolution, each thread takes a contiguous run of the
    chunks (BLAS held at one thread meanwhile): the chunks, and so every number, are the
    same as on one thread; only who computes them changes."""
    n = 1
    if getattr(xp, "is_numpy", False):
        # the work: a multiply-add per column element and output channel of its group
        n = parallel.parts(len(chunks), geo.n * geo.c * geo.kh * geo.kw * geo.ho * geo.wq
                           * (geo.o // geo.groups))
    if n == 1:
        return [fn(i, j) for i, j in chunks]
    runs = parallel.run_blas(lambda a, b: [fn(i, j) for i, j in chunks[a:b]], len(chunks), n,
                             len(chunks))
    return [r for run in runs for r in run]


def _conv2d(xp, x, w, stride, padding, dilation, groups, bias=None):
    """The convolution, plus bias (O,) if given (added while the output is written)."""
    geo = _ConvGeometry(x.shape, w.shape, stride, padding, dilation, groups)
    wm = geo.weight(xp, w)
    out = xp.empty((geo.n, geo.o, geo.ho, geo.wo), dtype=xp.result_type(x.dtype, w.dtype))
    if bias is not None:
        bias = xp.reshape(bias, (-1, 1, 1))
    chunks = _image_chunks(geo, x.dtype.itemsize)
    if len(chunks) == 1:
        geo.output(xp, xp.matmul(wm, geo.columns(xp, x)), bias, out)
        return out

    def chunk(i, j):
        sub = _sub(geo, x[i:j].shape, w.shape)
        sub.output(xp, xp.matmul(wm, sub.columns(xp, x[i:j])), bias, out[i:j])
    _chunk_map(xp, chunk, geo, chunks)
    return out


def _conv2d_input_grad(xp, g, w, x_shape, stride, padding, dilation, groups):
    geo = _ConvGeometry(x_shape, w.shape, stride, padding, dilation, groups)
    wt = xp.transpose(geo.weight(xp, w), (0, 2, 1))
    chunks = _image_chunks(geo, g.dtype.itemsize)
    if len(chunks) == 1:
        return geo.col2im(xp, xp.matmul(wt, geo.grad_rows(xp, g)))
    out = xp.empty(tuple(x_shape), dtype=xp.result_type(g.dtype, w.dtype))

    def chunk(i, j):
        sub = _sub(geo, (j - i,) + tuple(x_shape[1:]), w.shape)
        out[i:j] = sub.col2im(xp, xp.matmul(wt, sub.grad_rows(xp, g[i:j])))
    _chunk_map(xp, chunk, geo, chunks)
    return out


def _conv2d_weight_grad(xp, x, g, w_shape, stride, padding, dilation, groups):
    geo = _ConvGeometry(x.shape, w_shape, stride, padding, dilation, groups)

    # The product is taken transposed, columns (K, L) @ rows^T (L, O/groups) -> (K, O/groups):
    # OpenBLAS runs that orientation ~20% faster than rows @ columns^T at these shapes (a
    # long reduction, a small output; measured 46 against 38 GMAC/s, 288 x 1248 x 64).
    def chunk(i, j):
        sub = geo if j - i == geo.n else _sub(geo, x[i:j].shape, w_shape)
        return xp.matmul(sub.columns(xp, x[i:j]),
                         xp.transpose(sub.grad_rows(xp, g[i:j]), (0, 2, 1)))
    # the chunks' products are summed here, in chunk order, whichever thread made them
    parts = _chunk_map(xp, chunk, geo, _image_chunks(geo, x.dtype.itemsize))
    dw = parts[0]
    for part in parts[1:]:
        dw += part
    return xp.ascontiguousarray(xp.transpose(dw, (0, 2, 1))).reshape(w_shape)


def _conv_shape(x, w, stride, padding, dilation, groups):
    if len(x) != 4 or len(w) != 4:
        raise ShapeError(f"conv2d: input must be (N, C, H, W) and weight (out, in/groups, kh, kw), "
                         f"got {fmt(x)} and {fmt(w)}")
    n, c, h, wd = x
    o, cg, kh, kw = w
    if c != cg * groups:
        raise ShapeError(f"conv2d: input {fmt(x)} has {c} channels but weight {fmt(w)} with "
                         f"groups={groups} expects {cg * groups}")
    if o % groups:
        raise ShapeError(f"conv2d: {o} output channels are not divisible by groups={groups}")
    ho = _out_size(h, padding[0], kh, stride[0], dilation[0])
    wo = _out_size(wd, padding[1], kw, stride[1], dilation[1])
    if ho < 1 or wo < 1:
        raise ShapeError(f"conv2d: kernel {kh}x{kw} (dilation {tuple(dilation)}) is larger than "
                         f"the padded input {h + sum(padding[0])}x{wd + sum(padding[1])}")
    return (n, o, ho, wo)


defop("conv2d", _conv2d,
      lambda xp, g, ans, x, w, **a: xp.conv2d_input_grad(g, w, x_shape=x.shape, **a),
      lambda xp, g, ans, x, w, **a: xp.conv2d_weight_grad(x, g, w_shape=w.shape, **a),
      shape=_conv_shape, check=True)


# conv2d with its bias in the same node: the bias is added while the product is written
# into the output (no pass of its own), so the layer keeps one full-size array instead of
# two (the conv output and the biased sum), and the bias gradient is one reduction over
# (N, Ho*Wo)
def _conv2d_bias(xp, x, w, b, **attrs):
    return _conv2d(xp, x, w, bias=b, **attrs)


def _conv2d_bias_vjp_b(xp, g, ans, x, w, b, **a):
    if getattr(xp, "is_numpy", False):
        return np.add.reduce(np.add.reduce(g.reshape(g.shape[0], g.shape[1], -1), axis=2), axis=0)
    return xp.sum(g, axis=(0, 2, 3))


def _conv_bias_shape(x, w, b, **attrs):
    out = _conv_shape(x, w, **attrs)
    if tuple(b) != (w[0],):
        raise ShapeError(f"conv2d: bias {fmt(b)} does not fit weight {fmt(w)}: it must be "
                         f"({w[0]},), one value per output channel")
    return out


defop("conv2d_bias", _conv2d_bias,
      lambda xp, g, ans, x, w, b, **a: xp.conv2d_input_grad(g, w, x_shape=x.shape, **a),
      lambda xp, g, ans, x, w, b, **a: xp.conv2d_weight_grad(x, g, w_shape=w.shape, **a),
      _conv2d_bias_vjp_b,
      shape=_conv_bias_shape, check=True)
defop("conv2d_input_grad", _conv2d_input_grad,
      lambda xp, u, ans, g, w, x_shape, **a: xp.conv2d(u, w, **a),
      lambda xp, u, ans, g, w, x_shape, **a: xp.conv2d_weight_grad(u, g, w_shape=w.shape, **a),
      shape=lambda g, w, x_shape, **a: tuple(x_shape))
defop("conv2d_weight_grad", _conv2d_weight_grad,
      lambda xp, v, ans, x, g, w_shape, **a: xp.conv2d_input_grad(g, v, x_shape=x.shape, **a),
      lambda xp, v, ans, x, g, w_shape, **a: xp.conv2d(x, v, **a),
      shape=lambda x, g, w_shape, **a: tuple(w_shape))


# --- max pooling --------------------------------------------------------------------------------

def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _pool_geometry(shape, kernel, stride, padding, dilation):
    h, w = shape[2], shape[3]
    return (_out_size(h, padding[0], kernel[0], stride[0], dilation[0]),
            _out_size(w, padding[1], kernel[1], stride[1], dilation[1]))


def _pool_slices(x, kernel, stride, padding, dilation):
    ho, wo = _pool_geometry(x.shape, kernel, stride, padding, dilation)
    return _offset_slices(kernel[0], kernel[1], stride, dilation, ho, wo)


def _argmax(xp, x, kernel, stride, padding, dilation):
    return _max_and_argmax(xp, x, kernel, stride, padding, dilation)[1]


def _max_and_argmax(xp, x, kernel, stride, padding, dilation):
    """Each window's maximum and the window-order index (i * kw + j) of its first maximum,
    both (N, C, Ho, Wo); a NaN counts as the maximum, as numpy.argmax has it.  A large
    NumPy input is cut by images over the intra-op threads (windows never span images)."""
    slices = _pool_slices(x, kernel, stride, padding, dilation)
    itype = np.int8 if len(slices) < 128 else np.int32
    # ~4 passes per window offset over the output: about 4 over the input in all
    n = parallel.parts(x.shape[0], 4 * x.size) if getattr(xp, "is_numpy", False) else 1
    if n == 1:
        return _winners(xp, _pad2d(xp, x, padding, _lowest(x.dtype)), slices, itype)
    best = np.empty(x.shape[:2] + _pool_geometry(x.shape, kernel, stride, padding, dilation),
                    dtype=x.dtype)
    idx = np.empty(best.shape, dtype=itype)

    def chunk(i, j):
        best[i:j], idx[i:j] = _winners(xp, _pad2d(xp, x[i:j], padding, _lowest(x.dtype)),
                                       slices, itype)
    parallel.run(chunk, x.shape[0], n)
    return best, idx


def _winners(xp, xpad, slices, itype):
    rs, cs = slices[0]
    best = xpad[:, :, rs, cs].copy()
    idx = xp.zeros(best.shape, dtype=itype)
    for k, (rs, cs) in enumerate(slices[1:], 1):
        v = xpad[:, :, rs, cs]
        # Offsets come in increasing k, so "take k where v wins" is a maximum; arithmetic
        # on the mask, because where/putmask branch per element and cost ~20x as much on
        # random masks.  Strictly greater keeps the first of tied maxima.
        xp.maximum(idx, (v > best) * itype(k), out=idx)
        xp.maximum(best, v, out=best)
    if xpad.dtype.kind == "f" and bool(xp.isnan(best).any()):
        # rare: redo with a NaN taking the window from any number, and keeping it
        rs, cs = slices[0]
        best = xpad[:, :, rs, cs].copy()
        idx = xp.zeros(best.shape, dtype=itype)
        for k, (rs, cs) in enumerate(slices[1:], 1):
            v = xpad[:, :, rs, cs]
            wins = (v > best) | ((v != v) & (best == best))
            idx = xp.where(wins, itype(k), idx)
            best = xp.where(wins, v, best)
    return best, idx


# The winners of the NumPy max-pool forwards whose outputs are alive: id(output) -> index
# array (int8, an eighth of the output's size in float64 terms), dropped when the output
# dies.  The VJP routes the gradient by them instead of recomputing every window's argmax
# (which cost three times the forward); a VJP that finds none (another array module,
# create_graph) recomputes them, as max_pool2d_scatter does.
_WINNERS = {}


def _max_pool2d(xp, x, kernel, stride, padding, dilation):
    if getattr(xp, "is_numpy", False) and x.size:
        best, idx = _max_and_argmax(xp, x, kernel, stride, padding, dilation)
        key = id(best)
        _WINNERS[key] = idx
        weakref.finalize(best, _WINNERS.pop, key, None)
        return best
    xpad = _pad2d(xp, x, padding, _lowest(x.dtype))
    slices = _pool_slices(x, kernel, stride, padding, dilation)
    rs, cs = slices[0]
    out = xpad[:, :, rs, cs].copy()
    for rs, cs in slices[1:]:
        xp.maximum(out, xpad[:, :, rs, cs], out=out)
    return out


def _max_pool2d_gather(xp, u, x, kernel, stride, padding, dilation):
    idx = _argmax(xp, x, kernel, stride, padding, dilation)
    upad = _pad2d(xp, u, padding, 0)
    slices = _pool_slices(x, kernel, stride, padding, dilation)
    rs, cs = slices[0]
    out = upad[:, :, rs, cs].copy()
    for k, (rs, cs) in enumerate(slices[1:], 1):
        out = xp.where(idx == k, upad[:, :, rs, cs], out)
    return out


def _max_pool2d_scatter(xp, g, x, kernel, stride, padding, dilation):
    idx = _argmax(xp, x, kernel, stride, padding, dilation)
    return _route(xp, g, idx, x.shape, kernel, stride, padding, dilation)


def _max_pool2d_vjp(xp, g, ans, x, **attrs):
    idx = _WINNERS.get(id(ans)) if ans.__class__ is np.ndarray else None
    if idx is not None and idx.shape == ans.shape:
        return _route(xp, g, idx, x.shape, **attrs)
    return xp.max_pool2d_scatter(g, x, **attrs)


def _route(xp, g, idx, x_shape, kernel, stride, padding, dilation):
    """g (N, C, Ho, Wo) placed at each window's winner idx on the (N, C, H, W) input grid
    (by images over the intra-op threads when large and on NumPy)."""
    n, c, h, w = x_shape
    (pt, pb), (pl, pr) = padding
    full = xp.zeros((n, c, h + pt + pb, w + pl + pr), dtype=g.dtype)
    # windows overlap when the stride is below the kernel's extent: then offsets add up
    tiles = all(d == 1 and s >= k for k, s, d in zip(kernel, stride, dilation))
    slices = _pool_slices(_Shape(x_shape), kernel, stride, padding, dilation)

    def chunk(i, j):
        fc, gc, ic = full[i:j], g[i:j], idx[i:j]
        for k, (rs, cs) in enumerate(slices):
            if tiles:
                xp.multiply(gc, ic == k, out=fc[:, :, rs, cs])
            else:
                fc[:, :, rs, cs] += gc * (ic == k)
    threads = parallel.parts(n, 2 * full.size) if getattr(xp, "is_numpy", False) else 1
    parallel.run(chunk, n, threads)
    if pt or pb or pl or pr:
        return xp.ascontiguousarray(full[:, :, pt:pt + h, pl:pl + w])
    return full


def _pool_shape(x, kernel, stride, padding, dilation):
    if len(x) != 4:
        raise ShapeError(f"max_pool2d: input must be (N, C, H, W), got {fmt(x)}")
    ho, wo = _pool_geometry(x, kernel, stride, padding, dilation)
    if ho < 1 or wo < 1:
        raise ShapeError(f"max_pool2d: kernel {tuple(kernel)} is larger than the padded input "
                         f"{x[2] + sum(padding[0])}x{x[3] + sum(padding[1])}")
    return x[:2] + (ho, wo)


def _zero_for_x(xp, g, ans, a, x, **attrs):
    return xp.zeros_like(x)


class _Shape:
    """Stands in for an array where only its .shape is read (_pool_slices)."""
    __slots__ = ("shape",)

    def __init__(self, shape):
        self.shape = shape


defop("max_pool2d", _max_pool2d, _max_pool2d_vjp, shape=_pool_shape, check=True)
defop("max_pool2d_scatter", _max_pool2d_scatter,
      lambda xp, u, ans, g, x, **a: xp.max_pool2d_gather(u, x, **a),
      _zero_for_x,
      shape=lambda g, x, **a: tuple(x))
defop("max_pool2d_gather", _max_pool2d_gather,
      lambda xp, g, ans, u, x, **a: xp.max_pool2d_scatter(g, x, **a),
      _zero_for_x,
      shape=lambda u, x, **a: _pool_shape(x, **a))


# --- constant padding ----------------------------------------------------------------------------

def _pad_fwd(xp, x, pad_width, value=0.0):
    return xp.pad(x, pad_width, mode="constant", constant_values=value)


def _pad_vjp(xp, g, ans, x, pad_width, value=0.0):
    return g[tuple(slice(b, b + n) for (b, _), n in zip(pad_width, x.shape))]


defop("pad_constant", _pad_fwd, _pad_vjp,
      shape=lambda s, pad_width, value=0.0: tuple(n + b + a for n, (b, a) in zip(s, pad_width)))
