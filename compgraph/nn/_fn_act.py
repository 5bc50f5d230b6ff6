"""The activations of torch.nn.functional that PyTorch does not also have as torch.X:
hardtanh, relu6, hardsigmoid, hardswish (op-table entries, whose gradient is 0 at the
corners, as PyTorch's), softsign, softmin and prelu (compositions)."""
import warnings

from .. import functional as CF
from ..errors import ArgumentError, ShapeError
from ..ops import OPS
from ..ops.promote import require_float
from ..tensor import apply


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """x clipped to [min_val, max_val]; the gradient is 1 strictly inside, 0 elsewhere."""
    if min_val > max_val:
        raise ArgumentError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                            f"({max_val})")
    return apply(OPS["hardtanh"], (CF._lift(input, None),),
                 {"min_val": float(min_val), "max_val": float(max_val)})


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0)


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6."""
    return apply(OPS["hardsigmoid"], (CF._lift(input, None),))


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6."""
    return apply(OPS["hardswish"], (CF._lift(input, None),))


def softsign(input):
    """x / (1 + |x|)."""
    require_float("softsign", input, allow_ints=True)
    return input / (CF.abs(input) + 1)


def _softmax_dim(name, ndim):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-x) along dim."""
    if dtype is not None:
        input = input.astype(dtype)
    if dim is None:
        dim = _softmax_dim("softmin", input.ndim)
    return CF.softmax(-input, dim)


def prelu(input, weight):
    """x where x > 0, weight * x elsewhere, with one weight per channel (dim 1) or a single
    shared one; a composition, so at 0 the input gradient is the
    weight's and the weight's gradient is 0, as PyTorch's."""
    x, w = CF._lift(input, None), CF._lift(weight, None)
    require_float("prelu", x)
    if w.numel() == 1:
        w = w.reshape(())
    else:   # channels on dim 1; an input of under 2 dims has a single channel
        if w.ndim != 1 or x.ndim < 2 or x.shape[1] != w.numel():
            raise ShapeError(f"prelu: weight of shape {tuple(w.shape)} does not fit input of shape "
                             f"{tuple(x.shape)}: it needs 1 element or one per channel (dim 1)")
        w = w.reshape((-1,) + (1,) * (x.ndim - 2))
    return CF.where(x > 0, x, w * x)
