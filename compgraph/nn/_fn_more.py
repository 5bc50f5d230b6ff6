"""More of torch.nn.functional, each a composition of existing differentiable functions:
activations (silu, mish, logsigmoid), normalize and cosine_similarity, average pooling
(avg_pool2d, adaptive_avg_pool2d), conv1d, the robust and KL losses, and dropout2d.

Nothing here adds an op: the pools are a convolution with a constant kernel (or two
products with constant averaging matrices), so their gradients come from conv2d and matmul.
"""
import warnings

import numpy as np

from .. import functional as CF
from ..errors import ArgumentError, ArgumentValueError, ShapeError
from ..ops.promote import require_float
from ..tensor import _make
from . import _fn_conv
from ._fn_loss import _check_reduction


# --- activations ---------------------------------------------------------------------------

def silu(input, inplace=False):
    """x * sigmoid(x) (the swish)."""
    require_float("silu", input)
    return input * CF.sigmoid(input)


def mish(input, inplace=False):
    """x * tanh(softplus(x))."""
    return input * CF.tanh(CF.softplus(input))


def logsigmoid(input):
    """log(sigmoid(x)) = -softplus(-x), finite for large negative x."""
    require_float("logsigmoid", input)
    return -CF.softplus(-input)


# --- similarity ----------------------------------------------------------------------------

def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """input / max(||input||_p over dim, eps)."""
    if out is not None:
        raise ArgumentError("normalize: out= is not supported")
    norm = CF.norm(input, p, dim, keepdim=True)
    return input / CF.clamp_min(norm, eps)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1 * x2, dim) / (max(||x1||, eps) * max(||x2||, eps)), broadcasting x1 and x2."""
    x1, x2 = CF._pair(x1, x2)
    try:
        shape = np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    except ValueError:
        raise ShapeError(f"cosine_similarity: x1 of shape {tuple(x1.shape)} and x2 of shape "
                         f"{tuple(x2.shape)} do not broadcast") from None
    if not -len(shape) <= dim < max(len(shape), 1):
        raise ShapeError(f"cosine_similarity: dim {dim} is out of range for inputs of "
                         f"{len(shape)} dimensions")
    # norms of the broadcast operands, as PyTorch takes them
    if tuple(x1.shape) != shape:
        x1 = CF.broadcast_to(x1, shape)
    if tuple(x2.shape) != shape:
        x2 = CF.broadcast_to(x2, shape)
    n1 = CF.clamp_min(CF.sqrt(CF.sum(x1 * x1, dim, keepdim=True)), eps)
    n2 = CF.clamp_min(CF.sqrt(CF.sum(x2 * x2, dim, keepdim=True)), eps)
    return CF.sum((x1 / n1) * (x2 / n2), dim)


# --- pooling -------------------------------------------------------------------------------

def _window_counts(size, k, s, p, n, include_pad):
    """How many input (or, with include_pad, padded-input) positions each of the n windows
    along one axis covers; windows that run past the padded end (ceil_mode) are cut there,
    as PyTorch counts them."""
    start = np.arange(n) * s - p
    end = np.minimum(start + k, size + p)
    if not include_pad:
        start, end = np.maximum(start, 0), np.minimum(end, size)
    return (end - start).astype(np.float64)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over kh x kw windows of (N, C, H, W) or (C, H, W) input; zero padding counts
    towards the mean unless count_include_pad=False."""
    kernel = _fn_conv._pair(kernel_size, "kernel_size")
    stride = kernel if stride is None or stride == [] else _fn_conv._pair(stride, "stride")
    ph, pw = _fn_conv._pair(padding, "padding")
    if min(kernel) < 1 or min(stride) < 1 or min(ph, pw) < 0:
        raise ArgumentError(f"avg_pool2d: kernel_size and stride must be positive and padding "
                            f"non-negative (kernel_size={kernel}, stride={stride}, "
                            f"padding={(ph, pw)})")
    if ph > kernel[0] // 2 or pw > kernel[1] // 2:
        raise ArgumentValueError(f"avg_pool2d: padding {(ph, pw)} should be at most half of the "
                                 f"kernel size {kernel}")
    if divisor_override is not None and divisor_override == 0:
        raise ArgumentError("avg_pool2d: divisor_override must not be 0")
    x, added = _fn_conv._batched(input, "avg_pool2d")
    n, c, h, w = x.shape
    pads, counts = [], []
    for size, k, s, p in ((h, kernel[0], stride[0], ph), (w, kernel[1], stride[1], pw)):
        m = _fn_conv._pool_out(size, k, s, p, 1, ceil_mode)
        if m < 1:
            raise ShapeError(f"avg_pool2d: kernel {kernel} is larger than the padded input "
                             f"{tuple(x.shape[2:])}")
        extra = max(0, (m - 1) * s + k - (size + 2 * p))
        pads.append((p, p + extra))
        counts.append(_window_counts(size, k, s, p, m, count_include_pad))
    # one channel at a time: a (1, 1, kh, kw) kernel of ones sums every window
    flat = CF.reshape(x, (n * c, 1, h, w))
    ones = _make(np.ones((1, 1) + kernel, dtype=x.dtype))
    summed = _fn_conv.conv2d(flat, ones, None, stride, tuple(pads))
    if divisor_override is not None:
        out = summed / float(divisor_override)
    else:
        div = np.outer(counts[0], counts[1]).astype(x.dtype)
        out = summed * _make(1.0 / div)
    out = CF.reshape(out, (n, c) + tuple(out.shape[2:]))
    return CF.squeeze(out, 0) if added else out


