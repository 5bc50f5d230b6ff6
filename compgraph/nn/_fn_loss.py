"""Losses with PyTorch's full signatures (class weights, ignore_index, label smoothing,
pos_weight) for compgraph.nn.functional.

The plain cases go to the core's fused ops (compgraph.functional.cross_entropy is one node
from logits); the options are built from log_softmax and an indexed pick, which
differentiate for free.
"""
import numpy as np

from .. import functional as CF
from ..errors import ArgumentError, ShapeError
from ..tensor import Tensor, _make


def _ids(target):
    ids = target._value if isinstance(target, Tensor) else np.asarray(target)
    if ids.dtype.kind not in "iu":
        raise ArgumentError(f"expected integer class indices as target, got {ids.dtype}")
    return ids


def _check_reduction(reduction):
    if reduction not in ("mean", "sum", "none"):
        raise ArgumentError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _classes_last(input):
    """(N, C, d1, ...) -> (N, d1, ..., C); (N, C) and (C,) unchanged."""
    if input.ndim <= 2:
        return input
    return CF.permute(input, (0,) + tuple(range(2, input.ndim)) + (1,))


def _weight_array(weight, like):
    if weight is None:
        return None
    w = weight._value if isinstance(weight, Tensor) else np.asarray(weight)
    n_classes = like.shape[-1]
    if w.shape != (n_classes,):
        raise ShapeError(f"class weight of shape {tuple(w.shape)} does not fit {n_classes} "
                         f"classes: give one weight per class, shape ({n_classes},)")
    return w.astype(like.dtype, copy=False)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """-input[i, target[i]] (times weight[target[i]]), ignoring targets equal to ignore_index;
    'mean' divides by the summed weights of the counted targets, as PyTorch does."""
    _check_reduction(reduction)
    ids = _ids(target)
    x = _classes_last(input)
    n_classes = x.shape[-1]
    if tuple(x.shape[:-1]) != tuple(ids.shape):
        raise ShapeError(f"nll_loss: target of shape {ids.shape} does not fit input of shape "
                         f"{tuple(input.shape)} (expected {tuple(x.shape[:-1])})")
    CF._class_ids("nll_loss", ids, n_classes, ignore=ignore_index)
    valid = ids != ignore_index
    safe = np.where(valid, ids, 0)
    picked = CF.take_along_axis(x, safe[..., None], -1)
    picked = CF.reshape(picked, ids.shape)
    w = _weight_array(weight, x)
    scale = valid.astype(x.dtype) if w is None else w[safe] * valid
    per = -picked * _make(scale)
    if reduction == "none":
        return per
    total = CF.sum(per)
    if reduction == "sum":
        return total
    denom = scale.sum()
    if denom == 0:          # every target ignored: NaN, as PyTorch, with a zero gradient
        return total * 0 + _make(np.asarray(np.nan, dtype=x.dtype))
    return total / _make(np.asarray(denom, dtype=x.dtype))


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Softmax cross-entropy from logits (class dim 1, or 0 for unbatched input).

    target: class indices, or class probabilities of input's shape.
    """
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ArgumentError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    t = target._value if isinstance(target, Tensor) else np.asarray(target)
    probs = t.dtype.kind == "f"
    if weight is None and label_smoothing == 0 and input.ndim <= 2:
        if probs or not (t == ignore_index).any():     # the fused op: nothing to ignore
            return CF.cross_entropy(input, target if isinstance(target, Tensor) else _make(t),
                                    reduction=reduction)
    class_dim = 0 if input.ndim == 1 else 1
    logp = CF.log_softmax(input, dim=class_dim)
    n_classes = input.shape[class_dim]
    eps = label_smoothing
    if probs:
        if tuple(t.shape) != tuple(input.shape):
            raise ShapeError(f"cross_entropy: probability target of shape {t.shape} must match "
                             f"input {tuple(input.shape)}")
        # the target as a tensor, through table ops: a target that requires grad gets its
        # gradient (PyTorch differentiates cross_entropy in its probability target too)
        tt = target if isinstance(target, Tensor) else _make(t)
        if eps:
            tt = tt * (1 - eps) + eps / n_classes
        lp = _classes_last(logp)
        tt = _classes_last(tt)
        w = _weight_array(weight, lp)
        if w is not None:
            tt = tt * _make(w)
        per = -CF.sum(lp * tt, dim=-1)
        if reduction == "none":
            return per
        return CF.sum(per) if reduction == "sum" else CF.mean(per)
    nll = nll_loss(logp, target, weight, ignore_index, reduction)
    if not eps:
        return nll
    # label smoothing with indices: (1 - eps) * nll + eps / C * sum_c -w_c logp_c
    lp = _classes_last(logp)
    ids = _ids(target)
    valid = ids != ignore_index
    w = _weight_array(weight, lp)
    weighted = lp if w is None else lp * _make(w)
    smooth = -CF.sum(weighted, dim=-1) * _make(valid.astype(lp.dtype))
    if reduction == "none":
        pass
    elif reduction == "sum":
        smooth = CF.sum(smooth)
    else:
        denom = valid.sum() if w is None else (w[np.where(valid, ids, 0)] * valid).sum()
        smooth = CF.sum(smooth) / _make(np.asarray(denom, dtype=lp.dtype))
    return nll * (1 - eps) + smooth * (eps / n_classes)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """Sigmoid + binary cross-entropy, stably; pos_weight scales the positive term."""
    if pos_weight is None:
        return CF.binary_cross_entropy_with_logits(input, target, weight=weight, reduction=reduction)
    _check_reduction(reduction)
    input, target = CF._pair(input, target)
    if tuple(input.shape) != tuple(target.shape):
        raise ShapeError(f"binary_cross_entropy_with_logits: input {tuple(input.shape)} and "
                         f"target {tuple(target.shape)} must have the same shape")
    # -[pw t log s(x) + (1 - t) log(1 - s(x))] = (1 - t) x + (1 + (pw - 1) t) log(1 + e^-x)
    log1p_exp_neg = CF.softplus(-CF.abs(input)) + CF.relu(-input)
    per = (1 - target) * input + (1 + (pos_weight - 1) * target) * log1p_exp_neg
    if weight is not None:
        per = per * weight
    if reduction == "none":
        return per
    return CF.sum(per) if reduction == "sum" else CF.mean(per)


def l1_loss(input, target, reduction="mean"):
    _check_reduction(reduction)
    input, target = CF._broadcast_target("l1_loss", input, target)   # with a warning
    per = CF.abs(input - target)
    if reduction == "none":
        return per
    return CF.sum(per) if reduction == "sum" else CF.mean(per)
