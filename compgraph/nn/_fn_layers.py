"""Layer functions for compgraph.nn.functional: linear, layer_norm, batch_norm, embedding.

`linear` is on every benchmark's hot path.  With a bias it is the core's fused `linear`
op (one node).  Without one, `x @ W.T` would make the weight's gradient a transposed
view (copied on accumulation) through a matmul NumPy cannot always hand to BLAS, so the
product is taken as `W @ x` and the cheap transposes fall on the activations instead
(measured: 3x faster per step at batch 1, 1.4x at batch 64, than matmul + transpose).
"""
import numpy as np

from .. import functional as CF
from ..errors import ArgumentError, DTypeError, ShapeError
from ..ops import OPS
from ..tensor import Tensor, apply

_MATMUL, _ADD, _PERMUTE, _RESHAPE = OPS["matmul"], OPS["add"], OPS["permute_dims"], OPS["reshape"]
_LINEAR = OPS.get("linear")      # the fused x @ W.T + b, where the core has it
_LAYER_NORM = OPS.get("layer_norm")   # one node: forward and gradients in few passes
_SWAP = {"axes": (1, 0)}


def linear(input, weight, bias=None):
    """input @ weight.T + bias for input of shape (..., in); weight (out, in), bias (out,)."""
    nd = input.ndim
    n_in = weight.shape[-1]
    if nd == 0 or input.shape[-1] != n_in:
        raise ShapeError(f"linear: input of shape {tuple(input.shape)} does not fit a weight of "
                         f"shape {tuple(weight.shape)}: the last dimension must be {n_in}")
    if input.dtype != weight.dtype:
        # PyTorch refuses; NumPy would silently run a float32 model in float64 (or on ints)
        raise DTypeError(f"linear: input is {input.dtype} but the weight is {weight.dtype}; "
                         f"convert the input (x.to({weight.dtype.name}) or x.float())")
    if bias is not None and bias.dtype != weight.dtype:
        raise DTypeError(f"linear: the bias is {bias.dtype} but the weight is {weight.dtype}; "
                         "give both one dtype, as PyTorch requires")
    if bias is not None and _LINEAR is not None:
        return apply(_LINEAR, (input, weight, bias))
    if nd == 1:                                   # W @ x: one matvec
        out = apply(_MATMUL, (weight, input))
        return out if bias is None else apply(_ADD, (out, bias))
    if nd == 2:
        if input.shape[0] == 1:                   # a single row: as a vector (an outer
            vec = apply(_RESHAPE, (input,), {"shape": (n_in,)})   # product in backward)
            out = apply(_MATMUL, (weight, vec))
            if bias is not None:
                out = apply(_ADD, (out, bias))
            return apply(_RESHAPE, (out,), {"shape": (1, weight.shape[0])})
        out = apply(_MATMUL, (weight, apply(_PERMUTE, (input,), _SWAP)))   # (out, batch)
        out = apply(_PERMUTE, (out,), _SWAP)
        return out if bias is None else apply(_ADD, (out, bias))
    lead = input.shape[:-1]
    flat = apply(_RESHAPE, (input,), {"shape": (-1, n_in)})
    out = linear(flat, weight, bias)
    return apply(_RESHAPE, (out,), {"shape": lead + (weight.shape[0],)})


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the trailing `normalized_shape` dims with the biased variance."""
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    k = len(normalized_shape)
    if tuple(input.shape[input.ndim - k:]) != tuple(normalized_shape):
        raise ShapeError(f"layer_norm: input of shape {tuple(input.shape)} does not end in "
                         f"normalized_shape {tuple(normalized_shape)}")
    if (weight is not None and bias is not None and _LAYER_NORM is not None
            and input.dtype == weight.dtype == bias.dtype and input.dtype.kind == "f"):
        return apply(_LAYER_NORM, (input, weight, bias), {"nd": k, "eps": float(eps)})
    axes = tuple(range(input.ndim - k, input.ndim))
    mu = CF.mean(input, axes, keepdim=True)
    var = CF.var(input, axes, keepdim=True, correction=0)
    out = (input - mu) / CF.sqrt(var + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def _channel_view(t, ndim):
    """A (C,) tensor shaped to broadcast over dim 1 of an ndim input: (C,) or (C, 1, ...)."""
    return t if ndim == 2 else CF.reshape(t, (t.shape[0],) + (1,) * (ndim - 2))


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalisation over dim 1 of (N, C) or (N, C, L) (PyTorch's F.batch_norm).

    In training the batch's mean and biased variance normalise, and the running
    estimates (if given) move by `momentum` towards the batch mean and the *unbiased*
    variance, in place.  Otherwise the running estimates normalise.
    """
    if input.ndim < 2:
        raise ShapeError(f"batch_norm: expected (N, C) or (N, C, ...), got {tuple(input.shape)}")
    nd = input.ndim
    axes = (0,) + tuple(range(2, nd))
    if training:
        n = input.numel() // input.shape[1]
        if n <= 1:
            raise ShapeError(f"batch_norm: expected more than 1 value per channel when "
                             f"training, got input of shape {tuple(input.shape)}")
        mu = CF.mean(input, axes, keepdim=True)
        var = CF.var(input, axes, keepdim=True, correction=0)
        if running_mean is not None:
            m = momentum
            bm = mu._value.reshape(-1)
            bv = var._value.reshape(-1) * (n / (n - 1))
            running_mean._value[...] = (1 - m) * running_mean._value + m * bm
            running_var._value[...] = (1 - m) * running_var._value + m * bv
        out = (input - mu) / CF.sqrt(var + eps)
    else:
        if running_mean is None:
            raise ArgumentError("batch_norm: running_mean and running_var are needed when not training")
        # ops on the running statistics (buffers: no gradient), so that a compiled function
        # reads their current values on every replay
        shape = (-1,) + (1,) * (nd - 2)
        mean = CF.reshape(running_mean, shape)
        inv_std = 1.0 / CF.sqrt(CF.reshape(running_var, shape) + eps)
        out = (input - mean) * inv_std
    if weight is not None:
        out = out * _channel_view(weight, nd)
    if bias is not None:
        out = out + _channel_view(bias, nd)
    return out


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of weight for integer ids; the row at padding_idx receives no gradient.  With
    max_norm, the rows that input looks up are first renormalised in place (as PyTorch)."""
    if scale_grad_by_freq or sparse:
        raise ArgumentError("embedding: scale_grad_by_freq=True and sparse=True are not "
                            "supported (dense gradients only)")
    if max_norm is not None:
        embedding_renorm_(weight, input, max_norm, norm_type)
    out = CF.embedding(input, weight)
    if padding_idx is None:
        return out
    ids = input._value if isinstance(input, Tensor) else input
    pad = padding_idx % weight.shape[0]
    keep = CF.as_tensor((ids != pad)[..., None])
    # same values everywhere; the padding positions read a detached copy of the table
    return CF.where(keep, out, CF.embedding(input, weight.detach()))


def embedding_renorm_(weight, input, max_norm, norm_type=2.0):
    """PyTorch's embedding_renorm_: each row that input looks up whose norm_type-norm is
    above max_norm is scaled in place to max_norm / (norm + 1e-7) of itself, outside the
    graph (the lookup then reads the new rows; no gradient flows through the scaling)."""
    ids = input._value if isinstance(input, Tensor) else np.asarray(input)
    if ids.dtype.kind not in "iu":
        raise DTypeError(f"embedding: indices must be integers, got {ids.dtype}")
    table = weight._value
    rows = np.unique(ids)
    if rows.size and (rows[0] < 0 or rows[-1] >= table.shape[0]):
        raise ShapeError(f"embedding: index {rows[0] if rows[0] < 0 else rows[-1]} is out of "
                         f"range for a weight with {table.shape[0]} rows")
    with np.errstate(all="ignore"):        # rows of inf become NaN quietly, as in PyTorch
        norms = np.linalg.norm(table[rows], ord=float(norm_type), axis=-1)
        big = norms > max_norm
        scale = max_norm / (norms[big].astype(np.float64) + 1e-7)
        table[rows[big]] *= scale.astype(table.dtype)[:, None]
    return weight


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """torch.nn.functional.softmax: without dim, PyTorch's legacy choice (with its warning)."""
    if dim is None:
        from .layers import _legacy_softmax_dim
        dim = _legacy_softmax_dim("softmax", input.ndim)
    return CF.softmax(input if dtype is None else input.astype(dtype), dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        from .layers import _legacy_softmax_dim
        dim = _legacy_softmax_dim("log_softmax", input.ndim)
    return CF.log_softmax(input if dtype is None else input.astype(dtype), dim)