def _adaptive_mean(x, size, n, last):
    """Window means along dim -1 (last) or -2: window i covers floor(i*size/n) ..
    ceil((i+1)*size/n) - 1.  Gathered and summed, not a product with an averaging matrix:
    an inf outside a window would otherwise give inf * 0 = NaN there (PyTorch: finite)."""
    i = np.arange(n)
    lo, hi = (i * size) // n, -(-((i + 1) * size) // n)
    idx = lo[:, None] + np.arange(int((hi - lo).max()))       # (n, longest window)
    inside = idx < hi[:, None]
    idx = np.minimum(idx, size - 1)
    counts = (hi - lo).astype(x.dtype)
    if last:
        g = CF.where(CF.as_tensor(inside), x[..., idx], 0.0)   # (..., H, n, L)
        return CF.sum(g, -1) * _make(1.0 / counts)
    g = CF.where(CF.as_tensor(inside[:, :, None]), x[..., idx, :], 0.0)   # (..., n, L, W)
    return CF.sum(g, -2) * _make((1.0 / counts)[:, None])


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed (oh, ow) output whatever the input's H x W; None keeps
    that dimension's size.  Windows follow PyTorch's rule (start floor(i*H/oh), end
    ceil((i+1)*H/oh)), so they may overlap."""
    if input.ndim not in (3, 4):
        raise ShapeError(f"adaptive_avg_pool2d: expected (C, H, W) or (N, C, H, W) input, "
                         f"got {tuple(input.shape)}")
    if isinstance(output_size, int) or output_size is None:
        output_size = (output_size, output_size)
    output_size = tuple(output_size)
    if len(output_size) != 2:
        raise ArgumentError(f"adaptive_avg_pool2d: output_size must be an int or a pair, got "
                            f"{output_size!r}")
    h, w = input.shape[-2:]
    oh = h if output_size[0] is None else output_size[0]
    ow = w if output_size[1] is None else output_size[1]
    if not all(isinstance(v, (int, np.integer)) and v > 0 for v in (oh, ow)):
        raise ArgumentError(f"adaptive_avg_pool2d: output_size must be positive, got "
                            f"{output_size!r}")
    if h == 0 or w == 0:
        raise ShapeError(f"adaptive_avg_pool2d: input of shape {tuple(input.shape)} is empty")
    if (oh, ow) == (1, 1):
        return CF.mean(input, (-2, -1), keepdim=True)
    out = input
    if oh != h:
        out = _adaptive_mean(out, h, oh, last=False)
    if ow != w:
        out = _adaptive_mean(out, w, ow, last=True)
    return out


# --- conv1d --------------------------------------------------------------------------------

def _single(v, name):
    if isinstance(v, (int, np.integer)):
        return int(v)
    v = tuple(v)
    if len(v) != 1 or not isinstance(v[0], (int, np.integer)):
        raise ArgumentError(f"{name} must be an int or a 1-tuple of ints, got {v!r}")
    return int(v[0])


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation of (N, C, L) or (C, L) input with weight (out, in/groups, k),
    as a conv2d over a height of 1."""
    if input.ndim not in (2, 3):
        raise ShapeError(f"conv1d: expected (C, L) or (N, C, L) input, got {tuple(input.shape)}")
    if weight.ndim != 3:
        raise ShapeError(f"conv1d: expected a weight of shape (out, in/groups, k), got "
                         f"{tuple(weight.shape)}")
    c = input.shape[-2]
    if c != weight.shape[1] * groups:
        raise ShapeError(f"conv1d: input of shape {tuple(input.shape)} has {c} channels, but a "
                         f"weight of shape {tuple(weight.shape)} with groups={groups} expects "
                         f"{weight.shape[1] * groups}")
    stride, dilation = _single(stride, "stride"), _single(dilation, "dilation")
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ArgumentError(f"conv1d: padding must be an int, 'same' or 'valid', got "
                                f"{padding!r}")
        if padding == "same" and stride != 1:
            raise ArgumentError("conv1d: padding='same' needs stride 1")
        pad2 = padding
    else:
        p = _single(padding, "padding")
        pad2 = ((0, 0), (p, p))
    x = CF.unsqueeze(input, -2)
    w = CF.unsqueeze(weight, -2)
    out = _fn_conv.conv2d(x, w, bias, (1, stride), pad2, (1, dilation), groups)
    return CF.squeeze(out, -2)


