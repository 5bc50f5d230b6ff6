"""Resampling for compgraph.nn.functional: interpolate (nearest, nearest-exact, linear,
bilinear, bicubic, trilinear, area), pad's reflect/replicate/circular modes, max_pool2d's indices
and max_unpool2d.

All are compositions: a nearest or padded sample is getitem with an index array along each
axis (its gradient is scatter_add), a linear one a product with a constant (out, in)
interpolation matrix along each axis (matmul), so no new op is needed and second
derivatives exist.  Source coordinates follow PyTorch's kernels, in float32 arithmetic
where PyTorch computes them in float32, so that nearest picks the same pixels.
"""
import math

import numpy as np

from .. import functional as CF
from ..errors import ArgumentError, BoundsError, ShapeError
from ..ops import OPS
from ..ops.conv import _argmax
from ..tensor import _make, apply, index_array

_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3}
_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")
_DIMS = {**_LINEAR, "bicubic": 2}          # the spatial dims each interpolating mode needs


def _along(x, axis, index):
    return CF.getitem(x, (slice(None),) * axis + (index,))


def _apply_matrix(x, axis, m):
    """x with its `axis` replaced by m (out, in) @ that axis."""
    mt = _make(np.ascontiguousarray(m.T).astype(x.dtype))
    if axis == x.ndim - 1:
        return CF.matmul(x, mt)
    moved = CF.transpose(x, axis, -1)
    return CF.transpose(CF.matmul(moved, mt), axis, -1)


def _nearest_index(n_in, n_out, scale, exact, shortcuts):
    # PyTorch: a float32 scale (1/scale_factor when given, else in/out), float32 products.
    # Its 2-D nearest kernel (only that one) keeps an axis whose size stays and halves
    # exactly on doubling, whatever the scale
    if shortcuts and n_out == n_in:
        return None
    if shortcuts and n_out == 2 * n_in:
        return np.arange(n_out) >> 1
    s = np.float32(1.0 / scale) if scale is not None else np.float32(n_in) / np.float32(n_out)
    dst = np.arange(n_out, dtype=np.float32)
    src = np.floor((dst + np.float32(0.5)) * s) if exact else np.floor(dst * s)
    return np.minimum(src.astype(np.int64), n_in - 1)


