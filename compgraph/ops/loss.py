"""Losses that deserve one fused op: softmax cross-entropy from logits.

Computed from the log-sum-exp, never from softmax probabilities, so logits of +-1000 give
finite losses and gradients.  The other losses (mse, bce, nll, hinge) are short
compositions of table ops in compgraph.functional.
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
        d = p - onehot
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
