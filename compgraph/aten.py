"""torch.X names whose top-level signature is ATen's, not torch.nn.functional's.

PyTorch exposes some ATen ops at the top level with their native argument order and
defaults, which differ from the functional of the same name: torch.embedding takes the
weight first, torch.binary_cross_entropy_with_logits takes pos_weight before an integer
reduction whose default is 0 (no reduction).  compgraph.functional keeps its own order
(F.embedding and the rest of the toolkit use it); these wrappers give the top-level
names PyTorch's.
"""
from . import functional as F
from .errors import ArgumentError

# ATen's Reduction enum
_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    """Rows of weight (2-D) for the integer ids in indices, as torch.embedding (ATen order:
    the weight first).  padding_idx=-1 means none; otherwise that row gets no gradient."""
    if getattr(weight, "ndim", None) != 2:
        from .errors import ShapeError
        raise ShapeError(f"embedding: 'weight' must be 2-D, got shape "
                         f"{tuple(getattr(weight, 'shape', ()))} (torch.embedding takes the "
                         "weight first: embedding(weight, indices))")
    if scale_grad_by_freq or sparse:
        raise ArgumentError("embedding: scale_grad_by_freq and sparse are not supported")
    if padding_idx is None or padding_idx < 0:
        return F.embedding(indices, weight)
    from .nn.functional import embedding as nn_embedding
    return nn_embedding(indices, weight, padding_idx=padding_idx)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=0):
    """As torch.binary_cross_entropy_with_logits: reduction an int (0 none, 1 mean, 2 sum),
    by default 0; pos_weight before it."""
    if reduction.__class__ is not int or reduction not in _REDUCTIONS:
        raise ArgumentError(f"binary_cross_entropy_with_logits: reduction must be an int "
                            f"(0 none, 1 mean, 2 sum), got {reduction!r}; "
                            "F.binary_cross_entropy_with_logits takes the names")
    from .nn.functional import binary_cross_entropy_with_logits as bce
    return bce(input, target, weight=weight, reduction=_REDUCTIONS[reduction],
               pos_weight=pos_weight)