def _linear_matrix(n_in, n_out, scale, align_corners):
    if align_corners:
        s = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        src = np.arange(n_out) * s
    else:
        s = 1.0 / scale if scale is not None else n_in / n_out
        src = np.maximum(s * (np.arange(n_out) + 0.5) - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = src - i0
    m = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    np.add.at(m, (rows, i0), 1 - lam)
    np.add.at(m, (rows, i1), lam)
    return m


def _cubic_matrix(n_in, n_out, scale, align_corners, f):
    """PyTorch's bicubic kernel along one axis (Keys' cubic convolution, A = -0.75): the four
    taps floor(src)-1 .. floor(src)+2, clamped to the edge; the source coordinate is not
    clamped at 0 as linear's is.  Coordinates and weights in f: float64 for float64
    input, float32 otherwise, as PyTorch's."""
    if align_corners:
        s = f((n_in - 1) / (n_out - 1)) if n_out > 1 else f(0)
        src = np.arange(n_out, dtype=f) * s
    else:
        s = f(1.0 / scale) if scale is not None and scale > 0 else f(n_in) / f(n_out)
        src = s * (np.arange(n_out, dtype=f) + f(0.5)) - f(0.5)
    i0 = np.floor(src)
    t = src - i0
    a = f(-0.75)
    near = lambda x: ((a + 2) * x - (a + 3)) * x * x + 1               # |x| <= 1
    far = lambda x: ((a * x - 5 * a) * x + 8 * a) * x - 4 * a          # 1 < |x| < 2
    weights = (far(t + 1), near(t), near(1 - t), far(2 - t))
    m = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    for k, w in enumerate(weights):
        np.add.at(m, (rows, np.clip(i0.astype(np.int64) - 1 + k, 0, n_in - 1)), w)
    return m


def _area_matrix(n_in, n_out):
    """Adaptive average pooling along one axis: windows floor(i n/o) .. ceil((i+1) n/o)."""
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        lo, hi = (i * n_in) // n_out, -(-((i + 1) * n_in) // n_out)
        m[i, lo:hi] = 1.0 / (hi - lo)
    return m


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims (all but N and C) to `size` or by `scale_factor`."""
    if mode not in _MODES:
        raise ArgumentError(f"interpolate: mode must be one of {', '.join(_MODES)}, got {mode!r}"
                            + (" (bicubic is not supported)" if mode == "bicubic" else ""))
    if antialias:
        raise ArgumentError("interpolate: antialias=True is not supported")
    if align_corners is not None and mode not in _DIMS:
        raise ArgumentError("align_corners option can only be set with the interpolating modes: "
                            "linear | bilinear | bicubic | trilinear")
    x = CF._lift(input, None)
    k = x.ndim - 2
    if k < 1:
        raise ShapeError(f"interpolate: expected an input with a batch and a channel dim and "
                         f"1 to 3 spatial dims, got shape {tuple(x.shape)}")
    if mode in _DIMS and _DIMS[mode] != k:
        raise ShapeError(f"interpolate: got {x.ndim}D input, but {mode} mode needs "
                         f"{_DIMS[mode] + 2}D input")
    if (size is None) == (scale_factor is None):
        raise ArgumentError("interpolate: only one of size or scale_factor should be defined")
    spatial = tuple(x.shape[2:])
    if size is not None:
        sizes = (size,) * k if isinstance(size, int) else tuple(size)
        if len(sizes) != k:
            raise ShapeError(f"interpolate: input has {k} spatial dim(s) but size {size} has "
                             f"{len(sizes)}")
        scales = (None,) * k
    else:
        scales = (scale_factor,) * k if isinstance(scale_factor, (int, float)) else tuple(scale_factor)
        if len(scales) != k:
            raise ShapeError(f"interpolate: input has {k} spatial dim(s) but scale_factor "
                             f"{scale_factor} has {len(scales)}")
        sizes = tuple(int(math.floor(n * float(s))) for n, s in zip(spatial, scales))
        if recompute_scale_factor:
            scales = (None,) * k
    if any(s <= 0 for s in sizes) and not (mode == "area" and all(s >= 0 for s in sizes)):
        raise ShapeError(f"interpolate: input {spatial} and output {sizes} sizes should be "
                         "greater than 0")
    out = x
    for i, (n_in, n_out, sc) in enumerate(zip(spatial, sizes, scales)):
        axis = 2 + i
        if mode in ("nearest", "nearest-exact"):
            idx = _nearest_index(n_in, n_out, sc, mode == "nearest-exact", mode == "nearest" and k == 2)
            if idx is not None and not (sc is None and n_in == n_out):
                out = _along(out, axis, idx)
        elif n_in == n_out:            # the linear kernels copy an axis whose size stays
            continue
        elif mode == "area":
            out = _apply_matrix(out, axis, _area_matrix(n_in, n_out))
        elif mode == "bicubic":
            out = _apply_matrix(out, axis, _cubic_matrix(n_in, n_out, sc, bool(align_corners),
                                                            np.float64 if x.dtype == np.float64 else np.float32))
        else:
            out = _apply_matrix(out, axis, _linear_matrix(n_in, n_out, sc, bool(align_corners)))
    return out if out is not x else CF.clone(x)


upsample = interpolate


# --- pad: reflect, replicate, circular --------------------------------------------------------

_NP_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad_indexed(input, pad, mode):
    """F.pad's non-constant modes: each padded dim sampled with an index array."""
    x = CF._lift(input, None)
    n_dims = len(pad) // 2
    if n_dims > 3 or not (n_dims + 1 <= x.ndim <= n_dims + 2):
        raise ShapeError(f"pad: {mode} padding of {n_dims} dim(s) needs a {n_dims + 1}-D "
                         f"(unbatched) or {n_dims + 2}-D (batched) input, got shape "
                         f"{tuple(x.shape)}")
    out = x
    for i in range(n_dims):
        axis = x.ndim - 1 - i
        before, after = pad[2 * i], pad[2 * i + 1]
        n = x.shape[axis]
        if before < 0 or after < 0:
            raise ArgumentError(f"pad: negative amounts are not supported in {mode} mode, got {pad}")
        if mode == "reflect" and (before >= n or after >= n):
            raise ShapeError(f"pad: padding size should be less than the corresponding input "
                             f"dimension, but got padding ({before}, {after}) at dimension "
                             f"{axis} of input {tuple(x.shape)}")
        if mode == "circular" and (before > n or after > n):
            raise ShapeError(f"pad: padding value causes wrapping around more than once: "
                             f"({before}, {after}) for dimension {axis} of size {n}")
        if mode == "replicate" and n == 0 and (before or after):
            raise ShapeError(f"pad: cannot replicate an empty dimension {axis}")
        if before or after:
            idx = np.pad(np.arange(n), (before, after), mode=_NP_MODE[mode])
            out = _along(out, axis, idx)
    return out if out is not x else CF.clone(x)


# --- max_pool2d's indices, max_unpool2d --------------------------------------------------------

def max_pool2d_indices(x, kernel, stride, padding, dilation):
    """For each window, the flat index (h * W + w) into its input plane of its maximum:
    the first one in window order, as PyTorch's."""
    x._concrete("max_pool2d(return_indices=True)")
    v = x.detach().cpu()._value
    k = _argmax(np, v, kernel, stride, padding, dilation).astype(np.int64)
    ho, wo = k.shape[2:]
    (pt, _), (pl, _) = padding
    h = np.arange(ho)[:, None] * stride[0] - pt + (k // kernel[1]) * dilation[0]
    w = np.arange(wo)[None, :] * stride[1] - pl + (k % kernel[1]) * dilation[1]
    return _make(h * x.shape[3] + w)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The inverse of max_pool2d: each value put back at the index max_pool2d gave it,
    zeros elsewhere."""
    from ._fn_conv import _pair
    kernel = _pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else _pair(stride, "stride")
    ph, pw = _pair(padding, "padding")
    x = CF._lift(input, None)
    if x.ndim not in (3, 4):
        raise ShapeError(f"max_unpool2d: expected a 3-D or 4-D input, got shape {tuple(x.shape)}")
    idx = index_array(indices)
    if tuple(idx.shape) != tuple(x.shape):
        raise ShapeError(f"max_unpool2d: indices of shape {tuple(idx.shape)} must have the "
                         f"input's shape {tuple(x.shape)}")
    if idx.dtype.kind not in "iu":
        raise ArgumentError(f"max_unpool2d: indices must be an integer tensor, got {idx.dtype}")
    h, w = x.shape[-2:]
    if output_size is None:
        oh = (h - 1) * stride[0] - 2 * ph + kernel[0]
        ow = (w - 1) * stride[1] - 2 * pw + kernel[1]
    else:
        oh, ow = tuple(output_size)[-2:]
    lead = tuple(x.shape[:-2])
    if idx.size and (idx.min() < 0 or idx.max() >= oh * ow):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise BoundsError(f"max_unpool2d: found an invalid max index {bad} (output volume of "
                          f"size {oh}x{ow})")
    flat = CF.reshape(x, lead + (h * w,))
    where = tuple(np.broadcast_to(np.arange(n).reshape((-1,) + (1,) * (len(lead) - i)),
                                  lead + (h * w,))
                  for i, n in enumerate(lead)) + (idx.reshape(lead + (h * w,)),)
    zeros = CF.zeros(lead + (oh * ow,), dtype=x.dtype)
    out = apply(OPS["index_put"], (zeros, flat), {"index": where})
    return CF.reshape(out, lead + (oh, ow))
