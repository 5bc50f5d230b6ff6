"""Losses that deserve one fused op: softmax cross-entropy from logits, and binary
cross-entropy from probabilities.

Cross-entropy is computed from the log-sum-exp, never from softmax probabilities, so logits
of +-1000 give finite losses and gradients.  Binary cross-entropy is an op because its
gradient at p = 0 or 1 must stay finite (a composition with clamped logs gives 0 * inf).
The other losses (mse, nll, hinge) are short compositions of table ops in
compgraph.functional.
"""
import numpy as np

from ..errors import ShapeError
from .table import defop, fmt


def _class_axis(logits):
    return logits.ndim - 1


def _lse(xp, logits):
    m = xp.max(logits, axis=-1, keepdims=True)
    return xp.log(xp.sum(xp.exp(logits - m), axis=-1, keepdims=True)) + m


def _reduce(xp, per_example, reduction):
    if reduction == "mean":
        return xp.mean(per_example)
    if reduction == "sum":
        return xp.sum(per_example)
    return per_example


def _xent_fwd(xp, logits, target, reduction="mean"):
    lse = _lse(xp, logits)
    if target.dtype.kind in "iu":
        # the logit of each example's class (fancy indexing: cheaper than take_along_axis)
        picked = logits[xp.arange(len(target)), target] if logits.ndim == 2 else logits[target]
        per = lse[..., 0] - picked
    else:
        per = -xp.sum(target * (logits - lse), axis=-1)
    return _reduce(xp, per, reduction)


def _spread_per_example(xp, g, logits, reduction):
    """The gradient of each example's loss, as a column that broadcasts over the classes."""
    if reduction == "mean":
        n = int(np.prod(logits.shape[:-1]))   # works on arrays and on tensors
        g = g * (1.0 / n)
    if reduction == "none":
        return g[..., None]
    return g


def _xent_vjp_logits(xp, g, ans, logits, target, reduction="mean"):
    p = xp.softmax(logits, axis=-1)
    if target.dtype.kind in "iu":
        onehot = target[..., None] == xp.arange(logits.shape[-1])
        d = xp.where(onehot, p - 1, p)
    else:
        d = p * xp.sum(target, axis=-1, keepdims=True) - target
    return _spread_per_example(xp, g, logits, reduction) * d


def _xent_vjp_target(xp, g, ans, logits, target, reduction="mean"):
    return -_spread_per_example(xp, g, logits, reduction) * xp.log_softmax(logits, axis=-1)


def _xent_shape(logits, target, reduction="mean"):
    if len(logits) not in (1, 2):
        raise ShapeError(f"cross_entropy: logits must be (classes,) or (batch, classes), got "
                         f"{fmt(logits)}; reshape to (-1, classes) first")
    if target != logits and target != logits[:-1]:
        raise ShapeError(f"cross_entropy: target of shape {fmt(target)} does not fit logits "
                         f"{fmt(logits)}: give class indices of shape {fmt(logits[:-1])} or "
                         f"probabilities of shape {fmt(logits)}")
    if reduction not in ("mean", "sum", "none"):
        raise ShapeError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return logits[:-1] if reduction == "none" else ()


defop("cross_entropy", _xent_fwd, _xent_vjp_logits, _xent_vjp_target,
      shape=_xent_shape, check=True,
      dtype=lambda logits, target, **k: logits)


# --- binary cross-entropy, elementwise (the reduction is the caller's) ----------------------

_E_MINUS_100 = float(np.exp(-100.0))   # log(max(p, e^-100)) = max(log p, -100), warning-free


def _clamped_log(xp, p):
    # PyTorch clamps the logs at -100: a confident mistake costs 100, not inf
    return xp.log(xp.maximum(p, _E_MINUS_100))


def _bce_fwd(xp, p, t):
    return -(t * _clamped_log(xp, p) + (1 - t) * _clamped_log(xp, 1 - p))


def _bce_vjp_p(xp, g, ans, p, t):
    # d/dp = (p - t) / (p (1 - p)), kept finite at p = 0 and 1 as PyTorch does
    return g * (p - t) / xp.maximum(p * (1 - p), 1e-12)


def _bce_vjp_t(xp, g, ans, p, t):
    return g * (_clamped_log(xp, 1 - p) - _clamped_log(xp, p))


def _bce_shape(p, t):
    if tuple(p) != tuple(t):
        raise ShapeError(f"binary_cross_entropy: input of shape {fmt(p)} and target of shape "
                         f"{fmt(t)} must have the same shape")
    return p


defop("binary_cross_entropy", _bce_fwd, _bce_vjp_p, _bce_vjp_t, shape=_bce_shape)


# DyNet's BinaryLogLoss, elementwise (its functors.h): the exact 0 and 1 that float32 sigmoid
# outputs reach cost -log(FLT_MIN) instead of inf, a target of exactly 1 or 0 drops the other
# term (no 0 * log 0), and the gradient is kept finite there -- a VAE's reconstruction loss
# on binarized pixels goes through all of these.
_FLT_MIN = float(np.finfo(np.float32).tiny)
_LOG_MIN = float(np.log(np.float32(_FLT_MIN)))


def _dy_bll_fwd(xp, x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        lx = xp.log(xp.maximum(x, _FLT_MIN))
        l1x = xp.where(x == 1, _LOG_MIN, xp.log1p(-xp.minimum(x, 1)))
        edge = (x == 0) | (x == 1)
        both = xp.where(edge, -_LOG_MIN, -(y * lx + (1 - y) * l1x))
        return xp.where(y == 1, -lx, xp.where(y == 0, -l1x, both)).astype(x.dtype)


def _dy_bll_vjp_x(xp, g, ans, x, y):
    one = np.asarray(0.9999999, x.dtype)      # DyNet's stand-in for 1 (in float32)
    xc = xp.where(x == 0, np.asarray(_FLT_MIN, x.dtype), xp.where(x == 1, one, x))
    d = xp.where(y == 1, -y / xc, xp.where(y == 0, (1 - y) / (1 - xc), (1 - y) / (1 - xc) - y / xc))
    return g * xp.where(x == y, 0, d)


def _dy_bll_vjp_y(xp, g, ans, x, y):
    # the true derivative (DyNet 2.1.2 applies its x-gradient with the arguments swapped)
    return g * (xp.where(x == 1, _LOG_MIN, xp.log1p(-xp.minimum(x, 1 - 1e-7))) - xp.log(xp.maximum(x, _FLT_MIN)))


def _same_shape(name):
    def rule(x, y):
        if tuple(x) != tuple(y):
            raise ShapeError(f"{name}: x of shape {fmt(x)} and y of shape {fmt(y)} must have "
                             f"the same shape")
        return x
    return rule


defop("dynet_binary_log_loss", _dy_bll_fwd, _dy_bll_vjp_x, _dy_bll_vjp_y,
      shape=_same_shape("dynet_binary_log_loss"),
      doc="DyNet's elementwise binary log loss of probabilities x and targets y")
