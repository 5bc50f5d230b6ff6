"""Convolution, max pooling and constant padding as primitives (NCHW layout).

Both conv and pooling read their input through a strided *window view* of shape
(N, C, Ho, Wo, kh, kw) built with as_strided: no Python loop over pixels, and the only
copy is the one BLAS needs (tensordot lays the windows out as an im2col matrix).
The adjoints that scatter back into the input ("col2im") loop over the kh*kw kernel
offsets only, each one a strided slice-add over every output pixel at once.

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
import numpy as np

from ..errors import ShapeError
from .table import defop, fmt


# --- windows ------------------------------------------------------------------------------

def _out_size(size, pad, k, s, d):
    return (size + pad[0] + pad[1] - d * (k - 1) - 1) // s + 1


def _pad2d(xp, x, padding, value):
    (pt, pb), (pl, pr) = padding
    if not (pt or pb or pl or pr):
        return x
    return xp.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), mode="constant", constant_values=value)


def _windows(xp, xpad, kh, kw, stride, dilation, ho, wo):
    """View of xpad (N, C, Hp, Wp) as (N, C, Ho, Wo, kh, kw); no copy."""
    sn, sc, sh_, sw_ = xpad.strides
    (sh, sw), (dh, dw) = stride, dilation
    # read only by its users (CuPy's as_strided has no writeable= to enforce that)
    return xp.lib.stride_tricks.as_strided(
        xpad, shape=xpad.shape[:2] + (ho, wo, kh, kw),
        strides=(sn, sc, sh_ * sh, sw_ * sw, sh_ * dh, sw_ * dw))


def _scatter_windows(xp, cols, padded_shape, kh, kw, stride, dilation):
    """Sum cols (N, C, Ho, Wo, kh, kw) back onto the padded input grid (col2im)."""
    (sh, sw), (dh, dw) = stride, dilation
    ho, wo = cols.shape[2], cols.shape[3]
    out = xp.zeros(padded_shape, dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, :, i * dh: i * dh + sh * (ho - 1) + 1: sh,
                j * dw: j * dw + sw * (wo - 1) + 1: sw] += cols[:, :, :, :, i, j]
    return out


def _crop(x, padding, h, w):
    (pt, _), (pl, _) = padding
    return x[:, :, pt:pt + h, pl:pl + w]


# --- convolution ------------------------------------------------------------------------------

def _conv2d(xp, x, w, stride, padding, dilation, groups):
    o, cg, kh, kw = w.shape
    n, c, h, wd = x.shape
    ho = _out_size(h, padding[0], kh, stride[0], dilation[0])
    wo = _out_size(wd, padding[1], kw, stride[1], dilation[1])
    win = _windows(xp, _pad2d(xp, x, padding, 0), kh, kw, stride, dilation, ho, wo)
    if groups == 1:
        out = xp.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3]))          # (N, Ho, Wo, O)
    else:
        og = o // groups
        out = xp.concatenate([xp.tensordot(win[:, k * cg:(k + 1) * cg], w[k * og:(k + 1) * og],
                                           axes=([1, 4, 5], [1, 2, 3])) for k in range(groups)],
                             axis=-1)
    return xp.transpose(out, (0, 3, 1, 2))


def _conv2d_input_grad(xp, g, w, x_shape, stride, padding, dilation, groups):
    o, cg, kh, kw = w.shape
    n, c, h, wd = x_shape
    padded = (n, c, h + padding[0][0] + padding[0][1], wd + padding[1][0] + padding[1][1])
    if groups == 1:
        cols = xp.tensordot(g, w, axes=([1], [0]))                       # (N, Ho, Wo, C, kh, kw)
    else:
        og = o // groups
        cols = xp.concatenate([xp.tensordot(g[:, k * og:(k + 1) * og], w[k * og:(k + 1) * og],
                                            axes=([1], [0])) for k in range(groups)], axis=3)
    cols = xp.transpose(cols, (0, 3, 1, 2, 4, 5))                       # (N, C, Ho, Wo, kh, kw)
    full = _scatter_windows(xp, cols, padded, kh, kw, stride, dilation)
    return _crop(full, padding, h, wd)


def _conv2d_weight_grad(xp, x, g, w_shape, stride, padding, dilation, groups):
    o, cg, kh, kw = w_shape
    ho, wo = g.shape[2], g.shape[3]
    win = _windows(xp, _pad2d(xp, x, padding, 0), kh, kw, stride, dilation, ho, wo)
    if groups == 1:
        return xp.tensordot(g, win, axes=([0, 2, 3], [0, 2, 3]))         # (O, C, kh, kw)
    og = o // groups
    return xp.concatenate([xp.tensordot(g[:, k * og:(k + 1) * og], win[:, k * cg:(k + 1) * cg],
                                        axes=([0, 2, 3], [0, 2, 3])) for k in range(groups)],
                          axis=0)


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


def _pool_windows(xp, x, kernel, stride, padding, dilation, fill):
    ho, wo = _pool_geometry(x.shape, kernel, stride, padding, dilation)
    return _windows(xp, _pad2d(xp, x, padding, fill), kernel[0], kernel[1], stride, dilation, ho, wo)


def _argmax(xp, x, kernel, stride, padding, dilation):
    """Flat index (i * kw + j) of each window's first maximum, shape (N, C, Ho, Wo)."""
    win = _pool_windows(xp, x, kernel, stride, padding, dilation, _lowest(x.dtype))
    return xp.argmax(win.reshape(win.shape[:4] + (-1,)), axis=-1)


def _max_pool2d(xp, x, kernel, stride, padding, dilation):
    win = _pool_windows(xp, x, kernel, stride, padding, dilation, _lowest(x.dtype))
    return win.max(axis=(4, 5))


def _max_pool2d_gather(xp, u, x, kernel, stride, padding, dilation):
    idx = _argmax(xp, x, kernel, stride, padding, dilation)
    win = _pool_windows(xp, u, kernel, stride, padding, dilation, 0)
    flat = win.reshape(win.shape[:4] + (-1,))
    return xp.take_along_axis(flat, idx[..., None], axis=-1)[..., 0]


def _max_pool2d_scatter(xp, g, x, kernel, stride, padding, dilation):
    idx = _argmax(xp, x, kernel, stride, padding, dilation)
    kh, kw = kernel
    hits = idx[..., None] == xp.arange(kh * kw)                       # (N, C, Ho, Wo, kh*kw)
    cols = (hits * g[..., None]).astype(g.dtype).reshape(idx.shape + (kh, kw))
    n, c, h, w = x.shape
    padded = (n, c, h + padding[0][0] + padding[0][1], w + padding[1][0] + padding[1][1])
    full = _scatter_windows(xp, cols, padded, kh, kw, stride, dilation)
    return _crop(full, padding, h, w)


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


defop("max_pool2d", _max_pool2d,
      lambda xp, g, ans, x, **a: xp.max_pool2d_scatter(g, x, **a),
      shape=_pool_shape, check=True)
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
