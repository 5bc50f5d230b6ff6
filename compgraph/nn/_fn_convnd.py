"""conv_transpose1d/2d, conv3d and avg_pool3d for compgraph.nn.functional, over the conv
ops of compgraph/ops/conv.py (no new op).

A transposed convolution is the input-gradient of a convolution: conv_transpose2d(x, w)
is conv2d_input_grad(x, w) for the conv2d that would map the output back to x, so its
gradients (and theirs) are conv2d's closed pair of adjoints.  A 3-D convolution is a sum
over the kernel's depth of 2-D convolutions of depth slices; the 3-D average pool is a
3-D convolution with a kernel of ones per channel, divided by each window's count.
"""
import numpy as np

from .. import functional as CF
from ..errors import ArgumentError, ArgumentValueError, ShapeError
from ..ops import OPS
from ..tensor import _make, apply
from . import _fn_conv, _fn_more


def _tuple(v, n, name):
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    v = tuple(v)
    if len(v) != n or not all(isinstance(a, (int, np.integer)) for a in v):
        raise ArgumentError(f"{name} must be an int or a {n}-tuple of ints, got {v!r}")
    return tuple(int(a) for a in v)


# --- transposed convolution --------------------------------------------------------------------

def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The adjoint of conv2d: (N, C_in, H, W) with weight (C_in, C_out/groups, kh, kw) gives
    (N, C_out, (H-1)*stride - 2*padding + dilation*(k-1) + output_padding + 1, ...)."""
    stride, dilation = _tuple(stride, 2, "stride"), _tuple(dilation, 2, "dilation")
    padding, output_padding = _tuple(padding, 2, "padding"), _tuple(output_padding, 2, "output_padding")
    x, added = _fn_conv._batched(input, "conv_transpose2d")
    if weight.ndim != 4:
        raise ShapeError(f"conv_transpose2d: weight must be (in, out/groups, kh, kw), got "
                         f"{tuple(weight.shape)}")
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0 or groups < 1:
        raise ArgumentError(f"conv_transpose2d: stride/dilation/groups must be positive and "
                            f"padding non-negative (stride={stride}, padding={padding}, "
                            f"dilation={dilation}, groups={groups})")
    for op, s, d in zip(output_padding, stride, dilation):
        if op < 0 or op >= max(s, d):
            raise ArgumentError(f"conv_transpose2d: output padding must be smaller than either "
                                f"stride or dilation, got output_padding={output_padding}, "
                                f"stride={stride}, dilation={dilation}")
    n, c, h, w = x.shape
    if c != weight.shape[0]:
        raise ShapeError(f"conv_transpose2d: input {tuple(x.shape)} has {c} channels but weight "
                         f"{tuple(weight.shape)} expects {weight.shape[0]}")
    if c % groups:
        raise ShapeError(f"conv_transpose2d: {c} input channels are not divisible by groups={groups}")
    kh, kw = weight.shape[2:]
    out_hw = tuple((size - 1) * s - 2 * p + d * (k - 1) + op + 1 for size, s, p, d, k, op in
                   zip((h, w), stride, padding, dilation, (kh, kw), output_padding))
    if min(out_hw) < 1:
        raise ShapeError(f"conv_transpose2d: the output size {out_hw} is too small for input "
                         f"{tuple(x.shape)}, kernel {(kh, kw)}, stride {stride}, padding {padding}")
    x_shape = (n, weight.shape[1] * groups) + out_hw
    # output_padding >= stride (allowed below the dilation): the conv that maps the output
    # back sees op // stride more rows; zero rows of x there add nothing
    extra = tuple(op // s for op, s in zip(output_padding, stride))
    if any(extra):
        x = apply(OPS["pad_constant"], (x,), {"pad_width": ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])),
                                              "value": 0.0})
    out = apply(OPS["conv2d_input_grad"], (x, weight),
                {"x_shape": x_shape, "stride": stride, "padding": tuple((p, p) for p in padding),
                 "dilation": dilation, "groups": int(groups)})
    if bias is not None:
        out = out + CF.reshape(bias, (bias.shape[0], 1, 1))
    return CF.squeeze(out, 0) if added else out


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """conv_transpose2d over a height of 1: (N, C_in, L) with weight (C_in, C_out/groups, k)."""
    if input.ndim not in (2, 3):
        raise ShapeError(f"conv_transpose1d: expected (C, L) or (N, C, L) input, got "
                         f"{tuple(input.shape)}")
    if weight.ndim != 3:
        raise ShapeError(f"conv_transpose1d: weight must be (in, out/groups, k), got "
                         f"{tuple(weight.shape)}")
    one = lambda v, name: (1, _tuple(v, 1, name)[0])  # noqa: E731
    out = conv_transpose2d(CF.unsqueeze(input, -2), CF.unsqueeze(weight, -2), bias,
                           one(stride, "stride"), (0, _tuple(padding, 1, "padding")[0]),
                           (0, _tuple(output_padding, 1, "output_padding")[0]), groups,
                           one(dilation, "dilation"))
    return CF.squeeze(out, -2)


# --- 3-D convolution and average pooling ---------------------------------------------------------

def _batched3d(input, name):
    if input.ndim == 4:
        return CF.unsqueeze(input, 0), True
    if input.ndim != 5:
        raise ShapeError(f"{name}: expected (C, D, H, W) or (N, C, D, H, W) input, got "
                         f"{tuple(input.shape)}")
    return input, False


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D cross-correlation: (N, C, D, H, W) with weight (out, in/groups, kd, kh, kw)."""
    x, added = _batched3d(input, "conv3d")
    if weight.ndim != 5:
        raise ShapeError(f"conv3d: weight must be (out, in/groups, kd, kh, kw), got "
                         f"{tuple(weight.shape)}")
    stride, dilation = _tuple(stride, 3, "stride"), _tuple(dilation, 3, "dilation")
    k = tuple(weight.shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * 3
        elif padding == "same":
            if stride != (1, 1, 1):
                raise ArgumentError("conv3d: padding='same' needs stride 1")
            tot = [d * (kk - 1) for d, kk in zip(dilation, k)]
            pads = tuple((t // 2, t - t // 2) for t in tot)
        else:
            raise ArgumentError(f"conv3d: padding must be an int, a triple, 'same' or 'valid', "
                                f"got {padding!r}")
    elif isinstance(padding, tuple) and padding and isinstance(padding[0], tuple):
        pads = padding                                   # ((front, back), (top, bottom), ...)
    else:
        pads = tuple((p, p) for p in _tuple(padding, 3, "padding"))
    if min(stride) < 1 or min(dilation) < 1 or min(min(p) for p in pads) < 0 or groups < 1:
        raise ArgumentError(f"conv3d: stride/dilation/groups must be positive and padding "
                            f"non-negative (stride={stride}, padding={pads}, dilation={dilation})")
    n, c, d, h, w = x.shape
    if c != weight.shape[1] * groups:
        raise ShapeError(f"conv3d: input {tuple(x.shape)} has {c} channels but weight "
                         f"{tuple(weight.shape)} with groups={groups} expects "
                         f"{weight.shape[1] * groups}")
    (fd, bd) = pads[0]
    dp = d + fd + bd
    do = (dp - dilation[0] * (k[0] - 1) - 1) // stride[0] + 1
    if do < 1:
        raise ShapeError(f"conv3d: kernel {k} (dilation {dilation}) is larger than the padded "
                         f"input depth {dp}")
    if fd or bd:
        x = apply(OPS["pad_constant"], (x,), {"pad_width": ((0, 0), (0, 0), (fd, bd), (0, 0), (0, 0)),
                                              "value": 0.0})
    out = None
    for kd in range(k[0]):
        start = kd * dilation[0]
        sl = CF.getitem(x, (slice(None), slice(None),
                            slice(start, start + stride[0] * (do - 1) + 1, stride[0])))
        planes = CF.reshape(CF.permute_dims(sl, (0, 2, 1, 3, 4)), (n * do, c, h, w))
        wk = CF.getitem(weight, (slice(None), slice(None), kd))
        y = _fn_conv.conv2d(planes, wk, None, stride[1:], pads[1:], dilation[1:], groups)
        out = y if out is None else out + y
    o, ho, wo = out.shape[1:]
    out = CF.permute_dims(CF.reshape(out, (n, do, o, ho, wo)), (0, 2, 1, 3, 4))
    if bias is not None:
        out = out + CF.reshape(bias, (bias.shape[0], 1, 1, 1))
    return CF.squeeze(out, 0) if added else out


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over kd x kh x kw windows of (N, C, D, H, W) or (C, D, H, W) input."""
    kernel = _tuple(kernel_size, 3, "kernel_size")
    stride = kernel if stride is None or stride == [] else _tuple(stride, 3, "stride")
    padding = _tuple(padding, 3, "padding")
    if min(kernel) < 1 or min(stride) < 1 or min(padding) < 0:
        raise ArgumentError(f"avg_pool3d: kernel_size and stride must be positive and padding "
                            f"non-negative (kernel_size={kernel}, stride={stride}, padding={padding})")
    if any(p > kk // 2 for p, kk in zip(padding, kernel)):
        raise ArgumentValueError(f"avg_pool3d: pad should be at most half of effective kernel size, "
                                 f"but got pad={padding} and kernel_size={kernel}")
    if divisor_override is not None and divisor_override == 0:
        raise ArgumentError("avg_pool3d: divisor_override must not be 0")
    x, added = _batched3d(input, "avg_pool3d")
    n, c = x.shape[:2]
    sizes = tuple(x.shape[2:])
    pads, counts = [], []
    for size, kk, s, p in zip(sizes, kernel, stride, padding):
        m = _fn_conv._pool_out(size, kk, s, p, 1, ceil_mode)
        if m < 1:
            raise ShapeError(f"avg_pool3d: kernel {kernel} is larger than the padded input {sizes}")
        pads.append((p, p + max(0, (m - 1) * s + kk - (size + 2 * p))))
        counts.append(_fn_more._window_counts(size, kk, s, p, m, count_include_pad))
    flat = CF.reshape(x, (n * c, 1) + sizes)
    ones = _make(np.ones((1, 1) + kernel, dtype=x.dtype))
    summed = conv3d(flat, ones, None, stride, tuple(pads))
    if divisor_override is not None:
        out = summed / float(divisor_override)
    else:
        div = np.einsum("i,j,k->ijk", *counts).astype(x.dtype)
        out = summed * _make(1.0 / div)
    out = CF.reshape(out, (n, c) + tuple(out.shape[2:]))
    return CF.squeeze(out, 0) if added else out
