"""conv2d, max_pool2d and pad for compgraph.nn.functional.

These normalise PyTorch's flexible arguments (ints or pairs, 'same'/'valid', ceil_mode,
unbatched inputs) into the fixed attributes of the ops in compgraph/ops/conv.py.
"""
import math

from .. import functional as CF
from ..errors import ArgumentError, ArgumentValueError, ShapeError
from ..ops import OPS
from ..tensor import apply


def _pair(v, name):
    if isinstance(v, int):
        return (v, v)
    v = tuple(v)
    if len(v) != 2 or not all(isinstance(a, int) for a in v):
        raise ArgumentError(f"{name} must be an int or a pair of ints, got {v!r}")
    return v


def _batched(input, name):
    """(x as 4-D, whether a batch dim was added) for (C, H, W) or (N, C, H, W) input."""
    if input.ndim == 3:
        return CF.unsqueeze(input, 0), True
    if input.ndim != 4:
        raise ShapeError(f"{name}: expected (C, H, W) or (N, C, H, W) input, got {tuple(input.shape)}")
    return input, False


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation (PyTorch's conv2d): weight (out, in/groups, kh, kw)."""
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    kh, kw = weight.shape[2:] if weight.ndim == 4 else (1, 1)
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0), (0, 0))
        elif padding == "same":
            if stride != (1, 1):
                raise ArgumentError("conv2d: padding='same' needs stride 1")
            # the odd one out goes after, as PyTorch does for even kernels
            tot = (dilation[0] * (kh - 1), dilation[1] * (kw - 1))
            pads = tuple((t // 2, t - t // 2) for t in tot)
        else:
            raise ArgumentError(f"conv2d: padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
    elif (isinstance(padding, (tuple, list)) and len(padding) == 2
          and all(isinstance(p, (tuple, list)) for p in padding)):
        pads = tuple(tuple(p) for p in padding)      # ((top, bottom), (left, right)), the op's own
    else:
        ph, pw = _pair(padding, "padding")
        pads = ((ph, ph), (pw, pw))
    if min(stride) < 1 or min(dilation) < 1 or min(min(pads)) < 0 or groups < 1:
        raise ArgumentError(f"conv2d: stride/dilation/groups must be positive and padding "
                            f"non-negative (stride={stride}, padding={pads}, dilation={dilation}, "
                            f"groups={groups})")
    x, added = _batched(input, "conv2d")
    attrs = {"stride": stride, "padding": pads, "dilation": dilation, "groups": int(groups)}
    if bias is not None and bias.ndim == 1 and bias.dtype == x.dtype == weight.dtype:
        out = apply(OPS["conv2d_bias"], (x, weight, bias), attrs)   # one node, one array
    else:
        out = apply(OPS["conv2d"], (x, weight), attrs)
        if bias is not None:
            out = out + CF.reshape(bias, (bias.shape[0], 1, 1))
    return CF.squeeze(out, 0) if added else out


def _pool_out(size, k, s, p, d, ceil_mode):
    span = size + 2 * p - d * (k - 1) - 1
    n = (math.ceil(span / s) if ceil_mode else span // s) + 1
    if ceil_mode and (n - 1) * s >= size + p:
        n -= 1      # the last window must start inside the input or its left padding
    return n


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over kh x kw windows; the gradient goes to each window's first maximum."""
    kernel = _pair(kernel_size, "kernel_size")
    stride = kernel if stride is None or stride == [] else _pair(stride, "stride")
    ph, pw = _pair(padding, "padding")
    dilation = _pair(dilation, "dilation")
    if ph > kernel[0] // 2 or pw > kernel[1] // 2:
        raise ArgumentValueError(f"max_pool2d: padding {(ph, pw)} should be at most half of the "
                                 f"kernel size {kernel}")
    x, added = _batched(input, "max_pool2d")
    h, w = x.shape[2], x.shape[3]
    pads = []
    for size, k, s, p, d in ((h, kernel[0], stride[0], ph, dilation[0]),
                             (w, kernel[1], stride[1], pw, dilation[1])):
        n = _pool_out(size, k, s, p, d, ceil_mode)
        if n < 1:
            raise ShapeError(f"max_pool2d: kernel {kernel} is larger than the padded input "
                             f"{tuple(x.shape[2:])}")
        extra = max(0, (n - 1) * s + d * (k - 1) + 1 - (size + 2 * p))
        pads.append((p, p + extra))
    out = apply(OPS["max_pool2d"], (x,), {"kernel": kernel, "stride": stride,
                                         "padding": tuple(pads), "dilation": dilation})
    if return_indices:                 # (values, flat h * W + w of each window's maximum)
        from ._fn_resample import max_pool2d_indices
        idx = max_pool2d_indices(x, kernel, stride, tuple(pads), dilation)
        return (CF.squeeze(out, 0), CF.squeeze(idx, 0)) if added else (out, idx)
    return CF.squeeze(out, 0) if added else out


def pad(input, pad, mode="constant", value=0.0):
    """PyTorch's F.pad: pad = (left, right) for the last dim, then the one before, ...;
    negative amounts crop."""
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise ArgumentError(f"pad: mode must be 'constant', 'reflect', 'replicate' or "
                            f"'circular', got {mode!r}")
    pad = tuple(pad)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ArgumentValueError(f"pad: needs an even number of amounts, at most 2 per dimension "
                                 f"({input.ndim} dims), got {pad}")
    if mode != "constant":
        from ._fn_resample import pad_indexed
        return pad_indexed(input, pad, mode)
    widths = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        widths[input.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    grow = tuple((b if b > 0 else 0, a if a > 0 else 0) for b, a in widths)
    out = input
    if any(b or a for b, a in grow):
        out = apply(OPS["pad_constant"], (input,), {"pad_width": grow, "value": value})
    if any(b < 0 or a < 0 for b, a in widths):
        index = tuple(slice(-b if b < 0 else 0, (n - (-a if a < 0 else 0)))
                      for (b, a), n in zip(widths, out.shape))
        out = CF.getitem(out, index)
    return out