# --- losses --------------------------------------------------------------------------------

def _elementwise(name, input, target):
    return CF._broadcast_target(name, input, target, stacklevel=4)


def _reduce(per, reduction):
    if reduction == "none":
        return per
    return CF.sum(per) if reduction == "sum" else CF.mean(per)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (beta = 0: the L1 loss)."""
    _check_reduction(reduction)
    if beta < 0:
        raise ArgumentError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    input, target = _elementwise("smooth_l1_loss", input, target)
    d = CF.abs(input - target)
    if beta == 0:
        return _reduce(d, reduction)
    per = CF.where(d < beta, d * d * (0.5 / beta), d - 0.5 * beta)
    return _reduce(per, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta): delta * smooth_l1(beta=delta)."""
    _check_reduction(reduction)
    if delta <= 0:
        raise ArgumentError(f"huber_loss: delta must be positive, got {delta}")
    input, target = _elementwise("huber_loss", input, target)
    d = CF.abs(input - target)
    per = CF.where(d < delta, d * d * 0.5, (d - 0.5 * delta) * delta)
    if weight is not None:
        per = per * weight
    return _reduce(per, reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Pointwise KL divergence target * (log target - input), input being log-probabilities
    (target too with log_target); 0 where target is 0.  'batchmean' divides the sum by the
    batch size (the mathematical KL); 'mean' divides by every element, with PyTorch's
    warning."""
    if reduction not in ("mean", "sum", "none", "batchmean"):
        raise ArgumentError(f"kl_div: reduction must be 'mean', 'batchmean', 'sum' or 'none', "
                            f"got {reduction!r}")
    input, target = CF._pair(input, target)
    try:
        np.broadcast_shapes(tuple(input.shape), tuple(target.shape))
    except ValueError:
        raise ShapeError(f"kl_div: input of shape {tuple(input.shape)} and target of shape "
                         f"{tuple(target.shape)} do not broadcast") from None
    if log_target:
        per = CF.exp(target) * (target - input)
    else:
        pos = target > 0
        # log of 1 where target is 0, so that neither value nor gradient is NaN there
        safe = CF.where(pos, target, CF.ones_like(target))
        per = CF.where(pos, target * (CF.log(safe) - input), CF.zeros_like(input * target))
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", stacklevel=2)
        return CF.mean(per)
    if reduction == "batchmean":
        total = CF.sum(per)
        return total / per.shape[0] if per.ndim else total
    return CF.sum(per) if reduction == "sum" else per


# --- dropout2d -----------------------------------------------------------------------------

def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels (dim 1 of (N, C, H, W)) with probability p, scaling the rest by
    1/(1-p).  3-D input is read as (N, C, L) with PyTorch's warning."""
    if not 0 <= p <= 1:
        raise ArgumentError(f"dropout2d: p must be in [0, 1], got {p}")
    if input.ndim not in (3, 4):
        raise ShapeError(f"dropout2d: expected (N, C, H, W) input (or (N, C, L)), got "
                         f"{tuple(input.shape)}")
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
                      "1D dropout behavior is desired - input is interpreted as shape (N, C, L), "
                      "where C is the channel dim. This behavior will change in a future release "
                      "to interpret the input as one without a batch dimension, i.e. shape "
                      "(C, H, W). To maintain the 1D channel-wise dropout behavior, please switch "
                      "to using dropout1d instead.", stacklevel=2)
    return CF.dropout(input, p, training, mask_shape=tuple(input.shape[:2]) + (1,) * (input.ndim - 2),
                      name="dropout2d")
